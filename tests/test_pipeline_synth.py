"""End to end with the committed model: synthetic studies in, nothing identifying out (header, pixels, reports).

Uses a seed and the font families held out of training, so this is not the training data. A personal-data
item counts as removed only if every one of its characters lies in blanked (uniform) pixels: half a name is a miss.
"""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pydicom
import pytest

from inference.pixels.decode import iter_frames
from inference.run import main
from synth.generate import main as synth_main

FAMILIES = ["us_banner", "us_corner_blocks", "crdx_label_plate", "ctmr_viewer_corners", "endoscopy_side_panel",
            "xa_rf_overlay"]


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    assert synth_main(["--out", str(root / "synth"), "--n", "6", "--seed", "90210", "--families", *FAMILIES,
                       "--fonts", "held-out", "--documents-every", "6"]) == 0
    out = root / "out"
    code = main([str(root / "synth" / "images"), str(out), "--quiet", "--key-file", str(_key(root))])
    code_docs = main([str(root / "synth" / "documents"), str(root / "docs_out"), "--quiet",
                      "--key-file", str(_key(root))])
    trail = [json.loads(l) for l in (root / "out.audit" / "trail.jsonl").read_text().splitlines()]
    return root, out, code, code_docs, trail


def _key(root: Path) -> Path:
    k = root / "key"
    k.write_text("end-to-end-test-key-0123456789")
    return k


def test_every_image_released_and_every_personal_item_fully_blanked(processed):
    root, out, code, _, trail = processed
    by_id = {Path(r["source"]).stem: r for r in trail}
    assert len(by_id) == 6
    missed, total = [], 0
    for gt_path in sorted((root / "synth" / "gt").glob("*.json")):
        gt = json.loads(gt_path.read_text())
        rec = by_id[gt["id"]]
        assert rec["status"] == "written", f"{gt['id']} ({gt['family']}) not released: {rec['reason']}"
        ds = pydicom.dcmread(out / rec["outputs"][0])
        frames = list(iter_frames(ds))
        assert len(frames) == gt["frames"] and frames[0].shape[:2] == (gt["rows"], gt["cols"])
        for item in (i for i in gt["items"] if i["phi"]):
            total += 1
            wanted = range(len(frames)) if item["frames"] is None else item["frames"]
            for f in wanted:
                for box in (c for c in item["chars"] if c):
                    x0, y0, x1, y1 = box
                    patch = frames[f][y0:y1, x0:x1]
                    if patch.size and np.ptp(patch.reshape(-1, patch.shape[-1] if patch.ndim == 3 else 1),
                                             axis=0).max() > 0:
                        missed.append((gt["id"], gt["family"], item["kind"], f))
                        break
                else:
                    continue
                break
    assert total > 20
    assert not missed, f"{len(missed)}/{total} personal-data items not fully blanked: {missed[:10]}"


def test_no_identity_token_in_any_released_byte(processed):
    root, out, _, code_docs, _ = processed
    tokens = set()
    for gt_path in (root / "synth" / "gt").glob("*.json"):
        ident = json.loads(gt_path.read_text())["identity"]
        tokens |= {ident["personal_code"], ident["patient_id"], ident["accession"],
                   ident["birth_date"].replace("-", "")}
        tokens |= {p for p in fold(ident["name"]).replace("^", " ").split() if len(p) >= 4}
    released = [p for d in (out, root / "docs_out") for p in d.rglob("*") if p.is_file()]
    assert len(released) >= 6 + 3
    for p in released:
        ds = pydicom.dcmread(p)
        text = fold(" ".join(str(e.value) for e in ds.iterall() if e.VR not in ("OB", "OW", "OF", "UN", "SQ")))
        raw = fold(p.read_bytes().decode("latin-1"))
        for t in tokens:
            assert fold(t) not in text, f"{t!r} left in the header of {p.name}"
            assert fold(t) not in raw, f"{t!r} left in the bytes of {p.name}"
