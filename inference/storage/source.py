"""A PACS as the input: find studies (QIDO-RS or C-FIND), fetch each into a private staging folder (WADO-RS or
C-GET), anonymise it like a folder, delete the staging copy, and note the study as done.

    python -m inference.run dicomweb+http://HOST:8042/dicom-web OUTPUT --query StudyDate=20200101-20201231
    python -m inference.run dimse://AET@HOST:PORT OUTPUT --query Modality=US

Credentials: --source-credentials FILE or MEDANON_SOURCE_USER / MEDANON_SOURCE_PASSWORD (the same forms as for
--pacs; DICOM DIMSE has none). The pull ledger (OUTPUT.audit/pull-<id>.jsonl) records each study done, with its
instance count: a re-run fetches only studies not done, or whose count on the PACS has changed. The staging folder
(OUTPUT.audit/staging) holds un-anonymised originals, so it is never under OUTPUT and is emptied after each study
and at the start of every run (a crashed run's leftovers).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Protocol

from .destination import Credentials, Destination, PacsConfigError, load_credentials, parse_destination
from .retry import PacsAuthError, PacsError

SOURCE_ENV = {"user": "MEDANON_SOURCE_USER", "password": "MEDANON_SOURCE_PASSWORD"}
PREFIXES = ("dicomweb+http://", "dicomweb+https://", "dimse://")
STUDY_UID, N_INSTANCES, MODALITIES = "0020000D", "00201208", "00080061"
STUDY_LEVEL_NAMES = {"Modality": "ModalitiesInStudy"}  # a study is found by the modalities it contains
QIDO_PAGE = 500
_UID = re.compile(r"^[0-9.]{1,64}$")


def is_pacs_source(text: str) -> bool:
    return str(text).lower().startswith(PREFIXES)


@dataclass(frozen=True)
class StudyRef:
    uid: str
    instances: int | None  # NumberOfStudyRelatedInstances as the PACS reports it (None: not reported)


class SourceClient(Protocol):
    def studies(self, query: Mapping[str, str]) -> Iterator[StudyRef]: ...
    def fetch(self, study_uid: str, folder: Path) -> int: ...
    def close(self) -> None: ...


def parse_query(pairs: list[str]) -> dict[str, str]:
    """--query KEY=VALUE (DICOM keywords); Modality is asked at study level as ModalitiesInStudy."""
    from pydicom.datadict import tag_for_keyword
    query: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = STUDY_LEVEL_NAMES.get(key.strip(), key.strip())
        if not sep or not key or tag_for_keyword(key) is None:
            raise PacsConfigError(f"--query takes KEYWORD=VALUE with a DICOM keyword (StudyDate=20200101-20201231, "
                                  f"Modality=US), got {pair!r}")
        query[key] = value.strip()
    return query


def source_destination(url: str) -> Destination:
    """dicomweb+http(s)://... -> the DICOMweb root; dimse://AET@host:port -> C-FIND/C-GET peer."""
    low = url.lower()
    if low.startswith("dicomweb+"):
        return parse_destination(url[len("dicomweb+"):])
    if low.startswith("dimse://"):
        return parse_destination("dicom://" + url[len("dimse://"):])
    raise PacsConfigError(f"a PACS input is dicomweb+http(s)://HOST/dicom-web or dimse://AET@HOST:PORT, got {url}")


def open_source(url: str, credentials_file: Path | None = None, calling_aet: str = "MEDANON") -> SourceClient:
    dest = source_destination(url)
    if dest.kind == "stow":
        creds = load_credentials(credentials_file, env=_source_env()) if credentials_file or _source_env() else None
        return DicomwebSource(dest, creds)
    if credentials_file is not None:
        raise PacsConfigError("DICOM DIMSE has no password: --source-credentials applies to dicomweb+http(s) only")
    return DimseSource(dest, calling_aet)


def _source_env() -> dict[str, str]:
    import os
    env = {"MEDANON_PACS_USER": os.environ.get(SOURCE_ENV["user"], ""),
           "MEDANON_PACS_PASSWORD": os.environ.get(SOURCE_ENV["password"], "")}
    return env if any(env.values()) else {}


def _checked_uid(uid: object) -> str:
    """A Study Instance UID from the PACS names a staging folder and a URL path: refuse anything else."""
    text = str(uid or "").strip()
    if not _UID.match(text):
        raise PacsError(f"the PACS answered an invalid Study Instance UID {text[:80]!r}")
    return text


class DicomwebSource:
    """QIDO-RS to list studies (paged), WADO-RS per series to fetch them (bounded memory per request)."""

    def __init__(self, dest: Destination, credentials: Credentials | None, timeout_s: float = 300.0):
        import requests
        self.dest, self.timeout = dest, (10.0, timeout_s)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "medanon-pacs-pull"
        if credentials is not None:
            self.session.auth = (credentials.user, credentials.password)

    def close(self) -> None:
        self.session.close()

    def _get(self, path: str, params: Mapping[str, str] | None = None, accept: str = "application/dicom+json"):
        import requests
        from urllib.parse import urlencode
        # Orthanc's DICOMweb plugin does not decode escapes in query strings: keep * / , ^ raw (STACK.md)
        url = self.dest.url + path + ("?" + urlencode(dict(params), safe="*/,^") if params else "")
        try:
            resp = self.session.get(url, headers={"Accept": accept}, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as e:
            raise PacsError(f"cannot reach the source PACS at {self.dest.host}:{self.dest.port} "
                            f"({type(e).__name__})") from e
        if resp.status_code in (401, 403):
            raise PacsAuthError(f"the source PACS at {self.dest.url} refused the credentials (HTTP "
                                f"{resp.status_code}): check --source-credentials or MEDANON_SOURCE_USER/_PASSWORD")
        if resp.status_code not in (200, 204):
            raise PacsError(f"GET {url} answered HTTP {resp.status_code}: {resp.text[:200]}")
        return resp

    def _qido(self, path: str, params: dict[str, str]) -> Iterator[dict]:
        offset = 0
        while True:
            resp = self._get(path, {**params, "limit": str(QIDO_PAGE), "offset": str(offset)})
            items = resp.json() if resp.status_code == 200 and resp.content else []
            yield from items
            if len(items) < QIDO_PAGE:
                return
            offset += len(items)

    def studies(self, query: Mapping[str, str]) -> Iterator[StudyRef]:
        params = {**query, "includefield": N_INSTANCES}
        for item in self._qido("/studies", params):
            count = (item.get(N_INSTANCES, {}).get("Value") or [None])[0]
            yield StudyRef(_checked_uid((item.get(STUDY_UID, {}).get("Value") or [""])[0]),
                           int(count) if count is not None else None)

    def fetch(self, study_uid: str, folder: Path) -> int:
        study_uid = _checked_uid(study_uid)
        n = 0
        for series in self._qido(f"/studies/{study_uid}/series", {}):
            series_uid = _checked_uid((series.get("0020000E", {}).get("Value") or [""])[0])
            resp = self._get(f"/studies/{study_uid}/series/{series_uid}",
                             accept='multipart/related; type="application/dicom"; transfer-syntax=*')
            for part in multipart_parts(resp.content, resp.headers.get("Content-Type", "")):
                n += 1
                _write_instance(folder, study_uid, part, n)
        return n


def multipart_parts(body: bytes, content_type: str) -> list[bytes]:
    """The bodies of a multipart/related response (PS3.18 8.7.3), headers stripped."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        if not body:
            return []
        raise PacsError(f"WADO-RS answer is not multipart (Content-Type {content_type!r})")
    delim = b"--" + m.group(1).encode()
    parts = []
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise PacsError("WADO-RS answer has a part without headers")
        parts.append(data[:-2] if data.endswith(b"\r\n") else data)
    return parts


def _write_instance(folder: Path, study_uid: str, data: bytes, n: int) -> Path:
    """Name a retrieved file by its SOP Instance UID when it has one (stable names across re-runs)."""
    from pydicom import dcmread
    import io
    try:
        name = str(dcmread(io.BytesIO(data), stop_before_pixels=True, specific_tags=["SOPInstanceUID"],
                           force=True).get("SOPInstanceUID", ""))
    except Exception:
        name = ""
    name = name if _UID.match(name or "") else f"instance-{hashlib.sha256(data).hexdigest()[:16]}"
    path = folder / study_uid / f"{name}.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class DimseSource:
    """C-FIND at STUDY level, C-GET per study (the PACS sends the instances back on our own association)."""

    def __init__(self, dest: Destination, calling_aet: str = "MEDANON", timeout_s: float = 120.0):
        self.dest, self.calling_aet, self.timeout_s = dest, calling_aet, timeout_s

    def close(self) -> None:
        pass

    def _associate(self, handlers=None):
        from pynetdicom import AE, StoragePresentationContexts, build_role
        from pynetdicom.sop_class import (StudyRootQueryRetrieveInformationModelFind,  # type: ignore[attr-defined]
                                          StudyRootQueryRetrieveInformationModelGet)
        from pydicom.uid import AllTransferSyntaxes
        ae = AE(ae_title=self.calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout_s
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        roles: list = []
        syntaxes = [ts for ts in AllTransferSyntaxes if not ts.is_deflated]
        for cx in StoragePresentationContexts[:126]:  # PS3.8: 128 contexts per association
            if cx.abstract_syntax is None:
                continue
            ae.add_requested_context(cx.abstract_syntax, syntaxes)
            roles.append(build_role(cx.abstract_syntax, scp_role=True))
        assoc = ae.associate(self.dest.host, self.dest.port, ae_title=self.dest.called_aet, ext_neg=roles,
                             evt_handlers=handlers or [])
        if not assoc.is_established:
            raise PacsError(f"no association with the source PACS {self.dest.url} (calling AE title "
                            f"{self.calling_aet!r}): check that it accepts C-FIND and C-GET from it")
        return assoc

    def studies(self, query: Mapping[str, str]) -> Iterator[StudyRef]:
        from pydicom.dataset import Dataset
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = ""
        ds.NumberOfStudyRelatedInstances = ""
        for key, value in query.items():
            setattr(ds, key, value)
        assoc = self._associate()
        found = []
        try:
            for status, ident in assoc.send_c_find(ds, StudyRootQueryRetrieveInformationModelFind):
                code = getattr(status, "Status", None)
                if code is None:
                    raise PacsError("C-FIND: the source PACS stopped answering")
                if code in (0xFF00, 0xFF01) and ident is not None:
                    n = ident.get("NumberOfStudyRelatedInstances")
                    found.append(StudyRef(_checked_uid(ident.get("StudyInstanceUID")),
                                          int(n) if n not in (None, "") else None))
                elif code != 0x0000:
                    raise PacsError(f"C-FIND failed with status 0x{code:04X}")
        finally:
            assoc.release()
        yield from found  # C-FIND answers are small (one identifier per study); the association is closed

    def fetch(self, study_uid: str, folder: Path) -> int:
        from pydicom.dataset import Dataset
        from pynetdicom import evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]
        study_uid = _checked_uid(study_uid)
        written = [0]

        def on_store(event) -> int:
            written[0] += 1
            _write_instance(folder, study_uid, event.encoded_dataset(include_meta=True), written[0])
            return 0x0000

        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = study_uid
        assoc = self._associate([(evt.EVT_C_STORE, on_store)])
        failed = 0
        try:
            for status, _ in assoc.send_c_get(ds, StudyRootQueryRetrieveInformationModelGet):
                code = getattr(status, "Status", None)
                if code is None:
                    raise PacsError(f"C-GET of study {study_uid}: the source PACS stopped answering")
                if code not in (0x0000, 0xFF00, 0xB000):
                    raise PacsError(f"C-GET of study {study_uid} failed with status 0x{code:04X}")
                failed = int(getattr(status, "NumberOfFailedSuboperations", 0) or 0)
        finally:
            assoc.release()
        if failed:
            raise PacsError(f"C-GET of study {study_uid}: {failed} instance(s) not sent by the PACS")
        return written[0]


@dataclass
class PullLedger:
    """One JSON line per study done from one source: the study is not fetched again unless its count changed."""

    folder: Path
    source_url: str

    @property
    def path(self) -> Path:
        return self.folder / f"pull-{hashlib.sha256(self.source_url.encode()).hexdigest()[:12]}.jsonl"

    def done(self, fingerprint: str) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if r.get("fingerprint") == fingerprint:
                    out[r["study"]] = r.get("instances")
        return out

    def mark(self, study: StudyRef, fetched: int, fingerprint: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "source": self.source_url,
                                "study": study.uid, "instances": study.instances, "fetched": fetched,
                                "fingerprint": fingerprint}) + "\n")


def staging_root(audit_dir: Path) -> Path:
    """Private, beside the audit trail; a crashed run's leftovers are removed before anything is fetched."""
    root = audit_dir / "staging"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, mode=0o700)
    return root


def run_from_pacs(url: str, query: Mapping[str, str], job, engine, progress,
                  credentials_file: Path | None = None, log=print):
    """Study by study: fetch into staging, run the engine on that folder, delete it, mark the study done.
    Returns the merged Tally (plus study counts in .counts under 'studies ...')."""
    from dataclasses import replace
    from ..engines import Tally
    client = open_source(url, credentials_file)
    ledger = PullLedger(job.audit_dir, source_destination(url).url)
    done = {} if job.force else ledger.done(job.fingerprint)
    staging = staging_root(job.audit_dir)
    total = Tally()
    t0 = time.perf_counter()
    try:
        for study in client.studies(query):
            if study.uid in done and (study.instances is None or done[study.uid] == study.instances):
                total.counts["studies already done"] += 1
                continue
            folder = staging / hashlib.sha256(study.uid.encode()).hexdigest()[:16]
            folder.mkdir(mode=0o700)  # sources in the trail: <study uid>/<sop instance uid>.dcm
            try:
                try:
                    fetched = client.fetch(study.uid, folder)
                    if study.instances is not None and fetched < study.instances:
                        raise PacsError(f"{fetched} of {study.instances} instances retrieved")
                except PacsAuthError:
                    raise
                except PacsError as e:  # this study only: the others go on, a re-run fetches it again
                    total.counts["studies failed"] += 1
                    total.reasons[f"study not retrieved: {str(e)[:200]}"] += 1
                    log(f"error: study {study.uid} not retrieved: {e}")
                    continue
                part = engine.run(replace(job, source=folder, manifest=None), progress)
            finally:
                shutil.rmtree(folder, ignore_errors=True)  # originals never outlive their study's run
            total.merge({"counts": part.counts, "reasons": part.reasons, "catalog_rows": part.catalog_rows,
                         "written_dicom": part.written_dicom, "files_in": part.files_in,
                         "processed": part.processed})
            if not part.counts.get("lost"):
                ledger.mark(study, fetched, job.fingerprint)
                total.counts["studies done"] += 1
    finally:
        client.close()
        shutil.rmtree(staging, ignore_errors=True)
    total.seconds = time.perf_counter() - t0
    return total
