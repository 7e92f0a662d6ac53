"""What every engine and the UNO bridge must agree on about LibreOffice, defined once.

The import filter, the PDF export options, LibreOffice's environment, what a
new profile is seeded with, how to kill its process group and where it leaves
IPC sockets. Standard library only:
`bridge.py` runs under LibreOffice's own Python and imports this file by name
(`import libreoffice`) from its own folder.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

# Without an explicit import filter LibreOffice guesses the type, and reads a
# broken .docx as plain text: we would get a PDF full of garbage, not an error.
IMPORT_FILTER = "MS Word 2007 XML"

# The Debian/TDF launcher prints this on every run when no JRE is configured; it is never the problem.
_NOISE = ("Warning: failed to launch javaldx",)


def pdf_filter_data(pdfa: bool) -> dict[str, bool | int]:
    """writer_pdf_Export options for every engine, so they all produce the same bytes."""
    data: dict[str, bool | int] = {"UseTaggedPDF": True}  # accessible PDFs: headings, reading order
    if pdfa:
        data["SelectPdfVersion"] = 2  # PDF/A-2b
    return data


def soffice_env(tmp: Path, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """LibreOffice's environment: its temp files land in our dir (deleted with it), and dates are UTC.

    A fixed TZ keeps the *length* of the PDF date strings constant ("Z'" vs
    "+01'00'"), which `pin_pdf` relies on to make outputs byte-identical.
    """
    env = dict(base)
    env["TMPDIR"] = str(tmp)
    env["TZ"] = "UTC"
    return env


class Seed(NamedTuple):
    """What a LibreOffice profile is seeded with: its install's version ("7.4") and build id (versionrc)."""

    version: str
    build_id: str | None


_LAST_VERSION = (
    '<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">'
    "<value>{}</value></prop></item>"
)
_ITEMS_START = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
)
_ITEMS_END = "</oor:items>"


def seed_profile(profile: Path, seed: Seed | None) -> None:
    """Record in a profile that it has already run this LibreOffice, so a start skips first-start work.

    A start with a profile whose ooSetupLastVersion is older than the running
    version runs VCL's graphics render tests: ~1 s of CPU drawing 4096-pixel
    bitmaps, and headless LibreOffice never records the version, so that is
    every start, fresh profile or kept. A profile without user/extensions/buildid
    is set up, and then LibreOffice restarts itself. Neither changes a
    conversion (the PDFs are byte-identical); together they are 60-80% of a
    start. A kept profile made before this seeding gets the item added; a
    failure leaves the profile as it was, merely slower to start.
    """
    if seed is None:
        return
    user = profile / "user"
    try:
        (user / "extensions").mkdir(parents=True, exist_ok=True, mode=0o700)
        build_id = user / "extensions" / "buildid"
        if seed.build_id and not build_id.exists():
            build_id.write_text(seed.build_id, encoding="utf-8")
        registry = user / "registrymodifications.xcu"
        try:
            text = registry.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = _ITEMS_START + _ITEMS_END + "\n"
        if "ooSetupLastVersion" in text or _ITEMS_END not in text:
            return
        at = text.rindex(_ITEMS_END)
        text = text[:at] + _LAST_VERSION.format(seed.version) + "\n" + text[at:]
        temp = registry.with_name(registry.name + ".resumec-tmp")
        try:
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, registry)  # LibreOffice never reads half a file
        finally:
            if temp.exists():
                temp.unlink()
    except OSError:
        pass


def kill_group(pgid: int | None) -> None:
    """SIGKILL a whole process group: killing only the `soffice` launcher leaves soffice.bin running."""
    if pgid is None or pgid <= 0:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def log_tail(path: Path, lines: int = 5) -> str:
    """The last meaningful lines of LibreOffice's output, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(_NOISE)]
    return " | ".join(kept[-lines:])


def ipc_socket_paths(profile_url: str, accept_pipe: str | None = None) -> list[Path]:
    """The UNIX sockets LibreOffice makes in /tmp (a hard-coded path in its osl layer).

    SIGKILL leaves them behind. The single-instance socket is named after the
    MD5 of the UTF-16 profile URL, hex without leading zeros (LibreOffice's
    own formatting), and our profiles are private, so these paths are ours.
    """
    import hashlib

    digest = hashlib.md5(profile_url.encode("utf-16-le")).digest()
    names = ["SingleOfficeIPC_" + "".join(f"{byte:x}" for byte in digest)]
    if accept_pipe:
        names.append(accept_pipe)
    return [Path("/tmp") / f"OSL_PIPE_{os.getuid()}_{name}" for name in names]


def remove_ipc_sockets(profile_url: str, accept_pipe: str | None = None) -> None:
    """Delete what a killed LibreOffice left in /tmp; a cleanly exited one has already done so."""
    if os.name != "posix":
        return
    for path in ipc_socket_paths(profile_url, accept_pipe):
        try:
            path.unlink()
        except OSError:
            pass
