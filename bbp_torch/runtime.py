"""What a run needs from its process: the thread count, timers, and the name of its device.

:func:`limit_threads` applies the thread rule of :func:`bbp_torch.config.resolve_threads` to
every thread pool a run uses (torch's own, and the BLAS and OpenMP libraries that numpy and
scipy load, through ``threadpoolctl``) and restores them afterwards, so that a run computes
with the same number of threads alone, inside a sweep or inside another program.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import torch


@contextmanager
def limit_threads(threads: int):
    """Run the body with ``threads`` threads in torch and in every BLAS/OpenMP pool."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


class Timer:
    """``with timer("solve"): ...`` records wall-clock seconds per phase in ``timings``;
    CUDA work is synchronised before the clock stops."""

    def __init__(self, device: str = "cpu"):
        self.device = torch.device(device)
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.timings[name] = time.perf_counter() - start


def device_label(device: str) -> str:
    """``cpu``, or the name of the CUDA device (as the records hold it)."""
    dev = torch.device(device)
    return "cpu" if dev.type == "cpu" else torch.cuda.get_device_name(dev)
