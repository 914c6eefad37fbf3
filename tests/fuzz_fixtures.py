"""Seeded mutants of real shared files and the fail-closed checks over a run of them (issue 20).

Shared by tests/test_fuzz.py (bounded, in CI) and benchmarks/fuzz_long.py (more mutants, a table).
A mutant is a truncation, bit flips or changed bytes of a real file; the checks are the issue's categories:
batch crashes or hangs, unredacted releases, silent skips, lost files, inputs modified.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[1]
SHARED_DICOM = ROOT.parent / "shared" / "data" / "dicom"

# ten varied files: syntaxes (explicit, implicit, big endian, deflate, RLE, JPEG, J2K), images, SR, RT, SEG
FUZZ_FILES = (
    "ImagingDataCommons+highdicom/data/test_files/ct_image.dcm",
    "ImagingDataCommons+highdicom/data/test_files/seg_image_ct_binary.dcm",
    "pydicom+pydicom/src/pydicom/data/test_files/SC_rgb_rle_16bit.dcm",
    "pydicom+pydicom/src/pydicom/data/test_files/MR_small_jp2klossless.dcm",
    "pydicom+pydicom/src/pydicom/data/test_files/SC_rgb_small_odd_jpeg.dcm",
    "pydicom+pydicom/src/pydicom/data/test_files/image_dfl.dcm",
    "pydicom+pydicom/src/pydicom/data/test_files/rtdose_expb_1frame.dcm",
    "dcm4che+dcm4che/dcm4che-test-data/src/main/resources/report_dfl",
    "dcm4che+dcm4che/dcm4che-test-data/src/main/resources/Tag-0040-A170-VR-CS.dcm",
    "orthanc-mirrors+orthanc-tests/Database/MarekLatin2.dcm",
)
CATEGORIES = ("batch crashes or hangs", "unredacted releases", "silent skips", "lost files", "inputs modified")


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutant: a truncation (the preamble kept), 1-8 bit flips, or 1-8 changed bytes."""
    kind = rng.choice(("truncate", "bitflip", "bytes"))
    if kind == "truncate":
        return kind, data[:rng.randrange(132, len(data))]
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(132, len(out))  # the magic kept: every mutant claims to be DICOM
        if kind == "bitflip":
            out[at] ^= 1 << rng.randrange(8)
        else:
            out[at] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    return kind, bytes(out)


def with_instance_uid_variant(data: bytes, k: int) -> bytes:
    """The file with its SOP Instance UID's trailing digits replaced by k, byte for byte (same length, so the
    structure is untouched): mutants of one file are then distinct instances, not a within-run UID clash
    (which quarantines all but the first and would leave most mutants unexercised)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    uid = str(ds.get("SOPInstanceUID", "") or "").encode()
    digits = len(uid) - len(uid.rstrip(b"0123456789"))
    n = min(6, digits)
    if n == 0:
        return data
    variant = uid[:-n] + str(k).zfill(n)[-n:].encode()
    return data.replace(uid, variant)


def make_corpus(dest: Path, per_file: int, seed: int, files: tuple[str, ...] = FUZZ_FILES) -> dict[str, str]:
    """Write per_file mutants of each file under dest; returns mutant name -> original shared path."""
    dest.mkdir(parents=True, exist_ok=True)
    origin: dict[str, str] = {}
    for i, rel in enumerate(files):
        original = (SHARED_DICOM / rel).read_bytes()
        rng = random.Random(seed * 1000 + i)
        for k in range(per_file):
            data = with_instance_uid_variant(original, k)
            kind, mutant = mutate(data, rng)
            name = f"f{i:02d}_{k:04d}_{kind}.dcm"
            (dest / name).write_bytes(mutant)
            origin[name] = rel
    return origin


def identity_tokens(rel: str) -> set[bytes]:
    """The original PatientName and PatientID bytes of a shared file (and the family name), as stored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(SHARED_DICOM / rel, stop_before_pixels=True, force=True)
    tokens: set[bytes] = set()
    for tag in (0x00100010, 0x00100020):
        if tag not in ds:
            continue
        raw = ds.get_item(tag).value
        raw = raw if isinstance(raw, bytes) else str(raw).encode()
        raw = raw.strip(b" \x00")
        if len(raw) >= 4:
            tokens.add(raw)
        family = raw.split(b"^")[0].strip()
        if tag == 0x00100010 and len(family) >= 5:
            tokens.add(family)
    return tokens


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass
class FuzzReport:
    inputs: int
    counts: Counter = field(default_factory=Counter)   # category -> number of inputs (or runs for crashes)
    statuses: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, category: str, example: str) -> None:
        self.counts[category] += 1
        self.examples.setdefault(category, []).append(example)

    def table(self) -> str:
        lines = [f"{'category':28s} {'count':>6s}   inputs tried: {self.inputs}"]
        lines += [f"{c:28s} {self.counts[c]:6d}" for c in CATEGORIES]
        lines.append("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())))
        return "\n".join(lines)


def run_and_check(src: Path, out: Path, origin: dict[str, str], *, workers: int = 2, timeout: float = 300,
                  file_timeout: float = 60, extra: tuple[str, ...] = ()) -> FuzzReport:
    """Run python -m inference.run over the mutants and count every fail-closed breach."""
    report = FuzzReport(inputs=len(origin))
    before = tree_digest(src)
    env = {**os.environ, "MEDANON_KEY": "fuzz-key-" + "0" * 24}
    t0 = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "inference.run", str(src), str(out), "--quiet",
                               "--workers", str(workers), "--file-timeout", str(file_timeout), *extra],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
        if done.returncode not in (0, 3) or "Traceback" in done.stderr:
            report.add("batch crashes or hangs", f"exit {done.returncode}: {done.stderr[-1500:]}")
    except subprocess.TimeoutExpired:
        report.add("batch crashes or hangs", f"no end after {timeout} s")
    report.seconds = time.perf_counter() - t0

    trail = out.with_name(out.name + ".audit") / "trail.jsonl"
    recs: dict[str, dict] = {}
    if trail.exists():
        for line in trail.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            recs[r["source"]] = r
    for name in origin:
        r = recs.get(name)
        if r is None:
            report.add("lost files", name)
            continue
        report.statuses[r["status"]] += 1
        if r["status"] not in ("written", "dropped") and not r.get("reason"):
            report.add("silent skips", name)
        if r["status"] == "skipped" and "not DICOM" not in r.get("reason", ""):
            report.add("silent skips", f"{name}: skipped ({r.get('reason')})")
        if r["status"] == "written":
            tokens = identity_tokens(origin[name])
            for o in r.get("outputs", []):
                data = (out / o).read_bytes()
                leaked = [t for t in tokens if t in data]
                if leaked:
                    report.add("unredacted releases", f"{name} -> {o}: {leaked}")
                    break
    if tree_digest(src) != before:
        report.add("inputs modified", str(src))
    return report
