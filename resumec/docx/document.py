"""Stage 4: résumé data + theme → DOCX bytes.

Templates render markup (render.py), markup becomes blocks (markup.py), and
blocks become paragraphs in named styles. The styles, page and every other
part that depends only on the theme come from a styled `Base` (base.py, made
with python-docx once per theme and kept by the `Builder`); a build parses
the base's tiny document.xml, appends its paragraphs with lxml and writes the
zip (package.py) with the unchanged parts already compressed. The result is
reproducible: the same inputs give byte-identical files, so the cache key and
the output agree and a rebuild never shows up as a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree
from markupsafe import Markup

from resumec.assets import load_photo
from resumec.docx import package
from resumec.docx.base import CONTENT_TYPES, CORE, DOCUMENT, DOCUMENT_RELS, HYPERLINK_STYLE, STYLES, Base
from resumec.docx.markup import Block, MarkupError, Run, parse
from resumec.docx.render import render, to_markup
from resumec.docx.text import split_emoji, xml_text
from resumec.entries import Section, resume_model
from resumec.errors import InputError
from resumec.theme import DEFAULT_HEADING_STYLE, THEME_FILE, Theme, heading_style, length_pt, localized

if TYPE_CHECKING:
    from resumec.docx.builder import Builder

HEADER_TEMPLATE = "header.xml.j2"
TEMPLATE_SUFFIX = ".xml.j2"
_EMU_PER_PT = 12700
DEFAULT_PHOTO_WIDTH = "2.5cm"


def build_docx(
    data: dict,
    theme: Theme,
    sections: list[tuple[str, str]],
    *,
    base_dir: Path | None = None,
    epoch: int = 315532800,
    lang: str | None = None,
    paper: str | None = None,
    builder: Builder | None = None,
) -> bytes:
    """Render the résumé with the theme; `sections` are (key, title) pairs in order.

    `lang` picks a [locales.<lang>] overlay (dates, labels) and the document
    language; `paper` ("a4"/"letter") overrides the theme's page size.
    `base_dir` is the résumé's folder: `basics.image` resolves inside it
    (see resumec.assets.load_photo, which also feeds the cache key).
    `builder` keeps compiled templates and styled bases for the next build
    (watch, batch workers); without one, this build makes its own.
    """
    if builder is None:
        from resumec.docx.builder import Builder

        builder = Builder()
    config = localized(theme.config, lang)
    env = builder.environment(theme, config, lang)
    model = resume_model(data, sections)
    basics = model.basics
    titles = {**config.get("titles", {}), **theme_titles(theme, config)}
    picture = _load_photo(data, base_dir, config.get("photo", {}))
    headings = heading_style(config)
    common = {
        "resume": data,
        "basics": basics,
        "titles": titles,
        "labels": config.get("labels", {}),
        "theme": config,
        "photo": picture is not None,
        "heading_style": headings or DEFAULT_HEADING_STYLE,
    }

    blocks: list[Block] = _blocks(env, theme, HEADER_TEMPLATE, common, photo=picture is not None)
    for section in model.sections:
        name = builder.template_name(theme, section.key, section.shape)
        blocks += _section_blocks(env, theme, section, name, common, headings, photo=picture is not None)

    doc_lang = lang or config.get("theme", {}).get("lang", "en-US")
    base = builder.base(theme, config, lang, paper=paper, doc_lang=doc_lang)
    if headings and headings not in base.paragraph:
        raise InputError(
            f"{theme.display(theme.root / THEME_FILE)}: [sections] heading_style names paragraph style "
            f"{headings!r}, which neither its [styles] nor Word's defaults define"
        )
    alt = f"Photo of {_plain(basics.get('name'))}" if _plain(basics.get("name")) else "Photo"
    writer = _Writer(base, theme, picture, alt)
    for block in blocks:
        writer.block(block)
    return writer.finish(_core_values(data, basics, epoch), epoch)


def theme_titles(theme: Theme, config: Mapping[str, Any]) -> dict[str, str]:
    """Section titles after the locale overlay (every section key present)."""
    given = config.get("titles", {})
    return {key: given.get(key, default) for key, default in theme.titles.items()}


def _section_blocks(env, theme: Theme, section: Section, template: str, common: Mapping[str, Any], headings: str,
                    *, photo: bool) -> list[Block]:
    """A section's heading (written here, in the theme's heading style) and its entries (from a template).

    A section whose template prints nothing gets no heading either.
    """
    context = {
        **common,
        "section": section.key,
        "title": section.title,
        "shape": section.shape,
        "entries": section.entries,
        "items": [entry.raw for entry in section.entries],
    }
    body = _blocks(env, theme, template, context, photo=photo)
    if not body or not headings:
        return body
    heading = Markup('<p style="{}">{}</p>').format(headings, to_markup(section.title))
    return parse(str(heading)) + body


def section_template(theme: Theme, key: str, shape: str) -> str:
    """`<key>.xml.j2` if the theme overrides the section, else `<shape>.xml.j2`.

    Folders are searched nearest first (the theme, then what it extends), and
    within a folder the section's own template wins: a child's `group.xml.j2`
    beats its parent's `skills.xml.j2`, the child having redesigned the shape.
    """
    names = (f"{key}{TEMPLATE_SUFFIX}", f"{shape}{TEMPLATE_SUFFIX}")
    for root in theme.search_path or (theme.root,):
        for name in names:
            if (root / "templates" / name).is_file():
                return name
    return names[1]  # missing everywhere: render() reports it, naming the folders it looked in


def _blocks(env, theme: Theme, name: str, context: Mapping[str, Any], *, photo: bool) -> list[Block]:
    markup = render(env, theme, name, context)
    try:
        return parse(markup, photo=photo)
    except MarkupError as exc:
        shown = theme.display(_template_path(theme, name))
        where = f" (line {exc.line} of its output)" if exc.line else ""
        raise InputError(f"{shown}: {exc}{where}") from None


def _template_path(theme: Theme, name: str) -> Path:
    for root in theme.search_path or (theme.root,):
        candidate = root / "templates" / name
        if candidate.is_file():
            return candidate
    return theme.root / "templates" / name


# --- the photo -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Photo:
    """The photo's bytes and the box the theme wants it in (EMU), cropped to fill it."""

    blob: bytes
    width: int
    height: int
    crop: tuple[int, int, int, int]  # left, top, right, bottom in 1/1000 % (a:srcRect)
    position: str = "inline"  # or "right": anchored at the right margin, text wrapping on its left


def _load_photo(data: Mapping[str, Any], base_dir: Path | None, table: Mapping[str, Any]) -> _Photo | None:
    """Read basics.image (checked by photo_path) and fit it to the theme's [photo] box.

    With width and height both set the picture is centre-cropped to that
    aspect ratio (a portrait never looks squashed); with one, it scales.
    """
    photo = load_photo(data, base_dir)  # every check, located, already ran for the cache key
    if photo is None:
        return None
    from docx.image.image import Image

    blob, px_w, px_h = photo.data, photo.width, photo.height
    try:
        Image.from_blob(blob)  # a last guard: python-docx parses it again when embedding it
    except Exception:  # its header parsers raise anything on a forged file
        raise InputError(f'basics.image: "{photo.path.name}" is not a valid PNG or JPEG image') from None
    width = table.get("width")
    height = table.get("height")
    if width is None and height is None:
        width = DEFAULT_PHOTO_WIDTH
    crop = (0, 0, 0, 0)
    if width is not None and height is not None:
        w, h = length_pt(width), length_pt(height)
        box, pic = w / h, px_w / px_h
        if pic > box:  # too wide: trim the sides
            side = int(round((1 - box / pic) / 2 * 100_000))
            crop = (side, 0, side, 0)
        elif pic < box:  # too tall: trim more from the bottom than the top (faces sit high)
            cut = 1 - pic / box
            crop = (0, int(round(cut * 0.3 * 100_000)), 0, int(round(cut * 0.7 * 100_000)))
    elif width is not None:
        w = length_pt(width)
        h = w * px_h / px_w
    else:
        h = length_pt(height)
        w = h * px_w / px_h
    return _Photo(blob, int(round(w * _EMU_PER_PT)), int(round(h * _EMU_PER_PT)), crop,
                  table.get("position", "inline"))


_ANCHOR_XML = (
    '<wp:anchor xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'distT="0" distB="0" distL="{gap}" distR="0" simplePos="0" relativeHeight="1" behindDoc="0" '
    'locked="1" layoutInCell="1" allowOverlap="0">'
    '<wp:simplePos x="0" y="0"/>'
    '<wp:positionH relativeFrom="margin"><wp:align>right</wp:align></wp:positionH>'
    '<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>'
    "</wp:anchor>"
)
_PHOTO_GAP_EMU = 144000  # 0.4 cm between the text and the photo


def _anchor_right(inline):
    """Turn python-docx's wp:inline into a wp:anchor at the right margin (wrap square, text left)."""
    from docx.oxml import OxmlElement, parse_xml
    from docx.oxml.ns import qn

    anchor = parse_xml(_ANCHOR_XML.format(gap=_PHOTO_GAP_EMU))
    extent = inline.find(qn("wp:extent"))
    anchor.append(extent)
    effect = OxmlElement("wp:effectExtent")
    for attr in ("l", "t", "r", "b"):
        effect.set(attr, "0")
    anchor.append(effect)
    wrap = OxmlElement("wp:wrapSquare")
    wrap.set("wrapText", "left")
    anchor.append(wrap)
    for tag in ("wp:docPr", "wp:cNvGraphicFramePr", "a:graphic"):
        anchor.append(inline.find(qn(tag)))
    return anchor



# --- writing the document -------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_P, _PPR, _PSTYLE, _VAL = _W + "p", _W + "pPr", _W + "pStyle", _W + "val"
_R, _RPR, _RSTYLE, _RFONTS = _W + "r", _W + "rPr", _W + "rStyle", _W + "rFonts"
_T, _TAB, _BR, _U = _W + "t", _W + "tab", _W + "br", _W + "u"
_BOLD, _ITALIC = (_W + "b", _W + "bCs"), (_W + "i", _W + "iCs")
_FONT_ATTRS = (_W + "ascii", _W + "hAnsi", _W + "eastAsia", _W + "cs")
_LINK, _HISTORY = _W + "hyperlink", _W + "history"
# Everything a template can change is appended with SubElement below the parsed root, so it is written
# with the root's prefixes exactly as python-docx's OxmlElement + append wrote it (tests compare the bytes).
# The base's parts are parsed with lxml's default parser, which is per thread; they are our own XML.


class _Writer:
    """One build's document.xml, its relationships and its image, on top of a Base.

    Paragraphs are appended in O(1) each, and hyperlink relationships are
    remembered by URL and numbered as python-docx numbers them (the lowest
    free rIdN), so 1,000 jobs with hundreds of links stay linear.
    """

    def __init__(self, base: Base, theme: Theme, picture: _Photo | None, alt: str) -> None:
        self.base = base
        self.theme = theme
        self.picture = picture
        self.alt = alt
        self.root = etree.fromstring(base.varying[DOCUMENT])
        self.body = self.root.find(_W + "body")
        last = self.body[-1] if len(self.body) else None
        self.sect_pr = last if last is not None and last.tag == _W + "sectPr" else None
        if self.sect_pr is not None:
            self.body.remove(self.sect_pr)  # back at the end in finish(): paragraphs go before it
        self.rels = etree.fromstring(base.varying[DOCUMENT_RELS])
        self.base_rels = len(self.rels)
        self.used = {rel.get("Id") for rel in self.rels}
        self._next = 1  # no free rIdN below this
        self.links: dict[str, str] = {}
        self.image: tuple[str, Any] | None = None  # (rId, python-docx Image) once a photo is written
        self.photos = 0
        self.hyperlink_style = base.character.get(HYPERLINK_STYLE)

    def _relate(self, reltype: str, target: str, external: bool) -> str:
        while f"rId{self._next}" in self.used:
            self._next += 1
        r_id = f"rId{self._next}"
        self.used.add(r_id)
        rel = etree.SubElement(self.rels, _RELS)
        rel.set("Id", r_id)
        rel.set("Type", _RT + reltype)
        rel.set("Target", target)
        if external:
            rel.set("TargetMode", "External")
        return r_id

    def hyperlink_id(self, url: str) -> str:
        r_id = self.links.get(url)
        if r_id is None:
            r_id = self.links[url] = self._relate("hyperlink", url, True)
        return r_id

    def block(self, block: Block) -> None:
        style_id = self.base.paragraph.get(block.style)
        if style_id is None:
            raise InputError(
                f"theme {self.theme.name!r}: a template uses paragraph style {block.style!r}, "
                f"which neither its theme.toml [styles] nor Word's defaults define"
            )
        p = etree.SubElement(self.body, _P)
        etree.SubElement(etree.SubElement(p, _PPR), _PSTYLE).set(_VAL, style_id)
        current_link = None
        current_href = None
        for run in block.runs:
            if run.kind == "photo":
                current_link = current_href = None
                if self.picture is not None:
                    p.append(self._photo_run())
                continue
            if run.href is None:
                current_link = current_href = None
                _runs(p, run, self._char_style(run))
                continue
            if run.href != current_href:
                current_link = etree.SubElement(p, _LINK)
                current_link.set(_R_ID, self.hyperlink_id(run.href))
                current_link.set(_HISTORY, "1")
                current_href = run.href
            _runs(current_link, run, self.hyperlink_style)

    def _char_style(self, run: Run) -> str | None:
        if run.style is None:
            return None
        style_id = self.base.character.get(run.style)
        if style_id is None:
            raise InputError(
                f"theme {self.theme.name!r}: a template uses character style {run.style!r} in <span>, "
                f"which its theme.toml does not define (add [styles.\"{run.style}\"] with type = \"character\")"
            )
        return style_id

    def _photo_run(self):
        """A picture run holding the photo, made by python-docx (imported only for a photo).

        "inline" keeps it in the text flow; "right" anchors it to its paragraph at
        the right margin with text wrapping down its left side (a picture, never a
        text box: every word of the résumé stays in ordinary paragraphs, in reading
        order, for ATS parsers).
        """
        from docx.image.image import Image
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.oxml.shape import CT_Inline

        photo = self.picture
        assert photo is not None
        if self.image is None:  # one image part, however often the template shows the photo
            image = Image.from_blob(photo.blob)
            self.image = (self._relate("image", f"media/image1.{image.ext}", False), image)
        r_id, image = self.image
        self.photos += 1  # python-docx's next_id: the docPr ids so far are 1..n
        inline = CT_Inline.new_pic_inline(self.photos, r_id, image.filename, photo.width, photo.height)
        doc_pr = inline.find(qn("wp:docPr"))
        doc_pr.set("descr", self.alt)
        if any(photo.crop):
            blip_fill = inline.find(f".//{qn('pic:blipFill')}")
            src_rect = OxmlElement("a:srcRect")
            for attr, value in zip(("l", "t", "r", "b"), photo.crop):
                if value:
                    src_rect.set(attr, str(value))
            blip_fill.find(qn("a:blip")).addnext(src_rect)
        drawing = OxmlElement("w:drawing")
        drawing.append(_anchor_right(inline) if photo.position == "right" else inline)
        r = OxmlElement("w:r")
        r.append(drawing)
        return r

    def finish(self, core: Mapping[str, str], epoch: int) -> bytes:
        """The DOCX: the base's parts with this build's document, relationships, properties and image."""
        if self.sect_pr is not None:
            self.body.append(self.sect_pr)
        written = {
            DOCUMENT: _serialize(self.root),
            CORE: _core_xml(self.base.varying[CORE], core),
        }
        if len(self.rels) != self.base_rels:
            written[DOCUMENT_RELS] = _serialize(self.rels)
        if self.image is not None:
            image = self.image[1]
            partname = f"word/media/image1.{image.ext}"
            written[CONTENT_TYPES] = _content_types(self.base.varying[CONTENT_TYPES], partname, image.content_type)
            written[partname] = image.blob
        entries = dict(self.base.entries)
        if self.base.styles is not None:
            entries[STYLES] = self.base.styles.entry(written[DOCUMENT])
        names = package.zip_order([*{**entries, **written}])
        return package.write_zip(
            [(name, package.deflate(written[name]) if name in written else entries[name]) for name in names],
            package.stamp(epoch),
        )


def _serialize(root) -> bytes:
    """As python-docx writes an XML part."""
    return etree.tostring(root, encoding="UTF-8", standalone=True)


def _runs(parent, run: Run, style_id: str | None) -> None:
    """The run as w:r elements: one, or several when emoji need their own font."""
    if run.kind != "text":
        _run(parent, run.kind, "", run, style_id, None)
        return
    pieces = split_emoji(run.text)
    if len(pieces) == 1 and not pieces[0][0]:
        _run(parent, "text", run.text, run, style_id, None)
        return
    for emoji, text in pieces:
        _run(parent, "text", text, run, style_id, EMOJI_FONT if emoji else None)


def _run(parent, kind: str, text: str, run: Run, style_id: str | None, font: str | None) -> None:
    r = etree.SubElement(parent, _R)
    if style_id or font or run.bold or run.italic or run.underline:
        rpr = etree.SubElement(r, _RPR)
        if style_id:
            etree.SubElement(rpr, _RSTYLE).set(_VAL, style_id)
        if font:
            fonts = etree.SubElement(rpr, _RFONTS)
            for attr in _FONT_ATTRS:
                fonts.set(attr, font)
        if run.bold:
            etree.SubElement(rpr, _BOLD[0])
            etree.SubElement(rpr, _BOLD[1])
        if run.italic:
            etree.SubElement(rpr, _ITALIC[0])
            etree.SubElement(rpr, _ITALIC[1])
        if run.underline:
            etree.SubElement(rpr, _U).set(_VAL, "single")
    if kind == "tab":
        etree.SubElement(r, _TAB)
    elif kind == "br":
        etree.SubElement(r, _BR)
    else:
        t = etree.SubElement(r, _T)
        t.text = text
        t.set(_XML_SPACE, "preserve")


# LibreOffice 7.4 embeds colour-bitmap emoji fonts (Noto Color Emoji) in PDFs without visible
# glyphs, so emoji are set in Symbola, an outline font: real glyphs, and the text layer keeps them.
EMOJI_FONT = "Symbola"


def _content_types(blob: bytes, partname: str, content_type: str) -> bytes:
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
    return _serialize(root)


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


def _core_values(data: Mapping[str, Any], basics: Mapping[str, Any], epoch: int) -> dict[str, str]:
    """Every core property, pinned: python-docx would otherwise stamp the current time."""
    name = _plain(basics.get("name"))
    when = datetime.fromtimestamp(max(0, epoch), tz=UTC).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "title": _fit(f"{name} – Résumé" if name else "Résumé"),
        "author": _fit(name),
        "last_modified_by": _fit(name),
        "subject": _fit(_plain(basics.get("label"))),
        "keywords": _fit_list(_skill_keywords(data)),
        "comments": "",
        "category": "",
        "revision": "1",
        "created": when,
        "modified": when,
        "last_printed": when,
    }


def _core_xml(blob: bytes, values: Mapping[str, str]) -> bytes:
    """The base's core.xml (which has every element, see base.py) with this build's text in each."""
    root = etree.fromstring(blob)
    for name, value in values.items():
        element = root.find(_CORE_TAGS[name])
        if element is None:
            raise AssertionError(f"the styled base has no core property {name}")
        element.text = value
    return _serialize(root)


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
            text = _plain(word).replace(" ", "\u00a0")
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


def _plain(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(xml_text(value).split())


