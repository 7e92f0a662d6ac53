"""What a valid theme.toml is: every problem at once, each naming its key and, when it can be found, its line.

Types, then ranges (every number finite and sane for what it is; margins and
the photo leave a usable page), then control characters anywhere. Kept apart
from theme.py, which finds and merges themes: this module only judges them.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from resumec.errors import Problem
from resumec.files import read_regular
from resumec.sections import SECTION_KEYS
from resumec.theme import _HEX_RE, MAX_TOML_BYTES, PAPER_SIZES, length_pt


def problems(config: dict) -> list[str]:
    """Every problem of a merged theme config; [] when it is valid."""
    return _validate(config) + _validate_layout(config)


def located(found: list[str], path: Path, shown: str) -> list[Problem]:
    """Each problem in the theme file, at its key's line when that is found (printed 'FILE:LINE: problem')."""
    return _located(found, path, shown)


def _validate_layout(config: dict) -> list[str]:
    """What the builder reads beyond the value tables: the heading style."""
    value = config.get("sections", {}).get("heading_style") if isinstance(config.get("sections"), dict) else None
    if value is not None and not isinstance(value, str):
        return ["[sections] heading_style must be the name of a paragraph style (or \"\" for none)"]
    return []




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
    try:
        text = read_regular(path, MAX_TOML_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    lines = []
    for problem in problems:
        line = _line_of(text, getattr(problem, "path", ())) if text else None
        lines.append(Problem(str(problem), shown, line))
    return lines
