"""The layouts of the two passes over ``X`` in the matrix-free product, chosen per machine.

A product ``H V`` (:class:`bbp_torch.hessian.HessianOperator`) makes two passes over the samples
``X`` (M, N), chunk by chunk (``X_c``: m rows), for the ``c = b p`` columns of a block:

* pass one ``U = X_c V`` (m, c), from ``V`` given as its rows ``V^T`` (c, N);
* pass two ``out += T^T X_c`` (c, N) with ``T`` (m, c).

Each pass can be handed to the CPU's libraries in several equivalent ways, the same sums in
another order (the results differ by rounding only), and which one runs fastest depends on the
CPU, far more than one would guess: the fastest layout of a pass can take a third of the time of
the slowest, and two machines can rank the same two layouts in opposite orders (measured: see
docs/large_n.md). So for a large ``X`` (:data:`TUNE_BYTES`) the CPU product times every
layout of each pass once per (dtype, N, chunk rows, threads) and keeps the first of the list
(the plain one first) that takes at most 1.25 times the fastest (:data:`MARGIN`), so that a
machine makes the same choice, and so the same numbers, from run to run unless two layouts sit
near that boundary (the record names the layouts that ran). A small ``X``, and every GPU, takes
the plain layouts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

# Where X takes at least this many bytes (in the products' dtype), the CPU product measures the
# layouts of its two passes (about ten products' worth of time, once per shape).
TUNE_BYTES = 8 * 2**20
# A layout later in the list is taken only when every earlier one takes more than 1/MARGIN
# (1.25x) its time: the wins that matter are 1.5-3x, and near-equal layouts (oneDNN's pass two
# against MKL's transposed one, about 12% apart) flipped from run to run with a 10% margin
# (measured: docs/large_n.md).
MARGIN = 0.8


def _onednn_linear():
    """oneDNN's ``linear`` (``x W^T``) on dense CPU tensors, or None in a build without it."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


_LINEAR = _onednn_linear()


@dataclass(frozen=True)
class PassOne:
    """``U = X_c V`` (m, c) from ``X_c`` (m, N) and ``V_rows = V^T`` (c, N)."""

    name: str
    run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    onednn: bool = False


@dataclass(frozen=True)
class PassTwo:
    """``out += T^T X_c`` into an accumulator of ``shape(c, N)``; ``result(out)`` is (c, N)."""

    name: str
    transposed: bool  # the accumulator is (N, c)
    add: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], object]
    onednn: bool = False

    def zeros(self, c: int, N: int, dtype: torch.dtype, device) -> torch.Tensor:
        return torch.zeros((N, c) if self.transposed else (c, N), dtype=dtype, device=device)

    def result(self, out: torch.Tensor) -> torch.Tensor:
        return out.T if self.transposed else out


FIRST_PASSES = (
    PassOne("X_c V", lambda Xc, V_rows: Xc @ V_rows.T),
    PassOne("(V^T X_c^T)^T", lambda Xc, V_rows: (V_rows @ Xc.T).T),
    PassOne("oneDNN X_c V",
            lambda Xc, V_rows: _LINEAR(Xc, V_rows, None, "none", [], ""), onednn=True),
)
# oneDNN's pass two before MKL's transposed one: where the two were near (AMD EPYC, float32),
# oneDNN was the faster at N = 1000-4000 and equal at 16000 (measured: docs/large_n.md).
SECOND_PASSES = (
    PassTwo("T^T X_c", False, lambda out, T, Xc: out.addmm_(T.T, Xc)),
    PassTwo("oneDNN T^T X_c", False,
            lambda out, T, Xc: out.add_(_LINEAR(T.T.contiguous(), Xc.T, None, "none", [], "")),
            onednn=True),
    PassTwo("X_c^T T", True, lambda out, T, Xc: out.addmm_(Xc.T, T)),
)
PLAIN = (FIRST_PASSES[0], SECOND_PASSES[0])
_chosen: dict[tuple, tuple[PassOne, PassTwo]] = {}


def candidates(dtype: torch.dtype) -> tuple[tuple[PassOne, ...], tuple[PassTwo, ...]]:
    """The layouts of each pass that this build can run on the CPU in ``dtype``; oneDNN only
    in float32 (it has no float64 products)."""
    onednn = _LINEAR is not None and dtype == torch.float32
    return (tuple(x for x in FIRST_PASSES if onednn or not x.onednn),
            tuple(x for x in SECOND_PASSES if onednn or not x.onednn))


def _first_within_margin(seconds: dict) -> object:
    """The first layout (in list order) that takes at most ``1/MARGIN`` times the fastest."""
    best = min(seconds.values())
    return next(layout for layout, t in seconds.items() if MARGIN * t <= best)


def choose(dtype: torch.dtype, N: int, rows: int, cols: int,
           chunks: Callable[[], list[torch.Tensor]]) -> tuple[PassOne, PassTwo]:
    """The layouts of pass one and pass two for chunks of ``rows`` rows of an ``N``-column
    ``X`` in ``dtype`` (CPU), timed with ``cols`` columns on ``chunks()`` (one or two such
    chunks, asked for only when the shape has not been measured yet); measured once per (dtype,
    N, chunk rows, threads) and remembered for the process, so that every product of a run on
    this ``X`` (the float64 phase and the residual check of a mixed-precision solve included)
    makes the same choice. Each layout runs over the chunks in alternating rounds; the best of
    three after a warm-up round counts."""
    key = (dtype, N, rows, torch.get_num_threads())
    if key not in _chosen:
        slab = chunks()
        firsts, seconds = candidates(dtype)
        V_rows = torch.ones(cols, N, dtype=dtype)
        T = torch.ones(rows, cols, dtype=dtype)
        outs = {layout: layout.zeros(cols, N, dtype, "cpu") for layout in seconds}

        def timed(run) -> float:
            begin = time.perf_counter()
            for chunk in slab:
                run(chunk)
            return time.perf_counter() - begin

        times: dict = {layout: [] for layout in firsts + seconds}
        for _ in range(4):
            for layout in firsts:
                times[layout].append(timed(lambda c, f=layout: f.run(c, V_rows)))
            for layout in seconds:
                times[layout].append(timed(
                    lambda c, s=layout: s.add(outs[s], T[:len(c)], c)))
        best = {layout: min(t[1:]) for layout, t in times.items()}
        _chosen[key] = (_first_within_margin({x: best[x] for x in firsts}),
                        _first_within_margin({x: best[x] for x in seconds}))
    return _chosen[key]
