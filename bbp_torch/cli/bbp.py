"""``bbp`` (also ``python -m bbp_torch``): one run of the core study, or a sweep of them."""

from __future__ import annotations

import sys

from bbp_torch.cli.app import App, main_for

APP = App(
    name="bbp",
    config_name="config",
    purpose="the Hessian of the loss at a random initialization of an overparametrized "
            "two-layer teacher-student network: its bottom eigenpairs, their overlap with the "
            "teacher, and the N = infinity theory. Each run writes record.json and TensorBoard "
            "events into its folder.",
    examples=(
        "bbp                                  the default run (outputs/runs/<name>/<time>/)",
        "bbp problem.p=4 problem.alpha=2 hessian=spherical",
        "bbp -m problem.p=1,2,4 'seed=range(4)'  a sweep (outputs/multirun/<name>/<overrides>/)",
        "bbp -m +experiment=fig1_overlap      the whole recipe of a figure",
    ),
)


def main(argv: list[str] | None = None) -> int:
    """Console script ``bbp``; returns (and as a script exits with) the exit code."""
    return main_for(APP, argv)


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":
    entry()
