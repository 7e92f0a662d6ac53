"""Stage 2: check a parsed résumé against `resumec.schema`.

It reports every violation in one go, in document order, because fixing a
résumé one error per run is miserable. Unknown keys are ignored (the schema
allows them everywhere), so the checker only walks what the schema describes.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from resumec.errors import InputError, Problem, format_path
from resumec.load import Source
from resumec.schema import RESUME, Array, Node, Object, String

__all__ = ["Violation", "check", "describe", "format_path", "problems", "url_problem", "validate"]

JsonPath = tuple[str | int, ...]

# Official iso8601 pattern (year 1000-2999, optional month and day); the
# calendar check happens afterwards with datetime.date.
_DATE = re.compile(r"([12][0-9]{3})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)
# Whitespace anywhere (Unicode too) and C0/C1 control characters.
_URL_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")
_BARE_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:[/:?#]|$)", re.ASCII)
_SHOW_MAX = 40

# Resource limits (beside load's 5 MB file size and 64 nesting levels). They
# keep a build's time and memory bounded whatever a stranger uploads, and sit
# far above any real résumé: a 10,000-character field is ~4 pages of prose,
# 200,000 characters ~80 pages. They are set so the largest valid résumé
# converts well inside LibreOffice's 120 s timeout whatever the script: complex
# layout (mixed Arabic and Latin, emoji) costs LibreOffice far more per
# character than Latin text, and more the longer the paragraph
# (benchmarks/bench_limits.py measures it; docs/reliability.md has the figures).
MAX_STRING = 10_000  # characters in one field
MAX_ITEMS = 1_000  # entries in one list (jobs, highlights, keywords, …)
MAX_TEXT = 200_000  # characters of text the document would render, in total
# Every list element (entry, highlight, keyword, …) and every line break in a
# text field: each becomes at least one line or paragraph, and LibreOffice's
# time grows with them (~1 ms each), so they are capped as a whole.
MAX_RENDERED = 5_000
MAX_REPORTED = 100  # violations listed before "… and N more"

_ARTICLE_TYPE = {
    String: "a string",
    Array: "an array",
    Object: "an object",
}


@dataclass(frozen=True)
class Violation:
    """One schema problem; the path is what lets `check` point at LINE:COL."""

    path: tuple[str | int, ...]
    message: str  # e.g. "expected a string, got 42"


def describe(value: Any) -> str:
    """The value as JSON, cut to ~40 characters, so a message shows what was actually there."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return text


def _date_problem(text: str) -> str | None:
    if text == "":  # real résumés use "" for "no date"
        return None
    m = _DATE.fullmatch(text)
    if m is not None:
        year, month, day = m.groups()
        try:
            datetime.date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            pass
        else:
            return None
    return f"not a valid date {describe(text)} (expected YYYY, YYYY-MM or YYYY-MM-DD)"


def url_problem(text: str) -> str | None:
    """Why `text` is not a usable URL (also applied to Markdown links and template links), or None."""
    if text == "":  # means absent
        return None
    reason = None
    if _URL_BAD_CHAR.search(text):
        reason = "it contains whitespace or a control character"
    else:
        try:
            parts = urlsplit(text)
            parts.port  # raises ValueError for a non-numeric or out-of-range port
        except ValueError as e:
            reason = str(e)
        else:
            if not parts.scheme:
                reason = "no scheme such as https://"
                if _BARE_HOST.match(text):
                    reason += f"; did you mean https://{text}"
            elif parts.scheme in ("http", "https") and not parts.hostname:
                reason = "no host name"
    if reason is None:
        return None
    return f"not a valid URL {describe(text)} ({reason})"


def _email_problem(text: str) -> str | None:
    if text == "" or _EMAIL.fullmatch(text):
        return None
    return f"not a valid email address {describe(text)} (expected local@domain)"


_FORMAT_CHECKS = {
    "date": _date_problem,
    "uri": url_problem,
    "email": _email_problem,
}


def _expected(node: Node, value: Any) -> str:
    return f"expected {_ARTICLE_TYPE[type(node)]}, got {describe(value)}"


class _Budget:
    """Characters and rendered items seen so far, and where each limit was first crossed."""

    __slots__ = ("chars", "items", "chars_at", "items_at")

    def __init__(self) -> None:
        self.chars = 0
        self.items = 0
        self.chars_at: JsonPath | None = None
        self.items_at: JsonPath | None = None

    def text(self, value: str, path: JsonPath | None, parent: JsonPath, step: str | int) -> None:
        """Count a string: its characters, and its line breaks as rendered items."""
        self.chars += len(value)
        if "\n" in value or "\r" in value:
            self.items += value.count("\n") + value.count("\r") - value.count("\r\n")
        self._crossed(path, parent, step)

    def list(self, count: int, path: JsonPath) -> None:
        self.items += count
        self._crossed(path, path, None)

    def _crossed(self, path: JsonPath | None, parent: JsonPath, step: str | int | None) -> None:
        # Paths are built only here, on the rare crossing, to keep the common case cheap.
        if self.chars > MAX_TEXT and self.chars_at is None:
            self.chars_at = path if path is not None else parent + (step,)
        if self.items > MAX_RENDERED and self.items_at is None:
            self.items_at = path if path is not None else parent + (step,)


def _check(node: Node, value: Any, path: JsonPath, out: list[Violation], budget: _Budget) -> None:
    # Recursion depth is bounded by the schema (4 levels), not by the data.
    if isinstance(node, String):
        if not isinstance(value, str):
            out.append(Violation(path, _expected(node, value)))
            return
        budget.text(value, path, path, None)
        if len(value) > MAX_STRING:
            out.append(Violation(path, f"text is {len(value):,} characters long; the limit is {MAX_STRING:,}"))
        elif node.format is not None:
            problem = _FORMAT_CHECKS[node.format](value)
            if problem is not None:
                out.append(Violation(path, problem))
    elif isinstance(node, Object):
        if not isinstance(value, dict):
            out.append(Violation(path, _expected(node, value)))
            return
        properties = node.properties
        for key, item in value.items():  # dict order is document order
            sub = properties.get(key)
            if sub is None:
                continue  # unknown keys are allowed and ignored
            if sub.__class__ is String and sub.format is None and item.__class__ is str and len(item) <= MAX_STRING:
                budget.text(item, None, path, key)
                continue  # the common case, without building a path
            _check(sub, item, path + (key,), out, budget)
    else:
        if not isinstance(value, list):
            out.append(Violation(path, _expected(node, value)))
            return
        if len(value) > MAX_ITEMS:
            out.append(Violation(path, f"list has {len(value):,} items; the limit is {MAX_ITEMS:,}"))
            return
        budget.list(len(value), path)
        items = node.items
        plain = items.__class__ is String and items.format is None
        for index, item in enumerate(value):
            if plain and item.__class__ is str and len(item) <= MAX_STRING:
                budget.text(item, None, path, index)
                continue
            _check(items, item, path + (index,), out, budget)


def validate(data: Any) -> list[Violation]:
    """Every violation in `data`, in document order; empty means valid.

    The two totals are reported where they were crossed, so the location
    points at the entry that tipped the résumé over.
    """
    out: list[Violation] = []
    budget = _Budget()
    _check(RESUME, data, (), out, budget)
    if budget.chars_at is not None:
        out.append(Violation(budget.chars_at,
                             f"the résumé holds {budget.chars:,} characters of text; the limit is {MAX_TEXT:,}"))
    if budget.items_at is not None:
        out.append(Violation(budget.items_at, f"the résumé holds {budget.items:,} list items and line breaks; "
                                              f"the limit is {MAX_RENDERED:,} (each becomes a line or paragraph)"))
    return out


def problems(source: Source, violations: list[Violation] | None = None) -> list[Problem]:
    """The violations of `source` (computed unless given) as located problems, every one."""
    found = validate(source.data) if violations is None else violations
    out = []
    for v in found:
        line, col = source.locate(v.path)
        out.append(Problem(v.message, source.name, line, col, v.path))
    return out


def check(source: Source) -> None:
    """Raise one `InputError` listing every violation as FILE:LINE:COL: path: message (at most MAX_REPORTED)."""
    violations = validate(source.data)
    if not violations:
        return
    count = len(violations)
    listed = problems(source, violations[:MAX_REPORTED])
    raise InputError(f"{source.name}: {count} problem{'s' if count != 1 else ''}", problems=listed,
                     omitted=max(0, count - MAX_REPORTED))
