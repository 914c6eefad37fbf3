"""Engines run process_file over a stream of input entries: local worker processes (the default) or Ray.

An engine only decides where process_file runs and who writes its results; what is written, the audit trail,
the quarantine and resume are the same Runner (common.py) everywhere, so engines give byte-identical outputs.
"""
from __future__ import annotations

from typing import Callable, Protocol

from .common import Job, Tally

Progress = Callable[[int], object]  # called with the total (None: unknown); returns a tqdm-like bar


class Engine(Protocol):
    def run(self, job: Job, progress: Progress) -> Tally: ...


def make_engine(name: str, workers: int, ray_address: str | None = None, ray_gpus: float = 0.0,
                ray_cpus: float = 1.0) -> Engine:
    if name == "local":
        from .local import LocalEngine
        return LocalEngine(workers)
    if name == "ray":
        from .ray import RayEngine
        return RayEngine(actors=workers, address=ray_address, gpus_per_actor=ray_gpus, cpus_per_actor=ray_cpus)
    raise ValueError(f"unknown engine {name!r} (local, ray)")


__all__ = ["Engine", "Job", "Tally", "make_engine"]
