"""scripts/orthanc.sh gives a locked-down dev PACS: authentication on, remote access off, unprivileged user,
secrets not readable by others, clean stop."""
from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import requests


pytestmark = pytest.mark.orthanc
pytest_plugins = ["orthanc_fixture"]   # one Orthanc for the whole session, whichever modules run
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "orthanc.sh"


def test_orthanc_is_locked_down(empty_orthanc):
    folder = empty_orthanc.folder
    config = json.loads((folder / "orthanc.json").read_text())
    assert config["RemoteAccessAllowed"] is False and config["AuthenticationEnabled"] is True
    assert config["StorageDirectory"] == str(folder / "data")
    assert stat.S_IMODE((folder / "credentials").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "orthanc.json").stat().st_mode) == 0o600      # it holds the password too
    assert requests.get(empty_orthanc.url + "/system", timeout=10).status_code == 401
    assert requests.get(empty_orthanc.url + "/system", auth=("medanon", "guess"), timeout=10).status_code == 401
    assert empty_orthanc.get("/system").json()["DicomPort"] == int(empty_orthanc.env["ORTHANC_DICOM_PORT"])
    plugins = empty_orthanc.get("/plugins").json()
    assert "dicom-web" in plugins
    pid = (folder / "orthanc.pid").read_text().strip()
    user = subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True, text=True).stdout.strip()
    assert user == ("nobody" if os.geteuid() == 0 else subprocess.run(["id", "-un"], capture_output=True,
                                                                      text=True).stdout.strip())


def test_status_and_restart_keep_ports_and_password(empty_orthanc):
    status = lambda: subprocess.run(["bash", str(SCRIPT), "status", str(empty_orthanc.folder)],  # noqa: E731
                                    capture_output=True, text=True).returncode
    before = (empty_orthanc.env, empty_orthanc.auth)
    assert status() == 0
    empty_orthanc.stop()
    assert status() == 1 and not (empty_orthanc.folder / "orthanc.pid").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(empty_orthanc.url + "/system", timeout=5)
    empty_orthanc.start()
    assert status() == 0 and (empty_orthanc.env, empty_orthanc.auth) == before


def test_script_usage_errors():
    r = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True)
    assert r.returncode != 0 and "usage" in r.stderr
