"""``bbp`` (also ``python -m bbp_torch``): one run of the core study, or a sweep of them."""

from __future__ import annotations

from bbp_torch.cli.app import App

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


main = APP.main  # console script bbp_torch.cli.bbp:entry; main(argv) returns the exit code
entry = APP.entry

if __name__ == "__main__":
    entry()
