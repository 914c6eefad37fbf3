"""Work functions for the worker supervisor tests: real native deaths (a segfault, an abort) and a hang.

Top-level functions so that spawned worker processes can import them.
"""
from __future__ import annotations

import ctypes
import os
import time

from inference.context import FileResult


def init(tag: str) -> str:
    return tag


def init_dies(tag: str) -> str:
    os._exit(7)


def work(ctx: str, item: tuple[str, str]) -> FileResult:
    """Items named 'segv', 'abort' or 'hang' do what they say, in native code; others are written."""
    name = item[1]
    if name.startswith("segv"):
        ctypes.string_at(0)  # reads address 0: a real SIGSEGV in C
    if name.startswith("abort"):
        os.abort()
    if name.startswith("hang"):
        time.sleep(3600)
    return FileResult(source=name, status="written", reason=ctx)
