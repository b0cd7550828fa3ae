"""``bbp-train``: gradient descent from the random initialization, the Hessian tracked along."""

from __future__ import annotations

import sys

from bbp_torch.cli.app import App, main_for

APP = App(
    name="bbp-train",
    config_name="train",
    purpose="gradient descent (plain or spherical) from the random initialization of the core "
            "study, or from its spectral warm start, with the bottom of the Hessian tracked "
            "along the way. Each run writes record.json (the tracked series) and TensorBoard "
            "events into its folder.",
    examples=(
        "bbp-train                             the default descent",
        "bbp-train problem.alpha=4 train.init=spectral",
        "bbp-train -m problem.alpha=1,2,4 'seed=range(6)'",
        "bbp-train -m +experiment=train_success",
    ),
)


def main(argv: list[str] | None = None) -> int:
    """Console script ``bbp-train``; returns (and as a script exits with) the exit code."""
    return main_for(APP, argv)


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":
    entry()
