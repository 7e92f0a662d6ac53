"""Content-addressed build cache, laid out like git's object store and ccache.

    <root>/v1/objects/ab/<sha256>      blobs, named by the hash of their bytes
    <root>/v1/keys/ab/<key>            manifests: {"blob": sha256, "size": n, "kind": "pdf"}
    <root>/v1/stats.json               hit/miss counters (updated under a short flock)

Every write is a temp file plus rename, every blob read is verified against its
name, and no lock is held across a build, so any number of processes may share
one cache. A corrupt entry is dropped and rebuilt, never served. Any OS error
disables the cache for the rest of the process with one warning: a broken
cache never fails a build.

Only regular files are read, never through a symlink, and each with a size cap
(resumec.files): a FIFO, a device or a symlink where an entry should be is a
miss and is removed (unlinking only removes the entry, never what it points
to). A manifest must agree with its blob: the size it records, and the kind
(a "pdf" blob starts with %PDF-, a "docx" one is a zip), or it is a miss.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resumec.settings import DEFAULT_CACHE_MAX_SIZE

from resumec.files import FileTooLarge, NotRegularFile, kind_of, read_regular, write_atomic
# A blob younger than this is never evicted as unreferenced: its manifest may
# be about to be written by another process.
_GRACE_SECONDS = 120.0
_LAYOUT = "v1"
# Caps on what a read may cost, far above anything resumec writes: a manifest
# is ~130 bytes, stats.json ~200, the largest output a few MB (the inputs are
# capped at 5 MB, the photo at 5 MB).
MAX_MANIFEST_BYTES = 4096
MAX_STATS_BYTES = 64 * 1024
MAX_BLOB_BYTES = 256 * 1024 * 1024
# How each kind of blob starts; kinds not listed here are not checked.
_HEX64 = re.compile("[0-9a-f]{64}")
_KIND_MAGIC = {"docx": b"PK\x03\x04", "pdf": b"%PDF-", "png-index": b"["}

Warn = Callable[[str], None]


def parse_size(text: str) -> int:
    """'500M', '2G', '750k', '1000000' → bytes (decimal units, like ccache).

    Only finite, non-negative sizes: "inf", "nan" and "1e400" are refused, not
    turned into an OverflowError deep inside the cache.
    """
    units = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000**2, "MB": 1000**2, "G": 1000**3, "GB": 1000**3,
             "KI": 1024, "KIB": 1024, "MI": 1024**2, "MIB": 1024**2, "GI": 1024**3, "GIB": 1024**3}
    raw = text.strip().upper()
    number = raw.rstrip("KMGIB")
    unit = raw[len(number):]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 2G, 750K)") from None
    total = value * units.get(unit, 1)
    if unit not in units or not math.isfinite(total) or value < 0:
        raise ValueError(f"not a size: {text!r} (a finite, non-negative size; examples: 500M, 2G, 750K)")
    return int(total)


def format_size(n: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


@dataclass
class Cache:
    """One cache directory. Cheap to construct; touches the disk lazily."""

    root: Path
    max_size: int = DEFAULT_CACHE_MAX_SIZE
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

    def get_blob(self, digest: str, *, size: int | None = None, kind: str | None = None) -> bytes | None:
        """The verified bytes of a blob, or None. A corrupt or special-file blob is removed.

        With `size` and `kind` (from a manifest) the blob must also have that
        size and start as that kind of file does.
        """
        if not (self.enabled and isinstance(digest, str) and _HEX64.fullmatch(digest)):
            return None
        path = self._blob_path(digest)
        data = self._read(path, MAX_BLOB_BYTES, f"cache entry {digest[:12]}")
        if data is None:
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            self.warn(f"warning: cache entry {digest[:12]} is corrupt; dropped and rebuilding")
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        if (size is not None and len(data) != size) or not data.startswith(_KIND_MAGIC.get(kind or "", b"")):
            return None  # a sound blob, but not the one the manifest describes: the caller drops the manifest
        _touch(path)
        return data

    def put_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if self.enabled and len(data) <= MAX_BLOB_BYTES:
            path = self._blob_path(digest)
            try:
                if not _same_size(path, len(data)):
                    write_atomic(path, data)
                    self.stored = True
                    self.last_shard = digest[:2]
                else:
                    _touch(path)
            except OSError as exc:
                self._disable(exc)
        return digest

    def _read(self, path: Path, limit: int, what: str) -> bytes | None:
        """A cache file's bytes, or None when it is missing, special or oversized (those are removed)."""
        try:
            return read_regular(path, limit, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except (NotRegularFile, IsADirectoryError, FileTooLarge) as exc:
            problem = f"is {exc.kind}, not a regular file" if isinstance(exc, NotRegularFile) else (
                "is a directory" if isinstance(exc, IsADirectoryError) else "is too large")
            self.warn(f"warning: {what} {problem}; removed and rebuilding")
            _remove(path)
            return None
        except OSError as exc:
            self._disable(exc)
            return None

    # -- manifests ------------------------------------------------------------

    def _manifest(self, key: str) -> tuple[str, int, str] | None:
        """(blob digest, size, kind) of a key, or None. Garbage manifests are dropped."""
        if not self.enabled:
            return None
        path = self._key_path(key)
        raw = self._read(path, MAX_MANIFEST_BYTES, f"cache manifest {key[:12]}")
        if raw is None:
            return None
        try:
            manifest = json.loads(raw)
            digest, size, kind = manifest["blob"], manifest["size"], manifest["kind"]
            if not (isinstance(digest, str) and _HEX64.fullmatch(digest)):
                raise ValueError(digest)
            if type(size) is not int or size < 0 or not isinstance(kind, str):
                raise ValueError(size)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self.warn(f"warning: cache manifest {key[:12]} is corrupt; dropped and rebuilding")
            _remove(path)
            return None
        return digest, size, kind

    def lookup(self, key: str, kind: str | None = None) -> str | None:
        """The blob digest a key maps to, or None.

        The blob must exist as a regular file of the size the manifest
        records (one lstat); otherwise the manifest is dropped. With `kind`,
        a manifest of another kind is a miss.
        """
        entry = self._manifest(key)
        if entry is None or (kind is not None and entry[2] != kind):
            return None
        digest, size, _ = entry
        try:
            st = os.lstat(self._blob_path(digest))
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size != size:
            if st is not None and not stat.S_ISREG(st.st_mode):
                self.warn(f"warning: cache entry {digest[:12]} is {kind_of(st.st_mode)}, not a regular file; "
                          "removed and rebuilding")
                _remove(self._blob_path(digest))
            _remove(self._key_path(key))
            return None
        _touch(self._key_path(key))
        return digest

    def get(self, key: str, kind: str | None = None) -> tuple[str, bytes] | None:
        """Manifest plus verified blob of the recorded size and kind (`kind`, when given); anything else is a miss."""
        entry = self._manifest(key)
        if entry is None or (kind is not None and entry[2] != kind):
            return None
        digest, size, kind = entry
        data = self.get_blob(digest, size=size, kind=kind)
        if data is None:
            _remove(self._key_path(key))
            return None
        _touch(self._key_path(key))
        return digest, data

    def put(self, key: str, data: bytes, kind: str) -> str:
        """Store a blob and point a key at it; returns the blob digest."""
        digest = self.put_blob(data)
        if self.enabled and len(data) <= MAX_BLOB_BYTES:
            manifest = json.dumps({"blob": digest, "size": len(data), "kind": kind}).encode()
            try:
                write_atomic(self._key_path(key), manifest)
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
            fd = _open_lock(self.base / "stats.lock")
            if fd is None:
                return  # a special file where the lock should be (now removed): these counts are lost
            with open(fd, "a+b") as lock:
                _flock(lock)
                stats = self.stats()
                for name, value in counts.items():
                    stats[name] = stats.get(name, 0) + value
                write_atomic(self.base / "stats.json", json.dumps(stats, sort_keys=True).encode())
        except OSError as exc:
            self._disable(exc)

    def stats(self) -> dict[str, int]:
        """The counters; anything unreadable or odd in stats.json counts as zero."""
        try:
            loaded = json.loads(read_regular(self.base / "stats.json", MAX_STATS_BYTES, follow_symlinks=False))
        except (OSError, ValueError):
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {k: v for k, v in loaded.items() if type(v) is int and v >= 0}

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
            strays: list[Path] = []
            for path, _, _ in list(_walk(self.base / folder, strays)):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
            removed += sum(_remove(path) for path in strays)
        with contextlib.suppress(OSError):
            (self.base / "stats.json").unlink()
        return removed

    def prune(self, max_size: int | None = None) -> dict[str, int]:
        """Evict least-recently-used entries until the blobs fit in max_size."""
        limit = self.max_size if max_size is None else max_size
        now = time.time()
        strays: list[Path] = []  # FIFOs, devices, symlinks: never ours, removed
        manifests = sorted(_walk(self.base / "keys", strays), key=lambda item: item[2], reverse=True)
        blobs = {
            path.parent.name + path.name: (path, size, mtime)
            for path, size, mtime in _walk(self.base / "objects", strays)
        }
        for path in strays:
            _remove(path)
        kept: set[str] = set()
        total = 0
        evicted_keys = 0
        for path, _, _ in manifests:
            digest, size = _read_digest(path)
            blob = blobs.get(digest) if digest else None
            if blob is None or blob[1] != size:
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


def _same_size(path: Path, size: int) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def _remove(path: Path) -> bool:
    """Unlink a cache entry if that is safe: anything but a directory (a symlink goes, not its target)."""
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            return False
        path.unlink()
        return True
    except OSError:
        return False


def _open_lock(path: Path) -> int | None:
    """A descriptor on the stats lock, which must be a regular file; a special file there is removed."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.lstat(path).st_mode):  # checked first, so no device is ever opened
            _remove(path)
            return None
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            raise
        _remove(path)
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        _remove(path)
        return None
    return fd


def _touch(path: Path) -> None:
    # The mtime doubles as "last used" for LRU eviction (atime is often disabled).
    with contextlib.suppress(OSError):
        os.utime(path)


def _walk(folder: Path, strays: list[Path] | None = None):
    """(path, size, mtime) of every stored regular file; temp files are skipped.

    Anything else found where entries live (a FIFO, a device, a symlink) is
    appended to `strays` when given.
    """
    try:
        shards = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for shard in shards:
        if shard.is_dir(follow_symlinks=False):
            yield from _walk_shard(Path(shard.path), strays)


def _walk_shard(shard: Path, strays: list[Path] | None = None):
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
        if stat.S_ISREG(st.st_mode):
            yield Path(entry.path), st.st_size, st.st_mtime
        elif strays is not None and not stat.S_ISDIR(st.st_mode):
            strays.append(Path(entry.path))


def _remove_stale_temps(base: Path, now: float, age: float = 3600.0) -> None:
    """Temp files left by a process that was killed mid-write."""
    for folder in ("objects", "keys"):
        for shard in base.joinpath(folder).glob("*"):
            for tmp in shard.glob(".tmp-*"):
                with contextlib.suppress(OSError):
                    if now - tmp.lstat().st_mtime > age:
                        _remove(tmp)


def _read_digest(path: Path) -> tuple[str | None, int | None]:
    """(blob digest, recorded size) of a manifest; (None, None) when it cannot be read as one."""
    try:
        manifest = json.loads(read_regular(path, MAX_MANIFEST_BYTES, follow_symlinks=False))
        digest, size = manifest["blob"], manifest.get("size")
        return (digest if isinstance(digest, str) else None), (size if type(size) is int else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None


def _flock(handle) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: counters may race, which only costs accuracy
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
