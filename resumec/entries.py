"""The résumé as it is rendered: sections in order, each a title and entries of a few shapes.

JSON Resume names the same idea differently in every section (a job's
`position` at `name`, a volunteer's `position` at `organization`, a degree's
`studyType` in `area` at `institution` …). This module maps every section's
items onto three shapes with one set of field names, so a theme needs one
template per shape instead of one per section, and every renderer (DOCX
today; HTML, Markdown and plain text later) reads the same model.

    entry   work, volunteer, education, awards, certificates, publications, projects
    group   skills, languages, interests
    quote   references

Pure data: no Jinja2, no python-docx, no formatting. Text stays as written
(Markdown in summaries, highlights and quotes is the renderer's business);
dates stay ISO strings, formatted by whoever knows the language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

ENTRY, GROUP, QUOTE = "entry", "group", "quote"

SHAPES: Mapping[str, str] = MappingProxyType({
    "work": ENTRY,
    "volunteer": ENTRY,
    "education": ENTRY,
    "awards": ENTRY,
    "certificates": ENTRY,
    "publications": ENTRY,
    "projects": ENTRY,
    "skills": GROUP,
    "languages": GROUP,
    "interests": GROUP,
    "references": QUOTE,
})


@dataclass(frozen=True)
class Dates:
    """When: a range (`start`, `end`; no end means ongoing) or one `single` date, as ISO strings."""

    start: str = ""
    end: str = ""
    single: str = ""

    def __bool__(self) -> bool:
        return bool(self.start or self.end or self.single)


@dataclass(frozen=True)
class Entry:
    """One item of a section. Every field is always present; "" and () mean absent.

    `title` is what the entry is called, `organisation` who it was with; when
    the item has no title of its own the organisation becomes the title (and
    `organisation` is empty), so `title, organisation` never prints a dangling
    comma. `url` is the item's link; `organisation_url` is the same link when it
    is the organisation's web site and the organisation is shown on its own
    (work, volunteer, education), so a theme can link the name instead.
    """

    title: str = ""
    organisation: str = ""
    organisation_url: str = ""
    url: str = ""
    place: str = ""
    dates: Dates = Dates()
    summary: str = ""  # Markdown
    highlights: tuple[str, ...] = ()  # Markdown, one bullet each
    keywords: tuple[str, ...] = ()
    # Beyond the common fields, what some sections have:
    description: str = ""  # work: a line about the organisation ("Logistics SaaS, 400 employees")
    roles: tuple[str, ...] = ()  # projects
    type: str = ""  # projects: "application", "talk", …
    score: str = ""  # education: the grade
    courses: tuple[str, ...] = ()  # education
    level: str = ""  # skills: level; languages: fluency
    quote: str = ""  # references: what was said (Markdown)
    name: str = ""  # references: who said it
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __bool__(self) -> bool:
        """False when no field has anything to print (the raw item may still hold unknown keys)."""
        return any(getattr(self, f.name) for f in fields(self) if f.name != "raw")


@dataclass(frozen=True)
class Section:
    """One section as printed: its heading and its entries, all of one shape."""

    key: str  # "work", "skills", …
    title: str  # the heading, after --sections, meta.sections and the theme's words
    shape: str  # ENTRY, GROUP or QUOTE
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Resume:
    """What gets rendered: the header's data and the sections, in order, none of them empty."""

    basics: Mapping[str, Any]
    sections: tuple[Section, ...]


def resume_model(data: Mapping[str, Any], order: Iterable[tuple[str, str]]) -> Resume:
    """The model for `data` with the resolved (key, title) pairs (see resumec.sections.resolve).

    A section is left out when it is missing, not a list, or has no entry with
    anything to print.
    """
    basics = data.get("basics")
    sections = []
    for key, title in order:
        entries = section_entries(key, data.get(key))
        if entries:
            sections.append(Section(key, title, SHAPES[key], entries))
    return Resume(basics if isinstance(basics, Mapping) else {}, tuple(sections))


def section_entries(key: str, items: Any) -> tuple[Entry, ...]:
    """A section's items as entries; items that are not objects or hold nothing printable are dropped."""
    mapper = _MAPPERS.get(key)
    if mapper is None:
        raise ValueError(f"unknown section {key!r}")
    if not isinstance(items, list):
        return ()
    return tuple(entry for entry in (mapper(item) for item in items if isinstance(item, Mapping)) if entry)


# --- per section ---------------------------------------------------------------------------


def _work(item: Mapping[str, Any]) -> Entry:
    return _with_organisation(
        item, _text(item.get("position")), _text(item.get("name")), url_is_organisation=True,
        place=_text(item.get("location")), dates=_range(item), summary=_text(item.get("summary")),
        highlights=_texts(item.get("highlights")), description=_text(item.get("description")),
    )


def _volunteer(item: Mapping[str, Any]) -> Entry:
    return _with_organisation(
        item, _text(item.get("position")), _text(item.get("organization")), url_is_organisation=True,
        place=_text(item.get("location")),  # not in the schema, but people write it
        dates=_range(item), summary=_text(item.get("summary")), highlights=_texts(item.get("highlights")),
    )


def _education(item: Mapping[str, Any]) -> Entry:
    degree = " in ".join(part for part in (_text(item.get("studyType")), _text(item.get("area"))) if part)
    return _with_organisation(
        item, degree, _text(item.get("institution")), url_is_organisation=True,
        dates=_range(item), score=_text(item.get("score")), courses=_texts(item.get("courses")),
    )


def _awards(item: Mapping[str, Any]) -> Entry:
    return _with_organisation(
        item, _text(item.get("title")), _text(item.get("awarder")),
        dates=Dates(single=_text(item.get("date"))), summary=_text(item.get("summary")),
    )


def _certificates(item: Mapping[str, Any]) -> Entry:
    return _with_organisation(
        item, _text(item.get("name")), _text(item.get("issuer")), url=_text(item.get("url")),
        dates=Dates(single=_text(item.get("date"))),
    )


def _publications(item: Mapping[str, Any]) -> Entry:
    return _with_organisation(
        item, _text(item.get("name")), _text(item.get("publisher")), url=_text(item.get("url")),
        dates=Dates(single=_text(item.get("releaseDate"))), summary=_text(item.get("summary")),
    )


def _projects(item: Mapping[str, Any]) -> Entry:
    return _with_organisation(
        item, _text(item.get("name")), _text(item.get("entity")), url=_text(item.get("url")),
        dates=_range(item), summary=_text(item.get("description")), highlights=_texts(item.get("highlights")),
        keywords=_texts(item.get("keywords")), roles=_texts(item.get("roles")), type=_text(item.get("type")),
    )


def _skills(item: Mapping[str, Any]) -> Entry:
    return Entry(title=_text(item.get("name")), level=_text(item.get("level")),
                 keywords=_texts(item.get("keywords")), raw=item)


def _languages(item: Mapping[str, Any]) -> Entry:
    return Entry(title=_text(item.get("language")), level=_text(item.get("fluency")), raw=item)


def _interests(item: Mapping[str, Any]) -> Entry:
    return Entry(title=_text(item.get("name")), keywords=_texts(item.get("keywords")), raw=item)


def _references(item: Mapping[str, Any]) -> Entry:
    return Entry(quote=_text(item.get("reference")), name=_text(item.get("name")), raw=item)


_MAPPERS: Mapping[str, Callable[[Mapping[str, Any]], Entry]] = MappingProxyType({
    "work": _work,
    "volunteer": _volunteer,
    "education": _education,
    "awards": _awards,
    "certificates": _certificates,
    "publications": _publications,
    "projects": _projects,
    "skills": _skills,
    "languages": _languages,
    "interests": _interests,
    "references": _references,
})


# --- helpers -------------------------------------------------------------------------------


def _with_organisation(item: Mapping[str, Any], title: str, organisation: str, *,
                       url_is_organisation: bool = False, **rest: Any) -> Entry:
    """Title and organisation, the organisation promoted to title when there is no title."""
    url = rest.pop("url", None)
    if url is None:
        url = _text(item.get("url")) if url_is_organisation else ""
    if not title:
        title, organisation = organisation, ""
    organisation_url = url if url_is_organisation and organisation else ""
    return Entry(title=title, organisation=organisation, organisation_url=organisation_url, url=url,
                 raw=item, **rest)


def _range(item: Mapping[str, Any]) -> Dates:
    return Dates(start=_text(item.get("startDate")), end=_text(item.get("endDate")))


def field_text(value: Any) -> str:
    """A field as text: strings stripped, numbers written out, anything else absent (every format reads it so)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


_text = field_text


def _texts(value: Any) -> tuple[str, ...]:
    """A list field as its non-empty texts; anything but a list is absent."""
    if not isinstance(value, list):
        return ()
    return tuple(text for text in map(_text, value) if text)
