"""Every environment variable resumec reads, and every default it falls back to, in one place.

A `Settings` wraps one environment (a process's `os.environ`, or a dict in
tests) and parses each value on first use, once: a bad value is a UsageError
(exit 2) naming the variable, raised only by the commands that need it, so
`SOURCE_DATE_EPOCH=garbage` stops a compile but not `resumec cache info`.
Nothing here imports more than the standard library: a cache hit reads it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from typing import TYPE_CHECKING

from resumec.errors import UsageError

if TYPE_CHECKING:
    from resumec.remote import Remote

# zip cannot store dates before 1980, and DOCX is a zip: one floor for every output.
DEFAULT_EPOCH = 315532800
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last date a PDF date can spell
DEFAULT_CACHE_MAX_SIZE = 500 * 1000 * 1000
DEFAULT_SERVER_IDLE = 600.0

# name -> what it does; README's table and `resumec --help` say the same.
VARIABLES: Mapping[str, str] = {
    "RESUMEC_CACHE_DIR": "cache location (default: the platform's user cache directory)",
    "RESUMEC_CACHE_MAX_SIZE": "cache size limit, e.g. 200M (default 500M)",
    "RESUMEC_SOFFICE": "path to LibreOffice's soffice",
    "RESUMEC_UNO_PYTHON": "a Python that can import LibreOffice's uno module",
    "RESUMEC_NO_SERVER": "1: never use a running converter service",
    "RESUMEC_RUNTIME_DIR": "where the converter service's socket lives",
    "RESUMEC_SERVER_IDLE": "seconds before an idle converter service exits (default 600; 0 = never)",
    "RESUMEC_REMOTE_CACHE": "a shared cache behind the local one: redis://… or http(s)://… (docs/ci.md)",
    "RESUMEC_REMOTE_CACHE_READ_ONLY": "1: read the remote cache but never write to it",
    "RESUMEC_REMOTE_CACHE_USER": "user for the remote cache, when its URL has none",
    "RESUMEC_REMOTE_CACHE_PASSWORD": "password for the remote cache, when its URL has none (never printed)",
    "SOURCE_DATE_EPOCH": "the timestamp written into outputs (default 1980-01-01)",
    "NO_COLOR": "no colour on a terminal",
}


@dataclass(frozen=True, eq=False)
class Settings:
    """One environment, parsed lazily and once. Pass it down; never read os.environ elsewhere."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def from_env(cls) -> Settings:
        return cls(dict(os.environ))

    def _get(self, name: str) -> str:
        return self.env.get(name, "").strip()

    # -- the cache -------------------------------------------------------------------

    @cached_property
    def cache_dir(self) -> Path:
        raw = self._get("RESUMEC_CACHE_DIR")
        if raw:
            return Path(raw).expanduser()
        import platformdirs  # deferred: only needed when no override is given

        return Path(platformdirs.user_cache_dir("resumec", appauthor=False))

    @cached_property
    def cache_max_size(self) -> int:
        raw = self._get("RESUMEC_CACHE_MAX_SIZE")
        if not raw:
            return DEFAULT_CACHE_MAX_SIZE
        from resumec.cache import parse_size

        try:
            return parse_size(raw)
        except (ValueError, OverflowError):
            raise UsageError(f"RESUMEC_CACHE_MAX_SIZE={raw[:40]}: not a size (examples: 500M, 2G, 750K)") from None

    @property
    def remote_cache(self) -> str | None:
        """RESUMEC_REMOTE_CACHE as given; checked when the remote is opened (a bad URL is exit 2)."""
        return self._get("RESUMEC_REMOTE_CACHE") or None

    @property
    def remote_read_only(self) -> bool:
        return self._get("RESUMEC_REMOTE_CACHE_READ_ONLY") not in ("", "0")

    def open_remote(self, url: str | None, read_only: bool) -> Remote | None:
        """The run's remote cache tier, or None; credentials may come from this environment."""
        url = url or self.remote_cache
        if not url:
            return None
        from resumec.remote import open_remote

        return open_remote(url, read_only=read_only or self.remote_read_only, env=self.env)

    # -- reproducible outputs -------------------------------------------------------------

    @cached_property
    def epoch(self) -> int:
        """SOURCE_DATE_EPOCH (reproducible-builds.org): a malformed value is an error, never a silent default."""
        raw = self._get("SOURCE_DATE_EPOCH")
        if not raw:
            return DEFAULT_EPOCH
        try:
            value = int(raw, 10)
        except ValueError:
            value = None
        if value is None or not 0 <= value <= MAX_EPOCH:
            raise UsageError(
                f"SOURCE_DATE_EPOCH={raw[:40]}: expected whole seconds since 1970-01-01 UTC, "
                f"between 0 and {MAX_EPOCH} (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct))"
            )
        return value

    # -- LibreOffice ---------------------------------------------------------------------

    @property
    def soffice(self) -> str | None:
        """RESUMEC_SOFFICE as given (checked by convert.find_soffice), or None."""
        return self._get("RESUMEC_SOFFICE") or None

    @property
    def path(self) -> str:
        return self.env.get("PATH") or os.defpath

    @property
    def uno_python(self) -> str | None:
        return self._get("RESUMEC_UNO_PYTHON") or None

    # -- the converter service --------------------------------------------------------------

    @property
    def no_server(self) -> bool:
        return self._get("RESUMEC_NO_SERVER") not in ("", "0")

    @cached_property
    def runtime_dir(self) -> Path:
        """RESUMEC_RUNTIME_DIR, else $XDG_RUNTIME_DIR/resumec, else the per-user runtime dir platformdirs picks.

        Every uncached compile asks, so on Linux platformdirs' fallbacks
        (/run/user/UID, then $TMPDIR/runtime-UID) are spelled out here:
        importing it costs 6 ms.
        """
        if self._get("RESUMEC_RUNTIME_DIR"):
            return Path(self._get("RESUMEC_RUNTIME_DIR")).expanduser().absolute()
        if self._get("XDG_RUNTIME_DIR"):
            return Path(self._get("XDG_RUNTIME_DIR")) / "resumec"
        if sys.platform.startswith("linux"):
            run = Path(f"/run/user/{os.getuid()}")
            if private_dir(run):
                return run / "resumec"
            return Path(self._get("TMPDIR") or "/tmp") / f"runtime-{os.getuid()}" / "resumec"
        import warnings

        import platformdirs

        with warnings.catch_warnings():  # it warns when it falls back to /tmp/runtime-UID
            warnings.simplefilter("ignore")
            return Path(platformdirs.user_runtime_dir("resumec"))

    @cached_property
    def server_idle(self) -> float:
        raw = self._get("RESUMEC_SERVER_IDLE")
        return parse_seconds("RESUMEC_SERVER_IDLE=" + raw[:40], raw) if raw else DEFAULT_SERVER_IDLE

    # -- the terminal ----------------------------------------------------------------------

    @property
    def dumb_terminal(self) -> bool:
        return self.env.get("TERM") == "dumb"


def parse_seconds(name: str, value: str) -> float:
    """A duration where 0 means never: finite and not negative, else a usage error (exit 2) naming it."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise UsageError(f"{name}: expected 0 (never) or more seconds, got {value[:40]!r}")
    return seconds


def private_dir(directory: Path) -> bool:
    """Ours and nobody else's (0700-like, owned by us): a planted socket there could hand us anything."""
    import stat

    try:
        st = os.stat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0
