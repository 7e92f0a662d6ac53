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
from collections.abc import Iterable, Mapping
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, ChainableUndefined, FileSystemLoader, TemplateError, TemplateNotFound, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from resumec.docx import budget, inline
from resumec.entries import Dates, Entry
from resumec.docx.text import (DateStyle, display_url, format_date, format_dates, format_range, isolate_bidi, safe_url,
                               tel_url, xml_text)
from resumec.errors import InputError
from resumec.theme import Theme

# Filters that would let a template (or data passed through one) emit raw markup.
_REMOVED_FILTERS = ("safe", "urlize")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, but an unsafe attribute is an error, not a blank,
    and every operation runs under the render's time and size budget (budget.py).

    The stock sandbox returns an Undefined for `x.__class__` (also inside
    `"{0.__class__}".format(x)`), which prints as nothing: safe, but a theme
    author probing the sandbox should be told, with the template line.
    """

    code_generator_class = budget.BudgetCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # The fields of the résumé model (frozen dataclasses of data) are what templates read most: they are
        # safe by construction, so they skip the generic checks (which would also say yes, more slowly).
        fields = _MODEL_FIELDS.get(type(obj))
        if fields is not None and attr in fields:
            return True
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str):  # type: ignore[override]
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__!r} object is not allowed")

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:  # type: ignore[override]
        budget.check_binop(operator, left, right)
        return budget.produced(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]  # noqa: N805
        budget.tick()
        args = budget.guard_call(__obj, args, kwargs)
        return budget.produced(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:  # type: ignore[override]
        budget.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:  # type: ignore[override]
        budget.tick()
        value = super().getitem(obj, argument)
        return budget.produced(value) if isinstance(argument, slice) else value

    def wrap_str_format(self, value: Any):  # type: ignore[override]
        return budget.checked_str_format(self, value)


_MODEL_FIELDS = {cls: frozenset(f.name for f in dataclass_fields(cls)) for cls in (Entry, Dates)}


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
    """Any value as safe markup: text is escaped, \\n becomes <br/>, tabs spaces,
    and a line with bidi controls or RTL script is isolated from its neighbours.

    Markup (from our own helpers) passes through, minus characters XML cannot hold.
    """
    if value is None or isinstance(value, Undefined) or value is False:
        return Markup("")
    if isinstance(value, Markup):
        text = str(value)
        cleaned = xml_text(text)
        return value if cleaned == text else Markup(cleaned)  # the template's own text is nearly always clean
    text = xml_text(value).replace("\t", " ")
    if "\n" not in text:
        return escape(isolate_bidi(text))  # what the join below gives for one line
    return Markup("<br/>").join(escape(isolate_bidi(line)) for line in text.split("\n"))


def _lines_markup(text: str) -> Markup:
    """Text already cleaned and isolated (by md) as markup."""
    return Markup("<br/>").join(escape(line) for line in text.split("\n"))


# --- Markdown (inline subset) ------------------------------------------------


def md(value: Any) -> Markup:
    """Inline Markdown: **bold**, *italic*, [text](url); everything else literal.

    Works on the raw string and escapes each plain piece, so data can never
    create markup; markers that match are consumed, unmatched ones print as is.
    The parser (inline.py) is linear in the length of the text.
    """
    if value is None or isinstance(value, Undefined):
        return Markup("")
    text = xml_text(value).replace("\t", " ")
    if "\n" in text:
        text = "\n".join(isolate_bidi(line) for line in text.split("\n"))
    else:
        text = isolate_bidi(text)
    return _inline_markup(inline.parse(text))


def _inline_markup(nodes: tuple[inline.Node, ...]) -> Markup:
    out: list[Markup] = []
    for node in nodes:
        if node.kind == "text":
            out.append(_lines_markup(node.text))
            continue
        inner = _inline_markup(node.children)
        if node.kind == "a":
            url = safe_url(node.url)
            out.append(Markup('<a href="{}">{}</a>').format(url, inner) if url else inner)
        elif node.kind == "bi":
            out.append(Markup("<b><i>{}</i></b>").format(inner))
        elif node.kind == "b":
            out.append(Markup("<b>{}</b>").format(inner))
        else:
            out.append(Markup("<i>{}</i>").format(inner))
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


def make_environment(theme: Theme, config: Mapping[str, Any], *,
                     bytecode_cache: BytecodeCache | None = None) -> ImmutableSandboxedEnvironment:
    """A sandboxed environment that loads only from the theme's folders.

    It compiles each template once and keeps it (a Builder keeps the
    environment); `bytecode_cache` keeps the compiled code across processes.
    """
    roots = list(theme.search_path or (theme.root,))
    env = _Sandbox(
        loader=_ThemeLoader([r / "templates" for r in roots], roots),
        autoescape=True,
        undefined=ChainableUndefined,
        finalize=budget.finalize(to_markup),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        bytecode_cache=bytecode_cache,
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
    env.globals["lipsum"] = budget.capped_lipsum(env.globals["lipsum"])
    budget.budget_filters(env.filters)
    return env


def _plain(value: Any) -> Any:
    return None if isinstance(value, Undefined) else value


def render(env: ImmutableSandboxedEnvironment, theme: Theme, name: str, context: Mapping[str, Any]) -> str:
    """Render one template, turning any Jinja2 failure into an InputError at its line.

    Each render gets its own time and size budget (budget.py), so every path
    that builds a DOCX (compile, batch, watch, the service) is bounded.
    """
    try:
        template = env.get_template(name)
    except TemplateNotFound:
        raise InputError(f"theme {theme.name!r} has no template {name} (looked in: "
                         + ", ".join(theme.display(r / "templates") for r in theme.search_path or (theme.root,))
                         + ")") from None
    except TemplateSyntaxError as exc:
        raise InputError(f"{_where(theme, exc.filename, exc.lineno)}: {exc.message}") from None
    token = budget.CURRENT.set(budget.Budget.start())
    try:
        return template.render(context)
    except TemplateSyntaxError as exc:  # an {% include %} of a broken file
        raise InputError(f"{_where(theme, exc.filename, exc.lineno)}: {exc.message}") from None
    except budget.TemplateBudgetError as exc:
        filename, line = _template_frame(exc, template.filename)
        raise InputError(f"{_where(theme, filename, line)}: {exc}") from None
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError,
            OverflowError, RecursionError, MemoryError) as exc:
        filename, line = _template_frame(exc, template.filename)
        raise InputError(f"{_where(theme, filename, line)}: {type(exc).__name__}: {exc}") from None
    finally:
        budget.CURRENT.reset(token)


def _where(theme: Theme, filename: str | None, line: int | None) -> str:
    shown = theme.display(Path(filename)) if filename else "<template>"
    return f"{shown}:{line}" if line else shown


def _template_frame(exc: BaseException, default: str | None) -> tuple[str | None, int | None]:
    """The innermost traceback frame inside a template (Jinja2 rewrites them)."""
    import traceback

    found: tuple[str | None, int | None] = (default, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2"):
            found = (frame.filename, frame.lineno)
    return found
