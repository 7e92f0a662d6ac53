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

A build also keeps only the styles its document uses. python-docx's template
defines 175 styles (its styles part is 350 kB, most of it table styles no
résumé uses), and LibreOffice reads every one of them: a document carrying
only the ~20 it uses converts ~40% faster, in every engine. `StyleTable`
keeps a base's styles part split per style, so a build writes the used ones
(and what they are based on, link to or are followed by, and the defaults)
in a few microseconds; Word still offers every built-in style, from the
latent-style list, which is kept whole.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from resumec.docx.package import Entry, deflate

DOCUMENT = "word/document.xml"
DOCUMENT_RELS = "word/_rels/document.xml.rels"
CORE = "docProps/core.xml"
CONTENT_TYPES = "[Content_Types].xml"
STYLES = "word/styles.xml"
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

    @cached_property
    def styles(self) -> StyleTable | None:
        """The styles part split per style, made on first use; None when there is none to prune."""
        entry = self.entries.get(STYLES)
        if entry is None:
            return None
        # Parts other than the body may name styles too (list definitions; headers and footers, should a base
        # ever have them): whatever they name is always kept.
        others = b"".join(_inflate(part) for name, part in self.entries.items()
                          if name.startswith("word/") and name.endswith(".xml") and name not in (STYLES, DOCUMENT))
        return StyleTable.parse(_inflate(entry), others)


_STYLE = re.compile(rb"<w:style\b[^>]*?(?:/>|>.*?</w:style>)", re.S)
_STYLE_ID = re.compile(rb'\bw:styleId="([^"]*)"')
_LINKS = re.compile(rb'<w:(?:basedOn|next|link) w:val="([^"]*)"')
USES = re.compile(rb'<w:(?:pStyle|rStyle|tblStyle|numStyleLink|styleLink) w:val="([^"]*)"')


class StyleTable:
    """A styles part as a head, one piece per style (with the styles it needs) and a tail."""

    def __init__(self, head: bytes, pieces: list[tuple[bytes, bytes, tuple[bytes, ...]]], tail: bytes,
                 always: frozenset[bytes]) -> None:
        self.head, self.pieces, self.tail, self.always = head, pieces, tail, always
        self.needs = {style_id: needs for style_id, _, needs in pieces}
        self._made: dict[frozenset[bytes], Entry] = {}  # kept ids -> Entry; a batch reuses a handful
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, part: bytes, others: bytes) -> StyleTable | None:
        matches = list(_STYLE.finditer(part))
        if not matches:
            return None
        pieces = []
        always = set(USES.findall(others))
        for match in matches:
            found = _STYLE_ID.search(match.group())
            if found is None:
                return None  # not a part we understand: kept whole
            xml = match.group()
            if b'w:default="1"' in xml[: xml.find(b">")]:
                always.add(found.group(1))
            pieces.append((found.group(1), xml, tuple(_LINKS.findall(xml))))
        return cls(part[: matches[0].start()], pieces, part[matches[-1].end():], frozenset(always))

    def entry(self, document: bytes) -> Entry:
        """The compressed styles part holding what `document` uses, and everything that needs."""
        keep = set(self.always) | set(USES.findall(document))
        todo = list(keep)
        while todo:
            for other in self.needs.get(todo.pop(), ()):
                if other not in keep:
                    keep.add(other)
                    todo.append(other)
        key = frozenset(keep)
        with self._lock:
            found = self._made.get(key)
        if found is None:
            kept = b"".join(xml for style_id, xml, _ in self.pieces if style_id in key)
            found = deflate(self.head + kept + self.tail)
            with self._lock:
                if len(self._made) >= 64:
                    self._made.clear()
                self._made[key] = found
        return found


def _inflate(entry: Entry) -> bytes:
    return zlib.decompress(entry.data, -15)


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
