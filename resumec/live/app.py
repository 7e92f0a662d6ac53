"""The HTTP side of the live preview: aiohttp routes, the Host and token guard, and the SSE stream.

Imported only on the server's thread (LiveServer.start), so aiohttp stays off
every other import path. Nothing here reads the disk after start-up: the
page's three files are read once from the package, and builds are served
from the memory snapshot of the current build only.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import re
import socket
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from resumec import __version__

if TYPE_CHECKING:
    from resumec.live.server import LiveServer, _Hub

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATIC = {"app.js": "text/javascript", "app.css": "text/css", "icon.svg": "image/svg+xml"}
IMMUTABLE = "private, max-age=31536000, immutable"  # build files are content-addressed: a URL never changes meaning

SERVER = web.AppKey("server", object)
HUB = web.AppKey("hub", object)
ASSETS = web.AppKey("assets", dict)
INDEX = web.AppKey("index", bytes)


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n")


def _hosts(port: int) -> frozenset[str]:
    """The Host headers a page we served can send. Anything else is DNS rebinding or a stray client."""
    names = ("127.0.0.1", "[::1]", "localhost")
    return frozenset([f"{n}:{port}" for n in names] + (list(names) if port == 80 else []))


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    server: LiveServer = request.app[SERVER]
    host = request.headers.get("Host", "").strip().lower()
    if host not in _hosts(server.port):
        return _text(403, "forbidden: unexpected Host header")
    first, slash, _ = request.path.lstrip("/").partition("/")
    if not hmac.compare_digest(first.encode("utf-8", "replace"), server.token.encode()):
        return _text(403, "forbidden: wrong or missing token; open the URL resumec watch printed")
    if not slash:
        raise web.HTTPFound(f"/{server.token}/")
    return await handler(request)


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Cache-Control", "no-store")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Content-Security-Policy"] = CSP


async def _index(request: web.Request) -> web.Response:
    return web.Response(body=request.app[INDEX], content_type="text/html", charset="utf-8")


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    return web.Response(body=request.app[ASSETS][name], content_type=STATIC[name], charset="utf-8")


async def _file(request: web.Request) -> web.Response:
    """A file of the build on screen, and nothing else: names are looked up in memory, never on disk."""
    hub: _Hub = request.app[HUB]
    good = hub.good
    build, name = request.match_info["build"], request.match_info["name"]
    if good is None or build != good.id or name not in good.files:
        raise web.HTTPNotFound()
    data, content_type = good.files[name]
    headers = {"Cache-Control": IMMUTABLE}
    if not name.endswith(".png"):
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return web.Response(body=data, content_type=content_type, headers=headers)


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: `retry:`, a hello, the missed events or a snapshot, then live events and pings."""
    from resumec.live.server import PING, RETRY_MS, _encode

    server: LiveServer = request.app[SERVER]
    hub: _Hub = request.app[HUB]
    last_id = request.headers.get("Last-Event-ID") or request.query.get("last_event_id", "")
    backlog, stream = hub.subscribe(last_id.strip()[:64])
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "X-Accel-Buffering": "no"}
    )
    try:
        await response.prepare(request)
        hello = _encode("hello", {"server": hub.epoch, "title": server.title, "heartbeat": server.heartbeat})
        await response.write(f"retry: {RETRY_MS}\n\n".encode() + hello + backlog)
        while not stream.dropped:
            try:
                chunk = await asyncio.wait_for(stream.queue.get(), server.heartbeat)
            except TimeoutError:
                chunk = PING
            if chunk is None:
                break
            await response.write(chunk)
    except ConnectionError:  # the tab went away; the next write told us
        pass
    finally:
        hub.streams.discard(stream)
    return response


def _page(server: LiveServer) -> bytes:
    config = {
        "title": server.title,
        "heartbeat": server.heartbeat,
        "giveUp": server.give_up,
        "stages": [{"key": k, "label": label} for k, label in server.stages],
        "version": __version__,
    }
    # In a <script type="application/json"> block "</" would end the element: escape "<" in the JSON.
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    template = (resources.files("resumec.live") / "static" / "index.html").read_text("utf-8")
    values = {"__TITLE__": html.escape(server.title), "__CONFIG__": data}
    # One pass, so a title that contains a placeholder's name stays text.
    return re.sub("__TITLE__|__CONFIG__", lambda m: values[m.group(0)], template).encode("utf-8")


async def start(server: LiveServer, hub: _Hub, socks: list[socket.socket]) -> web.AppRunner:
    """Build the app and serve it on the already-bound sockets; returns the runner to clean up."""
    # aiohttp logs bad requests with tracebacks; with no handler Python would print them over watch's
    # terminal. A handler on its logger keeps them out (an app that configures logging still gets them).
    logging.getLogger("aiohttp").addHandler(logging.NullHandler())
    app = web.Application(middlewares=[_guard], client_max_size=4096)
    app[SERVER] = server
    app[HUB] = hub
    app[ASSETS] = {name: (resources.files("resumec.live") / "static" / name).read_bytes() for name in STATIC}
    app[INDEX] = _page(server)
    app.on_response_prepare.append(_headers)
    prefix = f"/{server.token}"
    app.router.add_get(f"{prefix}/", _index)
    app.router.add_get(f"{prefix}/events", _events)
    app.router.add_get(prefix + "/static/{name}", _static)
    app.router.add_get(prefix + "/b/{build}/{name}", _file)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    for sock in socks:
        await web.SockSite(runner, sock).start()
    return runner
