"""Review station (issue 18): token, path safety, decisions in SQLite, and what the next real run does with them.

Inputs are real shared ultrasound files (or built from them with pydicom); every run is a real
`python -m inference.run` subprocess; the station runs in a thread stopped at the end of each test.
"""
from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pydicom
import pytest

from review_fixtures import (TEXT_FREE_US, TEXTURED_BOX, US_CINE, US_RGB, login, released_pixels, request,
                             released_us, run_medanon, station, trail, uniform)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def us_run(tmp_path, shared_dicom):
    """RGB_IMAGE.dcm (Siemens S2000, burned-in text) through a real run."""
    return released_us(tmp_path, shared_dicom)


def _first_id(st) -> str:
    return next(iter(st.catalog.items))


def test_station_refuses_requests_without_the_token(us_run):
    _, out = us_run
    with station(out) as st:
        item = _first_id(st)
        for path in ("/", "/api/items", f"/api/items/{item}", f"/image/{item}/before/0.png", "/api/templates"):
            assert request(st.port, "GET", path)[0] == 403, path
        assert request(st.port, "GET", "/?token=not-the-token")[0] == 403
        assert request(st.port, "POST", f"/api/items/{item}/review", body={"decision": "approved"})[0] == 403
        cookie = login(st)
        assert request(st.port, "GET", f"/?token={st.token}")[0] == 403  # one-time: a second use is refused
        assert request(st.port, "GET", "/api/items", cookie="forged-session")[0] == 403
        assert request(st.port, "GET", "/api/items", cookie=cookie)[0] == 200
        # DNS rebinding: the right cookie under another host name is refused
        assert request(st.port, "GET", "/api/items", cookie=cookie, headers={"Host": "evil.example:80"})[0] == 403
        # a cross-site form post (no JSON, no X-Medanon header) changes nothing
        status, _, _ = request(st.port, "POST", f"/api/items/{item}/review", cookie=cookie, body={"decision": "approved",
                               "reviewer": "x"}, headers={"X-Medanon": "0"})
        assert status == 403
        assert st.store.latest() == {}


def test_paths_outside_output_inputs_quarantine_cannot_be_requested(us_run, tmp_path, shared_dicom):
    src, out = us_run
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = outside / "secret.dcm"
    shutil.copy(shared_dicom / US_CINE, secret)  # a real DICOM, so only the path rule can refuse it
    audit = out.with_name(out.name + ".audit")
    rec = trail(out)[-1]
    # a tampered trail line pointing at a file outside every allowed folder
    forged = {**rec, "source": "forged.dcm", "source_path": str(secret), "status": "quarantined", "outputs": []}
    with open(audit / "trail.jsonl", "a") as f:
        f.write(json.dumps(forged) + "\n")
    with station(out) as st:
        cookie = login(st)
        item = next(i for i, it in st.catalog.items.items() if it.source == "RGB_IMAGE.dcm")
        assert request(st.port, "GET", f"/image/{item}/before/0.png", cookie=cookie)[0] == 200
        for path in ("/image/../../etc/passwd", "/../../etc/passwd", "//etc/passwd", "/etc/passwd",
                     "/image/%2e%2e/%2e%2e/etc/passwd.png", f"/image/{item}/../../../etc/passwd.png",
                     f"/image/{'0' * 16}/before/0.png", f"/image/{item}/before/1.png",
                     f"/image/{str(secret)}/before/0.png", f"/image/{item}/source/0.png",
                     "/image/" + "%2Fetc%2Fpasswd" + "/before/0.png"):
            status, _, body = request(st.port, "GET", path, cookie=cookie)
            assert status in (403, 404), path
            assert b"root:" not in body
        forged_id = next(i for i, it in st.catalog.items.items() if it.source == "forged.dcm")
        assert st.catalog.items[forged_id].original is None
        assert request(st.port, "GET", f"/image/{forged_id}/before/0.png", cookie=cookie)[0] == 404
        # symlink trick: the input swapped for a link to a file outside, after the station started
        (src / "RGB_IMAGE.dcm").unlink()
        (src / "RGB_IMAGE.dcm").symlink_to(secret)
        assert request(st.port, "GET", f"/image/{item}/before/0.png", cookie=cookie)[0] == 404
        assert request(st.port, "GET", f"/image/{item}/after/0.png", cookie=cookie)[0] == 200  # the output is fine
    assert not list(out.rglob("*.png")) and not list(out.rglob("secret*"))  # nothing written into OUTPUT


def test_reviewer_box_is_blanked_by_the_next_run_and_the_file_redone(us_run):
    src, out = us_run
    assert not uniform(released_pixels(out)[0], TEXTURED_BOX)  # the detector leaves this anatomy alone
    with station(out, reviewer="Dr Test") as st:
        cookie = login(st)
        items = json.loads(request(st.port, "GET", "/api/items", cookie=cookie)[2])
        [group] = items["devices"]
        assert group["device"] == {"manufacturer": "SIEMENS", "model": "S2000", "rows": 768, "columns": 1024}
        item = group["items"][0]
        assert item["category"] == "released" and item["regions"]
        status, headers, png = request(st.port, "GET", f"/image/{item['id']}/after/0.png", cookie=cookie)
        assert status == 200 and headers["content-type"] == "image/png" and png[:4] == b"\x89PNG"
        assert request(st.port, "POST", f"/api/items/{item['id']}/review", cookie=cookie,
                       body={"decision": "approved", "reviewer": "", "added": []})[0] == 400  # a name is required
        status, _, body = request(st.port, "POST", f"/api/items/{item['id']}/review", cookie=cookie, body={
            "decision": "approved", "reviewer": "Dr Test", "added": [[-1, *TEXTURED_BOX]], "frame": 0})
        assert status == 200, body
    db = sqlite3.connect(out.with_name("out.audit") / "reviews.sqlite")
    [(source, decision, reviewer, boxes, when)] = db.execute(
        "SELECT source, decision, reviewer, boxes, time FROM reviews").fetchall()
    assert (source, decision, reviewer) == ("RGB_IMAGE.dcm", "approved", "Dr Test") and when
    assert json.loads(boxes)["added"] == [[-1, *TEXTURED_BOX]]

    r = run_medanon(src, out)  # the trail says done, but the review changes the file: processed again
    assert r.returncode == 0, r.stderr[-2000:]
    last = trail(out)[-1]
    assert last["status"] == "written" and last["actions"]["review"]["decision"] == "approved"
    assert last["actions"]["extra_boxes"] == {"review": 1, "template": 0}
    [pixels] = released_pixels(out)
    assert uniform(pixels, TEXTURED_BOX)
    assert "already done 1" in run_medanon(src, out).stderr  # and then it is done

    # 'needs redaction' holds it back and withdraws the released output
    from inference.review.store import ReviewStore
    ReviewStore(out.with_name("out.audit") / "reviews.sqlite").save(item["id"], "RGB_IMAGE.dcm", last["digest"],
                                                                     "needs redaction", "Dr Test")
    r = run_medanon(src, out)
    assert r.returncode == 3, r.stderr[-2000:]
    assert "needs redaction" in trail(out)[-1]["reason"]
    assert not list((out / "dicom").rglob("*.dcm"))  # withdrawn from OUTPUT
    q = out.with_name("out.quarantine")
    assert any("needs redaction" in p.read_text() for p in q.glob("*/reason.json"))


def _flagged_text_free(shared_dicom, path):
    """A real text-free US file that claims burned-in text: quarantined as uncertain (fail closed)."""
    ds = pydicom.dcmread(shared_dicom / TEXT_FREE_US)
    ds.BurnedInAnnotation = "YES"
    pixels = ds.pixel_array  # its speckle, smoothed to a gradient: nothing the detector could take for text
    ramp = np.linspace(20, 220, pixels.shape[1]).astype(pixels.dtype)
    ds.PixelData = np.broadcast_to(ramp[None, :, None], pixels.shape).copy().tobytes()
    ds.save_as(path)
    return ds


def test_approved_quarantined_file_is_released_from_its_quarantine_copy(tmp_path, shared_dicom):
    src = tmp_path / "in"
    src.mkdir()
    original = _flagged_text_free(shared_dicom, src / "flagged.dcm")
    data = (shared_dicom / US_RGB).read_bytes()
    (src / "truncated.dcm").write_bytes(data[: len(data) // 2])  # a failure no approval can lift
    out = tmp_path / "out"
    r = run_medanon(src, out)
    assert r.returncode == 3
    with station(out) as st:
        cookie = login(st)
        groups = json.loads(request(st.port, "GET", "/api/items", cookie=cookie)[2])["devices"]
        items = {i["source"]: i for g in groups for i in g["items"]}
        assert items["flagged.dcm"]["category"] == "quarantined" and "BurnedInAnnotation" in items["flagged.dcm"]["reason"]
        fid = items["flagged.dcm"]["id"]
        assert request(st.port, "GET", f"/image/{fid}/before/0.png", cookie=cookie)[0] == 200
        assert request(st.port, "GET", f"/image/{fid}/after/0.png", cookie=cookie)[0] == 200  # in-memory preview
        box = [-1, 100, 40, 160, 80]
        for source in ("flagged.dcm", "truncated.dcm"):
            assert request(st.port, "POST", f"/api/items/{items[source]['id']}/review", cookie=cookie, body={
                "decision": "approved", "reviewer": "DM", "added": [box]})[0] == 200
    assert not (out / "dicom").exists() or not list((out / "dicom").rglob("*.dcm"))
    (src / "flagged.dcm").unlink()  # gone from INPUT: the quarantine copy is used
    r = run_medanon(src, out)
    assert r.returncode == 3, r.stderr[-2000:]  # the truncated file stays quarantined
    recs = {rec["source"]: rec for rec in trail(out)[-2:]}
    assert recs["truncated.dcm"]["status"] == "quarantined"
    assert recs["flagged.dcm"]["status"] == "written", recs["flagged.dcm"]["reason"]
    assert ".quarantine" in recs["flagged.dcm"]["source_path"]
    [written] = list((out / "dicom").rglob("*.dcm"))
    ds = pydicom.dcmread(written)
    assert str(ds.PatientName) != str(original.PatientName) and ds.BurnedInAnnotation == "NO"  # header de-identified
    assert uniform(ds.pixel_array, tuple(box[1:]))
    assert not uniform(original.pixel_array, tuple(box[1:]))


def test_cine_frames_paged_and_a_one_frame_box_blanked_on_that_frame_only(tmp_path, shared_dicom):
    ds = pydicom.dcmread(shared_dicom / US_CINE)
    frames = ds.pixel_array[:4].copy()  # the real cine cut to 4 frames (keeps the test short)
    frames[2, 300:360, 350:450] = np.arange(100, dtype=frames.dtype)[None, :, None] if frames.ndim == 4 else \
        np.arange(100, dtype=frames.dtype)[None, :]
    ds.NumberOfFrames, ds.PixelData = 4, frames.tobytes()
    src = tmp_path / "in"
    src.mkdir()
    ds.save_as(src / "cine.dcm")
    out = tmp_path / "out"
    assert run_medanon(src, out).returncode == 0
    with station(out) as st:
        cookie = login(st)
        fid = _first_id(st)
        detail = json.loads(request(st.port, "GET", f"/api/items/{fid}", cookie=cookie)[2])
        assert detail["item"]["frames"] == 4
        pngs = [request(st.port, "GET", f"/image/{fid}/before/{k}.png", cookie=cookie) for k in range(4)]
        assert all(p[0] == 200 for p in pngs) and pngs[2][2] != pngs[0][2]
        assert request(st.port, "GET", f"/image/{fid}/before/4.png", cookie=cookie)[0] == 404
        assert request(st.port, "POST", f"/api/items/{fid}/review", cookie=cookie, body={
            "decision": "approved", "reviewer": "DM", "added": [[2, 350, 300, 450, 360]], "frame": 2})[0] == 200
    assert run_medanon(src, out).returncode == 0
    last = trail(out)[-1]
    assert [350, 300, 450, 360] in last["actions"]["pixels"]["regions_by_frame"][2]
    assert [350, 300, 450, 360] not in last["actions"]["pixels"]["regions_by_frame"][0]
    [pixels] = released_pixels(out)
    assert uniform(pixels[2], (350, 300, 450, 360)) and not uniform(pixels[0], (350, 300, 450, 360))
