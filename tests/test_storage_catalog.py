"""The JPEG catalogue: rows match the files, queries return the right sets, re-runs never duplicate rows."""
from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest

from inference.storage.catalog import Catalog, CatalogError, QueryFilter, add_rows, build_catalog, export_rows
from inference.storage.catalog import main as catalog_main
from inference.storage.records import CatalogRecord
from postgres_fixture import fresh_database, postgres_url  # noqa: F401 - postgres_url is a fixture
from storage_fixtures import make_output_tree

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tree(tmp_path_factory, shared_dicom):
    return make_output_tree(tmp_path_factory.mktemp("catalog") / "OUTPUT", shared_dicom)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """A fresh, empty catalogue location: an SQLite file, or a new database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "catalog.sqlite"
    return fresh_database(request.getfixturevalue("postgres_url"))


@pytest.fixture()
def built(tree, db):
    report = build_catalog(tree.root, db)
    assert report.orphans == []
    return db


def test_rows_match_files(tree, built):
    rows = Catalog(built).query()
    on_disk = {p.relative_to(tree.root).as_posix() for w in tree.instances for p in w.jpgs}
    assert {r["jpg_path"] for r in rows} == on_disk
    assert len(rows) == tree.frame_count == 9
    for r in rows:
        assert (tree.root / r["jpg_path"]).is_file()
        assert r["jpg_path"].endswith(f"{r['instance_uid']}_f{r['frame'] + 1:04d}.jpg")
    cine = [r for r in rows if r["series_uid"] == tree.of(modality="US", patient_id="PAT-A")[0].series_uid]
    assert sorted(r["frame"] for r in cine) == [0, 1, 2]
    # header facts come from the de-identified DICOM beside the JPEG
    by_sop = {(r["instance_uid"], r["frame"]): r for r in rows}
    ct = by_sop[(tree.of(modality="CT")[0].instance_uid, 0)]
    assert (ct["modality"], ct["body_part"], ct["exam_type"]) == ("CT", "CHEST", "CT THORAX")
    assert (ct["rows"], ct["columns"], ct["pixel_spacing_row"]) == (64, 64, 0.7)
    assert ct["study_date"] == dt.date(2024, 3, 5) and ct["patient_id"] == "PAT-A"
    # ultrasound spacing comes from the region calibration (cm -> mm)
    assert cine[0]["pixel_spacing_row"] == pytest.approx(0.25) and cine[0]["pixel_spacing_col"] == pytest.approx(0.2)


def test_queries_return_the_right_sets(tree, built):
    cat = Catalog(built)
    keys = lambda flt: {(r["instance_uid"], r["frame"]) for r in cat.query(flt)}  # noqa: E731
    expect = lambda ws: {(w.instance_uid, i) for w in ws for i in range(len(w.jpgs))}  # noqa: E731
    assert keys(QueryFilter(modalities=("us",))) == expect(tree.of(modality="US"))
    assert keys(QueryFilter(modalities=("US",), since=dt.date(2020, 1, 1))) == expect(
        tree.of(modality="US", patient_id="PAT-A"))
    assert keys(QueryFilter(until=dt.date(2019, 6, 30))) == expect(tree.of(patient_id="PAT-B"))
    assert keys(QueryFilter(since=dt.date(2024, 3, 6))) == set()
    assert keys(QueryFilter(modalities=("CT", "MR"))) == expect(tree.of(modality="CT") + tree.of(modality="MR"))
    assert keys(QueryFilter(exam_types=("abdomen",))) == expect(tree.of(patient_id="PAT-B"))
    assert keys(QueryFilter(body_parts=("abdomen",))) == expect(tree.of(modality="US"))
    assert cat.count(QueryFilter(qa_statuses=("pass",))) == 0  # the tree alone knows no QA status


def test_rerun_is_idempotent_and_keeps_pipeline_facts(tree, built):
    cat = Catalog(built)
    w = tree.of(modality="MR")[0]
    row = {"patient_id": w.patient_id, "study_uid": w.study_uid, "series_uid": w.series_uid,
           "instance_uid": w.instance_uid, "frame": 0, "modality": "MR", "body_part": "CHEST", "exam_type": "",
           "rows": 48, "columns": 40, "pixel_spacing": "1.0\\1.2", "study_date": "20240305", "redaction_boxes": 2,
           "qa_status": "pass", "model_version": "detector-v1",
           "jpg_path": w.jpgs[0].relative_to(tree.root).as_posix()}
    assert add_rows(built, [row], tree.root) == 1
    assert add_rows(built, [row], tree.root) == 1
    again = build_catalog(tree.root, built)           # a later build must not blank what only the pipeline knew
    assert again.frames == tree.frame_count
    assert cat.count() == tree.frame_count
    from sqlalchemy import text
    with cat.engine.connect() as con:
        assert tuple(con.execute(text("select count(*), count(distinct instance_uid || '/' || frame) from jpeg_frames")
                                 ).one()) == (9, 9)
    passed = cat.query(QueryFilter(qa_statuses=("pass",)))
    assert [(r["instance_uid"], r["redaction_boxes"], r["model_version"]) for r in passed] == [
        (w.instance_uid, 2, "detector-v1")]


def test_pipeline_rows_are_checked(tree, db):
    w = tree.of(modality="MR")[0]
    row = {"patient_id": w.patient_id, "study_uid": w.study_uid, "series_uid": w.series_uid,
           "instance_uid": w.instance_uid, "frame": 0, "jpg_path": "jpg/nowhere_f0001.jpg"}
    with pytest.raises(CatalogError, match="missing"):
        add_rows(db, [row], tree.root)
    with pytest.raises(ValueError, match="unknown catalogue field"):
        CatalogRecord.from_dict({**row, "PatientName": "x"})


def test_prune_removes_rows_of_deleted_frames(tree, db):
    stale = CatalogRecord(instance_uid="2.25.1", frame=0, patient_id="P", study_uid="2.25.2", series_uid="2.25.3",
                          jpg_path="jpg/P/2.25.2/2.25.3/2.25.1_f0001.jpg")
    Catalog(db).upsert([stale])
    report = build_catalog(tree.root, db, prune=True)
    assert report.pruned == 1 and Catalog(db).count() == tree.frame_count


def test_orphan_jpeg_is_reported(tmp_path, db):
    jpg = tmp_path / "OUT" / "jpg" / "P" / "S" / "R" / "2.25.9_f0001.jpg"
    jpg.parent.mkdir(parents=True)
    jpg.write_bytes(b"not really a jpeg")
    report = build_catalog(tmp_path / "OUT", db)
    assert report.orphans == ["jpg/P/S/R/2.25.9_f0001.jpg"] and report.frames == 0


def test_export_parquet_and_csv(tree, built, tmp_path):
    rows = Catalog(built).query(QueryFilter(modalities=("US",)))
    table = pq.read_table(export_rows(rows, tmp_path / "us.parquet"))
    assert table.num_rows == 4 and table.schema.field("study_date").type == "date32[day]"
    assert sorted(table.column("jpg_path").to_pylist()) == sorted(r["jpg_path"] for r in rows)
    with open(export_rows(rows, tmp_path / "us.csv"), newline="") as f:
        assert sorted(r["instance_uid"] for r in csv.DictReader(f)) == sorted(r["instance_uid"] for r in rows)
    with pytest.raises(CatalogError, match="format"):
        export_rows(rows, tmp_path / "us.xlsx")


def test_cli_build_and_query(tree, tmp_path, db, capsys):
    r = subprocess.run([sys.executable, "-m", "inference.storage.catalog", "build", str(tree.root), "--db", str(db)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "9 frames catalogued" in r.stderr, r.stderr
    assert catalog_main(["build", str(tree.root), "--db", str(db)]) == 0      # a re-run adds nothing
    out = tmp_path / "us.csv"
    assert catalog_main(["query", "--db", str(db), "--modality", "US", "--since", "2020-01-01", "--to", str(out)]) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {row["modality"] for row in rows} == {"US"}
    with pytest.raises(SystemExit) as exit_:
        catalog_main(["query", "--db", str(db), "--since", "2020-13-01", "--to", str(out)])
    assert exit_.value.code == 2 and "not a date" in capsys.readouterr().err


def test_postgresql_upsert_statement_is_keyed_and_keeps_pipeline_facts():
    """The SQL a PostgreSQL server gets (the [postgresql] tests run it against a real one)."""
    from sqlalchemy.dialects import postgresql

    from inference.storage.catalog import upsert_statement
    sql = str(upsert_statement("postgresql").compile(dialect=postgresql.dialect()))
    assert "ON CONFLICT (instance_uid, frame) DO UPDATE SET" in sql
    assert "coalesce(excluded.qa_status, jpeg_frames.qa_status)" in sql
    assert "modality = excluded.modality" in sql
    assert upsert_statement("mssql") is None


def test_generic_fallback_upsert_is_idempotent(tree, db, monkeypatch):
    """Databases without ON CONFLICT take the update-then-insert path; it must not duplicate either."""
    import inference.storage.catalog as catalog
    monkeypatch.setattr(catalog, "upsert_statement", lambda dialect: None)
    for _ in range(2):
        assert build_catalog(tree.root, db).frames == tree.frame_count
    assert Catalog(db).count() == tree.frame_count


def test_record_from_dataset_round_trips_through_dict(tree):
    """The pipeline may hand either dicts or record_from_dataset(...).as_row(): both give the same record."""
    from inference.storage.records import record_from_dataset
    w = tree.of(modality="US", patient_id="PAT-A")[0]
    rec = record_from_dataset(pydicom.dcmread(w.dicom), frame=2, jpg_path="jpg/x_f0003.jpg", redaction_boxes=1,
                              model_version="m1", qa_status="pass")
    assert CatalogRecord.from_dict(rec.as_row()) == rec
    assert (rec.pixel_spacing_row, rec.study_date, rec.exam_type) == (0.25, dt.date(2024, 3, 5), "CT THORAX")
