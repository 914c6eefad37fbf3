"""One catalogue row per exported JPEG frame, built from the de-identified dataset (never from the original).

The pipeline hands rows as dicts (FileResult.catalog); `build` reads the DICOM beside each JPEG. Both end up as a
CatalogRecord, so the database sees one normalised shape whichever way the row was made.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from pydicom.dataset import Dataset

# Descriptions that say what examination this was; only present when the profile keeps (cleaned) descriptions.
EXAM_TYPE_KEYWORDS = ("StudyDescription", "RequestedProcedureDescription", "ProtocolName", "SeriesDescription")
US_UNITS_CM = 3  # PhysicalUnitsXDirection code for centimetres (PS3.3 C.8.5.5.1.15)


@dataclass(frozen=True)
class CatalogRecord:
    """One JPEG frame and the pseudonymous, technical facts an AI team filters on. `frame` is 0-based."""

    instance_uid: str
    frame: int
    patient_id: str
    study_uid: str
    series_uid: str
    jpg_path: str                        # relative to OUTPUT, e.g. jpg/<patient>/<study>/<series>/<sop>_f0001.jpg
    modality: str | None = None
    body_part: str | None = None
    exam_type: str | None = None
    rows: int | None = None
    columns: int | None = None
    pixel_spacing_row: float | None = None   # mm between rows
    pixel_spacing_col: float | None = None   # mm between columns
    study_date: dt.date | None = None        # already shifted by the header de-identification
    model_version: str | None = None
    redaction_boxes: int | None = None
    qa_status: str | None = None

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> "CatalogRecord":
        """Normalise a pipeline row: '' -> None, 'YYYYMMDD' -> date, 'r\\c' pixel spacing -> two floats.

        Unknown keys are an error: a silent drop would hide a contract change between pipeline and catalogue.
        """
        known = {f.name for f in fields(cls)} | {"pixel_spacing"}
        unknown = set(row) - known
        if unknown:
            raise ValueError(f"unknown catalogue field(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {k: (None if v == "" else v) for k, v in row.items()}
        spacing = values.pop("pixel_spacing", None)
        if spacing is not None and values.get("pixel_spacing_row") is None:
            values["pixel_spacing_row"], values["pixel_spacing_col"] = parse_pixel_spacing(spacing)
        values["study_date"] = parse_date(values.get("study_date"))
        for key in ("frame", "rows", "columns", "redaction_boxes"):
            if values.get(key) is not None:
                values[key] = int(values[key])
        for key in ("instance_uid", "patient_id", "study_uid", "series_uid", "jpg_path"):
            if not values.get(key):
                raise ValueError(f"catalogue row without {key}")
        return cls(**values)

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def parse_date(value: Any) -> dt.date | None:
    """DICOM DA (YYYYMMDD), ISO (YYYY-MM-DD) or a date; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r} (expected YYYYMMDD or YYYY-MM-DD)")


def parse_pixel_spacing(value: Any) -> tuple[float | None, float | None]:
    """'0.5\\0.5', [0.5, 0.5] or a MultiValue -> (row, col) in mm."""
    if value is None or value == "":
        return None, None
    parts = str(value).split("\\") if isinstance(value, str) else list(value)
    if len(parts) != 2:
        raise ValueError(f"pixel spacing needs two values, got {value!r}")
    return float(parts[0]), float(parts[1])


def pixel_spacing_of(ds: Dataset) -> tuple[float | None, float | None]:
    """Pixel spacing in mm wherever the IOD keeps it: PixelSpacing, ImagerPixelSpacing, the shared functional
    groups of enhanced multi-frame images, or the first ultrasound region (given in cm)."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        if ds.get(keyword):
            return parse_pixel_spacing(ds.get(keyword))
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        measures = shared[0].get("PixelMeasuresSequence")
        if measures and measures[0].get("PixelSpacing"):
            return parse_pixel_spacing(measures[0].PixelSpacing)
    regions = ds.get("SequenceOfUltrasoundRegions")
    if regions:
        r = regions[0]
        if r.get("PhysicalUnitsXDirection") == US_UNITS_CM and r.get("PhysicalUnitsYDirection") == US_UNITS_CM:
            return float(r.PhysicalDeltaY) * 10.0, float(r.PhysicalDeltaX) * 10.0
    return None, None


def exam_type_of(ds: Dataset) -> str | None:
    for keyword in EXAM_TYPE_KEYWORDS:
        text = str(ds.get(keyword, "") or "").strip()
        if text:
            return text
    return None


def record_from_dataset(ds: Dataset, *, frame: int, jpg_path: str, model_version: str | None = None,
                        redaction_boxes: int | None = None, qa_status: str | None = None) -> CatalogRecord:
    """The catalogue row of one frame of a DE-IDENTIFIED dataset (callers must never pass the original)."""
    row_mm, col_mm = pixel_spacing_of(ds)
    return CatalogRecord(
        instance_uid=str(ds.SOPInstanceUID),
        frame=frame,
        patient_id=str(ds.get("PatientID", "") or ""),
        study_uid=str(ds.StudyInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        jpg_path=jpg_path,
        modality=str(ds.get("Modality", "") or "") or None,
        body_part=str(ds.get("BodyPartExamined", "") or "") or None,
        exam_type=exam_type_of(ds),
        rows=int(ds.Rows) if ds.get("Rows") else None,
        columns=int(ds.Columns) if ds.get("Columns") else None,
        pixel_spacing_row=row_mm,
        pixel_spacing_col=col_mm,
        study_date=parse_date(ds.get("StudyDate") or ds.get("SeriesDate") or None),
        model_version=model_version,
        redaction_boxes=redaction_boxes,
        qa_status=qa_status,
    )
