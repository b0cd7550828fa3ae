"""The N = infinity predictions of one (p, p*, a), written to a folder for drawing next to runs.

Files (``FILES``): ``theory_curves.csv`` (edge, outlier and overlap over a grid of alpha),
``theory_density.csv`` (the bulk density at chosen alphas: columns alpha, lambda, rho),
``theory_summary.json`` (the thresholds of :func:`bbp_torch.theory.threshold_summary`, the
units, the files) and TensorBoard scalars under ``tensorboard/`` (step = round(1000 alpha) for
the curves, the grid index for the density). Eigenvalues are those of H (``lambda_*``) and of
pH (``*_rescaled``); the density is in H units (pH for p = inf).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from bbp_torch import theory

FILES = ("theory_curves.csv", "theory_density.csv", "theory_summary.json", "tensorboard")


def width_label(p: float) -> str:
    """A width as written in tables and files: ``inf`` for the p -> infinity limit."""
    return "inf" if math.isinf(p) else f"{p:g}"


def write_csv(path: Path, rows: list[dict]) -> None:
    """``rows`` (dicts with the same keys) as a CSV file; None is written as an empty cell."""
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if v is None else v for k, v in r.items()})


def write_predictions(out: str | Path, p: float, p_star: float, a: float, alphas,
                      density_alphas=(), density_points: int = 400,
                      tensorboard: bool = True) -> dict:
    """Write the curves over ``alphas``, the bulk density at each of ``density_alphas``
    (``density_points`` points each), the summary and (``tensorboard``) the TensorBoard scalars
    into ``out``; returns the summary (also ``theory_summary.json``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    curves = theory.theory_curves(p, p_star, a, np.asarray(alphas, dtype=float))
    write_csv(out / "theory_curves.csv", curves)
    densities = {alpha: theory.density_curve(p, p_star, a, alpha, points=density_points)
                 for alpha in density_alphas}
    rows = [{"alpha": alpha, "lambda": float(x), "rho": float(v)}
            for alpha, (lam, rho) in densities.items() for x, v in zip(lam, rho, strict=True)]
    if rows:
        write_csv(out / "theory_density.csv", rows)
    summary = {
        "p": width_label(p), "p_star": p_star, "a": a,
        **theory.threshold_summary(p, p_star, a),
        "units": "eigenvalues of H (lambda_*), of pH (*_rescaled); density in H units "
                 "(pH for p = inf)",
        "files": ["theory_curves.csv"] + (["theory_density.csv"] if rows else []),
    }
    if tensorboard:
        from bbp_torch.tensorboard import log_theory_curves  # lazy: only this needs torch

        log_theory_curves(out / "tensorboard", curves, densities)
        summary["tensorboard"] = str(out / "tensorboard")
    (out / "theory_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
