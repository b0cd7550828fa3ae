"""The per-sample figure (extra_sample_variability): its plot on a hand-made result, the
informative fraction, its presets at the cases' ratios of alpha_BBP, and its smoke mode end to
end."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bbp_torch import plots, theory
from bbp_torch.figures import FIGURES, extra_sample_variability
from bbp_torch.figures.grids import preset_grid

SV = extra_sample_variability


def test_the_presets_sit_at_the_ratios_of_alpha_bbp_of_their_case():
    assert FIGURES["extra_sample_variability"] is SV and len(SV.PRESETS) == 8
    for case, (p, a) in SV.CASES.items():
        a_bbp = theory.alpha_bbp(p, 1, a)
        for preset in (f"{SV.KEY}_{case}", f"{SV.KEY}_{case}_large"):
            base, swept = preset_grid(preset)
            assert (base["problem"]["p"], base["problem"]["a"]) == (p, a), preset
            assert [alpha / a_bbp for alpha in swept["problem.alpha"]] == \
                pytest.approx(SV.RATIOS, abs=1e-3)
            assert base["solver"]["name"] == "auto"
        assert theory.transition_type(p, 1, a) == ("continuous" if case.endswith("cont")
                                                   else "discontinuous")


def test_where_the_pre_critical_region_starts():
    level = SV.PRE_CRITICAL_FRACTION
    assert SV.pre_critical([0.5, 1.0], [0.0, 2 * level]) == {"pre_critical_start":
                                                             pytest.approx(0.75),
                                                             "pre_critical_bound": None}
    assert SV.pre_critical([0.5, 1.0], [level, 1.0])["pre_critical_bound"] == "below"
    assert SV.pre_critical([0.5, 1.0], [0.0, 0.0])["pre_critical_bound"] == "above"


def test_informative_fraction_and_its_interval():
    frac = SV.informative([0.0, SV.INFORMATIVE_M2 / 2, SV.INFORMATIVE_M2, 0.5])
    assert frac["fraction"] == 0.5 and frac["n"] == 4
    assert frac["lo"] < 0.5 < frac["hi"]


def test_plot_draws_a_hand_made_result(tmp_path):
    rng = np.random.default_rng(0)

    def point(alpha, scale):
        return {"alpha": alpha, "m2": np.sort(rng.uniform(0, scale, 40)).tolist(),
                "gap": np.sort(rng.uniform(0, 0.1, 40)).tolist()}

    sizes = {N: {f"{r:.2f}": point(r * 1.3, r / 2) for r in SV.RATIOS} for N in ("250", "500")}
    case = {"p": 2, "a": 1.5, "alpha_bbp": 1.3, "type": "discontinuous",
            "m2_theory": {"0.50": 0.0, "0.75": 0.0, "1.00": 0.11, "1.25": 0.19}, "N": sizes}
    result = SV.Result(cases={"p2_disc": case})
    with plots.FigureSaver(tmp_path, tensorboard=False) as saver:
        summary = SV.plot(result, saver)
    png = tmp_path / f"{SV.NAME}.png"
    assert 1000 < png.stat().st_size < 300_000
    row = summary["p2_disc"]["N"]["500"]
    assert set(row) == {"0.50", "0.75", "1.00", "1.25", "pre_critical_start",
                        "pre_critical_bound"}
    m2 = sizes["500"]["1.00"]["m2"]
    assert row["1.00"]["m2_quantiles"]["0.5"] == pytest.approx(np.median(m2))
    assert row["1.00"]["informative"] == pytest.approx(np.mean(np.asarray(m2) >= SV.INFORMATIVE_M2))
    assert summary["informative_m2"] == SV.INFORMATIVE_M2


def test_the_smoke_mode_runs_end_to_end(tmp_path):
    command = Path(sys.executable).parent / "bbp-figures"
    proc = subprocess.run([str(command), "--smoke", "--jobs", "1", "--out", "figures",
                           "--only", "extra_sample_variability"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "figures"
    assert (out / "extra_sample_variability.png").stat().st_size > 1000
    summary = json.loads((out / "summary_smoke.json").read_text())
    variability = summary["sample_variability"]
    assert set(SV.CASES) <= set(variability)
    for case, (p, a) in SV.CASES.items():
        row = variability[case]
        assert (row["p"], row["a"]) == (p, a)
        assert row["alpha_bbp"] == pytest.approx(theory.alpha_bbp(p, 1, a))
        assert set(row["N"]) == {"40", "80"}  # the smoke sizes of the two presets
        point = row["N"]["40"]["1.25"]
        assert point["samples"] == 3 and 0 <= point["informative"] <= 1
        q = point["m2_quantiles"]
        assert 0 <= q["0.1"] <= q["0.5"] <= q["0.9"] <= 1
        assert point["gap_quantiles"]["0.1"] >= 0
