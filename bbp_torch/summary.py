"""The short human-readable account printed after a run (``bbp`` and ``bbp-train``)."""

from __future__ import annotations

from pathlib import Path

from bbp_torch.results import RECORD_NAME


def fmt(x, digits: int = 5) -> str:
    """A number in ``digits`` significant digits; ``-`` for None."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _footer(record: dict, run_dir: Path | None) -> list[str]:
    lines = ["  time               : " + ", ".join(
        f"{k} {v:.2f}s" for k, v in record["timings"].items())]
    if record.get("status") != "ok":
        why = record.get("warning") or record.get("error")
        lines.append(f"  status             : {record.get('status')}: {why}")
    if run_dir is not None:
        lines.append(f"  record             : {run_dir / RECORD_NAME}")
        if record["config"]["logging"]["tensorboard"]:
            lines.append(f"  tensorboard        : tensorboard --logdir {run_dir}")
    return lines


def study_summary(record: dict, run_dir: Path | None = None) -> str:
    """One run of the core study: the bottom of the spectrum, overlaps, theory, solver."""
    c, m = record["config"], record["metrics"]
    pr = c["problem"]
    th = m.get("theory") or {}
    note = m.get("theory_note")
    activation = "" if pr.get("activation", "quadratic") == "quadratic" else \
        f" activation={pr['activation']}"
    lines = [
        f"bbp_torch  N={pr['N']} p={pr['p']} p*={pr['p_star']} a={pr['a']} alpha={pr['alpha']} "
        f"(M={m.get('M')}){activation}  seed={c['seed']}  hessian={c['hessian']['kind']}  "
        f"solver={m.get('solver_used')}  device={record['device']} {c['dtype']} "
        f"threads={c['threads']}",
        "  bottom eigenvalues : " + " ".join(f"{v:.5g}" for v in m["bottom_eigenvalues"]),
    ]
    rows = [("lambda_min         ", m["lambda_min"], 5, "theory outlier lambda* ",
             th.get("lambda_outlier")),
            ("bulk edge (est.)   ", m["lambda_edge"], 5, "theory edge lambda_-   ",
             th.get("lambda_edge")),
            ("gap edge - min     ", m["gap"], 5, None, None),
            ("overlap m (teacher)", m["overlap"], 4, "theory m (N = inf)     ", th.get("overlap"))]
    for label, value, digits, theory_label, theory_value in rows:
        line = f"  {label}: {fmt(value, digits):>12}"
        if theory_label and not note:
            line += f"   {theory_label}: {fmt(theory_value, digits)}"
        lines.append(line)
    lines += [
        f"  overlap subspace   : {fmt(m['overlap_subspace'], 4):>12}   (bottom p*p_star vectors "
        "on the teacher subspace)",
        f"  overlap student    : {fmt(m['overlap_student'], 4):>12}   (bottom vector on the "
        "student's own directions)",
    ]
    if m.get("overlap_subspace_note"):
        lines.append(f"  overlap subspace {m['overlap_subspace_note']}")
    if note:
        lines.append(f"  theory: {note}")
    if th.get("alpha_bbp") is not None:
        side = "above" if pr["alpha"] > th["alpha_bbp"] else "below"
        lines.append(f"  theory: alpha_BBP = {fmt(th['alpha_bbp'], 4)} "
                     f"({th.get('transition_type')}); alpha = {pr['alpha']} is {side} it")
    elif th.get("error"):
        lines.append(f"  theory: not available ({th['error']})")
    res = m.get("relative_residuals") or []
    if res:
        lines.append(f"  max relative residual |Hv - lambda v|/|H| : {max(res):.2e} "
                     f"(solver.tol {fmt(m.get('tol'), 3)})")
    info = m.get("solver_info")
    if info:
        names = {"block_lanczos": "block Lanczos", "block_davidson": "block Davidson"}
        phases = ", ".join(
            f"{x['iterations']} of {names.get(x.get('method'), 'block Lanczos')} on "
            f"{x['compute_dtype']} products" for x in info.get("phases", []))
        state = "converged" if info.get("converged") else "NOT converged"
        lines.append(f"  iterative solver   : {m.get('iterations')} operator calls ({phases}), "
                     f"{state}")
    return "\n".join(lines + _footer(record, run_dir))


def training_summary(record: dict, run_dir: Path | None = None) -> str:
    """One descent: the Hessian at init, the stop, the final student, success."""
    c, m = record["config"], record["metrics"]
    pr, t = c["problem"], c["train"]
    init, th = m["init"], m.get("theory") or {}
    theory_text = (f"   theory alpha_BBP {fmt(th.get('alpha_bbp'), 4)} "
                   f"({th.get('transition_type', '-')})") if not m.get("theory_note") else ""
    lines = [
        f"bbp-train  N={pr['N']} p={pr['p']} p*={pr['p_star']} a={pr['a']} alpha={pr['alpha']} "
        f"(M={m['M']})  seed={c['seed']}  method={t['method']} lr={t['lr']} (eta={m['eta']:.4g}) "
        f"init={t['init']}  device={record['device']} {c['dtype']} threads={c['threads']}",
        f"  Hessian at init    : lambda_min {fmt(init['lambda_min'])}, edge "
        f"{fmt(init['lambda_edge'])}, bottom-vector teacher overlap m {fmt(init['overlap'], 4)}"
        + theory_text,
        f"  student overlap q  : {fmt(init['student_overlap'], 3)} at random init"
        + (f", {fmt(init['warm_student_overlap'], 3)} after the spectral start"
           if "warm_student_overlap" in init else ""),
        f"  stopped            : {m['stop_reason']} after {m['steps']} steps "
        f"(time {t['lr'] * m['steps']:.4g})"
        + (f", on a plateau since step {m['plateau_step']}"
           if m.get("plateau_step") is not None else ""),
        f"  final              : gen_error {fmt(m['final_gen_error'], 3)}, overlap q "
        f"{fmt(m['final_overlap'], 4)}, train loss {fmt(m['final_train_loss'], 3)}, "
        f"lambda_min {fmt(m['final_lambda_min'], 3)} (bottom-vector m "
        f"{fmt(m['final_eigvec_overlap'], 3)}; Hessian {c['train']['track_hessian']})",
        f"  success            : {m['success']} (gen_error < train.gen_tol={t['gen_tol']})",
    ]
    if m.get("theory_note"):
        lines.append(f"  theory             : {m['theory_note']}")
    return "\n".join(lines + _footer(record, run_dir))
