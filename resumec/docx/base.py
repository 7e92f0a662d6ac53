"""The styled base document: python-docx's template with a theme's page, fonts and styles, as zip entries.

Making it (python-docx opening its template with a 440 kB styles part, then
every style of the theme looked up and rewritten) costs more than writing a
whole résumé, and it depends only on the theme, the language and the paper.
So it is made once per (theme fingerprint, language, paper) and kept by the
`Builder` (in memory, and on disk in the resumec cache); a build copies it and
writes only what differs: the body, the body's relationships, the core
properties and, with a photo, the image. Its parts are kept compressed as the
zip stores them, so a build deflates only what it wrote. python-docx is
imported only here, to make a base.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resumec.docx.package import Entry, deflate

DOCUMENT = "word/document.xml"
DOCUMENT_RELS = "word/_rels/document.xml.rels"
CORE = "docProps/core.xml"
CONTENT_TYPES = "[Content_Types].xml"
VARYING = (DOCUMENT, DOCUMENT_RELS, CORE, CONTENT_TYPES)  # the parts a build may rewrite
HYPERLINK_STYLE = "Hyperlink"
FORMAT = 1  # of the stored form, which is part of its cache key
_MAGIC = b"resumec styled base\n"
_MAX_HEADER = 1 << 20


@dataclass(frozen=True)
class Base:
    """A styled, empty document and the style ids a writer needs."""

    entries: Mapping[str, Entry]  # every part as the zip stores it
    varying: Mapping[str, bytes]  # the uncompressed bytes of the VARYING parts
    paragraph: Mapping[str, str]  # style name -> style id
    character: Mapping[str, str]

    def to_bytes(self) -> bytes:
        """The stored form: a JSON header, then the compressed parts and the varying ones, checksummed."""
        import io

        payload = io.BytesIO()
        entries = []
        for name, entry in self.entries.items():
            entries.append([name, entry.crc, entry.size, len(entry.data)])
            payload.write(entry.data)
        varying = []
        for name in VARYING:
            varying.append([name, len(self.varying[name])])
            payload.write(self.varying[name])
        body = payload.getvalue()
        header = {"format": FORMAT, "paragraph": dict(self.paragraph), "character": dict(self.character),
                  "entries": entries, "varying": varying, "sha256": hashlib.sha256(body).hexdigest()}
        return _MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body

    @classmethod
    def from_bytes(cls, blob: bytes) -> Base | None:
        """The stored form read back, or None when it is not one (truncated, damaged, another format)."""
        if not blob.startswith(_MAGIC):
            return None
        end = blob.find(b"\n", len(_MAGIC), len(_MAGIC) + _MAX_HEADER)
        if end < 0:
            return None
        body = blob[end + 1 :]
        try:
            header = json.loads(blob[len(_MAGIC) : end])
            if header["format"] != FORMAT or header["sha256"] != hashlib.sha256(body).hexdigest():
                return None
            at = 0
            entries = {}
            for name, crc, size, length in header["entries"]:
                entries[name] = Entry(int(crc), int(size), body[at : at + length])
                at += length
            varying = {}
            for name, length in header["varying"]:
                varying[name] = body[at : at + length]
                at += length
            paragraph, character = header["paragraph"], header["character"]
        except (ValueError, KeyError, TypeError):
            return None
        if at != len(body) or set(varying) != set(VARYING) or not set(VARYING) <= set(entries):
            return None
        if not all(isinstance(m, dict) for m in (paragraph, character)):
            return None
        return cls(entries, varying, paragraph, character)


def make_base(config: Mapping[str, Any], *, paper: str | None, lang: str) -> Base:
    """Apply the theme (its localized config) to python-docx's template, and keep every part it saves.

    The core properties part gets every property a build sets, so that a
    build only replaces their text (document.py), and it is what python-docx
    would write for the same values.
    """
    import io
    import zipfile
    from datetime import datetime

    import docx

    from resumec.docx.styles import apply_theme

    document = docx.Document()
    style_map = apply_theme(document, config, paper=paper, lang=lang)
    props = document.core_properties  # created here when the template has none
    for name in ("title", "author", "last_modified_by", "subject", "keywords", "comments", "category"):
        setattr(props, name, "")
    props.revision = 1
    props.created = props.modified = props.last_printed = datetime(1980, 1, 1)
    raw = io.BytesIO()
    document.save(raw)
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    return Base({name: deflate(data) for name, data in parts.items()}, {name: parts[name] for name in VARYING},
                dict(style_map.paragraph), dict(style_map.character))
