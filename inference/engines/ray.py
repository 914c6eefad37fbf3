"""The Ray engine: process_file in Ray actors (one detector session each, CPU or GPU), fed by a bounded stream.

The driver streams entries (a folder walk or a manifest, never the whole list in memory) and keeps at most
`in_flight` tasks per actor queued. Each actor does the whole per-file job (common.FileWorker): it reads the file,
checks the resume trail, anonymises, writes the outputs atomically and appends to its own trail shard
(trail-ray<N>.jsonl), so the driver moves only paths and counts. A lost actor is restarted by Ray and its
unfinished tasks retried: a file whose trail record did not make it is simply done again (same bytes, same path).
Needs a file system shared by the driver and every node for INPUT, OUTPUT and the audit/quarantine folders.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from ..outputs import remove_stale_temps
from ..sources import count_entries, entries
from .common import FileWorker, Job, Tally, claims_dir

ACTOR_RESTARTS = 4      # a worker killed (node lost, OOM) comes back this many times
TASK_RETRIES = 4        # and the files it held are retried on it
LOST = "not processed: worker lost (run again to resume)"


class RayEngine:
    def __init__(self, actors: int = 1, address: str | None = None, gpus_per_actor: float = 0.0,
                 cpus_per_actor: float = 1.0, in_flight: int = 2):
        self.actors, self.address, self.gpus, self.cpus, self.in_flight = actors, address, gpus_per_actor, \
            cpus_per_actor, in_flight

    def _init(self):
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: no usage reporting
        import ray
        import inference
        # the workers import this very copy of the code (a checkout, not only an installed package)
        code_root = str(Path(inference.__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (code_root, os.environ.get("PYTHONPATH", "")) if p)
        env = {"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": str(max(1, int(self.cpus)))}}
        if self.address:
            ray.init(address=self.address, runtime_env=env, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, int(self.actors * self.cpus)), num_gpus=None, runtime_env=env,
                     include_dashboard=False, log_to_driver=False)
        return ray

    def run(self, job: Job, progress) -> Tally:
        ray = self._init()
        try:
            return self._run(ray, job, progress)
        finally:
            ray.shutdown()

    def _run(self, ray, job: Job, progress) -> Tally:
        from dataclasses import replace
        # providers stay None (CUDA when the actor sees a GPU): Ray hides GPUs from actors that asked for none
        job = replace(job, options=replace(job.options, detector_threads=max(1, int(self.cpus))),
                      run_id=job.run_id or f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            return self._run_actors(ray, job, progress)
        finally:  # the run's output claims end with the run
            shutil.rmtree(claims_dir(job), ignore_errors=True)
            try:
                claims_dir(job).parent.rmdir()  # only when no other run's claims are there
            except OSError:
                pass

    def _run_actors(self, ray, job: Job, progress) -> Tally:
        actor_cls = ray.remote(FileWorker).options(
            num_cpus=self.cpus, num_gpus=self.gpus, max_restarts=ACTOR_RESTARTS, max_task_retries=TASK_RETRIES)
        actors = [actor_cls.remote(job, f"ray{i:03d}") for i in range(self.actors)]
        ray.get([a.ping.remote() for a in actors])  # every actor up, its detector session made

        tally = Tally()
        total = count_entries(job.source, job.manifest, job.excluded)
        bar = progress(total)
        t0 = time.perf_counter()
        busy: Counter[int] = Counter()
        pending: dict = {}  # ObjectRef -> (actor index, entry)
        limit = self.in_flight * self.actors

        def collect(block_for: int) -> None:
            ready, _ = ray.wait(list(pending), num_returns=block_for)
            for ref in ready:
                i, entry = pending.pop(ref)
                busy[i] -= 1
                try:
                    tally.merge(ray.get(ref))
                except ray.exceptions.RayError as e:  # the actor died more often than it may restart
                    tally.files_in += 1
                    tally.counts["lost"] += 1
                    tally.reasons[LOST] += 1
                    print(f"error: {entry.relpath}: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
                bar.update(1)
                bar.set_postfix(written=tally.counts["written"], quarantined=tally.counts["quarantined"],
                                refresh=False)

        for entry in entries(job.source, job.manifest, job.excluded):
            if len(pending) >= limit:
                collect(1)
            i = min(range(self.actors), key=lambda k: busy[k])  # the least busy actor
            busy[i] += 1
            pending[actors[i].handle.remote(entry)] = (i, entry)
        while pending:
            collect(1)
        bar.close()
        # every task has ended: a temporary file left in OUTPUT is a write cut off by a killed worker, not a result
        remove_stale_temps(job.output)
        tally.seconds = time.perf_counter() - t0
        for a in actors:
            ray.kill(a)
        return tally
