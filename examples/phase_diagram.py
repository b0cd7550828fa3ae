"""The theory's phase diagram: the BBP threshold alpha_BBP against the loss constant a for
several student widths p (p* = 1), continuous (solid) or discontinuous (dashed), with the a
where the type switches and the p -> infinity limit p*(a + 1)/2. Theory only (numpy/scipy).

    python examples/phase_diagram.py                        # p = 1, 2, 4, 8; 16 values of a
    python examples/phase_diagram.py --p 1 2 --a-points 6 --out /tmp/example
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; in a notebook, leave the backend alone
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bbp_torch import theory  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    """Draw ``<out>/phase_diagram.png``; returns ``{p: {"a", "alpha_bbp", "type",
    "a_switch"}}``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--p", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--p-star", type=int, default=1)
    parser.add_argument("--a-points", type=int, default=16)
    parser.add_argument("--out", default="outputs/examples")
    args = parser.parse_args(argv)

    a_values = np.linspace(0.1, 2.0, args.a_points)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    diagram = {}
    for i, p in enumerate(args.p):
        a_switch = theory.critical_a(p, args.p_star)  # None: the type never switches
        grid = a_values if a_switch is None else np.union1d(a_values, [a_switch])
        rows = [theory.threshold(p, args.p_star, a) for a in grid]  # never raises
        alpha = np.array([np.nan if r["alpha_bbp"] is None else r["alpha_bbp"] for r in rows])
        kinds = [r.get("transition_type", "error") for r in rows]
        diagram[p] = {"a": grid.tolist(), "alpha_bbp": alpha.tolist(), "type": kinds,
                      "a_switch": a_switch}
        for kind, style in (("continuous", "-"), ("discontinuous", "--")):
            on = [k == kind or a == a_switch for k, a in zip(kinds, grid, strict=True)]
            ax.plot(grid, np.where(on, alpha, np.nan), style, color=f"C{i}",
                    label=f"p={p}" if kind == "continuous" else None)
        if a_switch is not None:
            ax.plot(a_switch, alpha[grid == a_switch][0], "o", color=f"C{i}")
        print(f"p={p}: alpha_BBP from {np.nanmin(alpha):.3f} to {np.nanmax(alpha):.3f}, "
              f"type switches at a = {a_switch}")
    ax.plot(a_values, args.p_star * (a_values + 1) / 2, ":", color="0.4",
            label=r"$p\to\infty$: $p^*(a+1)/2$")
    ax.set_xlabel("loss constant a")
    ax.set_ylabel(r"$\alpha_{BBP}$ at $N=\infty$")
    ax.set_title(f"p* = {args.p_star}: continuous (solid), discontinuous (dashed); "
                 "dots: the type switches", fontsize=9)
    ax.legend(fontsize=7)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "phase_diagram.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return diagram


if __name__ == "__main__":
    main()
