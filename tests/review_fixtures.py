"""Helpers for the review station tests: real `python -m inference.run` runs and a station on 127.0.0.1."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pydicom

ROOT = Path(__file__).resolve().parents[1]
US_RGB = Path("pydicom+deid-data/deid_data/data/ultrasounds/RGB_IMAGE.dcm")  # Siemens S2000, burned-in text
US_CINE = Path("pydicom+deid-data/deid_data/data/ultrasounds/GREYSCALE_CINE.zip__GREYSCALE_CINE.dcm")
TEXT_FREE_US = Path("pydicom+pydicom-data/data_store/data/color-px.dcm")  # 120x256 US, no text (inventory)
# a textured part of RGB_IMAGE (its grey-scale bar, left) that the detector leaves (mostly) alone
TEXTURED_BOX = (2, 170, 30, 340)


def run_medanon(src: Path, out: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDANON_KEY": "review-test-key-0123456789abcdef0123"}
    return subprocess.run([sys.executable, "-m", "inference.run", str(src), str(out), "--quiet", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def trail(out: Path) -> list[dict[str, Any]]:
    path = out.with_name(out.name + ".audit") / "trail.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def released_pixels(out: Path) -> list[np.ndarray]:
    return [pydicom.dcmread(p).pixel_array for p in sorted((out / "dicom").rglob("*.dcm"))]


def uniform(pixels: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    patch = pixels[y0:y1, x0:x1].reshape(-1, pixels.shape[2] if pixels.ndim == 3 else 1)
    return len(np.unique(patch, axis=0)) == 1


@contextlib.contextmanager
def station(out: Path, reviewer: str = "") -> Iterator[Any]:
    """An in-process station on a free port, in a thread; shut down at exit."""
    from inference.review.items import Catalog
    from inference.review.server import Station, serve
    from inference.review.store import ReviewStore
    audit = out.with_name(out.name + ".audit")
    st = Station(Catalog(out, audit, out.with_name(out.name + ".quarantine")), ReviewStore(audit / "reviews.sqlite"),
                 audit / "templates", reviewer)
    server = serve(st, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    st.port = server.server_address[1]
    try:
        yield st
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def request(port: int, method: str, path: str, cookie: str | None = None, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    if cookie:
        h["Cookie"] = f"medanon_review={cookie}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
        h.setdefault("X-Medanon", "1")
    con.request(method, path, body=data, headers=h)
    r = con.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    con.close()
    return out


def login(st: Any) -> str:
    status, headers, _ = request(st.port, "GET", f"/?token={st.token}")
    assert status == 303, status
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return cookie.split(";", 1)[0].split("=", 1)[1]


def released_us(tmp_path: Path, shared_dicom: Path) -> tuple[Path, Path]:
    """RGB_IMAGE.dcm (Siemens S2000, burned-in text) through a real run: (input folder, output folder)."""
    import shutil  # noqa: PLC0415

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(shared_dicom / US_RGB, src / "RGB_IMAGE.dcm")
    out = tmp_path / "out"
    r = run_medanon(src, out)
    assert r.returncode == 0, r.stderr[-2000:]
    return src, out
