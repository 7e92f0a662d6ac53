"""Where outputs go, and writing them so that nothing is ever half-written.

All new files are first written to temp files beside their targets; only when
every one of them is complete are they renamed into place. A file that already
holds exactly the bytes being produced is left alone, mtime included, so make
and file watchers see no change.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from resumec.errors import OutputError, UsageError

SUFFIXES = {"docx": ".docx", "pdf": ".pdf", "png": ".png", "html": ".html", "md": ".md", "txt": ".txt"}
STDOUT = "-"


def plan(
    input_name: str,
    input_path: Path | None,
    output: str | os.PathLike[str] | None,
    formats: tuple[str, ...],
    many: bool = False,
) -> dict[str, Path]:
    """Map each format to its output path.

    No `-o`: next to the input. `-o DIR` (an existing directory, a path ending
    in a slash, a path without suffix, or any `-o` in a batch): inside it.
    `-o FILE.pdf` (or any format's suffix, `FILE.html` …): that stem, with each format's
    suffix. `-o -` (standard output) is the caller's to handle. An output
    never replaces the input it is built from.
    """
    if input_path is None and output is None:
        raise UsageError("reading from standard input needs -o FILE, -o DIR or -o - (standard output)")
    stem = input_path.stem if input_path is not None else "resume"
    if output is None:
        folder = input_path.parent  # type: ignore[union-attr]
    else:
        raw = os.fspath(output)
        path = Path(raw).expanduser()
        # The string as typed, not the Path: Path("out.v2/") forgets the slash that makes it a directory.
        if many or raw.endswith(("/", os.sep)) or path.is_dir() or path.suffix == "":
            folder = path
        elif path.suffix.lower() in SUFFIXES.values():
            folder, stem = path.parent, path.stem
        else:
            raise UsageError(f"-o {raw}: expected a directory (end it with /) or a file ending in "
                             f"{', '.join(SUFFIXES.values())}")
    paths = {fmt: folder / (stem + SUFFIXES[fmt]) for fmt in formats}
    if input_path is not None:
        for target in paths.values():
            if _same_file(target, input_path):
                raise UsageError(f"{input_name}: the {target.suffix[1:]} output {target} would overwrite this input; "
                                 "choose another -o")
    return paths


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def write_stdout(data: bytes) -> None:
    """`-o -`: the one output goes to standard output, for pipes."""
    import sys

    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except OSError as exc:
        raise OutputError(f"standard output: cannot write: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool  # False when the file already held these bytes


def write_all(files: Mapping[Path, bytes]) -> list[Written]:
    """Write every file atomically, or none of them.

    Raises OutputError (exit 4) naming the path; temp files are removed and the
    previous outputs stay exactly as they were. So does Ctrl-C or SIGTERM
    (SystemExit) at any moment before `commit`, and `commit` itself is never
    cut in half (see resumec.interrupt).
    """
    pending: list[tuple[Path, str]] = []
    results: list[Written] = []
    try:
        for path, data in files.items():
            if _holds(path, data):
                results.append(Written(path, False))
                continue
            _write_temp(path, data, pending)
            results.append(Written(path, True))
        commit(pending)
    except BaseException:
        for _, tmp in pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    return results


def commit(pending: list[tuple[Path, str]]) -> None:
    """Rename each temp file over its output: microseconds, during which a signal waits (resumec.interrupt), so
    the outputs are all new or all as they were, never a mix."""
    for path, tmp in pending:
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _holds(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _write_temp(path: Path, data: bytes, pending: list[tuple[Path, str]]) -> None:
    """`data` in a new temp file beside `path`, named in `pending` before it exists: a signal at any moment
    (it unwinds as SystemExit) leaves no temp file behind, as write_all removes whatever `pending` names."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = str(path.parent / f".{path.name}.{os.urandom(8).hex()}.tmp")
        pending.append((path, tmp))
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            pending.pop()  # another's file (a 64-bit coincidence): never ours to remove
        except OSError as exc:
            pending.pop()
            raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode(path))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _file_mode(path: Path) -> int:
    """Keep an existing file's mode; new files get the usual 0666 & ~umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (batch writes from threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic set-and-restore, briefly racy
    os.umask(mask)
    return mask


def remove(paths: list[Path]) -> None:
    """Delete outputs that a new build no longer produces (extra PNG pages)."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutputError(f"{path}: cannot remove: {exc.strerror or exc}") from None
