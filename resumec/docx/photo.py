"""The photo: basics.image read, checked and fitted to the theme's [photo] box, as a DOCX picture run.

python-docx is imported only here and only for a résumé with a photo: it
parses the image header and makes the picture's drawing XML, as Word writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resumec.assets import load_photo
from resumec.errors import InputError
from resumec.theme import length_pt

_EMU_PER_PT = 12700
DEFAULT_PHOTO_WIDTH = "2.5cm"


@dataclass(frozen=True)
class Photo:
    """The photo's bytes and the box the theme wants it in (EMU), cropped to fill it."""

    blob: bytes
    width: int
    height: int
    crop: tuple[int, int, int, int]  # left, top, right, bottom in 1/1000 % (a:srcRect)
    position: str = "inline"  # or "right": anchored at the right margin, text wrapping on its left


def load_photo_box(data: Mapping[str, Any], base_dir: Path | None, table: Mapping[str, Any]) -> Photo | None:
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
    return Photo(blob, int(round(w * _EMU_PER_PT)), int(round(h * _EMU_PER_PT)), crop,
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


def photo_image(photo: Photo) -> Any:
    """python-docx's Image of the photo (its type, extension and size)."""
    from docx.image.image import Image

    return Image.from_blob(photo.blob)


def picture_run(photo: Photo, number: int, r_id: str, image: Any, alt: str) -> Any:
    """A w:r holding the photo as the `number`th picture of the document, its image related as `r_id`.

    "inline" keeps it in the text flow; "right" anchors it to its paragraph at
    the right margin with text wrapping down its left side (a picture, never a
    text box: every word of the résumé stays in ordinary paragraphs, in reading
    order, for ATS parsers).
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.oxml.shape import CT_Inline

    inline = CT_Inline.new_pic_inline(number, r_id, image.filename, photo.width, photo.height)
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
