"""The push ledger: the state of every instance for every PACS, so an interrupted push loses nothing.

pending -> sent (the PACS accepted it) -> verified (read back from the PACS); failed (refused, or missing on
read-back) is retried by the next push. Only pseudonymous UIDs and OUTPUT-relative paths are stored, and the file
lives with the audit trail (default OUTPUT.audit/pacs_ledger.sqlite), never inside OUTPUT.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

State = Literal["pending", "sent", "verified", "failed"]
STATES: tuple[State, ...] = ("pending", "sent", "verified", "failed")
LEDGER_NAME = "pacs_ledger.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS push_ledger (
  destination TEXT NOT NULL,
  sop_uid     TEXT NOT NULL,
  study_uid   TEXT NOT NULL,
  series_uid  TEXT NOT NULL,
  relpath     TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'verified', 'failed')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (destination, sop_uid)
)"""


@dataclass(frozen=True)
class Instance:
    """One DICOM file of OUTPUT as the push sees it."""

    sop_uid: str
    study_uid: str
    series_uid: str
    relpath: str        # relative to OUTPUT
    state: State = "pending"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class PushLedger:
    """SQLite file; every state change is committed at once so a crash or a kill keeps what happened."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "PushLedger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, destination: str, instances: Iterable[Instance]) -> int:
        """Register instances as pending; known ones keep their state (the path is refreshed). Returns new ones."""
        before = self.total(destination)
        now = _now()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO push_ledger (destination, sop_uid, study_uid, series_uid, relpath, state, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?) "
                "ON CONFLICT (destination, sop_uid) DO UPDATE SET relpath = excluded.relpath",
                [(destination, i.sop_uid, i.study_uid, i.series_uid, i.relpath, now) for i in instances])
        return self.total(destination) - before

    def instances(self, destination: str, states: Iterable[State] = STATES) -> list[Instance]:
        states = tuple(states)
        marks = ",".join("?" * len(states))
        rows = self._db.execute(
            f"SELECT sop_uid, study_uid, series_uid, relpath, state FROM push_ledger "
            f"WHERE destination = ? AND state IN ({marks}) ORDER BY study_uid, series_uid, relpath",
            (destination, *states))
        return [Instance(*r) for r in rows]

    def mark(self, destination: str, sop_uids: Iterable[str], state: State, error: str | None = None,
             attempt: bool = False) -> None:
        now = _now()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE push_ledger SET state = ?, error = ?, updated_at = ?, attempts = attempts + ? "
                "WHERE destination = ? AND sop_uid = ?",
                [(state, error, now, int(attempt), destination, uid) for uid in sop_uids])

    def counts(self, destination: str) -> dict[str, int]:
        found = dict(self._db.execute(
            "SELECT state, COUNT(*) FROM push_ledger WHERE destination = ? GROUP BY state", (destination,)))
        return {s: int(found.get(s, 0)) for s in STATES}

    def total(self, destination: str) -> int:
        return sum(self.counts(destination).values())

    def errors(self, destination: str, limit: int = 5) -> list[tuple[str, str]]:
        return list(self._db.execute(
            "SELECT relpath, error FROM push_ledger WHERE destination = ? AND state = 'failed' LIMIT ?",
            (destination, limit)))
