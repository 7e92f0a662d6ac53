"""The one-shot engine: one `soffice --convert-to pdf` process per document (~0.75 s each)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resumec.convert.libreoffice import IMPORT_FILTER, kill_group, log_tail, pdf_filter_data, remove_ipc_sockets, soffice_env
from resumec.errors import ConvertError


@dataclass
class OneShot:
    """A fresh LibreOffice per document: slow, but needs nothing beyond soffice. Thread-safe."""

    soffice: str
    identity: str
    note: str = ""
    tmp_root: Path | None = None
    _running: set[int] = field(default_factory=set, repr=False)  # process groups converting now
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closed: bool = False

    def start(self) -> None:
        """Nothing to start: each document gets its own LibreOffice."""

    def convert(self, docx: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> bytes:
        """Convert, retrying once: a crashed, hung or garbage-producing LibreOffice gets a second, fresh chance."""
        for attempt in (1, 2):
            if self._closed:
                raise ConvertError("the LibreOffice converter was closed")
            try:
                return convert_oneshot(docx, soffice=self.soffice, timeout=timeout, pdfa=pdfa,
                                       tmp_root=self.tmp_root, started=self._track)
            except ConvertError:
                if attempt == 2 or self._closed:
                    raise  # the second attempt's error is the one reported
        raise AssertionError("unreachable")

    def abort(self) -> None:
        """Kill every conversion in flight, from any thread (Ctrl-C in a batch); later ones fail at once."""
        self._closed = True
        with self._lock:
            running = list(self._running)
        for pgid in running:
            kill_group(pgid)

    def close(self) -> None:
        """Nothing stays running between documents."""

    def _track(self, pgid: int, running: bool) -> None:
        with self._lock:
            (self._running.add if running else self._running.discard)(pgid)
        if running and self._closed:
            kill_group(pgid)


def convert_target(pdfa: bool) -> str:
    """The --convert-to argument; JSON filter options need LibreOffice 7.4 or later."""
    options = {
        name: {"type": "boolean" if isinstance(value, bool) else "long", "value": str(value).lower()}
        for name, value in pdf_filter_data(pdfa).items()
    }
    return "pdf:writer_pdf_Export:" + json.dumps(options, separators=(",", ":"))


def check_pdf(pdf: bytes, *, pdfa: bool, detail: str = "") -> bytes:
    """LibreOffice exits 0 on failure, so the output itself is the only proof of success."""
    if not pdf.startswith(b"%PDF-") or b"%%EOF" not in pdf[-1024:]:
        what = "produced an invalid PDF" if pdf else "could not convert the document"
        raise ConvertError(f"LibreOffice {what}{': ' + detail if detail else ''}")
    if pdfa and b"pdfaid:part" not in pdf:
        raise ConvertError("LibreOffice ignored the PDF/A request (command-line PDF/A export needs LibreOffice 7.4+)")
    return pdf


def convert_oneshot(
    docx: bytes,
    *,
    soffice: str,
    timeout: float = 60.0,
    pdfa: bool = False,
    tmp_root: Path | None = None,
    started: Callable[[int, bool], None] | None = None,
) -> bytes:
    """Convert in a private temp dir with a private profile: two soffice sharing a profile drop work.

    `started(pgid, running)` is told when LibreOffice's process group starts and ends, so abort() can kill it.
    """
    tmp = Path(tempfile.mkdtemp(prefix="resumec-soffice-", dir=tmp_root))
    try:
        source = tmp / "in.docx"
        source.write_bytes(docx)
        log = tmp / "soffice.log"
        profile_url = (tmp / "profile").absolute().as_uri()
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation={profile_url}",
            f"--infilter={IMPORT_FILTER}",
            "--convert-to",
            convert_target(pdfa),
            "--outdir",
            str(tmp),
            str(source),
        ]
        # Output goes to a file, not a pipe: a lingering soffice.bin holding the
        # pipe open would make us wait for EOF long after the launcher exited.
        with open(log, "wb") as log_file:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=tmp,
                    env=soffice_env(tmp),
                    start_new_session=True,  # its own process group, so we can kill soffice.bin too
                )
            except OSError as exc:
                raise ConvertError(f"could not start LibreOffice ({soffice}): {exc.strerror or exc}") from exc
        if started is not None:
            started(proc.pid, True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConvertError(f"LibreOffice timed out after {timeout:g} s") from None
        finally:
            kill_group(proc.pid)  # on success too: nothing of this run may outlive it
            if proc.poll() is None:
                proc.wait()
            if started is not None:
                started(proc.pid, False)
            remove_ipc_sockets(profile_url)
        output = tmp / "in.pdf"
        pdf = output.read_bytes() if output.is_file() else b""
        return check_pdf(pdf, pdfa=pdfa, detail=log_tail(log) or f"exit status {proc.returncode}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
