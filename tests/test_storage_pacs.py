"""PACS push against a real Orthanc (started by scripts/orthanc.sh): STOW-RS and C-STORE round trips, idempotent
re-runs, Orthanc stopped mid-push then --resume, wrong credentials, unreachable PACS, URL and credential rules."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
import requests

from inference.storage.destination import PacsConfigError, load_credentials, parse_destination
from inference.storage.ledger import PushLedger
from inference.storage.pacs import PushOptions, ledger_path, push
from inference.storage.pacs import main as pacs_main
from inference.storage.retry import PacsAuthError, PacsUnavailable, RetryPolicy
from storage_fixtures import make_output_tree

ROOT = Path(__file__).resolve().parents[1]
FAST = PushOptions(batch_size=3, retry=RetryPolicy(attempts=2, base_delay_s=0.05))
pytestmark = pytest.mark.orthanc
pytest_plugins = ["orthanc_fixture"]   # one Orthanc for the whole session, whichever modules run


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory, shared_dicom):
    return make_output_tree(tmp_path_factory.mktemp("pacs") / "OUTPUT", shared_dicom)


@pytest.fixture()
def tree(source_tree):
    return source_tree


@pytest.fixture()
def out(source_tree, tmp_path):
    """A fresh copy of OUTPUT per test, so each test starts with no ledger (OUTPUT.audit)."""
    root = tmp_path / "OUTPUT"
    shutil.copytree(source_tree.root, root)
    return root


def expected_tree(tree) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for w in tree.instances:
        out.setdefault(w.study_uid, {}).setdefault(w.series_uid, set()).add(w.instance_uid)
    return out


def assert_pacs_holds(server, tree, byte_identical: bool) -> None:
    assert server.count_instances() == len(tree.instances) == 7
    assert server.tree() == expected_tree(tree)
    assert len(server.tree()[tree.of(patient_id="PAT-A")[0].study_uid]) == 3   # CT, MR, US series
    for w in tree.instances:
        back = server.get(f"/instances/{server.lookup(w.instance_uid)}/file").content
        written = w.dicom.read_bytes()
        if byte_identical:
            assert back == written, w.dicom.name
        a, b = pydicom.dcmread(pydicom.filebase.DicomBytesIO(back)), pydicom.dcmread(w.dicom)
        assert a.PixelData == b.PixelData
        assert a.file_meta.TransferSyntaxUID == b.file_meta.TransferSyntaxUID
        assert (a.SOPInstanceUID, a.SeriesInstanceUID, a.PatientID) == (b.SOPInstanceUID, b.SeriesInstanceUID,
                                                                        b.PatientID)


def test_stow_study_round_trip_and_rerun(empty_orthanc, tree, out):
    report = push(out, empty_orthanc.dicomweb, credentials_file=empty_orthanc.credentials_file, options=FAST)
    assert report.complete and report.sent == 7 and report.verified_now == 7 and report.states["verified"] == 7
    assert_pacs_holds(empty_orthanc, tree, byte_identical=True)
    # ledger beside OUTPUT, not inside it
    assert Path(report.ledger).parent == out.with_name("OUTPUT.audit")
    # re-run: the ledger says verified -> nothing sent
    again = push(out, empty_orthanc.dicomweb, credentials_file=empty_orthanc.credentials_file, options=FAST)
    assert again.sent == 0 and again.complete
    # even without the ledger, the PACS keeps one copy per SOP Instance UID
    Path(report.ledger).unlink()
    third = push(out, empty_orthanc.dicomweb, credentials_file=empty_orthanc.credentials_file, options=FAST)
    assert third.sent == 7 and third.complete
    assert empty_orthanc.count_instances() == 7


def test_orthanc_stopped_mid_push_loses_nothing_and_resume_completes(empty_orthanc, tree, out):
    files_before = sorted(p.name for p in out.rglob("*.dcm"))
    batches_done = []

    def stop_after_first_batch(report):
        batches_done.append(report.sent)
        if len(batches_done) == 1:
            empty_orthanc.stop()

    with pytest.raises(PacsUnavailable, match="--resume") as err:
        push(out, empty_orthanc.dicomweb, credentials_file=empty_orthanc.credentials_file, options=FAST,
             on_batch=stop_after_first_batch)
    assert "cannot reach the PACS" in str(err.value)
    with PushLedger(ledger_path(out)) as ledger:
        states = ledger.counts(parse_destination(empty_orthanc.dicomweb).url)
    assert states == {"pending": 4, "sent": 0, "verified": 3, "failed": 0}
    assert sorted(p.name for p in out.rglob("*.dcm")) == files_before     # files stay in OUTPUT

    empty_orthanc.start()                                                  # same storage, ports and password
    assert empty_orthanc.count_instances() == 3
    resumed = push(out, empty_orthanc.dicomweb, credentials_file=empty_orthanc.credentials_file, resume=True,
                   options=FAST)
    assert resumed.complete and resumed.sent == 4
    assert_pacs_holds(empty_orthanc, tree, byte_identical=True)


def test_sent_but_not_read_back_is_verified_not_resent(empty_orthanc, out):
    """A crash between STOW and read-back leaves 'sent' rows: resume looks them up and sends again only those
    the PACS does not hold."""
    push(out, empty_orthanc.dicomweb, credentials_file=empty_orthanc.credentials_file, options=FAST)
    dest = parse_destination(empty_orthanc.dicomweb).url
    with PushLedger(ledger_path(out)) as ledger:
        uids = [i.sop_uid for i in ledger.instances(dest)]
        ledger.mark(dest, uids[:5], "sent")
    for uid in uids[:2]:                      # two of the five never really arrived
        requests.delete(f"{empty_orthanc.url}/instances/{empty_orthanc.lookup(uid)}", auth=empty_orthanc.auth,
                        timeout=30).raise_for_status()
    report = push(out, empty_orthanc.dicomweb, credentials_file=empty_orthanc.credentials_file, options=FAST,
                  resume=True)
    assert (report.sent, report.verified_now, report.states["verified"]) == (2, 5, 7)
    assert empty_orthanc.count_instances() == 7


def test_wrong_credentials_give_a_clear_error(empty_orthanc, tmp_path, out, capsys):
    bad = tmp_path / "bad-credentials"
    bad.write_text(json.dumps({"user": "medanon", "password": "not-the-password"}))
    bad.chmod(0o600)
    with pytest.raises(PacsAuthError, match=r"refused user 'medanon' \(HTTP 401\).*credentials"):
        push(out, empty_orthanc.dicomweb, credentials_file=bad, options=FAST)
    assert empty_orthanc.count_instances() == 0
    code = pacs_main(["push", str(out), "--pacs", empty_orthanc.dicomweb, "--credentials-file", str(bad)])
    err = capsys.readouterr().err
    assert code == 4 and "HTTP 401" in err and "not-the-password" not in err


def test_cstore_round_trip(empty_orthanc, tree, out):
    report = push(out, empty_orthanc.dicom_url, options=FAST)
    assert report.complete and report.sent == 7
    assert_pacs_holds(empty_orthanc, tree, byte_identical=False)
    assert push(out, empty_orthanc.dicom_url, options=FAST).sent == 0


def test_cli_push_then_status(empty_orthanc, out, monkeypatch, capsys):
    user, password = empty_orthanc.auth
    env = {"MEDANON_PACS_USER": user, "MEDANON_PACS_PASSWORD": password, "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "inference.storage.pacs", "push", str(out), "--pacs",
                        empty_orthanc.dicomweb, "--batch-size", "4"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "7 verified" in r.stderr, r.stderr
    assert pacs_main(["status", str(out), "--pacs", empty_orthanc.dicomweb]) == 0
    assert "7 verified, 0 sent, 0 pending, 0 failed" in capsys.readouterr().err
    monkeypatch.setenv("MEDANON_PACS_USER", user)
    monkeypatch.setenv("MEDANON_PACS_PASSWORD", "wrong")
    assert pacs_main(["push", str(out), "--pacs", empty_orthanc.dicomweb, "--resume"]) == 4


def test_unreachable_pacs(out):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]           # closed again: nothing listens there
    with pytest.raises(PacsUnavailable, match="cannot reach the PACS at 127.0.0.1"):
        push(out, f"http://127.0.0.1:{port}/dicom-web", credentials_file=None, options=FAST)
    with pytest.raises(PacsUnavailable, match="association"):
        push(out, f"dicom://ORTHANC@127.0.0.1:{port}", options=FAST)


def test_urls_and_credentials(tmp_path, capsys):
    for url in ("http://user:secret@pacs/dicom-web", "https://user@pacs/dicom-web"):
        with pytest.raises(PacsConfigError, match="do not put credentials in the PACS URL"):
            parse_destination(url)
    with pytest.raises(PacsConfigError, match="AE title only"):
        parse_destination("dicom://AET:pw@pacs:104")
    with pytest.raises(PacsConfigError, match="scheme"):
        parse_destination("ftp://pacs")
    d = parse_destination("http://127.0.0.1:8042")
    assert (d.kind, d.url) == ("stow", "http://127.0.0.1:8042/dicom-web")
    d = parse_destination("dicom://ORTHANC@10.0.0.5:4242")
    assert (d.kind, d.called_aet, d.host, d.port) == ("cstore", "ORTHANC", "10.0.0.5", 4242)
    f = tmp_path / "c"
    f.write_text("alice:pa:ss\n")
    assert load_credentials(f).password == "pa:ss" and "pa:ss" not in repr(load_credentials(f))
    assert load_credentials(None, env={"MEDANON_PACS_USER": "bob", "MEDANON_PACS_PASSWORD": "x"}).user == "bob"
    assert load_credentials(None, env={}) is None
    with pytest.raises(PacsConfigError, match="both"):
        load_credentials(None, env={"MEDANON_PACS_USER": "bob"})
    f.write_text("no-password")
    with pytest.raises(PacsConfigError, match="user:password"):
        load_credentials(f)
    assert pacs_main(["push", str(tmp_path), "--pacs", "http://u:p@127.0.0.1/dicom-web"]) == 2
    assert "do not put credentials" in capsys.readouterr().err


def test_refused_instance_is_failed_not_lost(empty_orthanc, out, capsys):
    """Orthanc refuses an unknown SOP class over C-STORE: that instance is 'failed' with the reason, the others go
    in, the exit code says so, and the next push tries the failed one again."""
    any_file = next((out / "dicom").rglob("*.dcm"))
    ds = pydicom.dcmread(any_file)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.826.0.1.3680043.9.7777.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "2.25.4242"
    ds.save_as(any_file.with_name("2.25.4242.dcm"), enforce_file_format=True)
    report = push(out, empty_orthanc.dicom_url, options=FAST)
    assert not report.complete and report.states == {"pending": 0, "sent": 0, "verified": 7, "failed": 1}
    assert empty_orthanc.count_instances() == 7
    assert pacs_main(["status", str(out), "--pacs", empty_orthanc.dicom_url]) == 1
    assert "2.25.4242.dcm: not accepted by the PACS" in capsys.readouterr().err
    assert pacs_main(["push", str(out), "--pacs", empty_orthanc.dicom_url, "--resume", "--retries", "1"]) == 1
    with PushLedger(ledger_path(out)) as ledger:
        assert ledger.instances(parse_destination(empty_orthanc.dicom_url).url, ["failed"])[0].sop_uid == "2.25.4242"


def test_backoff_doubles_then_gives_up():
    from inference.storage.retry import TransientError, with_retries
    waits, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise TransientError("connection refused")
        return "ok"

    policy = RetryPolicy(attempts=4, base_delay_s=0.5, max_delay_s=1.5)
    assert with_retries(flaky, policy, "test", sleep=waits.append) == "ok"
    assert waits == [0.5, 1.0, 1.5]
    calls.clear()
    with pytest.raises(PacsUnavailable, match="failed 3 times, last: connection refused"):
        with_retries(flaky, RetryPolicy(attempts=3, base_delay_s=0.5), "test", sleep=waits.append)


def test_batches_respect_count_and_bytes(out):
    from inference.storage.pacs import batches, scan_output
    items, unreadable = scan_output(out)
    assert len(items) == 7 and unreadable == []
    assert [len(b) for b in batches(items, out, 3, 1 << 30)] == [3, 3, 1]
    sizes = [(out / i.relpath).stat().st_size for i in items]
    small = max(sizes) + 1            # every batch under this many bytes, a big file alone
    for batch in batches(items, out, 50, small):
        assert len(batch) == 1 or sum((out / i.relpath).stat().st_size for i in batch) <= small
