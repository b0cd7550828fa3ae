"""The machine a run uses and what a run needs of it: cores and threads, devices, physical
memory, and the memory models of the two solver paths (in GB, 1e9 bytes).

Plain functions of sizes and names; nothing here reads a config, and importing it imports no
torch (the device functions load it when a GPU is asked about).
"""

from __future__ import annotations

import os

from bbp_torch.spectrum.tuning import refinement_basis_size

BYTES = {"float64": 8, "float32": 4}  # bytes per number of each precision


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; SLURM's allocation on a cluster)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    """The thread rule, the same for a run alone and inside a sweep: ``threads`` when set,
    else every core this process may use. A local sweep runs ``cores // threads`` jobs at once
    (:func:`parallel_jobs`), so jobs never oversubscribe the cores."""
    return threads if threads is not None else available_cores()


def parallel_jobs(threads: int | None) -> int:
    """How many jobs a local sweep runs at once: ``cores // threads`` (at least one)."""
    return max(1, available_cores() // resolve_threads(threads))


def resolve_device_name(device: str) -> str:
    """``auto`` -> ``cuda`` when CUDA is present, else ``cpu``; other names unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def physical_memory_gb() -> float:
    """Total physical memory of this machine, in GB."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16.0


def total_memory_gb(device: str) -> float:
    """Total memory of the device a run will use (``auto``: CUDA when present), in GB."""
    device = resolve_device_name(device)
    if device == "cpu":
        return physical_memory_gb()
    import torch

    return torch.cuda.get_device_properties(torch.device(device)).total_memory / 1e9


def dense_memory_gb(N: int, p: int, M: int, dtype: str, full_spectrum: bool,
                    all_vectors: bool = False) -> float:
    """Peak memory of the dense path: ``H``, its factorisation workspace and the data.

    ``H`` is ``(pN)^2`` numbers; the solver needs a copy plus workspace (counted as two more
    copies, one more for every eigenvector), and ``X`` is ``M N`` numbers.
    """
    n = p * N
    copies = 4 if all_vectors else 3 if full_spectrum else 2.5
    return (copies * n * n + M * N) * BYTES[dtype] / 1e9


def iterative_memory_gb(N: int, p: int, M: int, dtype: str, data_dtype: str, k: int,
                        block_size: int, basis_size: int, slq_probes: int = 0,
                        slq_steps: int = 0, mixed_precision: bool = False) -> float:
    """Peak memory of the matrix-free path: ``X``, the Lanczos basis and work blocks.

    ``X`` is ``M N`` numbers in ``data_dtype``; the block Lanczos basis ``basis + block``
    vectors of size ``pN`` (a thick restart rotates it in place), plus about ``7 block + 3 k``
    work and result vectors (the residual check applies the operator to the ``k`` pairs); the
    product's per-sample intermediates, at most ``3 M p block`` numbers; a reorthogonalised SLQ
    run keeps ``slq_steps * slq_probes`` vectors; one cast chunk of ``X`` (at most 256 MiB)
    when ``data_dtype`` differs from ``dtype``; with ``mixed_precision``, on ``X`` wider than
    float32 a float32 copy of ``X`` for the float32 products (the float32 phase and the
    refinement's corrections), and for the refinement a
    basis with its products (:func:`refinement_basis_size`) in the freed Lanczos basis's place
    plus the ``2k`` next Ritz vectors the float32 phase hands it.
    """
    n = p * N
    basis = (max(basis_size, 2 * refinement_basis_size(basis_size, k)) + 2 * k
             if mixed_precision else basis_size)
    vectors = basis + 7 * block_size + 3 * k + slq_steps * slq_probes
    per_sample = 3 * M * p * block_size
    cast = min(256 * 2**20, M * N * BYTES[dtype]) if data_dtype != dtype else 0
    if mixed_precision and BYTES[data_dtype] > BYTES["float32"]:
        cast = max(cast, M * N * BYTES["float32"])
    return (M * N * BYTES[data_dtype] + (vectors * n + per_sample) * BYTES[dtype] + cast) / 1e9
