"""The remote's URL, its redaction, the per-run state every build shares, and object verification."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from resumec.errors import UsageError

# Timeouts are per socket operation. A healthy cache server on the same
# network connects in about a millisecond and answers in a few; these bound
# what an outage or a hung server costs a build: one timeout, once per run.
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 3.0
# A whole download must finish within this, so a server that trickles bytes
# (each under READ_TIMEOUT apart) still cannot hold a build up.
TRANSFER_DEADLINE = 15.0
# No résumé output comes near this (a photo is capped at 5 MiB); anything
# larger on the remote is not ours and is never downloaded.
MAX_DOWNLOAD = 50 * 1000 * 1000
MAX_MANIFEST = 4096

LAYOUT = "v1"
SCHEMES = ("redis", "rediss", "http", "https")
USER_ENV = "RESUMEC_REMOTE_CACHE_USER"
PASSWORD_ENV = "RESUMEC_REMOTE_CACHE_PASSWORD"

_HEX64 = re.compile(r"[0-9a-f]{64}")


class RemoteError(Exception):
    """The remote cannot be used (unreachable, timed out, refused, server error): off for the rest of the run."""


class WriteRefused(RemoteError):
    """The remote answers reads but refuses writes (permissions, read-only replica, full): reads go on."""


class Rejected(Exception):
    """One object that must not be used (too large, wrong type): a miss, the remote stays on."""


@dataclass(frozen=True)
class RemoteSpec:
    """A parsed remote-cache URL. The password never appears in repr() or `display`."""

    scheme: str
    host: str
    port: int
    path: str  # HTTP: the prefix ("/cache/"); Redis: the database number ("0")
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The URL as it may be printed: the password replaced by ***."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        auth = ""
        if self.username or self.password:
            auth = (self.username or "") + (":***" if self.password else "") + "@"
        path = self.path if self.scheme.startswith("http") else f"/{self.path}"
        return f"{self.scheme}://{auth}{host}:{self.port}{path}"

    @property
    def is_redis(self) -> bool:
        return self.scheme in ("redis", "rediss")


def redact(text: str) -> str:
    """Any URL's password replaced by *** (for strings that did not come from RemoteSpec)."""
    return re.sub(r"(://[^/@:\s]*:)[^/@\s]*@", r"\1***@", text)


def parse_url(url: str, env: Mapping[str, str] | None = None) -> RemoteSpec:
    """`redis://[user:pass@]host[:port][/db]`, `rediss://…`, `http(s)://[user:pass@]host[:port]/prefix/`.

    Credentials missing from the URL come from RESUMEC_REMOTE_CACHE_USER and
    RESUMEC_REMOTE_CACHE_PASSWORD, so a CI secret need not be part of the URL.
    Raises UsageError (exit 2) whose message shows the URL redacted.
    """
    env = os.environ if env is None else env
    shown = redact(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"--remote-cache: {shown}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"--remote-cache: {shown}: unsupported URL scheme {scheme or '(none)'!r} "
            "(expected redis://, rediss://, http:// or https://)"
        )
    if not parts.hostname:
        raise UsageError(f"--remote-cache: {shown}: no host")
    if parts.query or parts.fragment:
        raise UsageError(f"--remote-cache: {shown}: query strings and fragments are not supported")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if username is None and password is None:
        username = env.get(USER_ENV) or None
        password = env.get(PASSWORD_ENV) or None
    if scheme in ("redis", "rediss"):
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise UsageError(f"--remote-cache: {shown}: the path must be a Redis database number, e.g. /0")
        return RemoteSpec(scheme, parts.hostname, port or 6379, str(int(db)), username, password)
    prefix = "/" + parts.path.strip("/") + "/" if parts.path.strip("/") else "/"
    return RemoteSpec(scheme, parts.hostname, port or (443 if scheme == "https" else 80), prefix, username, password)


def blob_name(digest: str) -> str:
    return f"{LAYOUT}/objects/{digest[:2]}/{digest[2:]}"


def manifest_name(key: str) -> str:
    return f"{LAYOUT}/keys/{key[:2]}/{key[2:]}"


def is_hex64(text: object) -> bool:
    return isinstance(text, str) and _HEX64.fullmatch(text) is not None


@dataclass(eq=False)
class Remote:
    """One remote cache for a whole run, shared by all its builds (and threads).

    It holds what must outlive one build: the connection(s) and the circuit
    breaker, so an outage costs one timeout and one warning per run, not per
    input. Opening one does no I/O.
    """

    spec: RemoteSpec
    read_only: bool = False
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    transfer_deadline: float = TRANSFER_DEADLINE
    max_download: int = MAX_DOWNLOAD
    down: bool = field(default=False, init=False)
    writes_off: bool = field(default=False, init=False)
    _bad: set[str] = field(default_factory=set, init=False, repr=False)
    _backend: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def display(self) -> str:
        return self.spec.display

    def backend(self) -> Any:
        """The HTTP or Redis client, made on first use (redis is imported only here)."""
        with self._lock:
            if self._backend is None:
                if self.spec.is_redis:
                    from resumec.remote.redis_backend import RedisBackend

                    self._backend = RedisBackend(self.spec, self.connect_timeout, self.read_timeout)
                else:
                    from resumec.remote.http import HTTPBackend

                    self._backend = HTTPBackend(
                        self.spec, self.connect_timeout, self.read_timeout, self.transfer_deadline
                    )
            return self._backend

    def fail(self, exc: RemoteError) -> str | None:
        """Trip the breaker; the warning to print, only the first time."""
        reason = self.scrub(str(exc) or type(exc).__name__)
        with self._lock:
            if isinstance(exc, WriteRefused):
                if self.writes_off or self.down:
                    return None
                self.writes_off = True
                return f"warning: remote cache {self.display} refuses writes ({reason}); only reading from it in this run"
            if self.down:
                return None
            self.down = True
            return f"warning: remote cache {self.display} is unavailable ({reason}); using the local cache only in this run"

    def scrub(self, text: str) -> str:
        """A message with the password removed, wherever a library may have put it."""
        text = redact(text)
        if self.spec.password:
            text = text.replace(self.spec.password, "***")
        return text

    def mark_bad(self, digest: str) -> None:
        """A blob found corrupt on the remote: the next upload of it overwrites instead of skipping."""
        with self._lock:
            self._bad.add(digest)

    def is_bad(self, digest: str) -> bool:
        with self._lock:
            return digest in self._bad

    @property
    def writable(self) -> bool:
        return not (self.read_only or self.writes_off or self.down)

    def close(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()


def open_remote(
    url: str,
    *,
    read_only: bool = False,
    env: Mapping[str, str] | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    transfer_deadline: float = TRANSFER_DEADLINE,
    max_download: int = MAX_DOWNLOAD,
) -> Remote:
    """A Remote for `--remote-cache URL`; raises UsageError for a bad URL. No I/O happens here."""
    return Remote(
        parse_url(url, env),
        read_only=read_only,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        transfer_deadline=transfer_deadline,
        max_download=max_download,
    )


# -- verification ---------------------------------------------------------------

KINDS = ("docx", "pdf", "png-index", "html", "md", "txt")


def parse_manifest(raw: bytes) -> tuple[str, int, str] | str:
    """(blob digest, size, kind) of a manifest, or why it is unusable."""
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "manifest is not JSON"
    if not isinstance(manifest, dict):
        return "manifest is not an object"
    digest, size, kind = manifest.get("blob"), manifest.get("size"), manifest.get("kind")
    if not is_hex64(digest):
        return "manifest has no valid blob hash"
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "manifest has no valid size"
    if kind not in KINDS:
        return f"manifest has an unknown kind {str(kind)[:20]!r}"
    return digest, size, kind


def check_blob(data: bytes, digest: str, size: int | None = None, kind: str | None = None) -> str | None:
    """Why these bytes must not be served as `digest` (of that size and kind), or None when they may."""
    if size is not None and len(data) != size:
        return f"{len(data)} bytes where the manifest says {size}"
    if hashlib.sha256(data).hexdigest() != digest:
        return "content does not match its hash"
    if kind is not None and not _looks_like(kind, data):
        return f"content is not a {kind}"
    return None


def _looks_like(kind: str, data: bytes) -> bool:
    if kind == "pdf":
        return data.startswith(b"%PDF-")
    if kind == "docx":
        return data.startswith(b"PK\x03\x04")
    if kind == "png-index":
        try:
            pages = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return False
        return isinstance(pages, list) and bool(pages) and all(is_hex64(p) for p in pages)
    if kind in ("html", "md", "txt"):  # resumec.formats: UTF-8 text, the page starting as it always does
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return text.startswith("<!DOCTYPE html>\n") if kind == "html" else True
    return False
