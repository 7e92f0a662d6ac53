"""Find a theme folder and read its theme.toml.

This module is on the cache-hit path (its fingerprint goes into the cache key),
so it imports neither Jinja2 nor python-docx: only tomllib and the standard
library. Everything a theme decides lives in its folder as data; this module
validates that data up front so a broken theme fails with a message naming the
file, not with a traceback from deep inside the builder.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from resumec.errors import InputError
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
                meta = tomllib.loads(toml_path.read_text("utf-8")).get("theme", {})
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
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
        raise InputError(f"{shown}: invalid theme", [f"{shown}: {p}" for p in problems])

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
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{shown}: missing (a theme folder needs a {THEME_FILE})") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{shown}:{line}: not valid UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_POS_RE.match(message)
        if m:
            raise InputError(f"{shown}:{m['line']}:{m['col']}: {m['msg']}") from None
        raise InputError(f"{shown}: {message}") from None


def _folder_digest(root: Path) -> str:
    """sha256 over every file (sorted relative paths + bytes), unambiguously framed."""
    digest = hashlib.sha256()
    files = sorted(
        (p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file()
    )
    for rel, path in files:
        data = path.read_bytes()
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


def _validate(config: dict) -> list[str]:
    problems: list[str] = []
    colors = config.get("colors", {})
    fonts = config.get("fonts", {})
    for key in config:
        if key not in _TOP_LEVEL:
            problems.append(f"unknown table [{key}] (known: {', '.join(sorted(_TOP_LEVEL))})")
    for key in _TOP_LEVEL - {"locales"}:
        if key in config and not isinstance(config[key], dict):
            problems.append(f"{key} must be a table ([{key}])")
    if problems:
        return problems

    meta = config.get("theme", {})
    for key in ("name", "description", "lang", "extends"):
        if key in meta and not isinstance(meta[key], str):
            problems.append(f"[theme] {key} must be a string")

    page = config.get("page", {})
    if "size" in page and page["size"] not in PAPER_SIZES:
        problems.append(f"[page] size must be one of {', '.join(map(repr, PAPER_SIZES))}, got {page['size']!r}")
    margins = page.get("margins", {})
    if not isinstance(margins, dict):
        problems.append("[page] margins must be a table like { top = \"2cm\", right = \"2cm\", … }")
    else:
        for side, value in margins.items():
            if side not in ("top", "right", "bottom", "left"):
                problems.append(f"[page] margins: unknown side {side!r}")
            problems += _check("length", value, f"[page] margins.{side}", colors)

    photo = config.get("photo", {})
    for key, value in photo.items():
        if key == "position":
            if value not in PHOTO_POSITIONS:
                problems.append(f"[photo] position must be one of {', '.join(map(repr, PHOTO_POSITIONS))}, got {value!r}")
        elif key not in ("width", "height"):
            problems.append(f"[photo] unknown key {key!r} (known: width, height, position)")
        else:
            problems += _check("length", value, f"[photo] {key}", colors)

    for key, value in fonts.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(f"[fonts] {key} must be a font family name")
    for key, value in colors.items():
        if not isinstance(value, str) or not _HEX_RE.match(value):
            problems.append(f"[colors] {key} must be a hex colour like \"1F3864\", got {value!r}")

    problems += _validate_words(config, "[")
    locales = config.get("locales", {})
    if not isinstance(locales, dict):
        problems.append("locales must be a table ([locales.de] …)")
    else:
        for tag, table in locales.items():
            if not isinstance(table, dict):
                problems.append(f"[locales.{tag}] must be a table")
                continue
            for key in table:
                if key not in ("titles", "labels", "dates"):
                    problems.append(f"[locales.{tag}] may only hold titles, labels and dates, not {key!r}")
            problems += _validate_words(table, f"[locales.{tag}.")

    sections = config.get("sections", {})
    for key in ("order", "hidden"):
        value = sections.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"[sections] {key} must be a list of section names")
            continue
        for item in value:
            if item not in SECTION_KEYS:
                problems.append(f"[sections] {key}: unknown section {item!r} (valid: {', '.join(SECTION_KEYS)})")
        if len(set(value)) != len(value):
            problems.append(f"[sections] {key} lists a section twice")

    styles = config.get("styles", {})
    for name, props in styles.items():
        where = f"[styles.\"{name}\"]" if " " in name else f"[styles.{name}]"
        if not isinstance(props, dict):
            problems.append(f"{where} must be a table")
            continue
        kind = props.get("type", "paragraph")
        if kind not in _STYLE_TYPES:
            problems.append(f"{where} type must be \"paragraph\" or \"character\", got {kind!r}")
        for prop, value in props.items():
            spec = STYLE_PROPERTIES.get(prop)
            if spec is None:
                problems.append(f"{where} unknown property {prop!r} (known: {', '.join(sorted(STYLE_PROPERTIES))})")
                continue
            value_kind, paragraph_only = spec
            if paragraph_only and kind == "character":
                problems.append(f"{where} {prop} applies only to paragraph styles")
            problems += _check(value_kind, value, f"{where} {prop}", colors)
            if prop == "align" and value not in _ALIGNS:
                problems.append(f"{where} align must be one of {', '.join(_ALIGNS)}")
            if prop == "bullet" and isinstance(value, str) and len(value) != 1:
                problems.append(f"{where} bullet must be a single character")
            if prop in ("based_on", "next") and isinstance(value, str) and value == name:
                problems.append(f"{where} {prop} cannot name the style itself")
    return problems


def _validate_words(table: dict, prefix: str) -> list[str]:
    """titles, labels and dates: the localizable tables."""
    problems = []
    for key in ("titles", "labels"):
        value = table.get(key, {})
        if not isinstance(value, dict):
            problems.append(f"{prefix}{key}] must be a table")
            continue
        for item, text in value.items():
            if not isinstance(text, str):
                problems.append(f"{prefix}{key}] {item} must be a string")
    dates = table.get("dates", {})
    if not isinstance(dates, dict):
        return problems + [f"{prefix}dates] must be a table"]
    for key in ("format", "separator", "present"):
        if key in dates and not isinstance(dates[key], str):
            problems.append(f"{prefix}dates] {key} must be a string")
    for key in ("months", "months_long"):
        if key in dates:
            value = dates[key]
            if not (isinstance(value, list) and len(value) == 12 and all(isinstance(v, str) for v in value)):
                problems.append(f"{prefix}dates] {key} must be a list of 12 month names")
    return problems


def _check(kind: str, value: Any, where: str, colors: dict) -> list[str]:
    if kind == "str" and not isinstance(value, str):
        return [f"{where} must be a string"]
    if kind == "bool" and not isinstance(value, bool):
        return [f"{where} must be true or false"]
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return [f"{where} must be an integer"]
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [f"{where} must be a number"]
    if kind == "length":
        try:
            length_pt(value)
        except ValueError as exc:
            return [f"{where}: {exc}"]
    if kind == "color":
        if not isinstance(value, str) or not (value in colors or _HEX_RE.match(value)):
            return [f"{where} must be a hex colour or a name from [colors], got {value!r}"]
    if kind == "border":
        if not isinstance(value, dict):
            return [f"{where} must be a table like {{ width = 0.75, color = \"rule\", space = 1 }}"]
        out = []
        for key, sub in value.items():
            if key not in _BORDER_KEYS:
                out.append(f"{where}: unknown key {key!r}")
            else:
                out += _check(_BORDER_KEYS[key], sub, f"{where}.{key}", colors)
        if value.get("style", "single") not in _BORDER_STYLES:
            out.append(f"{where}.style must be one of {', '.join(_BORDER_STYLES)}")
        return out
    return []
