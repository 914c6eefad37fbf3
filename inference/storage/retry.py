"""Retries with exponential back-off for PACS calls, and the errors a push can end with."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from ..errors import PacsError

T = TypeVar("T")


class PacsAuthError(PacsError):
    """The PACS refused our credentials or our AE title: retrying cannot help."""


class PacsUnavailable(PacsError):
    """The PACS could not be reached or answered with a temporary error, after every retry."""


class TransientError(Exception):
    """One failed attempt that is worth repeating (connection refused, timeout, HTTP 5xx/429, aborted association)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5            # total tries per call
    base_delay_s: float = 1.0    # 1, 2, 4, 8 s ... between tries
    max_delay_s: float = 30.0

    def delay(self, failed_attempts: int) -> float:
        return min(self.max_delay_s, self.base_delay_s * 2 ** (failed_attempts - 1))


def with_retries(call: Callable[[], T], policy: RetryPolicy, what: str,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `call`; on TransientError wait and try again, up to policy.attempts; then raise PacsUnavailable."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except TransientError as e:
            if attempt == policy.attempts:
                raise PacsUnavailable(f"{what} failed {attempt} times, last: {e}") from e
            delay = policy.delay(attempt)
            print(f"pacs: {what} failed ({e}); retry {attempt}/{policy.attempts - 1} in {delay:.1f} s",
                  file=sys.stderr)
            sleep(delay)
    raise AssertionError("unreachable")
