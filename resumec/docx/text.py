"""Plain-text helpers shared by the template layer and the DOCX writer.

Nothing here knows about Jinja2 or python-docx: these are the rules for what
résumé text may contain (XML 1.0 characters only), which links are safe, and
how ISO dates are shown, kept pure so they are easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resumec.validate import url_problem

# XML 1.0 allows \t \n \r, U+0020–U+D7FF, U+E000–U+FFFD and U+10000–U+10FFFF.
# Everything else (C0 controls, lone surrogates, U+FFFE/U+FFFF) cannot appear in
# a DOCX part at all, so it is dropped rather than letting lxml refuse the file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATE_TOKEN = re.compile(r"\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D")

ENGLISH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ENGLISH_MONTHS_LONG = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def xml_text(value: Any) -> str:
    """`value` as text that XML 1.0 can hold; a lone \\r becomes \\n."""
    text = value if isinstance(value, str) else str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


# Bidi: the explicit formatting characters, and the right-to-left scripts (Hebrew, Arabic, Syriac,
# Thaana, N'Ko, Samaritan, Mandaic, their presentation forms, and the historic RTL blocks).
_EMBEDDINGS = frozenset("\u202a\u202b\u202d\u202e")  # LRE RLE LRO RLO, closed by PDF
_ISOLATES = frozenset("\u2066\u2067\u2068")  # LRI RLI FSI, closed by PDI
_PDF, _FSI, _PDI = "\u202c", "\u2068", "\u2069"
_BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe"
                   "\U00010800-\U00010fff\U0001e800-\U0001efff]")


def isolate_bidi(line: str) -> str:
    """One line of a field, unable to reorder its neighbours: for text with bidi controls or RTL script.

    A stray U+202E (RIGHT-TO-LEFT OVERRIDE) in one field would otherwise run on
    to the end of the paragraph and mirror the fields after it. Unclosed
    embeddings and isolates are closed, closers without an opener are dropped
    (they would close ours), and the whole is wrapped in FSI…PDI, which also
    keeps an RTL field's direction from spilling onto neutral neighbours.
    Lines without any of these characters are returned unchanged, so ordinary
    résumés stay byte-identical.
    """
    if not _BIDI.search(line):
        return line
    out: list[str] = []
    stack: list[str] = []  # open initiators, innermost last
    for c in line:
        if c in _EMBEDDINGS or c in _ISOLATES:
            stack.append(c)
        elif c == _PDF:
            if not stack or stack[-1] not in _EMBEDDINGS:
                continue  # nothing of ours to close
            stack.pop()
        elif c == _PDI:
            if not any(o in _ISOLATES for o in stack):
                continue
            while stack.pop() not in _ISOLATES:  # a PDI also closes the embeddings inside its isolate
                pass
        out.append(c)
    closers = "".join(_PDI if o in _ISOLATES else _PDF for o in reversed(stack))
    return _FSI + "".join(out) + closers + _PDI


# Emoji: the pictograph planes (U+1F000–1FAFF: faces, people, objects, flags, skin tones), older
# symbols when followed by VS16 (U+FE0F, "show as emoji"), and what glues sequences together
# (ZWJ, VS16, the keycap mark, tag characters).
_EMOJI_RUN = re.compile(
    "(?:[\U0001F000-\U0001FAFF]|[\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\u00a9\u00ae\u203c\u2049#*0-9]\ufe0f)"
    "(?:[\U0001F000-\U0001FAFF\u200d\ufe0f\u20e3\U000E0020-\U000E007F]"
    "|[\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff]\ufe0f)*"
)


def split_emoji(text: str) -> list[tuple[bool, str]]:
    """(is_emoji, piece) in order; one (False, text) piece when there is no emoji."""
    pieces: list[tuple[bool, str]] = []
    pos = 0
    for match in _EMOJI_RUN.finditer(text):
        if match.start() > pos:
            pieces.append((False, text[pos : match.start()]))
        pieces.append((True, match.group()))
        pos = match.end()
    if pos < len(text) or not pieces:
        pieces.append((False, text[pos:]))
    return pieces


def safe_url(url: Any) -> str | None:
    """The URL if its scheme is http, https, mailto or tel and it passes the
    url-field check (a host for http/https, parseable); otherwise None.

    Whitespace and control characters are removed first, as browsers do, so
    " java\\tscript:" cannot slip past the scheme check. The same rules apply
    to url fields, Markdown links and template links, so "https:javascript:x"
    is never a link anywhere.
    """
    if not isinstance(url, str):
        return None
    cleaned = re.sub(r"[\x00-\x20\x7f]", lambda m: "%20" if m.group() == " " else "", xml_text(url).strip())
    match = _SCHEME.match(cleaned)
    if not match or match.group(1).lower() not in SAFE_SCHEMES:
        return None
    if len(cleaned) <= len(match.group(0)) or url_problem(cleaned) is not None:
        return None
    return cleaned


def display_url(url: Any) -> str:
    """A URL as printed: no scheme, no "www.", no trailing slash ("github.com/ana")."""
    if not isinstance(url, str):
        return ""
    text = xml_text(url).strip()
    text = re.sub(r"^(https?://|mailto:|tel:)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^www\.", "", text, flags=re.IGNORECASE)
    return text.rstrip("/")


def tel_url(phone: Any) -> str:
    """A tel: URI from a phone number as people write it ("+44 20 7946 0958")."""
    if not isinstance(phone, str):
        return ""
    digits = re.sub(r"[^0-9+]", "", phone)
    return f"tel:{digits}" if re.search(r"\d", digits) else ""


def has_content(value: Any) -> bool:
    """True if a JSON value holds anything worth printing (not just "" / [] / {})."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Mapping):
        return any(has_content(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_content(v) for v in value)
    return True


@dataclass(frozen=True)
class DateStyle:
    """How a theme (or locale) prints dates; built from its [dates] table."""

    format: str = "MMM YYYY"
    separator: str = " – "
    present: str = "Present"
    months: tuple[str, ...] = ENGLISH_MONTHS
    months_long: tuple[str, ...] = ENGLISH_MONTHS_LONG

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> DateStyle:
        base = cls()
        return cls(
            format=table.get("format", base.format),
            separator=table.get("separator", base.separator),
            present=table.get("present", base.present),
            months=tuple(table.get("months", base.months)),
            months_long=tuple(table.get("months_long", base.months_long)),
        )


def format_date(value: Any, style: DateStyle) -> str:
    """An ISO 8601 date ("2019", "2019-04", "2019-04-23") in the theme's format.

    Tokens for parts the date lacks are dropped together with the separator
    next to them, so "MMM YYYY" prints "2019" for a bare year. Anything that is
    not an ISO date is printed as written.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    text = xml_text(value).strip()
    match = _ISO_DATE.match(text)
    if not match:
        return text
    year, month, day = match.group(1), match.group(2), match.group(3)
    if month is not None and not 1 <= int(month) <= 12:
        return text
    if day is not None and not 1 <= int(day) <= 31:
        return text
    m = int(month) if month else 0
    values = {
        "YYYY": year,
        "YY": year[2:],
        "MMMM": style.months_long[m - 1] if m else None,
        "MMM": style.months[m - 1] if m else None,
        "MM": f"{m:02d}" if m else None,
        "M": str(m) if m else None,
        "DD": f"{int(day):02d}" if day else None,
        "D": str(int(day)) if day else None,
    }
    # (is_literal, text) pieces, adjacent literals merged; None marks a missing part.
    pieces: list[tuple[bool, str | None]] = []
    pos = 0
    for tok in _DATE_TOKEN.finditer(style.format):
        literal = style.format[pos : tok.start()] + (tok.group(1) or "")
        if literal:
            _add_literal(pieces, literal)
        if tok.group(1) is None:
            pieces.append((False, values[tok.group(0)]))
        pos = tok.end()
    if pos < len(style.format):
        _add_literal(pieces, style.format[pos:])
    # A missing part takes one separator with it: the one after it when a real
    # value follows ("MMM D, YYYY" -> "Apr 2019"), else the one before ("YYYY-MM").
    i = 0
    while i < len(pieces):
        is_literal, piece = pieces[i]
        if is_literal or piece is not None:
            i += 1
            continue
        value_after = any(not lit and p is not None for lit, p in pieces[i + 1 :])
        if i + 1 < len(pieces) and pieces[i + 1][0] and value_after:
            del pieces[i : i + 2]
        elif i > 0 and pieces[i - 1][0]:
            del pieces[i - 1 : i + 1]
            i -= 1
        else:
            del pieces[i]
    return "".join(p for _, p in pieces if p is not None).strip()


def _add_literal(pieces: list[tuple[bool, str | None]], literal: str) -> None:
    if pieces and pieces[-1][0]:
        pieces[-1] = (True, (pieces[-1][1] or "") + literal)
    else:
        pieces.append((True, literal))


def format_range(start: Any, end: Any, style: DateStyle) -> str:
    """"Dec 2013 – Present": a missing end means ongoing; equal ends print once."""
    first = format_date(start, style)
    last = format_date(end, style) if has_content(end) else ""
    if not first:
        return last
    if not last:
        return f"{first}{style.separator}{style.present}"
    if first == last:
        return first
    return f"{first}{style.separator}{last}"


def format_dates(dates: Any, style: DateStyle) -> str:
    """An entry's `Dates` (resumec.entries): its single date, or its range."""
    single = getattr(dates, "single", "")
    if single:
        return format_date(single, style)
    return format_range(getattr(dates, "start", ""), getattr(dates, "end", ""), style)
