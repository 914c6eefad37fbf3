"""Character sets: keep the written dataset consistent with its Specific Character Set.

The walker touches every element, so every text value is decoded (per the input's charset, nested
item charsets included) by the time this runs. If any text is non-ASCII, the dataset is declared
ISO_IR 192 (UTF-8) and pydicom re-encodes all text in UTF-8 on write: one charset for the whole
output, whatever mix (ISO_IR 100 / 110 / 179, ISO 2022) came in. Pure ASCII keeps the input's charset.
"""
from __future__ import annotations

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

from ..identity import register_charsets
from ..vrs import FREE_TEXT_VRS

register_charsets()

UTF8 = "ISO_IR 192"
CHARSET_TAG = 0x00080005


def _decoded(ds: Dataset):
    """Elements already decoded by the walker; the ones left raw are numbers/binary (charset-free)."""
    for tag in ds.keys():
        elem = ds.get_item(tag)
        if not isinstance(elem, RawDataElement):
            yield elem


def _texts(ds: Dataset):
    for elem in _decoded(ds):
        if elem.VR == "SQ":
            for item in elem.value or []:
                yield from _texts(item)
        elif elem.VR in FREE_TEXT_VRS and elem.value not in (None, ""):
            values = elem.value if elem.VM > 1 else [elem.value]
            for v in values:
                yield str(v) if not isinstance(v, PersonName) else str(v)


def _drop_nested_charsets(ds: Dataset) -> None:
    for elem in _decoded(ds):
        if elem.VR == "SQ":
            for item in elem.value or []:
                if CHARSET_TAG in item:
                    del item[CHARSET_TAG]
                _drop_nested_charsets(item)


def needs_utf8(ds: Dataset) -> bool:
    return any(not t.isascii() for t in _texts(ds))


def normalise_charset(ds: Dataset) -> str:
    """Declare UTF-8 when non-ASCII text remains; return the charset the output is written with."""
    if needs_utf8(ds):
        ds.SpecificCharacterSet = UTF8
        _drop_nested_charsets(ds)
        return UTF8
    value = ds.get("SpecificCharacterSet", "")
    return "\\".join(value) if not isinstance(value, str) else value
