"""The JPEG catalogue: one row per exported frame in an SQL database (SQLite file by default, any SQLAlchemy URL).

Rows are keyed by (SOP Instance UID, frame), so writing the same frames again updates them instead of adding
duplicates: a re-run of the pipeline or of `build` is safe. Query results go to Parquet or CSV for an AI team.

    python -m inference.storage.catalog build OUTPUT --db catalog.sqlite [--prune]
    python -m inference.storage.catalog query --db catalog.sqlite --modality US --since 2020-01-01 --to us.parquet
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pydicom
from sqlalchemy import (Column, Date, DateTime, Float, Integer, MetaData, String, Table, and_, create_engine, func,
                        or_, select, true, tuple_)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from .records import CatalogRecord, parse_date, record_from_dataset
from .tree import iter_jpeg_files

metadata = MetaData()
frames = Table(
    "jpeg_frames", metadata,
    Column("instance_uid", String(64), primary_key=True),
    Column("frame", Integer, primary_key=True, autoincrement=False),
    Column("patient_id", String(128), nullable=False, index=True),
    Column("study_uid", String(64), nullable=False, index=True),
    Column("series_uid", String(64), nullable=False),
    Column("jpg_path", String(512), nullable=False),
    Column("modality", String(16), index=True),
    Column("body_part", String(64)),
    Column("exam_type", String(256)),
    Column("rows", Integer),
    Column("columns", Integer),
    Column("pixel_spacing_row", Float),
    Column("pixel_spacing_col", Float),
    Column("study_date", Date, index=True),
    Column("model_version", String(128)),
    Column("redaction_boxes", Integer),
    Column("qa_status", String(32)),
    Column("updated_at", DateTime, nullable=False),
)
RECORD_COLUMNS = tuple(f.name for f in fields(CatalogRecord))
EXPORT_COLUMNS = RECORD_COLUMNS + ("updated_at",)
# Known only to the pipeline (not in the DICOM): a later `build` from the tree must not blank them.
PIPELINE_ONLY = ("model_version", "redaction_boxes", "qa_status")
CHUNK = 500


class CatalogError(RuntimeError):
    """The catalogue cannot be written or read as asked."""


def db_url(db: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL as is; a plain path becomes an SQLite file (its folder is created)."""
    text = str(db)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class QueryFilter:
    """What an AI team asks for. Empty tuples mean 'any'; dates are inclusive and compare the shifted study date;
    exam types match as case-insensitive substrings (descriptions are free text)."""

    modalities: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    exam_types: tuple[str, ...] = ()
    qa_statuses: tuple[str, ...] = ()
    body_parts: tuple[str, ...] = ()

    def where(self) -> Any:
        conds: list[ColumnElement[bool]] = []
        if self.modalities:
            conds.append(func.upper(frames.c.modality).in_([m.upper() for m in self.modalities]))
        if self.body_parts:
            conds.append(func.upper(frames.c.body_part).in_([b.upper() for b in self.body_parts]))
        if self.qa_statuses:
            conds.append(frames.c.qa_status.in_(list(self.qa_statuses)))
        if self.since:
            conds.append(frames.c.study_date >= self.since)
        if self.until:
            conds.append(frames.c.study_date <= self.until)
        if self.exam_types:
            lowered = func.lower(frames.c.exam_type)
            conds.append(or_(*[lowered.contains(e.lower(), autoescape=True) for e in self.exam_types]))
        return and_(true(), *conds)


class Catalog:
    """The catalogue database. Create with a path or SQLAlchemy URL; the table is created when missing."""

    def __init__(self, db: str | os.PathLike[str]):
        url = db_url(db)
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 60}   # several writers wait for the lock instead of failing
        try:
            self.engine: Engine = create_engine(url, **kwargs)
            metadata.create_all(self.engine)
        except Exception as e:  # noqa: BLE001 - any driver error means the same thing to the user
            raise CatalogError(f"cannot open the catalogue database {_safe_url(url)}: {e}") from e

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert(self, records: Iterable[CatalogRecord]) -> int:
        """Insert or update rows keyed by (instance_uid, frame); returns how many rows were written."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        rows = [{**r.as_row(), "updated_at": now} for r in records]
        with self.engine.begin() as conn:
            for i in range(0, len(rows), CHUNK):
                _upsert_chunk(conn, rows[i:i + CHUNK])
        return len(rows)

    def query(self, flt: QueryFilter = QueryFilter()) -> list[dict[str, Any]]:
        stmt = select(*[frames.c[c] for c in EXPORT_COLUMNS]).where(flt.where()).order_by(
            frames.c.patient_id, frames.c.study_uid, frames.c.series_uid, frames.c.instance_uid, frames.c.frame)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def count(self, flt: QueryFilter = QueryFilter()) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(frames).where(flt.where())).scalar_one())

    def keys(self) -> set[tuple[str, int]]:
        with self.engine.connect() as conn:
            return {(r[0], r[1]) for r in conn.execute(select(frames.c.instance_uid, frames.c.frame))}

    def delete(self, keys: Iterable[tuple[str, int]]) -> int:
        keys = list(keys)
        with self.engine.begin() as conn:
            for i in range(0, len(keys), CHUNK):
                conn.execute(frames.delete().where(
                    tuple_(frames.c.instance_uid, frames.c.frame).in_(keys[i:i + CHUNK])))
        return len(keys)


def _safe_url(url: str) -> str:
    """Never print a database password."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<database URL>"


def upsert_statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (instance_uid, frame) DO UPDATE for SQLite and PostgreSQL; None for other databases.
    Pipeline-only facts keep their value when the new row does not know them (COALESCE)."""
    stmt: Any
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        stmt = sqlite_insert(frames)
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert
        stmt = postgresql_insert(frames)
    else:
        return None
    ex = stmt.excluded
    update: dict[str, Any] = {c.name: ex[c.name] for c in frames.c if not c.primary_key and c.name not in PIPELINE_ONLY}
    update |= {c: func.coalesce(ex[c], frames.c[c]) for c in PIPELINE_ONLY}
    return stmt.on_conflict_do_update(index_elements=["instance_uid", "frame"], set_=update)


def _upsert_chunk(conn: Connection, rows: list[dict[str, Any]]) -> None:
    stmt = upsert_statement(conn.dialect.name)
    if stmt is not None:
        conn.execute(stmt, rows)
        return
    for row in rows:  # portable fallback for other databases: update, insert when nothing was there
        key = and_(frames.c.instance_uid == row["instance_uid"], frames.c.frame == row["frame"])
        values = {k: v for k, v in row.items() if not (k in PIPELINE_ONLY and v is None)}
        if conn.execute(frames.update().where(key).values(values)).rowcount == 0:
            conn.execute(frames.insert().values(row))


# ---- entry points used by the pipeline and the CLI -------------------------------------------------------------

def add_rows(db: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]], output: Path) -> int:
    """Catalogue the rows the pipeline made (FileResult.catalog). Rows naming a JPEG that is not under OUTPUT are
    refused: a row must always lead to its image."""
    records = [CatalogRecord.from_dict(r) for r in rows]
    missing = [r.jpg_path for r in records if not (Path(output) / r.jpg_path).is_file()]
    if missing:
        raise CatalogError(f"{len(missing)} catalogue row(s) name a JPEG missing under {output}, e.g. {missing[0]}")
    with Catalog(db) as cat:
        return cat.upsert(records)


@dataclass
class BuildReport:
    frames: int = 0
    pruned: int = 0
    orphans: list[str] = field(default_factory=list)   # JPEGs without a readable DICOM beside them

    def as_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "pruned": self.pruned, "orphans": len(self.orphans)}


def records_from_tree(output: Path) -> tuple[list[CatalogRecord], list[str]]:
    """Rows for every JPEG under OUTPUT/jpg, each from the de-identified DICOM it came from (read once per file)."""
    records, orphans = [], []
    headers: dict[Path, Any] = {}
    for jpg in iter_jpeg_files(output):
        dcm = jpg.dicom_path(output)
        if dcm not in headers:
            try:
                headers[dcm] = pydicom.dcmread(dcm, stop_before_pixels=True)
            except (OSError, pydicom.errors.InvalidDicomError) as e:
                headers[dcm] = None
                print(f"catalog: no readable DICOM for {jpg.relpath}: {e}", file=sys.stderr)
        ds = headers[dcm]
        if ds is None or str(ds.get("SOPInstanceUID", "")) != jpg.instance_uid:
            orphans.append(jpg.relpath)
            continue
        records.append(record_from_dataset(ds, frame=jpg.frame, jpg_path=jpg.relpath))
    return records, orphans


def build_catalog(output: Path, db: str | os.PathLike[str], *, prune: bool = False) -> BuildReport:
    """(Re)build the catalogue from an existing OUTPUT tree. With prune, rows whose frame is no longer in the tree
    are deleted (use only when the database belongs to this one OUTPUT)."""
    output = Path(output)
    if not (output / "jpg").is_dir():
        raise CatalogError(f"no jpg/ folder under {output}: run the pipeline with --format jpg first")
    records, orphans = records_from_tree(output)
    report = BuildReport(orphans=orphans)
    with Catalog(db) as cat:
        report.frames = cat.upsert(records)
        if prune:
            stale = cat.keys() - {(r.instance_uid, r.frame) for r in records}
            report.pruned = cat.delete(stale)
    return report


def export_rows(rows: Sequence[Mapping[str, Any]], dest: Path, fmt: str | None = None) -> Path:
    """Write rows to Parquet or CSV (by `fmt` or the file extension), atomically."""
    dest = Path(dest)
    fmt = (fmt or dest.suffix.lstrip(".")).lower()
    if fmt not in ("parquet", "csv"):
        raise CatalogError(f"unknown export format {fmt!r}: use a .parquet or .csv file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    if fmt == "csv":
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=EXPORT_COLUMNS)
            w.writeheader()
            w.writerows({k: ("" if r.get(k) is None else r.get(k)) for k in EXPORT_COLUMNS} for r in rows)
    else:
        _write_parquet(rows, tmp)
    os.replace(tmp, dest)
    return dest


def _write_parquet(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise CatalogError("Parquet export needs pyarrow: pip install 'medanon[storage]' (or export to .csv)") from e
    types = {"frame": pa.int32(), "rows": pa.int32(), "columns": pa.int32(), "redaction_boxes": pa.int32(),
             "pixel_spacing_row": pa.float64(), "pixel_spacing_col": pa.float64(), "study_date": pa.date32(),
             "updated_at": pa.timestamp("s")}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in EXPORT_COLUMNS])
    table = pa.table({c: [r.get(c) for r in rows] for c in EXPORT_COLUMNS}, schema=schema)
    pq.write_table(table, path)


# ---- CLI --------------------------------------------------------------------------------------------------------

def _date_arg(text: str) -> dt.date:
    try:
        return parse_date(text)  # type: ignore[return-value]
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inference.storage.catalog", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="catalogue every JPEG of an existing OUTPUT tree")
    b.add_argument("output", type=Path, help="the pipeline's OUTPUT folder (with jpg/ and dicom/)")
    b.add_argument("--db", required=True, help="SQLite file path or SQLAlchemy URL")
    b.add_argument("--prune", action="store_true", help="delete rows whose JPEG is no longer in OUTPUT")
    q = sub.add_parser("query", help="export the rows that match the filters to Parquet or CSV")
    q.add_argument("--db", required=True, help="SQLite file path or SQLAlchemy URL")
    q.add_argument("--modality", action="append", default=[], help="e.g. US (repeat for several)")
    q.add_argument("--body-part", action="append", default=[], help="BodyPartExamined, e.g. CHEST (repeatable)")
    q.add_argument("--since", type=_date_arg, help="first shifted study date, YYYY-MM-DD (inclusive)")
    q.add_argument("--until", type=_date_arg, help="last shifted study date, YYYY-MM-DD (inclusive)")
    q.add_argument("--exam-type", action="append", default=[], help="text in the examination description")
    q.add_argument("--qa-status", action="append", default=[], help="e.g. pass (repeatable)")
    q.add_argument("--to", type=Path, required=True, help="result file: .parquet or .csv")
    q.add_argument("--format", choices=("parquet", "csv"), help="override the format given by --to")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    a = parse_args(argv)
    try:
        if a.command == "build":
            report = build_catalog(a.output, a.db, prune=a.prune)
            print(f"catalog: {report.frames} frames catalogued, {report.pruned} stale rows pruned, "
                  f"{len(report.orphans)} JPEGs without their DICOM", file=sys.stderr)
            for orphan in report.orphans[:20]:
                print(f"  no DICOM for {orphan}", file=sys.stderr)
            return 1 if report.orphans else 0
        flt = QueryFilter(modalities=tuple(a.modality), since=a.since, until=a.until,
                          exam_types=tuple(a.exam_type), qa_statuses=tuple(a.qa_status), body_parts=tuple(a.body_part))
        with Catalog(a.db) as cat:
            rows = cat.query(flt)
        dest = export_rows(rows, a.to, a.format)
        print(f"catalog: {len(rows)} frames written to {dest}", file=sys.stderr)
        return 0
    except CatalogError as e:
        print(f"catalog: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
