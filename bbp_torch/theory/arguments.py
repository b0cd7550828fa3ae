"""The arguments every public theory function takes: checked once, as floats."""

from __future__ import annotations

import math


def _number(name, value, kind):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {kind}, got {value!r}") from None


def check_args(p, p_star, a, alpha=None):
    """Validate and convert to floats; a ValueError names the offending argument."""
    p = _number("p", p, "a number >= 1 or math.inf")
    if math.isnan(p) or p < 1:
        raise ValueError(f"p must be a number >= 1 or math.inf, got {p!r}")
    p_star = _number("p_star", p_star, "a finite number >= 1")
    if not (math.isfinite(p_star) and p_star >= 1):
        raise ValueError(f"p_star must be a finite number >= 1, got {p_star!r}")
    a = _number("a", a, "a finite number > 0")
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"a must be a finite number > 0, got {a!r}")
    if alpha is not None:
        alpha = _number("alpha", alpha, "a finite number > 0")
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    return p, p_star, a, alpha


def unit(p, rescaled):
    """Factor from a rescaled eigenvalue (of pH) to the requested unit (H, or pH)."""
    if rescaled:
        return 1.0
    if math.isinf(p):
        raise ValueError("rescaled must be True for p = inf (the eigenvalues of H vanish as 1/p)")
    return 1.0 / p
