"""Stage 4: résumé data + theme → DOCX bytes.

Templates render markup (render.py), markup becomes blocks (markup.py), and
blocks become paragraphs in named styles. The styles, page and every other
part that depends only on the theme come from a styled `Base` (base.py, made
with python-docx once per theme and kept by the `Builder`); a build parses
the base's tiny document.xml, appends its paragraphs with lxml and writes the
zip (package.py) with the unchanged parts already compressed. The photo
(photo.py) and the parts around the body (parts.py: content types, core
properties) have modules of their own. The result is
reproducible: the same inputs give byte-identical files, so the cache key and
the output agree and a rebuild never shows up as a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree
from markupsafe import Markup

from resumec.docx import package
from resumec.docx.base import CONTENT_TYPES, CORE, DOCUMENT, DOCUMENT_RELS, HYPERLINK_STYLE, STYLES, Base
from resumec.docx.markup import Block, MarkupError, Run, parse
from resumec.docx.parts import content_types, core_values, core_xml, plain, serialize
from resumec.docx.photo import Photo, load_photo_box, photo_image, picture_run
from resumec.docx.render import render, to_markup
from resumec.docx.text import split_emoji
from resumec.entries import Section, resume_model
from resumec.errors import InputError
from resumec.theme import DEFAULT_HEADING_STYLE, THEME_FILE, Theme, heading_style, localized

if TYPE_CHECKING:
    from resumec.docx.builder import Builder

HEADER_TEMPLATE = "header.xml.j2"
TEMPLATE_SUFFIX = ".xml.j2"


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
    picture = load_photo_box(data, base_dir, config.get("photo", {}))
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
    alt = f"Photo of {plain(basics.get('name'))}" if plain(basics.get("name")) else "Photo"
    writer = _Writer(base, theme, picture, alt)
    for block in blocks:
        writer.block(block)
    return writer.finish(core_values(data, basics, epoch), epoch)


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


# --- writing the document -------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
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

    def __init__(self, base: Base, theme: Theme, picture: Photo | None, alt: str) -> None:
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
        """A picture run holding the photo; one image part, however often the template shows it."""
        photo = self.picture
        assert photo is not None
        if self.image is None:
            image = photo_image(photo)
            self.image = (self._relate("image", f"media/image1.{image.ext}", False), image)
        r_id, image = self.image
        self.photos += 1  # python-docx's next_id: the docPr ids so far are 1..n
        return picture_run(photo, self.photos, r_id, image, self.alt)

    def finish(self, core: Mapping[str, str], epoch: int) -> bytes:
        """The DOCX: the base's parts with this build's document, relationships, properties and image."""
        if self.sect_pr is not None:
            self.body.append(self.sect_pr)
        written = {
            DOCUMENT: serialize(self.root),
            CORE: core_xml(self.base.varying[CORE], core),
        }
        if len(self.rels) != self.base_rels:
            written[DOCUMENT_RELS] = serialize(self.rels)
        if self.image is not None:
            image = self.image[1]
            partname = f"word/media/image1.{image.ext}"
            written[CONTENT_TYPES] = content_types(self.base.varying[CONTENT_TYPES], partname, image.content_type)
            written[partname] = image.blob
        entries = dict(self.base.entries)
        if self.base.styles is not None:
            entries[STYLES] = self.base.styles.entry(written[DOCUMENT])
        names = package.zip_order([*{**entries, **written}])
        return package.write_zip(
            [(name, package.deflate(written[name]) if name in written else entries[name]) for name in names],
            package.stamp(epoch),
        )


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
