"""Several seeds at once give the observables of the one-seed dense path, and through the job
runner the records of the runs seed=s alone."""

from dataclasses import replace

import pytest
import torch

from bbp_torch import batched
from bbp_torch.batched import batched_dense_hessian, run_seeds, seeds_per_batch
from bbp_torch.config import Config, SolverConfig, validate
from bbp_torch.hessian import HessianOperator, dense_hessian
from bbp_torch.jobs import job_kind, run_job, seed_folder
from bbp_torch.model import make_problem
from bbp_torch.observables import measure
from bbp_torch.results import flatten, read_record
from bbp_torch.spectrum import bottom_eigenpairs

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
KEYS = ("lambda_min", "lambda_edge", "gap", "overlap", "overlap_subspace", "overlap_student")


def one_by_one(N, p, p_star, alpha, a, seed, kind, k=8):
    problem = make_problem(N, p, p_star, alpha, a, seed=seed)
    pairs = bottom_eigenpairs(HessianOperator(problem, kind=kind),
                              SolverConfig(k=k, full_spectrum=False))
    return measure(pairs.values, pairs.vectors, problem.W, problem.W_star)


@pytest.mark.parametrize("activation, a", [("tanh", 50.0), ("relu", 0.7)])
def test_batched_hessians_of_other_activations_equal_dense(activation, a):
    problems = [make_problem(20, 2, 1, 3.0, a, seed=s, activation=activation) for s in (1, 2)]
    for kind in ("euclidean", "spherical"):
        H = batched_dense_hessian(problems, kind=kind)
        for s, pr in enumerate(problems):
            assert torch.allclose(H[s], dense_hessian(pr, kind=kind), atol=1e-12)
    out = run_seeds(20, 2, 1, 3.0, a, [1, 2], k=4, batch_size=2, activation=activation)
    ref = [measure(*torch.linalg.eigh(dense_hessian(pr)), pr.W, pr.W_star)["lambda_min"]
           for pr in problems]
    assert [r["metrics"]["lambda_min"] for r in out] == pytest.approx(ref, rel=1e-10)


def test_batched_hessian_equals_dense():
    problems = [make_problem(30, 3, 1, 2.0, 0.7, seed=s) for s in (0, 5)]
    H = batched_dense_hessian(problems, kind="spherical")
    for s, pr in enumerate(problems):
        assert torch.allclose(H[s], dense_hessian(pr, kind="spherical"), atol=1e-12)


@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_batched_seeds_equal_one_by_one(kind):
    seeds = [3, 0, 7, 1, 4]
    out = run_seeds(60, 2, 1, 3.0, 0.7, seeds, k=8, kind=kind, batch_size=2,
                    full_spectrum=True)
    assert [r["seed"] for r in out] == seeds
    for r in out:
        ref = one_by_one(60, 2, 1, 3.0, 0.7, r["seed"], kind)
        for key in KEYS:
            assert abs(r["metrics"][key] - ref[key]) < 1e-9, key
        assert max(r["metrics"]["residuals"]) < 1e-10
        assert r["spectrum"].shape == (120,)


def test_batch_size_from_memory():
    per_seed = (4 * 200**2 + 2 * 300 * 100) * 8
    assert seeds_per_batch(100, 2, 300, 8, memory_gb=1.0) == int(1e9 // per_seed)
    out = run_seeds(20, 1, 1, 2.0, 1.0, range(3), max_memory_gb=1e-5)  # one seed per batch
    assert len(out) == 3
    assert seeds_per_batch(20, 1, 40, 8, memory_gb=1e-5) == 1
    together = run_seeds(20, 1, 1, 2.0, 1.0, range(3), batch_size=3)
    for x, y in zip(out, together, strict=True):
        assert x["seed"] == y["seed"]
        assert abs(x["metrics"]["lambda_min"] - y["metrics"]["lambda_min"]) < 1e-12


@pytest.mark.gpu
@cuda
def test_cuda_batched_matches_cpu():
    a = run_seeds(50, 2, 1, 3.0, 0.7, [0, 1, 2], device="cpu")
    b = run_seeds(50, 2, 1, 3.0, 0.7, [0, 1, 2], device="cuda")
    for x, y in zip(a, b, strict=True):
        for key in KEYS:
            assert abs(x["metrics"][key] - y["metrics"][key]) < 1e-8


# ----------------------------------------------------------------------------- through the job
# runner: a job of several seeds writes the records of the runs seed=s alone

JOB = {"problem": {"N": 30, "p": 2, "alpha": 2.5}, "threads": 1,
       "logging": {"figures": False, "progress": False}}


def job_cfg(**changes):
    return {**JOB, **changes}


def leaves(record: dict) -> dict:
    """The record by dotted key, without what differs between two runs (times, the folder)."""
    return flatten({k: v for k, v in record.items() if k not in ("timings", "run_dir")})


def assert_same_record(one: dict, other: dict, atol: float = 1e-8) -> None:
    a, b = leaves(one), leaves(other)
    assert set(a) == set(b)
    assert set(one["timings"]) == set(other["timings"])
    for key, x in a.items():
        y = b[key]
        if isinstance(x, list) and x and isinstance(x[0], float):
            assert torch.allclose(torch.tensor(x), torch.tensor(y), atol=atol, rtol=0), key
        elif isinstance(x, float):
            assert abs(x - y) <= atol * max(1.0, abs(x)), key
        else:
            assert x == y, key


@pytest.fixture
def spy(monkeypatch):
    """Counts the seeds each batched solve takes."""
    calls = []
    real = batched.run_study_batch

    def counted(runs):
        calls.append([r.config.seed for r in runs])
        return real(runs)

    monkeypatch.setattr(batched, "run_study_batch", counted)
    return calls


@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_batched_and_single_runs_give_the_same_per_seed_records(tmp_path, spy, kind):
    cfg = job_cfg(hessian={"kind": kind}, seed=4, seeds=3,
                  logging={"figures": False, "progress": False, "tensorboard": kind == "euclidean"})
    out = run_job(job_kind("bbp"), cfg, tmp_path / "job", quiet=True)
    assert out.status == "ok" and out.exit_code == 0
    assert spy == [[4, 5, 6]]  # one batch
    for s in (4, 5, 6):
        single = {**cfg, "seed": s, "seeds": 1}
        assert run_job(job_kind("bbp"), single, tmp_path / f"alone{s}", quiet=True).status == "ok"
        folder = seed_folder(tmp_path / "job", s)
        assert folder == tmp_path / "job" / f"seed={s}"
        batch_record, alone = read_record(folder), read_record(tmp_path / f"alone{s}")
        assert batch_record["config"]["seed"] == s and batch_record["config"]["seeds"] == 1
        assert_same_record(batch_record, alone)
        if kind == "euclidean":  # its own TensorBoard run, as a single run has
            assert len(list(folder.glob("events.out.tfevents.*"))) == 1
    assert len(spy) == 1  # the single runs went the ordinary way


def test_a_job_resumes_its_finished_seeds_and_force_redoes_them(tmp_path, spy):
    cfg = job_cfg(seeds=3, logging={"tensorboard": False, "progress": False})
    done = seed_folder(tmp_path / "job", 1)
    assert run_job(job_kind("bbp"), {**cfg, "seed": 1, "seeds": 1}, done, quiet=True).status == "ok"
    before = read_record(done)
    out = run_job(job_kind("bbp"), cfg, tmp_path / "job", quiet=True)
    assert out.status == "ok" and spy == [[0, 2]]  # seed 1 was finished: skipped
    assert read_record(done) == before
    assert run_job(job_kind("bbp"), cfg, tmp_path / "job", quiet=True).status == "skipped"
    assert spy == [[0, 2]]
    forced = run_job(job_kind("bbp"), {**cfg, "force": True}, tmp_path / "job", quiet=True)
    assert forced.status == "ok" and spy[-1] == [0, 1, 2]
    assert read_record(done)["timings"] != before["timings"]


@pytest.mark.parametrize("together", [True, False])
def test_a_failing_seed_gives_one_error_record_and_the_others_complete(tmp_path, monkeypatch,
                                                                       spy, together):
    from bbp_torch import study

    if not together:
        monkeypatch.setattr(batched, "cpu_batched_max_dim", lambda threads: 0)  # one by one
    real = study.draw_problem

    def draw(r):
        if r.config.seed == 1:
            raise RuntimeError("injected failure")
        return real(r)

    monkeypatch.setattr(study, "draw_problem", draw)
    cfg = job_cfg(seeds=3, logging={"tensorboard": False, "progress": False})
    out = run_job(job_kind("bbp"), cfg, tmp_path / "job", quiet=True)
    assert out.status == "error" and out.exit_code == 1
    assert spy == ([[0, 1, 2]] if together else [])
    records = {s: read_record(seed_folder(tmp_path / "job", s)) for s in range(3)}
    assert [records[s]["status"] for s in range(3)] == ["ok", "error", "ok"]
    assert records[1]["error_kind"] == "exception"
    assert "injected failure" in records[1]["error"]
    assert records[1]["config"]["seed"] == 1
    # the rerun redoes only the failed seed
    monkeypatch.setattr(study, "draw_problem", real)
    assert run_job(job_kind("bbp"), cfg, tmp_path / "job", quiet=True).status == "ok"
    assert read_record(seed_folder(tmp_path / "job", 1))["status"] == "ok"
    assert spy == ([[0, 1, 2]] if together else [])  # one seed left: the ordinary way


def resolved(N: int, p: int, threads: int = 2, **changes):
    cfg = Config()
    cfg.problem.N, cfg.problem.p, cfg.threads = N, p, threads
    for key, value in changes.items():
        setattr(cfg.solver, key, value)
    return validate(cfg)


def test_the_batched_rule_on_both_sides_of_its_threshold(monkeypatch):
    limit = batched.CPU_BATCHED_MAX_DIM
    assert batched.seeds_at_once(resolved(limit // 2, 2), 5) == 5  # p N = limit: batched
    assert batched.seeds_at_once(resolved(limit // 2 + 1, 2), 5) == 1  # above: one by one
    assert batched.seeds_at_once(resolved(limit // 2, 2), 1) == 1
    assert batched.seeds_at_once(resolved(50, 2, name="iterative"), 5) == 1  # dense only
    # one thread (the figures' jobs): the batch pays only up to a smaller p N
    small = batched.CPU_BATCHED_MAX_DIM_ONE_THREAD
    assert batched.seeds_at_once(resolved(small // 2, 2, threads=1), 5) == 5
    assert batched.seeds_at_once(resolved(small // 2 + 1, 2, threads=1), 5) == 1
    # on CUDA any size that fits the memory: as many seeds as fit
    big = replace(resolved(limit, 2, max_memory_gb=1.0), device="cuda")
    per_seed = 4 * (2 * limit) ** 2 * 8 + 2 * big.M * big.config.problem.N * 8
    assert batched.seeds_at_once(big, 100) == int(1e9 // per_seed) > 1
    one = replace(big, config=replace(big.config, solver=replace(big.config.solver,
                                                                 max_memory_gb=0.2)))
    assert batched.seeds_at_once(one, 5) == 1  # room for one seed: one by one


def test_batched_eigenpairs_are_the_dense_solvers_and_a_bad_seed_is_its_own_error():
    from bbp_torch.errors import NumericalError
    from bbp_torch.spectrum.dense import dense_bottom

    problems = [make_problem(25, 2, 1, 2.0, 0.7, seed=s) for s in range(3)]
    problems[1].X[0, 0] = float("nan")
    for kind in ("euclidean", "spherical"):
        ops = [HessianOperator(pr, kind=kind) for pr in problems]
        out = batched.batched_eigenpairs(ops, 5, 1e-8, full_spectrum=False)
        assert isinstance(out[1], NumericalError)
        for i in (0, 2):
            ref = dense_bottom(ops[i], 5, 1e-8, full_spectrum=False)
            assert torch.allclose(out[i].values, ref.values, atol=1e-10)
            assert out[i].all_values is None and out[i].converged
            assert out[i].scale == pytest.approx(ref.scale, rel=1e-10)
            # the same subspace (eigenvectors up to sign)
            assert torch.allclose((out[i].vectors.T @ ref.vectors).abs(),
                                  torch.eye(5, dtype=ref.vectors.dtype), atol=1e-8)
