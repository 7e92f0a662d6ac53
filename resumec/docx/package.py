"""The DOCX zip, written in one pass with parts compressed once.

A DOCX is a zip of XML parts. Most of them are the same for every résumé of
a theme, so a `Base` keeps them deflated and a build compresses only what it
wrote (the styles part once per set of styles used). `zipfile` cannot take
data that is already compressed, so this writes the zip itself: byte for byte what
`zipfile.ZipFile.writestr` writes for a `ZipInfo` with a fixed date, DEFLATE
at level 6, create_system 0 and no extra fields (tests/test_docx_builder.py
compares the two), which is the layout every earlier resumec release produced.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass

LEVEL = 6
_ZIP_MIN = (1980, 1, 1, 0, 0, 0)
_ZIP_MAX = (2107, 12, 31, 23, 59, 58)
_VERSION = 20  # zipfile's DEFAULT_VERSION: deflate, no zip64
_DEFLATED = 8
_EXTERNAL_ATTR = 0o600 << 16  # what zipfile writes for external_attr 0
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_MAX_SIZE = 0x7FFFFFFF  # zipfile's ZIP64_LIMIT: nothing a résumé holds comes near it


@dataclass(frozen=True)
class Entry:
    """One part, compressed: what a zip stores for it."""

    crc: int
    size: int
    data: bytes  # raw DEFLATE


def deflate(data: bytes) -> Entry:
    """Compress as zipfile does at level 6 (one compress call, then flush)."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return Entry(zlib.crc32(data), len(data), compressor.compress(data) + compressor.flush())


def stamp(epoch: int) -> tuple[int, int, int, int, int, int]:
    """The zip date of every entry: SOURCE_DATE_EPOCH in UTC, clamped to what a zip can hold."""
    return max(_ZIP_MIN, min(_ZIP_MAX, time.gmtime(max(0, epoch))[:6]))


def write_zip(entries: list[tuple[str, Entry]], date_time: tuple[int, ...]) -> bytes:
    """The zip holding `entries` in this order, every one dated `date_time`."""
    dosdate = (date_time[0] - 1980) << 9 | date_time[1] << 5 | date_time[2]
    dostime = date_time[3] << 11 | date_time[4] << 5 | (date_time[5] // 2)
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, entry in entries:
        if entry.size > _MAX_SIZE or len(entry.data) > _MAX_SIZE:
            raise ValueError(f"{name}: too large for a zip without zip64")
        try:
            raw_name, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            raw_name, flags = name.encode("utf-8"), 0x800
        header = _LOCAL.pack(b"PK\003\004", _VERSION, 0, flags, _DEFLATED, dostime, dosdate, entry.crc,
                             len(entry.data), entry.size, len(raw_name), 0)
        out += (header, raw_name, entry.data)
        central += (_CENTRAL.pack(b"PK\001\002", _VERSION, 0, _VERSION, 0, flags, _DEFLATED, dostime, dosdate,
                                  entry.crc, len(entry.data), entry.size, len(raw_name), 0, 0, 0, 0,
                                  _EXTERNAL_ATTR, offset), raw_name)
        offset += len(header) + len(raw_name) + len(entry.data)
    directory = b"".join(central)
    end = _END.pack(b"PK\005\006", 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join(out) + directory + end


def zip_order(names: list[str]) -> list[str]:
    """[Content_Types].xml and the package relationships first, as Word expects, then by name."""
    first = [n for n in ("[Content_Types].xml", "_rels/.rels") if n in names]
    return first + sorted(n for n in names if n not in first)
