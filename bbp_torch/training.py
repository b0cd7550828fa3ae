"""Gradient descent from the initialization, with the Hessian tracked along the way.

Conventions
-----------
* **Learning rate in natural units.** The loss ``L`` is a sum over the ``M`` samples and the
  Hessian scales like ``1/p`` (docs/theory.md works with ``p H``), so a step is

      W <- W - eta grad L,      eta = lr * p * N / M  (= lr * p / alpha),

  i.e. ``lr`` multiplies the gradient of ``p N`` times the mean per-sample loss. With this
  scaling the overlaps change by ``O(lr)`` per step whatever ``N``, ``alpha`` and ``p``, and
  ``time = lr * step`` is the time of the gradient flow ``dW/dt = -p N grad(L/M)``.
* ``gd``: plain gradient descent in weight space. ``spherical_gd``: Riemannian gradient step on
  the product of spheres ``|w_k|^2 = N`` (the component of each row's gradient along ``w_k`` is
  removed), then every row is rescaled to norm ``sqrt(N)``.
* **Training loss** is reported per sample: ``train_loss = L / M``.
* **Generalization error** ``e_g = 1/2 E[(y - yhat)^2]`` over fresh inputs (no ``1/(a+y)``
  weight): ``gen_error`` is its mean over ``n_test`` fresh samples of the teacher, and
  ``gen_error_exact`` its closed form ``[(tr Q)^2 + 2 ||Q||_F^2] / (2 N^2)`` with
  ``Q = W^T W / p - W*^T W* / p*`` (since ``yhat - y = x^T Q x / N``). It is 0 at recovery and
  ``1/p + 1/p*`` at a random student on the sphere.
* **Gram overlap of the student with the teacher** (rotation-invariant, :func:`gram_overlap`;
  record key ``gram_overlap``, never ``overlap``, which is an eigenvector's m): the cosine
  ``q = <G, G*>_F / (||G||_F ||G*||_F)`` between the Gram matrices ``G = W^T W / (pN)`` and
  ``G* = W*^T W* / (p* N)`` (``yhat = x^T G x``, ``y = x^T G* x``). ``q`` is invariant under
  ``W -> O W``, lies in ``[0, 1]``, is 1 exactly when ``G`` is proportional to ``G*`` (the
  student computes the teacher's function up to a scale) and about ``sqrt(p p*) / N`` at a
  random student. For ``p = p* = 1`` it is ``m^2 = (w . w* / N)^2``.
* **Tracking.** Every ``track_every`` steps (and at the first and last step) the losses, the
  generalization errors and ``q`` are recorded; every ``hessian_every`` steps (and at the first
  and last step) also the Hessian at the current student (the time-dependent BBP):
  ``lambda_min``, its bottom eigenvalue; ``lambda_edge``, the bulk-edge estimate (the
  ``(p p* + 1)``-th eigenvalue); ``eigvec_overlap``, the teacher overlap ``m`` of the bottom
  eigenvector (docs/theory.md); ``eigvec_overlap_subspace``, that of the bottom ``p p*``;
  ``eigvec_gradient_overlap``, ``|<v, d>| / |d|`` for the bottom eigenvector ``v`` and the
  current descent direction ``d`` (the Riemannian gradient for ``spherical_gd``). The Hessian
  is the one the descent sees (``hessian_kind``; the Riemannian Hessian on the tangent space of
  the spheres for ``spherical_gd``, where the ``p`` radial directions are not eigenpairs), and
  each eigensolve of the iterative solver starts from the previous one's eigenvectors. The
  series recorded are those :mod:`bbp_torch.metrics` declares (``series_keys()``), ``None``
  where a point does not measure them.
* **Stopping.** At the tracked steps: ``diverged`` (a non-finite or huge loss, or one above
  ``UNSTABLE_FACTOR`` times its start: the step is unstable), ``gen_tol``,
  ``loss_tol``, ``plateau`` (the per-sample training loss changed by at most ``plateau_tol``
  times its value over the last ``plateau_window`` tracked steps: a stalled descent;
  ``plateau_step`` is the first step of that window), else ``max_steps``.
* **Spectral warm start** (:func:`spectral_student`): see its docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from bbp_torch import metrics
from bbp_torch.config import SolverConfig, tracked_hessian_kind
from bbp_torch.config.schema import TRAIN_INITS, TRAIN_METHODS
from bbp_torch.model import Problem, Student, fresh_data, student_output
from bbp_torch.observables import bulk_edge_estimate, subspace_overlap, teacher_overlap
from bbp_torch.operators.registry import hessian_operator
from bbp_torch.operators.spherical import radial_projector_apply
from bbp_torch.operators.weights import gradient
from bbp_torch.spectrum import bottom_eigenpairs

METHODS, INITS = TRAIN_METHODS, TRAIN_INITS  # declared with the fields that choose them
STOP_REASONS = ("gen_tol", "loss_tol", "plateau", "max_steps", "diverged")
# A mean training loss above this (or a non-finite one) stops the run as diverged.
DIVERGED_LOSS = 1e6
# ... and so does one above this many times the loss at the start: gradient descent with a
# stable step lowers the loss, while a step beyond the largest curvatures throws the student
# uphill (spherical GD at lr = 0.1, p = 1, a = 0.5, alpha = 2: the loss went from 1.6 to 238
# within 40 steps in 9 of 10 draws at N = 2000, 3 of 10 at N = 500-1000, none at N = 250; the
# student ends aligned with one sample, where its own output is O(N)).
UNSTABLE_FACTOR = 2.0


# --------------------------------------------------------------------------------------------
# Measurements of a student


def gram_overlap(W: torch.Tensor, W_star: torch.Tensor) -> float:
    """Cosine between ``W^T W / p`` and ``W*^T W* / p*`` (Frobenius); see the module docstring.

    Computed from the small Gram matrices: ``<W^T W, W*^T W*> = ||W W*^T||_F^2``.
    """
    cross = (W @ W_star.T).pow(2).sum()
    norm = (W @ W.T).norm() * (W_star @ W_star.T).norm()
    return float(cross / norm)


def population_gen_error(W: torch.Tensor, W_star: torch.Tensor) -> float:
    """Exact ``1/2 E[(y - yhat)^2]`` over Gaussian inputs: ``[(tr Q)^2 + 2||Q||_F^2] / (2N^2)``.

    ``Q = W^T W / p - W*^T W* / p*``; traces and norms come from the ``p x p`` Gram matrices.
    """
    p, N = W.shape
    q = W_star.shape[0]
    trace = W.pow(2).sum() / p - W_star.pow(2).sum() / q
    frob2 = ((W @ W.T).pow(2).sum() / p**2 - 2 * (W @ W_star.T).pow(2).sum() / (p * q)
             + (W_star @ W_star.T).pow(2).sum() / q**2)
    return float((trace**2 + 2 * frob2) / (2 * N**2))


def exact_gen_error(problem: Problem, W: torch.Tensor) -> float | None:
    """:func:`population_gen_error` for the square; None for other activations (no closed
    form: the fresh-data estimate ``gen_error`` is then the only one)."""
    if problem.activation != "quadratic":
        return None
    return population_gen_error(W, problem.W_star)


def sample_gen_error(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                     activation: str = "quadratic") -> float:
    """``1/2 mean_mu (y - yhat)^2`` on the samples ``(X, y)`` (fresh data from the teacher)."""
    yhat = student_output(X.to(W.dtype) @ W.T / W.shape[1] ** 0.5, activation)
    return float(0.5 * (y - yhat).pow(2).mean())


def project_to_sphere(W: torch.Tensor) -> torch.Tensor:
    """Rescale every row of ``W`` to norm ``sqrt(N)``."""
    return W * (W.shape[1] ** 0.5 / W.norm(dim=1, keepdim=True))


def descent_direction(problem: Problem, W: torch.Tensor, method: str) -> torch.Tensor:
    """The gradient that a step of ``method`` follows, (p, N): ``grad L`` for ``gd``, its
    tangent part (each row's component along ``w_k`` removed) for ``spherical_gd``."""
    grad = gradient(problem, W)
    return radial_projector_apply(W, grad) if method == "spherical_gd" else grad


@dataclass
class Tracker:
    """What is measured along a descent: fresh test data and the Hessian settings.

    ``hessian_kind``, ``product`` (closed_form | autograd) and ``solver`` (the solver group;
    ``k`` at least ``p p* + 1`` also gives the bulk-edge estimate) select the bottom eigenpairs,
    ``chunk_size`` goes to the matrix-free operator, ``seed`` fixes the Lanczos start.
    ``method`` is the descent's (:func:`train` sets it; its direction is what
    ``eigvec_gradient_overlap`` compares with), and ``hessian_kind="auto"`` follows it (the
    Riemannian Hessian for ``spherical_gd``). With ``warm_start`` each iterative eigensolve
    starts from the last one's eigenvectors. ``unconverged`` lists the tracked steps whose
    eigenpairs missed ``solver.tol``.
    """

    problem: Problem
    X_test: torch.Tensor
    y_test: torch.Tensor
    hessian_kind: str = "auto"
    product: str = "closed_form"
    solver: SolverConfig = field(default_factory=lambda: SolverConfig(full_spectrum=False))
    chunk_size: int | None = None
    seed: int = 0
    method: str = "spherical_gd"
    warm_start: bool = True
    unconverged: list[int] = field(default_factory=list)
    _last: tuple | None = field(default=None, init=False, repr=False)

    @classmethod
    def with_fresh_data(cls, problem: Problem, n_test: int = 4000, seed: int | None = None,
                        **kwargs) -> Tracker:
        """A tracker with ``n_test`` fresh samples of the problem's teacher."""
        X, y = fresh_data(problem, n_test, problem.seed if seed is None else seed)
        return cls(problem, X, y, **kwargs)

    def basic(self, W: torch.Tensor) -> dict:
        """Losses, generalization errors, Gram overlap and mean squared norm of the student."""
        pr = self.problem
        return {
            "train_loss": float(pr.loss(W)) / pr.M,
            "gen_error": sample_gen_error(W, self.X_test, self.y_test, pr.activation),
            "gen_error_exact": exact_gen_error(pr, W),
            "gram_overlap": gram_overlap(W, pr.W_star),
            "norm": float(W.pow(2).sum(dim=1).mean()) / pr.N,
        }

    def eigenpairs(self, W: torch.Tensor):
        """Bottom eigenpairs of the Hessian at ``W`` (the last result is reused for equal ``W``)."""
        if self._last is not None and torch.equal(self._last[0], W):
            return self._last[1]
        kind = tracked_hessian_kind(self.hessian_kind, self.method, "euclidean")
        op = hessian_operator(self.problem, W=W, kind=kind, product=self.product,
                              chunk_size=self.chunk_size)
        start = self._last[1].vectors if self.warm_start and self._last is not None else None
        pr = self.problem
        pairs = bottom_eigenpairs(op, self.solver, seed=self.seed, start=start, units=pr.p,
                                  outliers=pr.p * pr.p_star)
        self._last = (W.clone(), pairs)
        return pairs

    def hessian(self, W: torch.Tensor, step: int = 0) -> dict:
        """Bottom eigenvalue, its eigenvector's teacher overlap, the edge estimate."""
        pr = self.problem
        pairs = self.eigenpairs(W)
        if not pairs.converged and step not in self.unconverged:
            self.unconverged.append(step)
        values = pairs.values.double().cpu()
        j = pr.p * pr.p_star
        bottom = pairs.vectors[:, 0]
        direction = descent_direction(pr, W, self.method).reshape(-1).to(bottom.dtype)
        size = float(direction.norm())
        return {
            "lambda_min": float(values[0]),
            "lambda_edge": bulk_edge_estimate(values, pr.p, pr.p_star) if len(values) > j
            else None,
            "eigvec_overlap": teacher_overlap(bottom, pr.W_star),
            "eigvec_overlap_subspace": subspace_overlap(pairs.vectors[:, :j], pr.W_star),
            "eigvec_gradient_overlap": abs(float(bottom @ direction)) / size if size > 0
            else None,
        }


# --------------------------------------------------------------------------------------------
# Gradient descent


def natural_step_size(problem: Problem, lr: float) -> float:
    """Weight-space step ``eta = lr * p * N / M`` for a learning rate ``lr`` in natural units."""
    return lr * problem.p * problem.N / problem.M


def gd_step(problem: Problem, W: torch.Tensor, eta: float) -> torch.Tensor:
    """One plain gradient step ``W - eta grad L``."""
    return W - eta * descent_direction(problem, W, "gd")


def spherical_gd_step(problem: Problem, W: torch.Tensor, eta: float) -> torch.Tensor:
    """Riemannian step on ``|w_k|^2 = N``: tangent gradient, step, rescale rows to the sphere."""
    return project_to_sphere(W - eta * descent_direction(problem, W, "spherical_gd"))


STEPS = {"gd": gd_step, "spherical_gd": spherical_gd_step}


@dataclass
class Trajectory:
    """The outcome of a descent: final student, tracked series (dict of lists), stop reason."""

    W: torch.Tensor
    series: dict[str, list]
    steps: int
    stop_reason: str
    plateau_step: int | None = None

    @property
    def final(self) -> dict:
        """The last tracked point."""
        return {key: values[-1] for key, values in self.series.items()}


def _stop_reason(point: dict, loss_tol: float, gen_tol: float,
                 start_loss: float | None = None) -> str | None:
    loss = point["train_loss"]
    if not (loss == loss and abs(loss) < DIVERGED_LOSS):  # NaN or too large
        return "diverged"
    if start_loss is not None and loss > UNSTABLE_FACTOR * start_loss:
        return "diverged"  # a descent with a stable step never climbs that far
    if point["gen_error"] < gen_tol:
        return "gen_tol"
    if loss < loss_tol:
        return "loss_tol"
    return None


def plateau_start(losses: list[float], plateau_tol: float, window: int) -> int | None:
    """The index of the first of the last ``window + 1`` tracked losses when the loss changed
    by at most ``plateau_tol`` times its last value over them (a stalled descent), else None
    (also when fewer points than that were tracked, or ``plateau_tol`` is 0)."""
    if plateau_tol <= 0 or len(losses) <= window:
        return None
    first, last = losses[-window - 1], losses[-1]
    return len(losses) - window - 1 if abs(last - first) <= plateau_tol * abs(last) else None


def train(
    problem: Problem,
    method: str = "spherical_gd",
    lr: float = 0.1,
    steps: int = 1000,
    W0: torch.Tensor | None = None,
    track_every: int = 10,
    hessian_every: int | None = None,
    loss_tol: float = 0.0,
    gen_tol: float = 0.0,
    tracker: Tracker | None = None,
    plateau_tol: float = 0.0,
    plateau_window: int = 10,
) -> Trajectory:
    """Descend from ``W0`` (default: the problem's student) with ``method`` (gd | spherical_gd).

    The steps update the parameter of the student module (:class:`bbp_torch.model.Student`)
    with the closed-form gradient. Stops at the first tracked step where the fresh-data
    generalization error is below ``gen_tol``, the per-sample training loss below ``loss_tol``,
    the loss has diverged, or it has stalled (:func:`plateau_start`: ``plateau_tol`` over
    ``plateau_window`` tracked steps); else after ``steps`` steps. ``hessian_every`` (a multiple of
    ``track_every``; None = every tracked step; 0 = first and last step only) sets how often
    the Hessian is diagonalised.
    """
    if method not in STEPS:
        raise ValueError(f"Unknown train.method {method!r}: use one of {', '.join(METHODS)}.")
    step_fn = STEPS[method]
    tracker = tracker or Tracker.with_fresh_data(problem)
    tracker.method = method
    hessian_every = track_every if hessian_every is None else hessian_every
    eta = natural_step_size(problem, lr)
    student = Student.of(problem, problem.W if W0 is None else W0)
    W = student.weight.detach()  # a view: it follows the parameter
    keys = metrics.series_keys()  # the declared series (bbp_torch.metrics)
    series: dict[str, list] = {key: [] for key in keys}
    step = 0
    while True:
        if step % track_every == 0 or step == steps:
            point = {"step": step, "time": lr * step, **tracker.basic(W)}
            start_loss = series["train_loss"][0] if series["train_loss"] else None
            reason = _stop_reason(point, loss_tol, gen_tol, start_loss)
            recent = series["train_loss"][-plateau_window:] + [point["train_loss"]]
            plateau = plateau_start(recent, plateau_tol, plateau_window) \
                if reason is None else None
            if plateau is not None:  # an index into `recent`: the window's first step
                reason = "plateau"
                plateau = len(series["step"]) - plateau_window + plateau
            if reason is None and step == steps:
                reason = "max_steps"
            periodic = hessian_every > 0 and step % hessian_every == 0
            if reason != "diverged" and (periodic or step == 0 or reason is not None):
                point.update(tracker.hessian(W, step))
            for key in keys:
                series[key].append(point.get(key))
            if reason is not None:
                return Trajectory(W=W.clone(), series=series, steps=step, stop_reason=reason,
                                  plateau_step=None if plateau is None
                                  else series["step"][plateau])
        with torch.no_grad():
            student.weight.copy_(step_fn(problem, W, eta))
        step += 1


def gd(problem: Problem, **kwargs) -> Trajectory:
    """Plain gradient descent in weight space; keyword arguments as :func:`train`."""
    return train(problem, method="gd", **kwargs)


def spherical_gd(problem: Problem, **kwargs) -> Trajectory:
    """Projected (Riemannian) gradient descent on the spheres; arguments as :func:`train`."""
    return train(problem, method="spherical_gd", **kwargs)


# --------------------------------------------------------------------------------------------
# Spectral warm start


def spectral_student(vectors: torch.Tensor, W: torch.Tensor, p_star: int) -> torch.Tensor:
    """A student built from the bottom ``p p*`` eigenvectors ``vectors`` (pN, >= p p*).

    At large N the teacher outlier is ``p p*``-fold degenerate and its eigenspace is
    ``span{e_k (x) w*_l}``: the projector ``Pi`` on it has every diagonal block ``Pi_kk`` equal
    to the projector on the teacher subspace. So unit ``k`` takes its estimate of the teacher
    subspace from block ``k`` of the bottom ``p p*`` eigenvectors: ``U_k`` = the top ``p*``
    eigenvectors of ``Pi_kk = sum_j v_k^(j) v_k^(j)T`` (right singular vectors of the stacked
    blocks). The random initial unit ``w_k`` is projected onto ``U_k`` and rescaled to the sphere
    of radius ``sqrt(N)``. For ``p* = 1`` unit ``k`` is the top eigenvector of ``Pi_kk`` (up to
    a sign, which ``yhat`` ignores); the units stay distinct (each has its own noise), and for
    ``p* > 1`` the random projections spread the units over the teacher subspace.
    """
    p, N = W.shape
    j = p * p_star
    if vectors.shape[1] < j:
        raise ValueError(f"The spectral start needs the bottom p*p_star={j} eigenvectors; "
                         f"got {vectors.shape[1]}.")
    blocks = vectors[:, :j].T.reshape(j, p, N).to(W.dtype)  # (eigenvector, unit, coordinate)
    rows = []
    for k in range(p):
        _, _, Vh = torch.linalg.svd(blocks[:, k, :], full_matrices=False)
        U = Vh[:p_star]  # (p*, N) orthonormal: unit k's estimate of the teacher subspace
        rows.append(U.T @ (U @ W[k]))
    return project_to_sphere(torch.stack(rows))
