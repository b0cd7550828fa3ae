"""Finite-N estimators of where the overlap switches on, and their N = infinity values.

Both estimators act on the seed-averaged overlap curve ``m(alpha)`` of one ``(N, p, p*, a)``:

* **crossing** (:func:`crossing_alpha`): the alpha where the mean overlap first reaches a level
  ``m_c`` (linear interpolation between grid points). Used as the finite-N estimate of
  alpha_BBP. Its N = infinity value (:func:`theory_crossing`) is alpha_BBP itself when the
  overlap jumps above ``m_c`` at a discontinuous transition, and the alpha where the theory's
  ``m(alpha) = m_c`` otherwise (above alpha_BBP, since m grows from 0 at a continuous one).
* **alpha_0** (:func:`fit_alpha0`, docs/model.md claim 5): assume the residual overlap vanishes as a
  square root, ``m^2 = s (alpha - alpha_0)``; fit ``m^2`` linearly in alpha over the onset window
  (mean ``m^2`` between a floor above the finite-N background and a ceiling below saturation)
  and take the zero of the fit. Its N = infinity value is :func:`theory_alpha0`.

:func:`extrapolate` fits ``estimate(N) = value_inf + b x(N)`` with ``x = N^(-2/3)`` (square-root
edge, continuous transition) or ``x = 1/log N`` (smooth edge, discontinuous transition).

**phi** (the paper's Fig. 3, :func:`phi_estimate`): at one grid point, the fraction of seeds in
which the eigenvector with the largest teacher overlap is the bottom one
(``metrics.best_overlap_index == 0``), with the Wilson score interval of a binomial proportion
(one standard deviation, z = 1; unlike ``sqrt(phi (1 - phi) / n)`` it does not shrink to zero
at phi = 0 or 1). Where the phi curves of two sizes cross (:func:`phi_crossing`): by default
where their binomial maximum-likelihood logistic fits cross (:func:`logistic_crossing`, every
grid point counts), or model-free where the difference of the curves changes sign
(:func:`curve_crossing`); :func:`crossing_error` is its bootstrap error over seeds.
"""

from __future__ import annotations

import math

import numpy as np

CROSSING_LEVEL = 0.3  # m_c of the crossing estimator
ALPHA0_WINDOW = (0.1, 0.3)  # onset window of the alpha_0 fit, in units of mean m^2


def _sorted(alphas, values) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(alphas, dtype=float)
    v = np.asarray(values, dtype=float)
    order = np.argsort(a)
    return a[order], v[order]


def crossing_alpha(alphas, values, level: float = CROSSING_LEVEL) -> float:
    """First alpha at which ``values`` reaches ``level`` going up (linear interpolation).

    NaN when the curve never reaches the level, or already starts at or above it (the grid
    does not bracket the crossing).
    """
    a, v = _sorted(alphas, values)
    if len(a) == 0 or not v[0] < level:
        return math.nan
    above = np.nonzero(v >= level)[0]
    if len(above) == 0:
        return math.nan
    j = above[0]
    return float(a[j - 1] + (level - v[j - 1]) * (a[j] - a[j - 1]) / (v[j] - v[j - 1]))


def onset_window(alphas, m2, window=ALPHA0_WINDOW) -> np.ndarray:
    """Boolean mask (in sorted-alpha order) of the points used by the alpha_0 fit.

    The points with ``window[0] <= m2 <= window[1]`` that come after the last point below the
    floor and before the first point above the ceiling that follows it: one contiguous stretch
    of the rising curve, so that a noisy background or a saturated tail does not enter.
    """
    _, v = _sorted(alphas, m2)
    lo, hi = window
    below = np.nonzero(v < lo)[0]
    start = below[-1] + 1 if len(below) else 0
    above = np.nonzero(v[start:] > hi)[0]
    stop = start + above[0] if len(above) else len(v)
    mask = np.zeros(len(v), dtype=bool)
    mask[start:stop] = True
    return mask & (v >= lo) & (v <= hi)


def fit_alpha0(alphas, m2, window=ALPHA0_WINDOW, min_points: int = 3) -> tuple[float, float]:
    """``(alpha_0, s)`` of the least-squares fit ``m2 = s (alpha - alpha_0)`` over the onset
    window (:func:`onset_window`). NaNs when fewer than ``min_points`` points are in the window
    or the fitted slope is not positive; alpha_0 is NaN when the line reaches zero at
    ``alpha <= 0`` (a threshold in alpha is positive: such a fit estimates nothing).
    """
    a, v = _sorted(alphas, m2)
    mask = onset_window(a, v, window)
    if mask.sum() < max(2, min_points):
        return math.nan, math.nan
    s, c = np.polyfit(a[mask], v[mask], 1)
    if not s > 0:
        return math.nan, float(s)
    alpha0 = float(-c / s)
    return (alpha0 if alpha0 > 0 else math.nan), float(s)


def extrapolate(x, y, yerr=None) -> tuple[float, float]:
    """``(y_inf, b)`` of the (weighted) linear fit ``y = y_inf + b x`` (:func:`weighted_line`);
    ``y_inf`` is the value at ``x = 0`` (N = infinity). NaNs with fewer than two finite points.
    """
    y_inf, b, _ = weighted_line(x, y, yerr)
    return y_inf, b


def seed_average(table, keys: list[str], metric: str = "metrics.overlap"):
    """Mean, standard error and count of ``metric`` (and the mean of its square) per ``keys``.

    Only ``status == "ok"`` rows count. Returns a DataFrame with columns ``keys + [mean, sem,
    n, mean_sq]``, sorted by ``keys``.
    """
    ok = table[table["status"] == "ok"].copy()
    ok["_sq"] = ok[metric].astype(float) ** 2
    grouped = ok.groupby(keys)
    out = grouped[metric].agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    out["sem"] = out["std"].fillna(0.0) / np.sqrt(out["n"])
    out["mean_sq"] = grouped["_sq"].mean()
    return out.drop(columns="std").reset_index().sort_values(keys)


def bootstrap(samples: list[np.ndarray], estimator, n_boot: int = 200, seed: int = 0) -> float:
    """Spread of ``estimator(means)`` over resamplings of the seeds (a robust standard error).

    ``samples[i]`` holds the per-seed values at the i-th grid point; each resample draws, at
    every grid point independently, as many values with replacement and passes the array of
    their means to ``estimator``. Returns half the 16-84 percentile range of the finite
    estimates (the standard deviation for a normal spread, but not blown up by the rare
    resample where a fit degenerates); NaN if fewer than two are finite.
    """
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        means = [rng.choice(s, size=len(s)).mean() if len(s) else math.nan for s in samples]
        values.append(estimator(np.asarray(means)))
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return math.nan
    lo, hi = np.percentile(values, [15.87, 84.13])
    return float((hi - lo) / 2)


# ----------------------------------------------------------------------------- phi (Fig. 3)


def wilson_interval(k: int, n: int, z: float = 1.0) -> tuple[float, float]:
    """Wilson score interval ``(lo, hi)`` of a binomial proportion ``k / n`` at ``z`` standard
    deviations (z = 1: about 68% coverage); it stays inside [0, 1] and has non-zero width at
    ``k = 0`` and ``k = n``."""
    if n <= 0:
        return math.nan, math.nan
    phat = k / n
    denom = 1 + z**2 / n
    center = (phat + z**2 / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / denom
    # the interval contains k / n also where rounding puts an end a hair inside (k = n = 20)
    return max(0.0, min(phat, center - half)), min(1.0, max(phat, center + half))


def phi_estimate(indices, z: float = 1.0) -> dict:
    """phi at one grid point from the per-seed ``best_overlap_index`` values (0 = bottom).

    Returns ``{"phi", "lo", "hi", "n"}``: the fraction of seeds with index 0 and its Wilson
    interval (:func:`wilson_interval`); non-finite entries are dropped; NaNs when none is left.
    """
    idx = np.asarray(indices, dtype=float)
    idx = idx[np.isfinite(idx)]
    n = len(idx)
    if n == 0:
        return {"phi": math.nan, "lo": math.nan, "hi": math.nan, "n": 0}
    k = int(np.count_nonzero(idx == 0))
    lo, hi = wilson_interval(k, n, z)
    return {"phi": k / n, "lo": lo, "hi": hi, "n": n}


PHI_WINDOW = (0.05, 0.95)  # crossings are sought where the two curves' mean lies in here


def curve_crossing(alphas, small, large, window=PHI_WINDOW) -> float:
    """The alpha where the curve ``large`` (the larger N) crosses ``small`` from below, model-free.

    ``d = large - small`` on the common grid ``alphas``; the first pair of neighbouring points
    with ``d < 0`` then ``d > 0`` (strictly) where the mean of the two curves lies inside
    ``window`` at one of them at least (where both curves sit at 0 or at 1 their difference is
    noise), linearly interpolated. NaN when there is none.
    """
    a, s = _sorted(alphas, small)
    _, big = _sorted(alphas, large)
    d = big - s
    mid = (big + s) / 2
    inside = (mid >= window[0]) & (mid <= window[1])
    for j in range(1, len(a)):
        if (inside[j - 1] or inside[j]) and d[j - 1] < 0 < d[j]:
            return float(a[j - 1] - d[j - 1] * (a[j] - a[j - 1]) / (d[j] - d[j - 1]))
    return math.nan


def logistic(alphas, center: float, width: float) -> np.ndarray:
    """``1 / (1 + exp(-(alpha - center) / width))`` (without overflow for a tiny width)."""
    from scipy.special import expit

    return expit((np.asarray(alphas, dtype=float) - center) / width)


def logistic_fit(alphas, fractions, counts) -> tuple[float, float]:
    """``(center, width)`` of the binomial maximum-likelihood fit of ``logistic`` to the
    fractions ``fractions[i]`` of ``counts[i]`` trials at ``alphas[i]``. NaNs with fewer than
    two grid points or when the fit does not converge."""
    from scipy.optimize import minimize

    a = np.asarray(alphas, dtype=float)
    f = np.asarray(fractions, dtype=float)
    n = np.asarray(counts, dtype=float)
    ok = np.isfinite(f) & (n > 0)
    a, f, n = a[ok], f[ok], n[ok]
    if len(a) < 2:
        return math.nan, math.nan
    k = f * n

    def nll(params):
        q = np.clip(logistic(a, params[0], math.exp(params[1])), 1e-12, 1 - 1e-12)
        return -float(np.sum(k * np.log(q) + (n - k) * np.log(1 - q)))

    span = a.max() - a.min()
    center0 = crossing_alpha(a, f, 0.5)
    start = [center0 if math.isfinite(center0) else float(np.median(a)), math.log(span / 8)]
    res = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-8})
    if not res.success:
        return math.nan, math.nan
    return float(res.x[0]), float(math.exp(res.x[1]))


def logistic_crossing(alphas, small, n_small, large, n_large) -> float:
    """The alpha where the logistic fits (:func:`logistic_fit`) of two sizes' phi curves cross.

    ``small`` / ``large``: the fractions at ``alphas`` of the smaller / larger N, out of
    ``n_small`` / ``n_large`` seeds. Two logistic curves cross once, at
    ``(c_l w_s - c_s w_l) / (w_s - w_l)``; NaN when that lies outside the grid's range (nearly
    parallel fits) or a fit failed. Uses every grid point, so it is steadier than
    :func:`curve_crossing` when each point has few seeds.
    """
    cs, ws = logistic_fit(alphas, small, n_small)
    cl, wl = logistic_fit(alphas, large, n_large)
    if not all(map(math.isfinite, (cs, ws, cl, wl))) or ws == wl:
        return math.nan
    cross = (cl * ws - cs * wl) / (ws - wl)
    a = np.asarray(alphas, dtype=float)
    return float(cross) if a.min() <= cross <= a.max() else math.nan


def phi_crossing(alphas, small: list[np.ndarray], large: list[np.ndarray],
                 method: str = "logistic") -> float:
    """Where the phi curves of two sizes cross, from the per-seed 0/1 outcomes at each alpha
    (1: the best eigenvector is the bottom one): ``method`` ``logistic``
    (:func:`logistic_crossing`) or ``interpolation`` (:func:`curve_crossing`)."""
    means_s = np.array([v.mean() for v in small])
    means_l = np.array([v.mean() for v in large])
    if method == "interpolation":
        return curve_crossing(alphas, means_s, means_l)
    return logistic_crossing(alphas, means_s, [len(v) for v in small], means_l,
                             [len(v) for v in large])


def crossing_error(alphas, small: list[np.ndarray], large: list[np.ndarray],
                   n_boot: int = 200, method: str = "logistic", seed: int = 0) -> float:
    """Bootstrap error of :func:`phi_crossing`: the seeds of every point and size are
    resampled independently (:func:`bootstrap`)."""
    n = len(small)
    counts = [len(v) for v in small] + [len(v) for v in large]

    def cross(means):
        if method == "interpolation":
            return curve_crossing(alphas, means[:n], means[n:])
        return logistic_crossing(alphas, means[:n], counts[:n], means[n:], counts[n:])

    return bootstrap(list(small) + list(large), cross, n_boot, seed)


# ----------------------------------------------------------------------------- N = infinity


def theory_crossing(p, p_star, a, level: float = CROSSING_LEVEL) -> float:
    """N = infinity value of the crossing estimator: alpha where the theory's m reaches level."""
    from scipy.optimize import brentq

    from bbp_torch import theory

    a_bbp = theory.alpha_bbp(p, p_star, a)
    start = a_bbp * (1 + 1e-7)
    if theory.overlap(p, p_star, a, start) >= level:
        return a_bbp  # the overlap jumps above the level at alpha_BBP
    hi = 2 * a_bbp
    while theory.overlap(p, p_star, a, hi) < level:
        hi *= 2
        if hi > 1e3 * a_bbp:
            return math.nan
    return float(brentq(lambda x: theory.overlap(p, p_star, a, x) - level, start, hi,
                        xtol=1e-6))


def theory_alpha0(p, p_star, a, window=ALPHA0_WINDOW, points: int = 40) -> float:
    """N = infinity value of the alpha_0 heuristic: :func:`fit_alpha0` on the theory's m^2.

    At a continuous transition m^2 is nearly linear above alpha_BBP, so this is close to
    alpha_BBP; at a discontinuous one the fitted line crosses zero below alpha_BBP.
    """
    from bbp_torch import theory

    a_bbp = theory.alpha_bbp(p, p_star, a)
    top = theory_crossing(p, p_star, a, math.sqrt(window[1]))
    if not math.isfinite(top):
        return math.nan
    alphas = np.linspace(a_bbp * (1 + 1e-7), top, points)
    m2 = np.array([theory.overlap(p, p_star, a, x) ** 2 for x in alphas])
    return fit_alpha0(alphas, m2, window)[0]


# ------------------------------------------------------------- onset of recovery by descent

RECOVERY_LEVEL = 0.5  # a descent recovers the teacher when its largest m^2 reaches this
ONSET_LAW = "1/log N"


def recovered(max_m2) -> np.ndarray:
    """Per seed, 1.0 where the largest m^2 of the descent reached :data:`RECOVERY_LEVEL`."""
    return (np.asarray(max_m2, dtype=float) >= RECOVERY_LEVEL).astype(float)


def recovery_onset(alphas, max_m2: list[np.ndarray], n_boot: int = 200, seed: int = 0) -> dict:
    """The onset of recovery by gradient descent at one N, from the per-seed largest m^2
    ``max_m2[i]`` at ``alphas[i]``.

    Below the onset the largest m^2 is O(1/N), above it O(1), so each descent either recovers
    (reaches m^2 >= 1/2) or not: the onset is the ``center`` of the binomial maximum-likelihood
    logistic fit of the recovered fraction against alpha (:func:`logistic_fit`: where half the
    seeds recover), with its bootstrap error over seeds (at least a quarter of the median grid
    step, the resolution of the grid) and the fit's ``width``. ``level_half``
    is the older estimate (where the *mean* largest m^2 first reaches 1/2, linearly
    interpolated), also with its bootstrap error. ``fraction`` is the recovered fraction per
    alpha and ``seeds`` the fewest seeds of a point.
    """
    fractions = [recovered(v) for v in max_m2]
    counts = [len(f) for f in fractions]
    means = [f.mean() if len(f) else math.nan for f in fractions]
    center, width = logistic_fit(alphas, means, counts)

    def fit_center(resampled):
        return logistic_fit(alphas, resampled, counts)[0]

    def level(resampled):
        return crossing_alpha(alphas, resampled, RECOVERY_LEVEL)

    mean_m2 = [np.mean(v) if len(v) else math.nan for v in max_m2]
    # where every resample steps from 0 to 1 between the same two grid points the bootstrap
    # spread vanishes, but the center is known only within that step: at least a quarter of it
    floor = 0.25 * float(np.median(np.diff(np.sort(np.asarray(alphas, float))))) \
        if len(alphas) > 1 else 0.0
    return {"value": center, "err": max(bootstrap(fractions, fit_center, n_boot, seed), floor),
            "width": width, "fraction": [float(x) for x in means],
            "level_half": level(np.asarray(mean_m2)),
            "level_half_err": bootstrap(list(max_m2), level, n_boot, seed),
            "seeds": min(counts, default=0)}


def recovery_crossing(alphas, small: list[np.ndarray], large: list[np.ndarray],
                      n_boot: int = 200, seed: int = 0) -> dict:
    """Where the recovered fractions of two sizes cross (their logistic fits,
    :func:`phi_crossing`), from the per-seed largest m^2, with its bootstrap error; NaN when
    the fits do not cross inside the grid (the larger N recovers later everywhere)."""
    s = [recovered(v) for v in small]
    big = [recovered(v) for v in large]
    return {"value": phi_crossing(alphas, s, big),
            "err": crossing_error(alphas, s, big, n_boot, seed=seed)}


def weighted_line(x, y, yerr=None) -> tuple[float, float, float]:
    """``(intercept, slope, intercept_err)`` of the least-squares line ``y = c + b x``.

    With errors ``yerr`` (all positive) the fit is weighted by ``1/yerr^2`` and the intercept's
    error is that of the weighted fit's covariance; otherwise the points count equally and the
    error comes from the residuals (NaN with fewer than three points). NaNs with fewer than two
    finite points.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    err = None
    if yerr is not None:
        e = np.asarray(yerr, dtype=float)
        if np.all(np.isfinite(e[ok])) and np.all(e[ok] > 0):
            err = e[ok]
    x, y = x[ok], y[ok]
    if len(x) < 2:
        return math.nan, math.nan, math.nan
    A = np.stack([np.ones_like(x), x], axis=1)
    w = np.ones_like(x) if err is None else 1 / err**2
    normal = A.T @ (w[:, None] * A)
    c, b = np.linalg.solve(normal, A.T @ (w * y))
    cov = np.linalg.inv(normal)
    if err is None:
        if len(x) < 3:
            return float(c), float(b), math.nan
        cov = cov * float(np.sum((y - c - b * x) ** 2)) / (len(x) - 2)
    return float(c), float(b), float(math.sqrt(cov[0, 0]))


def extrapolate_onset(sizes, values, errs=None) -> dict:
    """The N = infinity onset from finite-N onsets, by the law ``onset(N) = value + b / log N``
    (:data:`ONSET_LAW`), fitted with the onsets' errors.

    Why ``1/log N``: a descent from a random start begins at a teacher overlap m^2 ~ 1/N, and
    the time it needs to grow it to O(1) along an unstable direction grows like ``log N``;
    the finite-N help of the initialization's information (a finite time to escape against an
    infinite one) therefore fades like ``1/log N``, not like a power of N. Returns
    ``{"value", "err", "slope", "law", "sizes", "chi2_dof"}`` (``chi2_dof`` says whether the
    law fits the onsets within their errors).
    """
    sizes = np.asarray(sizes, dtype=float)
    x = 1 / np.log(sizes)
    value, slope, err = weighted_line(x, values, errs)
    return {"value": value, "err": err, "slope": slope, "law": ONSET_LAW,
            "sizes": [int(n) for n in sizes], "chi2_dof": _chi2_dof(x, values, errs, value, slope)}


def _chi2_dof(x, y, yerr, intercept: float, slope: float) -> float:
    """Chi-square per degree of freedom of the line ``intercept + slope x`` through the points
    (NaN without errors or with fewer than three points): about 1 when the law fits."""
    if yerr is None:
        return math.nan
    x, y, e = (np.asarray(v, dtype=float) for v in (x, y, yerr))
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(e) & (e > 0)
    if ok.sum() < 3 or not math.isfinite(intercept):
        return math.nan
    r = (y[ok] - intercept - slope * x[ok]) / e[ok]
    return float(np.sum(r**2) / (ok.sum() - 2))
