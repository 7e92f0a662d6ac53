"""The service process: an accept loop, one thread per connection, one warm LibreOffice.

Run by `resumec server start [--foreground]`. Requests are served in the
order LibreOffice can take them (the warm converter serialises them); a
connection that sends anything but our protocol is closed, and a bug costs one
request, never the service. A client may also hand over the DOCX build
(`Build`): the service has python-docx and Jinja2 imported and the theme's
templates compiled (one Builder), which a new client process would pay for
on every compile.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resumec.convert import Converter
from resumec.errors import ConvertError, ResumecError, UsageError
from resumec.service.daemon import make_private_dir
from resumec.service.protocol import (
    INFO_NAME, LOCK_NAME, SOCKET_NAME, Build, Closed, Convert, Data, Status, Stop, code_identity, parse_request,
    peer_uid, recv, send,
)
from resumec.settings import DEFAULT_SERVER_IDLE, Settings

@dataclass
class _Service:
    """What the accept loop and the connection threads share."""

    converter: Converter
    identity: str
    address: Path
    idle_timeout: float
    code: str = field(default_factory=code_identity)  # the code this process runs, for Build requests
    builder: Any = None  # resumec.docx.builder.Builder, made on the first Build
    started: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.monotonic)
    conversions: int = 0
    builds: int = 0
    active: int = 0
    ready: bool = False
    error: str | None = None  # why LibreOffice could not start
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
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
            "builds": self.builds,
            "active": self.active,
            "ready": self.ready,
            "identity": self.identity,
            "libreoffice": self.identity.split(";")[0],
            "soffice_pid": self.converter.soffice_pid,  # live: a replaced LibreOffice has a new one
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
    """Serve one client connection: any number of requests until it hangs up or breaks the protocol."""
    with conn:
        uid = peer_uid(conn)
        if uid is not None and uid != os.getuid():
            log(f"refused a connection from uid {uid}")
            return
        while not service.stopping.is_set():
            try:
                # A client that keeps its connection must not keep a thread forever.
                conn.settimeout(service.idle_timeout or DEFAULT_SERVER_IDLE)
                request = parse_request(recv(conn)[0])
                if isinstance(request, Status):
                    send(conn, service.status())
                elif isinstance(request, Stop):
                    send(conn, {"ok": True})
                    log("stopping: asked to")
                    service.stop()
                    return
                elif isinstance(request, (Convert, Build)):
                    if request.identity != service.identity:
                        send(conn, {"ok": False, "refused": f"it runs {service.identity.split(';')[0]}"})
                        continue
                    if isinstance(request, Build) and request.code != service.code:
                        send(conn, {"ok": False, "refused": "it runs other resumec code (restart it)"})
                        continue
                    send(conn, {"ok": True})
                    conn.settimeout(60)
                    data, payload = recv(conn)
                    if not isinstance(parse_request(data), Data):
                        return
                    if isinstance(request, Build):
                        send(conn, *_build(service, payload, request, log))
                    else:
                        send(conn, *_convert(service, payload, request))
                else:
                    return  # data without a convert request first
            except (OSError, Closed):
                return


def _convert(service: _Service, docx: bytes, request: Convert | Build) -> tuple[dict[str, Any], bytes]:
    with service.lock:
        service.active += 1
    try:
        pdf = service.converter.convert(docx, timeout=request.timeout, pdfa=request.pdfa)
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


def _build(service: _Service, job: bytes, request: Build, log: Callable[[str], None]) -> tuple[dict[str, Any], bytes]:
    """The job's DOCX, built here, and its PDF; a build that fails is the client's to make (and report)."""
    with service.lock:
        service.active += 1  # held until the PDF is done too: the service is never idle in between
    try:
        try:
            from resumec.docx.builder import Builder
            from resumec.pipeline import build_served

            with service.lock:
                if service.builder is None:
                    service.builder = Builder()
            docx, epoch = build_served(job, service.builder)
        except Exception as exc:  # ResumecError (a bad template, …) or a bug: the client's own build says which
            log(f"a build was left to its client: {type(exc).__name__}: {exc}")
            return {"ok": False}, b""
        reply, pdf = _convert(service, docx, request)
        if not reply.get("ok"):
            return reply, b""
        try:
            from resumec.convert import pin_pdf

            pdf = pin_pdf(pdf, epoch)  # here, where pin is imported already: the client need not import it
        except Exception as exc:  # the client, converting itself, reports what is wrong with this PDF
            log(f"a build was left to its client: {type(exc).__name__}: {exc}")
            return {"ok": False}, b""
        with service.lock:
            service.builds += 1
        return {"ok": True, "docx": len(docx)}, docx + pdf
    finally:
        with service.lock:
            service.active -= 1
            service.last_active = time.monotonic()


def serve(settings: Settings, *, idle_timeout: float, log: Callable[[str], None] | None = None) -> int:
    """Run the service in this process until stopped, idle, or signalled; returns an exit code.

    Raises UsageError when another service already runs here, ConvertError
    when LibreOffice (or a Python with its uno module) is missing.
    """
    import fcntl

    from resumec import convert

    def say(message: str) -> None:
        if log is not None:
            log(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}")

    os.umask(0o077)  # this process exists only to serve its user: nothing it makes is for others
    directory = make_private_dir(settings.runtime_dir)
    lock = open(directory / LOCK_NAME, "a+b")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"a converter service is already running in {directory}") from None
        pool = convert.pool(1, settings, warm=True, require_warm=True)
        converter = pool.converters[0]
        identity = converter.identity
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
            pool.close()
            raise UsageError(f"{path}: cannot listen: {exc.strerror or exc}") from None
        finally:
            os.umask(old_mask)
        os.chmod(path, 0o600)
        listener.listen(64)
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
            pool.close()
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
    import resumec.docx.document  # noqa: F401  what a first Build would otherwise wait for

