"""Pixel stage throughput and memory: prints files/s and ratios.

  nice -n 15 python3 benchmarks/bench_pixels.py [--limit N] [--cine-frames 200] [--omp-thread-limit 1]

Sets (real files from ../shared/data/dicom, the inventory's burned-in-text files first):
  single-frame and multi-frame images that the installed backends decode.
Compared, on the same files, each end to end (read -> pixels -> bytes):
  medanon     redact_dataset with the committed ONNX detector (models/text_detector.onnx);
              if it is absent, a constant-box stub detector (then the number is the pixel
              machinery only, and the line says so)
  floor       plain pydicom decode (pixel_array) + write, no detection
  tesseract   OCR baselines, Tesseract 5 (tesserocr, eng+lit) on the same 8-bit view, every word box blanked,
              same write path: "layout" (word boxes from layout analysis, nothing read: a lower bound on
              any Tesseract redactor's time) and "ocr" (full recognition, as Presidio's DICOM redactor runs it,
              without its NER step)
  presidio    Microsoft Presidio's DicomImageRedactorEngine (Tesseract + spaCy NER, en_core_web_sm from PyPI), in
              its own environment (scripts/install_presidio_bench.sh -> .venv-presidio/), same files, its own
              read/redact/write loop timed inside the process (model loading excluded); skipped when not installed
Then a generated 200-frame RGB cine (RLE in, RLE out) in a child process: peak RSS with the
default frame cache and with max_cached_bytes=0 (pure streaming), vs the decoded size.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import tempfile
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pydicom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "dicom"
MODEL = ROOT / "models" / "text_detector.onnx"
TESSDATA = "/usr/share/tesseract-ocr/5/tessdata/"

from inference.pixels import PixelError, PixelOptions, redact_dataset  # noqa: E402
from inference.pixels.decode import iter_frames  # noqa: E402


class StubDetector:
    def detect(self, image):
        h, w = image.shape[:2]
        return np.array([[w * 0.05, h * 0.02, w * 0.4, h * 0.08, 0.9]], np.float32)


class TesseractDetector:
    """OCR baseline on the same 8-bit view. ``recognize=False``: Tesseract's layout analysis only (word boxes
    without reading them: the fastest thing Tesseract can do). ``recognize=True``: full OCR, every word read
    (what an OCR redactor such as Presidio's DICOM engine does via pytesseract.image_to_data, before its NER step,
    which would only add time and drop words); every word with text is blanked."""

    def __init__(self, recognize: bool = False):
        import tesserocr
        from PIL import Image

        self.api = tesserocr.PyTessBaseAPI(path=TESSDATA, lang="eng+lit")
        self.Image, self.RIL, self.recognize = Image, tesserocr.RIL, recognize

    def detect(self, image):
        self.api.SetImage(self.Image.fromarray(image))
        if not self.recognize:
            boxes = [[b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"], 1.0]
                     for _, b, _, _ in self.api.GetComponentImages(self.RIL.WORD, True)]
            return np.array(boxes, np.float32).reshape(-1, 5)
        self.api.Recognize()
        boxes, it = [], self.api.GetIterator()
        while it is not None:
            text = it.GetUTF8Text(self.RIL.WORD)
            box = it.BoundingBox(self.RIL.WORD)
            if text and text.strip() and box:
                boxes.append([*box, 1.0])
            if not it.Next(self.RIL.WORD):
                break
        return np.array(boxes, np.float32).reshape(-1, 5)


def pick_files(limit: int) -> tuple[list[Path], list[Path]]:
    rows = list(csv.DictReader(open(SHARED / "inventory.csv")))
    rows.sort(key=lambda r: r["burned_in_text_visual"] != "YES")
    single, multi = [], []
    for r in rows:
        if r["HasPixelData"] != "Y" or not r["Rows"] or int(r["FileSizeBytes"]) > 8e6 or r["BitsAllocated"] == "1":
            continue
        path = SHARED / r["path"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path)
                next(iter_frames(ds))
                ds.save_as(io.BytesIO(), enforce_file_format=True)
        except Exception:
            continue
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        target = multi if frames > 1 else single
        if len(target) < limit:
            target.append(path)
        if len(single) >= limit and len(multi) >= limit:
            break
    return single, multi


def run_medanon(path: Path, detector) -> bool:
    ds = pydicom.dcmread(path)
    try:
        redact_dataset(ds, detector, PixelOptions(quarantine_flagged_without_text=False))
    except PixelError:
        return False
    ds.save_as(io.BytesIO(), enforce_file_format=True)
    return True


def run_floor(path: Path, _detector=None) -> bool:
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    ds.PixelData = arr.tobytes()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    if ds.original_encoding[1] is False:  # big endian sample: floor skips the conversion
        return True
    ds.save_as(io.BytesIO(), enforce_file_format=True)
    return True


def run_tesseract(path: Path, detector) -> bool:
    """Same decode/view/fill/write machinery, Tesseract word boxes instead of our model."""
    return run_medanon(path, detector)


PRESIDIO_PY = ROOT / ".venv-presidio" / "bin" / "python"


def timed_presidio(files: list[Path]) -> tuple[float, int] | None:
    """Seconds and files released by Presidio's own loop (benchmarks/presidio_baseline.py), None if not installed.
    A file on which it aborts the whole process (a native crash) counts as not released; the rest still run."""
    if not PRESIDIO_PY.exists():
        return None
    seconds, released, todo = 0.0, 0, [str(f) for f in files]
    while todo:
        out = subprocess.run([str(PRESIDIO_PY), str(ROOT / "benchmarks" / "presidio_baseline.py"), *todo],
                             capture_output=True, text=True)
        rows = [json.loads(x) for x in out.stdout.splitlines() if x.startswith('{"file"')]
        seconds += sum(r["seconds"] for r in rows)
        released += sum(r["released"] for r in rows)
        todo = todo[len(rows) + (out.returncode != 0):]  # skip the file it died on
    return seconds, released


def timed(fn, files, detector) -> tuple[float, int]:
    ok = 0
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            try:
                ok += bool(fn(path, detector))
            except Exception:  # a broken sample counts as not released, in every column alike
                pass
    return time.perf_counter() - start, ok


def write_cine(path: Path, frames: int, rows: int = 480, cols: int = 640) -> None:
    """A blocky (RLE-friendly) RGB cine with a static text bar, RLE Lossless, written to path."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_encoder
    from pydicom.uid import RLELossless, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.3.1", generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, cols, 3, "RGB"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.PlanarConfiguration = 8, 8, 7, 0, 0
    ds.NumberOfFrames = frames
    yy, xx = np.mgrid[0:rows, 0:cols]
    base = np.repeat((((xx // 16 + yy // 16) % 32) * 6).astype(np.uint8)[:, :, None], 3, axis=2)
    encoder = get_encoder(RLELossless)
    parts = []
    for i in range(frames):
        frame = np.roll(base, i, axis=1)
        frame[:30, :200] = 250
        parts.append(encoder.encode(frame, encoding_plugin="pylibjpeg", rows=rows, columns=cols, number_of_frames=1,
                                    samples_per_pixel=3, bits_allocated=8, bits_stored=8, pixel_representation=0,
                                    photometric_interpretation="RGB", planar_configuration=0))
    ds.PixelData = encapsulate(parts)
    ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.save_as(path, enforce_file_format=True)


CINE_CHILD = r"""
import resource, sys, io, json, time
sys.path.insert(0, sys.argv[1])
import numpy as np, pydicom
from inference.pixels import redact_dataset, PixelOptions
ds = pydicom.dcmread(sys.argv[2])
frames, rows, cols = int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
class D:
    def detect(self, image): return np.array([[0, 0, 200, 30, 0.9]], np.float32)
t = time.perf_counter()
rep = redact_dataset(ds, D(), PixelOptions(max_cached_bytes=int(sys.argv[3])))
buf = io.BytesIO(); ds.save_as(buf, enforce_file_format=True)
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(frames=frames, decoded_mb=frames*rows*cols*3/2**20, compressed_in_mb=len(ds.PixelData)/2**20,
      out_mb=len(buf.getvalue())/2**20, rss_before_mb=before/1024, peak_rss_mb=peak/1024, seconds=dt,
      detector_calls=rep.detector_calls)))
"""


def cine_memory(path: Path, cache: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CINE_CHILD, str(ROOT), str(path), str(cache)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12, help="files per set")
    parser.add_argument("--cine-frames", type=int, default=200)
    parser.add_argument("--no-ocr", action="store_true")
    parser.add_argument("--omp-thread-limit", type=int, default=None,
                        help="OMP_THREAD_LIMIT for the Tesseract baselines and Presidio (Debian's Tesseract uses "
                             "OpenMP; 1 thread is often faster on 2 shared cores: run both ways, compare the best)")
    args = parser.parse_args()
    if args.omp_thread_limit:  # read by the OpenMP runtime when libtesseract loads: set before any baseline starts
        os.environ["OMP_THREAD_LIMIT"] = str(args.omp_thread_limit)

    if MODEL.exists():
        from inference.detect import TextDetector

        detector, label = TextDetector(MODEL), "ONNX model"
    else:
        detector, label = StubDetector(), "STUB detector (models/text_detector.onnx absent)"
    ocrs = [] if args.no_ocr else [("tesseract layout", TesseractDetector()), ("tesseract ocr", TesseractDetector(True))]
    single, multi = pick_files(args.limit)
    frames_multi = sum(int(pydicom.dcmread(p, stop_before_pixels=True).get("NumberOfFrames", 1)) for p in multi)
    print(f"detector: {label}; single-frame set {len(single)} files, multi-frame set {len(multi)} files "
          f"({frames_multi} frames); OMP_THREAD_LIMIT={os.environ.get('OMP_THREAD_LIMIT', 'unset')}")
    for name, files in (("single-frame", single), ("multi-frame", multi)):
        t_ours, ok_ours = timed(run_medanon, files, detector)
        t_floor, _ = timed(run_floor, files, None)
        line = (f"{name:13s} medanon {len(files) / t_ours:6.2f} files/s ({ok_ours}/{len(files)} released) | "
                f"floor decode+encode {len(files) / t_floor:7.2f} files/s | medanon/floor {t_floor / t_ours:5.3f}")
        for oname, ocr in ocrs:
            t_ocr, _ = timed(run_tesseract, files, ocr)
            line += f" | {oname} {len(files) / t_ocr:6.2f} files/s | medanon/{oname.split()[1]} {t_ocr / t_ours:5.2f}x"
        if ocrs and (p := timed_presidio(files)) is not None:
            line += f" | presidio {len(files) / p[0]:6.2f} files/s ({p[1]}/{len(files)} released) | medanon/presidio "
            # a file it fails on costs it almost nothing: compare seconds per RELEASED file
            line += (f"{(p[0] / p[1]) / (t_ours / max(1, ok_ours)):5.2f}x per released file" if p[1]
                     else "n/a (released nothing)")
        print(line, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cine = Path(tmp) / "cine.dcm"
        write_cine(cine, args.cine_frames)
        results = [(cache, cine_memory(cine, cache)) for cache in (64 * 2**20, 0)]
    for cache, m in results:
        print(f"cine {m['frames']} frames 640x480 RGB RLE->RLE, cache {cache // 2**20} MiB: peak RSS "
              f"{m['peak_rss_mb']:.0f} MiB (before redaction {m['rss_before_mb']:.0f} MiB; all frames decoded would be "
              f"{m['decoded_mb']:.0f} MiB; in {m['compressed_in_mb']:.1f} MiB, out {m['out_mb']:.1f} MiB) "
              f"{m['seconds']:.1f} s, {m['detector_calls']} detector calls")


if __name__ == "__main__":
    main()
