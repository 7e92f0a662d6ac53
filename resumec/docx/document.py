"""Stage 4: résumé data + theme → DOCX bytes.

Templates render markup (render.py), markup becomes blocks (markup.py), and
blocks become paragraphs in named styles (styles.py). The result is
reproducible: the same inputs give byte-identical files, so the cache key and
the output agree and a rebuild never shows up as a change.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from markupsafe import Markup

from resumec.assets import load_photo
from resumec.docx.markup import Block, MarkupError, Run, parse
from resumec.docx.render import make_environment, render, to_markup
from resumec.docx.styles import HYPERLINK_STYLE, StyleMap, apply_theme
from resumec.docx.text import split_emoji, xml_text
from resumec.entries import Section, resume_model
from resumec.errors import InputError
from resumec.theme import DEFAULT_HEADING_STYLE, THEME_FILE, Theme, heading_style, length_pt, localized

HEADER_TEMPLATE = "header.xml.j2"
TEMPLATE_SUFFIX = ".xml.j2"
_ZIP_MIN = (1980, 1, 1, 0, 0, 0)
_ZIP_MAX = (2107, 12, 31, 23, 59, 58)
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
) -> bytes:
    """Render the résumé with the theme; `sections` are (key, title) pairs in order.

    `lang` picks a [locales.<lang>] overlay (dates, labels) and the document
    language; `paper` ("a4"/"letter") overrides the theme's page size.
    `base_dir` is the résumé's folder: `basics.image` resolves inside it
    (see resumec.assets.load_photo, which also feeds the cache key).
    """
    config = localized(theme.config, lang)
    env = make_environment(theme, config)
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
        blocks += _section_blocks(env, theme, section, common, headings, photo=picture is not None)

    document = docx.Document()
    doc_lang = lang or config.get("theme", {}).get("lang", "en-US")
    style_map = apply_theme(document, config, paper=paper, lang=doc_lang)
    if headings and headings not in style_map.paragraph:
        raise InputError(
            f"{theme.display(theme.root / THEME_FILE)}: [sections] heading_style names paragraph style "
            f"{headings!r}, which neither its [styles] nor Word's defaults define"
        )
    alt = f"Photo of {_plain(basics.get('name'))}" if _plain(basics.get("name")) else "Photo"
    _write_blocks(document, blocks, style_map, theme, picture, alt)
    _core_properties(document, data, basics, epoch)
    raw = io.BytesIO()
    document.save(raw)
    return _normalize_zip(raw.getvalue(), epoch)


def theme_titles(theme: Theme, config: Mapping[str, Any]) -> dict[str, str]:
    """Section titles after the locale overlay (every section key present)."""
    given = config.get("titles", {})
    return {key: given.get(key, default) for key, default in theme.titles.items()}


def _section_blocks(env, theme: Theme, section: Section, common: Mapping[str, Any], headings: str, *,
                    photo: bool) -> list[Block]:
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
    body = _blocks(env, theme, section_template(theme, section.key, section.shape), context, photo=photo)
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


def _photo_run(document, photo: _Photo, alt: str):
    """A picture run holding the photo, with alt text for tagged PDF and screen readers.

    "inline" keeps it in the text flow; "right" anchors it to its paragraph at
    the right margin with text wrapping down its left side (a picture, never a
    text box: every word of the résumé stays in ordinary paragraphs, in reading
    order, for ATS parsers).
    """
    inline = document.part.new_pic_inline(io.BytesIO(photo.blob), photo.width, photo.height)
    doc_pr = inline.find(qn("wp:docPr"))
    doc_pr.set("descr", alt)
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
    from docx.oxml import parse_xml

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


# --- writing paragraphs -----------------------------------------------------------


class _Body:
    """Appends paragraphs to the document body in O(1) each.

    python-docx's add_paragraph searches the body for its sectPr on every call
    and relate_to scans every relationship for a duplicate: both quadratic, so
    1,000 jobs with hundreds of highlights never finished. Here the sectPr
    (always last) is found once, and hyperlink relationships are remembered
    by URL and numbered as python-docx would (the lowest free rIdN).
    """

    def __init__(self, document) -> None:
        self.document = document
        self.body = document.element.body
        last = self.body[-1] if len(self.body) else None
        self.sect_pr = last if last is not None and last.tag == qn("w:sectPr") else None
        self.links: dict[str, str] = {}
        self._next = 1

    def add_paragraph(self):
        p = OxmlElement("w:p")
        if self.sect_pr is not None:
            self.sect_pr.addprevious(p)
        else:
            self.body.append(p)
        return p

    def hyperlink_id(self, url: str) -> str:
        r_id = self.links.get(url)
        if r_id is None:
            rels = self.document.part.rels
            while f"rId{self._next}" in rels:
                self._next += 1
            r_id = f"rId{self._next}"
            rels.add_relationship(RT.HYPERLINK, url, r_id, is_external=True)
            self.links[url] = r_id
        return r_id


def _write_blocks(document, blocks: list[Block], style_map: StyleMap, theme: Theme, picture: _Photo | None,
                  alt: str) -> None:
    body = _Body(document)
    for block in blocks:
        _write_block(body, block, style_map, theme, picture, alt)


def _write_block(body: _Body, block: Block, style_map: StyleMap, theme: Theme, picture: _Photo | None,
                 alt: str) -> None:
    style_id = style_map.paragraph.get(block.style)
    if style_id is None:
        raise InputError(
            f"theme {theme.name!r}: a template uses paragraph style {block.style!r}, "
            f"which neither its theme.toml [styles] nor Word's defaults define"
        )
    p = body.add_paragraph()
    ppr = p.get_or_add_pPr()
    ppr.insert(0, _w("w:pStyle", val=style_id))
    hyperlink_id = style_map.character.get(HYPERLINK_STYLE)
    current_link = None
    current_href = None
    for run in block.runs:
        if run.kind == "photo":
            current_link = current_href = None
            if picture is not None:
                p.append(_photo_run(body.document, picture, alt))
            continue
        if run.href is None:
            current_link = current_href = None
            p.extend(_runs(run, _char_style(run, style_map, theme)))
            continue
        if run.href != current_href:
            current_link = OxmlElement("w:hyperlink")
            current_link.set(qn("r:id"), body.hyperlink_id(run.href))
            current_link.set(qn("w:history"), "1")
            p.append(current_link)
            current_href = run.href
        current_link.extend(_runs(run, hyperlink_id))


def _char_style(run: Run, style_map: StyleMap, theme: Theme) -> str | None:
    if run.style is None:
        return None
    style_id = style_map.character.get(run.style)
    if style_id is None:
        raise InputError(
            f"theme {theme.name!r}: a template uses character style {run.style!r} in <span>, "
            f"which its theme.toml does not define (add [styles.\"{run.style}\"] with type = \"character\")"
        )
    return style_id


# LibreOffice 7.4 embeds colour-bitmap emoji fonts (Noto Color Emoji) in PDFs without visible
# glyphs, so emoji are set in Symbola, an outline font: real glyphs, and the text layer keeps them.
EMOJI_FONT = "Symbola"


def _runs(run: Run, style_id: str | None) -> list:
    """The run as w:r elements: one, or several when emoji need their own font."""
    if run.kind != "text":
        return [_run(run, style_id)]
    pieces = split_emoji(run.text)
    if len(pieces) == 1 and not pieces[0][0]:
        return [_run(run, style_id)]
    return [_run(replace(run, text=text), style_id, EMOJI_FONT if emoji else None) for emoji, text in pieces]


def _run(run: Run, style_id: str | None, font: str | None = None):
    r = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    if style_id:
        rpr.append(_w("w:rStyle", val=style_id))
    if font:
        rpr.append(_w("w:rFonts", ascii=font, hAnsi=font, eastAsia=font, cs=font))
    if run.bold:
        rpr.append(OxmlElement("w:b"))
        rpr.append(OxmlElement("w:bCs"))
    if run.italic:
        rpr.append(OxmlElement("w:i"))
        rpr.append(OxmlElement("w:iCs"))
    if run.underline:
        rpr.append(_w("w:u", val="single"))
    if len(rpr):
        r.append(rpr)
    if run.kind == "tab":
        r.append(OxmlElement("w:tab"))
    elif run.kind == "br":
        r.append(OxmlElement("w:br"))
    else:
        t = OxmlElement("w:t")
        t.text = run.text
        t.set(qn("xml:space"), "preserve")
        r.append(t)
    return r


def _w(tag: str, **attrs: str):
    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), value)
    return element


# --- reproducibility -----------------------------------------------------------------


def _core_properties(document, data: Mapping[str, Any], basics: Mapping[str, Any], epoch: int) -> None:
    """Pin every core property; python-docx would otherwise stamp the current time."""
    name = _plain(basics.get("name"))
    when = datetime.fromtimestamp(max(0, epoch), tz=UTC).replace(tzinfo=None)
    props = document.core_properties
    props.title = _fit(f"{name} – Résumé" if name else "Résumé")
    props.author = _fit(name)
    props.last_modified_by = _fit(name)
    props.subject = _fit(_plain(basics.get("label")))
    props.keywords = _fit_list(_skill_keywords(data))
    props.comments = ""
    props.category = ""
    props.revision = 1
    props.created = when
    props.modified = when
    props.last_printed = when


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


def _normalize_zip(blob: bytes, epoch: int) -> bytes:
    """Rewrite the package with fixed timestamps, attributes and entry order."""
    stamp = time.gmtime(max(0, epoch))[:6]
    stamp = max(_ZIP_MIN, min(_ZIP_MAX, stamp))
    with zipfile.ZipFile(io.BytesIO(blob)) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    first = [n for n in ("[Content_Types].xml", "_rels/.rels") if n in entries]
    order = first + sorted(n for n in entries if n not in first)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()
