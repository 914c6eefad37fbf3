"""Document content de-identification cost vs. the header engine alone, on synthetic documents.

    nice -n 15 python3 benchmarks/bench_documents.py [--seeds 3]

For each synthetic SR, Encapsulated PDF and 12-lead ECG (synth/documents.py), times:
  header:  dcmread + deidentify_dataset
  full:    dcmread + content handler (SR tree / PDF rasterise+rebuild / waveform annotations) + deidentify_dataset
and prints the ratio full / header per kind, plus the text de-identifier's throughput in characters/s.
Single process (multiply by the worker count for a batch estimate).
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
import warnings
from pathlib import Path

import pydicom

from inference.documents import keep_tags
from inference.documents.pdf import deidentify_pdf
from inference.documents.sr import deidentify_sr
from inference.documents.waveform import deidentify_waveform
from inference.header import deidentify_dataset, load_profile
from inference.identity import Identity
from inference.keys import Keyring
from inference.textdeid import TextDeidentifier
from synth.documents import CLINICAL_SENTENCES, generate_documents, history_text
from synth.identity import make_identity

KEYRING = Keyring(b"medanon-benchmark-key-0123456789")
HANDLERS = {"sr_comprehensive": ("sr", deidentify_sr), "encapsulated_pdf": ("pdf", deidentify_pdf),
            "ecg_12lead": ("waveform", deidentify_waveform)}


def run(path: Path, handler_name: str | None) -> float:
    t = time.perf_counter()
    ds = pydicom.dcmread(path)
    identity = Identity.from_dataset(ds)
    keep = frozenset()
    if handler_name:
        kind, handler = HANDLERS[handler_name]
        handler(ds, identity, KEYRING, TextDeidentifier(identity, KEYRING))
        keep = keep_tags(kind)
    deidentify_dataset(ds, load_profile("basic"), KEYRING, identity=identity, keep_tags=keep)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    totals: dict[str, list[float]] = {k: [0.0, 0.0] for k in HANDLERS}
    chars, text_time = 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            rng = random.Random(seed)
            identity = make_identity(rng)
            paths = {p.stem: p for p in generate_documents(identity, Path(tmp) / str(seed), rng)}
            for stem in HANDLERS:
                totals[stem][0] += run(paths[stem], None)
                totals[stem][1] += run(paths[stem], stem)
            td = TextDeidentifier(identity, KEYRING)
            text = (history_text(identity) + " " + " ".join(CLINICAL_SENTENCES)) * 20
            t = time.perf_counter()
            td.scrub(text)
            text_time += time.perf_counter() - t
            chars += len(text)
    for stem, (header, full) in totals.items():
        n = args.seeds
        print(f"{stem:18s} header {header / n * 1000:7.1f} ms/file   full {full / n * 1000:7.1f} ms/file   "
              f"ratio full/header {full / header:5.1f}x")
    print(f"text de-identifier: {chars / text_time / 1000:.0f} k characters/s")


if __name__ == "__main__":
    main()
