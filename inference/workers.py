"""Worker processes that one file's native crash cannot take the batch down with.

WHY: decoders are native code (Rust, C, C++). A panic that aborts, a segfault or an allocation failure
(std::bad_alloc) kills the process it happens in, and a ProcessPoolExecutor whose worker dies breaks every
file in flight. Here each worker holds one file at a time: a worker that dies, or overruns the per-file time
limit, costs only that file, which comes back quarantined with the reason, and a fresh worker takes its place.
"""
from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from .context import FileResult

Item = tuple[str, str]  # (absolute path, source relpath)
STARTUP_FAILURES = 3    # workers dying before they are ready, in a row: the environment is broken, not a file


class WorkerError(RuntimeError):
    """Worker processes cannot be started (not a file's fault): the run stops with this message."""


def _worker_main(conn: Connection, init: Callable[..., Any], init_args: tuple,
                 work: Callable[[Any, Item], FileResult]) -> None:
    """The worker loop: build the context once, then one item in, one FileResult out, until None."""
    ctx = init(*init_args)
    conn.send(("ready", None))
    while True:
        item = conn.recv()
        if item is None:
            return
        result = work(ctx, item)
        try:
            conn.send(("result", result))
        except Exception as e:  # a result that cannot be pickled is held back, never lost
            conn.send(("result", FileResult(source=item[1], status="quarantined",
                                            reason=f"result could not be passed back: {type(e).__name__}: {e}",
                                            internal_error=True)))


def death_reason(exitcode: int | None) -> str:
    """How a worker ended, in words for the quarantine reason."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}"
    return f"exited with status {exitcode}"


@dataclass
class _Slot:
    process: Any
    conn: Connection
    ready: bool = False
    item: Item | None = None
    started: float = 0.0


class Supervisor:
    """N worker processes (spawn: no half-copied native state from the parent), restarted when they die."""

    def __init__(self, workers: int, init: Callable[..., Any], init_args: tuple,
                 work: Callable[[Any, Item], FileResult], file_timeout: float | None = None):
        self.n, self.init, self.init_args, self.work = workers, init, init_args, work
        self.file_timeout = file_timeout
        self.ctx = mp.get_context("spawn")
        self.slots: list[_Slot] = []
        self.startup_failures = 0

    def _start(self) -> _Slot:
        parent, child = self.ctx.Pipe(duplex=True)
        process = self.ctx.Process(target=_worker_main, args=(child, self.init, self.init_args, self.work),
                                   daemon=True, name="medanon-worker")
        process.start()
        child.close()
        return _Slot(process, parent)

    def _stop(self, slot: _Slot) -> None:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(5)
        slot.conn.close()

    def _replace(self, slot: _Slot) -> None:
        self._stop(slot)
        self.slots[self.slots.index(slot)] = self._start()

    def _lost(self, slot: _Slot, why: str) -> FileResult:
        assert slot.item is not None
        return FileResult(source=slot.item[1], status="quarantined",
                          reason=f"worker process lost while processing this file: {why}; "
                                 "held back, the other files go on")

    def run(self, items: Iterable[Item]) -> Generator[FileResult, None, None]:
        """Yield one FileResult per item, in completion order."""
        todo: deque[Item] = deque()
        source = iter(items)
        self.slots = [self._start() for _ in range(self.n)]
        try:
            while True:
                for slot in self.slots:
                    if slot.item is None:
                        nxt = todo.popleft() if todo else next(source, None)
                        if nxt is not None:
                            slot.item, slot.started = nxt, time.monotonic()
                            try:
                                slot.conn.send(nxt)
                            except OSError:
                                pass  # a dead worker: seen below by its sentinel
                busy = [s for s in self.slots if s.item is not None]
                if not busy:
                    return
                wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=1.0)
                for slot in busy:
                    result = self._poll(slot, todo)
                    if result is not None:
                        yield result
        finally:
            for slot in self.slots:
                try:
                    slot.conn.send(None)
                except OSError:
                    pass
            for slot in self.slots:
                slot.process.join(2)
                self._stop(slot)

    def _poll(self, slot: _Slot, todo: deque[Item]) -> FileResult | None:
        """The slot's result if it has one; a quarantine result when its worker died or overran."""
        try:
            while slot.conn.poll():
                kind, payload = slot.conn.recv()
                if kind == "ready":
                    slot.ready, self.startup_failures = True, 0
                    slot.started = time.monotonic()  # the time limit counts from here, not from start-up
                    continue
                slot.item = None
                return payload
        except (EOFError, OSError):
            pass  # the worker is gone: handled below
        if not slot.process.is_alive():
            slot.process.join(1)
            why = death_reason(slot.process.exitcode)
            if not slot.ready:  # died while starting: not the file's fault, give it to the next worker
                self.startup_failures += 1
                if self.startup_failures >= STARTUP_FAILURES:
                    raise WorkerError(f"worker processes cannot start ({why}, {self.startup_failures} times)")
                assert slot.item is not None  # a slot that was not ready holds the item it was given
                todo.appendleft(slot.item)
                slot.item = None
                self._replace(slot)
                return None
            result = self._lost(slot, f"{why} (a native crash, a memory error or an outside kill)")
            self._replace(slot)
            return result
        if self.file_timeout and slot.ready and time.monotonic() - slot.started > self.file_timeout:
            result = self._lost(slot, f"processing took longer than {self.file_timeout:g} s, the worker was stopped")
            self._replace(slot)
            return result
        return None
