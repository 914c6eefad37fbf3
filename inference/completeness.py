"""Is a DICOM byte stream complete? pydicom reads a file cut short without complaint (a 20-item SR cut at 2,600
bytes parses as 7 items), so the structure is checked here, on the raw bytes: every declared length must fit in
what is left and every undefined-length sequence or item must be closed by its delimiter.

Only lengths and delimiters are read, never values: the walk is cheap and independent of pydicom's parser.
"""
from __future__ import annotations

import struct
import zlib

from .errors import NotReleasable

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
EXPLICIT_BE, DEFLATED = "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"
MAX_DEPTH = 100  # sequences nested deeper than this are refused, not followed (a crafted file)


class Incomplete(NotReleasable, ValueError):
    """The byte stream ends before its declared structure does (the message says where)."""


class _Reader:
    def __init__(self, data: bytes, implicit: bool, little: bool):
        self.data, self.implicit, self.little = data, implicit, little

    def _unpack(self, fmt: str, pos: int, size: int, limit: int):
        if pos + size > limit:
            raise Incomplete(f"element header cut at byte {pos} (file or item ends at {limit})")
        return struct.unpack(("<" if self.little else ">") + fmt, self.data[pos:pos + size])

    def header(self, pos: int, limit: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
        """(tag, VR or None, value length, position of the value)."""
        group, element = self._unpack("HH", pos, 4, limit)
        tag = (group << 16) | element
        if implicit or group == 0xFFFE:  # item and delimiter tags never carry a VR
            (length,) = self._unpack("L", pos + 4, 4, limit)
            return tag, None, length, pos + 8
        vr = self.data[pos + 4:pos + 6]
        if vr in LONG_VRS:
            (length,) = self._unpack("L", pos + 8, 4, limit)
            return tag, vr, length, pos + 12
        (length,) = self._unpack("H", pos + 6, 2, limit)
        return tag, vr, length, pos + 8

    def dataset(self, pos: int, limit: int, implicit: bool, depth: int, until_item_end: bool) -> int:
        """Walk elements from pos; return the position after the dataset (after its item delimiter if any)."""
        if depth > MAX_DEPTH:
            raise Incomplete(f"sequences nested deeper than {MAX_DEPTH} levels")
        while pos < limit:
            tag, vr, length, value = self.header(pos, limit, implicit)
            if tag == ITEM_END:
                if until_item_end:
                    return value
                raise Incomplete(f"item delimiter outside an item at byte {pos}")
            if length != UNDEFINED:
                if value + length > limit:
                    raise Incomplete(f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) declares {length} bytes, "
                                     f"{max(0, limit - value)} left")
                pos = value + length
                continue
            # undefined length: a sequence (SQ, implicit, UN holding implicit VR data) or encapsulated pixel data
            inner_implicit = implicit or vr == b"UN"
            pos = self.items(value, limit, inner_implicit, depth + 1, tag)
        if until_item_end:
            raise Incomplete("an undefined-length item is not closed: the file ends inside it")
        return pos

    def items(self, pos: int, limit: int, implicit: bool, depth: int, owner: int) -> int:
        """Items of an undefined-length element, up to and including its sequence delimiter."""
        while pos < limit:
            tag, _vr, length, value = self.header(pos, limit, True)
            if tag == SEQUENCE_END:
                return value
            if tag != ITEM:
                raise Incomplete(f"expected an item at byte {pos} in ({owner >> 16:04X},{owner & 0xFFFF:04X})")
            if length == UNDEFINED:
                pos = self.dataset(value, limit, implicit, depth, until_item_end=True)
            elif value + length > limit:
                raise Incomplete(f"item in ({owner >> 16:04X},{owner & 0xFFFF:04X}) declares {length} bytes, "
                                 f"{max(0, limit - value)} left")
            else:
                pos = value + length
        raise Incomplete(f"sequence ({owner >> 16:04X},{owner & 0xFFFF:04X}) is not closed: the file ends inside it")


def _meta(data: bytes, pos: int) -> tuple[str, int]:
    """The transfer syntax and where the dataset starts, from the group 0002 elements at pos (explicit VR LE;
    some writers use implicit VR there, which pydicom accepts too)."""
    reader = _Reader(data, implicit=False, little=True)
    syntax = ""
    implicit_meta = not _looks_explicit(data, pos)
    while pos + 4 <= len(data) and struct.unpack("<H", data[pos:pos + 2])[0] == 0x0002:
        tag, _vr, length, value = reader.header(pos, len(data), implicit_meta)
        if length == UNDEFINED or value + length > len(data):
            raise Incomplete("file meta information is cut short")
        if tag == 0x00020010:
            syntax = data[value:value + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos = value + length
    return syntax, pos


def _looks_explicit(data: bytes, pos: int) -> bool:
    vr = data[pos + 4:pos + 6]
    return len(vr) == 2 and vr.isalpha() and vr.isupper()


def check_complete(data: bytes) -> None:
    """Raise Incomplete when the stream is cut short (or nested beyond MAX_DEPTH); return quietly otherwise."""
    pos = 132 if len(data) >= 132 and data[128:132] == b"DICM" else 0
    syntax, pos = _meta(data, pos)
    if not syntax:  # no file meta: guess the byte order the way pydicom does (a small first group)
        head = data[pos:pos + 2].ljust(2, b"\x00")
        little = struct.unpack("<H", head) <= struct.unpack(">H", head)
    else:
        little = syntax != EXPLICIT_BE
    body = data
    if syntax == DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            body = inflater.decompress(data[pos:])
        except zlib.error as exc:
            raise Incomplete(f"deflated dataset is corrupt: {exc}") from exc
        if not inflater.eof:
            raise Incomplete("deflated dataset is cut short")
        pos = 0
    implicit = not _looks_explicit(body, pos)  # as pydicom: the first element says, whatever the syntax claims
    _Reader(body, implicit, little).dataset(pos, len(body), implicit, 0, until_item_end=False)
