"""The converter service's wire format, defined once for the server and its client.

Both ways: 8 bytes (header length, payload length; big-endian uint32), a JSON
header (a flat object), then the payload.

  Status()                      → {"ok": true, "pid": …, "conversions": …, …}
  Stop()                        → {"ok": true}, then the service exits
  Convert(identity, pdfa, timeout)
                                → {"ok": true}  (accepted: it runs LibreOffice `identity`)
                                  or {"ok": false, "refused": "…"}
  then Data() + DOCX bytes      → {"ok": true} + PDF bytes, or {"ok": false, "error": "…"}
  Build(identity, code, pdfa, timeout)
                                → as Convert; also refused when `code` (code_identity())
                                  is not the service's own: its DOCX would not be ours
  then Data() + job (JSON)      → {"ok": true, "docx": N} + N bytes of DOCX, then the PDF bytes
                                  (pinned to the job's epoch);
                                  {"ok": false, "error": "…"} when the conversion failed;
                                  {"ok": false} when the build failed (the client builds it
                                  itself, and reports its own error)

The accept step comes before the DOCX is sent, so a client learns within
CONNECT_TIMEOUT that a service is alive and runs the LibreOffice it would have
used itself (same converter identity, so cached PDFs stay valid); anything else
and the client converts one-shot, without an error.

Anything that is not this protocol (oversized, deeply nested, not an object,
wrong field types) ends the connection with `Closed`, never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Union

if TYPE_CHECKING:
    import socket

SOCKET_NAME = "server.sock"
INFO_NAME = "server.json"
LOCK_NAME = "server.lock"
LOG_NAME = "server.log"
CONNECT_TIMEOUT = 0.2  # connect + accept: a dead or stale service must cost no more than this
MAX_HEADER = 1 << 16
MAX_PAYLOAD = 256 << 20  # a résumé DOCX or PDF is well under 1 MB; this only stops runaway reads
MAX_NESTING = 4  # our headers are flat; anything deeper is not ours (and must not reach json's recursion)
MAX_TIMEOUT = 86400.0

_PREFIX = struct.Struct("!II")


class Closed(Exception):
    """The other side closed the connection, or sent something that is not our protocol."""


# Requests are plain classes and NamedTuples, not dataclasses: a client imports this module on every
# uncached compile, and each dataclass costs ~1 ms to create.


class Status:
    op = "status"


class Stop:
    op = "stop"


class Convert(NamedTuple):
    identity: str
    pdfa: bool = False
    timeout: float = 120.0
    op = "convert"


class Build(NamedTuple):
    """Build the DOCX of a compile's job in the service (warm: no imports, templates compiled), then convert it."""

    identity: str
    code: str
    pdfa: bool = False
    timeout: float = 120.0
    op = "build"


class Data:
    op = "data"


Request = Union[Status, Stop, Convert, Build, Data]


def header_of(request: Request) -> dict[str, Any]:
    fields = request._asdict() if isinstance(request, (Convert, Build)) else {}
    return {"op": request.op, **fields}


def parse_request(header: dict[str, Any]) -> Request:
    """A request from a received header; Closed for anything malformed."""
    op = header.get("op")
    if op == "status":
        return Status()
    if op == "stop":
        return Stop()
    if op == "data":
        return Data()
    if op in ("convert", "build"):
        identity, pdfa, timeout = header.get("identity"), header.get("pdfa", False), header.get("timeout", 120.0)
        code = header.get("code", "")
        if (
            isinstance(identity, str)
            and isinstance(code, str)
            and isinstance(pdfa, bool)
            and isinstance(timeout, (int, float))
            and not isinstance(timeout, bool)
            and math.isfinite(timeout)
            and 0 < timeout <= MAX_TIMEOUT
        ):
            return Convert(identity, pdfa, float(timeout)) if op == "convert" else Build(identity, code, pdfa,
                                                                                        float(timeout))
    raise Closed(f"not a request: {str(header)[:80]}")


def code_identity() -> str:
    """Names the code a DOCX build runs: resumec's files and its libraries', as found on disk (stats, no imports).

    A service started before an upgrade (or an edit of a development
    checkout) still runs the old code, so it must not build for a client
    whose files differ: the bytes would not be what the cache key promises.
    """
    import hashlib
    import importlib.util
    import sys

    from resumec import __version__

    digest = hashlib.sha256(f"{__version__}\0{sys.version}\0{sys.prefix}".encode())
    files = []
    for folder, subdirs, names in os.walk(Path(__file__).resolve().parent.parent):  # all of resumec
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        files += [os.path.join(folder, name) for name in sorted(names) if name.endswith(".py")]
    for name in ("jinja2", "lxml", "docx", "markupsafe"):  # an upgrade replaces a package's __init__.py
        spec = importlib.util.find_spec(name)
        files.append(spec.origin if spec is not None and spec.origin else name)
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
            continue
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


# -- framing -----------------------------------------------------------------------------


def send(sock: socket.socket, header: dict[str, Any], payload: bytes = b"") -> None:
    head = json.dumps(header).encode()
    sock.sendall(_PREFIX.pack(len(head), len(payload)) + head)
    if payload:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray()
    while len(buffer) < size:
        chunk = sock.recv(min(size - len(buffer), 1 << 20))
        if not chunk:
            raise Closed("connection closed")
        buffer += chunk
    return bytes(buffer)


def recv(sock: socket.socket) -> tuple[dict[str, Any], bytes]:
    try:
        head_size, payload_size = _PREFIX.unpack(_recv_exact(sock, _PREFIX.size))
    except struct.error:
        raise Closed("unreadable message") from None
    if head_size > MAX_HEADER or payload_size > MAX_PAYLOAD:
        raise Closed("message too large")
    raw = _recv_exact(sock, head_size)
    if _nesting(raw) > MAX_NESTING:
        raise Closed("unreadable message")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise Closed("unreadable message") from None
    if not isinstance(header, dict):
        raise Closed("unreadable message")
    return header, _recv_exact(sock, payload_size) if payload_size else b""


def _nesting(raw: bytes) -> int:
    """The deepest bracket nesting outside strings, counted before json.loads can recurse on it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


# -- connecting ----------------------------------------------------------------------------


def peer_uid(sock: socket.socket) -> int | None:
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


def connect(path: Path, timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    """Connect, or OSError fast: a stale socket file refuses at once, a hung service times out."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(str(path))
        uid = peer_uid(sock)
        if uid is not None and uid != os.getuid():
            raise PermissionError(f"{path}: the service belongs to uid {uid}")
    except BaseException:
        sock.close()
        raise
    return sock
