"""The metrics of the run records, declared once.

Two kinds of record: ``study`` (``bbp``: the bottom of the Hessian spectrum at initialization)
and ``training`` (``bbp-train``: a descent from there). Each key of a record's ``metrics`` is
declared by a :class:`Metric`: its meaning, units and shape, and where it goes: TensorBoard
(``tensorboard``), the means over seeds of ``bbp-collect`` (``mean``), the printed summary
(``label``). TensorBoard (:mod:`bbp_torch.tensorboard`), the printed summaries
(:mod:`bbp_torch.summary`), the means of ``bbp-collect`` (:mod:`bbp_torch.sweeps`), the series a
descent tracks (:mod:`bbp_torch.training`) and the key tables of ``docs/records.md``
(:func:`key_table`, checked by a test) all read :data:`STUDY` and :data:`TRAINING` when they run:
a new metric is one entry here, beside the code that measures it.

Conventions
-----------
* A name is the key's dotted path in ``metrics`` (``theory.overlap``, ``init.lambda_min``,
  ``series.gen_error``). The most specific declaration describes a key: ``solver_info`` the
  whole object, ``init.lambda_min`` one key of ``init``.
* Shapes: ``scalar`` (a number, boolean, string or null), ``per eigenpair`` (a list, one entry
  per computed bottom eigenpair, ascending eigenvalues), ``series`` (a list, one entry per
  tracked step of a descent, null where it was not computed), ``object`` (a JSON object, its
  keys as ``meaning`` says).
* One meaning per name: ``overlap`` is the teacher overlap m of a Hessian eigenvector
  (docs/model.md, section 3), ``gram_overlap`` the Gram cosine q of a student
  (:func:`bbp_torch.training.gram_overlap`). Training records written before the Gram cosine
  had its own name are upgraded when read (:data:`RENAMED`, :func:`bbp_torch.results.read_record`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

SCALAR = "scalar"
PER_PAIR = "per eigenpair"
SERIES = "series"
OBJECT = "object"
SHAPES = (SCALAR, PER_PAIR, SERIES, OBJECT)
KINDS = ("study", "training")
GROUPS = ("train", "hessian")  # the TensorBoard groups of a descent's series


@dataclass(frozen=True)
class Metric:
    """One key of a record's ``metrics``.

    ``tensorboard``: a scalar is written as ``metrics/<name>`` (and listed in the sweep's HParams
    experiment; a measured one, not ``theory.*``, is also drawn against the swept parameter); a
    series as ``<group>/<key>`` at each tracked step. ``mean``: ``bbp-collect`` averages it over
    seeds. ``label``: the printed summary shows it under this label with ``digits`` significant
    digits (a training summary on the row ``line``, several metrics to a row; a study summary
    one row each, with ``note`` after the value). ``theory``: the name of its N = infinity
    prediction, printed beside it and drawn with it in a sweep.
    """

    name: str
    meaning: str
    units: str = "-"
    shape: str = SCALAR
    tensorboard: bool = False
    mean: bool = False
    label: str | None = None
    digits: int = 5
    line: str | None = None
    note: str | None = None
    theory: str | None = None
    group: str | None = None

    @property
    def key(self) -> str:
        """The last part of the name (a series' key in ``metrics.series``)."""
        return self.name.rsplit(".", 1)[-1]


EIGENVALUE = "eigenvalue of H"
UNIT = "[0, 1]"

STUDY: tuple[Metric, ...] = (
    Metric("lambda_min", "bottom eigenvalue of the Hessian", EIGENVALUE, tensorboard=True,
           mean=True, label="lambda_min", theory="theory.lambda_outlier"),
    Metric("lambda_edge", "finite-N estimate of the bulk's left edge: the (p p* + 1)-th "
           "eigenvalue (null when fewer were computed)", EIGENVALUE, tensorboard=True,
           label="bulk edge (est.)", theory="theory.lambda_edge"),
    Metric("gap", "lambda_edge - lambda_min", EIGENVALUE, tensorboard=True, mean=True,
           label="gap edge - min"),
    Metric("overlap", "teacher overlap m of the bottom eigenvector (Frobenius norm of the "
           "p x p* overlap matrix)", UNIT, tensorboard=True, mean=True,
           label="overlap m (teacher)", digits=4, theory="theory.overlap"),
    Metric("overlap_subspace", "mean squared projection of the bottom p p* eigenvectors on the "
           "teacher subspace (null when fewer were computed)", UNIT, tensorboard=True,
           label="overlap subspace", digits=4,
           note="bottom p*p_star vectors on the teacher subspace"),
    Metric("overlap_subspace_note", "why overlap_subspace is null (only then)", "text"),
    Metric("overlap_student", "overlap of the bottom eigenvector with the student's own "
           "directions e_k (x) w_l", UNIT, tensorboard=True, label="overlap student", digits=4,
           note="bottom vector on the student's own directions"),
    Metric("overlap_student_channels", "overlap_student^2 split into its O(p) channels: "
           "trace, symmetric, antisymmetric (docs/model.md, section 3)", UNIT, OBJECT),
    Metric("bottom_eigenvalues", "the computed bottom eigenvalues", EIGENVALUE, PER_PAIR),
    Metric("bottom_overlaps", "teacher overlap m of each bottom eigenvector", UNIT, PER_PAIR),
    Metric("best_overlap_index", "which eigenvector (0 = the bottom one) has the largest "
           "teacher overlap", "index"),
    Metric("best_overlap", "the teacher overlap m of that eigenvector", UNIT),
    Metric("best_overlap_scope", "among which eigenvectors: all (every one, solver.all_vectors) "
           "or bottom_k (the computed ones)", "text"),
    Metric("residuals", "|H v - lambda v| of each bottom eigenpair", EIGENVALUE, PER_PAIR),
    Metric("relative_residuals", "|H v - lambda v| / |H| of each bottom eigenpair", "-",
           PER_PAIR),
    Metric("tol", "the relative residual every pair had to meet (solver.tol)"),
    Metric("converged", "every pair met tol", "boolean"),
    Metric("solver_used", "dense or iterative (solver=auto resolved)", "text"),
    Metric("iterations", "operator calls of the iterative solver (null for dense)", "calls"),
    Metric("solver_info", "the iterative solver's account: converged, tol, residuals, "
           "products, restarts, block and basis sizes, mixed precision and its phases",
           shape=OBJECT),
    Metric("density", "the SLQ density of a run without the full spectrum: edges, density, "
           "n, compute_dtype", shape=OBJECT),
    Metric("M", "number of samples, round(alpha N)", "samples"),
    Metric("theory", "the N = infinity predictions (null with theory=false or no theory); "
           "error when the theory failed, lagrange_multiplier for the spherical Hessian",
           shape=OBJECT),
    Metric("theory.lambda_edge", "N = infinity bulk edge lambda_-", EIGENVALUE,
           tensorboard=True, label="theory edge lambda_-"),
    Metric("theory.lambda_outlier", "N = infinity outlier lambda* (null below alpha_BBP)",
           EIGENVALUE, tensorboard=True, label="theory outlier lambda*"),
    Metric("theory.overlap", "N = infinity teacher overlap m of the outlier's eigenvector",
           UNIT, tensorboard=True, label="theory m (N = inf)"),
    Metric("theory.alpha_bbp", "the BBP threshold alpha_BBP", "M/N", tensorboard=True),
    Metric("theory.transition_type", "continuous or discontinuous", "text"),
    Metric("theory_note", "why there is no theory (an activation other than the square)",
           "text"),
)

TRAINING: tuple[Metric, ...] = (
    Metric("series.step", "the tracked step", "steps", SERIES),
    Metric("series.time", "lr * step, the time of the gradient flow", "time", SERIES),
    Metric("series.train_loss", "training loss per sample", "loss", SERIES, tensorboard=True,
           group="train"),
    Metric("series.gen_error", "generalization error 1/2 E(y - yhat)^2 on fresh samples",
           "loss", SERIES, tensorboard=True, group="train"),
    Metric("series.gen_error_exact", "its closed form (the square only, else null)", "loss",
           SERIES, tensorboard=True, group="train"),
    Metric("series.gram_overlap", "Gram cosine q of the student with the teacher "
           "(m^2 for p = p* = 1)", UNIT, SERIES, tensorboard=True, group="train"),
    Metric("series.norm", "mean squared norm of the student's units / N", "-", SERIES,
           tensorboard=True, group="train"),
    Metric("series.lambda_min", "bottom eigenvalue of the tracked Hessian", EIGENVALUE, SERIES,
           tensorboard=True, group="hessian"),
    Metric("series.lambda_edge", "its bulk-edge estimate, the (p p* + 1)-th eigenvalue",
           EIGENVALUE, SERIES, tensorboard=True, group="hessian"),
    Metric("series.eigvec_overlap", "teacher overlap m of the bottom eigenvector", UNIT, SERIES,
           tensorboard=True, group="hessian"),
    Metric("series.eigvec_overlap_subspace", "that of the bottom p p* eigenvectors", UNIT,
           SERIES, tensorboard=True, group="hessian"),
    Metric("series.eigvec_gradient_overlap", "|<v, d>| / |d| of the bottom eigenvector v and "
           "the descent direction d", UNIT, SERIES, tensorboard=True, group="hessian"),
    Metric("init", "the study's metrics of the Hessian at the random initialization (the keys "
           "of a study record), and gen_error_exact there", shape=OBJECT),
    Metric("init.lambda_min", "bottom eigenvalue of the Hessian at initialization", EIGENVALUE,
           tensorboard=True, label="lambda_min", line="Hessian at init"),
    Metric("init.lambda_edge", "its bulk-edge estimate", EIGENVALUE, label="edge",
           line="Hessian at init"),
    Metric("init.overlap", "teacher overlap m of its bottom eigenvector", UNIT,
           tensorboard=True, label="bottom-vector teacher overlap m", digits=4,
           line="Hessian at init"),
    Metric("init.student_overlap", "Gram cosine q of the random student (not "
           "init.overlap_student, the bottom eigenvector's overlap with the student)", UNIT,
           tensorboard=True, label="random init", digits=3, line="Gram overlap q"),
    Metric("init.warm_student_overlap", "Gram cosine q after the spectral start "
           "(train.init=spectral only)", UNIT, tensorboard=True, label="spectral start",
           digits=3, line="Gram overlap q"),
    Metric("init.warm_gen_error_exact", "closed-form generalization error after the spectral "
           "start (train.init=spectral only)", "loss"),
    Metric("final_gen_error", "gen_error at the last tracked step", "loss", tensorboard=True,
           mean=True, label="gen_error", digits=3, line="final"),
    Metric("final_gram_overlap", "gram_overlap at the last tracked step", UNIT,
           tensorboard=True, mean=True, label="Gram overlap q", digits=4, line="final"),
    Metric("final_train_loss", "train_loss at the last tracked step", "loss",
           label="train loss", digits=3, line="final"),
    Metric("final_lambda_min", "lambda_min at the last tracked step", EIGENVALUE, mean=True,
           label="lambda_min", digits=3, line="final"),
    Metric("final_eigvec_overlap", "eigvec_overlap at the last tracked step", UNIT,
           label="bottom-vector m", digits=3, line="final"),
    Metric("final_gen_error_exact", "gen_error_exact at the last tracked step", "loss"),
    Metric("max_gram_overlap", "the largest gram_overlap over the tracked steps", UNIT),
    Metric("max_gram_overlap_step", "the step where max_gram_overlap was reached", "steps"),
    Metric("success", "not diverged and final_gen_error < train.gen_tol", "boolean",
           tensorboard=True),
    Metric("steps", "steps taken", "steps", tensorboard=True),
    Metric("stop_reason", "gen_tol, loss_tol, plateau, max_steps or diverged", "text"),
    Metric("plateau_step", "first step of the stalled window (stop_reason plateau, else null)",
           "steps"),
    Metric("M", "number of samples, round(alpha N)", "samples"),
    Metric("eta", "the weight-space step lr p N / M", "-"),
    Metric("theory", "alpha_bbp and transition_type at initialization (null with "
           "theory=false); error when the theory failed", shape=OBJECT),
    Metric("theory.alpha_bbp", "the BBP threshold alpha_BBP at initialization", "M/N",
           tensorboard=True),
    Metric("theory_note", "why there is no theory (an activation other than the square)",
           "text"),
)

# Training keys renamed since (old -> new): the Gram cosine was called overlap.
RENAMED = {"series.overlap": "series.gram_overlap", "final_overlap": "final_gram_overlap",
           "max_overlap": "max_gram_overlap", "max_overlap_step": "max_gram_overlap_step"}


def schema(kind: str) -> tuple[Metric, ...]:
    """The declared metrics of ``kind`` (study | training), read when called."""
    module = sys.modules[__name__]
    if kind not in KINDS:
        raise ValueError(f"Unknown kind of record {kind!r}: use one of {', '.join(KINDS)}.")
    return module.STUDY if kind == "study" else module.TRAINING


def declaration(kind: str, name: str) -> Metric | None:
    """The most specific declaration of the key ``name``: its own, or an enclosing object's."""
    found = {m.name: m for m in schema(kind)}
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in found:
            return found[".".join(parts[:end])]
    return None


def tensorboard_scalars(kind: str) -> tuple[str, ...]:
    """The scalars of ``kind`` written as ``metrics/<name>``, in declaration order."""
    return tuple(m.name for m in schema(kind) if m.tensorboard and m.shape == SCALAR)


def measured_scalars(kind: str) -> tuple[str, ...]:
    """:func:`tensorboard_scalars` less the theory's: the ones a sweep draws."""
    return tuple(n for n in tensorboard_scalars(kind) if not n.startswith("theory."))


def series(group: str | None = None) -> tuple[Metric, ...]:
    """The series a descent tracks (those of TensorBoard ``group`` when given)."""
    return tuple(m for m in schema("training") if m.shape == SERIES
                 and (group is None or m.group == group))


def series_keys(group: str | None = None) -> tuple[str, ...]:
    """The keys of ``metrics.series`` (of TensorBoard ``group`` when given)."""
    return tuple(m.key for m in series(group))


def means(kind: str) -> tuple[str, ...]:
    """The metrics ``bbp-collect`` averages over seeds, as table columns ``metrics.<name>``."""
    return tuple(f"metrics.{m.name}" for m in schema(kind) if m.mean)


def printed(kind: str) -> tuple[Metric, ...]:
    """The metrics the printed summary shows, in order (theory counterparts included)."""
    return tuple(m for m in schema(kind) if m.label)


def theory_of(kind: str = "study") -> dict[str, str]:
    """``{measured: its N = infinity prediction}``."""
    return {m.name: m.theory for m in schema(kind) if m.theory}


MISSING = object()


def lookup(metrics: dict, name: str, default=MISSING):
    """The value of the dotted ``name`` in a record's ``metrics`` (``default`` when absent; a
    null object on the way reads as null)."""
    value = metrics
    for part in name.split("."):
        if value is None:
            return None
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def key_table(kind: str) -> str:
    """The markdown table of ``kind``'s keys, as ``docs/records.md`` holds it."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| key | shape | units | meaning | TensorBoard | mean | summary |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for m in schema(kind):
        board = (f"`{m.group}/{m.key}`" if m.shape == SERIES else f"`metrics/{m.name}`") \
            if m.tensorboard else ""
        lines.append(f"| `{m.name}` | {m.shape} | {cell(m.units)} | {cell(m.meaning)} | "
                     f"{board} | {'yes' if m.mean else ''} | {cell(m.label or '')} |")
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - the end of docs/records.md: its sections of tables
    headings = {"study": "## Study records (`bbp`)",
                "training": "## Training records (`bbp-train`)"}
    print("\n\n".join(f"{headings[kind]}\n\n{key_table(kind)}" for kind in KINDS))


if __name__ == "__main__":  # pragma: no cover
    main()
