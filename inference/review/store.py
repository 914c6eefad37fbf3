"""Review decisions in SQLite (``AUDIT_DIR/reviews.sqlite``): append-only, the latest row per file is its state.

One row per save: file id, source (input-relative path), input digest, the frame shown, the boxes (JSON), the
decision, the reviewer and the time. History is kept (who decided what, when); nothing is ever updated in place.

boxes JSON: ``{"added": [[frame, x0, y0, x1, y1], ...], "removed": [[x0, y0, x1, y1], ...]}``; frame -1 = every
frame (static text). ``removed`` marks detector boxes the reviewer says are not text: used as training labels by
``training.adapt``, never un-blanked by a run (the detector stays the floor: fail closed).
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

DECISIONS = ("approved", "needs redaction", "pending")
DB_NAME = "reviews.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id TEXT NOT NULL,
    source TEXT NOT NULL,
    digest TEXT NOT NULL,
    frame INTEGER NOT NULL DEFAULT 0,
    boxes TEXT NOT NULL,
    decision TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_file ON reviews(file_id, id);
"""


class ReviewError(ConfigError):
    """A review that cannot be stored as given (bad box, unknown decision, no reviewer)."""


@dataclass(frozen=True)
class Review:
    """The current state of one file's review."""

    file_id: str
    source: str
    digest: str
    frame: int
    added: tuple[tuple[int, int, int, int, int], ...]
    removed: tuple[tuple[int, int, int, int], ...]
    decision: str
    reviewer: str
    time: str

    def as_dict(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "source": self.source, "digest": self.digest, "frame": self.frame,
                "added": [list(b) for b in self.added], "removed": [list(b) for b in self.removed],
                "decision": self.decision, "reviewer": self.reviewer, "time": self.time}

    def token(self) -> str:
        """What the review changes in the output: part of that file's re-run fingerprint."""
        import hashlib
        blob = json.dumps([self.decision, sorted(self.added)], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _ints(values: Any, n: int, what: str) -> tuple[int, ...]:
    if not isinstance(values, (list, tuple)) or len(values) != n:
        raise ReviewError(f"{what}: expected {n} integers, got {values!r}")
    try:
        out = tuple(int(round(float(v))) for v in values)
    except (TypeError, ValueError) as e:
        raise ReviewError(f"{what}: not numbers: {values!r}") from e
    return out


def clean_boxes(added: Any, removed: Any) -> tuple[tuple, tuple]:
    """Validated, normalised boxes (x0 < x1, y0 < y1, non-negative); a bad one is refused, not dropped."""
    def norm(b: tuple[int, ...]) -> tuple[int, ...]:
        x0, y0, x1, y1 = b[-4:]
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        if x1 - x0 < 1 or y1 - y0 < 1 or min(x0, y0) < 0:
            raise ReviewError(f"empty or negative box {list(b)}")
        return (*b[:-4], x0, y0, x1, y1)
    add = tuple(norm(_ints(b, 5, "added box")) for b in (added or []))
    if any(b[0] < -1 for b in add):
        raise ReviewError("frame must be -1 (every frame) or a frame index")
    rem = tuple(norm(_ints(b, 4, "removed box")) for b in (removed or []))
    return add, rem


class ReviewStore:
    """Thread-safe enough for the station: one short connection per call (SQLite serialises writers)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    def save(self, file_id: str, source: str, digest: str, decision: str, reviewer: str,
             added: Any = (), removed: Any = (), frame: int = 0) -> Review:
        if decision not in DECISIONS:
            raise ReviewError(f"decision must be one of {DECISIONS}, got {decision!r}")
        reviewer = str(reviewer or "").strip()
        if not reviewer:
            raise ReviewError("a reviewer name is required (it is kept with the decision)")
        add, rem = clean_boxes(added, removed)
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self._connect() as con:
            con.execute("INSERT INTO reviews (file_id, source, digest, frame, boxes, decision, reviewer, time) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (file_id, source, digest, int(frame),
                         json.dumps({"added": [list(b) for b in add], "removed": [list(b) for b in rem]}),
                         decision, reviewer[:200], now))
        return Review(file_id, source, digest, int(frame), add, rem, decision, reviewer[:200], now)

    def latest(self) -> dict[str, Review]:
        """file id -> its current review."""
        out: dict[str, Review] = {}
        with self._connect() as con:
            rows = con.execute("SELECT * FROM reviews r WHERE id = (SELECT MAX(id) FROM reviews WHERE "
                               "file_id = r.file_id)").fetchall()
        for row in rows:
            boxes = json.loads(row["boxes"])
            add, rem = clean_boxes(boxes.get("added"), boxes.get("removed"))
            out[row["file_id"]] = Review(row["file_id"], row["source"], row["digest"], row["frame"], add, rem,
                                         row["decision"], row["reviewer"], row["time"])
        return out

    def counts(self) -> dict[str, int]:
        """Current decisions and box counts, for the station and MLflow."""
        latest = self.latest().values()
        c = {d.replace(" ", "_"): 0 for d in DECISIONS}
        for r in latest:
            c[r.decision.replace(" ", "_")] += 1
        c["files_reviewed"] = len(latest)
        c["boxes_added"] = sum(len(r.added) for r in latest)
        c["boxes_removed"] = sum(len(r.removed) for r in latest)
        with self._connect() as con:
            c["saves"] = int(con.execute("SELECT COUNT(*) FROM reviews").fetchone()[0])
        return c


def load_reviews(path: Path | None) -> dict[str, Review]:
    """source -> current review, for inference.run; {} when there is no review database."""
    if path is None or not Path(path).is_file():
        return {}
    return {r.source: r for r in ReviewStore(Path(path)).latest().values()}
