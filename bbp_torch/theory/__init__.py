"""N = infinity theory of the Hessian spectrum at initialization (numpy/scipy only).

Conventions (docs/model.md, sections 1, 2, 5; derivation in docs/theory.md)
-----------------------------------------------------------------------
``H`` is the ``pN x pN`` Hessian of the loss, ``H = (1/N) sum_mu C^mu (x) x x^T`` with
``C = beta I_p + gamma u u^T``. All computations use the *rescaled* units of ``pH``
(eigenvalue ``lt = p lambda``, Stieltjes transform ``g(z) = (1/pN) Tr (z - pH)^-1 ~ 1/z``), where
``p -> inf`` is a regular limit. Public functions return eigenvalues of ``H`` unless
``rescaled=True`` (required for ``p = inf``). With ``yh = |h|^2/p ~ chi2(p)/p`` (the student's
output) and ``y ~ chi2(p*)/p*`` (the label), independent at N = infinity, ``pC`` has eigenvalues

    at = p beta           = 2 (yh - y) / (a + y)     on the p - 1 directions orthogonal to u
    bt = p (beta + gamma) = 2 (3 yh - y) / (a + y)   along u = h/|h|

Both exceed -2, approached only as ``y -> inf`` (``beta > -2/p``: ``yhat >= 0``), so ``g = -1/2``
(``-p/2`` for H) is the pole of every integrand below. ``p = inf``: ``yh = 1``, only ``at`` is left.

Equations solved
----------------
    bulk      g = 1/(z - alpha E[Phi_g]),  Phi_g = (1/p) bt/(1 - g bt) + (1 - 1/p) at/(1 - g at)
    real axis lt(g) = 1/g + alpha E[Phi_g] on the physical branch g in (g_edge, 0), the branch
              continuous with g ~ 1/z at z -> -inf; there lt'(g) < 0 (g'(z) < 0 left of the
              spectrum) and 1 - g c > 0 for every weight c > -2.
    edge      the first zero of lt'(g) = -1/g^2 + alpha E[Phi'_g] below g = 0, i.e. of
              q(g) = g^2 E[Phi'_g] = 1/alpha (a square-root edge); if none, g_edge = -1/2 (a
              smooth edge set by the exponential tail of y). Which one depends on alpha; the
              transition is continuous iff the edge is a square-root one at alpha_BBP.
    teacher   1/g = alpha E[(y - 1) Phi_g]   <=>   alpha = alpha_t(g) = 1/(g E[(y - 1) Phi_g]);
              an outlier lt* = lt(g*) exists iff the root g* lies on (g_edge, 0); it is p p*-fold
              degenerate; its eigenvectors have squared teacher overlap m^2 = 1/F'(lt*),
              F(lt) = lt - alpha E[y Phi_g(lt)],  F' = 1 - alpha E[y Phi'_g] / lt'(g).
    alpha_BBP the root of alpha_t(g_edge(alpha)) = alpha.
    students  three channels, 1/g = alpha E[yh X_g - Phi_g] (``student_outliers``): no root on the
              physical branch anywhere we looked, i.e. no student-direction outlier.

Integrals
---------
Real g in [-1/2, 0): expectations over ``(r, y)`` are a tensor product of double-exponential
(exp-sinh) rules in ``r = p yh ~ chi2(p)`` and ``p* y ~ chi2(p*)``, built once per ``(p, p*)``
and cached: about 75 x 75 nodes, relative error ~1e-10, including p = 1 (x^-1/2 endpoint) and
small ``a`` (pole of 1/(a + y) just left of y = 0), where Gauss-Laguerre converges slowly.
Complex g (the bulk density): the integral over ``y`` is done in closed form (Stieltjes
transform of the Gamma law: erfcx / E1 and a recursion in p*/2), only ``yh`` by quadrature; a
fixed rule in ``y`` cannot resolve the integrand's pole when it comes close to the real axis
(near lambda = 0, in the tails). Nothing is Monte Carlo.

Modules, one question each
--------------------------
``quadrature`` the rules in (yh, y) and the integrands Phi_g; ``branch`` the real-axis curves
lt(g), q(g), alpha_t(g) and the roots on the physical branch; ``complex_plane`` E[Phi_g] at
complex g and the bulk equation's solver; ``bulk`` the edge, Stieltjes transform and density;
``transition`` the teacher outlier and the threshold; ``closed_forms`` the pole formula, its
criterion, the large-p expansion, the Lagrange multiplier; ``channels`` the student channels;
``tables`` the numbers records and ``bbp-theory`` ask for. Every public function is imported
here: ``bbp_torch.theory.alpha_bbp`` and so on.
"""

from bbp_torch.theory.bulk import density, edge, edge_kind, stieltjes
from bbp_torch.theory.channels import (
    CHANNELS,
    STUDENT_CHANNELS,
    channel_resolvent,
    student_channel_alpha,
    student_outliers,
)
from bbp_torch.theory.closed_forms import (
    alpha_bbp_large_p,
    alpha_bbp_pole,
    critical_a,
    lagrange_multiplier,
    large_p_coefficients,
    pole_criterion,
)
from bbp_torch.theory.tables import (
    alpha_table,
    density_curve,
    predictions,
    theory_curves,
    threshold_summary,
)
from bbp_torch.theory.transition import alpha_bbp, outlier, overlap, threshold, transition_type

__all__ = [
    "CHANNELS",
    "STUDENT_CHANNELS",
    "alpha_bbp",
    "alpha_bbp_large_p",
    "alpha_bbp_pole",
    "alpha_table",
    "channel_resolvent",
    "critical_a",
    "density",
    "density_curve",
    "edge",
    "edge_kind",
    "lagrange_multiplier",
    "large_p_coefficients",
    "outlier",
    "overlap",
    "pole_criterion",
    "predictions",
    "stieltjes",
    "student_channel_alpha",
    "student_outliers",
    "theory_curves",
    "threshold",
    "threshold_summary",
    "transition_type",
]


def clear_caches() -> None:
    """Forget every cached rule and solve (they depend on ``quadrature.H_STEP``)."""
    from bbp_torch.theory import branch, complex_plane, quadrature, transition

    for cached in (quadrature.nodes, quadrature.gamma_rule, branch.branch,
                   complex_plane.complex_mean, transition.alpha_bbp_and_gedge, transition.teacher):
        cached.cache_clear()
