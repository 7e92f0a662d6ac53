"""The inline Markdown subset of `summary`, `highlights` and `description`, parsed in linear time.

    **bold**   *italic*   ***both***   [text](url)   \\* (and \\\\ \\[ \\] \\( \\) \\_ \\`) escapes

Everything else is literal. The rules are those of the regular expression this
replaces (kept as the oracle in tests/test_hostile_text.py): at each position
the first construct that matches wins, bold closes at the first `**` after a
non-space, italic may contain bold spans, and an unmatched marker prints as
written. The regex needed exponential time on `*a**a**a…`; here every
decision is a lookup in tables filled in one right-to-left pass, so the work is
a constant times the length (`Steps` counts it, for the tests). Nested content
is parsed again the same way, at most MAX_DEPTH levels deep (ordinary text
nests two or three; only crafted marker soup gets deeper, and is then shown
literally), so the total work is at most MAX_DEPTH + 1 linear passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ESCAPABLE = frozenset("\\*[]()_`")
MAX_DEPTH = 8  # deeper nesting (only hostile input gets there) is shown literally, so the work stays linear
_NONE = -1


@dataclass
class Steps:
    """Loop iterations spent, a deterministic measure of work for tests."""

    count: int = 0


@dataclass(frozen=True)
class Node:
    """`kind` is "text", "b", "i", "bi" (bold italic) or "a"; `url` only for "a"."""

    kind: str
    text: str = ""
    children: tuple[Node, ...] = ()
    url: str = ""


@dataclass
class _Tables:
    """Per-position answers, each computed from the answers to its right."""

    close2: list[int] = field(default_factory=list)  # first j >= k: text[j:j+2] == "**" after a non-space
    close3: list[int] = field(default_factory=list)  # the same for "***"
    italic: list[int] = field(default_factory=list)  # end of an italic whose content starts at p, or _NONE
    stop: list[int] = field(default_factory=list)  # first k >= p with text[k] in "[]\n" (link text ends)
    url: list[int] = field(default_factory=list)  # end of the link target starting at p


def parse(text: str, steps: Steps | None = None) -> tuple[Node, ...]:
    """The nodes of `text`; adjacent literal pieces are merged."""
    return _parse(text, steps if steps is not None else Steps(), 0)


def _parse(text: str, steps: Steps, depth: int) -> tuple[Node, ...]:
    if depth >= MAX_DEPTH or not any(c in text for c in "*[\\"):
        steps.count += 1
        return (Node("text", text),) if text else ()
    n = len(text)
    t = _tables(text, steps)
    out: list[Node] = []
    pending: list[str] = []
    pos = 0  # start of literal text not yet flushed
    i = 0

    def flush(upto: int) -> None:
        if upto > pos:
            pending.append(text[pos:upto])
        if pending:
            out.append(Node("text", "".join(pending)))
            pending.clear()

    while i < n:
        steps.count += 1
        c = text[i]
        if c == "\\":
            if i + 1 < n and text[i + 1] in ESCAPABLE:
                if i > pos:
                    pending.append(text[pos:i])
                pending.append(text[i + 1])
                i = pos = i + 2
                continue
        elif c == "[":
            end = _link_end(text, t, i)
            if end != _NONE:
                k = t.stop[i + 1]
                flush(i)
                label = _parse(text[i + 1 : k], steps, depth + 1)
                out.append(Node("a", children=label, url=text[k + 2 : end - 1]))
                i = pos = end
                continue
        elif c == "*":
            start, close = _emphasis(text, t, i)
            if start:
                kind = {3: "bi", 2: "b", 1: "i"}[start]
                flush(i)
                out.append(Node(kind, children=_parse(text[i + start : close], steps, depth + 1)))
                i = pos = close + start
                continue
        i += 1
    flush(n)
    return tuple(out)


def _link_end(text: str, t: _Tables, i: int) -> int:
    """End of `[text](url)` starting at i: text without brackets or newlines, url without spaces."""
    n = len(text)
    k = t.stop[i + 1] if i + 1 <= n else n
    if k == i + 1 or k + 1 >= n or text[k] != "]" or text[k + 1] != "(":
        return _NONE
    e = t.url[k + 2]
    if e == k + 2 or e >= n or text[e] != ")":
        return _NONE
    return e + 1


def _emphasis(text: str, t: _Tables, i: int) -> tuple[int, int]:
    """(marker length, start of the closing marker) for emphasis opening at i, or (0, 0)."""
    n = len(text)
    if text.startswith("***", i) and i + 3 < n and not text[i + 3].isspace():
        j = t.close3[i + 4] if i + 4 <= n else _NONE
        if j != _NONE:
            return 3, j
    if text.startswith("**", i) and i + 2 < n and not text[i + 2].isspace():
        j = t.close2[i + 3] if i + 3 <= n else _NONE
        if j != _NONE:
            return 2, j
    if i + 1 < n and text[i + 1] != "*" and not text[i + 1].isspace():
        end = t.italic[i + 1]
        if end != _NONE:
            return 1, end - 1
    return 0, 0


def _tables(text: str, steps: Steps) -> _Tables:
    n = len(text)
    close2 = [_NONE] * (n + 1)
    close3 = [_NONE] * (n + 1)
    italic = [_NONE] * (n + 1)
    first_ok = [_NONE] * (n + 2)  # first italic end reachable through a bold span closing at j >= k
    next_star = [n] * (n + 1)
    stop = [n] * (n + 1)
    paren_stop = [n] * (n + 2)  # first k >= p with text[k] in "()" or a space
    url = list(range(n + 1))
    for p in range(n - 1, -1, -1):
        steps.count += 1
        c = text[p]
        space = c.isspace()
        after_text = p >= 1 and not text[p - 1].isspace()
        close2[p] = p if c == "*" and p + 1 < n and text[p + 1] == "*" and after_text else close2[p + 1]
        close3[p] = p if after_text and text.startswith("***", p) else close3[p + 1]
        next_star[p] = p if c == "*" else next_star[p + 1]
        stop[p] = p if c in "[]\n" else stop[p + 1]
        paren_stop[p] = p if c in "()" or space else paren_stop[p + 1]
        # Italic content from boundary p: plain characters up to the next "*", which either
        # closes (a single "*" after a non-space) or opens a bold span that may end at any
        # later closing "**" (the first one from which the italic can still close wins).
        q = next_star[p]
        if q < n:
            if q + 1 >= n or text[q + 1] != "*":
                if q >= 1 and not text[q - 1].isspace():
                    italic[p] = q + 1
            elif q + 2 < n and not text[q + 2].isspace() and q + 3 <= n:
                italic[p] = first_ok[q + 3]
        # first_ok needs italic[p + 2], already known.
        if close2[p] == p and p + 2 <= n and italic[p + 2] != _NONE:
            first_ok[p] = italic[p + 2]
        else:
            first_ok[p] = first_ok[p + 1]
        # The link target: characters other than parentheses and spaces, or "(…)" groups.
        if c == "(":
            k = paren_stop[p + 1]
            url[p] = url[k + 1] if k < n and text[k] == ")" else p
        elif c != ")" and not space:
            url[p] = url[p + 1]
    return _Tables(close2, close3, italic, stop, url)
