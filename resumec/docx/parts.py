"""The package parts around the body: content types, and the core properties pinned for reproducible files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from resumec.docx.text import xml_text

_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def serialize(root: Any) -> bytes:
    """As python-docx writes an XML part."""
    return etree.tostring(root, encoding="UTF-8", standalone=True)


def content_types(blob: bytes, partname: str, content_type: str) -> bytes:
    """[Content_Types].xml with the image's type: a Default by extension (as python-docx does for
    the types it knows: png, jpg …, kept sorted), else an Override for the part."""
    from docx.opc.spec import default_content_types

    root = etree.fromstring(blob)
    ext = partname.rsplit(".", 1)[1]
    if (ext.lower(), content_type) in default_content_types:
        if not any(d.get("Extension", "").lower() == ext.lower() for d in root.iter(_TYPES + "Default")):
            new = etree.Element(_TYPES + "Default")
            new.set("Extension", ext)
            new.set("ContentType", content_type)
            after = [d for d in root.iter(_TYPES + "Default") if d.get("Extension", "").lower() < ext.lower()]
            if after:
                after[-1].addnext(new)
            else:
                root.insert(0, new)
    else:
        new = etree.Element(_TYPES + "Override")
        new.set("PartName", "/" + partname)
        new.set("ContentType", content_type)
        after = [o for o in root.iter(_TYPES + "Override") if o.get("PartName", "") < "/" + partname]
        if after:
            after[-1].addnext(new)
        else:
            defaults = list(root.iter(_TYPES + "Default"))
            (defaults[-1].addnext if defaults else lambda e: root.insert(0, e))(new)
    return serialize(root)


# --- core properties -------------------------------------------------------------------

_CP = "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_CORE_TAGS = {
    "title": _DC + "title", "author": _DC + "creator", "last_modified_by": _CP + "lastModifiedBy",
    "subject": _DC + "subject", "keywords": _CP + "keywords", "comments": _DC + "description",
    "category": _CP + "category", "revision": _CP + "revision", "created": _DCTERMS + "created",
    "modified": _DCTERMS + "modified", "last_printed": _CP + "lastPrinted",
}


def core_values(data: Mapping[str, Any], basics: Mapping[str, Any], epoch: int) -> dict[str, str]:
    """Every core property, pinned: python-docx would otherwise stamp the current time."""
    name = plain(basics.get("name"))
    when = datetime.fromtimestamp(max(0, epoch), tz=UTC).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "title": _fit(f"{name} – Résumé" if name else "Résumé"),
        "author": _fit(name),
        "last_modified_by": _fit(name),
        "subject": _fit(plain(basics.get("label"))),
        "keywords": _fit_list(_skill_keywords(data)),
        "comments": "",
        "category": "",
        "revision": "1",
        "created": when,
        "modified": when,
        "last_printed": when,
    }


def core_xml(blob: bytes, values: Mapping[str, str]) -> bytes:
    """The base's core.xml (which has every element, see base.py) with this build's text in each."""
    root = etree.fromstring(blob)
    for name, value in values.items():
        element = root.find(_CORE_TAGS[name])
        if element is None:
            raise AssertionError(f"the styled base has no core property {name}")
        element.text = value
    return serialize(root)


def _skill_keywords(data: Mapping[str, Any]) -> list[str]:
    """Skill keywords (or the skill's name when it has none), each once.

    Spaces inside a keyword become no-break spaces: LibreOffice splits DOCX
    keywords at ASCII spaces (and commas, semicolons), so "event sourcing"
    would reach the PDF as "event", "sourcing". U+00A0 keeps the phrase whole
    and looks the same wherever the keywords are shown.
    """
    seen: dict[str, None] = {}
    skills = data.get("skills")
    for skill in skills if isinstance(skills, list) else []:
        if not isinstance(skill, Mapping):
            continue
        keywords = skill.get("keywords")
        words = list(keywords) if isinstance(keywords, list) and keywords else [skill.get("name")]
        for word in words:
            text = plain(word).replace(" ", "\u00a0")
            if text and text.lower() not in {k.lower() for k in seen}:
                seen[text] = None
    return list(seen)


_CORE_LIMIT = 255  # python-docx (and Word) cap core text properties at 255 characters


def _fit(text: str) -> str:
    return text if len(text) <= _CORE_LIMIT else text[: _CORE_LIMIT - 1].rstrip() + "…"


def _fit_list(words: list[str]) -> str:
    """Join whole keywords while they fit the limit."""
    out = ""
    for word in words:
        candidate = f"{out}, {word}" if out else word
        if len(candidate) > _CORE_LIMIT:
            break
        out = candidate
    return out


def plain(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(xml_text(value).split())


