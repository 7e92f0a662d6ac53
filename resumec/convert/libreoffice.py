"""What every engine and the UNO bridge must agree on about LibreOffice, defined once.

The import filter, the PDF export options, LibreOffice's environment, how to
kill its process group and where it leaves IPC sockets. Standard library only:
`bridge.py` runs under LibreOffice's own Python and imports this file by name
(`import libreoffice`) from its own folder.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path

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
