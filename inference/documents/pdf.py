"""Encapsulated documents: PDF rebuilt as redacted page images; CDA (XML) text scrubbed.

Why rasterise instead of editing the PDF: personal data can sit in the text layer, in drawing operators, in
images, in metadata, attachments and scripts; redacting each in place is fragile and hard to prove. Here each
page is rendered with pdfium, the boxes of every identifier found in the text layer (TextDeidentifier on the
page text, mapped to character boxes; characters without a readable Unicode value count as identifiers) are
painted over, and so is every box the pixel text detector (when given) finds on the page rendered WITHOUT its
text objects: text that is drawn but not in the text layer (scans, logos, vector outlines). Text-layer text
is judged by what it says, so the report body stays readable (the detector on the full page blanked every
line: one black page). A new image-only PDF is written: no text layer, no metadata, no attachments, no
JavaScript can survive. The result is checked before it is accepted (fail closed).
"""
from __future__ import annotations

import ctypes
import io
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from ..keys import Keyring
from ..textdeid import TextDeidentifier
from . import DocumentError

KEEP_TAGS: frozenset[int] = frozenset(int(Tag(k)) for k in (
    "EncapsulatedDocument",         # basic profile: D (would be dummied); rebuilt here
    "DocumentTitle",                # scrubbed here (dates shifted): not again
))
PDF_MIME = "application/pdf"
CDA_MIMES = ("text/xml", "application/xml", "application/hl7-cda+xml")


@dataclass(frozen=True)
class PdfOptions:
    """Rendering choices. 200 dpi keeps 8 pt text readable for the detector and the reader."""

    dpi: int = 200
    margin_px: int = 4              # painted around every box: anti-aliased glyph edges must go too
    max_pages: int = 200            # a longer 'report' is suspicious and slow: quarantine instead
    max_pixels: int = 40_000_000    # per page: posters/drawings are rendered at a lower dpi to bound memory
    fill: int = 0                   # black boxes


def deidentify_pdf(ds: Dataset, identity: Any, keyring: Keyring, textdeid: TextDeidentifier,
                   detector: Any = None, options: PdfOptions | None = None) -> list[str]:
    """Replace the encapsulated document of ``ds`` by a de-identified one; return actions (no values)."""
    options = options or PdfOptions()
    if "EncapsulatedDocument" not in ds:
        raise DocumentError("no EncapsulatedDocument in an encapsulated document object")
    mime = str(ds.get("MIMETypeOfEncapsulatedDocument", "") or "").strip().lower()
    data = _document_bytes(ds)
    actions: list[str] = []
    if mime == PDF_MIME or (not mime and data.startswith(b"%PDF")):
        new, page_actions = redact_pdf(data, textdeid, detector, options)
        actions += page_actions
        ds.MIMETypeOfEncapsulatedDocument = PDF_MIME
    elif mime in CDA_MIMES:
        new = scrub_xml(data, textdeid)
        actions.append("cda: XML text and attributes scrubbed")
    else:
        raise DocumentError(f"encapsulated document type {mime or 'unknown'!r} is not supported")
    ds.EncapsulatedDocumentLength = len(new)
    ds.EncapsulatedDocument = new + (b"\x00" if len(new) % 2 else b"")   # OB: even length, pad after
    if "DocumentTitle" in ds and ds.DocumentTitle:
        ds.DocumentTitle = textdeid.scrub(str(ds.DocumentTitle))
        actions.append("DocumentTitle scrubbed")
    return actions


def _document_bytes(ds: Dataset) -> bytes:
    data = bytes(ds.EncapsulatedDocument)
    length = ds.get("EncapsulatedDocumentLength")
    if length:
        data = data[: int(length)]
    return data


# --------------------------------------------------------------------------------------------------- PDF
def redact_pdf(data: bytes, textdeid: TextDeidentifier, detector: Any = None,
               options: PdfOptions | None = None) -> tuple[bytes, list[str]]:
    """Render, paint identifier boxes, rebuild an image-only PDF; verify it; return (pdf bytes, actions)."""
    import pypdfium2 as pdfium

    options = options or PdfOptions()
    try:
        doc = pdfium.PdfDocument(data)
    except Exception as e:  # encrypted, corrupt, not a PDF
        raise DocumentError(f"PDF cannot be opened: {type(e).__name__}") from e
    n_pages = len(doc)
    if n_pages == 0 or n_pages > options.max_pages:
        raise DocumentError(f"PDF has {n_pages} pages (allowed 1..{options.max_pages})")
    # one scale for the document (the rebuilt PDF has one resolution), lowered for huge pages to bound memory
    largest = max(w * h for w, h in (doc.get_page_size(i) for i in range(n_pages)))
    scale = min(options.dpi / 72.0, (options.max_pixels / max(largest, 1.0)) ** 0.5)
    images: list[Image.Image] = []
    found = detected = empty_pages = 0
    bare_doc = pdfium.PdfDocument(data) if detector is not None else None   # pages without their text objects
    for i in range(n_pages):
        page = doc[i]
        # annotations and form fields are not drawn: their text is not in the text layer, so it could not be
        # located; leaving them out removes them (a report's content lives in the page itself)
        image = _render(page, scale)
        text_boxes, n_chars = _identifier_boxes(page, image.size, textdeid)
        if n_chars == 0:
            empty_pages += 1
        boxes = list(text_boxes)
        found += len(text_boxes)
        if bare_doc is not None:
            bare = _render(_without_text_objects(bare_doc[i]), scale)
            if bare.size != image.size:
                raise DocumentError(f"PDF page {i + 1} renders at two sizes")
            det = np.asarray(detector.detect(np.asarray(bare)), dtype=np.float32).reshape(-1, 5)
            boxes += [tuple(b[:4]) for b in det]
            detected += len(det)
        _paint(image, boxes, options)
        images.append(image)
        page.close()
    doc.close()
    if bare_doc is not None:
        bare_doc.close()
    if empty_pages and detector is None:
        raise DocumentError(f"{empty_pages} PDF page(s) without a text layer and no pixel detector: drawn text "
                            "cannot be found")
    out = images_to_pdf(images, scale * 72.0)
    verify_clean_pdf(out)
    actions = [f"pdf: {n_pages} page(s) rasterised at {scale * 72:.0f} dpi, {found} text-layer identifier box(es)"
               f" and {detected} detector box(es) of drawn text outside the text layer painted, rebuilt image-only"
               " (no text layer, metadata, attachments or scripts)"]
    return out, actions


def _render(page: Any, scale: float) -> Image.Image:
    return page.render(scale=scale, may_draw_forms=False, draw_annots=False).to_pil().convert("RGB")


def _without_text_objects(page: Any) -> Any:
    """The page with every text object removed (in memory): what remains drawn is text the text layer cannot
    tell us about (images, paths), for the pixel detector. Text objects inside form XObjects are not removed:
    the detector then sees them too (more painted, never less)."""
    import pypdfium2.raw as raw

    for obj in list(page.get_objects(max_depth=1)):
        if obj.type == raw.FPDF_PAGEOBJ_TEXT:
            page.remove_obj(obj)
    return page


def _unreadable(ch: str) -> bool:
    """A character the text layer cannot tell: no Unicode mapping (U+FFFD, NUL, private use, controls)."""
    code = ord(ch)
    return ch == "\ufffd" or 0xE000 <= code <= 0xF8FF or (code < 32 and ch not in "\r\n\t")


def _identifier_boxes(page: Any, size: tuple[int, int], textdeid: TextDeidentifier
                      ) -> tuple[list[tuple[float, float, float, float]], int]:
    """Pixel boxes (x0, y0, x1, y1) of every identifier the text de-identifier finds in the page's text."""
    textpage = page.get_textpage()
    try:
        n = textpage.count_chars()
        if n <= 0:
            return [], 0
        text = textpage.get_text_range(0, n)
        boxes = []
        spans = [(s.start, s.end) for s in textdeid.find(text)]
        spans += [(ci, ci + 1) for ci, ch in enumerate(text[:n]) if _unreadable(ch)]
        for start, end in spans:
            line: list[tuple[float, float, float, float]] = []
            for ci in range(start, min(end, n)):
                if text[ci].isspace():
                    continue
                left, b, r, t = textpage.get_charbox(ci)
                line.append(_to_device(page, size, left, b, r, t))
            boxes += _merge_line_boxes(line)
        return boxes, n
    finally:
        textpage.close()


def _to_device(page: Any, size: tuple[int, int], left: float, b: float, r: float, t: float
               ) -> tuple[float, float, float, float]:
    """Page coordinates (points, y up) to rendered pixel coordinates, honouring page rotation (pdfium)."""
    import pypdfium2.raw as raw

    xs, ys = [], []
    for px, py in ((left, b), (left, t), (r, b), (r, t)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page.raw, 0, 0, size[0], size[1], 0, px, py, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value)
        ys.append(dy.value)
    return min(xs), min(ys), max(xs), max(ys)


def _merge_line_boxes(boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Character boxes of one identifier -> one box per text line (no gaps between letters left unpainted)."""
    out: list[list[float]] = []
    for x0, y0, x1, y1 in sorted(boxes, key=lambda b: (b[1], b[0])):
        if out and abs(out[-1][1] - y0) < max(2.0, (y1 - y0) * 0.6):
            cur = out[-1]
            cur[0], cur[1], cur[2], cur[3] = min(cur[0], x0), min(cur[1], y0), max(cur[2], x1), max(cur[3], y1)
        else:
            out.append([x0, y0, x1, y1])
    return [(b[0], b[1], b[2], b[3]) for b in out]


def _paint(image: Image.Image, boxes: list[tuple[float, float, float, float]], options: PdfOptions) -> None:
    draw = ImageDraw.Draw(image)
    m = options.margin_px
    for x0, y0, x1, y1 in boxes:
        draw.rectangle((int(x0) - m, int(y0) - m, int(np.ceil(x1)) + m, int(np.ceil(y1)) + m),
                       fill=(options.fill,) * 3)


def images_to_pdf(images: list[Image.Image], dpi: float) -> bytes:
    """One page per image, physical size from the DPI; Pillow writes no text layer and no document info
    beyond its producer line."""
    buf = io.BytesIO()
    first, rest = images[0], images[1:]
    fixed = time.gmtime(946684800)         # 2000-01-01: deterministic output, no run time inside
    first.save(buf, "PDF", resolution=float(dpi), save_all=True, append_images=rest, quality=90,
               creationDate=fixed, modDate=fixed)
    return buf.getvalue()


_FORBIDDEN = (b"/JavaScript", b"/JS", b"/EmbeddedFile", b"/OpenAction", b"/AA", b"/Launch", b"/URI",
              b"/Metadata", b"/XFA", b"/AcroForm")


def verify_clean_pdf(data: bytes) -> None:
    """Fail closed: the rebuilt PDF must open, have no extractable text, no scripts/attachments/XMP/forms,
    and an Info dictionary with nothing but producer/dates."""
    from pypdf import PdfReader

    structure = re.sub(rb"stream\r?\n.*?endstream", b"", data, flags=re.S)   # page images may hold any bytes
    for marker in _FORBIDDEN:
        if re.search(re.escape(marker) + rb"(?![A-Za-z])", structure):
            raise DocumentError(f"rebuilt PDF still contains {marker.decode()}")
    reader = PdfReader(io.BytesIO(data))
    for i, page in enumerate(reader.pages):
        if (page.extract_text() or "").strip():
            raise DocumentError(f"rebuilt PDF page {i + 1} still has a text layer")
    info: dict[str, Any] = dict(reader.metadata or {})
    extra = set(info.keys()) - {"/Producer", "/CreationDate", "/ModDate"}
    if extra:
        raise DocumentError(f"rebuilt PDF has document info keys {sorted(extra)}")


# --------------------------------------------------------------------------------------------------- CDA
def scrub_xml(data: bytes, textdeid: TextDeidentifier) -> bytes:
    """Every text node, tail and attribute value of an XML document through the text de-identifier."""
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        raise DocumentError("encapsulated XML declares a DOCTYPE/entities: refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise DocumentError(f"encapsulated XML cannot be parsed: {e}") from e
    for el in root.iter():
        if el.text and el.text.strip():
            el.text = textdeid.scrub(el.text)
        if el.tail and el.tail.strip():
            el.tail = textdeid.scrub(el.tail)
        for k, v in list(el.attrib.items()):
            el.attrib[k] = textdeid.scrub(v)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
