"""Exports beside the DICOM files are audited too: JPEG (pixels + comment), MP4 (frames + metadata), text; a file
the auditor cannot read is flagged, never passed unseen."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import make_set, redact  # noqa: E402

from inference.audit import AuditOptions  # noqa: E402
from inference.audit.runner import AuditConfig, run_audit  # noqa: E402


def _rgb(ds) -> np.ndarray:
    a = ds.pixel_array
    return a if a.ndim == 3 else np.stack([a] * 3, -1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("audit_exports")
    case = make_set(base / "input", 1, seed=5)[0]          # US, colour
    leaky, clean = _rgb(redact(case, "no_pixels")), _rgb(redact(case, "correct"))
    out = base / "out"
    (out / "jpg").mkdir(parents=True)
    Image.fromarray(leaky).save(out / "jpg" / "leaky.jpg", quality=92)
    Image.fromarray(clean).save(out / "jpg" / "comment.jpg", quality=92, comment="gydytojas Petraitis".encode())
    Image.fromarray(clean).save(out / "jpg" / "clean.jpg", quality=92)
    (out / "mp4").mkdir()
    with av.open(str(out / "mp4" / "leaky.mp4"), "w") as c:
        stream = c.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = leaky.shape[1], leaky.shape[0], "yuv420p"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(leaky, format="rgb24")):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    (out / "manifest.json").write_text(json.dumps({"note": "tel. +370 612 34567"}))
    (out / "blob.bin").write_bytes(b"\x00\x01")
    trail = base / "out.audit"
    trail.mkdir()
    outputs = ["jpg/leaky.jpg", "jpg/comment.jpg", "jpg/clean.jpg", "mp4/leaky.mp4"]
    (trail / "trail.jsonl").write_text(json.dumps({"source": case.path.name, "status": "written",
                                                   "outputs": outputs}) + "\n")
    config = AuditConfig(output=out, against=base / "input" / "images", trail=trail,
                         options=AuditOptions(max_frames=2))
    return {f.rel: f for f in run_audit(config).files}


def test_jpeg_pixels_and_comment(exported):
    assert exported["jpg/leaky.jpg"].flagged
    assert any(f.category == "pixels" for f in exported["jpg/leaky.jpg"].findings)
    comment = exported["jpg/comment.jpg"]
    assert comment.flagged and {f.category for f in comment.findings} == {"content"}
    assert not exported["jpg/clean.jpg"].flagged, exported["jpg/clean.jpg"].findings


def test_mp4_frames(exported):
    video = exported["mp4/leaky.mp4"]
    assert video.flagged and video.frames_checked == 2
    assert any(f.category == "pixels" and f.region is not None for f in video.findings)


def test_text_and_unknown_files(exported):
    assert any(f.kind == "generic:phone" for f in exported["manifest.json"].findings)
    assert [f.kind for f in exported["blob.bin"].findings] == ["not_audited"]
