"""`-f md`: the résumé as CommonMark, in reading order, for READMEs, wikis and ATS uploads.

    # Name / label / contact line / ## Section / ### Title, Organisation /
    dates · place · facts · link / summary / - highlights / *Courses:* …

Résumé text is data, never Markdown syntax: every character that could
start emphasis, a link, code, raw HTML, an entity, math or a table is
backslash-escaped, and so is anything at the start of a line that could begin
a heading, list, quote or rule. Only the résumé's own inline Markdown
(**bold**, *italic*, [text](url) in summaries, highlights and quotes) is
written back as Markdown, and a link only when its URL is safe.
"""

from __future__ import annotations

import re

from resumec.formats.view import (CONTACT_SEPARATOR, ENTRY, GROUP, SEPARATOR, Entry, Inline, Link, Section, View,
                                  clean, entry_meta, group_parts, inline, link_url)

__all__ = ["escape", "render_markdown"]

# Anywhere in a line: \ ` * _ [ ] < | ~ $ (GitHub math), and & when it would start an entity.
_INLINE = re.compile(r"[\\`*_\[\]<|~$]|&(?=#?[A-Za-z0-9]+;)")
# At the start of a line, what would begin a block: an ATX heading ("# "), a quote (">"), a bullet ("- ", "+ "),
# a setext underline or rule ("===", "---") or an ordered item ("1. ", "1) ").
_LINE_START = re.compile(r"^(?:(#)(?=#{0,5}(?:\s|$))|(>)|([+-])(?=\s|$)|([=-])(?=[=\s-]*$)|(\d{1,9})(?=[.)](?:\s|$)))")


def escape(text: str, *, line_start: bool = True) -> str:
    """One line of résumé text as literal Markdown (`line_start`: it may begin a line)."""
    escaped = _INLINE.sub(lambda m: "\\" + m.group(), text)
    if not line_start:
        return escaped
    # "1. " becomes "1\\. " (the digits, then the escaped dot); a marker character gets the backslash itself.
    return _LINE_START.sub(lambda m: m.group(5) + "\\" if m.group(5) else "\\" + m.group(), escaped)


def _lines(text: str, indent: str = "", *, line_start: bool = True) -> str:
    """Text with its own line breaks kept as hard breaks (a backslash at the end of the line)."""
    raw = text.split("\n")
    # A line that may start a Markdown line is stripped (leading spaces would make a code block).
    first = raw[0].strip() if line_start else raw[0].rstrip()
    lines = [escape(first, line_start=line_start)] + [escape(line.strip()) for line in raw[1:]]
    lines = [line for line in lines if line.strip()]
    return ("\\\n" + indent).join(lines)


def render_markdown(view: View) -> bytes:
    blocks: list[str] = []
    if view.name:
        blocks.append("# " + _heading_text(view.name))
    if view.label:
        blocks.append(_lines(view.label))
    if view.contact:
        blocks.append(CONTACT_SEPARATOR.join(_link(item) for item in view.contact))
    if view.summary:
        blocks += ["## " + _heading_text(view.summary_title), _inline(inline(view.summary))]
    for section in view.sections:
        blocks += _section(view, section)
    text = "\n\n".join(block for block in blocks if block.strip())
    return (text + "\n").encode("utf-8")


def _heading_text(text: str) -> str:
    """A heading is one line: its line breaks become spaces; a trailing run of #s is escaped too."""
    return re.sub(r"(?<![\\#])#+$", lambda m: "\\" + m.group(), escape(" ".join(text.split())))


def _section(view: View, section: Section) -> list[str]:
    blocks = ["## " + _heading_text(clean(section.title))]
    if section.shape == ENTRY:
        for entry in section.entries:
            blocks += _entry(view, entry)
    elif section.shape == GROUP:
        items = []
        for entry in section.entries:
            label, rest = group_parts(entry)
            bold = f"**{_lines(label, '  ')}**" if label else ""
            items.append("- " + bold + _lines(rest, "  ", line_start=not bold))
        blocks.append("\n".join(items))
    else:
        for entry in section.entries:
            quote = []
            if entry.quote:
                quote.append("“" + _inline(inline(entry.quote), "> ") + "”")
            if entry.name:
                quote.append("— " + _lines(clean(entry.name), "> "))
            blocks.append("> " + "\n>\n> ".join(quote))
    return blocks


def _entry(view: View, entry: Entry) -> list[str]:
    title = _heading_text(clean(entry.title))
    if entry.organisation:
        title = f"{title}, {_heading_text(clean(entry.organisation))}" if title else _heading_text(
            clean(entry.organisation))
    blocks = ["### " + title if title else ""]
    dates = view.entry_dates(entry)
    meta = ([Link(dates)] if dates else []) + entry_meta(view, entry)
    if meta:
        blocks.append(SEPARATOR.join(_link(item) for item in meta))
    if entry.summary:
        blocks.append(_inline(inline(entry.summary)))
    if entry.highlights:
        blocks.append("\n".join("- " + _inline(inline(h), "  ") for h in entry.highlights))
    for label, items in ((view.labels.get("courses", "Courses"), entry.courses),
                         (view.labels.get("keywords", "Technologies"), entry.keywords)):
        if items:
            listed = ", ".join(clean(item) for item in items)
            blocks.append(f"*{_lines(label)}:* {_lines(listed)}")
    return blocks


def _link(item: Link) -> str:
    if item.url is None:
        return _lines(item.text)
    return f"[{_lines(item.text, line_start=False)}]({_destination(item.url)})"


def _destination(url: str) -> str:
    """A safe URL as a link destination: no spaces or controls (safe_url), parentheses escaped."""
    return re.sub(r"[\\()<>]", lambda m: "\\" + m.group(), url)


def _inline(nodes: tuple[Inline, ...], indent: str = "") -> str:
    out = []
    for node in nodes:
        if node.kind == "text":
            out.append(_text_piece(node.text, indent))
            continue
        inner = _inline(node.children, indent)
        if not inner.strip():
            continue
        if node.kind == "a":
            url = link_url(node)
            out.append(f"[{inner}]({_destination(url)})" if url else inner)
        else:
            marker = {"bi": "***", "b": "**", "i": "*"}[node.kind]
            out.append(f"{marker}{inner}{marker}")
    return "".join(out)


def _text_piece(text: str, indent: str) -> str:
    """A run of literal text inside inline Markdown: escaped, its line breaks hard breaks."""
    lines = text.split("\n")
    parts = [escape(lines[0])]
    for line in lines[1:]:
        stripped = line.strip()
        if stripped:
            parts.append("\\\n" + indent + escape(stripped))
    return "".join(parts)
