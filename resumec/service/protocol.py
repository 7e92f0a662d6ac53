"""The converter service's wire format, defined once for the server and its client.

Both ways: 8 bytes (header length, payload length; big-endian uint32), a JSON
header (a flat object), then the payload.

  Status()                      → {"ok": true, "pid": …, "conversions": …, …}
  Stop()                        → {"ok": true}, then the service exits
  Convert(identity, pdfa, timeout)
                                → {"ok": true}  (accepted: it runs LibreOffice `identity`)
                                  or {"ok": false, "refused": "…"}
  then Data() + DOCX bytes      → {"ok": true} + PDF bytes, or {"ok": false, "error": "…"}

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

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


@dataclass(frozen=True)
class Status:
    op = "status"


@dataclass(frozen=True)
class Stop:
    op = "stop"


@dataclass(frozen=True)
class Convert:
    identity: str
    pdfa: bool = False
    timeout: float = 120.0
    op = "convert"


@dataclass(frozen=True)
class Data:
    op = "data"


Request = Union[Status, Stop, Convert, Data]


def header_of(request: Request) -> dict[str, Any]:
    if isinstance(request, Convert):
        return {"op": "convert", "identity": request.identity, "pdfa": request.pdfa, "timeout": request.timeout}
    return {"op": request.op}


def parse_request(header: dict[str, Any]) -> Request:
    """A request from a received header; Closed for anything malformed."""
    op = header.get("op")
    if op == "status":
        return Status()
    if op == "stop":
        return Stop()
    if op == "data":
        return Data()
    if op == "convert":
        identity, pdfa, timeout = header.get("identity"), header.get("pdfa", False), header.get("timeout", 120.0)
        if (
            isinstance(identity, str)
            and isinstance(pdfa, bool)
            and isinstance(timeout, (int, float))
            and not isinstance(timeout, bool)
            and math.isfinite(timeout)
            and 0 < timeout <= MAX_TIMEOUT
        ):
            return Convert(identity, pdfa, float(timeout))
    raise Closed(f"not a request: {str(header)[:80]}")


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
