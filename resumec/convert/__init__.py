"""DOCX → PDF with LibreOffice: finding it, naming it, running it, pinning its output.

This module sits on the cache-hit path (the pipeline needs `find_soffice` and
`converter_identity` to compute a cache key), so it imports only cheap stdlib
modules. The engines (`oneshot`, `warm`) and the PDF pinning code live in
submodules that are imported on first use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from resumec.errors import ConvertError, LibreOfficeMissing

__all__ = [
    "Converter",
    "OneShot",
    "converter_identity",
    "convert_oneshot",
    "find_soffice",
    "open_converter",
    "pin_pdf",
    "source_epoch",
]

INSTALL_HINT = (
    "LibreOffice is needed to make PDFs. Install it "
    "(Debian/Ubuntu: sudo apt-get install libreoffice-writer-nogui; "
    "Fedora: sudo dnf install libreoffice-writer; "
    "macOS: brew install --cask libreoffice) "
    "or set RESUMEC_SOFFICE to the soffice program."
)

_MACOS_SOFFICE = "/Applications/LibreOffice.app/Contents/MacOS/soffice"

# zip cannot store dates before 1980, and DOCX is a zip: one floor for both outputs.
DEFAULT_EPOCH = 315532800
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last date a PDF date can spell


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _which(name: str, path: str | None) -> str | None:
    """`shutil.which` without importing shutil (3 ms) on the cache-hit path."""
    for folder in (path or os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or os.curdir, name)
        if _is_executable(candidate):
            return os.path.abspath(candidate)
    return None


def find_soffice(env: Mapping[str, str] = os.environ) -> str:
    """Locate LibreOffice's `soffice`; an explicit RESUMEC_SOFFICE must be valid, not silently skipped."""
    override = env.get("RESUMEC_SOFFICE")
    if override:
        path = os.path.expanduser(override)
        if not _is_executable(path):
            raise LibreOfficeMissing(f"RESUMEC_SOFFICE={override} is not an executable file. {INSTALL_HINT}")
        return os.path.abspath(path)
    for name in ("soffice", "libreoffice"):
        found = _which(name, env.get("PATH"))
        if found:
            return found
    if sys.platform == "darwin" and _is_executable(_MACOS_SOFFICE):
        return _MACOS_SOFFICE
    raise LibreOfficeMissing(f"LibreOffice was not found (no soffice or libreoffice on PATH). {INSTALL_HINT}")


def _read_ini_value(path: Path, key: str) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    prefix = key + "="
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip() or None
    return None


def _rdb_version(path: Path) -> str | None:
    """The build's version from types.rdb's header ("** Created by LibreOffice 7.4.7.2 unoidl-write **").

    The build regenerates this file, and the header is in the first 64 bytes:
    ~20 µs, against ~0.4 ms for scanning the 2 MB main.xcd.
    """
    try:
        with open(path, "rb") as file:
            head = file.read(128)
    except OSError:
        return None
    marker = b"Created by LibreOffice "
    start = head.find(marker)
    end = head.find(b" ", start + len(marker))
    if start < 0 or end < 0:
        return None
    version = head[start + len(marker) : end].decode("ascii", "replace")
    return version if version[:1].isdigit() else None


def _registry_prop(path: Path, name: str) -> str | None:
    """A product property from main.xcd, found by bytes search: parsing 2 MB of XML would blow the budget."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    at = data.find(b'<prop oor:name="' + name.encode() + b'">')
    if at < 0:
        return None
    start = data.find(b"<value>", at, at + 300)
    end = data.find(b"</value>", start, start + 200)
    if start < 0 or end < 0:
        return None
    return data[start + len(b"<value>") : end].decode("utf-8", "replace").strip() or None


def converter_identity(soffice: str) -> str:
    """Name the exact LibreOffice build from files on disk, because this runs on every cache lookup.

    The version string alone misses distribution rebuilds (Debian security
    updates keep "7.4.7.2"), so the size and mtime of the main library are
    appended; package managers preserve mtimes, so this is stable across
    machines with the same package.
    """
    real = Path(os.path.realpath(soffice))
    program = real.parent  # program/ on Linux and Windows, Contents/MacOS on macOS
    root = program.parent
    resources = root / "Resources"  # macOS keeps the ini files and registry here
    version = None
    for rdb in (program / "types.rdb", resources / "types.rdb"):
        version = _rdb_version(rdb)
        if version:
            break
    for xcd in (
        root / "share" / "registry" / "main.xcd",
        root / "share" / ".registry" / "main.xcd",  # Debian
        resources / "registry" / "main.xcd",
    ):
        if version:
            break
        version = _registry_prop(xcd, "ooSetupVersionAboutBox")
    build = _read_ini_value(program / "versionrc", "buildid") or _read_ini_value(resources / "versionrc", "buildid")
    for lib in (
        program / "libmergedlo.so",
        root / "Frameworks" / "libmergedlo.dylib",
        program / "mergedlo.dll",
        program / "soffice.bin",
        real,
    ):
        try:
            st = lib.stat()
        except OSError:
            continue
        fingerprint = f"{lib.name}:{st.st_size}:{int(st.st_mtime)}"
        break
    else:
        fingerprint = "unreadable"
    if version:
        return " ".join(part for part in ("LibreOffice", version, build) if part) + f"; {fingerprint}"
    return f"soffice {real}; {fingerprint}"


def source_epoch(env: Mapping[str, str] = os.environ) -> int:
    """The timestamp stamped into outputs: SOURCE_DATE_EPOCH (reproducible-builds.org) or 1980-01-01."""
    raw = env.get("SOURCE_DATE_EPOCH", "").strip()
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_EPOCH
    return value if 0 <= value <= _MAX_EPOCH else DEFAULT_EPOCH


def convert_oneshot(
    docx: bytes,
    *,
    soffice: str,
    timeout: float = 60.0,
    pdfa: bool = False,
    tmp_root: Path | None = None,
) -> bytes:
    """One `soffice --convert-to pdf` run in a private temp dir; see `resumec.convert.oneshot`."""
    from resumec.convert.oneshot import convert_oneshot as run

    return run(docx, soffice=soffice, timeout=timeout, pdfa=pdfa, tmp_root=tmp_root)


def pin_pdf(pdf: bytes, epoch: int) -> bytes:
    """Overwrite LibreOffice's dates, /ID and /DocChecksum in place; see `resumec.convert.pin`."""
    from resumec.convert.pin import pin_pdf as pin

    return pin(pdf, epoch)


class Converter(Protocol):
    """What the pipeline needs from an engine. `convert` returns the raw PDF: the pipeline pins it."""

    identity: str
    note: str  # one line for the user about how we convert ("" when there is nothing to say)

    def convert(self, docx: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class OneShot:
    """A fresh LibreOffice per document: slow (~0.75 s each) but needs nothing beyond soffice."""

    soffice: str
    identity: str
    note: str = ""
    tmp_root: Path | None = None

    def convert(self, docx: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> bytes:
        """Convert, retrying once: a crashed, hung or garbage-producing LibreOffice gets a second, fresh chance."""
        try:
            return convert_oneshot(docx, soffice=self.soffice, timeout=timeout, pdfa=pdfa, tmp_root=self.tmp_root)
        except ConvertError:
            pass  # the second attempt's error, if any, is the one reported
        return convert_oneshot(docx, soffice=self.soffice, timeout=timeout, pdfa=pdfa, tmp_root=self.tmp_root)

    def close(self) -> None:
        """Nothing stays running between documents."""

    def __enter__(self) -> OneShot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_converter(soffice: str, *, warm: bool, env: Mapping[str, str] = os.environ) -> Converter:
    """The warm UNO engine when asked for and possible, else one-shot with a `note` saying why."""
    identity = converter_identity(soffice)
    if not warm:
        return OneShot(soffice=soffice, identity=identity)
    from resumec.convert.warm import WarmConverter, find_uno_python

    uno_python = find_uno_python(soffice, env)
    if uno_python is None:
        return OneShot(
            soffice=soffice,
            identity=identity,
            note=(
                "warm LibreOffice unavailable: no Python can import LibreOffice's uno module "
                "(Debian/Ubuntu: sudo apt-get install python3-uno; or set RESUMEC_UNO_PYTHON); "
                "converting one document per LibreOffice start"
            ),
        )
    return WarmConverter(soffice=soffice, uno_python=uno_python, identity=identity)
