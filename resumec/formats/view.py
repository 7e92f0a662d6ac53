"""What the HTML, Markdown and text renderers share: the résumé's words, fields and links, in reading order.

Built from `resumec.entries`' model (the same one the DOCX templates get)
and the theme's words after `--lang` (titles, labels, date format), arranged
as the base theme's templates arrange them: header (name, label, contact
line, summary), then each section's entries. Each renderer only decides how a
piece looks, never what it says, so the three formats and the DOCX agree on
the content.

Text is cleaned once here: characters no text format should carry (C0
controls, lone surrogates, U+FFFE/U+FFFF) are dropped, tabs become spaces,
and a line with right-to-left script or bidi controls is isolated (as in the
DOCX), so it cannot reorder the text around it. Links are kept only when
`safe_url` accepts them (http, https, mailto, tel; the same check as DOCX).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from resumec.docx.inline import Node, parse
from resumec.docx.text import DateStyle, display_url, format_dates, isolate_bidi, safe_url, tel_url, xml_text
from resumec.entries import ENTRY, GROUP, QUOTE, Entry, Section, resume_model
from resumec.entries import field_text
from resumec.theme import Theme, heading_style, localized

__all__ = ["ENTRY", "GROUP", "QUOTE", "Entry", "Inline", "Link", "Section", "View", "build_view", "clean",
           "entry_meta", "group_parts", "inline"]

DEFAULT_LANG = "en-US"
SEPARATOR = " · "  # between the items of a meta line, as the base templates join them
CONTACT_SEPARATOR = "\u00a0· "  # the no-break space keeps each dot on the line of the item before it


@dataclass(frozen=True)
class Link:
    """A piece of text, and the URL it links to when that URL is safe (else None: shown as text)."""

    text: str
    url: str | None = None


# One piece of inline text: ("text", str), ("b"|"i"|"bi", children), ("a", children, url or None).
Inline = Node


@dataclass(frozen=True)
class View:
    """Everything a renderer prints, in order."""

    lang: str
    name: str
    label: str
    contact: tuple[Link, ...]
    summary: str  # Markdown (parse with `inline`)
    summary_title: str
    sections: tuple[Section, ...]
    dates: DateStyle
    labels: Mapping[str, str]
    config: Mapping[str, Any]  # the theme's config after --lang (for the HTML's look)
    heading_style: str  # the paragraph style section headings use

    def entry_dates(self, entry: Entry) -> str:
        return clean(format_dates(entry.dates, self.dates))


def build_view(data: Mapping[str, Any], theme: Theme, order: Sequence[tuple[str, str]], lang: str | None) -> View:
    """The view of `data` with the resolved (key, title) pairs, in the theme's words for `lang`."""
    config = localized(theme.config, lang)
    model = resume_model(data, order)
    basics = model.basics
    titles = config.get("titles", {})
    meta = config.get("theme", {})
    theme_lang = meta.get("lang") if isinstance(meta, Mapping) else None
    return View(
        lang=lang or (theme_lang if isinstance(theme_lang, str) and theme_lang.strip() else DEFAULT_LANG),
        name=clean(_text(basics.get("name"))),
        label=clean(_text(basics.get("label"))),
        contact=_contact(basics),
        summary=_text(basics.get("summary")),
        summary_title=clean(_text(titles.get("summary")) or "Summary"),
        sections=model.sections,
        dates=DateStyle.from_config(config.get("dates", {})),
        labels={key: clean(value) for key, value in config.get("labels", {}).items() if isinstance(value, str)},
        config=config,
        heading_style=heading_style(config) or "Heading 1",
    )


def clean(value: Any) -> str:
    """Text fit for any output: no control characters, tabs as spaces, each line's bidi isolated."""
    text = xml_text(value if isinstance(value, str) else "" if value is None else str(value)).replace("\t", " ")
    if "\n" in text:
        return "\n".join(isolate_bidi(line) for line in text.split("\n"))
    return isolate_bidi(text)


def inline(markdown: str) -> tuple[Inline, ...]:
    """The inline Markdown subset of a summary, highlight or quote (linear time), its text cleaned."""
    return parse(clean(markdown))


def link_url(node: Inline) -> str | None:
    """The safe target of a Markdown link node, or None (then only its text is shown)."""
    return safe_url(node.url)


def _link(url: Any, text: Any = None) -> Link | None:
    """As the templates' link(): the text (or the URL as printed), linked when the URL is safe."""
    shown = clean(text) if isinstance(text, str) and text.strip() else clean(display_url(url))
    if not shown.strip():
        return None
    return Link(shown, safe_url(url))


def _contact(basics: Mapping[str, Any]) -> tuple[Link, ...]:
    """email, phone, "city, region", url, then each profile: the base header's contact line."""
    items: list[Link | None] = []
    email = _text(basics.get("email"))
    if email:
        items.append(_link("mailto:" + email, email))
    phone = _text(basics.get("phone"))
    if phone:
        items.append(_link(tel_url(phone), phone))
    location = basics.get("location")
    if isinstance(location, Mapping):
        place = ", ".join(part for part in (_text(location.get("city")), _text(location.get("region"))) if part)
        items.append(Link(clean(place)) if place else None)
    url = _text(basics.get("url"))
    if url:
        items.append(_link(url))
    profiles = basics.get("profiles")
    for profile in profiles if isinstance(profiles, list) else []:
        if not isinstance(profile, Mapping):
            continue
        if _text(profile.get("url")):
            items.append(_link(_text(profile.get("url"))))
        else:
            named = ": ".join(p for p in (_text(profile.get("network")), _text(profile.get("username"))) if p)
            items.append(Link(clean(named)) if named else None)
    return tuple(item for item in items if item is not None)


def entry_meta(view: View, entry: Entry) -> list[Link]:
    """The line under an entry's title: place · facts · roles · type · grade · link."""
    parts = [
        entry.place,
        entry.description,
        ", ".join(entry.roles),
        entry.type,
        f"{view.labels.get('score', 'Grade')}: {entry.score}" if entry.score else "",
    ]
    items = [Link(clean(part)) for part in parts if part]
    if entry.url:
        found = _link(entry.url)
        if found is not None:
            items.append(found)
    return items


def group_parts(entry: Entry) -> tuple[str, str]:
    """A skill, language or interest as (bold label, rest), as the base group template prints it.

    "Languages (Expert): Go, Java", "Portuguese — Native", or just the keywords or level.
    """
    keywords = ", ".join(clean(k) for k in entry.keywords)
    level = clean(entry.level)
    if not entry.title:
        return "", keywords or level
    label = clean(entry.title)
    if level and keywords:
        return label, f" ({level}): {keywords}"
    if keywords:
        return label, f": {keywords}"
    if level:
        return label, f" — {level}"
    return label, ""


_text = field_text  # one rule for what a field's text is, shared with the model
