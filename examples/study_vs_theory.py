"""One study from Python: every eigenvalue of the Hessian at a random initialization against
the N = infinity bulk density of the theory, and the bottom eigenvector's overlap with the
teacher against the theory's m.

    python examples/study_vs_theory.py                      # N = 400, p = 2, alpha = 3: seconds
    python examples/study_vs_theory.py --N 1000 --alpha 1.5 --out /tmp/example
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; in a notebook, leave the backend alone
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bbp_torch import Config, LoggingConfig, ProblemConfig, run_study, theory  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    """Run the study, draw ``<out>/study_vs_theory.png``; returns the measured and the theory
    numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=400)
    parser.add_argument("--p", type=int, default=2)
    parser.add_argument("--alpha", type=float, default=3.0)
    parser.add_argument("--a", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/examples")
    args = parser.parse_args(argv)

    # The same fields as the command line's (bbp problem.N=400 ...); no files are written:
    # run_study returns the record, the job runner (the commands) would also save it.
    cfg = Config(problem=ProblemConfig(N=args.N, p=args.p, alpha=args.alpha, a=args.a),
                 seed=args.seed, logging=LoggingConfig(tensorboard=False, progress=False))
    result = run_study(cfg)
    metrics, pr = result.record["metrics"], cfg.problem
    spectrum = result.spectrum  # every eigenvalue, ascending (the dense solver)

    lam = np.linspace(spectrum[0], spectrum[-1], 400)
    rho = theory.density(pr.p, pr.p_star, pr.a, pr.alpha, lam)  # N = infinity bulk density
    edge = theory.edge(pr.p, pr.p_star, pr.a, pr.alpha)
    outlier = theory.outlier(pr.p, pr.p_star, pr.a, pr.alpha)  # None below alpha_BBP
    numbers = {
        "lambda_min": float(spectrum[0]), "lambda_edge": metrics["lambda_edge"],
        "edge_theory": edge, "outlier_theory": outlier,
        "overlap": metrics["overlap"], "overlap_theory": theory.overlap(pr.p, pr.p_star, pr.a,
                                                                        pr.alpha),
        "alpha_bbp": theory.alpha_bbp(pr.p, pr.p_star, pr.a),
    }

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.hist(spectrum, bins=80, density=True, color="C0", alpha=0.45,
            label=f"N={pr.N}: all {len(spectrum)} eigenvalues")
    ax.plot(lam, rho, "k", lw=1.4, label=r"theory $N=\infty$ bulk density")
    ax.axvline(edge, color="k", ls=":", lw=1, label=f"theory bulk edge {edge:.3f}")
    if outlier is not None:
        ax.axvline(outlier, color="C3", ls="--", lw=1, label=f"theory outlier {outlier:.3f}")
    ax.set_xlabel(r"eigenvalue $\lambda$ of the Hessian")
    ax.set_ylabel("density")
    ax.set_title(f"p={pr.p}, p*={pr.p_star}, a={pr.a}, alpha={pr.alpha}: overlap m = "
                 f"{numbers['overlap']:.3f} (theory {numbers['overlap_theory']:.3f})", fontsize=9)
    ax.legend(fontsize=7)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    numbers["figure"] = out / "study_vs_theory.png"
    fig.savefig(numbers["figure"], dpi=120, bbox_inches="tight")
    plt.close(fig)
    for key, value in numbers.items():
        print(f"{key:15s} {value}")
    return numbers


if __name__ == "__main__":
    main()
