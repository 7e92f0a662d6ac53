"""TieredCache: the local Cache in front of a Remote, with the interface the pipeline uses on Cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from resumec.remote.core import (
    MAX_MANIFEST,
    Rejected,
    Remote,
    RemoteError,
    blob_name,
    check_blob,
    is_hex64,
    manifest_name,
    parse_manifest,
)

Warn = Callable[[str], None]
_SKIPPED = object()  # the remote was not asked (down, or not applicable)


@dataclass(eq=False)
class TieredCache:
    """One build's view of both tiers: read-through, write-back.

    A local miss asks the remote; what it returns is verified against its name
    and its manifest's size and kind, then stored locally. What the build
    stores locally is uploaded too (blob before manifest, so a reader never
    sees a manifest whose blob is not there yet), unless read-only. Remote
    failures never raise: they are counted, warned about once per Remote, and
    the build goes on locally.
    """

    local: Any  # resumec.cache.Cache
    remote: Remote
    warn: Warn = field(default=lambda message: None, repr=False)
    counts: dict[str, int] = field(
        default_factory=lambda: {"remote_hits": 0, "remote_misses": 0, "remote_errors": 0, "remote_uploads": 0}
    )
    pulled: set[str] = field(default_factory=set)  # blob digests this build got from the remote

    # -- the Cache interface ----------------------------------------------------

    def lookup(self, key: str, kind: str | None = None) -> str | None:
        digest = self.local.lookup(key, kind)
        if digest is not None:
            return digest
        hit = self._pull(key, kind)
        return hit[0] if hit else None

    def get(self, key: str, kind: str | None = None) -> tuple[str, bytes] | None:
        hit = self.local.get(key, kind)
        return hit if hit is not None else self._pull(key, kind)

    def get_blob(self, digest: str) -> bytes | None:
        data = self.local.get_blob(digest)
        if data is not None or not is_hex64(digest):
            return data
        raw = self._call(self._download, blob_name(digest), self.remote.max_download)
        if raw is _SKIPPED:
            return None
        if raw is None:
            self.counts["remote_misses"] += 1
            return None
        if isinstance(raw, Rejected):
            return self._reject(digest, str(raw))
        problem = check_blob(raw, digest)
        if problem:
            return self._reject(digest, problem)
        self.local.put_blob(raw)
        self.pulled.add(digest)
        self.counts["remote_hits"] += 1
        return raw

    def put(self, key: str, data: bytes, kind: str) -> str:
        digest = self.local.put(key, data, kind)
        if is_hex64(key):
            manifest = json.dumps({"blob": digest, "size": len(data), "kind": kind}).encode()
            self._push(digest, data, (manifest_name(key), manifest))
        return digest

    def put_blob(self, data: bytes) -> str:
        digest = self.local.put_blob(data)
        self._push(digest, data)
        return digest

    def record(self, **counts: int) -> None:
        """The build's counters plus the remote's, in the local stats (so `cache info` shows both)."""
        merged = dict(counts)
        for name, value in self.counts.items():
            if value:
                merged[name] = merged.get(name, 0) + value
            self.counts[name] = 0
        self.local.record(**merged)

    def maybe_evict(self) -> None:
        self.local.maybe_evict()

    def origin(self, digest: str) -> str:
        """Where a cached output came from in this build: "remote" or "local"."""
        return "remote" if digest in self.pulled else "local"

    # -- remote side ----------------------------------------------------------

    def _pull(self, key: str, kind: str | None) -> tuple[str, bytes] | None:
        """A verified entry from the remote, stored locally on the way; None on any miss."""
        if not is_hex64(key):
            return None
        raw = self._call(self._download, manifest_name(key), MAX_MANIFEST)
        if raw is _SKIPPED:
            return None
        if raw is None:
            self.counts["remote_misses"] += 1
            return None
        parsed = parse_manifest(raw) if not isinstance(raw, Rejected) else str(raw)
        if isinstance(parsed, str):
            return self._reject(key, parsed)
        digest, size, found_kind = parsed
        if kind is not None and found_kind != kind:
            return self._reject(key, f"a {found_kind} where a {kind} was expected")
        if size > self.remote.max_download:
            return self._reject(key, f"{size} bytes, over the {self.remote.max_download}-byte download limit")
        data = self._call(self._download, blob_name(digest), size)
        if data is _SKIPPED:
            return None
        if data is None:  # manifest without its blob (evicted by the server): a plain miss
            self.counts["remote_misses"] += 1
            return None
        if isinstance(data, Rejected):
            return self._reject(digest, str(data))
        problem = check_blob(data, digest, size, found_kind)
        if problem:
            return self._reject(digest, problem)
        self.local.put(key, data, found_kind)
        self.pulled.add(digest)
        self.counts["remote_hits"] += 1
        return digest, data

    def _download(self, name: str, limit: int) -> bytes | Rejected | None:
        try:
            return self.remote.backend().get(name, limit)
        except Rejected as exc:
            return exc

    def _push(self, digest: str, data: bytes, *more: tuple[str, bytes]) -> None:
        """Upload a blob (unless the remote has it already) and then the manifests pointing at it."""
        if not self.remote.writable or not is_hex64(digest):
            return

        def upload() -> None:
            backend = self.remote.backend()
            items = list(more)
            if self.remote.is_bad(digest) or backend.size(blob_name(digest)) != len(data):
                items.insert(0, (blob_name(digest), data))
            if items:
                backend.put(items)

        try:
            if self._call(upload) is not _SKIPPED:
                self.counts["remote_uploads"] += 1
        except Rejected as exc:  # this one object (e.g. too large for the server); others may go through
            self.counts["remote_errors"] += 1
            self.warn(f"warning: remote cache {self.remote.display} did not store {digest[:12]}: {self.remote.scrub(str(exc))}")

    def _call(self, operation: Callable[..., Any], *args: Any) -> Any:
        """Run one remote operation; a failure trips the breaker (one warning per run)."""
        if self.remote.down:
            return _SKIPPED
        try:
            return operation(*args)
        except RemoteError as exc:
            self.counts["remote_errors"] += 1
            message = self.remote.fail(exc)
            if message:
                self.warn(message)
            return _SKIPPED

    def _reject(self, name: str, reason: str) -> None:
        """A corrupt or foreign object: a miss, and the rebuilt one will overwrite it."""
        self.counts["remote_misses"] += 1
        self.counts["remote_errors"] += 1
        self.remote.mark_bad(name)
        self.warn(f"warning: remote cache entry {name[:12]} is unusable ({reason}); ignored")
        return None
