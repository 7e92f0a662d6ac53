"""The converter service: one warm LibreOffice shared by every `resumec compile` of one user.

A one-shot conversion starts LibreOffice each time (~1.2 s); the service keeps
a WarmConverter running (~0.1 s a document) behind a UNIX socket in a private
runtime directory (0700, socket 0600, peer uid checked with SO_PEERCRED where
available). It only converts DOCX bytes it is sent into PDF bytes: it never
reads a path on a client's behalf.

Wire format, both ways: 8 bytes (header length, payload length; big-endian
uint32), a JSON header, then the payload.

  {"op": "status"}                          → {"ok": true, "pid": …, "conversions": …, …}
  {"op": "stop"}                            → {"ok": true}, then the service exits
  {"op": "convert", "identity": I, "pdfa": B, "timeout": T}
                                            → {"ok": true}  (accepted; identity I matches)
                                               or {"ok": false, "refused": "…"}
  then {"op": "data"} + DOCX bytes          → {"ok": true} + PDF bytes
                                               or {"ok": false, "error": "…"}

The accept step comes before the DOCX is sent so a client learns within
CONNECT_TIMEOUT that a service is alive and runs the LibreOffice it would
have used itself (same `converter_identity`, so cached PDFs stay valid);
anything else and the client converts one-shot, without an error.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resumec.errors import ConvertError, ResumecError, UsageError

if TYPE_CHECKING:
    import socket
    import threading

DEFAULT_IDLE = 600.0  # seconds without a request before the service exits
CONNECT_TIMEOUT = 0.2  # connect + accept: a dead or stale service must cost no more than this
SOCKET_NAME = "server.sock"
INFO_NAME = "server.json"
LOCK_NAME = "server.lock"
LOG_NAME = "server.log"
MAX_HEADER = 1 << 16
MAX_PAYLOAD = 256 << 20  # a résumé DOCX or PDF is well under 1 MB; this only stops runaway reads

_PREFIX = struct.Struct("!II")


# -- where the service lives ------------------------------------------------------------


def runtime_dir(env: Mapping[str, str] = os.environ) -> Path:
    """RESUMEC_RUNTIME_DIR, else $XDG_RUNTIME_DIR/resumec, else the per-user runtime dir platformdirs picks.

    Every compile asks, so on Linux platformdirs' fallbacks (/run/user/UID,
    then $TMPDIR/runtime-UID) are spelled out here: importing it costs 6 ms.
    """
    if env.get("RESUMEC_RUNTIME_DIR"):
        return Path(env["RESUMEC_RUNTIME_DIR"]).expanduser().absolute()
    if env.get("XDG_RUNTIME_DIR", "").strip():
        return Path(env["XDG_RUNTIME_DIR"]) / "resumec"
    if sys.platform.startswith("linux"):
        run = Path(f"/run/user/{os.getuid()}")
        if is_private(run):
            return run / "resumec"
        return Path(env.get("TMPDIR") or "/tmp") / f"runtime-{os.getuid()}" / "resumec"
    import warnings

    import platformdirs

    with warnings.catch_warnings():  # it warns when it falls back to /tmp/runtime-UID; so do we, if it fails
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir("resumec"))


def socket_path(env: Mapping[str, str] = os.environ) -> Path:
    return runtime_dir(env) / SOCKET_NAME


def is_private(directory: Path) -> bool:
    """Ours and nobody else's: otherwise a planted socket could hand us any PDF."""
    try:
        st = os.stat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def make_private_dir(directory: Path) -> Path:
    """Create the runtime dir 0700 (parents too, if missing) and insist it is private."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot create the runtime directory: {exc.strerror or exc}") from None
    if not is_private(directory):
        raise UsageError(
            f"{directory}: the runtime directory must belong to you and be private (chmod 700); "
            "set RESUMEC_RUNTIME_DIR to use another"
        )
    return directory


def disabled(env: Mapping[str, str] = os.environ) -> bool:
    return env.get("RESUMEC_NO_SERVER", "").strip() not in ("", "0")


# -- wire format ---------------------------------------------------------------------


class _Closed(Exception):
    """The other side closed the connection (or sent something that is not our protocol)."""


def _send(sock: socket.socket, header: dict[str, Any], payload: bytes = b"") -> None:
    head = json.dumps(header).encode()
    sock.sendall(_PREFIX.pack(len(head), len(payload)) + head)
    if payload:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray()
    while len(buffer) < size:
        chunk = sock.recv(min(size - len(buffer), 1 << 20))
        if not chunk:
            raise _Closed("connection closed")
        buffer += chunk
    return bytes(buffer)


def _recv(sock: socket.socket) -> tuple[dict[str, Any], bytes]:
    head_size, payload_size = _PREFIX.unpack(_recv_exact(sock, _PREFIX.size))
    if head_size > MAX_HEADER or payload_size > MAX_PAYLOAD:
        raise _Closed("message too large")
    try:
        header = json.loads(_recv_exact(sock, head_size))
    except ValueError:
        raise _Closed("unreadable message") from None
    if not isinstance(header, dict):
        raise _Closed("unreadable message")
    return header, _recv_exact(sock, payload_size) if payload_size else b""


def _peer_uid(sock: socket.socket) -> int | None:
    """The uid at the other end of a UNIX socket (Linux SO_PEERCRED), or None where unsupported."""
    import socket

    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    except OSError:
        return None
    return uid


def _connect(path: Path, timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    """Connect, or OSError fast: a stale socket file refuses at once, a hung service times out."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(str(path))
        uid = _peer_uid(sock)
        if uid is not None and uid != os.getuid():
            raise PermissionError(f"{path}: the service belongs to uid {uid}")
    except BaseException:
        sock.close()
        raise
    return sock


def request(op: str, env: Mapping[str, str] = os.environ, timeout: float = 2.0) -> dict[str, Any] | None:
    """One status/stop round trip, or None when no service answers."""
    path = socket_path(env)
    if not is_private(path.parent):
        return None
    try:
        with _connect(path, timeout=min(timeout, 1.0)) as sock:
            sock.settimeout(timeout)
            _send(sock, {"op": op})
            reply, _ = _recv(sock)
    except (OSError, _Closed, struct.error):
        return None
    return reply if reply.get("ok") else None


# -- the client: a converter for pipeline.compile() ---------------------------------------


class _Unavailable(Exception):
    """The service cannot take this request; convert one-shot instead (a message, or "" for silence)."""


@dataclass
class ServiceClient:
    """Converts through the service, or one-shot when it is gone: same interface as OneShot.

    `identity` is computed locally, so a cache hit never talks to the service;
    the connection is opened on the first conversion and kept for the next.
    One client is for one thread at a time.
    """

    address: Path  # the service's socket
    soffice: str
    identity: str
    note: str = ""
    warn: Callable[[str], None] | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    served: int = 0  # documents the service converted
    fallback: Any = None  # the OneShot used once the service failed us
    _sock: socket.socket | None = field(default=None, repr=False)

    def convert(self, docx: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> bytes:
        if self.fallback is None:
            try:
                return self._remote(docx, timeout=timeout, pdfa=pdfa)
            except _Unavailable as why:
                self._disconnect()
                from resumec.convert import OneShot

                self.fallback = OneShot(soffice=self.soffice, identity=self.identity)
                if str(why) and self.warn is not None:
                    self.warn(str(why))
        return self.fallback.convert(docx, timeout=timeout, pdfa=pdfa)

    def close(self) -> None:
        self._disconnect()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _remote(self, docx: bytes, *, timeout: float, pdfa: bool) -> bytes:
        # A kept connection may have been closed by an idle service: one retry on a fresh one.
        for attempt in (1, 2):
            reused = self._sock is not None
            try:
                sock = self._sock or _connect(self.address, self.connect_timeout)
                self._sock = sock
                sock.settimeout(self.connect_timeout)
                _send(sock, {"op": "convert", "identity": self.identity, "pdfa": pdfa, "timeout": timeout})
                accepted, _ = _recv(sock)
            except (OSError, _Closed, struct.error):
                self._disconnect()
                if reused and attempt == 1:
                    continue
                raise _Unavailable("") from None
            if not accepted.get("ok"):
                raise _Unavailable(
                    f"note: the converter service is not used ({accepted.get('refused') or 'refused'}); "
                    "converting with a new LibreOffice (restart it: resumec server stop; resumec server start)"
                )
            break
        try:
            # The service applies `timeout` itself and may replace a hung LibreOffice once.
            sock.settimeout(2 * timeout + 90)
            _send(sock, {"op": "data"}, docx)
            reply, pdf = _recv(sock)
        except (OSError, _Closed, struct.error):
            raise _Unavailable("") from None
        if not reply.get("ok"):
            raise ConvertError(str(reply.get("error") or "the converter service failed"))
        self.served += 1
        return pdf

    def _disconnect(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


def client_converter(
    env: Mapping[str, str] = os.environ, warn: Callable[[str], None] | None = None
) -> ServiceClient | None:
    """A client when a service socket exists (cheap: a few stats, no connection), else None.

    None also when RESUMEC_NO_SERVER is set or LibreOffice is missing (the
    pipeline then reports that itself).
    """
    if disabled(env):
        return None
    try:
        path = socket_path(env)
        if not stat.S_ISSOCK(os.stat(path).st_mode) or not is_private(path.parent):
            return None
    except OSError:
        return None
    from resumec.convert import converter_identity, find_soffice

    try:
        soffice = find_soffice(env)
    except ConvertError:
        return None
    return ServiceClient(address=path, soffice=soffice, identity=converter_identity(soffice), warn=warn)


# -- the server ------------------------------------------------------------------------


def _threading():
    """Imported on use: `socket` and `threading` cost ~3 ms, which every compile would pay for nothing."""
    import threading

    return threading


@dataclass
class _Service:
    """What the accept loop and the connection threads share."""

    converter: Any
    identity: str
    address: Path
    idle_timeout: float
    started: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.monotonic)
    conversions: int = 0
    active: int = 0
    ready: bool = False
    error: str | None = None  # why LibreOffice could not start
    lock: threading.Lock = field(default_factory=lambda: _threading().Lock())
    stopping: threading.Event = field(default_factory=lambda: _threading().Event())
    wake: socket.socket | None = None

    def status(self) -> dict[str, Any]:
        from resumec import __version__

        return {
            "ok": True,
            "pid": os.getpid(),
            "socket": str(self.address),
            "started": self.started,
            "uptime": time.time() - self.started,
            "conversions": self.conversions,
            "active": self.active,
            "ready": self.ready,
            "identity": self.identity,
            "libreoffice": self.identity.split(";")[0],
            "soffice_pid": getattr(self.converter, "soffice_pid", None),
            "idle_timeout": self.idle_timeout,
            "resumec": __version__,
        }

    def stop(self) -> None:
        self.stopping.set()
        if self.wake is not None:
            try:
                self.wake.send(b"x")
            except OSError:
                pass

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while one runs or LibreOffice is still starting."""
        with self.lock:
            return 0.0 if self.active or not self.ready else time.monotonic() - self.last_active


def _handle(conn: socket.socket, service: _Service, log: Callable[[str], None]) -> None:
    """Serve one client connection: any number of requests until it hangs up."""
    with conn:
        uid = _peer_uid(conn)
        if uid is not None and uid != os.getuid():
            log(f"refused a connection from uid {uid}")
            return
        while not service.stopping.is_set():
            try:
                # A client that keeps its connection must not keep a thread forever.
                conn.settimeout(service.idle_timeout or DEFAULT_IDLE)
                header, _ = _recv(conn)
                op = header.get("op")
                if op == "status":
                    _send(conn, service.status())
                elif op == "stop":
                    _send(conn, {"ok": True})
                    log("stopping: asked to")
                    service.stop()
                    return
                elif op == "convert":
                    if header.get("identity") != service.identity:
                        _send(conn, {"ok": False, "refused": f"it runs {service.identity.split(';')[0]}"})
                        continue
                    _send(conn, {"ok": True})
                    conn.settimeout(60)
                    data_header, docx = _recv(conn)
                    if data_header.get("op") != "data":
                        return
                    _send(conn, *_convert(service, docx, header))
                else:
                    _send(conn, {"ok": False, "error": f"unknown request {op!r}"})
                    return
            except (OSError, _Closed, struct.error):
                return


def _convert(service: _Service, docx: bytes, header: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    with service.lock:
        service.active += 1
    try:
        timeout = float(header.get("timeout") or 120.0)
        pdf = service.converter.convert(docx, timeout=timeout, pdfa=bool(header.get("pdfa")))
        with service.lock:
            service.conversions += 1
        return {"ok": True}, pdf
    except ResumecError as exc:
        return {"ok": False, "error": exc.message}, b""
    except Exception as exc:  # a bug must cost one request, not the service
        return {"ok": False, "error": f"converter service error: {exc}"}, b""
    finally:
        with service.lock:
            service.active -= 1
            service.last_active = time.monotonic()


def serve(*, idle_timeout: float = DEFAULT_IDLE, env: Mapping[str, str] = os.environ,
          log: Callable[[str], None] | None = None) -> int:
    """Run the service in this process until stopped, idle, or signalled; returns an exit code.

    Raises UsageError when another service already runs here, ConvertError
    when LibreOffice (or a Python with its uno module) is missing.
    """
    import fcntl
    import select
    import signal
    import socket
    import threading

    from resumec.convert import converter_identity, find_soffice
    from resumec.convert.warm import WarmConverter, find_uno_python

    def say(message: str) -> None:
        if log is not None:
            log(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}")

    os.umask(0o077)  # this process exists only to serve its user: nothing it makes is for others
    directory = make_private_dir(runtime_dir(env))
    lock = open(directory / LOCK_NAME, "a+b")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"a converter service is already running in {directory}") from None
        soffice = find_soffice(env)
        uno_python = find_uno_python(soffice, env)
        if uno_python is None:
            raise ConvertError(
                "the converter service needs a Python that can import LibreOffice's uno module "
                "(Debian/Ubuntu: sudo apt-get install python3-uno; or set RESUMEC_UNO_PYTHON)"
            )
        identity = converter_identity(soffice)
        path = directory / SOCKET_NAME
        try:
            path.unlink()  # we hold the lock, so a socket left here is stale
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o177)  # 0600 from the start: no window where others could connect
        try:
            listener.bind(str(path))
        except OSError as exc:
            listener.close()
            raise UsageError(f"{path}: cannot listen: {exc.strerror or exc}") from None
        finally:
            os.umask(old_mask)
        os.chmod(path, 0o600)
        listener.listen(64)
        converter = WarmConverter(soffice, uno_python=uno_python, identity=identity)
        service = _Service(converter=converter, identity=identity, address=path, idle_timeout=idle_timeout)
        wake_r, service.wake = socket.socketpair()
        wake_r.setblocking(False)
        service.wake.setblocking(False)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        old_wakeup = signal.set_wakeup_fd(service.wake.fileno(), warn_on_full_buffer=False)
        for sig in previous:
            signal.signal(sig, lambda signum, frame: service.stopping.set())
        info = directory / INFO_NAME
        try:
            info.write_text(json.dumps({"pid": os.getpid(), "socket": str(path), "started": service.started}))
            say(f"listening on {path} (pid {os.getpid()}, {identity.split(';')[0]})")
            threading.Thread(target=_warm_up, args=(service, say), daemon=True).start()
            while not service.stopping.is_set():
                wait = 1.0
                if idle_timeout > 0:
                    wait = max(0.0, min(wait, idle_timeout - service.idle_for()))
                    if wait == 0.0:
                        say(f"stopping: idle for {idle_timeout:g} s")
                        break
                readable, _, _ = select.select([listener, wake_r], [], [], wait)
                if wake_r in readable:
                    try:
                        wake_r.recv(4096)
                    except OSError:
                        pass
                if listener in readable:
                    try:
                        conn, _ = listener.accept()
                    except OSError:
                        continue
                    threading.Thread(target=_handle, args=(conn, service, say), daemon=True).start()
            if service.error:
                raise ConvertError(service.error)
            return 0
        finally:
            service.stopping.set()
            listener.close()
            for leftover in (path, info):
                try:
                    leftover.unlink()
                except OSError:
                    pass
            converter.close()
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            wake_r.close()
            service.wake.close()
            say(f"stopped after {service.conversions} conversions")
    finally:
        lock.close()


def _warm_up(service: _Service, say: Callable[[str], None]) -> None:
    """Start LibreOffice in the background: status answers meanwhile, and `server start` waits for ready."""
    started = time.perf_counter()
    try:
        service.converter.start()
    except ConvertError as exc:
        service.error = exc.message
        service.stop()
        return
    with service.lock:
        service.ready = True
        service.last_active = time.monotonic()
    say(f"LibreOffice ready in {time.perf_counter() - started:.2f} s (pid {service.converter.soffice_pid})")


# -- managing the background process --------------------------------------------------------


def _lock_held(directory: Path) -> bool:
    """True while a service process holds the runtime dir's lock (running, maybe not answering)."""
    import fcntl

    try:
        with open(directory / LOCK_NAME, "rb") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            return False
    except OSError:
        return False


def _info_pid(directory: Path) -> int | None:
    try:
        pid = json.loads((directory / INFO_NAME).read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: its parent (maybe init in a container) just has not reaped it yet
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def status(env: Mapping[str, str] = os.environ, timeout: float = 2.0) -> dict[str, Any] | None:
    return request("status", env, timeout=timeout)


def start(*, idle_timeout: float, env: Mapping[str, str] = os.environ, wait: float = 120.0) -> dict[str, Any]:
    """Start the service in the background and wait until LibreOffice is ready; returns its status.

    Returns the running service's status (with "already": True) if there is one.
    """
    import subprocess

    current = status(env)
    if current is not None:
        return {**current, "already": True}
    directory = make_private_dir(runtime_dir(env))
    child_env = dict(env)
    child_env["RESUMEC_RUNTIME_DIR"] = str(directory)  # the child must not re-derive it differently
    child_env.pop("PYTHONDONTWRITEBYTECODE", None)
    log_path = directory / LOG_NAME
    with open(log_path, "ab") as log_file:
        os.chmod(log_path, 0o600)
        log_file.write(f"--- starting ({time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode())
        log_file.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "resumec", "server", "start", "--foreground", "--idle-timeout", repr(idle_timeout)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=child_env,
            cwd="/",
            start_new_session=True,  # no terminal: Ctrl-C in this shell and its hang-up don't reach it
            close_fds=True,
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        code = proc.poll()
        current = status(env)
        if current is not None and current.get("ready"):
            proc.returncode = 0  # it lives on without us; don't warn that we never waited for it
            return current
        if code is not None and not (code == UsageError.exit_code and _lock_held(directory)):
            raise _start_failed(log_path, code)  # (exit 2 with the lock held: another start won the race)
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise ConvertError(f"the converter service did not start within {wait:g} s; see {log_path}")


def _start_failed(log_path: Path, code: int) -> ResumecError:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    tail = []
    for line in reversed(lines):
        if line.startswith("--- starting"):
            break
        tail.insert(0, line)
    reason = " | ".join(line.strip() for line in tail[-3:] if line.strip()) or f"exit status {code}"
    error: ResumecError = UsageError(reason) if code == UsageError.exit_code else ConvertError(reason)
    error.message = f"the converter service could not start: {reason}"
    return error


def stop(env: Mapping[str, str] = os.environ, wait: float = 15.0) -> int | None:
    """Stop the service; returns its pid, or None when none was running."""
    import signal

    directory = runtime_dir(env)
    current = status(env)
    pid = current.get("pid") if current else None
    if current is not None:
        request("stop", env)
    elif _lock_held(directory):
        pid = _info_pid(directory)  # running but not answering: signal it
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    if not isinstance(pid, int):
        return None
    deadline = time.monotonic() + wait
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)  # its LibreOffice dies with it: the bridge sees EOF
        except ProcessLookupError:
            pass
    return pid
