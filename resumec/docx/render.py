"""Render a theme's Jinja2 templates into markup (see markup.py).

Résumé data is always text. It reaches templates only as context values, is
never compiled as a template, and is XML-escaped on output (autoescape plus
`finalize`), so `{{ 7*7 }}`, `<b>` or `&amp;` in a résumé print literally. The
only helpers that emit markup (`md`, `link`, `join_nonempty`) escape the data
themselves first. The environment is sandboxed, immutable and can only load
files from the theme's own folders.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, FileSystemLoader, TemplateError, TemplateNotFound, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from resumec.docx.text import DateStyle, display_url, format_date, format_dates, format_range, safe_url, tel_url, xml_text
from resumec.errors import InputError
from resumec.theme import Theme

# Filters that would let a template (or data passed through one) emit raw markup.
_REMOVED_FILTERS = ("safe", "urlize")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, but an unsafe attribute is an error, not a blank.

    The stock sandbox returns an Undefined for `x.__class__` (also inside
    `"{0.__class__}".format(x)`), which prints as nothing: safe, but a theme
    author probing the sandbox should be told, with the template line.
    """

    def unsafe_undefined(self, obj: Any, attribute: str):  # type: ignore[override]
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__!r} object is not allowed")


class _ThemeLoader(FileSystemLoader):
    """A FileSystemLoader that also refuses symlinks pointing outside the theme."""

    def __init__(self, template_dirs: list[Path], roots: list[Path]) -> None:
        super().__init__([str(d) for d in template_dirs], encoding="utf-8", followlinks=False)
        self._roots = [os.path.realpath(r) for r in roots]

    def get_source(self, environment, template):  # type: ignore[override]
        source, filename, uptodate = super().get_source(environment, template)
        real = os.path.realpath(filename)
        if not any(real == r or real.startswith(r + os.sep) for r in self._roots):
            raise TemplateNotFound(template)
        return source, filename, uptodate


def to_markup(value: Any) -> Markup:
    """Any value as safe markup: text is escaped, \\n becomes <br/>, tabs spaces.

    Markup (from our own helpers) passes through, minus characters XML cannot hold.
    """
    if value is None or isinstance(value, Undefined) or value is False:
        return Markup("")
    if isinstance(value, Markup):
        return Markup(xml_text(str(value)))
    text = xml_text(value).replace("\t", " ")
    return Markup("<br/>").join(escape(line) for line in text.split("\n"))


# --- Markdown (inline subset) ------------------------------------------------

_MD = re.compile(
    r"(?P<esc>\\[\\*\[\]()_`])"
    r"|\[(?P<ltext>[^\[\]\n]+)\]\((?P<lurl>(?:[^()\s]|\([^()\s]*\))+)\)"
    r"|\*\*\*(?=\S)(?P<boldital>.+?)(?<=\S)\*\*\*"
    r"|\*\*(?=\S)(?P<bold>.+?)(?<=\S)\*\*"
    r"|\*(?=[^\s*])(?P<ital>(?:\*\*(?=\S).+?(?<=\S)\*\*|[^*])+?)(?<=\S)\*(?!\*)",
    re.DOTALL,
)


def md(value: Any) -> Markup:
    """Inline Markdown: **bold**, *italic*, [text](url); everything else literal.

    Works on the raw string and escapes each plain piece, so data can never
    create markup; markers that match are consumed, unmatched ones print as is.
    """
    if value is None or isinstance(value, Undefined):
        return Markup("")
    text = xml_text(value).replace("\t", " ")
    return _md(text, links=True)


def _md(text: str, links: bool) -> Markup:
    out: list[Markup] = []
    pos = 0
    for m in _MD.finditer(text):
        if m.group("ltext") is not None and not links:
            continue  # no links inside link text; the brackets print literally
        out.append(to_markup(text[pos : m.start()]))
        if m.group("esc") is not None:
            out.append(to_markup(m.group("esc")[1]))
        elif m.group("ltext") is not None:
            inner = _md(m.group("ltext"), links=False)
            url = safe_url(m.group("lurl"))
            out.append(Markup('<a href="{}">{}</a>').format(url, inner) if url else inner)
        elif m.group("boldital") is not None:
            out.append(Markup("<b><i>{}</i></b>").format(_md(m.group("boldital"), links)))
        elif m.group("bold") is not None:
            out.append(Markup("<b>{}</b>").format(_md(m.group("bold"), links)))
        else:
            out.append(Markup("<i>{}</i>").format(_md(m.group("ital"), links)))
        pos = m.end()
    out.append(to_markup(text[pos:]))
    return Markup("").join(out)


# --- Template helpers ---------------------------------------------------------


def link(url: Any, text: Any = None) -> Markup:
    """A hyperlink if the URL is http(s)/mailto/tel; otherwise just the text."""
    safe = safe_url(url)
    if text is None or isinstance(text, Undefined) or (isinstance(text, str) and not text.strip()):
        text = display_url(url) if isinstance(url, str) else ""
    body = to_markup(text)
    if not safe or not body:
        return body
    return Markup('<a href="{}">{}</a>').format(safe, body)


def join_nonempty(parts: Iterable[Any], separator: str = " · ") -> Markup:
    """Join the parts that have text, escaping each (Markup parts pass through)."""
    kept = [to_markup(p) for p in parts if not isinstance(p, Undefined)]
    return to_markup(separator).join(p for p in kept if str(p).strip())


def make_environment(theme: Theme, config: Mapping[str, Any]) -> ImmutableSandboxedEnvironment:
    """A sandboxed environment that loads only from the theme's folders."""
    roots = list(theme.search_path or (theme.root,))
    env = _Sandbox(
        loader=_ThemeLoader([r / "templates" for r in roots], roots),
        autoescape=True,
        undefined=ChainableUndefined,
        finalize=to_markup,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    for name in _REMOVED_FILTERS:
        env.filters.pop(name, None)
    dates = DateStyle.from_config(config.get("dates", {}))
    env.filters.update(
        md=md,
        date=lambda d: format_date(d, dates),
        dates=lambda d: format_dates(d, dates),
        display_url=display_url,
        tel=tel_url,
        join_nonempty=join_nonempty,
    )
    env.globals.update(
        daterange=lambda start=None, end=None: format_range(_plain(start), _plain(end), dates),
        date=lambda d=None: format_date(_plain(d), dates),
        link=link,
        join_nonempty=join_nonempty,
        display_url=display_url,
    )
    return env


def _plain(value: Any) -> Any:
    return None if isinstance(value, Undefined) else value


def render(env: ImmutableSandboxedEnvironment, theme: Theme, name: str, context: Mapping[str, Any]) -> str:
    """Render one template, turning any Jinja2 failure into an InputError at its line."""
    try:
        template = env.get_template(name)
    except TemplateNotFound:
        raise InputError(f"theme {theme.name!r} has no template {name} (looked in: "
                         + ", ".join(theme.display(r / "templates") for r in theme.search_path or (theme.root,))
                         + ")") from None
    except TemplateSyntaxError as exc:
        raise InputError(f"{_where(theme, exc.filename, exc.lineno)}: {exc.message}") from None
    try:
        return template.render(context)
    except TemplateSyntaxError as exc:  # an {% include %} of a broken file
        raise InputError(f"{_where(theme, exc.filename, exc.lineno)}: {exc.message}") from None
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError,
            OverflowError, RecursionError) as exc:
        filename, line = _template_frame(exc, template.filename)
        raise InputError(f"{_where(theme, filename, line)}: {type(exc).__name__}: {exc}") from None


def _where(theme: Theme, filename: str | None, line: int | None) -> str:
    shown = theme.display(Path(filename)) if filename else "<template>"
    return f"{shown}:{line}" if line else shown


def _template_frame(exc: BaseException, default: str | None) -> tuple[str | None, int | None]:
    """The innermost traceback frame inside a template (Jinja2 rewrites them)."""
    found: tuple[str | None, int | None] = (default, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2"):
            found = (frame.filename, frame.lineno)
    return found
