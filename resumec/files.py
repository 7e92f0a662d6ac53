"""Reading files we do not trust (only regular files, never more than a cap), and writing atomically.

A path given to resumec (an input, a theme file, a photo, a cache entry) may
turn out to be a FIFO (open and read block forever), a device (/dev/zero never
ends, /dev/tty waits for a keyboard) or a symlink to one. `read_regular`
checks the type with `stat` before opening, so no device is ever opened, then
opens with O_NONBLOCK (a FIFO swapped in meanwhile cannot block the open),
checks again with `fstat` on what it actually opened, and reads at most
`limit + 1` bytes, whatever `st_size` claims (/proc files report 0). With
`owned_only=True` it also refuses a file of another user's, or one that group or
others may write (what resumec itself stores and later runs, such as bytecode).
`write_atomic` is how the caches store a file, so a reader sees all of it or
none.

Standard library only: the cache-hit path uses it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["FileTooLarge", "NotOwned", "NotRegularFile", "kind_of", "read_regular", "write_atomic"]

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CHUNK = 1 << 20


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device or (when not followed) a symlink; `kind` says which."""

    def __init__(self, kind: str, filename: str | os.PathLike[str]) -> None:
        super().__init__(errno.EINVAL, f"not a regular file (it is {kind})", os.fspath(filename))
        self.kind = kind


class FileTooLarge(OSError):
    """More than `limit` bytes; `size` is the real size, or None when only the bounded read found out."""

    def __init__(self, size: int | None, limit: int, filename: str | os.PathLike[str]) -> None:
        shown = f"{size:,} bytes" if size is not None else "more than that"
        super().__init__(errno.EFBIG, f"file too large ({shown}; the limit is {limit:,} bytes)", os.fspath(filename))
        self.size = size
        self.limit = limit


class NotOwned(OSError):
    """Not this user's own file (owned_only=True); `reason` says why, for a message."""

    def __init__(self, reason: str, filename: str | os.PathLike[str]) -> None:
        super().__init__(errno.EACCES, f"not a file of ours ({reason})", os.fspath(filename))
        self.reason = reason


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words for a message."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _open(path: str | os.PathLike[str], flags: int) -> int:
    """os.open, as a seam the tests can replace (e.g. to simulate EACCES as root)."""
    return os.open(path, flags)


def _check(mode: int, path: str | os.PathLike[str]) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):  # the same error open() gives, so messages stay familiar
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    raise NotRegularFile(kind_of(mode), path)


def _check_owner(st: os.stat_result, path: str | os.PathLike[str]) -> None:
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: no owner to compare, so nothing can be shown to be ours
        raise NotOwned("this system has no file owners", path)
    if st.st_uid != getuid():
        raise NotOwned("another user owns it", path)
    if st.st_mode & 0o022:
        raise NotOwned("group or others may write it", path)


def read_regular(path: str | os.PathLike[str], limit: int, *, follow_symlinks: bool = True,
                 owned_only: bool = False) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raises FileNotFoundError, PermissionError, … as `open` would, plus
    IsADirectoryError, NotRegularFile and FileTooLarge (all OSError, with a
    `strerror` fit for a message). With follow_symlinks=False a symlink is
    refused as NotRegularFile (the cache never creates one). With
    owned_only=True a file this user does not own, or that group or others
    may write, is refused as NotOwned: what we read back as code must be ours.
    """
    _check((os.stat(path) if follow_symlinks else os.lstat(path)).st_mode, path)
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | _BINARY | (0 if follow_symlinks else _NOFOLLOW)
    try:
        fd = _open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:  # swapped for a symlink since the lstat
            raise NotRegularFile("a symbolic link", path) from None
        raise
    try:
        st = os.fstat(fd)
        _check(st.st_mode, path)
        if owned_only:
            _check_owner(st, path)
        if st.st_size > limit:
            raise FileTooLarge(st.st_size, limit, path)
        chunks = []
        left = limit + 1
        want = min(left, st.st_size + 1) if st.st_size else min(left, _CHUNK)
        while left > 0:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            want = min(left, _CHUNK)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:  # grew after the fstat, or a /proc file whose size reads as 0
        raise FileTooLarge(None, limit, path)
    return data


def write_atomic(path: Path, data: bytes, *, folder_mode: int = 0o777) -> None:
    """A temp file (0600) in the same folder renamed over `path`: readers, even other processes, never see half.

    Missing folders are made with `folder_mode` (less the umask); on failure the temp file is removed.
    """
    import tempfile  # not on the read path

    path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
