"""The Redis backend: one string per object, under the key prefix `resumec/`.

redis-py, with its retries cut down: one immediate retry of a failed
connection (a pooled one the server may have closed), none of a timeout, so a
hung server costs one timeout. Downloads use GETRANGE 0..limit, so an
oversized value is never transferred in full.
"""

from __future__ import annotations

import re

from resumec.remote.core import Rejected, RemoteError, RemoteSpec, WriteRefused

PREFIX = "resumec/"
_PIPELINE_PREFIX = re.compile(r"^Command # \d+ \(.*?\) of pipeline caused error: ")


class RedisBackend:
    def __init__(self, spec: RemoteSpec, connect_timeout: float, read_timeout: float) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.errors = redis.exceptions
        self.client = redis.Redis(
            host=spec.host,
            port=spec.port,
            db=int(spec.path),
            username=spec.username,
            password=spec.password,
            ssl=spec.scheme == "rediss",
            socket_connect_timeout=connect_timeout,
            socket_timeout=read_timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
        )

    def get(self, name: str, limit: int) -> bytes | None:
        try:
            data = self.client.getrange(PREFIX + name, 0, limit)
        except self.errors.NoPermissionError as exc:
            raise RemoteError(f"Redis refuses reads: {exc}") from None
        except self.errors.ResponseError as exc:
            if "WRONGTYPE" in str(exc):  # someone else's key of another type: a miss
                raise Rejected(f"Redis: {exc}") from None
            raise RemoteError(f"Redis: {exc}") from None
        except self.errors.RedisError as exc:
            raise RemoteError(_describe(exc)) from None
        if not data:  # GETRANGE of a missing key is empty, and no stored object is
            return None
        if len(data) > limit:
            raise Rejected(f"over the {limit}-byte limit")
        return bytes(data)

    def size(self, name: str) -> int | None:
        try:
            n = self.client.strlen(PREFIX + name)
        except self.errors.ResponseError:
            return None  # not a string: overwrite it
        except self.errors.RedisError as exc:
            raise RemoteError(_describe(exc)) from None
        return int(n) or None

    def put(self, items: list[tuple[str, bytes]]) -> None:
        """One round trip; the commands run in order, so a blob lands before its manifest."""
        pipe = self.client.pipeline(transaction=False)
        for name, data in items:
            pipe.set(PREFIX + name, data)
        try:
            pipe.execute()
        except (self.errors.ResponseError, self.errors.ReadOnlyError) as exc:  # NOPERM, READONLY replica, OOM
            raise WriteRefused(f"Redis: {_PIPELINE_PREFIX.sub('', str(exc))}") from None
        except self.errors.RedisError as exc:
            raise RemoteError(_describe(exc)) from None

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing a broken pool must never fail a build
            pass


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "Timeout" in type(exc).__name__ or "timed out" in text.lower():
        return f"timed out ({text})"
    return text
