"""Text of encapsulated documents (PDF): the text layer and the document metadata, read with pypdf.

SR text and waveform annotations are ordinary header elements and go through headers.scan_headers.
"""
from __future__ import annotations

import io
from typing import Any

from pydicom.dataset import Dataset

from ..errors import DocumentError  # an unreadable document cannot be shown to be clean


def pdf_texts(ds: Dataset) -> list[tuple[str, str]]:
    """(where, text) pairs: one per page of text and one per metadata field. Empty if the object has no PDF."""
    data = ds.get("EncapsulatedDocument")
    if not data:
        return []
    raw = bytes(data)
    if b"%PDF" not in raw[:1024]:
        mime = str(ds.get("MIMETypeOfEncapsulatedDocument", ""))
        return [("EncapsulatedDocument", raw.decode("utf-8", errors="replace"))] if "text" in mime else []
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        out = [(f"PDF page {i + 1}", page.extract_text() or "") for i, page in enumerate(reader.pages)]
        meta: dict[str, Any] = dict(reader.metadata or {})
        out += [(f"PDF metadata {k}", str(v)) for k, v in meta.items() if v]
        if reader.xmp_metadata is not None:
            xmp = reader.xmp_metadata
            for attr in ("dc_creator", "dc_title", "dc_description", "pdf_producer", "xmp_creator_tool"):
                value = getattr(xmp, attr, None)
                if value:
                    out.append((f"PDF XMP {attr}", str(value)))
        return out
    except Exception as e:  # unreadable -> cannot be audited -> flagged by the caller
        raise DocumentError(f"PDF cannot be read: {type(e).__name__}: {e}") from e
