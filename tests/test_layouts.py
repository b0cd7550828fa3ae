"""The layouts of the two passes over X (bbp_torch.layouts): every layout this build can run
computes the same products as the plain one, up to rounding, and the choice is the first layout
within the margin of the fastest, remembered per shape."""

import pytest
import torch

from bbp_torch import layouts


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_layout_computes_the_plain_products(dtype):
    gen = torch.Generator().manual_seed(0)
    Xc = torch.randn(30, 20, generator=gen, dtype=dtype)
    V_rows = torch.randn(4, 20, generator=gen, dtype=dtype)
    T = torch.randn(30, 4, generator=gen, dtype=dtype)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    firsts, seconds = layouts.candidates(dtype)
    assert firsts[0] == layouts.PLAIN[0] and seconds[0] == layouts.PLAIN[1]
    for layout in firsts:
        assert torch.allclose(layout.run(Xc, V_rows), Xc @ V_rows.T, rtol=tol, atol=tol)
    for layout in seconds:
        out = layout.zeros(4, 20, dtype, "cpu")
        layout.add(out, T, Xc)
        layout.add(out, T, Xc)  # it accumulates
        assert torch.allclose(layout.result(out), 2 * T.T @ Xc, rtol=tol, atol=tol)


def test_onednn_is_offered_in_float32_only():
    assert not any(x.onednn for x in sum(layouts.candidates(torch.float64), ()))


def test_the_first_layout_within_the_margin_is_chosen():
    # 1.2x the fastest is within the margin (1/0.8 = 1.25x): the earlier layout stays
    assert layouts._first_within_margin({"plain": 1.2, "other": 1.0}) == "plain"
    assert layouts._first_within_margin({"plain": 1.3, "other": 1.0}) == "other"


def test_the_choice_is_measured_once_per_shape(monkeypatch):
    monkeypatch.setattr(layouts, "_chosen", {})
    calls = []

    def chunks():
        calls.append(1)
        return [torch.randn(16, 12)]

    first = layouts.choose(torch.float32, 12, 16, 3, chunks)
    again = layouts.choose(torch.float32, 12, 16, 3, chunks)
    assert first == again and len(calls) == 1
    assert first[0] in layouts.candidates(torch.float32)[0]
