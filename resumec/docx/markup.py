"""The small XML vocabulary templates render, parsed into blocks of runs.

Templates emit markup rather than python-docx calls so a theme stays data:

    block   <p style="Entry Title">…</p>     a paragraph in a named style
            <bullet style="List Bullet">…</bullet>   a bulleted list item
    inline  <b> <i> <u>                      bold, italic, underline
            <span style="Date">…</span>      a named character style
            <a href="https://…">…</a>        a hyperlink (http, https, mailto, tel only)
            <tab/> <br/>                     a tab (to the style's tab stop), a line break
            <photo/>                         the résumé's photo (basics.image), inline, sized
                                             by the theme's [photo] table; nothing without one

Whitespace collapses as in HTML: runs of spaces and newlines become one space,
and none survives at the start or end of a line. A block with no visible text
is dropped, so templates can emit optional lines without wrapping them in ifs.
"""

from __future__ import annotations

import re
import threading
from types import MappingProxyType
from typing import NamedTuple

from lxml import etree

from resumec.docx.text import safe_url

BLOCKS = MappingProxyType({"p": "Normal", "bullet": "List Bullet"})  # element -> default style
INLINE = frozenset({"b", "i", "u", "span", "a", "tab", "br", "photo"})
_EMPTY = frozenset({"tab", "br", "photo"})
_ATTRIBUTES = MappingProxyType({"p": {"style"}, "bullet": {"style"}, "span": {"style"}, "a": {"href"}})
_SPACE = re.compile(r"[ \t\n\r]+")


class MarkupError(ValueError):
    """The rendered template is not valid markup: a theme bug, reported with its line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class Run(NamedTuple):
    """One piece of a paragraph: text, a tab or a line break, with its formatting.

    (A NamedTuple, not a frozen dataclass: a résumé makes hundreds, and a
    tuple is made three times faster.)
    """

    kind: str  # "text" | "tab" | "br" | "photo"
    text: str = ""
    bold: bool = False
    italic: bool = False
    underline: bool = False
    style: str | None = None  # character style
    href: str | None = None  # already checked by safe_url


class Block(NamedTuple):
    """A paragraph to write: a named paragraph style and its runs."""

    kind: str  # "p" | "bullet"
    style: str
    runs: tuple[Run, ...]

    @property
    def text(self) -> str:
        shown = {"tab": "\t", "br": "\n", "photo": ""}
        return "".join(r.text if r.kind == "text" else shown[r.kind] for r in self.runs)


def parse(markup: str, *, photo: bool = True) -> list[Block]:
    """Parse one template's output into blocks; raise MarkupError on a theme bug.

    With `photo=False` (the résumé has none) `<photo/>` is dropped, so a
    paragraph holding only the photo disappears instead of leaving a gap.
    """
    try:
        root = etree.fromstring(f"<markup>{markup}</markup>".encode(), _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise MarkupError(f"invalid markup: {exc.msg}", line) from None
    blocks: list[Block] = []
    if root.text and root.text.strip():
        raise MarkupError(f"text outside a block: {root.text.strip()[:40]!r}", root.sourceline)
    for element in root:
        if element.tag not in BLOCKS:
            raise MarkupError(f"<{element.tag}> is not a block element (expected <p> or <bullet>)", element.sourceline)
        _check_attributes(element)
        runs: list[Run] = []
        _inline(element, Run("text"), runs, element.tag)
        if not photo:
            runs = [r for r in runs if r.kind != "photo"]
        collapsed = _collapse(runs)
        if any((r.kind == "text" and r.text.strip()) or r.kind == "photo" for r in collapsed):
            style = element.get("style") or BLOCKS[element.tag]
            blocks.append(Block(element.tag, style, tuple(collapsed)))
        if element.tail and element.tail.strip():
            raise MarkupError(f"text outside a block: {element.tail.strip()[:40]!r}", element.sourceline)
    return blocks


def _parser() -> etree.XMLParser:
    """This thread's markup parser.

    lxml parsers must not be shared between threads, and a parse with a new
    parser takes three times as long as one with a used one (~80 µs against
    ~25 µs for a paragraph or two, ~20 times per résumé). So each thread keeps
    one: a memo of a tool that carries nothing from one parse to the next but
    its name dictionary, not program state.
    """
    parser = getattr(_THREAD, "parser", None)
    if parser is None:
        parser = _THREAD.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True, huge_tree=True
        )
    return parser


_THREAD = threading.local()


def _check_attributes(element: etree._Element) -> None:
    allowed = _ATTRIBUTES.get(element.tag, frozenset())
    for name in element.attrib:
        if name not in allowed:
            raise MarkupError(f"<{element.tag}> has no attribute {name!r}", element.sourceline)


def _like(fmt: Run, kind: str, text: str) -> Run:
    """A run with fmt's formatting."""
    return Run(kind, text, fmt.bold, fmt.italic, fmt.underline, fmt.style, fmt.href)


def _inline(element: etree._Element, fmt: Run, out: list[Run], where: str) -> None:
    """Flatten nested inline elements into runs, each carrying its formatting."""
    if element.text:
        out.append(_like(fmt, "text", element.text))
    for child in element:
        if child.tag not in INLINE:
            raise MarkupError(f"<{child.tag}> is not allowed inside <{where}>", child.sourceline)
        _check_attributes(child)
        if child.tag in _EMPTY:
            if len(child) or (child.text and child.text.strip()):
                raise MarkupError(f"<{child.tag}/> must be empty", child.sourceline)
            out.append(_like(fmt, child.tag, ""))
        else:
            bold, italic, underline, style, href = fmt.bold, fmt.italic, fmt.underline, fmt.style, fmt.href
            if child.tag == "b":
                bold = True
            elif child.tag == "i":
                italic = True
            elif child.tag == "u":
                underline = True
            elif child.tag == "span":
                style = child.get("style") or None
            elif child.tag == "a":
                if fmt.href is not None:
                    raise MarkupError("<a> cannot be nested in another <a>", child.sourceline)
                # Enforced here as well as in link(): an unsafe href keeps its text, loses the link.
                href = safe_url(child.get("href", "")) or None
            inner = Run("text", "", bold, italic, underline, style, href)
            _inline(child, inner, out, child.tag)
        if child.tail:
            out.append(_like(fmt, "text", child.tail))


def _collapse(runs: list[Run]) -> list[Run]:
    """HTML-like whitespace: one space between words, none at line edges."""
    out: list[Run] = []
    at_line_start = True
    for run in runs:
        if run.kind != "text":
            _trim_trailing(out)
            out.append(run)
            at_line_start = True
            continue
        text = _SPACE.sub(" ", run.text)
        if at_line_start or (out and out[-1].kind == "text" and out[-1].text.endswith(" ")):
            text = text.lstrip(" ")
        if not text:
            continue
        if out and out[-1].kind == "text" and _same_format(out[-1], run):
            out[-1] = _like(out[-1], "text", out[-1].text + text)
        else:
            out.append(_like(run, run.kind, text))
        at_line_start = False
    _trim_trailing(out)
    while out and out[-1].kind in ("tab", "br"):  # a dangling tab or break only adds blank space
        out.pop()
        _trim_trailing(out)
    return out


def _trim_trailing(out: list[Run]) -> None:
    while out and out[-1].kind == "text":
        stripped = out[-1].text.rstrip(" ")
        if stripped:
            out[-1] = _like(out[-1], "text", stripped)
            return
        out.pop()


def _same_format(a: Run, b: Run) -> bool:
    return (a.bold, a.italic, a.underline, a.style, a.href) == (b.bold, b.italic, b.underline, b.style, b.href)
