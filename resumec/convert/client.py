"""The service-client engine: converts through a running `resumec server`, else one-shot.

It looks like any other engine to the pipeline. Its `identity` is computed
locally, so a cache hit never talks to the service; the connection is opened
on the first conversion and kept for the next. When the service is gone,
refuses (another LibreOffice) or breaks mid-request, the client converts with
a one-shot LibreOffice instead: the build never fails because of the service.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from resumec.errors import ConvertError
from resumec.service.protocol import (
    CONNECT_TIMEOUT, Build, Closed, Convert, Data, code_identity, connect, header_of, recv, send,
)

if TYPE_CHECKING:
    from resumec.convert.oneshot import OneShot


class _Unavailable(Exception):
    """The service cannot take this request; convert one-shot instead (a message, or "" for silence)."""


@dataclass
class ServiceClient:
    """One client is for one thread at a time."""

    address: Path  # the service's socket
    soffice: str
    identity: str
    note: str = ""
    warn: Callable[[str], None] | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    served: int = 0  # documents the service converted (built too, or not)
    fallback: OneShot | None = None  # used once the service failed us
    _sock: socket.socket | None = field(default=None, repr=False)
    _code: str | None = field(default=None, repr=False)  # code_identity(), once
    _closed: bool = False

    @property
    def soffice_pid(self) -> int | None:
        return None  # the service's LibreOffice is not ours to kill

    def start(self) -> None:
        """The service is already warm; we connect on the first document."""

    def convert(self, docx: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> bytes:
        if self._closed:
            raise ConvertError("the LibreOffice converter was closed")
        if self.fallback is None:
            try:
                return self._remote(docx, timeout=timeout, pdfa=pdfa)
            except _Unavailable as why:
                self._disconnect()
                if self._closed:
                    raise ConvertError("the LibreOffice converter was closed") from None
                from resumec.convert.oneshot import OneShot  # imported only when needed: a fallback is rare

                self.fallback = OneShot(soffice=self.soffice, identity=self.identity)
                if str(why) and self.warn is not None:
                    self.warn(str(why))
        return self.fallback.convert(docx, timeout=timeout, pdfa=pdfa)

    def abort(self) -> None:
        """Fail the request in flight at once (Ctrl-C in a batch); the service itself carries on."""
        self._closed = True
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.fallback is not None:
            self.fallback.abort()

    def close(self) -> None:
        self._disconnect()

    def build(self, job: bytes, *, timeout: float = 60.0, pdfa: bool = False) -> tuple[bytes, bytes] | None:
        """(DOCX, PDF pinned to the job's epoch) of a compile's job (resumec.pipeline.served_job), both made by
        the service.

        None when the service cannot: it is gone, runs other code, or the
        build failed there; the caller then builds the DOCX itself (and reports
        its error) and converts as usual. A failed conversion is a ConvertError,
        as from convert().
        """
        if self._closed or self.fallback is not None:
            return None
        if self._code is None:
            self._code = code_identity()
        try:
            reply, payload = self._exchange(Build(self.identity, self._code, pdfa, timeout), job, timeout)
        except _Unavailable:
            self._disconnect()
            return None
        size = reply.get("docx")
        if reply.get("ok") and isinstance(size, int) and not isinstance(size, bool) and 0 < size < len(payload):
            self.served += 1
            return payload[:size], payload[size:]
        if reply.get("error"):
            raise ConvertError(str(reply["error"]))
        return None

    def _remote(self, docx: bytes, *, timeout: float, pdfa: bool) -> bytes:
        reply, pdf = self._exchange(Convert(self.identity, pdfa, timeout), docx, timeout)
        if not reply.get("ok"):
            raise ConvertError(str(reply.get("error") or "the converter service failed"))
        self.served += 1
        return pdf

    def _exchange(self, request: Convert | Build, payload: bytes, timeout: float) -> tuple[dict, bytes]:
        """Ask, and once accepted send the payload; _Unavailable when the service is gone, refuses or breaks."""
        # A kept connection may have been closed by an idle service: one retry on a fresh one.
        for attempt in (1, 2):
            reused = self._sock is not None
            try:
                sock = self._sock or connect(self.address, self.connect_timeout)
                self._sock = sock
                sock.settimeout(self.connect_timeout)
                send(sock, header_of(request))
                accepted, _ = recv(sock)
            except (OSError, Closed):
                self._disconnect()
                if reused and attempt == 1:
                    continue
                raise _Unavailable("") from None
            if not accepted.get("ok"):
                if isinstance(request, Build):
                    raise _Unavailable("")  # its Convert may still be welcome: convert() says if not
                raise _Unavailable(
                    f"note: the converter service is not used ({accepted.get('refused') or 'refused'}); "
                    "converting with a new LibreOffice (restart it: resumec server stop; resumec server start)"
                )
            break
        try:
            # The service applies `timeout` itself and may replace a hung LibreOffice once.
            sock.settimeout(2 * timeout + 90)
            send(sock, header_of(Data()), payload)
            return recv(sock)
        except (OSError, Closed):
            raise _Unavailable("") from None

    def _disconnect(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
