"""Our JSON Resume schema, as plain data.

It mirrors the official v1 schema (jsonresume/resume-schema `schema.json`):
every section and field with its type. Like the official schema, every object
allows unknown keys; they are ignored, never rejected. Where the official
schema only says `format: uri` / `iso8601`, `validate.py` applies our stricter
rules (real calendar dates, parseable URLs). Kept as data rather than a JSON
Schema document so the checker stays a small loop with no dependency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Union

__all__ = [
    "Array",
    "DATE",
    "EMAIL",
    "Node",
    "Object",
    "RESUME",
    "SECTIONS",
    "STRING",
    "STRINGS",
    "String",
    "URI",
    "obj",
]

StringFormat = Literal["date", "uri", "email"]


@dataclass(frozen=True)
class String:
    """A JSON string; `format` names an extra rule the checker applies."""

    format: StringFormat | None = None


@dataclass(frozen=True)
class Array:
    items: Node


@dataclass(frozen=True, eq=False)
class Object:
    """Known members only; any other key is allowed and ignored."""

    properties: Mapping[str, Node]


Node = Union[String, Array, Object]


def obj(properties: dict[str, Node]) -> Object:
    """Wrap the member table read-only, so the schema can't be changed at run time."""
    return Object(MappingProxyType(dict(properties)))


STRING = String()
DATE = String("date")  # official: #/definitions/iso8601
URI = String("uri")
EMAIL = String("email")
STRINGS = Array(STRING)

_LOCATION = obj(
    {
        "address": STRING,
        "postalCode": STRING,
        "city": STRING,
        "countryCode": STRING,
        "region": STRING,
    }
)

_PROFILE = obj({"network": STRING, "username": STRING, "url": URI})

_BASICS = obj(
    {
        "name": STRING,
        "label": STRING,
        "image": STRING,  # official: a plain string (a relative file name is fine)
        "email": EMAIL,
        "phone": STRING,
        "url": URI,
        "summary": STRING,
        "location": _LOCATION,
        "profiles": Array(_PROFILE),
    }
)

_WORK = obj(
    {
        "name": STRING,
        "location": STRING,
        "description": STRING,
        "position": STRING,
        "url": URI,
        "startDate": DATE,
        "endDate": DATE,
        "summary": STRING,
        "highlights": STRINGS,
    }
)

_VOLUNTEER = obj(
    {
        "organization": STRING,
        "position": STRING,
        "url": URI,
        "startDate": DATE,
        "endDate": DATE,
        "summary": STRING,
        "highlights": STRINGS,
    }
)

_EDUCATION = obj(
    {
        "institution": STRING,
        "url": URI,
        "area": STRING,
        "studyType": STRING,
        "startDate": DATE,
        "endDate": DATE,
        "score": STRING,
        "courses": STRINGS,
    }
)

_AWARD = obj({"title": STRING, "date": DATE, "awarder": STRING, "summary": STRING})

_CERTIFICATE = obj({"name": STRING, "date": DATE, "url": URI, "issuer": STRING})

_PUBLICATION = obj(
    {
        "name": STRING,
        "publisher": STRING,
        "releaseDate": DATE,
        "url": URI,
        "summary": STRING,
    }
)

_SKILL = obj({"name": STRING, "level": STRING, "keywords": STRINGS})

_LANGUAGE = obj({"language": STRING, "fluency": STRING})

_INTEREST = obj({"name": STRING, "keywords": STRINGS})

_REFERENCE = obj({"name": STRING, "reference": STRING})

_PROJECT = obj(
    {
        "name": STRING,
        "description": STRING,
        "highlights": STRINGS,
        "keywords": STRINGS,
        "startDate": DATE,
        "endDate": DATE,
        "url": URI,
        "roles": STRINGS,
        "entity": STRING,
        "type": STRING,
    }
)

_META = obj(
    {
        "canonical": URI,
        "version": STRING,
        "lastModified": STRING,
        # resumec extension: section order and titles, "name" or "name=Title".
        # Only the type is checked here; the section-order code checks the names.
        "sections": STRINGS,
    }
)

RESUME = obj(
    {
        # Official says format: uri, but its own fixture accepts "foo-bar-baz".
        "$schema": STRING,
        "basics": _BASICS,
        "work": Array(_WORK),
        "volunteer": Array(_VOLUNTEER),
        "education": Array(_EDUCATION),
        "awards": Array(_AWARD),
        "certificates": Array(_CERTIFICATE),
        "publications": Array(_PUBLICATION),
        "skills": Array(_SKILL),
        "languages": Array(_LANGUAGE),
        "interests": Array(_INTEREST),
        "references": Array(_REFERENCE),
        "projects": Array(_PROJECT),
        "meta": _META,
    }
)

# The list sections, in the official schema's order (basics and meta are not lists).
SECTIONS: tuple[str, ...] = tuple(
    name for name, node in RESUME.properties.items() if isinstance(node, Array)
)
