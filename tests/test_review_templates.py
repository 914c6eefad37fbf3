"""Device templates (issue 18.2): proposed from >= 80 % and >= 20 agreeing released files of one device, accepted or
rejected in the station, and once accepted blanked by the next real run on every file of that device."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from review_fixtures import (TEXTURED_BOX, login, released_pixels, released_us, request, run_medanon, station,
                             trail, uniform)

pytestmark = pytest.mark.timeout(600)


CENTRE = (400, 300, 500, 400)  # black middle of RGB_IMAGE: no detector box comes near it


def _fake_trail(out, record, n_files, n_with_box, box=TEXTURED_BOX):
    """n_files released records of one device, built from a REAL trail record (its real detector boxes);
    the first n_with_box also have box blanked (as if the detector or a reviewer found text there)."""
    audit = out.with_name(out.name + ".audit")
    audit.mkdir(parents=True, exist_ok=True)
    with open(audit / "trail.jsonl", "w") as f:
        for k in range(n_files):
            rec = json.loads(json.dumps(record))
            rec["source"] = f"device/file{k:03d}.dcm"
            if k < n_with_box:
                rec["actions"]["pixels"]["regions"].append(list(box))
            f.write(json.dumps(rec) + "\n")
    return audit


@pytest.fixture
def real_record(tmp_path, shared_dicom):
    src, out = released_us(tmp_path, shared_dicom)
    return src, out, trail(out)[-1]


def _learn(st, cookie):
    status, _, body = request(st.port, "POST", "/api/templates/learn", cookie=cookie, body={})
    assert status == 200, body
    return json.loads(body)


def test_template_proposed_only_when_20_files_and_80_percent_agree(tmp_path, real_record):
    _, _, record = real_record
    with station(tmp_path / "nineteen") as st:  # 19 files that all agree: too few
        _fake_trail(tmp_path / "nineteen", record, 19, 19)
        assert _learn(st, login(st))["templates"] == []
    out = tmp_path / "twenty"
    _fake_trail(out, record, 25, 19, CENTRE)  # 19 of 25 = 76 % with the extra box: below the rule
    with station(out) as st:
        cookie = login(st)
        [t] = _learn(st, cookie)["templates"]
        assert t["status"] == "proposed" and t["files"] == 25 and t["key"] == "SIEMENS|S2000|768x1024"
        assert t["regions"] and all(r["support"] >= 20 for r in t["regions"])
        assert not any(r["box"][0] < CENTRE[2] and r["box"][2] > CENTRE[0] and r["box"][1] < CENTRE[3]
                       and r["box"][3] > CENTRE[1] for r in t["regions"])
    shutil.rmtree(out.with_name("twenty.audit"))
    _fake_trail(out, record, 25, 20, CENTRE)  # 20 of 25 = 80 % (and 20 files): the box is part of the template
    with station(out) as st:
        cookie = login(st)
        [t] = _learn(st, cookie)["templates"]
        assert {"box": list(CENTRE), "support": 20, "source": "detector"} in t["regions"]


def test_accepted_template_is_blanked_by_the_next_run(tmp_path, real_record):
    src, real_out, record = real_record
    out = tmp_path / "learned"
    _fake_trail(out, record, 20, 20)
    with station(out) as st:
        cookie = login(st)
        [t] = _learn(st, cookie)["templates"]
        assert request(st.port, "POST", f"/api/templates/{t['id']}/decision", cookie=cookie,
                       body={"status": "accepted", "reviewer": ""})[0] == 400  # who decided is kept
        assert request(st.port, "POST", "/api/templates/..%2f..%2fetc/decision", cookie=cookie,
                       body={"status": "accepted", "reviewer": "DM"})[0] == 404
        status, _, body = request(st.port, "POST", f"/api/templates/{t['id']}/decision", cookie=cookie,
                                  body={"status": "accepted", "reviewer": "DM"})
        assert status == 200
        [t] = json.loads(body)["templates"]
        assert t["status"] == "accepted" and t["decided_by"] == "DM"
        assert _learn(st, cookie)["templates"][0]["status"] == "accepted"  # a new proposal never overrides it
    templates = out.with_name("learned.audit") / "templates"
    [path] = templates.glob("*.yaml")
    assert yaml.safe_load(path.read_text())["status"] == "accepted"

    assert not uniform(released_pixels(real_out)[0], TEXTURED_BOX)
    r = run_medanon(src, real_out, "--templates", str(templates))  # the trail says done; the template changes it
    assert r.returncode == 0, r.stderr[-2000:]
    last = trail(real_out)[-1]
    assert last["status"] == "written" and last["actions"]["extra_boxes"]["template"] == len(t["regions"])
    assert uniform(released_pixels(real_out)[0], TEXTURED_BOX)

    # a rejected template is not applied; a malformed one stops the run with a clear error
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "status": "rejected"}))
    r = run_medanon(src, real_out, "--templates", str(templates))
    assert r.returncode == 0 and "extra_boxes" not in trail(real_out)[-1]["actions"]
    path.write_text(yaml.safe_dump({**data, "regions": [{"box": [5, 5, 1, 1]}]}))
    r = run_medanon(src, real_out, "--templates", str(templates))
    assert r.returncode == 2 and "empty or negative box" in r.stderr
