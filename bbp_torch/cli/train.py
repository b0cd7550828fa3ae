"""``bbp-train``: gradient descent from the random initialization, the Hessian tracked along."""

from __future__ import annotations

from bbp_torch.cli.app import App

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


main = APP.main  # console script bbp_torch.cli.train:entry; main(argv) returns the exit code
entry = APP.entry

if __name__ == "__main__":
    entry()
