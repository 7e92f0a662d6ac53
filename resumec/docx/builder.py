"""What DOCX builds can reuse: compiled templates and styled base documents, keyed by theme fingerprint.

Compiling a theme's templates (Jinja2, with the budget's code generator)
and styling python-docx's template cost four times what rendering a résumé
does, and both depend only on the theme (and the language and paper). A
`Builder` keeps them: a watch session, a batch worker or any long-lived caller
owns one and passes it to every compile; a single compile makes its own.
Everything is keyed by the theme's fingerprint (a digest of its files), so a
theme edited during a watch session is never served stale: the edit is a new
key. Only the last few themes are kept.

Across processes the same work is kept on disk, below the resumec cache
(`<cache>/build/`): Jinja2's bytecode per theme, and the styled bases. Both
are keyed by the fingerprint and by a digest of the code that made them (this
package, Jinja2, python-docx, lxml, Python), are read only when they are our
own regular files, and are pruned to the most recent few; a damaged one is
made again. `--no-cache` keeps them in memory only.

This module imports nothing heavy, so a caller can make a Builder up front.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resumec import __version__
from resumec.files import read_regular, write_atomic

if TYPE_CHECKING:
    from jinja2 import Environment

    from resumec.docx.base import Base
    from resumec.theme import Theme

BUILD_DIR = "build"  # below the cache directory
KEEP_IN_MEMORY = 8  # themes (x languages x papers) a process keeps
KEEP_ON_DISK = 32  # template folders, and styled bases, kept below BUILD_DIR
MAX_BYTECODE = 4 * 1024 * 1024  # one template's bytecode; the built-in ones are ~20 kB
MAX_BASE = 16 * 1024 * 1024  # a stored base; the built-in ones are ~70 kB


class Builder:
    """Compiled templates and styled bases for the builds of one process. Safe to share between threads."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.store = _Store(Path(cache_dir) / BUILD_DIR) if cache_dir is not None else None
        self._environments: OrderedDict[tuple, Environment] = OrderedDict()
        self._bases: OrderedDict[tuple, Base] = OrderedDict()
        self._templates: dict[tuple, str] = {}
        self._lock = threading.Lock()
        self._code: str | None = None
        self.themes: dict = {}  # load_theme's memo: themes parsed and checked, by the digest of their files
        self.made = {"environments": 0, "bases": 0, "bases_read": 0}  # for tests and benchmarks

    # -- templates -------------------------------------------------------------------

    def environment(self, theme: Theme, config: Mapping[str, Any], lang: str | None) -> Environment:
        """The theme's sandboxed Jinja2 environment for this language, its templates compiled at most once."""
        key = (theme.fingerprint, theme.search_path, theme.root, lang)
        found = self._get(self._environments, key)
        if found is not None:
            return found
        from resumec.docx.render import make_environment

        cache = None
        if self.store is not None:
            cache = _bytecode_cache(self.store, self.store.folder("templates", self._key("templates",
                                                                                           theme.fingerprint)))
        env = make_environment(theme, config, bytecode_cache=cache)
        self.made["environments"] += 1
        return self._put(self._environments, key, env)

    def template_name(self, theme: Theme, key: str, shape: str) -> str:
        """Which template renders a section (document.section_template), looked up once per theme."""
        memo = (theme.fingerprint, theme.search_path, theme.root, key, shape)
        with self._lock:
            found = self._templates.get(memo)
        if found is None:
            from resumec.docx.document import section_template

            found = section_template(theme, key, shape)
            with self._lock:
                if len(self._templates) >= 64 * KEEP_IN_MEMORY:
                    self._templates.clear()
                self._templates[memo] = found
        return found

    # -- styled bases ---------------------------------------------------------------------

    def base(self, theme: Theme, config: Mapping[str, Any], lang: str | None, *, paper: str | None,
             doc_lang: str) -> Base:
        """The theme's styled empty document for this language and paper: from memory, disk, or made now."""
        key = (theme.fingerprint, lang, paper, doc_lang)
        found = self._get(self._bases, key)
        if found is not None:
            return found
        from resumec.docx.base import FORMAT, Base, make_base

        name = self._key("base", str(FORMAT), theme.fingerprint, repr((lang, paper, doc_lang))) if self.store else ""
        base = None
        if self.store is not None:
            blob = self.store.read(Path("bases") / name, MAX_BASE)
            base = Base.from_bytes(blob) if blob is not None else None
            if base is not None:
                self.made["bases_read"] += 1
        if base is None:
            base = make_base(config, paper=paper, lang=doc_lang)
            self.made["bases"] += 1
            if self.store is not None:
                self.store.write(Path("bases") / name, base.to_bytes())
                self.store.prune("bases")
        return self._put(self._bases, key, base)

    # -- internals ---------------------------------------------------------------------

    def _get(self, table: OrderedDict, key: tuple) -> Any:
        with self._lock:
            found = table.get(key)
            if found is not None:
                table.move_to_end(key)
            return found

    def _put(self, table: OrderedDict, key: tuple, value: Any) -> Any:
        with self._lock:
            value = table.setdefault(key, value)  # another thread's, if it got there first
            table.move_to_end(key)
            while len(table) > KEEP_IN_MEMORY:
                table.popitem(last=False)
            return value

    def _key(self, *parts: str) -> str:
        """A file name for what this code, with these libraries, makes from `parts`."""
        if self._code is None:
            self._code = code_digest()
        digest = hashlib.sha256(self._code.encode())
        for part in parts:
            digest.update(b"\0" + part.encode())
        return digest.hexdigest()[:40]


def code_digest() -> str:
    """Names the code whose output is stored: this package's source, the theme loader, and the versions of
    Jinja2, lxml, python-docx (read from its files: importing it is what a stored base saves) and Python."""
    import jinja2
    from lxml import etree

    digest = hashlib.sha256(f"{__version__}\0{jinja2.__version__}\0{etree.LXML_VERSION}\0"
                            f"{sys.implementation.cache_tag}\0{sys.version}".encode())
    here = Path(__file__).resolve().parent
    sources = sorted(here.glob("*.py")) + [here.parent / "theme.py"]
    import importlib.util

    spec = importlib.util.find_spec("docx")
    if spec is not None and spec.origin:
        sources.append(Path(spec.origin))  # python-docx's __init__.py holds its __version__
    for path in sources:
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        except OSError:
            digest.update(path.name.encode() + b"\0unreadable")
    return digest.hexdigest()


class _Store:
    """Files below <cache>/build/ that only this user wrote; any failure is a miss, never an error."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, kind: str, name: str) -> Path:
        return self.root / kind / name

    def read(self, relative: Path, limit: int) -> bytes | None:
        """The file's bytes if it is a regular file of ours (not a symlink, not writable by others)."""
        path = self.root / relative
        try:
            data = read_regular(path, limit, follow_symlinks=False, owned_only=True)
        except OSError:
            return None
        try:
            os.utime(path)  # its mtime is its last use, for prune()
        except OSError:
            pass
        return data

    def write(self, relative: Path, data: bytes) -> None:
        """Written whole or not at all (files.write_atomic); 0600, folders 0700, as the files may be code."""
        try:
            write_atomic(self.root / relative, data, folder_mode=0o700)
        except OSError:
            pass

    def prune(self, kind: str) -> None:
        """Keep the KEEP_ON_DISK most recently used entries of a kind (a theme's template folder, or a base)."""
        try:
            entries = [(_last_use(entry), entry.path, entry.is_dir(follow_symlinks=False))
                       for entry in os.scandir(self.root / kind) if not entry.name.startswith(".")]
        except OSError:
            return
        if len(entries) <= KEEP_ON_DISK:
            return
        import shutil

        for _, path, is_dir in sorted(entries)[: len(entries) - KEEP_ON_DISK]:
            try:
                if is_dir:
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            except OSError:
                pass


def _last_use(entry: os.DirEntry) -> float:
    """A file's mtime; a folder's latest among its files (each read refreshes its file's mtime)."""
    latest = entry.stat(follow_symlinks=False).st_mtime
    if entry.is_dir(follow_symlinks=False):
        with os.scandir(entry.path) as inside:
            for item in inside:
                latest = max(latest, item.stat(follow_symlinks=False).st_mtime)
    return latest


def _bytecode_cache(store: _Store, folder: Path) -> Any:
    """Jinja2's bytecode cache on one theme's folder below the store.

    Bytecode is code (and Jinja2 unpickles the header of each file), so it is
    read only from our own files (see _Store.read); Jinja2 itself checks that
    it was made from the same template source and by the same Python, and a
    damaged file is compiled again.
    """
    from jinja2.bccache import Bucket, BytecodeCache

    relative = folder.relative_to(store.root)

    class _Cache(BytecodeCache):
        def load_bytecode(self, bucket: Bucket) -> None:
            data = store.read(relative / bucket.key, MAX_BYTECODE)
            if data is None:
                return
            try:
                bucket.bytecode_from_string(data)
            except Exception:  # damaged (Jinja2 unpickles its header and unmarshals the code): compile again
                bucket.reset()

        def dump_bytecode(self, bucket: Bucket) -> None:
            store.write(relative / bucket.key, bucket.bytecode_to_string())
            store.prune(relative.parts[0])

    return _Cache()
