"""The printed account of a run (bbp_torch.summary): the numbers it shows are the record's."""

from pathlib import Path

from bbp_torch.study import run_study, run_training
from bbp_torch.summary import fmt, study_summary, training_summary


def test_fmt():
    assert fmt(None) == "-" and fmt(3) == "3" and fmt(0.123456789) == "0.12346"
    assert fmt(0.123456789, 3) == "0.123" and fmt("dense") == "dense"


def test_study_summary_shows_the_records_numbers():
    record = run_study({"problem": {"N": 40, "alpha": 3.0}, "device": "cpu",
                        "logging": {"figures": False, "progress": False}}).record
    m, th = record["metrics"], record["metrics"]["theory"]
    text = study_summary(record, Path("runs/x"))
    assert "bottom eigenvalues : " + " ".join(f"{v:.5g}" for v in m["bottom_eigenvalues"]) \
        in text
    assert f"lambda_min         : {fmt(m['lambda_min']):>12}" in text
    assert f"theory outlier lambda* : {fmt(th['lambda_outlier'])}" in text
    assert f"theory: alpha_BBP = {fmt(th['alpha_bbp'], 4)} ({th['transition_type']})" in text
    assert "alpha = 3.0 is above it" in text
    assert f"max relative residual |Hv - lambda v|/|H| : {max(m['relative_residuals']):.2e}" \
        in text
    assert "record             : runs/x/record.json" in text and "status" not in text
    record = dict(record, status="unconverged", warning="missed solver.tol")
    assert "status             : unconverged: missed solver.tol" in study_summary(record)


def test_training_summary_shows_the_records_numbers():
    record = run_training({"problem": {"N": 30, "alpha": 3.0}, "device": "cpu",
                           "train": {"steps": 20, "track_every": 10}}).record
    m = record["metrics"]
    text = training_summary(record)
    assert f"stopped            : {m['stop_reason']} after {m['steps']} steps" in text
    assert f"final              : gen_error {fmt(m['final_gen_error'], 3)}" in text
    assert f"success            : {m['success']} (gen_error < train.gen_tol=0.01)" in text
    assert f"lambda_min {fmt(m['init']['lambda_min'])}" in text
    assert "record" not in text  # no run folder given


def test_study_summary_names_each_phase_of_a_mixed_precision_solve():
    record = run_study({"problem": {"N": 300, "alpha": 3.0}, "device": "cpu",
                        "solver": {"name": "iterative", "mixed_precision": True},
                        "logging": {"figures": False, "progress": False}}).record
    m = record["metrics"]
    first, second = m["solver_info"]["phases"]
    assert (first["method"], second["method"]) == ("block_lanczos", "block_davidson")
    assert (f"iterative solver   : {m['iterations']} operator calls ({first['iterations']} of "
            f"block Lanczos on float32 products, {second['iterations']} of block Davidson on "
            "float64 products, float32 for its corrections), converged") in study_summary(record)
