"""Local files a résumé refers to (today: the photo in `basics.image`).

Light on purpose (standard library only): the pipeline calls `photo_path`
while computing the cache key, before deciding whether to build anything, so
the photo's bytes can go into the key. The builder calls the same function,
so the key and the document always agree on which file (if any) is used.

Rules, in order:
- not a string, empty, or a URL with a scheme (https:, file:, data:, …):
  no photo. Remote images are never fetched; a build must not touch the network.
- a path that leaves the résumé's folder (`../x.png`, an absolute path
  elsewhere, a symlink pointing out): InputError. A résumé is often someone
  else's file; it must not be able to embed arbitrary files from the machine.
- missing, unreadable, too large, or not a PNG/JPEG by its first bytes:
  InputError naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from resumec.errors import InputError

PHOTO_FIELD = "basics.image"
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # a portrait needs far less; this keeps DOCX and cache small
# Two or more letters, so a Windows drive ("C:\\me.png") is treated as a path, not a scheme.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)


def photo_path(data: Any, base_dir: Path | str | None) -> Path | None:
    """The resolved local photo file of a résumé, or None when it has none to show.

    `base_dir` is the résumé's folder (None: the current directory, as for
    stdin). Raises InputError for a path outside that folder, a missing file
    or a file that is not a PNG or JPEG image.
    """
    basics = data.get("basics") if isinstance(data, Mapping) else None
    value = basics.get("image") if isinstance(basics, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        return None
    spec = value.strip()
    if _SCHEME.match(spec) or spec.startswith("//"):
        return None  # remote (or otherwise non-file) images are ignored, never fetched
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    try:
        root = base.resolve()
        candidate = (root / Path(spec).expanduser()).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, NUL bytes
        raise InputError(f'{PHOTO_FIELD}: "{spec}" cannot be used: {exc}') from None
    if not candidate.is_relative_to(root):
        raise InputError(f'{PHOTO_FIELD}: "{spec}" is outside the résumé\'s folder')
    if not candidate.is_file():
        raise InputError(f'{PHOTO_FIELD}: "{spec}" does not exist (looked for {candidate})')
    photo_format(candidate, spec)
    return candidate


def photo_format(path: Path, shown: str | None = None) -> str:
    """"png" or "jpeg" from the file's first bytes; InputError for anything else."""
    shown = shown or str(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f'{PHOTO_FIELD}: "{shown}" cannot be read: {exc.strerror or exc}') from None
    if size > MAX_PHOTO_BYTES:
        raise InputError(
            f'{PHOTO_FIELD}: "{shown}" is {size / 1_048_576:.1f} MB; '
            f"use an image under {MAX_PHOTO_BYTES // 1_048_576} MB (a 600×600 JPEG is plenty)"
        )
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    raise InputError(f'{PHOTO_FIELD}: "{shown}" is not a PNG or JPEG image')
