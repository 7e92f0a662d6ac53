"""PNG previews of the PDF, one file per page, for READMEs and CI artifacts.

Rendered with poppler's `pdftoppm`: it is already a dependency (the tests read
PDFs back with poppler), it renders LibreOffice's PDFs faithfully, and its PNG
bytes carry no timestamp, so previews are reproducible and cacheable like
every other output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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
                [tool, "-png", "-r", str(dpi), str(source), str(Path(tmp) / "page")],
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise ConvertError(f"pdftoppm timed out after {timeout:g} s") from None
        pages = sorted(
            (p for p in Path(tmp).iterdir() if p.name.startswith("page-") and p.suffix == ".png"),
            key=lambda p: int(p.stem.rpartition("-")[2]),
        )
        if proc.returncode != 0 or not pages:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no pages"]
            raise ConvertError(f"PNG rendering failed: {detail[0]}")
        return [p.read_bytes() for p in pages]


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
