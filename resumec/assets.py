"""Local files a résumé refers to (today: the photo in `basics.image`).

Light on purpose (standard library only): the pipeline calls `load_photo`
while computing the cache key, before deciding whether to build anything, so
the photo's bytes go into the key and every problem with the photo is found
there, located like a schema error. The builder calls the same function and
takes the pixel size from it, so the key and the document always agree on
which file (if any) is used and nothing is left to fail later, unlocated.

Rules, in order:
- not a string, empty, or a URL with a scheme (https:, file:, data:, …):
  no photo. Remote images are never fetched; a build must not touch the network.
- a path that leaves the résumé's folder (`../x.png`, an absolute path
  elsewhere, a symlink pointing out): InputError. A résumé is often someone
  else's file; it must not be able to embed arbitrary files from the machine.
- a résumé read from standard input has no folder: its photo resolves against
  the current directory, must be a relative path, and is refused outright when
  the current directory is the filesystem root (where "relative" would reach
  every file on the machine).
- missing, not a regular file (a FIFO, a device), over 5 MB, not a PNG/JPEG
  by its first bytes, or a PNG/JPEG whose headers are broken or truncated:
  InputError naming the file.
- declared pixel size over MAX_PHOTO_SIDE a side or MAX_PHOTO_PIXELS in all:
  InputError, checked from the PNG IHDR / JPEG SOFn header before anything
  decodes the image. LibreOffice decodes the whole bitmap to lay out the PDF:
  an 875 KB PNG declaring 30000×30000 cost it 31 s and 1 GB.

The header checks accept only what python-docx (which embeds the picture) can
also read, so an image accepted here never breaks the build afterwards.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resumec.errors import InputError
from resumec.files import FileTooLarge, NotRegularFile, read_regular

__all__ = ["MAX_PHOTO_BYTES", "MAX_PHOTO_PIXELS", "MAX_PHOTO_SIDE", "PHOTO_FIELD", "Photo", "load_photo", "photo_path"]

PHOTO_FIELD = "basics.image"
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # a portrait needs far less; this keeps DOCX and cache small
# A 24-megapixel camera (6000×4000) still fits; the decoded bitmap stays ≤ 100 MB.
MAX_PHOTO_SIDE = 8000
MAX_PHOTO_PIXELS = 25_000_000
# Two or more letters, so a Windows drive ("C:\\me.png") is treated as a path, not a scheme.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_MAGIC = (
    (_PNG_MAGIC, "png"),
    (_JPEG_MAGIC, "jpeg"),
)
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}")
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_TIFF_X_RESOLUTION, _TIFF_Y_RESOLUTION = 0x011A, 0x011B


@dataclass(frozen=True)
class Photo:
    """A checked photo: its bytes, format and declared pixel size."""

    path: Path
    data: bytes
    format: str  # "png" or "jpeg"
    width: int  # pixels
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class _Broken(ValueError):
    """A header problem, described for the message."""


def photo_path(data: Any, base_dir: Path | str | None) -> Path | None:
    """The resolved local photo file of a résumé, or None when it has none to show.

    Checks the path rules and that the file starts like a PNG or JPEG (watch
    mode uses this to know which file to watch); `load_photo` checks the rest.
    `base_dir` is the résumé's folder, None for a résumé read from stdin.
    """
    found = _resolve(data, base_dir)
    if found is None:
        return None
    spec, path = found
    _sniff(_read(path, spec), spec)
    return path


def load_photo(data: Any, base_dir: Path | str | None) -> Photo | None:
    """The résumé's photo, fully checked (path, file, headers, pixel limits), or None.

    `base_dir` is the résumé's folder, None for a résumé read from stdin.
    Every problem is an InputError whose message starts with "basics.image:".
    """
    found = _resolve(data, base_dir)
    if found is None:
        return None
    spec, path = found
    blob = _read(path, spec)
    kind = _sniff(blob, spec)
    try:
        width, height = _png_size(blob) if kind == "png" else _jpeg_size(blob)
    except _Broken as exc:
        raise InputError(f'{PHOTO_FIELD}: "{spec}" is not a valid PNG or JPEG image: {exc}') from None
    except (struct.error, IndexError):
        raise InputError(f'{PHOTO_FIELD}: "{spec}" is not a valid PNG or JPEG image: its header is truncated') from None
    if width < 1 or height < 1:
        raise InputError(f'{PHOTO_FIELD}: "{spec}" has no pixels ({width}×{height})')
    if width > MAX_PHOTO_SIDE or height > MAX_PHOTO_SIDE or width * height > MAX_PHOTO_PIXELS:
        raise InputError(
            f'{PHOTO_FIELD}: "{spec}" is {width}×{height} pixels; the limit is {MAX_PHOTO_SIDE} pixels a side and '
            f"{MAX_PHOTO_PIXELS // 1_000_000} megapixels (a 600×600 photo is plenty)"
        )
    return Photo(path, blob, kind, width, height)


def photo_format(path: Path, shown: str | None = None) -> str:
    """"png" or "jpeg" from the file's first bytes; InputError for anything else."""
    shown = shown or str(path)
    return _sniff(_read(path, shown), shown)


# --- finding and reading the file ----------------------------------------------------------


def _resolve(data: Any, base_dir: Path | str | None) -> tuple[str, Path] | None:
    basics = data.get("basics") if isinstance(data, Mapping) else None
    value = basics.get("image") if isinstance(basics, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        return None
    spec = value.strip()
    if _SCHEME.match(spec) or spec.startswith("//"):
        return None  # remote (or otherwise non-file) images are ignored, never fetched
    try:
        if base_dir is None:
            root = Path.cwd().resolve()
            if Path(spec).expanduser().is_absolute():
                raise InputError(
                    f'{PHOTO_FIELD}: "{spec}" is an absolute path; a résumé read from standard input may only '
                    "use a path relative to the current directory"
                )
            if root == Path(root.anchor):
                raise InputError(
                    f'{PHOTO_FIELD}: "{spec}" cannot be used: a résumé read from standard input finds its photo '
                    f"relative to the current directory, and that is {root}; run resumec from the photo's folder"
                )
        else:
            root = Path(base_dir).resolve()
        candidate = (root / Path(spec).expanduser()).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, NUL bytes
        raise InputError(f'{PHOTO_FIELD}: "{spec}" cannot be used: {exc}') from None
    if not candidate.is_relative_to(root):
        raise InputError(f'{PHOTO_FIELD}: "{spec}" is outside the résumé\'s folder')
    return spec, candidate


def _read(path: Path, spec: str) -> bytes:
    try:
        return read_regular(path, MAX_PHOTO_BYTES)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise InputError(f'{PHOTO_FIELD}: "{spec}" does not exist (looked for {path})') from None
    except NotRegularFile as exc:
        raise InputError(f'{PHOTO_FIELD}: "{spec}" is not a regular file (it is {exc.kind})') from None
    except FileTooLarge as exc:
        shown = f"{exc.size / 1_048_576:.1f} MB" if exc.size is not None else "over the limit"
        raise InputError(
            f'{PHOTO_FIELD}: "{spec}" is {shown}; '
            f"use an image under {MAX_PHOTO_BYTES // 1_048_576} MB (a 600×600 JPEG is plenty)"
        ) from None
    except OSError as exc:
        raise InputError(f'{PHOTO_FIELD}: "{spec}" cannot be read: {exc.strerror or exc}') from None


def _sniff(blob: bytes, spec: str) -> str:
    for magic, kind in _MAGIC:
        if blob.startswith(magic):
            return kind
    raise InputError(f'{PHOTO_FIELD}: "{spec}" is not a PNG or JPEG image')


# --- headers ----------------------------------------------------------------------------------


def _png_size(blob: bytes) -> tuple[int, int]:
    """Width and height from IHDR, after walking every chunk to IEND as a decoder would.

    Critical chunks must carry a correct CRC: libpng (inside LibreOffice)
    refuses the image otherwise, and the photo would silently vanish from the PDF.
    """
    pos, size, seen = len(_PNG_MAGIC), None, set()
    while True:
        if pos + 8 > len(blob):
            raise _Broken("the PNG ends before its IEND chunk (truncated)")
        length, kind = struct.unpack_from(">I4s", blob, pos)
        if length > 0x7FFFFFFF or not _CHUNK_TYPE.fullmatch(kind):
            raise _Broken(f"corrupt PNG chunk at byte {pos}")
        end = pos + 12 + length
        if end > len(blob):
            raise _Broken("the PNG ends inside a chunk (truncated)")
        if size is None and kind != b"IHDR":
            raise _Broken("the PNG does not start with an IHDR header")
        if kind[0] & 0x20 == 0:  # critical chunk (upper-case first letter)
            (crc,) = struct.unpack_from(">I", blob, end - 4)
            if zlib.crc32(blob[pos + 4 : end - 4]) != crc:
                raise _Broken(f"the PNG's {kind.decode()} chunk is damaged (bad CRC)")
        if kind == b"IHDR":
            if size is not None or length != 13:
                raise _Broken("the PNG's IHDR header is malformed")
            width, height, depth, color, compression, filtering, interlace = struct.unpack_from(
                ">IIBBBBB", blob, pos + 8
            )
            if width > 0x7FFFFFFF or height > 0x7FFFFFFF:  # PNG's own limit: 2^31 - 1
                raise _Broken(f"the PNG declares {width}×{height} pixels, more than PNG allows")
            if depth not in _PNG_DEPTHS.get(color, ()) or compression or filtering or interlace > 1:
                raise _Broken("the PNG's IHDR header holds an impossible pixel format")
            size = (width, height)
        elif kind == b"IDAT":
            if color == 3 and b"PLTE" not in seen:
                raise _Broken("the PNG has a palette image without a palette")
        seen.add(kind)
        if kind == b"IEND":
            break
        pos = end
    if b"IDAT" not in seen:
        raise _Broken("the PNG holds no image data")
    assert size is not None
    return size


def _jpeg_size(blob: bytes) -> tuple[int, int]:
    """Width and height from the first SOFn, walking the markers up to the first scan (SOS)."""
    signature = blob[6:10]
    if signature not in (b"JFIF", b"Exif"):
        # python-docx identifies a JPEG by one of these two headers and cannot embed any other.
        raise _Broken("the JPEG has neither a JFIF nor an Exif header; re-save it as a standard JPEG or a PNG")
    pos, size, app0, app1 = 2, None, False, None
    while True:
        if pos >= len(blob) or blob[pos] != 0xFF:
            raise _Broken(f"corrupt JPEG marker at byte {pos}" if pos < len(blob) else "the JPEG is truncated")
        while pos < len(blob) and blob[pos] == 0xFF:
            pos += 1
        if pos >= len(blob):
            raise _Broken("the JPEG is truncated")
        marker = blob[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9):
            raise _Broken(
                "the JPEG ends before its image data" if marker == 0xD9 else f"corrupt JPEG marker at byte {pos - 1}"
            )
        if pos + 2 > len(blob):
            raise _Broken("the JPEG is truncated")
        (length,) = struct.unpack_from(">H", blob, pos)
        end = pos + length
        if length < 2 or end > len(blob):
            raise _Broken("the JPEG is truncated" if length >= 2 else f"corrupt JPEG segment at byte {pos}")
        segment = blob[pos + 2 : end]
        if marker in _JPEG_SOF and size is None:
            if len(segment) < 6:
                raise _Broken("the JPEG's frame header is malformed")
            height, width = struct.unpack_from(">HH", segment, 1)
            size = (width, height)
        elif marker == 0xE0:
            app0 = True
        elif marker == 0xE1 and app1 is None:
            app1 = segment
        elif marker == 0xDA:
            break
        pos = end
    if size is None:
        raise _Broken("the JPEG has no frame header (SOF) before its image data")
    if signature == b"JFIF" and not app0:
        raise _Broken("the JPEG's JFIF header is malformed")
    if signature == b"Exif":
        if app1 is None:
            raise _Broken("the JPEG's Exif header is malformed")
        if app1.startswith(b"Exif\0\0"):
            _check_exif_resolution(app1[6:])
    return size


def _check_exif_resolution(tiff: bytes) -> None:
    """The first Exif directory, read the way python-docx reads it for the resolution (dpi)."""
    try:
        endian = ">" if tiff[:2] == b"MM" else "<"
        (ifd,) = struct.unpack_from(endian + "I", tiff, 4)
        (count,) = struct.unpack_from(endian + "H", tiff, ifd)
        values: dict[int, object] = {}
        for index in range(count):
            at = ifd + 2 + 12 * index
            tag, kind, n, offset = struct.unpack_from(endian + "HHII", tiff, at)
            value: object = "unsupported"
            if kind == 2:  # ASCII, read at its offset whatever its length
                if n < 1 or offset + n - 1 > len(tiff):
                    raise _Broken("the JPEG's Exif data is damaged")
                tiff[offset : offset + n - 1].decode("utf-8")
            elif kind in (3, 4) and n == 1:
                value = 0
            elif kind == 5 and n == 1:
                _, denominator = struct.unpack_from(endian + "II", tiff, offset)
                if denominator == 0:
                    raise _Broken("the JPEG's Exif resolution divides by zero")
                value = 0
            values[tag] = value
    except (struct.error, UnicodeDecodeError):
        raise _Broken("the JPEG's Exif data is damaged") from None
    for tag in (_TIFF_X_RESOLUTION, _TIFF_Y_RESOLUTION):
        if tag in values and not isinstance(values[tag], int):
            raise _Broken("the JPEG's Exif resolution is malformed")
