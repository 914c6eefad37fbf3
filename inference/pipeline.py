"""process_file: one input file in, its anonymised outputs and audit record out.

A pure function of (file, profile, key, model): it reads the input and returns bytes and a record, writing
nothing, so the same call can run in a local worker today and in a distributed engine later. Every failure
becomes a quarantine result with a reason (fail closed); nothing half-anonymised is ever returned as written.
"""
from __future__ import annotations

import hashlib
import io
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pydicom
from pydicom.tag import Tag
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from .completeness import Incomplete, check_complete
from .context import FileResult, OutputFile, RunOptions
from .discover import read_regular
from .errors import NotReleasable
from .keys import Keyring
from .objects import classify, has_pixels
from .outputs import dicom_relpath, media_relpath
from .resources import DEFAULT_MODEL
from .vrs import CHARACTER_VRS


class Quarantined(NotReleasable):
    """Raised inside the pipeline: the file cannot be released; the message is the reason."""


@dataclass
class Context:
    """What every file needs, built once per worker: options, keyring, the loaded profile and detector."""

    options: RunOptions
    keyring: Keyring
    _profile: Any = None
    _detector: Any = None
    _detector_error: str | None = None
    _textdeid_factory: Callable | None = field(default=None, repr=False)
    _reviews: dict | None = field(default=None, repr=False)

    def review_of(self, source: str, data: bytes) -> Any:
        """The review station's decision for this input (inference/review/store.py), or None: none, or the
        content changed since it was reviewed (a review holds for the bytes the reviewer saw)."""
        if self._reviews is None:
            from .review.store import load_reviews
            self._reviews = load_reviews(self.options.reviews_path)
        review = self._reviews.get(source)
        if review is None or review.digest != hashlib.sha256(data).hexdigest()[:32]:
            return None
        return review

    @property
    def profile(self):
        if self._profile is None:
            from .header import load_profile
            self._profile = load_profile(self.options.profile)
        return self._profile

    def model_version(self) -> str | None:
        """The loaded detector's version (file hash), for catalogue rows and the audit trail."""
        if self._detector is None:
            return None
        meta = getattr(self._detector, "meta", {}) or {}
        return str(meta.get("version") or meta.get("sha256", ""))[:16] or None

    def detector(self):
        """The ONNX text detector, loaded once; a missing model quarantines image files, never skips redaction."""
        if self._detector is None and self._detector_error is None:
            try:
                from .detect import TextDetector
                self._detector = TextDetector(self.options.model_path or DEFAULT_MODEL,
                                              providers=None if self.options.providers is None
                                              else list(self.options.providers),
                                              threads=self.options.detector_threads,
                                              batch=self.options.detector_batch)
            except Exception as e:  # ModelError, ImportError, onnxruntime errors
                self._detector_error = f"text detector unavailable: {e}"
        if self._detector is None:
            raise Quarantined(self._detector_error or "text detector unavailable")
        return self._detector


def _declared_syntax(data: bytes) -> str | None:
    """The Transfer Syntax UID of the file meta, read before the body: an unknown one is refused by name."""
    if len(data) < 132 or data[128:132] != b"DICM":
        return None
    try:
        from pydicom.filereader import _read_file_meta_info
        meta = _read_file_meta_info(io.BytesIO(data[132:]))
        return str(meta.get("TransferSyntaxUID", "")) or None
    except Exception:
        return None


def _check_inflated_size(data: bytes, budget_bytes: int) -> None:
    """A Deflate body is inflated against the budget first: pydicom inflates it whole, so a small deflate
    bomb would otherwise take all memory. A corrupt or truncated stream is refused here with its reason."""
    import zlib

    from pydicom.filereader import _read_file_meta_info
    fp = io.BytesIO(data[132:])
    _read_file_meta_info(fp)
    inflater, step = zlib.decompressobj(-zlib.MAX_WBITS), 1 << 24  # inflated a slice at a time, then dropped
    size, body = 0, data[132 + fp.tell():]
    try:
        for start in range(0, len(body), step):
            size += len(inflater.decompress(body[start:start + step], step))
            while inflater.unconsumed_tail and size <= budget_bytes:
                size += len(inflater.decompress(inflater.unconsumed_tail, step))
            if size > budget_bytes:
                raise Quarantined(f"deflated data inflates beyond the decode budget {budget_bytes >> 20} MiB "
                                  "(--max-decoded-mb): not read")
        size += len(inflater.flush())
    except zlib.error as e:
        raise Quarantined(f"cannot parse DICOM: corrupt or truncated Deflate stream: {e}") from e
    if not inflater.eof:
        raise Quarantined("cannot parse DICOM: truncated Deflate stream (no end of stream)")


_DELIMITERS = (0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD)  # item, item delimitation, sequence delimitation


def _drop_stray_delimiters(ds: Dataset) -> None:
    """Remove item/sequence delimiters found at the top level of a dataset: structure markers with no value, left
    by a writer that closed a sequence twice (fo-dicom's DIRW0007). Every real sequence is still checked closed
    (completeness.check_complete); without this, pydicom refuses the whole file on the marker's VR."""
    for tag in map(Tag, _DELIMITERS):
        if tag in ds._dict:
            del ds._dict[tag]


def read_dataset(data: bytes, budget_bytes: int | None = None) -> Dataset:
    """Parse a DICOM file from bytes; files without preamble are accepted, anything unparsable is refused."""
    syntax = _declared_syntax(data)
    if syntax and not UID(syntax).is_transfer_syntax:
        raise Quarantined(f"unsupported transfer syntax {syntax}: not known to this version of pydicom")
    if syntax == pydicom.uid.DeflatedExplicitVRLittleEndian and budget_bytes is not None:
        _check_inflated_size(data, budget_bytes)
    has_preamble = len(data) >= 132 and data[128:132] == b"DICM"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=not has_preamble)
            _drop_stray_delimiters(ds)
            # touch every element now so a truncated or corrupt file fails here, not half-way through
            for _ in ds.iterall():
                pass
    except Exception as e:
        raise Quarantined(f"cannot parse DICOM: {type(e).__name__}: {e}") from e
    _check_text_values(ds)
    if "PixelData" in ds:
        _check_pixel_length(ds)
    return ds


def require_complete(data: bytes) -> None:
    """A file cut short parses (a truncated SR reads as fewer items): any object, not only images, is held back."""
    try:
        check_complete(data)
    except Incomplete as e:
        raise Quarantined(f"truncated or malformed file: {e}") from e


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")  # TAB, LF, FF, CR and ESC (ISO 2022) are text


def _check_text_values(ds: Dataset) -> None:
    """A text value holding control bytes means a mis-parsed file: a changed length made one element swallow
    the following ones, whose values (a patient name) would then pass de-identification as, say, a time."""
    for elem in ds.iterall():
        if elem.VR not in CHARACTER_VRS or elem.value is None:
            continue
        values = elem.value if isinstance(elem.value, (list, tuple, MultiValue)) else [elem.value]
        if any(_CONTROL.search(str(v).rstrip("\x00 ")) for v in values):
            raise Quarantined(f"corrupt or mis-parsed file: element {elem.tag} ({elem.VR}) holds binary data")


def _check_pixel_length(ds: Dataset) -> None:
    """A truncated native PixelData parses but is short: catch it before any handler trusts it."""
    if ds.PixelData is None or len(ds.PixelData) == 0:
        raise Quarantined("pixel data element is empty")
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if ts is not None and UID(ts).is_compressed:
        return
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        spp, bits = int(ds.get("SamplesPerPixel", 1)), int(ds.BitsAllocated)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError) as e:
        raise Quarantined(f"image attributes missing or invalid: {e}") from e
    if str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422" and spp == 3:
        spp = 2  # two chroma samples shared by each pair of pixels
    expected = (rows * cols * spp * frames * bits + 7) // 8
    if len(ds.PixelData) < expected:
        raise Quarantined(f"pixel data truncated: {len(ds.PixelData)} of {expected} bytes")


def fill_missing_uids(ds: Dataset, data: bytes, keyring: Keyring) -> list[str]:
    """Incomplete objects lack a study, series or instance UID: derive keyed ones so the object can be placed
    (and told apart) without inventing identity. Recorded in the audit trail."""
    added = []
    if not ds.get("StudyInstanceUID"):
        ds.StudyInstanceUID = keyring.uid("missing-study:" + "|".join(
            str(ds.get(k, "")) for k in ("PatientID", "StudyID", "StudyDate", "AccessionNumber")))
        added.append("StudyInstanceUID")
    if not ds.get("SeriesInstanceUID"):
        ds.SeriesInstanceUID = keyring.uid("missing-series:" + "|".join(
            str(ds.get(k, "")) for k in ("StudyInstanceUID", "SeriesNumber", "Modality")))
        added.append("SeriesInstanceUID")
    if not ds.get("SOPClassUID"):
        # Type 1 in every IOD; its absence means an incomplete or truncated object, whatever the file meta says
        raise Quarantined("SOPClassUID missing in the dataset: incomplete or truncated object")
    if not ds.get("SOPInstanceUID"):
        meta_uid = getattr(getattr(ds, "file_meta", None), "MediaStorageSOPInstanceUID", None)
        if not meta_uid:
            raise Quarantined("SOPInstanceUID missing: the object cannot be identified")
        ds.SOPInstanceUID = meta_uid
        added.append("SOPInstanceUID (from file meta)")
    return added


def blanked_regions(report: Any) -> list[list[int]]:
    """Every rectangle blanked on any frame [x0, y0, x1, y1] (x1/y1 exclusive): for QA and over-redaction
    measurement. Coordinates only; no pixel content."""
    import numpy as np
    rects = [np.asarray(r).reshape(-1, 4) for r in getattr(report, "boxes_per_frame", [])]
    if not rects:
        return []
    return np.unique(np.concatenate(rects), axis=0).astype(int).tolist()


def patient_folder(ds: Dataset, keyring: Keyring) -> str:
    """The pseudonymous PatientID names the folder; objects without one are grouped per (remapped) study."""
    pid = str(ds.get("PatientID", "") or "").strip()
    return pid or "NOID-" + keyring.token("no-patient-id", str(ds.StudyInstanceUID), 10)


def _serialise(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _ensure_file_meta(ds: Dataset) -> None:
    """Inputs without a preamble have no file meta: build one so the output is a conformant Part 10 file."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian if getattr(ds, "is_implicit_VR", True) \
            else pydicom.uid.ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


def _extra_boxes(ds: Dataset, ctx: Context, review: Any, result: FileResult) -> tuple:
    """Reviewer boxes and accepted device-template regions, blanked in addition to the detector's."""
    from .pixels.templates import accepted_boxes, device_key
    template = accepted_boxes(ctx.options.templates_dir, device_key(result.actions.get("device") or {}))
    reviewed = list(review.added) if review is not None else []
    if template or reviewed:
        result.actions["extra_boxes"] = {"template": len(template), "review": len(reviewed)}
    return tuple(template + reviewed)


def _content_handler(handler: str, ds: Dataset, identity: Any, textdeid: Any, ctx: Context,
                     result: FileResult, review: Any = None) -> Any:
    """Clean what the object carries besides its header (pixels, SR tree, PDF, waveform annotations)."""
    if handler == "header":
        if "GraphicAnnotationSequence" in ds:  # presentation states: free text drawn over the image
            from .pixels import clean_presentation_state
            result.actions["text_objects_removed"] = clean_presentation_state(ds)
        from .pixels.encode import convert_big_endian
        if convert_big_endian(ds):
            ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
            result.actions["big_endian_converted"] = True
        return None
    if handler == "image":
        from .pixels import PixelOptions, redact_dataset
        approved = review is not None and review.decision == "approved"
        report = redact_dataset(ds, ctx.detector(), PixelOptions(
            lossy_reencode=ctx.options.lossy_reencode, extra_boxes=_extra_boxes(ds, ctx, review, result),
            # a person looked at this file and approved it: "flagged but nothing found" is no longer uncertain
            quarantine_flagged_without_text=not approved))
        result.actions["pixels"] = report.to_record()
        result.actions["pixels"]["regions"] = blanked_regions(report)
        per_frame = [r.reshape(-1, 4).astype(int).tolist() for r in report.boxes_per_frame]
        if len(per_frame) > 1 and any(r != per_frame[0] for r in per_frame):
            result.actions["pixels"]["regions_by_frame"] = per_frame  # the review station draws each frame's own
        return report
    if handler == "sr":
        from .documents.sr import deidentify_sr
        result.actions["sr"] = deidentify_sr(ds, identity, ctx.keyring, textdeid)
    elif handler == "pdf":
        from .documents.pdf import deidentify_pdf
        result.actions["document"] = deidentify_pdf(ds, identity, ctx.keyring, textdeid, detector=ctx.detector())
    elif handler == "waveform":
        from .documents.waveform import deidentify_waveform
        result.actions["waveform"] = deidentify_waveform(ds, identity, ctx.keyring, textdeid)
    else:
        raise Quarantined(f"no content handler for {handler!r}")
    return None


def _media_outputs(ds: Dataset, report: Any, dicom_rel: str, options: RunOptions) -> list[OutputFile]:
    """JPEG per frame and MP4 per multi-frame object, from the redacted 8-bit frames."""
    wanted = [f for f in options.formats if f in ("jpg", "mp4")]
    if not wanted or report is None:
        return []
    from .export.jpg import frames_to_jpeg
    from .export.mp4 import fps_of, frames_to_mp4
    outs: list[OutputFile] = []
    if "jpg" in wanted:
        for i, data in enumerate(frames_to_jpeg(report.frames_view)):
            outs.append(OutputFile(media_relpath("jpg", dicom_rel, i), data, "jpg"))
    if "mp4" in wanted and int(ds.get("NumberOfFrames", 1) or 1) > 1:
        outs.append(OutputFile(media_relpath("mp4", dicom_rel), frames_to_mp4(report.frames_view, fps_of(ds)), "mp4"))
    return outs


def versioned_uid(keyring: Keyring, original_uid: str, content_digest: str) -> str:
    """The output SOP Instance UID of a later, different version of an instance already released: keyed on the
    original UID and the input's content, so both versions keep distinct outputs (README: same SOP Instance UID)."""
    return keyring.uid(f"{original_uid.strip()}|content:{content_digest}")


def process_file(path: Path, source: str, ctx: Context, version: str | None = None) -> FileResult:
    """Anonymise one file. Never raises: failures come back as status 'quarantined' with the reason.

    version: the input's content digest when an earlier run released different content under the same SOP
    Instance UID; the output then gets `versioned_uid` instead of the plain keyed UID."""
    result = FileResult(source=source, status="quarantined")
    t0 = time.perf_counter()
    try:
        data = read_regular(Path(path))  # a regular file, read to its size: never a FIFO or a device
        budget = ctx.options.max_decoded_mb << 20
        ds = read_dataset(data, budget)
        require_complete(data)
        if "PixelData" in ds:
            from .pixels.decode import check_decode_budget
            from .pixels.errors import PixelError
            try:
                check_decode_budget(ds, budget)
            except PixelError as e:
                raise Quarantined(str(e)) from e
        result.timings["read"] = time.perf_counter() - t0
        result.object_type, result.handler = classify(ds)
        review = ctx.review_of(source, data) if ctx.options.reviews_path else None
        if review is not None:
            result.actions["review"] = {"decision": review.decision, "reviewer": review.reviewer,
                                        "time": review.time, "boxes_added": len(review.added)}
        if "Rows" in ds and "Columns" in ds:
            from .pixels.templates import device_of
            result.actions["device"] = device_of(ds)  # manufacturer, model, frame size: review station, templates
        if result.handler == "image" and "PixelData" not in ds and "FloatPixelData" not in ds:
            raise Quarantined("image object without pixel data: truncated or incomplete")
        if result.handler not in ("image", "header") and has_pixels(ds):
            raise Quarantined(f"pixel data in a {result.object_type} object: its content handler does not clean "
                              "pixels, not released")
        if result.object_type in ctx.options.drop:
            result.status, result.reason = "dropped", f"object type {result.object_type} dropped by --drop"
            return result
        added = fill_missing_uids(ds, data, ctx.keyring)
        if added:
            result.actions["added"] = added
        original_sop_uid = str(ds.SOPInstanceUID)

        from .identity import Identity
        from .textdeid import TextDeidentifier
        identity = Identity.from_dataset(ds)
        textdeid = TextDeidentifier(identity, ctx.keyring)

        t = time.perf_counter()
        # the input's method codes describe an earlier process and may be false now: the header engine writes
        # what this run did (a stale 113101 must not survive on an object whose pixels we did not clean)
        ds.pop("DeidentificationMethodCodeSequence", None)
        report = _content_handler(result.handler, ds, identity, textdeid, ctx, result, review)
        result.timings["content"] = time.perf_counter() - t

        t = time.perf_counter()
        from .documents import keep_tags, method_codes
        from .header import deidentify_dataset
        header_report = deidentify_dataset(ds, ctx.profile, ctx.keyring, identity=identity,
                                           clean_text=textdeid.scrub, keep_tags=keep_tags(result.handler),
                                           content_codes=method_codes(result.handler))
        result.actions["header"] = header_report.to_record()
        if version:
            ds.SOPInstanceUID = versioned_uid(ctx.keyring, original_sop_uid, version)
            result.actions["uid_version"] = version
        _ensure_file_meta(ds)
        result.timings["header"] = time.perf_counter() - t

        if ctx.options.audit:
            t = time.perf_counter()
            from .audit import AuditOptions, audit_dataset
            verdict = audit_dataset(ds, original_identity=identity, options=AuditOptions(
                max_frames=ctx.options.audit_max_frames, flag_any_text=ctx.options.audit_flag_any_text,
                allow_private_tags=bool(getattr(ctx.profile, "safe_private", ()))))
            result.timings["audit"] = time.perf_counter() - t
            if verdict.flagged and review is not None and review.decision == "approved":
                # a reviewer saw this file and approved its release: the findings stay in the trail
                result.actions["audit_findings_approved"] = list(verdict.reasons)[:20]
            elif verdict.flagged:
                raise Quarantined("auditor flagged the output: " + "; ".join(verdict.reasons)[:500])

        t = time.perf_counter()
        rel = dicom_relpath(patient_folder(ds, ctx.keyring), ds.StudyInstanceUID, ds.SeriesInstanceUID,
                            ds.SOPInstanceUID)
        outputs: list[OutputFile] = []
        if "dicom" in ctx.options.formats:
            outputs.append(OutputFile(rel, _serialise(ds), "dicom"))
        outputs += _media_outputs(ds, report, rel, ctx.options)
        result.timings["write"] = time.perf_counter() - t
        if review is not None and review.decision == "needs redaction":
            raise Quarantined(f"reviewer {review.reviewer} marked this file 'needs redaction' on {review.time}: "
                              "held back until approved in the review station")
        if not outputs:
            result.status, result.reason = "skipped", "no output of the requested formats for this object type"
            return result
        result.outputs = outputs
        result.catalog = _catalog_rows(ds, report, outputs, ctx)
        result.status = "written"
    except Quarantined as e:
        result.reason = str(e)
    except NotReleasable as e:  # a refusal by policy from a stage (HeaderError, PixelError, DocumentError...)
        result.reason = f"{type(e).__name__}: {e}"[:1000]
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # anything unexpected is a reason to hold the file back, never to release it
        # BaseException: a native library's panic (pyo3 PanicException) is not an Exception subclass
        result.reason = f"{type(e).__name__}: {e}"[:1000]
        result.internal_error = True  # a bug, not a policy: the summary counts it apart
    finally:
        result.timings["total"] = time.perf_counter() - t0
    if result.status != "written":
        result.outputs = []
    return result


def _catalog_rows(ds: Dataset, report: Any, outputs: list[OutputFile], ctx: Context) -> list[dict[str, Any]]:
    """One row per JPEG frame for the image catalogue, built from the DE-IDENTIFIED dataset only."""
    from .storage.records import record_from_dataset
    rows = []
    boxes = getattr(report, "boxes_total", None)
    qa = "audited" if ctx.options.audit else "not-audited"
    for o in outputs:
        if o.kind != "jpg":
            continue
        frame = int(o.relpath.rsplit("_f", 1)[1][:-4]) - 1
        rows.append(record_from_dataset(ds, frame=frame, jpg_path=o.relpath, model_version=ctx.model_version(),
                                        redaction_boxes=boxes, qa_status=qa).as_row())
    return rows
