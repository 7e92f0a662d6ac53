"""PNG images of the PDF's pages: `-f png` (READMEs, CI artifacts) and the live preview.

Rendered with poppler's `pdftoppm`: it is already a dependency (the tests read
PDFs back with poppler) and renders LibreOffice's PDFs faithfully. It writes
raw PPM pixels and we encode the PNGs ourselves: its own PNG encoder spends
~0.4 s a page in zlib, ours (no filter, level 3) ~35 ms for smaller files.
No timestamp goes in, so pages are reproducible and cacheable like every
other output.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

from resumec.errors import ConvertError

DPI = 150


def render_pages(pdf: bytes, *, dpi: int = DPI, timeout: float = 120.0) -> list[bytes]:
    """PNG bytes of every page, in order."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise ConvertError(
            "PNG output needs pdftoppm from poppler "
            "(Debian/Ubuntu: sudo apt-get install poppler-utils; Fedora: sudo dnf install poppler-utils; "
            "macOS: brew install poppler)"
        )
    with tempfile.TemporaryDirectory(prefix="resumec-png-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        try:
            proc = subprocess.run(
                [tool, "-r", str(dpi), str(source), str(Path(tmp) / "page")],
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise ConvertError(f"pdftoppm timed out after {timeout:g} s") from None
        pages = sorted(
            (p for p in Path(tmp).iterdir() if p.name.startswith("page-") and p.suffix == ".ppm"),
            key=lambda p: int(p.stem.rpartition("-")[2]),
        )
        if proc.returncode != 0 or not pages:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no pages"]
            raise ConvertError(f"PNG rendering failed: {detail[0]}")
        try:
            return [png_from_ppm(p.read_bytes()) for p in pages]
        except ValueError as exc:
            raise ConvertError(f"PNG rendering failed: {exc}") from None


def png_from_ppm(ppm: bytes, level: int = 3) -> bytes:
    """A binary PPM (P6, 8-bit RGB, as pdftoppm writes it) as a PNG, with no filter and no timestamp."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # magic, width, height, maxval: whitespace-separated, '#' comments allowed
        while pos < len(ppm) and ppm[pos : pos + 1].isspace():
            pos += 1
        if ppm[pos : pos + 1] == b"#":
            pos = ppm.index(b"\n", pos)
            continue
        end = pos
        while end < len(ppm) and not ppm[end : end + 1].isspace():
            end += 1
        fields.append(ppm[pos:end])
        pos = end
    pos += 1  # the single whitespace byte before the pixels
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError("pdftoppm wrote an unexpected image format")
    width, height = int(fields[1]), int(fields[2])
    row = width * 3
    pixels = ppm[pos : pos + row * height]
    if len(pixels) != row * height:
        raise ValueError("pdftoppm wrote a truncated image")
    raw = b"".join(b"\0" + pixels[i : i + row] for i in range(0, len(pixels), row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b"")


def page_paths(base: Path, count: int) -> list[Path]:
    """cv.png → cv-1.png, cv-2.png, …"""
    return [base.with_name(f"{base.stem}-{i}.png") for i in range(1, count + 1)]


def stale_pages(base: Path, count: int) -> list[Path]:
    """Pages left over from a longer earlier build (cv-3.png when there are now 2)."""
    stale = []
    i = count + 1
    while True:
        path = base.with_name(f"{base.stem}-{i}.png")
        if not os.path.exists(path):
            return stale
        stale.append(path)
        i += 1
