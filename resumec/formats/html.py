"""`-f html`: one self-contained page with the theme's look, for a personal site.

Semantic HTML in reading order (h1 name, h2 section titles, h3 entry titles,
lists for highlights, blockquotes for references) styled by CSS made from
theme.toml (css.py). Self-contained and inert: the style sheet is inline, the
photo (when the theme has a [photo] place) is a data: URI, there is no script,
and a Content-Security-Policy meta tag forbids loading anything at all, so
opening the page makes no request. Every piece of résumé text is escaped;
links are real only for URLs `safe_url` accepts, the same rule as the DOCX.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from resumec import __version__
from resumec.formats.css import class_name, stylesheet
from resumec.formats.view import (CONTACT_SEPARATOR, ENTRY, GROUP, SEPARATOR, Entry, Inline, Link, Section, View,
                                  clean, entry_meta, group_parts, inline, link_url)

__all__ = ["render_html"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_MIME = {"png": "image/png", "jpeg": "image/jpeg"}


def render_html(view: View, *, paper: str | None, photo: Any | None) -> bytes:
    """The page as UTF-8 bytes; `photo` is a resumec.assets.Photo to embed, or None."""
    title = f"{view.name} – Résumé" if view.name else "Résumé"
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{_attr(view.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f'<meta name="generator" content="resumec {_attr(__version__)}">',
        f"<title>{_text(title)}</title>",
    ]
    if view.label:
        head.append(f'<meta name="description" content="{_attr(view.label)}">')
    head += ["<style>", stylesheet(view.config, view.heading_style, paper).rstrip("\n"), "</style>", "</head>"]
    body = ["<body>", "<main>", *_header(view, photo), *_summary(view)]
    for section in view.sections:
        body += _section(view, section)
    body += ["</main>", "</body>", "</html>"]
    return ("\n".join(head + body) + "\n").encode("utf-8")


# --- pieces --------------------------------------------------------------------------------


def _header(view: View, photo: Any | None) -> list[str]:
    text: list[str] = []
    if view.name:
        text.append(f'<h1 class="p-title">{_text(view.name)}</h1>')
    if view.label:
        text.append(f'<p class="p-subtitle">{_text(view.label)}</p>')
    if view.contact:
        separator = _text(CONTACT_SEPARATOR)
        text.append('<p class="p-contact">' + separator.join(_link(item) for item in view.contact) + "</p>")
    picture = _photo(view, photo)
    if picture is None:
        return ["<header>", *text, "</header>"] if text else []
    position = view.config.get("photo", {}).get("position", "inline")
    if position == "right":
        return ['<header class="head">', '<div class="head-text">', *text, "</div>", picture, "</header>"]
    return ["<header>", picture, *text, "</header>"]


def _photo(view: View, photo: Any | None) -> str | None:
    """The photo as an <img> with a data: URI, sized like the DOCX's [photo] box; None without one."""
    table = view.config.get("photo")
    if photo is None or not isinstance(table, dict) or photo.format not in _MIME:
        return None
    from resumec.theme import length_pt

    width = table.get("width")
    height = table.get("height")
    if width is None and height is None:
        width = "2.5cm"
    size = []
    if width is not None:
        size.append(f"width: {length_pt(width):.2f}pt")
    if height is not None:
        size.append(f"height: {length_pt(height):.2f}pt")
    data = base64.b64encode(photo.data).decode("ascii")
    alt = f"Photo of {view.name}" if view.name else "Photo"
    kind = "photo photo-right" if table.get("position") == "right" else "photo photo-inline"
    return (f'<img class="{kind}" style="{"; ".join(size)}" alt="{_attr(alt)}" '
            f'src="data:{_MIME[photo.format]};base64,{data}">')


def _summary(view: View) -> list[str]:
    if not view.summary:
        return []
    return ["<section>", _heading(view, view.summary_title),
            f'<p class="p-summary">{_inline(inline(view.summary))}</p>', "</section>"]


def _heading(view: View, title: str) -> str:
    return f'<h2 class="{class_name(view.heading_style, "p")}">{_text(title)}</h2>'


def _section(view: View, section: Section) -> list[str]:
    out = [f'<section class="section-{_attr(section.key)}">', _heading(view, clean(section.title))]
    if section.shape == ENTRY:
        for index, entry in enumerate(section.entries):
            out += _entry(view, entry, first=index == 0)
    elif section.shape == GROUP:
        for entry in section.entries:
            label, rest = group_parts(entry)
            strong = f"<strong>{_text(label)}</strong>" if label else ""
            out.append(f'<p class="p-compact">{strong}{_text(rest)}</p>')
    else:
        for entry in section.entries:
            out += _quote(entry)
    out.append("</section>")
    return out


def _entry(view: View, entry: Entry, *, first: bool) -> list[str]:
    style = "p-entry-title-first p-entry-title" if first else "p-entry-title"
    what = f"<strong>{_text(clean(entry.title))}</strong>" if entry.title else ""
    if entry.organisation:
        what += (", " if what else "") + _text(clean(entry.organisation))
    dates = view.entry_dates(entry)
    line = f'<span class="what">{what}</span>'
    if dates:
        line += f' <span class="when c-entry-date">{_text(dates)}</span>'
    out = ['<div class="entry">', f'<h3 class="{style} line">{line}</h3>']
    meta = entry_meta(view, entry)
    if meta:
        out.append('<p class="p-entry-meta">' + _text(SEPARATOR).join(_link(item) for item in meta) + "</p>")
    if entry.summary:
        out.append(f'<p class="p-entry-body">{_inline(inline(entry.summary))}</p>')
    if entry.highlights:
        out.append('<ul class="bullets">')
        out += [f'<li class="p-list-bullet">{_inline(inline(h))}</li>' for h in entry.highlights]
        out.append("</ul>")
    for label, items in ((view.labels.get("courses", "Courses"), entry.courses),
                         (view.labels.get("keywords", "Technologies"), entry.keywords)):
        if items:
            listed = ", ".join(clean(item) for item in items)
            out.append(f'<p class="p-entry-body"><em>{_text(label)}:</em> {_text(listed)}</p>')
    out.append("</div>")
    return out


def _quote(entry: Entry) -> list[str]:
    out = []
    if entry.quote:
        out.append(f'<blockquote class="p-reference">“{_inline(inline(entry.quote))}”</blockquote>')
    if entry.name:
        out.append(f'<p class="p-reference-name">— {_text(clean(entry.name))}</p>')
    return out


# --- text -------------------------------------------------------------------------------------


def _text(text: str) -> str:
    """Escaped text, line breaks as <br>."""
    return "<br>".join(escape(line, quote=True) for line in text.split("\n"))


def _attr(text: str) -> str:
    return escape(text.replace("\n", " "), quote=True)


def _link(item: Link) -> str:
    if item.url is None:
        return _text(item.text)
    return f'<a class="c-hyperlink" href="{_attr(item.url)}">{_text(item.text)}</a>'


def _inline(nodes: tuple[Inline, ...]) -> str:
    out = []
    for node in nodes:
        if node.kind == "text":
            out.append(_text(node.text))
            continue
        inner = _inline(node.children)
        if node.kind == "a":
            url = link_url(node)
            out.append(f'<a class="c-hyperlink" href="{_attr(url)}">{inner}</a>' if url else inner)
        elif node.kind == "bi":
            out.append(f"<strong><em>{inner}</em></strong>")
        elif node.kind == "b":
            out.append(f"<strong>{inner}</strong>")
        else:
            out.append(f"<em>{inner}</em>")
    return "".join(out)


def photo_for(data: Any, base_dir: Path | None) -> Any | None:
    """The résumé's photo (resumec.assets.load_photo: already checked for the cache key), or None."""
    from resumec.assets import load_photo

    return load_photo(data, base_dir)
