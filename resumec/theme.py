"""Find a theme folder and read its theme.toml.

This module is on the cache-hit path (its fingerprint goes into the cache key),
so it imports neither Jinja2 nor python-docx: only tomllib and the standard
library. Everything a theme decides lives in its folder as data; this module
validates that data up front so a broken theme fails with a message naming the
file, not with a traceback from deep inside the builder.
"""

from __future__ import annotations

import hashlib
import math
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


# Fallbacks for keys a theme may leave out, so a minimal theme.toml still works.
DEFAULT_TITLES: Mapping[str, str] = MappingProxyType({
    "work": "Experience",
    "volunteer": "Volunteering",
    "education": "Education",
    "awards": "Awards",
    "certificates": "Certificates",
    "publications": "Publications",
    "skills": "Skills",
    "languages": "Languages",
    "interests": "Interests",
    "references": "References",
    "projects": "Projects",
})

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


def load_theme(spec: str) -> Theme:
    """Load a built-in theme by name, or a theme folder by path."""
    root, display = _locate(spec)
    return _load(root, display, chain=())


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


def _load(root: Path, display: str, chain: tuple[Path, ...]) -> Theme:
    resolved = root.resolve()
    if resolved in chain:
        raise InputError(f"{display}/{THEME_FILE}: 'extends' makes a cycle")
    if len(chain) >= _MAX_EXTENDS_DEPTH:
        raise InputError(f"{display}/{THEME_FILE}: 'extends' nests more than {_MAX_EXTENDS_DEPTH} themes deep")
    shown = f"{display}/{THEME_FILE}"
    own = _read_toml(root / THEME_FILE, shown)

    parent: Theme | None = None
    meta = own.get("theme", {})
    extends = meta.get("extends") if isinstance(meta, dict) else None
    if extends is not None:
        if not isinstance(extends, str) or not extends.strip():
            raise InputError(f"{shown}: [theme] extends must be a theme name or a relative folder path")
        parent_root, parent_display = _locate_parent(extends, root, shown)
        parent = _load(parent_root, parent_display, chain + (resolved,))

    base, shared, shared_digest = _shared_locales()
    # The parent already sits on the shared English words; a root theme gets them here.
    config = _merge(parent.config, own) if parent else _merge(base, own)
    # "extends" and the parent's name/description describe the parent, not us.
    config["theme"] = own.get("theme", {})
    if isinstance(config.get("locales", {}), dict):
        config["locales"] = _merge_locales(shared, config.get("locales", {}))
    problems = _validate(config) + _validate_layout(config)
    if problems:
        raise InputError(f"{shown}: invalid theme", problems=_located(problems, root / THEME_FILE, shown))

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


def _shared_locales() -> tuple[dict, dict, str]:
    """(base English words, {lang: locale table}, digest of the files).

    Read on every load (a few tiny files) rather than cached, so the digest
    that goes into each theme's fingerprint always matches what was merged.
    """
    base: dict = {}
    locales: dict = {}
    if not SHARED_LOCALES_DIR.is_dir():
        return base, locales, ""
    for path in sorted(SHARED_LOCALES_DIR.glob("*.toml")):
        table = _read_toml(path, f"themes/_locales/{path.name}")
        if path.stem == BASE_LANGUAGE:
            base = table
        else:
            locales[path.stem] = table
    return base, locales, _folder_digest(SHARED_LOCALES_DIR)


def _merge_locales(shared: dict, own: dict) -> dict:
    """Shared locales under the theme's; tags match case-insensitively ("DE" overrides "de")."""
    merged = dict(shared)
    for tag, table in own.items():
        match = next((key for key in shared if key.lower() == str(tag).lower()), None)
        base = merged.pop(match) if match is not None else None
        merged[tag] = _merge(base, table) if isinstance(base, dict) and isinstance(table, dict) else table
    return merged


def _read_toml(path: Path, shown: str) -> dict:
    try:
        raw = read_regular(path, MAX_TOML_BYTES)
    except FileNotFoundError:
        raise InputError(Problem(f"missing (a theme folder needs a {THEME_FILE})", shown)) from None
    except NotRegularFile as exc:
        raise InputError(Problem(f"not a regular file (it is {exc.kind})", shown)) from None
    except FileTooLarge:
        raise InputError(Problem(f"over the {MAX_TOML_BYTES // 1024} kB limit for a theme file", shown)) from None
    except OSError as exc:
        raise InputError(Problem(f"cannot read: {exc.strerror or exc}", shown)) from None
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


def _validate_layout(config: dict) -> list[str]:
    """What the builder reads beyond the value tables: the heading style."""
    value = config.get("sections", {}).get("heading_style") if isinstance(config.get("sections"), dict) else None
    if value is not None and not isinstance(value, str):
        return ["[sections] heading_style must be the name of a paragraph style (or \"\" for none)"]
    return []


def _sections(config: dict) -> tuple[str, ...]:
    table = config.get("sections", {})
    order = list(table.get("order", []))
    hidden = set(table.get("hidden", []))
    order += [key for key in SECTION_KEYS if key not in order]
    return tuple(key for key in order if key not in hidden)


def _titles(config: dict) -> dict[str, str]:
    given = config.get("titles", {})
    return {key: given.get(key, DEFAULT_TITLES[key]) for key in SECTION_KEYS}


# ---------------------------------------------------------------------------
# Validation: every problem at once, each naming its key


_STYLE_TYPES = ("paragraph", "character")
# inline: a picture in the line; right: anchored at the right margin, text wrapping on its left.
PHOTO_POSITIONS = ("inline", "right")
_ALIGNS = ("left", "center", "right", "justify")
_BORDER_KEYS = MappingProxyType({"width": "number", "color": "color", "space": "number", "style": "str"})
_BORDER_STYLES = ("single", "double", "dotted", "dashed", "thick")
# property -> (kind, paragraph-only?)
STYLE_PROPERTIES: Mapping[str, tuple[str, bool]] = MappingProxyType({
    "type": ("str", False),
    "based_on": ("str", False),
    "next": ("str", True),
    "font": ("str", False),
    "size": ("number", False),
    "bold": ("bool", False),
    "italic": ("bool", False),
    "underline": ("bool", False),
    "caps": ("bool", False),
    "small_caps": ("bool", False),
    "color": ("color", False),
    "letter_spacing": ("number", False),
    "align": ("str", True),
    "space_before": ("number", True),
    "space_after": ("number", True),
    "line_spacing": ("number", True),
    "indent_left": ("length", True),
    "indent_right": ("length", True),
    "indent_first_line": ("length", True),
    "indent_hanging": ("length", True),
    "keep_with_next": ("bool", True),
    "keep_together": ("bool", True),
    "right_tab": ("bool", True),
    "border_top": ("border", True),
    "border_bottom": ("border", True),
    "border_left": ("border", True),
    "bullet": ("str", True),
    "bullet_font": ("str", True),
    "bullet_color": ("color", True),
    "outline_level": ("int", True),
})
_TOP_LEVEL = frozenset(
    {"theme", "page", "fonts", "colors", "dates", "sections", "titles", "labels", "styles", "locales", "photo"}
)


# Sane ranges for numbers, in points unless noted (lengths are converted first).
# Word's own limits where it has one (font size 1–1638 pt, paragraph spacing
# ≤ 1584 pt, outline levels 0–9, border widths ≤ 12 pt and spacing ≤ 31 pt);
# the rest are generous bounds no real theme comes near. Together they keep
# every value finite and the generated XML within what Word and LibreOffice accept.
NUMBER_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({
    "size": (1.0, 1638.0),
    "letter_spacing": (-100.0, 100.0),
    "space_before": (0.0, 1584.0),
    "space_after": (0.0, 1584.0),
    "line_spacing": (0.25, 10.0),  # in lines
    "outline_level": (0, 9),
    "border.width": (0.0, 12.0),
    "border.space": (0.0, 31.0),
})
# Margins must leave at least this much text area on every paper size (--paper can change it).
MIN_TEXT_PT = 72.0
# Control characters (C0, DEL, C1) and the two non-characters XML cannot hold.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class _Problem(str):
    """A message plus the key path it is about, so the theme file's line can be found."""

    path: tuple[str | int, ...] = ()


def _at(path: tuple[str | int, ...], message: str) -> _Problem:
    problem = _Problem(message)
    problem.path = path
    return problem


def _validate(config: dict) -> list[str]:
    problems: list[str] = []
    colors = config.get("colors", {})
    fonts = config.get("fonts", {})
    for key in config:
        if key not in _TOP_LEVEL:
            problems.append(_at((key,), f"unknown table [{_show_key(key)}] (known: {', '.join(sorted(_TOP_LEVEL))})"))
    for key in _TOP_LEVEL - {"locales"}:
        if key in config and not isinstance(config[key], dict):
            problems.append(_at((key,), f"{key} must be a table ([{key}])"))
    if problems:
        return problems + _controls(config)

    meta = config.get("theme", {})
    for key in ("name", "description", "lang", "extends"):
        if key in meta and not isinstance(meta[key], str):
            problems.append(_at(("theme", key), f"[theme] {key} must be a string"))

    page = config.get("page", {})
    if "size" in page and page["size"] not in PAPER_SIZES:
        problems.append(_at(("page", "size"),
                            f"[page] size must be one of {', '.join(map(repr, PAPER_SIZES))}, got {page['size']!r}"))
    margins = page.get("margins", {})
    if not isinstance(margins, dict):
        problems.append(_at(("page", "margins"),
                            "[page] margins must be a table like { top = \"2cm\", right = \"2cm\", … }"))
    else:
        for side, value in margins.items():
            if side not in ("top", "right", "bottom", "left"):
                problems.append(_at(("page", "margins", side), f"[page] margins: unknown side {side!r}"))
            problems += _check("length", value, f"[page] margins.{side}", colors, ("page", "margins", side))

    photo = config.get("photo", {})
    for key, value in photo.items():
        if key == "position":
            if value not in PHOTO_POSITIONS:
                problems.append(_at(("photo", key), f"[photo] position must be one of "
                                    f"{', '.join(map(repr, PHOTO_POSITIONS))}, got {value!r}"))
        elif key not in ("width", "height"):
            problems.append(_at(("photo", key), f"[photo] unknown key {key!r} (known: width, height, position)"))
        else:
            problems += _check("length", value, f"[photo] {key}", colors, ("photo", key))

    for key, value in fonts.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(_at(("fonts", key), f"[fonts] {key} must be a font family name"))
    for key, value in colors.items():
        if not isinstance(value, str) or not _HEX_RE.match(value):
            problems.append(_at(("colors", key), f"[colors] {key} must be a hex colour like \"1F3864\", got {value!r}"))

    problems += _validate_words(config, "[", ())
    locales = config.get("locales", {})
    if not isinstance(locales, dict):
        problems.append(_at(("locales",), "locales must be a table ([locales.de] …)"))
    else:
        for tag, table in locales.items():
            if not isinstance(table, dict):
                problems.append(_at(("locales", tag), f"[locales.{tag}] must be a table"))
                continue
            for key in table:
                if key not in ("titles", "labels", "dates"):
                    problems.append(_at(("locales", tag, key),
                                        f"[locales.{tag}] may only hold titles, labels and dates, not {key!r}"))
            problems += _validate_words(table, f"[locales.{tag}.", ("locales", tag))

    sections = config.get("sections", {})
    for key in ("order", "hidden"):
        value = sections.get(key, [])
        where = ("sections", key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(_at(where, f"[sections] {key} must be a list of section names"))
            continue
        for item in value:
            if item not in SECTION_KEYS:
                problems.append(_at(where, f"[sections] {key}: unknown section {item!r} "
                                    f"(valid: {', '.join(SECTION_KEYS)})"))
        if len(set(value)) != len(value):
            problems.append(_at(where, f"[sections] {key} lists a section twice"))

    styles = config.get("styles", {})
    for name, props in styles.items():
        where = f"[styles.\"{name}\"]" if " " in name else f"[styles.{name}]"
        if not isinstance(props, dict):
            problems.append(_at(("styles", name), f"{where} must be a table"))
            continue
        kind = props.get("type", "paragraph")
        if kind not in _STYLE_TYPES:
            problems.append(_at(("styles", name, "type"),
                                f"{where} type must be \"paragraph\" or \"character\", got {kind!r}"))
        for prop, value in props.items():
            path = ("styles", name, prop)
            spec = STYLE_PROPERTIES.get(prop)
            if spec is None:
                problems.append(_at(path, f"{where} unknown property {prop!r} "
                                    f"(known: {', '.join(sorted(STYLE_PROPERTIES))})"))
                continue
            value_kind, paragraph_only = spec
            if paragraph_only and kind == "character":
                problems.append(_at(path, f"{where} {prop} applies only to paragraph styles"))
            problems += _check(value_kind, value, f"{where} {prop}", colors, path)
            if prop == "align" and value not in _ALIGNS:
                problems.append(_at(path, f"{where} align must be one of {', '.join(_ALIGNS)}"))
            if prop == "bullet" and isinstance(value, str) and len(value) != 1:
                problems.append(_at(path, f"{where} bullet must be a single character"))
            if prop in ("based_on", "next") and isinstance(value, str) and value == name:
                problems.append(_at(path, f"{where} {prop} cannot name the style itself"))
    if not problems:  # ranges only make sense once every value has the right type
        problems += _ranges(config)
    return problems + _controls(config)


def _validate_words(table: dict, prefix: str, at: tuple[str, ...]) -> list[str]:
    """titles, labels and dates: the localizable tables."""
    problems: list[str] = []
    for key in ("titles", "labels"):
        value = table.get(key, {})
        if not isinstance(value, dict):
            problems.append(_at(at + (key,), f"{prefix}{key}] must be a table"))
            continue
        for item, text in value.items():
            if not isinstance(text, str):
                problems.append(_at(at + (key, item), f"{prefix}{key}] {item} must be a string"))
    dates = table.get("dates", {})
    if not isinstance(dates, dict):
        return problems + [_at(at + ("dates",), f"{prefix}dates] must be a table")]
    for key in ("format", "separator", "present"):
        if key in dates and not isinstance(dates[key], str):
            problems.append(_at(at + ("dates", key), f"{prefix}dates] {key} must be a string"))
    for key in ("months", "months_long"):
        if key in dates:
            value = dates[key]
            if not (isinstance(value, list) and len(value) == 12 and all(isinstance(v, str) for v in value)):
                problems.append(_at(at + ("dates", key), f"{prefix}dates] {key} must be a list of 12 month names"))
    return problems


def _check(kind: str, value: Any, where: str, colors: dict, path: tuple[str | int, ...] = ()) -> list[str]:
    if kind == "str" and not isinstance(value, str):
        return [_at(path, f"{where} must be a string")]
    if kind == "bool" and not isinstance(value, bool):
        return [_at(path, f"{where} must be true or false")]
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return [_at(path, f"{where} must be an integer")]
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [_at(path, f"{where} must be a number")]
    if kind == "number" and not math.isfinite(value):
        return [_at(path, f"{where} must be a finite number, got {value!r}")]
    if kind == "length":
        try:
            points = length_pt(value)
        except ValueError as exc:
            return [_at(path, f"{where}: {exc}")]
        if not math.isfinite(points):
            return [_at(path, f"{where} must be a finite length, got {value!r}")]
    if kind == "color":
        if not isinstance(value, str) or not (value in colors or _HEX_RE.match(value)):
            return [_at(path, f"{where} must be a hex colour or a name from [colors], got {value!r}")]
    if kind == "border":
        if not isinstance(value, dict):
            return [_at(path, f"{where} must be a table like {{ width = 0.75, color = \"rule\", space = 1 }}")]
        out = []
        for key, sub in value.items():
            if key not in _BORDER_KEYS:
                out.append(_at(path + (key,), f"{where}: unknown key {key!r}"))
            else:
                out += _check(_BORDER_KEYS[key], sub, f"{where}.{key}", colors, path + (key,))
        if value.get("style", "single") not in _BORDER_STYLES:
            out.append(_at(path + ("style",), f"{where}.style must be one of {', '.join(_BORDER_STYLES)}"))
        return out
    return []


def _ranges(config: dict) -> list[str]:
    """Every number within a sane range for what it is; margins and the photo leave a usable page.

    Runs on a config whose types are already valid.
    """
    problems: list[str] = []

    def check(path: tuple[str | int, ...], where: str, value: float, low: float, high: float, unit: str) -> None:
        if not low <= value <= high:
            problems.append(_at(path, f"{where} must be between {low:g} and {high:g}{unit}, got {value:g}{unit}"))

    page = config.get("page", {})
    given = page.get("margins", {})
    margins = {side: length_pt(given.get(side, "2cm")) for side in ("top", "right", "bottom", "left")}
    for side, value in margins.items():
        if value < 0:
            problems.append(_at(("page", "margins", side), f"[page] margins.{side} cannot be negative"))
    # --paper may switch between sizes, so the smallest width and height count.
    paper_w = min(w for w, _ in PAPER_SIZES.values())
    paper_h = min(h for _, h in PAPER_SIZES.values())
    text_w = paper_w - margins["left"] - margins["right"]
    text_h = paper_h - margins["top"] - margins["bottom"]
    for across, room, sides in (("width", text_w, ("left", "right")), ("height", text_h, ("top", "bottom"))):
        if room < MIN_TEXT_PT:
            side = next((s for s in sides if s in given), sides[0])
            problems.append(_at(("page", "margins", side),
                                f"[page] margins {sides[0]} + {sides[1]} leave {_cm(max(room, 0))} of text {across} "
                                f"on the smallest paper; at least {_cm(MIN_TEXT_PT)} is needed"))
    text_w, text_h = max(text_w, MIN_TEXT_PT), max(text_h, MIN_TEXT_PT)

    photo = config.get("photo", {})
    for key, room in (("width", text_w), ("height", text_h)):
        if key in photo:
            value = length_pt(photo[key])
            if not 0 < value <= room:
                problems.append(_at(("photo", key), f"[photo] {key} must be more than 0 and at most the text "
                                    f"{key} ({_cm(room)}), got {_cm(value)}"))

    for name, props in config.get("styles", {}).items():
        where = f"[styles.\"{name}\"]" if " " in name else f"[styles.{name}]"
        for prop, value in props.items():
            path = ("styles", name, prop)
            if prop in NUMBER_RANGES:
                check(path, f"{where} {prop}", value, *NUMBER_RANGES[prop],
                      "" if prop in ("line_spacing", "outline_level") else " pt")
            elif prop.startswith("indent_"):
                points = length_pt(value)
                low = 0.0 if prop in ("indent_first_line", "indent_hanging") else -text_w
                if not low <= points <= text_w:
                    problems.append(_at(path, f"{where} {prop} must be between {_cm(low)} and the text width "
                                        f"({_cm(text_w)}), got {_cm(points)}"))
            elif prop.startswith("border_"):
                for key in ("width", "space"):
                    if key in value:
                        check(path + (key,), f"{where} {prop}.{key}", value[key],
                              *NUMBER_RANGES[f"border.{key}"], " pt")
    return problems


def _cm(points: float) -> str:
    return f"{points * 2.54 / 72:.2f} cm"


def _controls(config: dict) -> list[str]:
    """Every key and string, anywhere in the config, free of control characters.

    Font names, style names and bullets go into the DOCX's XML, which cannot
    hold most of them; everything else is text a reader would never want.
    """
    problems: list[str] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(config, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                m = _CONTROL.search(key)
                if m:
                    problems.append(_at(path + (key,), f"{_show_path(path + (key,))}: the key holds control "
                                        f"character U+{ord(m.group()):04X}, which is not allowed"))
                stack.append((item, path + (key,)))
        elif isinstance(value, list):
            stack.extend((item, path + (index,)) for index, item in enumerate(value))
        elif isinstance(value, str):
            m = _CONTROL.search(value)
            if m:
                problems.append(_at(path, f"{_show_path(path)} holds control character U+{ord(m.group()):04X}, "
                                    "which is not allowed"))
    return sorted(problems, key=lambda p: [str(step) for step in p.path])


def _show_key(key: str) -> str:
    """A key as TOML would spell it, with anything unprintable escaped."""
    if _BARE_KEY.match(key):
        return key
    return '"' + key.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def _show_path(path: tuple[str | int, ...]) -> str:
    """("styles", "Heading 1", "font") -> '[styles."Heading 1"] font', as the theme file spells it."""
    keys = [step for step in path if isinstance(step, str)]
    table, key = (keys[:-1], keys[-1]) if len(keys) > 1 else (keys, None)
    shown = "[" + ".".join(_show_key(k) for k in table) + "]"
    if key is not None:
        shown += " " + _show_key(key)
    indexes = "".join(f"[{step}]" for step in path if isinstance(step, int))
    return shown + indexes


# --- finding the line a problem is about -------------------------------------------------------

_TABLE_LINE = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]#]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = r"(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
_KEY_LINE = re.compile(rf"^\s*(?P<key>{_KEY}(?:\s*\.\s*{_KEY})*)\s*=")
_KEY_PART = re.compile(r"\s*(?:([A-Za-z0-9_-]+)|\"([^\"]*)\"|'([^']*)')\s*(?:\.|$)")


def _split_key(text: str) -> tuple[str, ...]:
    parts = []
    pos = 0
    while pos < len(text):
        m = _KEY_PART.match(text, pos)
        if m is None or m.end() == pos:
            return ()
        raw = next(g for g in m.groups() if g is not None)
        parts.append(tomllib.loads(f'k = "{raw}"')["k"] if m.group(2) is not None and "\\" in raw else raw)
        pos = m.end()
    return tuple(parts)


def _line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """Best-effort line of the key at `path` (or of its nearest enclosing key) in a theme.toml.

    A plain line scan: [tables], `key = …` and dotted keys; enough for
    theme files, and only ever used to point at a problem.
    """
    keys = tuple(step for step in path if isinstance(step, str))
    best, best_len = None, 0
    table: tuple[str, ...] = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), 1):
        if in_multiline:
            in_multiline = line.count('"""') % 2 == 0 and line.count("'''") % 2 == 0
            continue
        m = _TABLE_LINE.match(line)
        if m:
            table = _split_key(m.group("name"))
            full = table
        else:
            m = _KEY_LINE.match(line)
            if m is None:
                continue
            full = table + _split_key(m.group("key"))
            rest = line[m.end():]
            in_multiline = rest.count('"""') % 2 == 1 or rest.count("'''") % 2 == 1
        common = len(full) if keys[: len(full)] == full else 0
        if common > best_len:
            best, best_len = number, common
    return best


def _located(problems: list[str], path: Path, shown: str) -> list[Problem]:
    """Each problem in the theme file, at its key's line when that is found (printed 'FILE:LINE: problem')."""
    try:
        text = read_regular(path, MAX_TOML_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    lines = []
    for problem in problems:
        line = _line_of(text, getattr(problem, "path", ())) if text else None
        lines.append(Problem(str(problem), shown, line))
    return lines


def languages() -> tuple[str, ...]:
    """Languages with shared words: one themes/_locales/<lang>.toml each (what --lang accepts)."""
    try:
        return tuple(sorted(name[:-5] for name in os.listdir(SHARED_LOCALES_DIR) if name.endswith(".toml")))
    except OSError:
        return (BASE_LANGUAGE,)
