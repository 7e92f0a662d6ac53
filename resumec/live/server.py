"""The live preview server: a small thread-safe API over an aiohttp app on its own thread and event loop.

    server = LiveServer(title="resume.json", watched=Path("resume.json"))
    url = server.start()                  # binds 127.0.0.1 (and ::1), returns http://127.0.0.1:PORT/TOKEN/
    server.progress("pdf", 0, 1)          # from any thread, any time
    server.built(Build(ok=True, ...))     # from any thread: pages replace the shown ones; errors keep them
    server.close()

Every public method may be called from any thread: they hand immutable
snapshots to the event loop with call_soon_threadsafe, and all state (the
current build, recent events, subscribers) is touched on the loop only.

Reconnects. Events carry ids `EPOCH-SEQ` (EPOCH is random per server
instance): a client that reconnects with Last-Event-ID gets what it missed,
or one `state` snapshot when the id is from another instance or too old.
With `watched`, the server remembers {port, token} for that file in the
private runtime directory and reuses them when the port is free, so a tab
left open across a restart of the watch session reconnects by itself.

aiohttp is imported only on the server's thread, in `start()`: importing
this module (or `resumec.live`) never pulls it in.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import re
import secrets
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resumec.errors import ResumecError, UsageError
from resumec.interrupt import TICK
from resumec.live.model import Blob, Build
from resumec.settings import Settings

HEARTBEAT = 10.0  # seconds between pings on an idle stream; the page calls a stream dead after 2.5 of them
GIVE_UP = 60.0  # seconds a page keeps reconnecting to a server that is gone before it stops and says so
RETRY_MS = 1000  # the `retry:` the page's EventSource waits between attempts
RECENT = 256  # events kept for Last-Event-ID replay; an older id gets a snapshot instead
QUEUE = 512  # events queued for one slow stream before it is dropped (it then reconnects and resumes)
STAGES: tuple[tuple[str, str], ...] = (("docx", "DOCX build"), ("pdf", "PDF convert"), ("png", "page images"))
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
HOSTS_V4 = "127.0.0.1"
HOST_V6 = "::1"


# -- an immutable build, ready to serve ---------------------------------------------------


@dataclass(frozen=True)
class _Good:
    """The bytes of one good build, keyed by the names they are served under."""

    id: str
    files: dict[str, tuple[bytes, str]]  # name -> (bytes, content type)
    view: dict[str, Any]


@dataclass(frozen=True)
class _Prepared:
    good: _Good | None
    view: dict[str, Any]  # everything but "good"


def _read(blob: Blob | None) -> bytes | None:
    if blob is None or isinstance(blob, bytes | bytearray | memoryview):
        return None if blob is None else bytes(blob)
    try:
        return Path(blob).read_bytes()
    except OSError:
        return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR chunk, so the page can lay out before the images arrive."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _safe_stem(title: str) -> str:
    stem = Path(title).stem if title else ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-")
    return stem[:80] or "resume"


def _prepare(build: Build, stem: str) -> _Prepared:
    """Read and hash a build on the caller's thread, so the event loop only swaps references."""
    view: dict[str, Any] = {
        "ok": bool(build.ok),
        "cached": build.cached,
        "seconds": round(float(build.seconds), 3),
        "time": time.time(),
        "problems": [p.to_json() for p in build.problems],
        "warnings": [str(w) for w in build.warnings],
    }
    if not build.ok:
        return _Prepared(None, view)
    pages = [data for data in (_read(p) for p in build.pages) if data is not None]
    pdf, docx = _read(build.pdf), _read(build.docx)
    digest = hashlib.sha256()
    for data in [*pages, pdf or b"", docx or b""]:
        digest.update(hashlib.sha256(data).digest())
    build_id = digest.hexdigest()[:20]  # content-addressed: an identical rebuild keeps the images in place
    files: dict[str, tuple[bytes, str]] = {}
    shown = []
    for n, data in enumerate(pages, 1):
        name = f"page-{n}.png"
        files[name] = (data, "image/png")
        width, height = _png_size(data) or (0, 0)
        shown.append({"url": f"b/{build_id}/{name}", "width": width, "height": height})
    links = {}
    for kind, data, ctype in (
        ("pdf", pdf, "application/pdf"),
        ("docx", docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ):
        if data is not None:
            name = f"{stem}.{kind}"
            files[name] = (data, ctype)
            links[kind] = {"url": f"b/{build_id}/{name}", "name": name, "bytes": len(data)}
    good_view = {"id": build_id, "pages": shown, **{k: links.get(k) for k in ("pdf", "docx")}}
    return _Prepared(_Good(build_id, files, good_view), view)


# -- state and event fan-out, confined to the event loop ---------------------------------


def _encode(kind: str, data: Any, event_id: str | None = None) -> bytes:
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    lines += [f"data: {line}" for line in payload.split("\n")]  # json.dumps never emits raw newlines; be safe
    return ("\n".join(lines) + "\n\n").encode("utf-8")


PING = _encode("ping", {})


@dataclass(eq=False)
class _Stream:
    queue: asyncio.Queue
    dropped: bool = False


@dataclass
class _Hub:
    """The current build, the recent events and the open streams. Loop-confined: no locks needed."""

    epoch: str
    stages: tuple[tuple[str, str], ...]
    seq: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))  # (seq, encoded event)
    streams: set = field(default_factory=set)
    good: _Good | None = None
    last: dict[str, Any] | None = None  # the last build event's data
    progress_now: dict[str, Any] | None = None  # while a build runs
    opened: int = 0  # streams ever opened (for tests and `stats()`)

    def event_id(self) -> str:
        return f"{self.epoch}-{self.seq}"

    def publish(self, kind: str, data: Any) -> None:
        self.seq += 1
        chunk = _encode(kind, data, self.event_id())
        self.recent.append((self.seq, chunk))
        for stream in list(self.streams):
            try:
                stream.queue.put_nowait(chunk)
            except asyncio.QueueFull:  # a stalled reader: let it go; it resumes by Last-Event-ID
                stream.dropped = True
                self.streams.discard(stream)

    def on_progress(self, stage: str, done: int, total: int) -> None:
        keys = [key for key, _ in self.stages]
        labels = dict(self.stages)
        total = max(int(total), 1)
        done = min(max(int(done), 0), total)
        previous = (self.progress_now or {}).get("fraction", 0.0)
        if stage in keys:
            fraction = (keys.index(stage) + done / total) / len(keys)
        else:
            fraction = previous  # a stage outside the bar (validate, write): the label changes, the bar does not
        self.progress_now = {
            "stage": stage,
            "label": labels.get(stage, stage),
            "done": done,
            "total": total,
            "fraction": round(max(fraction, previous), 4),
        }
        self.publish("progress", self.progress_now)

    def on_built(self, prepared: _Prepared) -> None:
        if prepared.good is not None:
            self.good = prepared.good
        self.last = {**prepared.view, "good": self.good.view if self.good else None}
        self.progress_now = None
        self.publish("build", self.last)

    def snapshot(self) -> bytes:
        return _encode("state", {"build": self.last, "progress": self.progress_now}, self.event_id())

    def since(self, last_id: str) -> bytes | None:
        """The events after last_id, or None when they cannot be replayed (other instance, too old, bogus)."""
        epoch, _, seq_text = last_id.rpartition("-")
        if epoch != self.epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        if seq > self.seq:
            return None
        missed = [chunk for s, chunk in self.recent if s > seq]
        if len(missed) != self.seq - seq:  # some fell out of the window
            return None
        return b"".join(missed)

    def subscribe(self, last_id: str) -> tuple[bytes, _Stream]:
        """What to send first, and the stream's queue, in one step (no await): nothing is missed or sent twice."""
        backlog = self.since(last_id) if last_id else None
        stream = _Stream(asyncio.Queue(maxsize=QUEUE))
        self.streams.add(stream)
        self.opened += 1
        return (backlog if backlog is not None else self.snapshot()), stream

    def close(self) -> None:
        for stream in list(self.streams):
            stream.dropped = True
            try:
                stream.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass
        self.streams.clear()


# -- where to listen --------------------------------------------------------------------


def _listen(host: str, family: int, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR: rebinding the remembered port must not wait out the old connections' TIME_WAIT.
        # (On Linux it does not let two servers listen on one port; that needs SO_REUSEPORT.)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


def _v6_unavailable(exc: OSError) -> bool:
    return exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT)


def bind(port: int | None) -> list[socket.socket]:
    """Listening sockets on 127.0.0.1 and ::1 (when the machine has IPv6), on one port.

    None or 0 picks a random port free on both. A given port that is taken on
    127.0.0.1 raises OSError; one whose ::1 side someone else holds is served
    on 127.0.0.1 only (the URL names 127.0.0.1; ::1 is a convenience).
    """
    for _ in range(20):
        v4 = _listen(HOSTS_V4, socket.AF_INET, port or 0)
        try:
            return [v4, _listen(HOST_V6, socket.AF_INET6, v4.getsockname()[1])]
        except OSError as exc:
            if port or _v6_unavailable(exc):
                return [v4]
            v4.close()  # the random port is taken on ::1: draw another
    raise OSError(errno.EADDRINUSE, "no port free on both 127.0.0.1 and ::1")


# -- remembering {port, token} per watched file -------------------------------------------


def state_file(watched: str | os.PathLike[str], settings: Settings) -> Path:
    """Where the address of the preview of `watched` is remembered (in the private runtime directory)."""
    digest = hashlib.sha256(str(Path(watched).expanduser().resolve()).encode()).hexdigest()[:24]
    return settings.runtime_dir / "live" / f"{digest}.json"


def _recall(path: Path) -> dict[str, Any]:
    from resumec.service.daemon import is_private

    if not is_private(path.parent):
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    port, token = data.get("port"), data.get("token")
    if not (isinstance(port, int) and 1024 <= port <= 65535 and isinstance(token, str) and TOKEN_RE.match(token)):
        return {}
    return {"port": port, "token": token}


def _remember(path: Path, port: int, token: str, title: str) -> str:
    """Write the state file 0600 in a 0700 directory; a note (never an error) when that is impossible."""
    from resumec.service.daemon import make_private_dir

    try:
        make_private_dir(path.parent.parent)
        make_private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"port": port, "token": token, "title": title, "pid": os.getpid()}, out)
        os.replace(tmp, path)
    except (ResumecError, OSError) as exc:
        message = exc.message if isinstance(exc, ResumecError) else str(exc)
        return f"live preview: cannot remember its address ({message}); after a restart, open the new URL"
    return ""


# -- the API ------------------------------------------------------------------------------


class LiveServer:
    """A local preview page for one watched résumé. See the module docstring for the calls."""

    def __init__(
        self,
        title: str = "resume.json",
        *,
        port: int | None = None,
        token: str | None = None,
        watched: str | os.PathLike[str] | None = None,
        heartbeat: float = HEARTBEAT,
        give_up: float = GIVE_UP,
        stages: Sequence[tuple[str, str]] = STAGES,
        settings: Settings | None = None,
    ) -> None:
        if port is not None and not 0 <= port <= 65535:
            raise UsageError(f"--port {port}: expected 1-65535")
        if token is not None and not TOKEN_RE.match(token):
            raise UsageError("live preview token: expected 16-128 characters from A-Z a-z 0-9 _ -")
        self.title = title
        self.requested_port = port or None
        self.requested_token = token
        self.watched = Path(watched) if watched is not None else None
        self.settings = settings or Settings.from_env()
        self.heartbeat = float(heartbeat)
        self.give_up = float(give_up)
        self.stages = tuple(stages)
        self.stem = _safe_stem(title)
        self.port = 0
        self.token = ""
        self.url = ""
        self.note = ""  # one line for the user, e.g. when the address could not be remembered
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._hub: _Hub | None = None
        self._stop: Any = None  # the coroutine function that shuts the app down, set on the loop
        self._closed = False

    # -- lifecycle

    def start(self) -> str:
        """Bind, start serving on a background thread, and return the page's URL (token included).

        Raises UsageError when an explicit `port` cannot be bound, ResumecError when the server cannot start.
        """
        if self._thread is not None:
            return self.url
        remembered = _recall(state_file(self.watched, self.settings)) if self.watched else {}
        self.token = self.requested_token or remembered.get("token") or secrets.token_urlsafe(24)
        socks = self._bind(remembered.get("port"))
        self.port = socks[0].getsockname()[1]
        self.url = f"http://{HOSTS_V4}:{self.port}/{self.token}/"
        self._hub = _Hub(epoch=secrets.token_hex(4), stages=self.stages)
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(socks, ready, failure), name="resumec-live", daemon=True
        )
        self._thread.start()
        while not ready.wait(TICK):  # a short sleep, so Ctrl-C is never lost meanwhile
            pass
        if failure:
            self._thread.join()
            self._thread = None
            for sock in socks:
                sock.close()
            exc = failure[0]
            if isinstance(exc, ImportError):
                raise ResumecError(f"the live preview needs aiohttp ({exc}); reinstall resumec") from None
            raise ResumecError(f"live preview: cannot start the server: {exc}") from None
        if self.watched:
            self.note = _remember(state_file(self.watched, self.settings), self.port, self.token, self.title)
        return self.url

    def _bind(self, remembered_port: int | None) -> list[socket.socket]:
        if self.requested_port:
            try:
                return bind(self.requested_port)
            except OSError as exc:
                raise UsageError(f"--port {self.requested_port}: cannot listen on 127.0.0.1: {exc.strerror or exc}") from None
        if remembered_port:
            try:
                return bind(remembered_port)
            except OSError:
                pass  # in use (another session on this file?): a fresh port; that tab cannot follow
        return bind(None)

    def close(self) -> None:
        """End every stream, stop the server and its thread. Safe to call twice, or from a signal's unwinding."""
        if self._closed:
            return
        self._closed = True
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), loop).result(timeout=10)
        except Exception:  # the loop is already gone, or shutdown hung: stop it regardless
            pass
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # already closed
            pass
        thread.join(timeout=10)

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the watch session reports

    def progress(self, stage: str, done: int = 0, total: int = 1) -> None:
        """A build is running: `stage` (docx, pdf, png; others only relabel) is `done` of `total` through."""
        self._call(lambda hub: hub.on_progress(str(stage), done, total))

    def built(self, build: Build) -> None:
        """A build finished. Reads and hashes its files here, on the caller's thread."""
        if self._closed or self._hub is None:
            return
        prepared = _prepare(build, self.stem)
        self._call(lambda hub: hub.on_built(prepared))

    def stats(self) -> dict[str, Any]:
        """Open streams, streams ever opened, events sent and the shown build's id (for tests and diagnostics)."""
        if self._loop is None or self._closed:
            return {}

        async def read() -> dict[str, Any]:
            hub = self._hub
            return {
                "streams": len(hub.streams),
                "opened": hub.opened,
                "events": hub.seq,
                "build": hub.good.id if hub.good else None,
                "epoch": hub.epoch,
            }

        return asyncio.run_coroutine_threadsafe(read(), self._loop).result(timeout=10)

    def _call(self, action: Any) -> None:
        loop, hub = self._loop, self._hub
        if loop is None or hub is None or self._closed:
            return
        try:
            loop.call_soon_threadsafe(action, hub)
        except RuntimeError:  # the loop closed under us: the session is ending anyway
            pass

    # -- the server's thread

    def _run(self, socks: list[socket.socket], ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        try:
            from resumec.live import app as live_app

            runner = loop.run_until_complete(live_app.start(self, self._hub, socks))
        except BaseException as exc:
            failure.append(exc)
            loop.close()
            ready.set()
            return

        async def stop() -> None:
            self._hub.close()  # ends every stream, so the cleanup need not wait for them
            await runner.cleanup()

        self._stop = stop
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            for sock in socks:
                sock.close()
            loop.close()
