"""Content-addressed build cache, laid out like git's object store and ccache.

    <root>/v1/objects/ab/<sha256>      blobs, named by the hash of their bytes
    <root>/v1/keys/ab/<key>            manifests: {"blob": sha256, "size": n, "kind": "pdf"}
    <root>/v1/stats.json               hit/miss counters (updated under a short flock)

Every write is a temp file plus rename, every blob read is verified against its
name, and no lock is held across a build, so any number of processes may share
one cache. A corrupt entry is dropped and rebuilt, never served. Any OS error
disables the cache for the rest of the process with one warning: a broken
cache never fails a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_SIZE = 500 * 1000 * 1000
# A blob younger than this is never evicted as unreferenced: its manifest may
# be about to be written by another process.
_GRACE_SECONDS = 120.0
_LAYOUT = "v1"

Warn = Callable[[str], None]


def default_dir(env: dict[str, str] | None = None) -> Path:
    """RESUMEC_CACHE_DIR, else the platform's user cache directory."""
    env = os.environ if env is None else env
    if env.get("RESUMEC_CACHE_DIR"):
        return Path(env["RESUMEC_CACHE_DIR"]).expanduser()
    import platformdirs  # deferred: only needed when no override is given

    return Path(platformdirs.user_cache_dir("resumec", appauthor=False))


def parse_size(text: str) -> int:
    """'500M', '2G', '750k', '1000000' → bytes (decimal units, like ccache)."""
    units = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000**2, "MB": 1000**2, "G": 1000**3, "GB": 1000**3,
             "KI": 1024, "KIB": 1024, "MI": 1024**2, "MIB": 1024**2, "GI": 1024**3, "GIB": 1024**3}
    raw = text.strip().upper()
    number = raw.rstrip("KMGIB")
    unit = raw[len(number):]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 2G, 750K)") from None
    if unit not in units or value < 0:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 2G, 750K)")
    return int(value * units[unit])


def format_size(n: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


@dataclass
class Cache:
    """One cache directory. Cheap to construct; touches the disk lazily."""

    root: Path
    max_size: int = DEFAULT_MAX_SIZE
    warn: Warn = field(default=lambda message: None, repr=False)
    enabled: bool = True
    stored: bool = False  # whether this process added anything (eviction is due)
    last_shard: str = ""  # shard of the last blob stored, sampled to estimate the total size

    @property
    def base(self) -> Path:
        return self.root / _LAYOUT

    # -- failure handling -------------------------------------------------

    def _disable(self, exc: BaseException) -> None:
        if self.enabled:
            self.enabled = False
            self.warn(f"warning: cache at {self.root} is unusable ({_describe(exc)}); building without it")

    # -- blobs --------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        return self.base / "objects" / digest[:2] / digest[2:]

    def _key_path(self, key: str) -> Path:
        return self.base / "keys" / key[:2] / key[2:]

    def get_blob(self, digest: str) -> bytes | None:
        """The verified bytes of a blob, or None. A corrupt blob is deleted."""
        if not self.enabled:
            return None
        path = self._blob_path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._disable(exc)
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            self.warn(f"warning: cache entry {digest[:12]} is corrupt; dropped and rebuilding")
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        _touch(path)
        return data

    def put_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if self.enabled:
            path = self._blob_path(digest)
            try:
                if not _same_size(path, len(data)):
                    _atomic_write(path, data)
                    self.stored = True
                    self.last_shard = digest[:2]
                else:
                    _touch(path)
            except OSError as exc:
                self._disable(exc)
        return digest

    # -- manifests ------------------------------------------------------------

    def lookup(self, key: str) -> str | None:
        """The blob digest a key maps to, or None. Garbage manifests are dropped."""
        if not self.enabled:
            return None
        path = self._key_path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._disable(exc)
            return None
        try:
            manifest = json.loads(raw)
            digest = manifest["blob"]
            if not (isinstance(digest, str) and len(digest) == 64 and int(digest, 16) >= 0):
                raise ValueError(digest)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self.warn(f"warning: cache manifest {key[:12]} is corrupt; dropped and rebuilding")
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        _touch(path)
        return digest

    def get(self, key: str) -> tuple[str, bytes] | None:
        """Manifest plus verified blob; a manifest whose blob is gone counts as a miss."""
        digest = self.lookup(key)
        if digest is None:
            return None
        data = self.get_blob(digest)
        if data is None:
            with contextlib.suppress(OSError):
                self._key_path(key).unlink()
            return None
        return digest, data

    def put(self, key: str, data: bytes, kind: str) -> str:
        """Store a blob and point a key at it; returns the blob digest."""
        digest = self.put_blob(data)
        if self.enabled:
            manifest = json.dumps({"blob": digest, "size": len(data), "kind": kind}).encode()
            try:
                _atomic_write(self._key_path(key), manifest)
                self.stored = True
            except OSError as exc:
                self._disable(exc)
        return digest

    def origin(self, digest: str) -> str:
        """Where a hit came from; a TieredCache (resumec.remote) also answers "remote"."""
        return "local"

    # -- statistics -----------------------------------------------------------

    def record(self, **counts: int) -> None:
        """Add to the hit/miss counters. The flock is held for microseconds, never across a build."""
        if not self.enabled or not any(counts.values()):
            return
        try:
            self.base.mkdir(parents=True, exist_ok=True)
            with open(self.base / "stats.lock", "a+b") as lock:
                _flock(lock)
                stats = self.stats()
                for name, value in counts.items():
                    stats[name] = int(stats.get(name, 0)) + value
                _atomic_write(self.base / "stats.json", json.dumps(stats, sort_keys=True).encode())
        except OSError as exc:
            self._disable(exc)

    def stats(self) -> dict[str, int]:
        try:
            loaded = json.loads((self.base / "stats.json").read_bytes())
            return {k: int(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        except (OSError, ValueError, TypeError):
            return {}

    # -- maintenance ----------------------------------------------------------

    def info(self) -> dict:
        blobs = list(_walk(self.base / "objects"))
        keys = list(_walk(self.base / "keys"))
        return {
            "location": str(self.root),
            "entries": len(keys),
            "blobs": len(blobs),
            "size": sum(size for _, size, _ in blobs),
            "max_size": self.max_size,
            "stats": self.stats(),
        }

    def clear(self) -> int:
        """Remove every entry (statistics too); returns the number of files removed."""
        removed = 0
        for folder in ("keys", "objects"):
            for path, _, _ in list(_walk(self.base / folder)):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        with contextlib.suppress(OSError):
            (self.base / "stats.json").unlink()
        return removed

    def prune(self, max_size: int | None = None) -> dict[str, int]:
        """Evict least-recently-used entries until the blobs fit in max_size."""
        limit = self.max_size if max_size is None else max_size
        now = time.time()
        manifests = sorted(_walk(self.base / "keys"), key=lambda item: item[2], reverse=True)
        blobs = {path.parent.name + path.name: (path, size, mtime) for path, size, mtime in _walk(self.base / "objects")}
        kept: set[str] = set()
        total = 0
        evicted_keys = 0
        for path, _, _ in manifests:
            digest = _read_digest(path)
            blob = blobs.get(digest) if digest else None
            if blob is None:
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            if digest in kept:
                continue
            if total + blob[1] <= limit:
                kept.add(digest)
                total += blob[1]
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
                    evicted_keys += 1
        evicted_blobs = 0
        freed = 0
        for digest, (path, size, mtime) in blobs.items():
            if digest in kept:
                continue
            # Unreferenced blobs are removed when over the limit or old enough
            # that no concurrent writer can still be about to reference them.
            if limit == 0 or now - mtime > _GRACE_SECONDS or total + size > limit:
                with contextlib.suppress(OSError):
                    path.unlink()
                    evicted_blobs += 1
                    freed += size
            else:
                total += size
        _remove_stale_temps(self.base, now)
        if evicted_keys or evicted_blobs:
            self.record(evictions=evicted_keys)
        return {"evicted_entries": evicted_keys, "evicted_blobs": evicted_blobs, "freed": freed, "size": total}

    def maybe_evict(self) -> None:
        """Enforce the size bound after this process stored something.

        Like ccache, it samples one shard (blobs spread evenly over 256 shards
        by hash) to estimate the total, and walks everything only when the
        estimate is over the limit, so a store costs one small directory scan.
        """
        if not (self.enabled and self.stored):
            return
        try:
            if self.last_shard:
                shard = self.base / "objects" / self.last_shard
                sample = sum(size for _, size, _ in _walk_shard(shard))
                if sample * 256 <= self.max_size:
                    return
            size = sum(size for _, size, _ in _walk(self.base / "objects"))
            if size > self.max_size:
                self.prune()
        except OSError as exc:
            self._disable(exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return str(exc) or type(exc).__name__


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _touch(path: Path) -> None:
    # The mtime doubles as "last used" for LRU eviction (atime is often disabled).
    with contextlib.suppress(OSError):
        os.utime(path)


def _walk(folder: Path):
    """(path, size, mtime) of every stored file; temp files are skipped."""
    try:
        shards = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for shard in shards:
        if shard.is_dir(follow_symlinks=False):
            yield from _walk_shard(Path(shard.path))


def _walk_shard(shard: Path):
    """Entries of one shard; one removed concurrently simply yields nothing."""
    try:
        entries = list(os.scandir(shard))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.name.startswith(".tmp-"):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        yield Path(entry.path), st.st_size, st.st_mtime


def _remove_stale_temps(base: Path, now: float, age: float = 3600.0) -> None:
    """Temp files left by a process that was killed mid-write."""
    for folder in ("objects", "keys"):
        for shard in base.joinpath(folder).glob("*"):
            for tmp in shard.glob(".tmp-*"):
                with contextlib.suppress(OSError):
                    if now - tmp.stat().st_mtime > age:
                        tmp.unlink()


def _read_digest(path: Path) -> str | None:
    try:
        digest = json.loads(path.read_bytes())["blob"]
        return digest if isinstance(digest, str) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _flock(handle) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: counters may race, which only costs accuracy
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
