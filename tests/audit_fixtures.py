"""Planted test data for the auditor: DICOM images with burned-in fake Lithuanian personal data + exact labels.

Written in synth/'s label format (gt/<id>.json: items [{text, phi, kind, box, chars, angle, frames}],
images/<id>.dcm) so the auditor's ground-truth code reads both. Own generator so the audit tests do not move
when synth/'s layouts change; benchmarks/bench_audit.py can use either.

Also the redactors the tests need: a correct one (blank the labelled boxes grown by a margin + a header
rebuilt without personal data) and three deliberately broken ones.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from inference.textdeid import personal_code_valid
from inference.keys import Keyring

FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf"]
GIVEN = ["Jonas", "Petras", "Ona", "Rūta", "Žydrūnas", "Ąžuolas", "Eglė", "Vytautas", "Gintarė", "Šarūnas",
         "Aistė", "Mindaugas"]
SURNAMES = ["Petraitis", "Kazlauskas", "Jankauskienė", "Žukauskas", "Stankevičius", "Vasiliauskaitė", "Butkus",
            "Paulauskas", "Urbonas", "Navickas", "Šimkutė", "Kęstutaitis"]
INSTITUTIONS = ["Kauno klinikos", "Šiaulių ligoninė", "Vilniaus poliklinika", "Panevėžio ligoninė"]
NON_PHI = ["L", "5 cm", "Gain 52", "FPS 30", "C5-1", "MI 1.2", "TIS 0.4", "R", "HFS", "kV 120"]
SOP = {"US": "1.2.840.10008.5.1.4.1.1.6.1", "CT": "1.2.840.10008.5.1.4.1.1.2", "DX": "1.2.840.10008.5.1.4.1.1.1.1"}
SHAPES = {"US": (360, 480), "CT": (320, 320), "DX": (384, 320)}
MARGIN = 3


def personal_code(rng: random.Random, born: date, female: bool) -> str:
    first = {(19, False): "3", (19, True): "4", (20, False): "5", (20, True): "6"}[(born.year // 100, female)]
    stem = f"{first}{born:%y%m%d}{rng.randrange(1000):03d}"
    return next(stem + str(k) for k in range(10) if personal_code_valid(stem + str(k)))


@dataclass
class Planted:
    id: str
    path: Path
    gt_path: Path


def _background(rng: np.random.Generator, modality: str, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols]
    if modality == "US":   # speckle in a sector
        cone = (np.abs(xx - cols / 2) < (yy - rows * 0.12) * 0.8) & (yy > rows * 0.12) & (yy < rows * 0.92)
        img = rng.gamma(1.5, 30, shape) * cone
        return np.clip(img, 0, 200).astype(np.uint8)
    body = ((xx - cols / 2) ** 2 + (yy - rows / 2) ** 2) < (min(shape) * 0.38) ** 2
    img = body * (900 + rng.normal(0, 60, shape)) + 24
    return np.clip(img, 0, 1600).astype(np.uint16) if modality == "CT" else np.clip(img / 8, 0, 220).astype(np.uint8)


def _draw(img: Image.Image, text: str, xy: tuple[int, int], font: ImageFont.FreeTypeFont, fill) -> dict:
    d = ImageDraw.Draw(img)
    d.text(xy, text, font=font, fill=fill)
    x0, y0, x1, y1 = d.textbbox(xy, text, font=font)
    chars = []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        cx0 = xy[0] + d.textlength(text[:i], font=font)
        cx1 = xy[0] + d.textlength(text[:i + 1], font=font)
        chars.append([int(cx0), y0, int(np.ceil(cx1)), y1])
    return {"box": [x0, y0, x1, y1], "chars": chars}


def make_case(out: Path, index: int, seed: int) -> Planted:
    rng = random.Random(seed * 1000 + index)
    nrng = np.random.default_rng(seed * 1000 + index)
    modality = ["US", "CT", "DX"][index % 3]
    rows, cols = SHAPES[modality]
    female = rng.random() < 0.5
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 60))
    code = personal_code(rng, born, female)
    studied = date(2022, 1, 1) + timedelta(days=rng.randrange(700))
    accession = f"A{rng.randrange(10**6, 10**7)}"
    institution = rng.choice(INSTITUTIONS)
    n_frames = 2 if index % 8 == 7 else 1

    font = ImageFont.truetype(rng.choice(FONTS), rng.choice([13, 14, 15, 16, 18]))
    dob_text = born.strftime(rng.choice(["%Y-%m-%d", "%d.%m.%Y", "%Y.%m.%d"]))
    phi_texts = [(f"{surname.upper()} {given.upper()}" if rng.random() < 0.5 else f"{surname}, {given}", "name"),
                 (code, "id"), (dob_text, "date"), (accession, "id"), (institution, "institution"),
                 (studied.strftime("%Y-%m-%d") + f" {rng.randrange(7, 18):02d}:{rng.randrange(60):02d}", "date")]
    non_phi = rng.sample(NON_PHI, 3)
    bg = _background(nrng, modality, (rows, cols))
    peak = 1600 if modality == "CT" else 255
    canvas_mode = "I" if modality == "CT" else "L"
    base = Image.fromarray(bg.astype(np.int32) if modality == "CT" else bg, mode=canvas_mode)
    items = []
    y = 6
    for text, kind in phi_texts:   # top-left block, one line each
        box = _draw(base, text, (6, y), font, peak)
        items.append({"text": text, "phi": True, "kind": kind, "angle": 0, "frames": None, **box})
        y = box["box"][3] + 4
    yb = rows - 6 - 3 * (font.size + 6)
    for text in non_phi:           # bottom-right block: technical labels that stay
        w = int(ImageDraw.Draw(base).textlength(text, font=font))
        box = _draw(base, text, (cols - w - 8, yb), font, peak)
        items.append({"text": text, "phi": False, "kind": "technical", "angle": 0, "frames": None, **box})
        yb = box["box"][3] + 5
    arr = np.asarray(base).astype(np.uint16 if modality == "CT" else np.uint8)
    if modality == "US":
        arr = np.stack([arr, arr, (arr * 0.9).astype(np.uint8)], axis=-1)
    if n_frames > 1:
        arr = np.stack([arr] * n_frames)

    ds = _dataset(modality, arr, n_frames)
    ds.PatientName = f"{surname}^{given}"
    ds.PatientID = code
    ds.PatientBirthDate = born.strftime("%Y%m%d")
    ds.PatientSex = "F" if female else "M"
    ds.AccessionNumber = accession
    ds.InstitutionName = institution
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = studied.strftime("%Y%m%d")
    ds.ReferringPhysicianName = f"{rng.choice(SURNAMES)}^{rng.choice(GIVEN)}"
    ds.StudyDescription = f"{modality} tyrimas"

    case_id = f"audit{seed:02d}_{index:03d}"
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    path, gt_path = out / "images" / f"{case_id}.dcm", out / "gt" / f"{case_id}.json"
    ds.save_as(path, enforce_file_format=True)
    gt_path.write_text(json.dumps({"id": case_id, "modality": modality, "items": items}, ensure_ascii=False, indent=1))
    return Planted(case_id, path, gt_path)


def _dataset(modality: str, arr: np.ndarray, n_frames: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.file_meta.MediaStorageSOPClassUID = SOP[modality]
    ds.SOPClassUID = SOP[modality]
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    colour = arr.shape[-1] == 3 and modality == "US"
    ds.Rows, ds.Columns = (arr.shape[-3], arr.shape[-2]) if colour else (arr.shape[-2], arr.shape[-1])
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else ("MONOCHROME2" if modality != "DX" else "MONOCHROME2")
    if colour:
        ds.PlanarConfiguration = 0
    bits = 16 if arr.dtype == np.uint16 else 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if n_frames > 1:
        ds.NumberOfFrames = n_frames
    ds.BurnedInAnnotation = "YES"
    ds.PixelData = arr.tobytes()
    return ds


def make_set(out: Path, n: int, seed: int = 1) -> list[Planted]:
    return [make_case(out, i, seed) for i in range(n)]


# --- redactors: one correct, three broken ------------------------------------------------------------------

KEYRING = Keyring(b"audit-test-key-0123456789abcdef!")
_KEEP = ("SOPClassUID", "Modality", "Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation",
         "PlanarConfiguration", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "NumberOfFrames",
         "PatientSex", "StudyDescription")


def correct_header(orig: Dataset) -> Dataset:
    """What a correct header de-identification leaves: technical attributes, keyed pseudonyms and UIDs,
    shifted dates, the de-identification flags."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    for kw in _KEEP:
        if kw in orig:
            setattr(ds, kw, orig.data_element(kw).value)
    ds.file_meta.MediaStorageSOPClassUID = orig.SOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = KEYRING.uid(orig.SOPInstanceUID)
    ds.StudyInstanceUID = KEYRING.uid(orig.StudyInstanceUID)
    ds.SeriesInstanceUID = KEYRING.uid(orig.SeriesInstanceUID)
    ds.PatientName = KEYRING.token("name", str(orig.get("PatientName", "")))
    ds.PatientID = KEYRING.token("id", str(orig.get("PatientID", "")))
    shift = timedelta(days=-(1 + KEYRING._digest("date", str(orig.get("PatientID", "")))[0] % 700))
    for kw in ("StudyDate", "SeriesDate", "ContentDate"):
        value = str(orig.get(kw, "") or "")
        if len(value) == 8 and value.isdigit():
            d = date(int(value[:4]), int(value[4:6]), int(value[6:8])) + shift
            setattr(ds, kw, d.strftime("%Y%m%d"))
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "medanon test redactor"
    ds.BurnedInAnnotation = "NO"
    return ds


def blank_boxes(orig: Dataset, items: list[dict], part: str = "full") -> np.ndarray:
    """The original pixels with each personal-data box (grown by MARGIN) set to 0; part='left' blanks the first half
    in reading order (left half; bottom half of text rotated by 90 degrees)."""
    arr = orig.pixel_array.copy()
    frames = arr if int(orig.get("NumberOfFrames", 1)) > 1 else arr[None]
    for it in items:
        if not it["phi"]:
            continue
        x0, y0, x1, y1 = it["box"]
        x0, y0, x1, y1 = max(0, x0 - MARGIN), max(0, y0 - MARGIN), x1 + MARGIN, y1 + MARGIN
        if part == "left" and int(it.get("angle", 0)) % 180 == 90:   # vertical text: the first half it reads
            y0 = y0 + (y1 - y0) // 2
        elif part == "left":
            x1 = x0 + (x1 - x0) // 2
        frames[:, y0:y1, x0:x1] = 0
    return frames if int(orig.get("NumberOfFrames", 1)) > 1 else frames[0]


def redact(case: Planted, mode: str) -> Dataset:
    """mode: correct | no_pixels (header right, pixels untouched) | half_box | header_copied.

    Pixels are written uncompressed (colour as RGB) whatever the input's encoding."""
    orig = pydicom.dcmread(case.path)
    items = json.loads(case.gt_path.read_text(encoding="utf-8"))["items"]
    pixels = {"correct": "full", "no_pixels": None, "half_box": "left", "header_copied": "full"}[mode]
    out = orig.copy() if mode == "header_copied" else correct_header(orig)
    arr = orig.pixel_array if pixels is None else blank_boxes(orig, items, pixels)
    out.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if int(orig.get("SamplesPerPixel", 1)) == 3:
        out.PhotometricInterpretation, out.PlanarConfiguration = "RGB", 0
    elif str(orig.PhotometricInterpretation) == "PALETTE COLOR":
        raise ValueError("palette colour inputs are not supported by the test redactor")
    out.PixelData = np.ascontiguousarray(arr).tobytes()
    return out


MODES_BROKEN = ("no_pixels", "half_box", "header_copied")


def release(cases: list[Planted], modes: list[str], output: Path, input_root: Path) -> Path:
    """Write what inference.run would: OUTPUT/dicom/<patient>/<study>/<series>/<instance>.dcm and an audit trail
    OUTPUT.audit/trail.jsonl ({source, status, outputs}) + summary-*.json ({input}). Returns the trail folder."""
    trail = output.with_name(output.name + ".audit")
    trail.mkdir(parents=True, exist_ok=True)
    lines = []
    for case, mode in zip(cases, modes):
        ds = redact(case, mode)
        rel = "/".join(["dicom", str(ds.PatientID), ds.StudyInstanceUID, ds.SeriesInstanceUID,
                        ds.SOPInstanceUID + ".dcm"])
        (output / rel).parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(output / rel, enforce_file_format=True)
        lines.append(json.dumps({"source": case.path.relative_to(input_root).as_posix(), "status": "written",
                                 "outputs": [rel], "actions": {"test_redactor": mode}}))
    (trail / "trail.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (trail / "summary-20260101T000000.json").write_text(json.dumps({"input": str(input_root)}), encoding="utf-8")
    return trail
