"""DICOMweb client for the push: STOW-RS to store, QIDO-RS to read back what the PACS really holds."""
from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests

from .destination import Credentials, Destination
from .ledger import Instance
from .retry import PacsAuthError, PacsError, TransientError

DICOM_JSON = "application/dicom+json"
TAG_SOP_UID = "00080018"
TAG_REFERENCED_SOP_SEQ = "00081199"
TAG_FAILED_SOP_SEQ = "00081198"
TAG_REFERENCED_SOP_UID = "00081155"
TAG_FAILURE_REASON = "00081197"


def _first(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value") or [None]
    return values[0]


def multipart_body(parts: list[bytes]) -> tuple[bytes, str]:
    """multipart/related; type="application/dicom" body (PS3.18 10.5) and its Content-Type header."""
    boundary = f"medanon-{uuid.uuid4().hex}"
    chunks = []
    for data in parts:
        chunks += [f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode(), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/related; type="application/dicom"; boundary={boundary}'


def stow_outcome(status: int, body: dict[str, Any] | None, sop_uids: list[str]) -> dict[str, str | None]:
    """Per instance: None when the PACS accepted it, else the failure reason from the STOW-RS response."""
    body = body or {}
    outcome: dict[str, str | None] = {}
    for item in (body.get(TAG_REFERENCED_SOP_SEQ, {}).get("Value") or []):
        outcome[_first(item, TAG_REFERENCED_SOP_UID)] = None
    for item in (body.get(TAG_FAILED_SOP_SEQ, {}).get("Value") or []):
        reason = _first(item, TAG_FAILURE_REASON)
        outcome[_first(item, TAG_REFERENCED_SOP_UID)] = f"refused by the PACS (failure reason 0x{int(reason or 0):04X})"
    default = None if status == 200 else f"not acknowledged in the STOW-RS response (HTTP {status})"
    return {uid: outcome.get(uid, default) for uid in sop_uids}


class StowClient:
    """One HTTP session per push; every call maps network trouble to TransientError (retried by the caller)."""

    def __init__(self, dest: Destination, credentials: Credentials | None, timeout_s: float = 120.0,
                 ca_bundle: str | None = None):
        self.dest = dest
        self.timeout = (10.0, timeout_s)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "medanon-pacs-push"
        if credentials is not None:
            self.session.auth = (credentials.user, credentials.password)
        if ca_bundle:
            self.session.verify = ca_bundle
        self._user = credentials.user if credentials else None

    def close(self) -> None:
        self.session.close()

    def _request(self, method: str, path: str, not_found_ok: bool = False, **kw: Any) -> requests.Response:
        url = self.dest.url + path
        try:
            resp = self.session.request(method, url, timeout=self.timeout, **kw)
        except requests.exceptions.SSLError as e:
            raise PacsError(f"TLS failure talking to {self.dest.url}: {e}") from e
        except (requests.ConnectionError, requests.Timeout) as e:
            raise TransientError(f"cannot reach the PACS at {self.dest.host}:{self.dest.port} "
                                 f"({type(e).__name__})") from e
        if resp.status_code in (401, 403):
            who = f"user {self._user!r}" if self._user else "no credentials"
            raise PacsAuthError(
                f"the PACS at {self.dest.url} refused {who} (HTTP {resp.status_code}): check the credentials file "
                "or MEDANON_PACS_USER / MEDANON_PACS_PASSWORD")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"HTTP {resp.status_code} from {url}")
        if resp.status_code == 404 and not not_found_ok:
            raise PacsError(f"no DICOMweb service at {self.dest.url} (HTTP 404): check the URL path "
                            "(Orthanc: http://host:8042/dicom-web)")
        return resp

    def check(self) -> None:
        """A cheap authenticated call before sending anything: wrong credentials fail fast and clearly."""
        self._request("GET", "/studies", params={"limit": "1"}, headers={"Accept": DICOM_JSON})

    def send(self, output: Path, batch: list[Instance]) -> dict[str, str | None]:
        body, content_type = multipart_body([(output / i.relpath).read_bytes() for i in batch])
        resp = self._request("POST", "/studies", data=body,
                             headers={"Content-Type": content_type, "Accept": DICOM_JSON})
        if resp.status_code not in (200, 202, 409):
            raise PacsError(f"STOW-RS to {self.dest.url} answered HTTP {resp.status_code}: {resp.text[:200]}")
        try:
            parsed = resp.json() if resp.content else None
        except ValueError:
            parsed = None
        return stow_outcome(resp.status_code, parsed, [i.sop_uid for i in batch])

    def present(self, batch: list[Instance]) -> set[str]:
        """SOP Instance UIDs of the batch that QIDO-RS finds on the PACS (one query per series, then one per
        instance still missing, in case the PACS caps the size of answers)."""
        by_series: dict[tuple[str, str], set[str]] = defaultdict(set)
        for i in batch:
            by_series[(i.study_uid, i.series_uid)].add(i.sop_uid)
        found: set[str] = set()
        for (study, series), wanted in by_series.items():
            path = f"/studies/{study}/series/{series}/instances"
            found |= wanted & self._qido_uids(path, {"includefield": TAG_SOP_UID})
            for uid in sorted(wanted - found):
                found |= {uid} & self._qido_uids(path, {"SOPInstanceUID": uid})
        return found

    def _qido_uids(self, path: str, params: dict[str, str]) -> set[str]:
        resp = self._request("GET", path, not_found_ok=True, params=params, headers={"Accept": DICOM_JSON})
        if resp.status_code in (204, 404) or not resp.content:
            return set()
        if resp.status_code != 200:
            raise PacsError(f"QIDO-RS {path} answered HTTP {resp.status_code}")
        return {_first(item, TAG_SOP_UID) for item in resp.json()}
