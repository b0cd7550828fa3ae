"""A mode's summary file (bbp_torch.figures.summary): a redraw of some figures keeps the others'
numbers and timings, merges per-preset entries and forgets the failures of figures drawn again."""

import json

from bbp_torch.figures.summary import merge_summary

FIGURES = ("fig1", "fig2")


def test_a_redraw_keeps_the_other_figures_and_merges_presets(tmp_path):
    path = tmp_path / "summary_smoke.json"
    merge_summary(path, {"fig1": {"a": 1}, "fig2": {"b": 2}, "estimate": {"p1": 10}},
                  ["fig1", "fig2"], {"fig1": 1.0, "fig2": 2.0}, {}, FIGURES)
    merged = merge_summary(path, {"fig1": {"c": 3}, "estimate": {"p2": 20}}, ["fig1"],
                           {"fig1": 1.5}, {}, FIGURES)
    assert merged == json.loads(path.read_text())
    assert merged["fig1"] == {"c": 3}  # a figure's numbers are replaced, not merged
    assert merged["fig2"] == {"b": 2}
    assert merged["estimate"] == {"p1": 10, "p2": 20}
    assert merged["timings_s"] == {"fig1": 1.5, "fig2": 2.0}


def test_a_failure_lasts_until_the_figure_is_drawn_again(tmp_path):
    path = tmp_path / "summary_smoke.json"
    failed = merge_summary(path, {}, ["fig1", "fig2"], {"fig2": 1.0},
                           {"fig1": "ValueError: bug"}, FIGURES)
    assert failed["failed"] == {"fig1": "ValueError: bug"}
    other = merge_summary(path, {}, ["fig2"], {}, {}, FIGURES)
    assert other["failed"] == {"fig1": "ValueError: bug"}
    redrawn = merge_summary(path, {"fig1": {}}, ["fig1"], {"fig1": 1.0}, {}, FIGURES)
    assert redrawn["failed"] == {}
