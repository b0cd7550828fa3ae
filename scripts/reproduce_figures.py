"""An alias of ``bbp-figures`` (bbp_torch/cli/figures.py), kept for existing command lines:
``python scripts/reproduce_figures.py ARGS`` is ``bbp-figures ARGS``."""

import sys

from bbp_torch.cli.figures import estimate, main, parse_args, side_seconds  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
