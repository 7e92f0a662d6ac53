"""Real cache servers for the remote-cache tests: redis-server and nginx with WebDAV, on loopback.

Each runs in its own temp directory on a free 127.0.0.1 port, in the
foreground as our child, and is stopped by the fixture that started it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import wait_until

REDIS_PASSWORD = "s3cret-redis-pw"
HTTP_USER = "ci"
HTTP_PASSWORD = "s3cret-http-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Server:
    kind: str
    port: int
    root: Path
    argv: list[str]
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def start(self) -> None:
        """Start (or restart, on the same port) and wait until it accepts connections."""
        assert self.proc is None or self.proc.poll() is not None
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = self.root / "server.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        if not wait_until(lambda: _listening(self.port) or self.proc.poll() is not None, timeout=20):
            raise RuntimeError(f"{self.kind} did not start")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.kind} exited: {self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)


@dataclass
class RedisServer(Server):
    @property
    def url(self) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=REDIS_PASSWORD, socket_timeout=10)

    def objects(self) -> dict[str, bytes]:
        c = self.client()
        try:
            return {k.decode(): c.get(k) for k in c.scan_iter("resumec/*")}
        finally:
            c.close()

    def put_raw(self, name: str, data: bytes) -> None:
        c = self.client()
        try:
            c.set("resumec/" + name, data)
        finally:
            c.close()


@dataclass
class NginxServer(Server):
    store: Path = field(default=Path())

    @property
    def url(self) -> str:
        return f"http://{HTTP_USER}:{HTTP_PASSWORD}@127.0.0.1:{self.port}/cache/"

    def objects(self) -> dict[str, bytes]:
        base = self.store / "cache"
        if not base.is_dir():
            return {}
        return {str(p.relative_to(base)): p.read_bytes() for p in base.rglob("*") if p.is_file()}

    def put_raw(self, name: str, data: bytes) -> None:
        path = self.store / "cache" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def start_redis(root: Path, extra: tuple[str, ...] = ()) -> RedisServer:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: run `make system-deps`")
    port = free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", REDIS_PASSWORD,
            "--save", "", "--appendonly", "no", "--dir", str(root), "--daemonize", "no",
            "--protected-mode", "yes", "--loglevel", "warning", *extra]
    server = RedisServer("redis-server", port, root, argv)
    server.start()
    return server


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root}/store;
        client_max_body_size 64m;
        location /cache/ {{
            auth_basic "resumec cache";
            auth_basic_user_file {root}/htpasswd;
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw;
        }}
        location /readonly/ {{
            alias {root}/store/cache/;
            auth_basic "resumec cache";
            auth_basic_user_file {root}/htpasswd;
            limit_except GET HEAD {{ deny all; }}
        }}
    }}
}}
"""


def start_nginx(root: Path) -> NginxServer:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if exe is None:
        pytest.fail("nginx is not installed: run `make system-deps`")
    port = free_port()
    for sub in ("store", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "htpasswd").write_text(f"{HTTP_USER}:{{PLAIN}}{HTTP_PASSWORD}\n")
    user = "user root;" if os.geteuid() == 0 else ""
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, port=port, user=user))
    argv = [exe, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")]
    server = NginxServer("nginx", port, root, argv, store=root / "store")
    server.start()
    return server


class Hang:
    """A loopback server that accepts connections and never answers: a hung cache server."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self.conns.append(conn)  # held open, never read from or written to

    def close(self) -> None:
        """Stop, counting connections still waiting in the backlog too."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.sock.setblocking(False)
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, OSError):
                break
            self.accepted += 1
            self.conns.append(conn)
        for conn in self.conns:
            conn.close()
        self.sock.close()
