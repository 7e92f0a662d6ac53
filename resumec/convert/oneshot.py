"""The one-shot engine: one `soffice --convert-to pdf` process per document (~0.75 s each).

(Its imports are made where they are used: the service's client imports this module for its fallback.)

LibreOffice spends a good part of a start making a new user profile, so a
one-shot conversion reuses one kept in the cache directory
(`<cache>/libreoffice/<build>/profile-N`). Two LibreOffices must never share a
profile (the second hands its document to the first, or they overwrite each
other's files, and work is silently lost), so each profile has a lock file,
held with flock(2) by the conversion that uses it and inherited by
LibreOffice itself: the lock is held for as long as any process of that run
lives, even if resumec is killed. A conversion takes the first free profile
of PROFILE_SLOTS and, when all are busy (or the cache directory cannot be
used), a private one in its temp dir, as before. A profile is marked good
only after a conversion that ended well; one found unmarked (its run crashed,
was killed or timed out) is deleted and made anew.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resumec.convert.libreoffice import (IMPORT_FILTER, kill_group, log_tail, pdf_filter_data, remove_ipc_sockets,
                                         seed_profile, soffice_env)
from resumec.errors import ConvertError

PROFILE_SLOTS = 4  # persistent profiles per LibreOffice build: conversions beyond these get a private one


@dataclass
class OneShot:
    """A fresh LibreOffice per document: slow, but needs nothing beyond soffice. Thread-safe."""

    soffice: str
    identity: str
    note: str = ""
    tmp_root: Path | None = None
    profiles: Path | None = None  # where persistent profiles live (None: a private profile per document)
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
                                       tmp_root=self.tmp_root, started=self._track,
                                       profiles=self.profiles / _build_name(self.identity) if self.profiles else None)
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
    import json

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
    profiles: Path | None = None,
) -> bytes:
    """Convert in a private temp dir, with a locked persistent profile from `profiles` or a private one.

    `started(pgid, running)` is told when LibreOffice's process group starts and ends, so abort() can kill it.
    """
    import shutil
    import subprocess
    import tempfile

    from resumec.convert import profile_seed

    tmp = Path(tempfile.mkdtemp(prefix="resumec-soffice-", dir=tmp_root))
    profile = _claim_profile(profiles, tmp)
    good = False
    try:
        seed_profile(profile.path, profile_seed(soffice))
        source = tmp / "in.docx"
        source.write_bytes(docx)
        log = tmp / "soffice.log"
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation={profile.url}",
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
                    pass_fds=profile.fds,  # LibreOffice holds the profile's lock as long as it runs
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
            remove_ipc_sockets(profile.url)
        output = tmp / "in.pdf"
        pdf = output.read_bytes() if output.is_file() else b""
        checked = check_pdf(pdf, pdfa=pdfa, detail=log_tail(log) or f"exit status {proc.returncode}")
        good = proc.returncode == 0
        return checked
    finally:
        try:
            profile.release(good)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # never cut in half by a signal (resumec.interrupt)


@dataclass
class _Profile:
    """The user profile a conversion runs with: a claimed persistent one (with its lock), or a private one."""

    path: Path
    lock: int | None = None  # the flock'ed descriptor, passed to LibreOffice
    marker: Path | None = None  # exists while the profile is known good

    @property
    def url(self) -> str:
        return self.path.as_uri()

    @property
    def fds(self) -> tuple[int, ...]:
        return (self.lock,) if self.lock is not None else ()

    def release(self, good: bool) -> None:
        """Mark a persistent profile good after a clean run, and unlock it (LibreOffice has exited)."""
        if self.lock is None:
            return
        if good and self.marker is not None:
            try:
                self.marker.touch()
            except OSError:
                pass
        os.close(self.lock)
        self.lock = None


def _build_name(identity: str) -> str:
    """A folder per LibreOffice build: another version never inherits a profile it did not make."""
    import hashlib

    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _claim_profile(root: Path | None, tmp: Path) -> _Profile:
    """The first free persistent profile below `root`, reset if its last run did not end well; else a private one."""
    private = _Profile((tmp / "profile").absolute())
    if root is None:
        return private
    import fcntl
    import shutil
    import stat

    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.lstat(root)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            return private  # not a folder only we can use: LibreOffice would run code from it
        for slot in range(PROFILE_SLOTS):
            lock = root / f"profile-{slot}.lock"
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # another conversion (or its LibreOffice) has it
            profile = root / f"profile-{slot}"
            marker = root / f"profile-{slot}.good"
            try:
                if marker.exists():
                    marker.unlink()  # in use: a crash from here on leaves it unmarked
                else:
                    shutil.rmtree(profile, ignore_errors=True)  # never finished well: start it anew
                claimed = _Profile(profile.absolute(), fd, marker)
                remove_ipc_sockets(claimed.url)  # a killed run's socket: no LibreOffice can be using this profile
                return claimed
            except OSError:
                os.close(fd)
                return private
    except OSError:
        pass
    return private
