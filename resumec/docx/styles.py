"""Turn a theme's [page], [fonts], [colors] and [styles] tables into Word styles.

Named styles (not direct formatting) keep the DOCX editable: a user who opens
it in Word can restyle every heading at once, and ATS parsers see real
headings and lists. XML is written in the element order the OOXML schema
requires, because Word refuses files that LibreOffice would still open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.styles import BabelFish
from docx.styles.style import StyleFactory

from resumec.docx.base import HYPERLINK_STYLE
from resumec.errors import InputError, UsageError
from resumec.theme import PAPER_SIZES, length_pt

# Schema order of the children we write (CT_PPrBase / CT_RPr), so inserts land right.
_PPR_ORDER = (
    "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
    "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
    "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
    "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
    "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
)
_RPR_ORDER = (
    "rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
    "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing",
    "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText",
    "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath",
)
_ALIGN = MappingProxyType({"left": "left", "center": "center", "right": "right", "justify": "both"})
_TYPES = MappingProxyType({"paragraph": WD_STYLE_TYPE.PARAGRAPH, "character": WD_STYLE_TYPE.CHARACTER})
_DROPPED_RELS = (
    RT.THUMBNAIL,
    RT.CUSTOM_XML,
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
)


@dataclass(frozen=True)
class StyleMap:
    """What the writer needs: style ids by name and the width of the text area."""

    paragraph: Mapping[str, str]
    character: Mapping[str, str]
    text_width_twips: int


def twips(points: float) -> int:
    return int(round(points * 20))


def apply_theme(document: Document, config: Mapping[str, Any], *, paper: str | None, lang: str) -> StyleMap:
    """Set up page, defaults, styles and bullet numbering from the theme config."""
    text_width = _page(document, config.get("page", {}), paper)
    fonts = config.get("fonts", {})
    colors = config.get("colors", {})
    _doc_defaults(document, fonts, lang)
    _drop_template_extras(document)

    declared: dict[str, Mapping[str, Any]] = dict(config.get("styles", {}))
    declared.setdefault(HYPERLINK_STYLE, {"type": "character"})
    styles = _Styles(document.styles)
    created = {}
    for name, props in declared.items():  # pass 1: every style exists, so references resolve
        wanted = _TYPES[props.get("type", "paragraph")]
        try:
            style = styles[name]
        except KeyError:
            style = styles.add(name, wanted)
        else:
            if style.type != wanted:
                raise InputError(
                    f"theme style {name!r} is declared as {props.get('type', 'paragraph')}, "
                    f"but Word already has a {style.type.name.lower()} style of that name; pick another name"
                )
            _reset(style.element)
        created[name] = style
    ids: dict[str, str] = {}
    next_num = _NumberingIds.start(document)
    for name, props in declared.items():  # pass 2: properties
        style = created[name]
        element = style.element
        for key, attr in (("based_on", "base_style"), ("next", "next_paragraph_style")):
            if key in props:
                target = _lookup(styles, props[key], name, key)
                setattr(style, attr, target)
        num_id = None
        if "bullet" in props:
            num_id = next_num.add_bullet(document, style.style_id, props, fonts, colors)
        if style.type == WD_STYLE_TYPE.PARAGRAPH:
            _set_ppr(element, props, colors, num_id, text_width)
        _set_rpr(element, props, fonts, colors)
        ids[name] = style.style_id
    paragraph, character = styles.ids()
    return StyleMap(paragraph, character, text_width)


class _Styles:
    """`document.styles` with lookups by name from an index: python-docx scans every one of the template's
    ~160 styles on each lookup and each add, which made styling a document cost more than writing it."""

    def __init__(self, styles) -> None:
        self.styles = styles
        self.by_name: dict[str | None, Any] = {}
        for element in styles.element.style_lst:
            self.by_name.setdefault(element.name_val, element)  # the first match, as python-docx's xpath

    def __getitem__(self, name: str):
        element = self.by_name.get(BabelFish.ui2internal(name))
        if element is not None:
            return StyleFactory(element)
        return self.styles[name]  # python-docx's own lookup: by style id (deprecated, it warns), or KeyError

    def add(self, name: str, style_type: WD_STYLE_TYPE):
        """styles.add_style, for a name __getitem__ did not find (so not in the document)."""
        internal = BabelFish.ui2internal(name)
        element = self.styles.element.add_style_of_type(internal, style_type, False)
        self.by_name.setdefault(internal, element)
        return StyleFactory(element)

    def ids(self) -> tuple[dict[str, str], dict[str, str]]:
        """{name: style id} of every named paragraph style, and of every character style."""
        found: dict[WD_STYLE_TYPE, dict[str, str]] = {WD_STYLE_TYPE.PARAGRAPH: {}, WD_STYLE_TYPE.CHARACTER: {}}
        for element in self.styles.element.style_lst:
            name = element.name_val
            if not name:
                continue
            kind = element.type if element.type is not None else WD_STYLE_TYPE.PARAGRAPH  # as BaseStyle.type
            if kind in found:
                found[kind][BabelFish.internal2ui(name)] = element.styleId
        return found[WD_STYLE_TYPE.PARAGRAPH], found[WD_STYLE_TYPE.CHARACTER]


def _lookup(styles, target: str, name: str, key: str):
    try:
        return styles[target]
    except KeyError:
        raise InputError(f"theme style {name!r}: {key} names unknown style {target!r}") from None


# --- page and document defaults ----------------------------------------------------


def _page(document: Document, page: Mapping[str, Any], paper: str | None) -> int:
    size = (paper or page.get("size", "a4")).lower()
    if size not in PAPER_SIZES:
        raise UsageError(f"unknown paper size {size!r} (expected one of: {', '.join(PAPER_SIZES)})")
    width, height = PAPER_SIZES[size]
    margins = {side: length_pt(page.get("margins", {}).get(side, "2cm")) for side in ("top", "right", "bottom", "left")}
    section = document.sections[0]
    section.page_width, section.page_height = Pt(width), Pt(height)
    section.top_margin, section.bottom_margin = Pt(margins["top"]), Pt(margins["bottom"])
    section.left_margin, section.right_margin = Pt(margins["left"]), Pt(margins["right"])
    # python-docx's EMU round trip can be off by a twip; write exact twips instead.
    sect = section._sectPr
    pg_sz = sect.find(qn("w:pgSz"))
    pg_sz.set(qn("w:w"), str(twips(width)))
    pg_sz.set(qn("w:h"), str(twips(height)))
    pg_mar = sect.find(qn("w:pgMar"))
    for side, value in margins.items():
        pg_mar.set(qn(f"w:{side}"), str(twips(value)))
    for attr in ("w:rsidR", "w:rsidRPr", "w:rsidSect"):
        sect.attrib.pop(qn(attr), None)
    return twips(width) - twips(margins["left"]) - twips(margins["right"])


def _doc_defaults(document: Document, fonts: Mapping[str, str], lang: str) -> None:
    """Replace the template's theme-font defaults with the theme's real families.

    Theme-font attributes (w:asciiTheme …) would override the names we set, so
    they are removed. w:eastAsia gives CJK text a font with real glyphs.
    """
    styles_el = document.styles.element
    defaults = styles_el.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for child in list(rpr):
        rpr.remove(child)
    body = fonts.get("body", "Calibri")
    east_asian, complex_script = fonts.get("east_asian", body), fonts.get("complex", body)
    rpr.append(_el("w:rFonts", ascii=body, hAnsi=body, eastAsia=east_asian, cs=complex_script))
    rpr.append(_el("w:sz", val="22"))
    rpr.append(_el("w:szCs", val="22"))
    rpr.append(_el("w:lang", val=lang, eastAsia=lang, bidi="ar-SA"))
    ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    for child in list(ppr):
        ppr.remove(child)
    ppr.append(_el("w:spacing", after="0", line="240", lineRule="auto"))


def _drop_template_extras(document: Document) -> None:
    """Remove parts of python-docx's template that would misdescribe our file.

    The thumbnail is a picture of an empty page, stylesWithEffects is a stale
    copy of the styles Word 2010 would prefer, and customXml is unused.
    """
    package = document.part.package
    for rels in (package.rels, document.part.rels):
        for r_id, rel in list(rels.items()):
            if rel.reltype in _DROPPED_RELS:
                del rels[r_id]
    settings = document.settings.element
    for tag in ("w:savePreviewPicture", "w:rsids", "w14:docId"):
        for child in settings.findall(qn(tag)):
            settings.remove(child)


# --- styles ----------------------------------------------------------------------


def _reset(element) -> None:
    """Clear a template style's formatting so the theme alone describes it."""
    for tag in ("w:link", "w:rsid"):
        for child in element.findall(qn(tag)):
            element.remove(child)
    for tag in ("w:pPr", "w:rPr"):
        props = element.find(qn(tag))
        if props is None:
            continue
        for child in list(props):
            if child.tag != qn("w:outlineLvl"):
                props.remove(child)


def _set_ppr(element, props: Mapping[str, Any], colors: Mapping[str, str], num_id: int | None,
             text_width: int) -> None:
    items: list[Any] = []
    for key, tag in (("keep_with_next", "w:keepNext"), ("keep_together", "w:keepLines")):
        if key in props:
            items.append(_flag(tag, props[key]))
    if num_id is not None:
        num_pr = _el("w:numPr")
        num_pr.append(_el("w:numId", val=str(num_id)))
        items.append(num_pr)
    # pBdr children in schema order: top, left, bottom.
    borders = [(side, props[f"border_{side}"]) for side in ("top", "left", "bottom") if f"border_{side}" in props]
    if borders:
        p_bdr = _el("w:pBdr")
        for side, spec in borders:
            p_bdr.append(_border(side, spec, colors))
        items.append(p_bdr)
    if props.get("right_tab"):
        tabs = _el("w:tabs")
        tabs.append(_el("w:tab", val="right", pos=str(text_width - _twips_len(props.get("indent_right", 0)))))
        items.append(tabs)
    spacing = {}
    if "space_before" in props:
        spacing["before"] = str(twips(props["space_before"]))
    if "space_after" in props:
        spacing["after"] = str(twips(props["space_after"]))
    if "line_spacing" in props:
        spacing["line"] = str(int(round(240 * props["line_spacing"])))
        spacing["lineRule"] = "auto"
    if spacing:
        items.append(_el("w:spacing", **spacing))
    ind = {}
    for key, attr in (("indent_left", "left"), ("indent_right", "right"), ("indent_hanging", "hanging"),
                      ("indent_first_line", "firstLine")):
        if key in props:
            ind[attr] = str(_twips_len(props[key]))
    if ind:
        items.append(_el("w:ind", **ind))
    if "align" in props:
        items.append(_el("w:jc", val=_ALIGN[props["align"]]))
    if "outline_level" in props:
        items.append(_el("w:outlineLvl", val=str(props["outline_level"])))
    if not items:
        return
    ppr = element.find(qn("w:pPr"))
    if ppr is None:
        ppr = _el("w:pPr")
        rpr = element.find(qn("w:rPr"))
        if rpr is not None:
            rpr.addprevious(ppr)
        else:
            element.append(ppr)
    for item in items:
        _insert_ordered(ppr, item, _PPR_ORDER)


def _set_rpr(element, props: Mapping[str, Any], fonts: Mapping[str, str], colors: Mapping[str, str]) -> None:
    items: list[Any] = []
    if "font" in props:
        family = fonts.get(props["font"], props["font"])
        items.append(_el("w:rFonts", ascii=family, hAnsi=family))
    for key, tags in (("bold", ("w:b", "w:bCs")), ("italic", ("w:i", "w:iCs")), ("caps", ("w:caps",)),
                      ("small_caps", ("w:smallCaps",))):
        if key in props:
            items.extend(_flag(tag, props[key]) for tag in tags)
    if "color" in props:
        items.append(_el("w:color", val=_color(props["color"], colors)))
    if "letter_spacing" in props:
        items.append(_el("w:spacing", val=str(twips(props["letter_spacing"]))))
    if "size" in props:
        half_points = str(int(round(props["size"] * 2)))
        items += [_el("w:sz", val=half_points), _el("w:szCs", val=half_points)]
    if "underline" in props:
        items.append(_el("w:u", val="single" if props["underline"] else "none"))
    if not items:
        return
    rpr = element.find(qn("w:rPr"))
    if rpr is None:
        rpr = _el("w:rPr")
        element.append(rpr)
    for item in items:
        _insert_ordered(rpr, item, _RPR_ORDER)


def _border(side: str, spec: Mapping[str, Any], colors: Mapping[str, str]):
    width = spec.get("width", 0.75)
    eighths = max(2, min(96, int(round(width * 8))))
    return _el(
        f"w:{side}",
        val=spec.get("style", "single"),
        sz=str(eighths),
        space=str(int(round(spec.get("space", 1)))),
        color=_color(spec.get("color", "000000"), colors),
    )


class _NumberingIds:
    """Allocates abstractNum/num ids after those in the template's numbering part."""

    def __init__(self, abstract: int, num: int) -> None:
        self.abstract = abstract
        self.num = num

    @classmethod
    def start(cls, document: Document) -> _NumberingIds:
        numbering = document.part.numbering_part.element
        abstract = [int(e.get(qn("w:abstractNumId"))) for e in numbering.findall(qn("w:abstractNum"))]
        nums = [int(e.get(qn("w:numId"))) for e in numbering.findall(qn("w:num"))]
        return cls(max(abstract, default=-1) + 1, max(nums, default=0) + 1)

    def add_bullet(self, document: Document, style_id: str, props: Mapping[str, Any],
                   fonts: Mapping[str, str], colors: Mapping[str, str]) -> int:
        """A single-level bullet list bound to the paragraph style (w:pStyle)."""
        numbering = document.part.numbering_part.element
        abstract_id, num_id = self.abstract, self.num
        self.abstract += 1
        self.num += 1
        abstract = _el("w:abstractNum", abstractNumId=str(abstract_id))
        abstract.append(_el("w:multiLevelType", val="singleLevel"))
        lvl = _el("w:lvl", ilvl="0")
        lvl.append(_el("w:start", val="1"))
        lvl.append(_el("w:numFmt", val="bullet"))
        lvl.append(_el("w:pStyle", val=style_id))
        lvl.append(_el("w:lvlText", val=props["bullet"]))
        lvl.append(_el("w:lvlJc", val="left"))
        ppr = _el("w:pPr")
        ppr.append(_el("w:ind", left=str(_twips_len(props.get("indent_left", "0.63cm"))),
                       hanging=str(_twips_len(props.get("indent_hanging", "0.63cm")))))
        lvl.append(ppr)
        bullet_font = props.get("bullet_font", "body")
        family = fonts.get(bullet_font, bullet_font if bullet_font != "body" else "Calibri")
        rpr = _el("w:rPr")
        rpr.append(_el("w:rFonts", ascii=family, hAnsi=family, hint="default"))
        bullet_color = props.get("bullet_color", props.get("color"))
        if bullet_color is not None:
            rpr.append(_el("w:color", val=_color(bullet_color, colors)))
        lvl.append(rpr)
        abstract.append(lvl)
        existing = numbering.findall(qn("w:abstractNum"))
        if existing:
            existing[-1].addnext(abstract)
        else:
            numbering.insert(0, abstract)
        num = _el("w:num", numId=str(num_id))
        num.append(_el("w:abstractNumId", val=str(abstract_id)))
        nums = numbering.findall(qn("w:num"))
        if nums:
            nums[-1].addnext(num)
        else:
            numbering.append(num)
        return num_id


# --- small XML helpers -------------------------------------------------------------


def _el(tag: str, **attrs: str):
    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), value)
    return element


def _flag(tag: str, on: bool):
    return _el(tag) if on else _el(tag, val="0")


def _color(value: str, colors: Mapping[str, str]) -> str:
    return colors.get(value, value).lstrip("#").upper()


def _twips_len(value: Any) -> int:
    return twips(length_pt(value))


def _insert_ordered(parent, child, order: tuple[str, ...]) -> None:
    """Insert child where the schema wants it, replacing an element of the same tag."""
    local = child.tag.split("}")[1]
    rank = order.index(local)
    for existing in parent:
        name = existing.tag.split("}")[1]
        if name == local:
            existing.addprevious(child)
            parent.remove(existing)
            return
    for existing in parent:
        name = existing.tag.split("}")[1]
        if name in order and order.index(name) > rank:
            existing.addprevious(child)
            return
    parent.append(child)
