"""PNG pages: pdftoppm's pixels, encoded by png.py (fast, no timestamp)."""

from __future__ import annotations

import struct
import zlib

import pytest

from resumec.png import png_from_ppm


def _decode(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB pixels of a PNG with unfiltered rows (what png_from_ppm writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack("!I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        assert struct.unpack("!I", png[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + data)
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, color = struct.unpack("!IIBB", header[:10])
    assert (depth, color) == (8, 2)
    raw = zlib.decompress(idat)
    rows = [raw[i * (width * 3 + 1) : (i + 1) * (width * 3 + 1)] for i in range(height)]
    assert all(r[0] == 0 for r in rows)
    return width, height, b"".join(r[1:] for r in rows)


def test_ppm_to_png_keeps_every_pixel():
    width, height = 7, 3
    pixels = bytes((x * 31 + y * 7 + c) % 256 for y in range(height) for x in range(width) for c in range(3))
    ppm = b"P6\n# made by a test\n%d %d\n255\n" % (width, height) + pixels
    assert _decode(png_from_ppm(ppm)) == (width, height, pixels)
    assert png_from_ppm(ppm) == png_from_ppm(ppm)  # reproducible


@pytest.mark.parametrize("bad", [b"P5\n1 1\n255\n\0", b"P6\n2 2\n255\n\0\0\0", b"P6\n1 1\n65535\n\0\0\0\0\0\0"])
def test_unexpected_ppm_is_refused(bad):
    with pytest.raises(ValueError):
        png_from_ppm(bad)
