"""The short human-readable account printed after a run (``bbp`` and ``bbp-train``).

The metrics it shows, their labels and digits are those :mod:`bbp_torch.metrics` declares with
a ``label``; a key the record lacks is left out, a null one shows as ``-``.
"""

from __future__ import annotations

from pathlib import Path

from bbp_torch import metrics as schema
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


def _study_rows(m: dict, theory_beside: bool) -> list[str]:
    """One row per printed study metric, its N = infinity prediction beside it (when
    ``theory_beside``), then its note."""
    declared = {d.name: d for d in schema.printed("study")}
    predictions = set(schema.theory_of("study").values())
    rows = []
    for d in declared.values():
        value = schema.lookup(m, d.name)
        if d.name in predictions or value is schema.MISSING:
            continue
        row = f"  {d.label:<19}: {fmt(value, d.digits):>12}"
        if d.theory in declared and theory_beside:
            row += (f"   {declared[d.theory].label:<23}: "
                    f"{fmt(schema.lookup(m, d.theory, None), d.digits)}")
        rows.append(row + (f"   ({d.note})" if d.note else ""))
    return rows


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
    lines += _study_rows(m, theory_beside=not note)
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
            f"{x['compute_dtype']} products"
            + (f", {x['expansion_dtype']} for its corrections"
               if x.get("expansion_dtype", x["compute_dtype"]) != x["compute_dtype"] else "")
            for x in info.get("phases", []))
        state = "converged" if info.get("converged") else "NOT converged"
        lines.append(f"  iterative solver   : {m.get('iterations')} operator calls ({phases}), "
                     f"{state}")
    return "\n".join(lines + _footer(record, run_dir))


def _training_rows(m: dict, after: dict[str, str]) -> list[str]:
    """The printed training metrics, several to a row (their ``line``; a metric without one
    has a row of its own), each row followed by its text in ``after``."""
    rows: dict[str, list[str]] = {}
    for d in schema.printed("training"):
        value = schema.lookup(m, d.name)
        if value is schema.MISSING:
            continue
        line = d.line or d.label
        shown = fmt(value, d.digits) if line == d.label else f"{d.label} {fmt(value, d.digits)}"
        rows.setdefault(line, []).append(shown)
    return [f"  {line:<19}: {', '.join(parts)}{after.get(line, '')}"
            for line, parts in rows.items()]


def training_summary(record: dict, run_dir: Path | None = None) -> str:
    """One descent: the Hessian at init, the final student, the stop, success."""
    c, m = record["config"], record["metrics"]
    pr, t = c["problem"], c["train"]
    th = m.get("theory") or {}
    theory_text = (f"   theory alpha_BBP {fmt(th.get('alpha_bbp'), 4)} "
                   f"({th.get('transition_type', '-')})") if not m.get("theory_note") else ""
    lines = [
        f"bbp-train  N={pr['N']} p={pr['p']} p*={pr['p_star']} a={pr['a']} alpha={pr['alpha']} "
        f"(M={m['M']})  seed={c['seed']}  method={t['method']} lr={t['lr']} (eta={m['eta']:.4g}) "
        f"init={t['init']}  device={record['device']} {c['dtype']} threads={c['threads']}",
        *_training_rows(m, {"Hessian at init": theory_text,
                            "final": f"   (Hessian {t['track_hessian']})"}),
        f"  stopped            : {m['stop_reason']} after {m['steps']} steps "
        f"(time {t['lr'] * m['steps']:.4g})"
        + (f", on a plateau since step {m['plateau_step']}"
           if m.get("plateau_step") is not None else ""),
        f"  success            : {m['success']} (gen_error < train.gen_tol={t['gen_tol']})",
    ]
    if m.get("theory_note"):
        lines.append(f"  theory             : {m['theory_note']}")
    return "\n".join(lines + _footer(record, run_dir))
