"""Where the package finds its Hydra configuration (``conf/``): this module alone decides.

``conf/`` lives at the top of the repository, where users look for it, and ships inside the
wheel as ``bbp_torch/conf`` (``setup.py``). A checkout (an editable install, the tests) reads
the repository's copy, so an edit there takes effect at once; an installed wheel reads its own.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent  # the repository root, when the package runs from a checkout


def config_dir() -> Path:
    """The checkout's ``conf/`` when running from a checkout (it holds ``pyproject.toml`` and
    ``conf/`` beside the package), else the copy shipped inside the package."""
    checkout = CHECKOUT_DIR / "conf"
    if (CHECKOUT_DIR / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return PACKAGE_DIR / "conf"


CONFIG_DIR = str(config_dir())
