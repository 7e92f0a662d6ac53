"""A theme's look as CSS: [page], [fonts], [colors] and [styles] of theme.toml.

Each paragraph style the HTML uses becomes a class (`p-entry-title` for
"Entry Title") with the properties it has in the DOCX, `based_on` chains
resolved; character styles become `c-…` classes. Every value comes from a
validated theme (numbers in range, colours as hex), and the only strings,
font names and the bullet, are written as CSS strings with every character
outside [A-Za-z0-9 _-] hex-escaped, so no theme can close the style sheet,
add a rule or load anything (the page's Content-Security-Policy forbids that
too). Font names get web fallbacks: the metric-compatible free font first
(Carlito for Calibri …), then a common system font and the generic family.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from resumec.theme import PAPER_SIZES, length_pt

__all__ = ["PARAGRAPH_STYLES", "CHARACTER_STYLES", "class_name", "stylesheet"]

# What the HTML renderer uses (the base templates' style names); others in the theme are not emitted.
PARAGRAPH_STYLES = ("Normal", "Title", "Subtitle", "Contact", "Summary", "Entry Title", "Entry Title First",
                    "Entry Meta", "Entry Body", "List Bullet", "Compact", "Reference", "Reference Name")
CHARACTER_STYLES = ("Entry Date", "Hyperlink")

# Free fonts that Word's fonts are laid out like, then what a browser is likely to have.
_FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "calibri": ("Carlito", "Segoe UI", "Helvetica Neue", "Arial", "sans-serif"),
    "cambria": ("Caladea", "Georgia", "serif"),
    "arial": ("Liberation Sans", "Helvetica Neue", "Helvetica", "sans-serif"),
    "helvetica": ("Liberation Sans", "Arial", "sans-serif"),
    "times new roman": ("Liberation Serif", "Times", "serif"),
    "times": ("Liberation Serif", "Times New Roman", "serif"),
    "georgia": ("serif",),
    "courier new": ("Liberation Mono", "Courier", "monospace"),
    "verdana": ("DejaVu Sans", "sans-serif"),
    "garamond": ("EB Garamond", "Georgia", "serif"),
}
_GENERIC = ("serif", "sans-serif", "monospace")
_SAFE_CHAR = re.compile(r"[A-Za-z0-9 _-]")
_BORDERS = {"single": "solid", "double": "double", "dotted": "dotted", "dashed": "dashed", "thick": "solid"}
# Word's "single" line spacing is the font's own line height, about 1.2 em for the fonts themes use.
_LINE_HEIGHT = 1.2


def class_name(style: str, prefix: str) -> str:
    """"Entry Title" -> "p-entry-title": lower case, anything else a hyphen."""
    return prefix + "-" + (re.sub(r"[^a-z0-9]+", "-", style.lower()).strip("-") or "style")


def css_string(text: str) -> str:
    """`text` as a quoted CSS string that cannot end early: everything unusual hex-escaped."""
    return '"' + "".join(c if _SAFE_CHAR.fullmatch(c) else f"\\{ord(c):x} " for c in text) + '"'


def font_stack(name: str, fonts: Mapping[str, Any]) -> str:
    """A font-family list for a [fonts] entry ("body") or a literal family name."""
    family = fonts.get(name, name)
    family = family if isinstance(family, str) and family.strip() else "Calibri"
    extra = _FALLBACKS.get(family.lower().strip())
    if extra is None:
        lowered = family.lower()
        generic = "monospace" if "mono" in lowered else "serif" if "serif" in lowered and "sans" not in lowered \
            else "sans-serif"
        extra = (generic,)
    names = [family, *extra[:-1]]
    east_asian = fonts.get("east_asian")
    if isinstance(east_asian, str) and east_asian.strip():
        names.append(east_asian)
    generic = extra[-1] if extra[-1] in _GENERIC else "sans-serif"
    return ", ".join([*(css_string(n) for n in dict.fromkeys(names)), generic])


def color(value: Any, colors: Mapping[str, Any]) -> str:
    """A [colors] name or a hex colour as #RRGGBB (the theme checker guarantees one of them)."""
    raw = colors.get(value, value) if isinstance(value, str) else "000000"
    raw = raw if isinstance(raw, str) else "000000"
    hexes = raw.lstrip("#")
    return "#" + (hexes.upper() if re.fullmatch(r"[0-9A-Fa-f]{6}", hexes) else "000000")


def _pt(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else f"{text}pt"


def resolved(styles: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A style's properties with its based_on chain merged under them (cycles stop the walk)."""
    chain: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    current: str | None = name
    while isinstance(current, str) and current not in seen and isinstance(styles.get(current), Mapping):
        seen.add(current)
        props = styles[current]
        chain.append(props)
        current = props.get("based_on")
    merged: dict[str, Any] = {}
    for props in reversed(chain):
        merged.update(props)
    return merged


def declarations(props: Mapping[str, Any], fonts: Mapping[str, Any], colors: Mapping[str, Any], *,
                 paragraph: bool) -> list[str]:
    """CSS declarations for one style's properties (see STYLE_PROPERTIES in theme.py)."""
    out: list[str] = []
    if "font" in props:
        out.append(f"font-family: {font_stack(props['font'], fonts)}")
    if "size" in props:
        out.append(f"font-size: {_pt(props['size'])}")
    if "bold" in props:
        out.append(f"font-weight: {700 if props['bold'] else 400}")
    if "italic" in props:
        out.append(f"font-style: {'italic' if props['italic'] else 'normal'}")
    if "underline" in props:
        out.append(f"text-decoration: {'underline' if props['underline'] else 'none'}")
    if "caps" in props:
        out.append(f"text-transform: {'uppercase' if props['caps'] else 'none'}")
    if "small_caps" in props:
        out.append(f"font-variant: {'small-caps' if props['small_caps'] else 'normal'}")
    if "color" in props:
        out.append(f"color: {color(props['color'], colors)}")
    if "letter_spacing" in props:
        out.append(f"letter-spacing: {_pt(props['letter_spacing'])}")
    if not paragraph:
        return out
    if "align" in props:
        out.append(f"text-align: {props['align']}")
    if "space_before" in props:
        out.append(f"margin-top: {_pt(props['space_before'])}")
    if "space_after" in props:
        out.append(f"margin-bottom: {_pt(props['space_after'])}")
    if "line_spacing" in props:
        out.append(f"line-height: {round(_LINE_HEIGHT * props['line_spacing'], 3):g}")
    left = length_pt(props.get("indent_left", 0))
    hanging = length_pt(props.get("indent_hanging", 0)) if "bullet" not in props else 0.0
    if left or hanging:
        out.append(f"padding-left: {_pt(max(left, 0.0))}")
    if "indent_right" in props:
        out.append(f"padding-right: {_pt(max(length_pt(props['indent_right']), 0.0))}")
    if hanging:
        out.append(f"text-indent: {_pt(-hanging)}")
    elif "indent_first_line" in props:
        out.append(f"text-indent: {_pt(length_pt(props['indent_first_line']))}")
    if props.get("keep_with_next"):
        out.append("break-after: avoid")
    if props.get("keep_together"):
        out.append("break-inside: avoid")
    for side in ("top", "left", "bottom"):
        spec = props.get(f"border_{side}")
        if isinstance(spec, Mapping):
            width = float(spec.get("width", 0.75)) * (2 if spec.get("style") == "thick" else 1)
            style = _BORDERS.get(spec.get("style", "single"), "solid")
            out.append(f"border-{side}: {_pt(max(width, 0.25))} {style} {color(spec.get('color', '000000'), colors)}")
            out.append(f"padding-{side}: {_pt(float(spec.get('space', 1)))}")
    return out


def _rule(selector: str, items: Iterable[str]) -> str:
    body = "; ".join(items)
    return f"{selector} {{ {body} }}" if body else ""


def stylesheet(config: Mapping[str, Any], heading: str, paper: str | None) -> str:
    """The page's whole style sheet."""
    page = config.get("page", {}) if isinstance(config.get("page"), Mapping) else {}
    size = (paper or page.get("size", "a4")).lower()
    width, _ = PAPER_SIZES.get(size, PAPER_SIZES["a4"])
    given = page.get("margins", {}) if isinstance(page.get("margins"), Mapping) else {}
    margins = [length_pt(given.get(side, "2cm")) for side in ("top", "right", "bottom", "left")]
    padding = " ".join(_pt(m) for m in margins)
    fonts = config.get("fonts", {})
    colors = config.get("colors", {})
    styles = config.get("styles", {})
    rules = [
        f"@page {{ size: {'A4' if size == 'a4' else 'letter'}; margin: {padding} }}",
        "*, *::before, *::after { box-sizing: border-box }",
        "html { -webkit-text-size-adjust: 100%; text-size-adjust: 100% }",
        "body { margin: 0; background: #FFFFFF; color: #000000; font-family: " + font_stack("body", fonts)
        + f"; line-height: {_LINE_HEIGHT} }}",
        "h1, h2, h3, p, ul, blockquote { margin: 0; padding: 0; font: inherit }",
        f"main {{ display: flex; flex-direction: column; max-width: {_pt(width)}; margin: 0 auto; padding: {padding} }}",
        "header, section, .entry, ul.bullets { display: flex; flex-direction: column }",
        ".head { display: flex; flex-direction: row; align-items: flex-start; gap: 12pt }",
        ".head-text { flex: 1 1 auto; display: flex; flex-direction: column; min-width: 0 }",
        ".photo { flex: none; object-fit: cover; object-position: 50% 30% }",
        ".photo-inline { align-self: flex-start }",
        "a { color: inherit; text-decoration: none }",
        "a:hover, a:focus-visible { text-decoration: underline }",
        ".line { display: flex; flex-wrap: wrap; align-items: baseline; column-gap: 12pt }",
        ".line > .what { flex: 1 1 auto; min-width: 0 }",
        ".line > .when { flex: none; margin-left: auto; white-space: nowrap }",
        "ul.bullets { list-style: none }",
        "ul.bullets > li { position: relative }",
        "@media screen and (max-width: 640px) { main { padding: 16px } }",
        "@media print { main { max-width: none; padding: 0 } a { text-decoration: none } }",
    ]
    normal = resolved(styles, "Normal")
    rules.append(_rule("main", declarations(normal, fonts, colors, paragraph=False)))
    for name in (*PARAGRAPH_STYLES, heading):
        props = resolved(styles, name)
        if name == heading:
            props = {"size": 12, "bold": True, "space_before": 10, "space_after": 4, **props}
        rules.append(_rule("." + class_name(name, "p"), declarations(props, fonts, colors, paragraph=True)))
        if name == "List Bullet":
            rules.append(_bullet(props, fonts, colors))
    for name in CHARACTER_STYLES:
        rules.append(_rule("." + class_name(name, "c"), declarations(resolved(styles, name), fonts, colors,
                                                                      paragraph=False)))
    return "\n".join(rule for rule in rules if rule) + "\n"


def _bullet(props: Mapping[str, Any], fonts: Mapping[str, Any], colors: Mapping[str, Any]) -> str:
    """The bullet of List Bullet: the theme's character at the hanging indent, in its font and colour."""
    left = length_pt(props.get("indent_left", 0))
    hanging = length_pt(props.get("indent_hanging", 0))
    bullet = props.get("bullet", "•") if isinstance(props.get("bullet"), str) else "•"
    items = [
        f"content: {css_string(bullet)}",
        "position: absolute",
        f"left: {_pt(max(left - hanging, 0.0))}",
        "text-indent: 0",
    ]
    if "bullet_font" in props:
        items.append(f"font-family: {font_stack(props['bullet_font'], fonts)}")
    if "bullet_color" in props:
        items.append(f"color: {color(props['bullet_color'], colors)}")
    rules = [_rule(".p-list-bullet", [f"padding-left: {_pt(max(left, hanging, 0.0))}", "text-indent: 0"]),
             _rule(".p-list-bullet::before", items)]
    return "\n".join(rules)
