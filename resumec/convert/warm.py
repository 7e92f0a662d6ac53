"""The warm engine: one LibreOffice kept running and driven over UNO (~0.07 s a document, not ~0.75 s).

`uno` only imports under the Python that LibreOffice's bindings were built
for, never from our venv, so the UNO side runs as a child process
(`bridge.py`) that we talk to in JSON lines. This module only manages that
child: starting it lazily, timing requests out, replacing it when LibreOffice
hangs or dies, and cleaning up every process and file it made.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from resumec.convert import converter_identity, profile_seed
from resumec.convert.libreoffice import kill_group, log_tail, remove_ipc_sockets, seed_profile, soffice_env
from resumec.convert.oneshot import check_pdf
from resumec.errors import ConvertError
from resumec.settings import Settings

BRIDGE = Path(__file__).with_name("bridge.py")

_MACOS_PYTHON = "/Applications/LibreOffice.app/Contents/Resources/python"


def find_uno_python(soffice: str | None, settings: Settings) -> str | None:
    """A Python that can `import uno`: RESUMEC_UNO_PYTHON, Debian's python3, or LibreOffice's own."""
    candidates = []
    if settings.uno_python:
        candidates.append(settings.uno_python)
    else:
        if soffice:
            program = Path(os.path.realpath(soffice)).parent
            candidates += [str(program / "python"), str(program.parent / "Resources" / "python")]
        candidates += ["/usr/bin/python3", _MACOS_PYTHON]
    for python in candidates:
        if not (os.path.isfile(python) and os.access(python, os.X_OK)):
            continue
        try:
            check = subprocess.run(
                [python, "-c", "import uno"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if check.returncode == 0:
            return python
    return None


class _BridgeLost(Exception):
    """The bridge or its LibreOffice stopped answering: replace both and maybe retry."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass
class _Bridge:
    """One running bridge and its LibreOffice."""

    proc: subprocess.Popen[bytes]
    soffice_pid: int  # LibreOffice's pid and process-group id (0 until the bridge reports it)
    profile: Path
    pipe: str  # the name LibreOffice accepts UNO connections on
    log: Path
    buffer: bytearray = field(default_factory=bytearray)


@dataclass
class _State:
    """Everything the finalizer must clean up; kept apart from WarmConverter so it can be collected."""

    workdir: Path | None = None
    bridge: _Bridge | None = None
    starting: _Bridge | None = None  # a bridge not yet ready, so abort() can kill it too
    generation: int = 0  # LibreOffice starts so far; names each one's profile
    requests: int = 0
    closed: bool = False


def _read_line(bridge: _Bridge, deadline: float) -> dict | None:
    """The bridge's next JSON line; None on EOF (it died); _BridgeLost on the deadline."""
    stdout = bridge.proc.stdout
    assert stdout is not None
    fd = stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in bridge.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise _BridgeLost("timed out", timed_out=True)
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            bridge.buffer += chunk
    line, _, rest = bytes(bridge.buffer).partition(b"\n")
    bridge.buffer[:] = rest
    try:
        return json.loads(line)
    except ValueError:
        return {"ok": False, "error": f"unreadable reply from the bridge: {line[:200]!r}", "fatal": True}


def _stop_bridge(bridge: _Bridge, *, graceful: bool) -> None:
    """Stop the bridge and its LibreOffice; graceful = let it see EOF first (it kills LibreOffice itself)."""
    if graceful and bridge.proc.poll() is None:
        try:
            assert bridge.proc.stdin is not None
            bridge.proc.stdin.close()
            bridge.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
    kill_group(bridge.soffice_pid)
    kill_group(bridge.proc.pid)
    for stream in (bridge.proc.stdin, bridge.proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    bridge.proc.wait()
    remove_ipc_sockets(bridge.profile.as_uri(), bridge.pipe)
    shutil.rmtree(bridge.profile, ignore_errors=True)


def _shutdown(state: _State) -> None:
    """Called by close() or by the finalizer: no LibreOffice and no temp dir may outlive the converter."""
    state.closed = True
    if state.bridge is not None:
        bridge, state.bridge = state.bridge, None
        _stop_bridge(bridge, graceful=True)
    if state.workdir is not None:
        shutil.rmtree(state.workdir, ignore_errors=True)
        state.workdir = None


class WarmConverter:
    """A converter that keeps one LibreOffice running between documents.

    Thread-safe for one request at a time (a lock serialises them); for
    parallel conversions run several instances, each with its own profile.
    """

    def __init__(
        self,
        soffice: str,
        *,
        uno_python: str,
        identity: str | None = None,
        note: str = "",
        tmp_root: Path | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.soffice = soffice
        self.uno_python = uno_python
        self.identity = identity or converter_identity(soffice)
        self.note = note
        self.tmp_root = tmp_root
        self.start_timeout = start_timeout
        self.seed = profile_seed(soffice)
        self._lock = threading.Lock()
        self._state = _State()
        self._finalizer = weakref.finalize(self, _shutdown, self._state)

    # -- the Converter interface ------------------------------------------------

    def convert(self, docx: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> bytes:
        """Convert with the running LibreOffice; if it hangs or died, replace it and retry once."""
        with self._lock:
            if self._state.closed:
                raise ConvertError("the LibreOffice converter was already closed")
            for attempt in (1, 2):
                bridge = self._ensure_bridge()
                try:
                    return self._request(bridge, docx, timeout=timeout, pdfa=pdfa)
                except _BridgeLost as lost:
                    self._drop_bridge()
                    if self._state.closed:
                        raise ConvertError("the LibreOffice converter was closed") from None
                    if attempt == 2:
                        if lost.timed_out:
                            raise ConvertError(f"LibreOffice timed out after {timeout:g} s") from None
                        raise ConvertError(f"LibreOffice stopped unexpectedly: {lost}") from None
                except ConvertError:
                    raise  # the document's fault: LibreOffice is fine and stays
                except BaseException:
                    self._drop_bridge()  # e.g. Ctrl-C mid-request: a late reply would confuse the next one
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._finalizer()

    def abort(self) -> None:
        """Kill LibreOffice now, even mid-request, from any thread (Ctrl-C in a batch).

        close() would wait for the request in flight, which may take up to its
        timeout; after abort() that request fails at once with ConvertError, no
        new LibreOffice starts, and close() only has files left to remove.
        """
        state = self._state
        state.closed = True
        for bridge in (state.bridge, state.starting):
            if bridge is not None:
                kill_group(bridge.soffice_pid)
                kill_group(bridge.proc.pid)

    def __enter__(self) -> WarmConverter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for tests and the service --------------------------------------------------------

    @property
    def soffice_pid(self) -> int | None:
        """LibreOffice's pid, which is also its process-group id: `os.killpg` it to kill all of it.

        On Linux this is soffice.bin itself (the bridge skips the sh/oosplash
        launchers); elsewhere it is the `soffice` launcher.
        """
        bridge = self._state.bridge
        return bridge.soffice_pid if bridge is not None else None

    @property
    def bridge_pid(self) -> int | None:
        bridge = self._state.bridge
        return bridge.proc.pid if bridge is not None else None

    @property
    def workdir(self) -> Path | None:
        """Holds the profile, request files and logs; deleted by close()."""
        return self._state.workdir

    def start(self) -> None:
        """Start LibreOffice now rather than on the first document (e.g. while the DOCX is built)."""
        with self._lock:
            if self._state.closed:
                raise ConvertError("the LibreOffice converter was already closed")
            self._ensure_bridge()

    # -- internals ------------------------------------------------------------------

    def _ensure_bridge(self) -> _Bridge:
        state = self._state
        if state.closed:
            raise ConvertError("the LibreOffice converter was closed")
        if state.bridge is not None and state.bridge.proc.poll() is not None:
            self._drop_bridge()  # LibreOffice died while idle: the bridge exited with it
        if state.bridge is None:
            state.bridge = self._start_bridge()
            if state.closed:  # abort() ran while it started
                self._drop_bridge()
                raise ConvertError("the LibreOffice converter was closed")
        return state.bridge

    def _drop_bridge(self) -> None:
        bridge, self._state.bridge = self._state.bridge, None
        if bridge is not None:
            _stop_bridge(bridge, graceful=False)

    def _start_bridge(self) -> _Bridge:
        state = self._state
        if state.workdir is None:
            state.workdir = Path(tempfile.mkdtemp(prefix="resumec-warm-", dir=self.tmp_root)).absolute()
        state.generation += 1
        # A fresh profile per LibreOffice: one killed mid-write may have left its profile broken.
        profile = state.workdir / f"profile-{state.generation}"
        seed_profile(profile, self.seed)
        log = state.workdir / f"bridge-{state.generation}.log"
        pipe = f"resumec-{os.getpid()}-{secrets.token_hex(8)}"
        with open(log, "wb") as log_file:
            try:
                proc = subprocess.Popen(
                    [
                        self.uno_python,
                        str(BRIDGE),
                        "--soffice",
                        self.soffice,
                        "--profile",
                        str(profile),
                        "--pipe",
                        pipe,
                        "--start-timeout",
                        str(self.start_timeout),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log_file,
                    env=soffice_env(state.workdir),
                    start_new_session=True,  # Ctrl-C goes to us; we shut it down in order
                )
            except OSError as exc:
                raise ConvertError(f"could not start {self.uno_python}: {exc.strerror or exc}") from exc
        bridge = _Bridge(proc=proc, soffice_pid=0, profile=profile, pipe=pipe, log=log)
        state.starting = bridge
        if state.closed:  # abort() ran between Popen and the line above
            kill_group(proc.pid)
        deadline = time.monotonic() + self.start_timeout + 2  # the bridge reports its own time-out first
        ready: dict | None = None
        try:
            while ready is None or "ready" not in ready:
                ready = _read_line(bridge, deadline)
                if ready is None:
                    break
                # Learn LibreOffice's pid as soon as it exists, so no failure below can orphan it.
                bridge.soffice_pid = int(ready.get("pid") or bridge.soffice_pid)
        except _BridgeLost:
            ready = None
        except BaseException:
            _stop_bridge(bridge, graceful=False)  # e.g. Ctrl-C during start-up
            raise
        finally:
            state.starting = None
        if not ready or not ready.get("ready"):
            _stop_bridge(bridge, graceful=False)
            reason = (ready or {}).get("error") or log_tail(log) or "no answer"
            raise ConvertError(f"could not start LibreOffice for conversion: {reason}")
        return bridge

    def _request(self, bridge: _Bridge, docx: bytes, *, timeout: float, pdfa: bool) -> bytes:
        assert self._state.workdir is not None
        job = Path(tempfile.mkdtemp(prefix="job-", dir=self._state.workdir))
        try:
            source, target = job / "in.docx", job / "in.pdf"
            source.write_bytes(docx)
            self._state.requests += 1
            request_id = self._state.requests
            request = {"id": request_id, "in": str(source), "out": str(target), "pdfa": pdfa}
            try:
                assert bridge.proc.stdin is not None
                bridge.proc.stdin.write(json.dumps(request).encode() + b"\n")
                bridge.proc.stdin.flush()
            except OSError:
                raise _BridgeLost("the bridge to LibreOffice is gone") from None
            reply = _read_line(bridge, time.monotonic() + timeout)
            if reply is None:
                raise _BridgeLost(log_tail(bridge.log) or "LibreOffice exited")
            if reply.get("fatal"):
                raise _BridgeLost(str(reply.get("error")))
            if reply.get("id") != request_id:
                raise _BridgeLost("the bridge answered another request")
            if not reply.get("ok"):
                raise ConvertError(f"LibreOffice could not convert the document: {reply.get('error')}")
            pdf = target.read_bytes() if target.is_file() else b""
            return check_pdf(pdf, pdfa=pdfa)
        finally:
            shutil.rmtree(job, ignore_errors=True)


def _main() -> int:
    """`python -m resumec.convert.warm FILE.docx…`: time the engine by hand."""
    from resumec.convert import find_soffice

    settings = Settings.from_env()
    soffice = find_soffice(settings)
    python = find_uno_python(soffice, settings)
    if python is None:
        print("no Python with uno found", file=sys.stderr)
        return 1
    with WarmConverter(soffice, uno_python=python) as converter:
        started = time.perf_counter()
        converter.start()
        print(f"start-up {time.perf_counter() - started:.2f} s")
        for name in sys.argv[1:]:
            started = time.perf_counter()
            pdf = converter.convert(Path(name).read_bytes())
            print(f"{name}: {len(pdf)} bytes in {time.perf_counter() - started:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
