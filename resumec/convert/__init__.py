"""DOCX → PDF with LibreOffice: finding it, naming it, choosing an engine, pinning its output.

Three engines share one small interface (`Converter`): one-shot `soffice`
(oneshot.py), a warm LibreOffice driven over UNO (warm.py, bridge.py), and a
client of the converter service (client.py). `pool()` is the only place that
chooses between them. This module sits on the cache-hit path (the pipeline
needs `identity()` for a cache key), so it imports only cheap stdlib modules;
the engines and the PDF pinning code are imported on first use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from resumec.errors import ConvertError, LibreOfficeMissing
from resumec.settings import Settings

if TYPE_CHECKING:
    from resumec.convert.libreoffice import Seed

__all__ = ["Converter", "Pool", "converter_identity", "find_soffice", "identity", "pin_pdf", "pool"]

INSTALL_HINT = (
    "LibreOffice is needed to make PDFs. Install it "
    "(Debian/Ubuntu: sudo apt-get install libreoffice-writer-nogui; "
    "Fedora: sudo dnf install libreoffice-writer; "
    "macOS: brew install --cask libreoffice) "
    "or set RESUMEC_SOFFICE to the soffice program."
)

_MACOS_SOFFICE = "/Applications/LibreOffice.app/Contents/MacOS/soffice"

def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _which(name: str, path: str | None) -> str | None:
    """`shutil.which` without importing shutil (3 ms) on the cache-hit path."""
    for folder in (path or os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or os.curdir, name)
        if _is_executable(candidate):
            return os.path.abspath(candidate)
    return None


def find_soffice(settings: Settings) -> str:
    """Locate LibreOffice's `soffice`; an explicit RESUMEC_SOFFICE must be valid, not silently skipped."""
    override = settings.soffice
    if override:
        path = os.path.expanduser(override)
        if not _is_executable(path):
            raise LibreOfficeMissing(f"RESUMEC_SOFFICE={override} is not an executable file. {INSTALL_HINT}")
        return os.path.abspath(path)
    for name in ("soffice", "libreoffice"):
        found = _which(name, settings.path)
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
    version, build = _version(program), _build_id(program)
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


def profile_seed(soffice: str) -> Seed | None:
    """What this LibreOffice's new profiles are seeded with (see `libreoffice.seed_profile`); None if unknown."""
    from resumec.convert.libreoffice import Seed

    program = Path(os.path.realpath(soffice)).parent
    version = _version(program)
    if not version:
        return None
    major_minor = ".".join(version.split(".")[:2])  # the form of ooSetupVersion, which LibreOffice compares
    return Seed(major_minor, _build_id(program))


def _version(program: Path) -> str | None:
    """The version ("7.4.7.2" from types.rdb, else "7.4" from the registry); `program` is soffice's folder."""
    resources = program.parent / "Resources"  # macOS keeps the ini files and registry here
    for rdb in (program / "types.rdb", resources / "types.rdb"):
        version = _rdb_version(rdb)
        if version:
            return version
    for xcd in (
        program.parent / "share" / "registry" / "main.xcd",
        program.parent / "share" / ".registry" / "main.xcd",  # Debian
        resources / "registry" / "main.xcd",
    ):
        version = _registry_prop(xcd, "ooSetupVersionAboutBox")
        if version:
            return version
    return None


def _build_id(program: Path) -> str | None:
    return (_read_ini_value(program / "versionrc", "buildid")
            or _read_ini_value(program.parent / "Resources" / "versionrc", "buildid"))


def identity(settings: Settings) -> str:
    """The identity of the LibreOffice a conversion would use, without starting it (for the PDF cache key)."""
    return converter_identity(find_soffice(settings))


def pin_pdf(pdf: bytes, epoch: int) -> bytes:
    """Overwrite LibreOffice's dates, /ID and /DocChecksum in place; see `resumec.convert.pin`."""
    from resumec.convert.pin import pin_pdf as pin

    return pin(pdf, epoch)


class Converter(Protocol):
    """What the pipeline needs from an engine. `convert` returns the raw PDF: the pipeline pins it."""

    identity: str  # names the LibreOffice build, for the PDF cache key
    note: str  # one line for the user about how we convert ("" when there is nothing to say)

    @property
    def soffice_pid(self) -> int | None:
        """The running LibreOffice's pid (its process group), when this engine owns one."""
        ...

    def start(self) -> None:
        """Get ready now (e.g. start LibreOffice while the DOCX is built) rather than on the first document."""
        ...

    def convert(self, docx: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> bytes: ...

    def abort(self) -> None:
        """Kill any conversion in flight, from any thread; the engine is unusable afterwards."""
        ...

    def close(self) -> None:
        """Stop everything this engine started; nothing of it may outlive this call."""
        ...


@dataclass
class Pool:
    """Converters for one command, closed together; `note` says when they are not what was asked for."""

    converters: list[Converter]
    note: str = ""
    kind: str = "oneshot"  # "service", "warm" or "oneshot": how these convert

    @property
    def identity(self) -> str:
        return self.converters[0].identity

    def abort(self) -> None:
        for converter in self.converters:
            converter.abort()

    def close(self) -> None:
        """Close in parallel: each waits for its LibreOffice to exit."""
        if len(self.converters) == 1:
            self.converters[0].close()
            return
        import threading

        threads = [threading.Thread(target=c.close) for c in self.converters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NO_UNO_NOTE = (
    "note: warm LibreOffice unavailable: no Python can import LibreOffice's uno module "
    "(Debian/Ubuntu: sudo apt-get install python3-uno; or set RESUMEC_UNO_PYTHON); "
    "converting one document per LibreOffice start"
)


def pool(
    n: int,
    settings: Settings,
    *,
    service: bool = False,
    warm: bool = False,
    require_warm: bool = False,
    warn: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
) -> Pool:
    """n converters: the running service's, else warm LibreOffices (if asked), else one-shot.

    One-shot engines keep their LibreOffice profiles below `cache_dir` (the
    run's cache directory; None, as with --no-cache: a private profile each time).

    Nothing starts here: engines start LibreOffice on their first document (or
    `start()`), so a batch of cache hits starts none. Raises LibreOfficeMissing
    when there is no LibreOffice, and ConvertError with `require_warm` when no
    Python can drive one over UNO.
    """
    soffice = find_soffice(settings)
    ident = converter_identity(soffice)
    if service and not settings.no_server:
        clients = _service_clients(n, settings, soffice, ident, warn)
        if clients:
            return Pool(clients, kind="service")
    if warm or require_warm:
        from resumec.convert.warm import WarmConverter, find_uno_python

        uno_python = find_uno_python(soffice, settings)
        if uno_python is not None:
            return Pool([WarmConverter(soffice, uno_python=uno_python, identity=ident) for _ in range(n)], kind="warm")
        if require_warm:
            raise ConvertError(
                "the converter service needs a Python that can import LibreOffice's uno module "
                "(Debian/Ubuntu: sudo apt-get install python3-uno; or set RESUMEC_UNO_PYTHON)"
            )
        from resumec.convert.oneshot import OneShot

        return Pool([OneShot(soffice=soffice, identity=ident, note=NO_UNO_NOTE, profiles=profiles(cache_dir))
                     for _ in range(n)], NO_UNO_NOTE)
    from resumec.convert.oneshot import OneShot

    return Pool([OneShot(soffice=soffice, identity=ident, profiles=profiles(cache_dir)) for _ in range(n)])


def profiles(cache_dir: Path | None) -> Path | None:
    """Where one-shot conversions keep their LibreOffice profiles (see oneshot.py): below the cache directory,
    as they hold nothing but what LibreOffice makes again on its own."""
    return cache_dir / "libreoffice" if cache_dir is not None else None


def _service_clients(n: int, settings: Settings, soffice: str, ident: str,
                     warn: Callable[[str], None] | None) -> list[Converter]:
    """Clients of a running service, or [] when there is none to use.

    One client only checks that a private socket exists (a few stats): it
    connects on its first document and falls back to one-shot if the service
    is gone. Several ask for the service's status first (<= 0.2 s), so a stale
    socket cannot turn a batch into n one-shot loops.
    """
    import stat

    from resumec.service.daemon import is_private, socket_path, status
    from resumec.service.protocol import CONNECT_TIMEOUT

    path = socket_path(settings)
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode) or not is_private(path.parent):
            return []
    except OSError:
        return []
    if n > 1:
        info = status(settings, timeout=CONNECT_TIMEOUT)
        if info is None or info.get("identity") != ident:
            return []
    from resumec.convert.client import ServiceClient

    return [ServiceClient(address=path, soffice=soffice, identity=ident, warn=warn) for _ in range(n)]
