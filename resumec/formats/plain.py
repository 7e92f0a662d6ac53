"""`-f txt`: the résumé as plain UTF-8 text in reading order, for ATS forms and e-mail.

No markup of any kind: the name and section titles are underlined (= and -),
entries are separated by blank lines, highlights are "• " lines, links show
where they go ("text (example.com/x)"). Lines are not wrapped: the reader's
window or the ATS does that.
"""

from __future__ import annotations

import unicodedata

from resumec.docx.text import display_url
from resumec.formats.view import (CONTACT_SEPARATOR, ENTRY, GROUP, SEPARATOR, Entry, Inline, Link, Section, View,
                                  clean, entry_meta, group_parts, inline, link_url)

__all__ = ["render_text"]

BULLET = "• "


def render_text(view: View) -> bytes:
    blocks: list[str] = []
    header = []
    if view.name:
        header += _underlined(view.name, "=")
    if view.label:
        header.append(view.label)
    if view.contact:
        header.append(CONTACT_SEPARATOR.join(_link(item) for item in view.contact))
    blocks.append("\n".join(header))
    if view.summary:
        blocks.append("\n".join([*_underlined(view.summary_title, "-"), _inline(inline(view.summary))]))
    for section in view.sections:
        blocks += _section(view, section)
    text = "\n\n".join(block for block in blocks if block.strip())
    return (_tidy(text) + "\n").encode("utf-8")


def _tidy(text: str) -> str:
    """No trailing spaces, no runs of blank lines from empty fields."""
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def _width(text: str) -> int:
    """Columns a line takes in a monospace terminal: wide (CJK) characters count two, marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Cf", "Mn", "Me"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _underlined(title: str, rule: str) -> list[str]:
    line = " ".join(title.split())
    return [line, rule * max(_width(line), 1)]


def _section(view: View, section: Section) -> list[str]:
    head = "\n".join(_underlined(clean(section.title), "-"))
    if section.shape == ENTRY:
        return [head + "\n" + "\n\n".join("\n".join(_entry(view, entry)) for entry in section.entries)]
    lines = []
    if section.shape == GROUP:
        for entry in section.entries:
            label, rest = group_parts(entry)
            lines.append(label + rest)
    else:
        for entry in section.entries:
            if entry.quote:
                lines.append("“" + _inline(inline(entry.quote)) + "”")
            if entry.name:
                lines.append("— " + clean(entry.name))
            lines.append("")
    return [head + "\n" + "\n".join(lines)]


def _entry(view: View, entry: Entry) -> list[str]:
    title = ", ".join(part for part in (clean(entry.title), clean(entry.organisation)) if part)
    lines = [" ".join(title.split())] if title else []
    dates = view.entry_dates(entry)
    meta = ([Link(dates)] if dates else []) + entry_meta(view, entry)
    if meta:
        lines.append(SEPARATOR.join(_link(item) for item in meta))
    if entry.summary:
        lines.append(_inline(inline(entry.summary)))
    for highlight in entry.highlights:
        lines.append(BULLET + _inline(inline(highlight)).replace("\n", "\n  "))
    for label, items in ((view.labels.get("courses", "Courses"), entry.courses),
                         (view.labels.get("keywords", "Technologies"), entry.keywords)):
        if items:
            lines.append(f"{label}: " + ", ".join(clean(item) for item in items))
    return lines


def _link(item: Link) -> str:
    return item.text


def _inline(nodes: tuple[Inline, ...]) -> str:
    """Inline Markdown as plain text: emphasis dropped, a safe link as "text (where it goes)"."""
    out = []
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
            continue
        inner = _inline(node.children)
        if node.kind == "a":
            url = link_url(node)
            shown = display_url(url) if url else ""
            out.append(f"{inner} ({shown})" if shown and shown != inner.strip() else inner)
        else:
            out.append(inner)
    return "".join(out)
