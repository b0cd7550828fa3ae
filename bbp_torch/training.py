"""Gradient descent from the initialization, with the Hessian tracked along the way.

Conventions
-----------
* **Learning rate in natural units.** The loss ``L`` is a sum over the ``M`` samples and the
  Hessian scales like ``1/p`` (MODEL.md works with ``p H``), so a step is

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
* **Teacher overlap of the student** (rotation-invariant, :func:`gram_overlap`): the cosine
  ``q = <G, G*>_F / (||G||_F ||G*||_F)`` between the Gram matrices ``G = W^T W / (pN)`` and
  ``G* = W*^T W* / (p* N)`` (``yhat = x^T G x``, ``y = x^T G* x``). ``q`` is invariant under
  ``W -> O W``, lies in ``[0, 1]``, is 1 exactly when ``G`` is proportional to ``G*`` (the
  student computes the teacher's function up to a scale) and about ``sqrt(p p*) / N`` at a
  random student. For ``p = p* = 1`` it is ``m^2 = (w . w* / N)^2``.
* **Tracking.** Every ``track_every`` steps (and at the first and last step) the losses, the
  generalization errors and ``q`` are recorded; every ``hessian_every`` steps (and at the first
  and last step) also the bottom eigenvalue of the Hessian at the current student, its
  eigenvector's teacher overlap ``m`` (MODEL.md, section 3) and the bulk-edge estimate: the
  time-dependent BBP. The stopping rule is checked at the tracked steps.
* **Spectral warm start** (:func:`spectral_student`): see its docstring.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bbp_torch.config import Config, ConfigError, validate
from bbp_torch.hessian import HessianOperator, gradient, radial_projector_apply
from bbp_torch.model import Problem, fresh_data, make_problem, resolve_device, student_output
from bbp_torch.observables import bulk_edge_estimate, measure, subspace_overlap, teacher_overlap
from bbp_torch.results import versions
from bbp_torch.spectrum import bottom_eigenpairs

METHODS = ("gd", "spherical_gd")
INITS = ("random", "spectral")
STOP_REASONS = ("gen_tol", "loss_tol", "max_steps", "diverged")
# A mean training loss above this (or a non-finite one) stops the run as diverged.
DIVERGED_LOSS = 1e6


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


def sample_gen_error(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> float:
    """``1/2 mean_mu (y - yhat)^2`` on the samples ``(X, y)`` (fresh data from the teacher)."""
    yhat = student_output(X.to(W.dtype) @ W.T / W.shape[1] ** 0.5)
    return float(0.5 * (y - yhat).pow(2).mean())


def project_to_sphere(W: torch.Tensor) -> torch.Tensor:
    """Rescale every row of ``W`` to norm ``sqrt(N)``."""
    return W * (W.shape[1] ** 0.5 / W.norm(dim=1, keepdim=True))


@dataclass
class Tracker:
    """What is measured along a descent: fresh test data and the Hessian settings.

    ``hessian_kind``, ``solver`` and ``k`` select the bottom eigenpairs (``k`` at least
    ``p p* + 1`` also gives the bulk-edge estimate); ``chunk_size`` goes to the matrix-free
    operator and ``solver_options`` to :func:`bbp_torch.spectrum.bottom_eigenpairs`.
    """

    problem: Problem
    X_test: torch.Tensor
    y_test: torch.Tensor
    hessian_kind: str = "euclidean"
    solver: str = "dense"
    k: int | None = None
    chunk_size: int | None = None
    solver_options: dict = field(default_factory=dict)
    _last: tuple | None = field(default=None, init=False, repr=False)

    @classmethod
    def with_fresh_data(cls, problem: Problem, n_test: int = 4000, seed: int | None = None,
                        **kwargs) -> Tracker:
        """A tracker with ``n_test`` fresh samples of the problem's teacher."""
        X, y = fresh_data(problem, n_test, problem.seed if seed is None else seed)
        return cls(problem, X, y, **kwargs)

    def basic(self, W: torch.Tensor) -> dict:
        """Losses, generalization errors, overlap and mean squared norm of the student."""
        pr = self.problem
        return {
            "train_loss": float(pr.loss(W)) / pr.M,
            "gen_error": sample_gen_error(W, self.X_test, self.y_test),
            "gen_error_exact": population_gen_error(W, pr.W_star),
            "overlap": gram_overlap(W, pr.W_star),
            "norm": float(W.pow(2).sum(dim=1).mean()) / pr.N,
        }

    def eigenpairs(self, W: torch.Tensor):
        """Bottom eigenpairs of the Hessian at ``W`` (the last result is reused for equal ``W``)."""
        if self._last is not None and torch.equal(self._last[0], W):
            return self._last[1]
        pr = self.problem
        k = self.k or min(pr.dim, pr.p * pr.p_star + 1)
        op = HessianOperator(pr, W=W, kind=self.hessian_kind, chunk_size=self.chunk_size)
        pairs = bottom_eigenpairs(op, k, solver=self.solver, full_spectrum=False,
                                  **self.solver_options)
        self._last = (W.clone(), pairs)
        return pairs

    def hessian(self, W: torch.Tensor) -> dict:
        """Bottom eigenvalue, its eigenvector's teacher overlap, the edge estimate."""
        pr = self.problem
        pairs = self.eigenpairs(W)
        values = pairs.values.double().cpu()
        j = pr.p * pr.p_star
        return {
            "lambda_min": float(values[0]),
            "eigvec_overlap": teacher_overlap(pairs.vectors[:, 0], pr.W_star),
            "eigvec_overlap_subspace": subspace_overlap(pairs.vectors[:, :j], pr.W_star),
            "lambda_edge": bulk_edge_estimate(values, pr.p, pr.p_star) if len(values) > j
            else None,
        }


HESSIAN_KEYS = ("lambda_min", "eigvec_overlap", "eigvec_overlap_subspace", "lambda_edge")
SERIES_KEYS = ("step", "time", "train_loss", "gen_error", "gen_error_exact", "overlap",
               "norm") + HESSIAN_KEYS


# --------------------------------------------------------------------------------------------
# Gradient descent


def natural_step_size(problem: Problem, lr: float) -> float:
    """Weight-space step ``eta = lr * p * N / M`` for a learning rate ``lr`` in natural units."""
    return lr * problem.p * problem.N / problem.M


def gd_step(problem: Problem, W: torch.Tensor, eta: float) -> torch.Tensor:
    """One plain gradient step ``W - eta grad L``."""
    return W - eta * gradient(problem, W)


def spherical_gd_step(problem: Problem, W: torch.Tensor, eta: float) -> torch.Tensor:
    """Riemannian step on ``|w_k|^2 = N``: tangent gradient, step, rescale rows to the sphere."""
    tangent = radial_projector_apply(W, gradient(problem, W))
    return project_to_sphere(W - eta * tangent)


STEPS = {"gd": gd_step, "spherical_gd": spherical_gd_step}


@dataclass
class Trajectory:
    """The outcome of a descent: final student, tracked series (dict of lists), stop reason."""

    W: torch.Tensor
    series: dict[str, list]
    steps: int
    stop_reason: str

    @property
    def final(self) -> dict:
        """The last tracked point."""
        return {key: values[-1] for key, values in self.series.items()}


def _stop_reason(point: dict, loss_tol: float, gen_tol: float) -> str | None:
    loss = point["train_loss"]
    if not (loss == loss and abs(loss) < DIVERGED_LOSS):  # NaN or too large
        return "diverged"
    if point["gen_error"] < gen_tol:
        return "gen_tol"
    if loss < loss_tol:
        return "loss_tol"
    return None


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
) -> Trajectory:
    """Descend from ``W0`` (default: the problem's student) with ``method`` (gd | spherical_gd).

    Stops at the first tracked step where the fresh-data generalization error is below
    ``gen_tol``, the per-sample training loss below ``loss_tol``, or the loss has diverged; else
    after ``steps`` steps. ``hessian_every`` (a multiple of ``track_every``; None = every tracked
    step; 0 = first and last step only) sets how often the Hessian is diagonalised.
    """
    if method not in STEPS:
        raise ValueError(f"Unknown train.method {method!r}: use one of {', '.join(METHODS)}.")
    step_fn = STEPS[method]
    tracker = tracker or Tracker.with_fresh_data(problem)
    hessian_every = track_every if hessian_every is None else hessian_every
    eta = natural_step_size(problem, lr)
    W = (problem.W if W0 is None else W0).clone()
    series: dict[str, list] = {key: [] for key in SERIES_KEYS}
    step = 0
    while True:
        if step % track_every == 0 or step == steps:
            point = {"step": step, "time": lr * step, **tracker.basic(W)}
            reason = _stop_reason(point, loss_tol, gen_tol)
            if reason is None and step == steps:
                reason = "max_steps"
            periodic = hessian_every > 0 and step % hessian_every == 0
            if reason != "diverged" and (periodic or step == 0 or reason is not None):
                point.update(tracker.hessian(W))
            for key in SERIES_KEYS:
                series[key].append(point.get(key))
            if reason is not None:
                return Trajectory(W=W, series=series, steps=step, stop_reason=reason)
        W = step_fn(problem, W, eta)
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


# --------------------------------------------------------------------------------------------
# Configuration of a training run


@dataclass
class TrainConfig:
    """The ``train`` group (``conf/train/default.yaml``)."""

    method: str = "spherical_gd"  # gd | spherical_gd
    lr: float = 0.1  # natural units: eta = lr * p * N / M
    steps: int = 3000  # step budget
    init: str = "random"  # random | spectral (bottom p*p_star eigenvectors of the Hessian at init)
    track_every: int = 100  # steps between measurements
    hessian_every: int | None = None  # steps between Hessians; None = track_every; 0 = ends only
    gen_tol: float = 1e-2  # stop, and count as a success, when gen_error < gen_tol
    loss_tol: float = 1e-12  # stop when the per-sample training loss < loss_tol
    n_test: int = 4000  # fresh samples for the generalization error


@dataclass
class TrainRunConfig:
    """The core :class:`Config` plus the ``train`` group."""

    core: Config
    train: TrainConfig

    def to_dict(self) -> dict:
        return {**asdict(self.core), "train": asdict(self.train)}


def _train_fail(key: str, value, requirement: str, fix: str) -> None:
    raise ConfigError(f"Invalid train.{key}={value!r}: {requirement}. {fix}")


def validate_train(cfg: DictConfig | dict) -> TrainRunConfig:
    """Validate the core fields (:func:`bbp_torch.config.validate`) and the ``train`` group."""
    core = validate(cfg)
    raw = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    group = raw.get("train") or {}
    schema = OmegaConf.structured(TrainConfig)
    unknown = [key for key in group if key not in schema]
    if unknown:
        raise ConfigError(f"Invalid train.{unknown[0]}: no such field. The train group has "
                          f"{', '.join(schema.keys())}.")
    try:
        t = OmegaConf.to_object(OmegaConf.merge(schema, group))
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "train"
        raise ConfigError(f"Invalid train.{key}: {getattr(err, 'msg', err)}. Check its type "
                          "in conf/train/default.yaml (e.g. train.steps is an integer).") from None
    if t.method not in METHODS:
        _train_fail("method", t.method, f"use one of {', '.join(METHODS)}",
                    "Set train.method=gd or train.method=spherical_gd.")
    if t.init not in INITS:
        _train_fail("init", t.init, f"use one of {', '.join(INITS)}",
                    "Set train.init=random or train.init=spectral.")
    if not t.lr > 0:
        _train_fail("lr", t.lr, "the learning rate must be positive", "Set train.lr=0.1, say.")
    if t.steps < 0:
        _train_fail("steps", t.steps, "the step budget cannot be negative", "Set train.steps.")
    if t.track_every < 1:
        _train_fail("track_every", t.track_every, "must be at least 1",
                    "Set train.track_every=25, say.")
    if t.hessian_every is not None and (t.hessian_every < 0 or t.hessian_every % t.track_every):
        _train_fail("hessian_every", t.hessian_every,
                    f"must be 0 or a positive multiple of train.track_every={t.track_every}",
                    "Set it to a multiple, to 0 (first and last step only) or to null.")
    for key in ("gen_tol", "loss_tol"):
        if getattr(t, key) < 0:
            _train_fail(key, getattr(t, key), "a tolerance cannot be negative", "Use 0 to never "
                        "stop on it.")
    if t.n_test < 1:
        _train_fail("n_test", t.n_test, "at least one fresh sample is needed",
                    "Set train.n_test=4000.")
    if core.hessian.kind == "spherical" and t.method != "spherical_gd":
        raise ConfigError(
            f"Invalid hessian.kind='spherical' with train.method={t.method!r}: the Riemannian "
            "Hessian is defined on the spheres |w_k|^2 = N, which plain GD leaves. Use "
            "train.method=spherical_gd or hessian.kind=euclidean.")
    k_needed = core.problem.p * core.problem.p_star
    if t.init == "spectral" and core.solver.k < k_needed:
        raise ConfigError(f"Invalid solver.k={core.solver.k} with train.init=spectral: the "
                          f"warm start needs the bottom p*p_star={k_needed} eigenvectors. Raise "
                          "solver.k or leave it null.")
    return TrainRunConfig(core=core, train=t)


# --------------------------------------------------------------------------------------------
# One training run: config -> problem -> init (+ Hessian at init) -> descent -> record


@dataclass
class TrainResult:
    record: dict  # the JSON-able run record
    trajectory: Trajectory


def theory_at_init(p: int, p_star: int, a: float) -> dict:
    """``alpha_BBP`` and the transition type at N = infinity (:mod:`bbp_torch.theory`).

    Returns ``{"alpha_bbp", "transition_type"}``; when the theory fails for ``(p, p*, a)``,
    ``{"alpha_bbp": None, "error": "<type>: <message>"}``, so that a caller keeps its run or
    its figure. The one place where the figures and the training records ask for the threshold.
    """
    from bbp_torch import theory

    try:
        return {"alpha_bbp": float(theory.alpha_bbp(p, p_star, a)),
                "transition_type": theory.transition_type(p, p_star, a)}
    except Exception as err:  # the theory does not cover this case: say so, keep the run
        return {"alpha_bbp": None, "error": f"{type(err).__name__}: {err}"}


def run_training(cfg) -> TrainResult:
    """Validate ``cfg`` and run one descent; returns the record and the trajectory.

    ``record["metrics"]``: ``final_*`` (the last tracked point), ``success`` (final fresh-data
    ``gen_error < train.gen_tol`` and not diverged), ``steps``, ``stop_reason``, ``eta`` (the
    weight-space step), ``series`` (dict of lists, one entry per tracked step, ``None`` where the
    Hessian was not computed), ``init`` (the observables of the Hessian at the *random*
    initialization, :func:`bbp_torch.observables.measure`, plus the student's overlap and
    generalization error there and, for ``train.init=spectral``, after the warm start, which is
    built from that Hessian), ``theory`` (:func:`theory_at_init`, or None when ``theory=false``).
    """
    rc = cfg if isinstance(cfg, TrainRunConfig) else validate_train(cfg)
    c, t = rc.core, rc.train
    if c.threads:
        torch.set_num_threads(c.threads)
    device = resolve_device(c.device)
    pr = c.problem
    timings: dict[str, float] = {}
    start = time.perf_counter()
    problem = make_problem(pr.N, pr.p, pr.p_star, pr.alpha, pr.a, seed=c.seed, device=device,
                           dtype=c.dtype, data_dtype=c.data_dtype)
    k = max(c.solver.k, min(problem.dim, pr.p * pr.p_star + 1))  # room for the edge estimate
    solver = c.solver.name
    if solver == "auto":  # decided once here, not at every tracked step
        solver = "dense" if problem.dim <= c.solver.auto_max_dim else "iterative"
    tracker = Tracker.with_fresh_data(
        problem, t.n_test, hessian_kind=c.hessian.kind, solver=solver, k=k,
        chunk_size=c.solver.chunk_size,
        solver_options={"tol": c.solver.tol, "max_iter": c.solver.max_iter, "seed": c.seed,
                        "block_size": c.solver.block_size, "basis_size": c.solver.basis_size,
                        "mixed_precision": c.solver.mixed_precision, "progress": False})
    timings["problem"] = time.perf_counter() - start

    start = time.perf_counter()
    pairs = tracker.eigenpairs(problem.W)  # the Hessian at the random initialization
    init = measure(pairs.values, pairs.vectors, problem.W, problem.W_star)
    init["gen_error_exact"] = population_gen_error(problem.W, problem.W_star)
    init["student_overlap"] = gram_overlap(problem.W, problem.W_star)
    W0 = problem.W
    if t.init == "spectral":
        W0 = spectral_student(pairs.vectors, problem.W, pr.p_star)
        init["warm_gen_error_exact"] = population_gen_error(W0, problem.W_star)
        init["warm_student_overlap"] = gram_overlap(W0, problem.W_star)
    timings["init"] = time.perf_counter() - start

    start = time.perf_counter()
    traj = train(problem, t.method, t.lr, t.steps, W0=W0, track_every=t.track_every,
                 hessian_every=t.hessian_every, loss_tol=t.loss_tol, gen_tol=t.gen_tol,
                 tracker=tracker)
    timings["train"] = time.perf_counter() - start

    final = traj.final
    metrics = {
        "final_overlap": final["overlap"],
        "final_gen_error": final["gen_error"],
        "final_gen_error_exact": final["gen_error_exact"],
        "final_train_loss": final["train_loss"],
        "final_lambda_min": final["lambda_min"],
        "final_eigvec_overlap": final["eigvec_overlap"],
        "success": traj.stop_reason != "diverged" and final["gen_error"] < t.gen_tol,
        "steps": traj.steps,
        "stop_reason": traj.stop_reason,
        "M": problem.M,
        "eta": natural_step_size(problem, t.lr),
        "init": init,
        "theory": theory_at_init(pr.p, pr.p_star, pr.a) if c.theory else None,
        "series": traj.series,
    }
    record = {
        "status": "ok",
        "config": rc.to_dict(),
        "metrics": metrics,
        "timings": timings,
        "versions": versions(),
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
    }
    return TrainResult(record=record, trajectory=traj)
