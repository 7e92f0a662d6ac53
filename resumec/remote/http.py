"""The HTTP backend: GET, HEAD and PUT of objects under a URL prefix.

That is all nginx's WebDAV module (`dav_methods PUT`), bazel-remote-style and
Artifactory-style generic stores need. Plain http.client: one keep-alive
connection per thread, the TCP connect bounded by the connect timeout and
every later socket operation by the read timeout, redirects not followed.
"""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import time
from urllib.parse import quote

from resumec import __version__
from resumec.remote.core import Rejected, RemoteError, RemoteSpec, WriteRefused

_CHUNK = 64 * 1024
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class HTTPBackend:
    def __init__(self, spec: RemoteSpec, connect_timeout: float, read_timeout: float, deadline: float) -> None:
        self.spec = spec
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.headers = {"User-Agent": f"resumec/{__version__}"}
        if spec.username is not None or spec.password is not None:
            token = f"{spec.username or ''}:{spec.password or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        self._local = threading.local()

    # -- operations -------------------------------------------------------------

    def get(self, name: str, limit: int) -> bytes | None:
        """The object's bytes, None when absent; Rejected when over `limit` bytes."""
        resp = self._request("GET", name)
        if resp.status in (404, 410):
            self._discard(resp)
            return None
        if resp.status != 200:
            self._discard(resp)
            raise RemoteError(f"HTTP {resp.status} {resp.reason} on GET")
        length = resp.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            self._drop()
            raise Rejected(f"{length} bytes, over the {limit}-byte limit")
        return self._read(resp, limit)

    def size(self, name: str) -> int | None:
        """The stored object's size (HEAD), or None when absent."""
        resp = self._request("HEAD", name)
        self._discard(resp)
        if resp.status in (404, 410):
            return None
        if resp.status != 200:
            raise RemoteError(f"HTTP {resp.status} {resp.reason} on HEAD")
        length = resp.getheader("Content-Length")
        return int(length) if length is not None and length.isdigit() else None

    def put(self, items: list[tuple[str, bytes]]) -> None:
        """Store each object, in order (blobs before the manifests that name them)."""
        for name, data in items:
            resp = self._request("PUT", name, data)
            self._discard(resp)
            if resp.status in (200, 201, 204):
                continue
            if resp.status == 413:
                raise Rejected(f"HTTP 413: the server takes no uploads of {len(data)} bytes")
            if resp.status in (401, 403, 405, 501):
                raise WriteRefused(f"HTTP {resp.status} {resp.reason} on PUT")
            raise RemoteError(f"HTTP {resp.status} {resp.reason} on PUT")

    def close(self) -> None:
        self._drop()

    # -- plumbing ---------------------------------------------------------------

    def _url(self, name: str) -> str:
        # The prefix is kept as the user wrote it (percent-escapes included); names are hex.
        return quote(self.spec.path, safe="/%:@!$&'()*+,;=~-._") + name

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection and whether it is new (a reused one may have been closed by the server)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, False
        try:
            sock = socket.create_connection((self.spec.host, self.spec.port), timeout=self.connect_timeout)
        except TimeoutError:
            raise RemoteError(f"no connection within {self.connect_timeout:g} s") from None
        except OSError as exc:
            raise RemoteError(exc.strerror or str(exc)) from None
        sock.settimeout(self.read_timeout)
        if self.spec.scheme == "https":
            import ssl

            context = ssl.create_default_context()  # the system's CAs; SSL_CERT_FILE is honoured
            conn = http.client.HTTPSConnection(self.spec.host, self.spec.port, timeout=self.read_timeout,
                                               context=context)
            try:
                sock = context.wrap_socket(sock, server_hostname=self.spec.host)
            except (OSError, ValueError) as exc:
                sock.close()
                raise RemoteError(f"TLS: {exc}") from None
        else:
            conn = http.client.HTTPConnection(self.spec.host, self.spec.port, timeout=self.read_timeout)
        conn.sock = sock
        self._local.conn = conn
        return conn, True

    def _request(self, method: str, name: str, body: bytes | None = None) -> http.client.HTTPResponse:
        for _ in range(2):
            conn, fresh = self._connection()
            headers = dict(self.headers)
            if body is not None:
                headers["Content-Type"] = "application/octet-stream"
            try:
                conn.request(method, self._url(name), body=body, headers=headers)
                return conn.getresponse()
            except _STALE as exc:
                self._drop()
                if fresh:  # a new connection that fails is an outage, not a stale keep-alive
                    raise RemoteError(str(exc) or type(exc).__name__) from None
            except TimeoutError:
                self._drop()
                raise RemoteError(f"no answer within {self.read_timeout:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise RemoteError(str(exc) or type(exc).__name__) from None
        raise RemoteError("connection closed by the server")

    def _read(self, resp: http.client.HTTPResponse, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        end = time.monotonic() + self.deadline
        try:
            while True:
                chunk = resp.read1(_CHUNK)  # what has arrived, so the deadline is checked as bytes trickle in
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    self._drop()
                    raise Rejected(f"over the {limit}-byte limit")
                chunks.append(chunk)
                if time.monotonic() > end:
                    self._drop()
                    raise RemoteError(f"download took over {self.deadline:g} s")
            if not resp.isclosed():
                resp.read()  # read1 leaves a complete response open; this closes it, so the connection is reusable
        except TimeoutError:
            self._drop()
            raise RemoteError(f"no answer within {self.read_timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise RemoteError(str(exc) or type(exc).__name__) from None
        if resp.will_close:
            self._drop()
        return b"".join(chunks)

    def _discard(self, resp: http.client.HTTPResponse) -> None:
        """Finish a response we do not need, keeping the connection when the body is small."""
        try:
            resp.read(_CHUNK)
            if not resp.isclosed():
                self._drop()
        except (OSError, http.client.HTTPException):
            self._drop()
        if resp.will_close:
            self._drop()

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()
