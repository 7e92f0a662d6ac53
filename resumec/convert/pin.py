"""Make LibreOffice's PDFs reproducible by overwriting the few bytes that change run to run.

Dates, /ID and /DocChecksum are replaced by values of exactly the same length,
so the xref table's byte offsets stay valid. Two exceptions are inside
Flate-compressed streams, which are recompressed and the (classic) xref table
shifted to match: PDF/A's output-intent ICC profile (lcms stamps the current
time into its header), and the UniqueID of Type 1 fonts LibreOffice makes from
CFF fonts (a per-process counter: a warm LibreOffice would otherwise make
different bytes for the same document). No PDF library is needed.
"""

from __future__ import annotations

import hashlib
import re
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

_INFO_DATE = re.compile(rb"/(?:CreationDate|ModDate)\s*\((D:[^()\\]*)\)")
_XMP_ELEMENT = re.compile(rb"<xmp:(CreateDate|ModifyDate|MetadataDate)>([^<]*)</xmp:\1>")
_XMP_ATTRIBUTE = re.compile(rb'xmp:(?:CreateDate|ModifyDate|MetadataDate)="([^"]*)"')
_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]*)>\s*<([0-9A-Fa-f]*)>\s*\]")
_CHECKSUM = re.compile(rb"/DocChecksum\s*/([0-9A-Fa-f]+)")


@dataclass(frozen=True)
class _Field:
    start: int
    end: int
    kind: str  # "pdfdate", "xmpdate" or "hex"


def _fields(pdf: bytes) -> list[_Field]:
    found = [_Field(*m.span(1), "pdfdate") for m in _INFO_DATE.finditer(pdf)]
    found += [_Field(*m.span(2), "xmpdate") for m in _XMP_ELEMENT.finditer(pdf)]
    found += [_Field(*m.span(1), "xmpdate") for m in _XMP_ATTRIBUTE.finditer(pdf)]
    found += [_Field(*m.span(group), "hex") for m in _ID.finditer(pdf) for group in (1, 2)]
    found += [_Field(*m.span(1), "hex") for m in _CHECKSUM.finditer(pdf)]
    return sorted(found, key=lambda field: field.start)


def _overlay_date(original: bytes, template: bytes) -> bytes:
    """Write `template`'s digits over the original's, keeping its shape (and so its length).

    Past the template (the time-zone part) digits become 0 and a minus sign a
    plus: the date is UTC. With an empty template this blanks the date.
    """
    out = bytearray(original)
    for i, byte in enumerate(original):
        char = bytes([byte])
        if i < len(template) and char.isdigit() and template[i : i + 1].isdigit():
            out[i] = template[i]
        elif char.isdigit():
            out[i] = ord("0")
        elif char == b"-" and i >= len(template):
            out[i] = ord("+")
    return bytes(out)


def _hex_stream(seed: bytes, length: int) -> bytes:
    """`length` hex digits derived from `seed` (usually the first 64 are all we need)."""
    digits = b""
    block = seed
    while len(digits) < length:
        digits += block.hex().encode()
        block = hashlib.sha256(block).digest()
    return digits[:length]


def _rewrite(pdf: bytes, fields: list[_Field], value: Callable[[_Field, bytes], bytes]) -> bytes:
    out = bytearray(pdf)
    for field in fields:
        original = pdf[field.start : field.end]
        new = value(field, original)
        assert len(new) == len(original), "pinning must not move any byte"
        out[field.start : field.end] = new
    return bytes(out)


_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_OUTPUT_PROFILE = re.compile(rb"/DestOutputProfile\s+(\d+)\s+(\d+)\s+R")
_STREAM_DICT = re.compile(rb"\d+\s+\d+\s+obj\s*<<(.*?)>>\s*stream(?:\r\n|\n)", re.S)
_LENGTH = re.compile(rb"/Length\s+(\d+)(?:\s+(\d+)\s+R)?")
_INT_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\s*(\d+)\s*endobj")


@dataclass(frozen=True)
class _XrefEntry:
    number: int
    offset: int
    digits: int  # where the entry's 10 offset digits are in the file


@dataclass(frozen=True)
class _Xref:
    start: int  # the startxref value
    value_span: tuple[int, int]  # where that value is written
    entries: list[_XrefEntry]


def _classic_xref(pdf: bytes) -> _Xref | None:
    """The file's single classic xref table; None for xref streams or incremental updates."""
    tail = _STARTXREF.search(pdf, max(0, len(pdf) - 1024))
    if not tail:
        return None
    start = int(tail.group(1))
    trailer = pdf.find(b"trailer", start)
    if not pdf.startswith(b"xref", start) or trailer < 0 or b"/Prev" in pdf[trailer : tail.start()]:
        return None
    entries: list[_XrefEntry] = []
    lines = pdf[start:trailer].split(b"\n")
    position = start
    number = 0
    for line in lines:
        entry = _XREF_ENTRY.match(line.strip())
        if entry:
            if entry.group(3) == b"n":
                entries.append(_XrefEntry(number, int(entry.group(1)), position + line.index(entry.group(1))))
            number += 1
        elif line.strip() and line.strip() != b"xref":
            number = int(line.split()[0])  # a subsection header "first count"
        position += len(line) + 1
    return _Xref(start, tail.span(1), entries)


def _splice(pdf: bytes, xref: _Xref, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply edits that lie before the xref table, then shift its offsets by what moved."""
    edits = sorted(edits)
    out = bytearray()
    cursor = 0
    for start, end, new in edits:
        out += pdf[cursor:start] + new
        cursor = end
    out += pdf[cursor:]

    def moved(offset: int) -> int:
        return offset + sum(len(new) - (end - start) for start, end, new in edits if end <= offset)

    for entry in xref.entries:
        at = moved(entry.digits)
        out[at : at + 10] = b"%010d" % moved(entry.offset)
    value_start, value_end = moved(xref.value_span[0]), moved(xref.value_span[1])
    out[value_start:value_end] = str(moved(xref.start)).encode()
    return bytes(out)


def _pin_icc_header(profile: bytes, epoch: int) -> bytes:
    """Set an ICC profile's creation date (bytes 24-35) and, if it has one, recompute its MD5 ID."""
    if len(profile) < 128 or profile[36:40] != b"acsp":
        return profile
    stamp = time.gmtime(epoch)
    out = bytearray(profile)
    out[24:36] = struct.pack(">6H", *stamp[:6])
    if any(out[84:100]):
        # ICC.1:2010 7.2.18: MD5 over the profile with flags, intent and ID zeroed.
        blank = bytearray(out)
        blank[44:48] = blank[64:68] = bytes(4)
        blank[84:100] = bytes(16)
        out[84:100] = hashlib.md5(bytes(blank)).digest()
    return bytes(out)


@dataclass(frozen=True)
class _Stream:
    """A Flate-compressed stream object: where its data is, and where its /Length value is written."""

    head: bytes  # the stream dictionary
    data_start: int
    data_end: int
    length_span: tuple[int, int]
    content: bytes  # decompressed


def _flate_stream(pdf: bytes, offsets: dict[int, int], number: int) -> _Stream | None:
    """Object `number` if it is a stream with exactly one FlateDecode filter (LibreOffice's only kind)."""
    head = _STREAM_DICT.match(pdf, offsets[number]) if number in offsets else None
    if head is None or b"endobj" in head.group(1) or b"DecodeParms" in head.group(1):
        return None
    if head.group(1).replace(b" ", b"").count(b"/Filter/FlateDecode") != 1:
        return None  # another filter, or a filter chain: not LibreOffice's
    length = _LENGTH.search(head.group(1))
    if length is None:
        return None
    if length.group(2) is None:  # a direct /Length
        span = (head.start(1) + length.start(1), head.start(1) + length.end(1))
    else:
        holder_at = offsets.get(int(length.group(1)))
        holder = _INT_OBJECT.match(pdf, holder_at) if holder_at is not None else None
        if holder is None:
            return None
        span = holder.span(1)
    data_start = head.end()
    data_end = data_start + int(pdf[span[0] : span[1]])
    try:
        content = zlib.decompress(pdf[data_start:data_end])
    except zlib.error:
        return None
    return _Stream(head.group(1), data_start, data_end, span, content)


def _replace_stream(pdf: bytes, xref: _Xref, stream: _Stream, content: bytes) -> bytes:
    """Recompress at zlib's level 6, which is what LibreOffice uses: an unchanged stream keeps its bytes."""
    data = zlib.compress(content, 6)
    if data == pdf[stream.data_start : stream.data_end]:
        return pdf
    edits = [(stream.data_start, stream.data_end, data), (*stream.length_span, str(len(data)).encode())]
    return _splice(pdf, xref, edits)


def _pin_output_profiles(pdf: bytes, epoch: int) -> bytes:
    """Pin the date inside each Flate-compressed PDF/A output-intent profile."""
    numbers = sorted({int(m.group(1)) for m in _OUTPUT_PROFILE.finditer(pdf)})
    for number in numbers:
        xref = _classic_xref(pdf)
        if xref is None:
            return pdf
        stream = _flate_stream(pdf, {entry.number: entry.offset for entry in xref.entries}, number)
        if stream is None:
            continue
        pinned = _pin_icc_header(stream.content, epoch)
        if pinned != stream.content:
            pdf = _replace_stream(pdf, xref, stream, pinned)
    return pdf


_TYPE1_FONT_FILE = re.compile(rb"/FontFile\s+(\d+)\s+0\s+R")
_TYPE1_LENGTHS = re.compile(rb"/Length([12])\s+(\d+)")
# LibreOffice numbers the Type 1 fonts it makes from CFF (OpenType) fonts from a counter that
# lives as long as the process: 4100001 in a fresh LibreOffice, 4100002 in the next document a
# warm one converts, … The ID sits in the clear part and, again, in the eexec-encrypted part.
_UNIQUE_ID = re.compile(rb"/UniqueID 41\d{5}\b")
_EEXEC_KEY = 55665


def _eexec(data: bytes, *, decrypt: bool) -> bytes:
    """Type 1 eexec (Adobe Type 1 Font Format, 7.1): a byte-wise cipher with feedback from the ciphertext."""
    r = _EEXEC_KEY
    out = bytearray(len(data))
    for i, byte in enumerate(data):
        if decrypt:
            out[i] = byte ^ (r >> 8)
            cipher = byte
        else:
            cipher = out[i] = byte ^ (r >> 8)
        r = ((cipher + r) * 52845 + 22719) & 0xFFFF
    return bytes(out)


def _renumber_type1(font: bytes, head: bytes, unique_id: int) -> bytes:
    """The font program with its LibreOffice UniqueIDs set to `unique_id` (same length: 7 digits)."""
    lengths = {int(k): int(v) for k, v in _TYPE1_LENGTHS.findall(head)}
    clear_end = lengths.get(1, 0)
    private_end = clear_end + lengths.get(2, 0)
    if not (0 < clear_end < private_end <= len(font)):
        return font
    new_id = b"/UniqueID %d" % unique_id
    clear = _UNIQUE_ID.sub(new_id, font[:clear_end])
    private = _eexec(font[clear_end:private_end], decrypt=True)
    if not _UNIQUE_ID.search(private):
        return clear + font[clear_end:]
    private = _eexec(_UNIQUE_ID.sub(new_id, private), decrypt=False)
    return clear + private + font[private_end:]


def _pin_type1_ids(pdf: bytes) -> bytes:
    """Number LibreOffice's Type 1 fonts 4100001, 4100002, … in file order, as a fresh LibreOffice would.

    Without this a warm LibreOffice's PDFs would depend on how many documents
    it converted before (see _UNIQUE_ID).
    """
    numbers = sorted({int(m.group(1)) for m in _TYPE1_FONT_FILE.finditer(pdf)})
    for index, number in enumerate(numbers, start=1):
        xref = _classic_xref(pdf)
        if xref is None:
            return pdf
        stream = _flate_stream(pdf, {entry.number: entry.offset for entry in xref.entries}, number)
        if stream is None or not _UNIQUE_ID.search(stream.content, 0, 8192):
            continue  # not one of LibreOffice's Type 1 fonts
        renumbered = _renumber_type1(stream.content, stream.head, 4100000 + index)
        if renumbered != stream.content:
            pdf = _replace_stream(pdf, xref, stream, renumbered)
    return pdf


def pin_pdf(pdf: bytes, epoch: int) -> bytes:
    """Dates from `epoch` (UTC); /ID and /DocChecksum from a hash of the PDF with those fields blanked."""
    pdf = _pin_output_profiles(pdf, epoch)
    pdf = _pin_type1_ids(pdf)
    fields = _fields(pdf)
    if not fields:
        return pdf

    def blank(field: _Field, original: bytes) -> bytes:
        return b"0" * len(original) if field.kind == "hex" else _overlay_date(original, b"")

    digest = hashlib.sha256(_rewrite(pdf, fields, blank)).digest()
    stamp = time.gmtime(epoch)
    pdf_date = time.strftime("D:%Y%m%d%H%M%S", stamp).encode()
    xmp_date = time.strftime("%Y-%m-%dT%H:%M:%S", stamp).encode()

    def pinned(field: _Field, original: bytes) -> bytes:
        if field.kind == "pdfdate":
            return _overlay_date(original, pdf_date)
        if field.kind == "xmpdate":
            return _overlay_date(original, xmp_date)
        digits = _hex_stream(digest, len(original))
        return digits.upper() if original != original.lower() else digits

    return _rewrite(pdf, fields, pinned)
