"""Find a theme folder and read its theme.toml.

This module is on the cache-hit path (its fingerprint goes into the cache key),
so it imports neither Jinja2 nor python-docx: only tomllib and the standard
library. Everything a theme decides lives in its folder as data; theme_check.py
validates that data up front so a broken theme fails with a message naming the
file and line, not with a traceback from deep inside the builder.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from resumec.errors import InputError, Problem
from resumec.files import FileTooLarge, NotRegularFile, read_regular
from resumec.sections import SECTION_KEYS


PAPER_SIZES: Mapping[str, tuple[float, float]] = MappingProxyType({  # width, height in points
    "a4": (595.3, 841.9),
    "letter": (612.0, 792.0),
})

BUILTIN_DIR = Path(__file__).resolve().parent / "themes"
# Words every theme gets as defaults, one <lang>.toml per language holding
# [titles], [labels] and [dates]. en.toml is the base under a theme's own
# tables; the others become [locales.<lang>]. A theme's own tables win.
SHARED_LOCALES_DIR = BUILTIN_DIR / "_locales"
BASE_LANGUAGE = "en"
THEME_FILE = "theme.toml"
# The theme the built-in ones extend: the templates of every entry shape and the
# styles they use. Reachable by name (`extends = "_base"`), never listed.
BASE_THEME = "_base"
DEFAULT_HEADING_STYLE = "Heading 1"
_MAX_EXTENDS_DEPTH = 8
_MEMO_ENTRIES = 64  # a load_theme memo is cleared beyond this: themes a long-lived process has seen, x 2
# Bounds on what loading a theme may read: built-in theme.toml files are ~8 kB,
# whole theme folders ~20 kB in a dozen files.
MAX_TOML_BYTES = 1024 * 1024
MAX_THEME_FILES = 1000
MAX_THEME_BYTES = 20 * 1000 * 1000

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HIDDEN_NAME_RE = re.compile(r"^_[a-z0-9][a-z0-9_-]*$")  # built-in, but not a theme to pick: "_base"
_HEX_RE = re.compile(r"^#?[0-9A-Fa-f]{6}$")
_LENGTH_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(pt|cm|mm|in)\s*$")
_TOML_POS_RE = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")
_UNITS_PT = MappingProxyType({"pt": 1.0, "cm": 72 / 2.54, "mm": 72 / 25.4, "in": 72.0})


@dataclass(frozen=True)
class Theme:
    """A loaded, validated theme; `config` is theme.toml merged over any parent's."""

    name: str
    root: Path
    config: dict = field(hash=False)
    sections: tuple[str, ...]
    titles: dict[str, str] = field(hash=False)
    fingerprint: str
    # Folders searched for templates, this theme's first, then what it extends.
    search_path: tuple[Path, ...] = ()
    # How to name this theme's files in messages ("themes/classic/…" or the user's path).
    display_root: str = ""

    def display(self, path: Path) -> str:
        """A file of this theme (or a parent) as the user should see it in errors."""
        for root, shown in _display_roots(self):
            try:
                rel = path.resolve().relative_to(root)
            except ValueError:
                continue
            return f"{shown}/{rel.as_posix()}"
        return str(path)


def _display_roots(theme: Theme) -> list[tuple[Path, str]]:
    roots = []
    for root in theme.search_path or (theme.root,):
        resolved = root.resolve()
        if resolved.parent == BUILTIN_DIR:
            roots.append((resolved, f"themes/{resolved.name}"))
        elif resolved == theme.root.resolve() and theme.display_root:
            roots.append((resolved, theme.display_root))
        else:
            roots.append((resolved, str(root)))
    return roots


# ---------------------------------------------------------------------------
# Public API


def builtin_themes() -> list[tuple[str, str]]:
    """(name, description) of every theme shipped with resumec, sorted by name."""
    found = []
    if BUILTIN_DIR.is_dir():
        for entry in sorted(BUILTIN_DIR.iterdir()):
            toml_path = entry / THEME_FILE
            if not (entry.is_dir() and toml_path.is_file() and _NAME_RE.match(entry.name)):
                continue
            try:
                meta = tomllib.loads(read_regular(toml_path, MAX_TOML_BYTES).decode("utf-8")).get("theme", {})
            except (OSError, ValueError):  # UnicodeDecodeError and TOMLDecodeError are ValueErrors
                meta = {}
            description = meta.get("description", "") if isinstance(meta, dict) else ""
            found.append((entry.name, description if isinstance(description, str) else ""))
    return found


def load_theme(spec: str, memo: dict | None = None) -> Theme:
    """Load a built-in theme by name, or a theme folder by path.

    `memo` (a long-lived caller's, e.g. a Builder's `themes`) keeps what was
    parsed and checked, keyed by the digest of the files it came from: every
    load still reads and hashes the files, so an edited theme is never served
    stale, but only a changed file is parsed and checked again.
    """
    root, display = _locate(spec)
    if memo is not None and len(memo) > _MEMO_ENTRIES:
        memo.clear()
    return _load(root, display, chain=(), shared_locales=_shared_locales(memo), memo=memo)


def length_pt(value: Any) -> float:
    """A theme length (number of points, or "2cm", "18mm", "0.75in", "10pt") in points."""
    if isinstance(value, bool):
        raise ValueError("expected a length")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = _LENGTH_RE.match(value)
        if m:
            return float(m.group(1)) * _UNITS_PT[m.group(2)]
    raise ValueError(f"expected a length like 12, \"2cm\", \"18mm\", \"0.75in\" or \"10pt\", got {value!r}")


def localized(config: dict, lang: str | None) -> dict:
    """Config with `[locales.<lang>]` (or its base language) merged over it.

    Locales may override `titles`, `labels` and `dates`; "de-AT" falls back to "de".
    """
    if not lang:
        return config
    locales = config.get("locales", {})
    tag = lang.replace("_", "-")
    for candidate in (tag, tag.split("-")[0]):
        for key, table in locales.items():
            if key.lower() == candidate.lower():
                return _merge(config, table)
    return config


def titles_for(theme: Theme, lang: str | None) -> dict[str, str]:
    """Section titles for a language, every key in SECTION_KEYS present."""
    return _titles(localized(theme.config, lang))


# ---------------------------------------------------------------------------
# Locating and loading


def _locate(spec: str) -> tuple[Path, str]:
    """Resolve a theme spec to (folder, name to show in messages)."""
    if not spec or not spec.strip():
        raise InputError(f"empty theme name (available: {_available()})")
    looks_like_path = "/" in spec or os.sep in spec or spec.startswith(".")
    if not looks_like_path and _is_builtin(spec):
        return BUILTIN_DIR / spec, f"themes/{spec}"
    path = Path(spec).expanduser()
    if looks_like_path or path.is_dir():
        if not path.is_dir():
            raise InputError(f"theme folder {spec} does not exist")
        return path, spec.rstrip("/\\") or spec
    raise InputError(f"unknown theme {spec!r} (available: {_available()}; or give a path to a theme folder)")


def _is_builtin(name: str) -> bool:
    """A listed built-in theme ("classic") or a hidden one ("_base"); never "_locales"."""
    if _NAME_RE.match(name):
        return (BUILTIN_DIR / name).is_dir()
    return bool(_HIDDEN_NAME_RE.match(name)) and (BUILTIN_DIR / name / THEME_FILE).is_file()


def _available() -> str:
    names = [name for name, _ in builtin_themes()]
    return ", ".join(names) if names else "none installed"


def _load(root: Path, display: str, chain: tuple[Path, ...], shared_locales: tuple[dict, dict, str],
          memo: dict | None = None) -> Theme:
    resolved = root.resolve()
    if resolved in chain:
        raise InputError(f"{display}/{THEME_FILE}: 'extends' makes a cycle")
    if len(chain) >= _MAX_EXTENDS_DEPTH:
        raise InputError(f"{display}/{THEME_FILE}: 'extends' nests more than {_MAX_EXTENDS_DEPTH} themes deep")
    shown = f"{display}/{THEME_FILE}"
    own, own_digest = _read_theme_toml(root / THEME_FILE, shown, memo)

    parent: Theme | None = None
    meta = own.get("theme", {})
    extends = meta.get("extends") if isinstance(meta, dict) else None
    if extends is not None:
        if not isinstance(extends, str) or not extends.strip():
            raise InputError(f"{shown}: [theme] extends must be a theme name or a relative folder path")
        parent_root, parent_display = _locate_parent(extends, root, shown)
        parent = _load(parent_root, parent_display, chain + (resolved,), shared_locales, memo)

    base, shared, shared_digest = shared_locales
    # The merged and checked config depends on these three only; a memo keeps it (never a failure).
    merged_key = ("config", own_digest, shared_digest, parent.fingerprint if parent else None)
    config = memo.get(merged_key) if memo is not None else None
    if config is None:
        # The parent already sits on the shared English words; a root theme gets them here.
        config = _merge(parent.config, own) if parent else _merge(base, own)
        # "extends" and the parent's name/description describe the parent, not us.
        config["theme"] = own.get("theme", {})
        if isinstance(config.get("locales", {}), dict):
            config["locales"] = _merge_locales(shared, config.get("locales", {}))
        from resumec import theme_check  # its own module: what a valid theme.toml is, and where a problem sits

        problems = theme_check.problems(config)
        if problems:
            raise InputError(f"{shown}: invalid theme",
                             problems=theme_check.located(problems, root / THEME_FILE, shown))
        if memo is not None:
            memo[merged_key] = config

    name = resolved.name if resolved.parent == BUILTIN_DIR else config["theme"].get("name", resolved.name)
    digest = hashlib.sha256(b"resumec-theme-v1\0")
    digest.update(_folder_digest(root).encode())
    digest.update(b"\0locales\0" + shared_digest.encode())
    if parent:
        digest.update(b"\0extends\0" + parent.fingerprint.encode())
    return Theme(
        name=name,
        root=root,
        config=config,
        sections=_sections(config),
        titles=_titles(config),
        fingerprint=digest.hexdigest(),
        search_path=(root,) + (parent.search_path if parent else ()),
        display_root=display,
    )


def _locate_parent(extends: str, child_root: Path, shown: str) -> tuple[Path, str]:
    """`extends` names a built-in theme, or a folder relative to the child theme."""
    if "/" not in extends and not extends.startswith("."):
        if _is_builtin(extends):
            return BUILTIN_DIR / extends, f"themes/{extends}"
        if _NAME_RE.match(extends) or not (child_root / extends).is_dir():
            raise InputError(f"{shown}: extends unknown theme {extends!r} (available: {_available()})")
    path = child_root / extends
    if not path.is_dir():
        raise InputError(f"{shown}: extends {extends!r}, but {path} is not a folder")
    return path, str(path)


def _shared_locales(memo: dict | None = None) -> tuple[dict, dict, str]:
    """(base English words, {lang: locale table}, digest of the files).

    Read once per load_theme (a few tiny files, shared by the themes it
    extends), so the digest that goes into each theme's fingerprint always
    matches what was merged; parsed again only when that digest changes.
    """
    base: dict = {}
    locales: dict = {}
    if not SHARED_LOCALES_DIR.is_dir():
        return base, locales, ""
    digest = _folder_digest(SHARED_LOCALES_DIR)
    if memo is not None and ("locales", digest) in memo:
        return memo[("locales", digest)]
    for path in sorted(SHARED_LOCALES_DIR.glob("*.toml")):
        table = _read_toml(path, f"themes/_locales/{path.name}")
        if path.stem == BASE_LANGUAGE:
            base = table
        else:
            locales[path.stem] = table
    found = (base, locales, digest)
    if memo is not None:
        memo[("locales", digest)] = found
    return found


def _merge_locales(shared: dict, own: dict) -> dict:
    """Shared locales under the theme's; tags match case-insensitively ("DE" overrides "de")."""
    merged = dict(shared)
    for tag, table in own.items():
        match = next((key for key in shared if key.lower() == str(tag).lower()), None)
        base = merged.pop(match) if match is not None else None
        merged[tag] = _merge(base, table) if isinstance(base, dict) and isinstance(table, dict) else table
    return merged


def _read_theme_toml(path: Path, shown: str, memo: dict | None) -> tuple[dict, str]:
    """A theme.toml's tables and the digest of its bytes; with a memo, bytes parsed before are not parsed again."""
    raw = _read_toml_bytes(path, shown)
    digest = hashlib.sha256(raw).hexdigest()
    found = memo.get(("toml", digest)) if memo is not None else None
    if found is None:
        found = _parse_toml(raw, shown)
        if memo is not None:
            memo[("toml", digest)] = found
    return found, digest


def _read_toml(path: Path, shown: str) -> dict:
    return _parse_toml(_read_toml_bytes(path, shown), shown)


def _read_toml_bytes(path: Path, shown: str) -> bytes:
    try:
        return read_regular(path, MAX_TOML_BYTES)
    except FileNotFoundError:
        raise InputError(Problem(f"missing (a theme folder needs a {THEME_FILE})", shown)) from None
    except NotRegularFile as exc:
        raise InputError(Problem(f"not a regular file (it is {exc.kind})", shown)) from None
    except FileTooLarge:
        raise InputError(Problem(f"over the {MAX_TOML_BYTES // 1024} kB limit for a theme file", shown)) from None
    except OSError as exc:
        raise InputError(Problem(f"cannot read: {exc.strerror or exc}", shown)) from None


def _parse_toml(raw: bytes, shown: str) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(Problem("not valid UTF-8", shown, line)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_POS_RE.match(message)
        if m:
            raise InputError(Problem(m["msg"], shown, int(m["line"]), int(m["col"]))) from None
        raise InputError(Problem(message, shown)) from None
    except ValueError:  # an integer over Python's int-from-string digit limit (4300 by default)
        limit = sys.get_int_max_str_digits()
        raise InputError(Problem(f"holds an integer too long to read (over {limit} digits)", shown)) from None


def _folder_digest(root: Path) -> str:
    """sha256 over every file (sorted relative paths + bytes), unambiguously framed.

    Bounded: at most MAX_THEME_FILES files and MAX_THEME_BYTES in all. Symlinked
    folders are not entered (as before); a dangling symlink (an editor's lock
    file) is skipped; a FIFO, socket or device is an error, since the template
    loader would block on it or read it without end.
    """
    digest = hashlib.sha256()
    files: list[tuple[str, Path]] = []
    for folder, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in names:
            path = Path(folder, name)
            files.append((path.relative_to(root).as_posix(), path))
            if len(files) > MAX_THEME_FILES:
                raise InputError(f"{root}: a theme folder holds at most {MAX_THEME_FILES} files")
    budget = MAX_THEME_BYTES
    for rel, path in sorted(files):
        try:
            data = read_regular(path, budget)
        except FileNotFoundError:
            continue  # a dangling symlink, or removed meanwhile: not part of the theme
        except IsADirectoryError:
            continue  # a symlink to a folder: not entered, as folders linked in never were
        except NotRegularFile as exc:
            raise InputError(f"{root}/{rel}: not a regular file (it is {exc.kind}); "
                             "a theme folder may hold only regular files") from None
        except FileTooLarge:
            raise InputError(f"{root}: a theme folder holds at most {MAX_THEME_BYTES // 1_000_000} MB "
                             f"of files ({rel} goes over)") from None
        except OSError as exc:
            raise InputError(f"{root}/{rel}: cannot read: {exc.strerror or exc}") from None
        budget -= len(data)
        rel_bytes = rel.encode("utf-8", "surrogateescape")
        digest.update(b"%d:%s%d:" % (len(rel_bytes), rel_bytes, len(data)))
        digest.update(data)
    return digest.hexdigest()


def _merge(base: dict, over: dict) -> dict:
    """Deep merge: tables merge key by key, anything else (arrays too) replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def heading_style(config: Mapping[str, Any]) -> str:
    """The paragraph style the builder writes section headings in; "" when the templates write them."""
    table = config.get("sections", {})
    return table.get("heading_style", DEFAULT_HEADING_STYLE) if isinstance(table, Mapping) else DEFAULT_HEADING_STYLE


def _sections(config: dict) -> tuple[str, ...]:
    table = config.get("sections", {})
    order = list(table.get("order", []))
    hidden = set(table.get("hidden", []))
    order += [key for key in SECTION_KEYS if key not in order]
    return tuple(key for key in order if key not in hidden)


def _titles(config: dict) -> dict[str, str]:
    """Every section's title: the theme's (over the shared words in themes/_locales/en.toml), else the key."""
    given = config.get("titles", {})
    return {key: given.get(key, key.capitalize()) for key in SECTION_KEYS}


def languages() -> tuple[str, ...]:
    """Languages with shared words: one themes/_locales/<lang>.toml each (what --lang accepts)."""
    try:
        return tuple(sorted(name[:-5] for name in os.listdir(SHARED_LOCALES_DIR) if name.endswith(".toml")))
    except OSError:
        return (BASE_LANGUAGE,)
