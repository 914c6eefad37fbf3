"""A real local Orthanc for the tests, started and stopped through scripts/orthanc.sh (the same script developers
use). A test module loads it with `pytest_plugins = ["orthanc_fixture"]`: one Orthanc per session."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "orthanc.sh"


def _env(folder: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (folder / "orthanc.env").read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


@dataclass
class OrthancServer:
    folder: Path

    def _script(self, command: str) -> None:
        r = subprocess.run(["bash", str(SCRIPT), command, str(self.folder)], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"scripts/orthanc.sh {command} failed: {r.stdout}{r.stderr}")

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    @property
    def env(self) -> dict[str, str]:
        return _env(self.folder)

    @property
    def url(self) -> str:
        return self.env["ORTHANC_URL"]

    @property
    def dicomweb(self) -> str:
        return self.env["ORTHANC_DICOMWEB"]

    @property
    def dicom_url(self) -> str:
        return self.env["ORTHANC_DICOM_URL"]

    @property
    def credentials_file(self) -> Path:
        return self.folder / "credentials"

    @property
    def auth(self) -> tuple[str, str]:
        user, _, password = self.credentials_file.read_text().strip().partition(":")
        return user, password

    def get(self, path: str) -> requests.Response:
        r = requests.get(self.url + path, auth=self.auth, timeout=30)
        r.raise_for_status()
        return r

    def lookup(self, uid: str) -> str:
        """Orthanc's id of the instance with this SOP Instance UID."""
        r = requests.post(self.url + "/tools/lookup", data=uid, auth=self.auth, timeout=30)
        r.raise_for_status()
        hits = [h["ID"] for h in r.json() if h["Type"] == "Instance"]
        assert len(hits) == 1, f"{uid}: {r.json()}"
        return hits[0]

    def tree(self) -> dict[str, dict[str, set[str]]]:
        """{study uid: {series uid: {sop instance uids}}} as Orthanc indexes them."""
        out: dict[str, dict[str, set[str]]] = {}
        for study in self.get("/studies?expand").json():
            series_map = out.setdefault(study["MainDicomTags"]["StudyInstanceUID"], {})
            for series in self.get(f"/studies/{study['ID']}/series").json():
                sops = {i["MainDicomTags"]["SOPInstanceUID"]
                        for i in self.get(f"/series/{series['ID']}/instances").json()}
                series_map[series["MainDicomTags"]["SeriesInstanceUID"]] = sops
        return out

    def count_instances(self) -> int:
        return int(self.get("/statistics").json()["CountInstances"])

    def clear(self) -> None:
        for pid in self.get("/patients").json():
            requests.delete(f"{self.url}/patients/{pid}", auth=self.auth, timeout=30).raise_for_status()


@pytest.fixture(scope="session")
def orthanc():
    if not Path("/usr/sbin/Orthanc").exists():
        pytest.fail("Orthanc is not installed: run scripts/install.sh dev (Debian packages orthanc orthanc-dicomweb)")
    # Under /tmp, not pytest's 0700 tmp folder: Orthanc runs as nobody and must reach its storage.
    folder = Path(tempfile.mkdtemp(prefix="medanon-orthanc-", dir="/tmp"))
    server = OrthancServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def empty_orthanc(orthanc):
    """The session's Orthanc, running and emptied (a test may have stopped it)."""
    orthanc.start()
    orthanc.clear()
    return orthanc
