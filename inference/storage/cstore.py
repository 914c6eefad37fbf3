"""DICOM C-STORE client for the push (pynetdicom), with C-FIND at IMAGE level to read back what arrived.

The PACS must accept our calling AE title for C-STORE and C-FIND (Orthanc: DicomAlwaysAllowStore and
DicomAlwaysAllowFind, or a DicomModalities entry). DICOM has no password: credentials do not apply here.
"""
from __future__ import annotations

import socket
from collections import defaultdict
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.filereader import read_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

from .destination import DEFAULT_CALLING_AET, Destination
from .ledger import Instance
from .retry import PacsAuthError, PacsError, TransientError

UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
MAX_CONTEXTS = 128                          # PS3.8: at most 128 presentation contexts per association
SUCCESS_OR_WARNING = {0x0000, 0xB000, 0xB006, 0xB007}
PENDING = {0xFF00, 0xFF01}


class NoContextAccepted(Exception):
    """The PACS accepted none of the SOP class / transfer syntax pairs offered: a refusal, not an outage."""


class CStoreClient:
    """One association per call: a dead association never poisons the next batch."""

    def __init__(self, dest: Destination, calling_aet: str = DEFAULT_CALLING_AET, timeout_s: float = 60.0):
        self.dest = dest
        self.calling_aet = calling_aet
        self.timeout_s = timeout_s

    def close(self) -> None:
        pass

    def _ae(self) -> AE:
        ae = AE(ae_title=self.calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout_s
        return ae

    def _associate(self, ae: AE) -> Association:
        assoc = ae.associate(self.dest.host, self.dest.port, ae_title=self.dest.called_aet)
        if assoc.is_established:
            _disable_nagle(assoc)
            return assoc
        if assoc.is_rejected:
            raise PacsAuthError(
                f"the PACS at {self.dest.host}:{self.dest.port} rejected the association (called AE title "
                f"{self.dest.called_aet!r}, calling AE title {self.calling_aet!r}): check that the PACS knows "
                "this AE title and accepts C-STORE and C-FIND from it")
        if assoc.rejected_contexts and not assoc.accepted_contexts:
            refused = sorted({str(cx.abstract_syntax) for cx in assoc.rejected_contexts})
            raise NoContextAccepted(f"the PACS accepts none of the SOP classes / transfer syntaxes {refused}")
        raise TransientError(f"cannot open a DICOM association with {self.dest.host}:{self.dest.port}")

    def check(self) -> None:
        """C-ECHO: the PACS answers and accepts our AE title."""
        ae = self._ae()
        ae.add_requested_context("1.2.840.10008.1.1")
        assoc = self._associate(ae)
        try:
            status = assoc.send_c_echo()
            if not status:
                raise TransientError("no answer to C-ECHO")
        finally:
            assoc.release()

    def send(self, output: Path, batch: list[Instance]) -> dict[str, str | None]:
        metas = {i.sop_uid: read_file_meta_info(output / i.relpath) for i in batch}
        ae = self._ae()
        contexts = sorted({(str(m.MediaStorageSOPClassUID), _syntaxes(str(m.TransferSyntaxUID)))
                           for m in metas.values()})
        if len(contexts) > MAX_CONTEXTS:
            raise PacsError(f"a batch needs {len(contexts)} presentation contexts (max {MAX_CONTEXTS}): "
                            "use a smaller batch size")
        for sop_class, syntaxes in contexts:
            ae.add_requested_context(sop_class, list(syntaxes))
        try:
            assoc = self._associate(ae)
        except NoContextAccepted as e:
            return {i.sop_uid: f"not accepted by the PACS: {e}" for i in batch}
        outcome: dict[str, str | None] = {}
        try:
            for item in batch:
                try:
                    status = assoc.send_c_store(output / item.relpath)
                except ValueError as e:   # no accepted presentation context for this SOP class / syntax
                    outcome[item.sop_uid] = f"not accepted by the PACS: {e}"
                    continue
                if not status or "Status" not in status:
                    raise TransientError("the association was aborted or timed out during C-STORE")
                code = int(status.Status)
                outcome[item.sop_uid] = None if code in SUCCESS_OR_WARNING else f"C-STORE status 0x{code:04X}"
        finally:
            if assoc.is_established:
                assoc.release()
        return outcome

    def present(self, batch: list[Instance]) -> set[str]:
        """SOP Instance UIDs of the batch that a C-FIND at IMAGE level finds (one query per series)."""
        by_series: dict[tuple[str, str], set[str]] = defaultdict(set)
        for i in batch:
            by_series[(i.study_uid, i.series_uid)].add(i.sop_uid)
        ae = self._ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        assoc = self._associate(ae)
        found: set[str] = set()
        try:
            for study, series in by_series:
                query = Dataset()
                query.QueryRetrieveLevel = "IMAGE"
                query.StudyInstanceUID, query.SeriesInstanceUID, query.SOPInstanceUID = study, series, ""
                for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
                    if not status:
                        raise TransientError("the association was aborted or timed out during C-FIND")
                    code = int(status.Status)
                    if code in PENDING and identifier is not None:
                        found.add(str(identifier.get("SOPInstanceUID", "")))
                    elif code not in PENDING and code != 0x0000:
                        raise PacsError(f"C-FIND read-back refused by the PACS (status 0x{code:04X}): it must "
                                        f"allow C-FIND from AE title {self.calling_aet!r} to verify the push")
        finally:
            if assoc.is_established:
                assoc.release()
        return {uid for uids in by_series.values() for uid in uids} & found


def _disable_nagle(assoc: Association) -> None:
    """Small DIMSE messages otherwise wait for delayed ACKs: measured twice the C-STORE rate with TCP_NODELAY."""
    try:
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
    except (AttributeError, OSError):
        pass  # an optimisation only: a socket without the option still works


def _syntaxes(transfer_syntax: str) -> tuple[str, ...]:
    """Offer the file's own syntax; uncompressed files may also travel in the other little-endian syntax."""
    if transfer_syntax in UNCOMPRESSED:
        return (transfer_syntax,) + tuple(t for t in UNCOMPRESSED if t != transfer_syntax)
    return (transfer_syntax,)
