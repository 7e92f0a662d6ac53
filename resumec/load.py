"""Stage 1: read a résumé (file or stdin) and parse it as JSON.

Everything that can go wrong with the *bytes* of the input ends here as an
`InputError` whose message names the file and, when there is one, the
`LINE:COL` of the problem, so the CLI never shows a traceback for bad input.

Lines end at \r\n, \r or \n (old Mac files use a bare \r); every position
reported here or through `Source.locate` counts them the same way, and columns
count characters.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import sys
import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from resumec.errors import InputError, Problem
from resumec.files import FileTooLarge, NotRegularFile, read_regular

__all__ = ["MAX_BYTES", "MAX_DEPTH", "STDIN_NAME", "YAML_SUFFIXES", "Source", "is_yaml", "load", "parse_text"]

# A real résumé is a few kB; the cap keeps a wrong path (a log, a dump) from
# eating memory and time before we could say anything useful.
MAX_BYTES = 5 * 1024 * 1024
# Deep nesting has no place in a résumé and would only crash recursive code later on.
MAX_DEPTH = 64
STDIN_NAME = "<stdin>"
# Inputs read as YAML (JSON Resume in YAML); everything else is JSON.
YAML_SUFFIXES = (".yaml", ".yml")

_MB = 1024 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
# Numbers must fit a double, as JSON parsers elsewhere assume; an integer
# beyond that (or beyond Python's int-to-string digit limit) is refused here,
# so no later stage can trip over converting or printing it.
_MAX_INT = int(sys.float_info.max)
_LINE_BREAK = re.compile(r"\r\n?|\n")

# Tokens of *valid* JSON. Whitespace is JSON's own four characters only.
_STRING = r'"(?:[^"\\]|\\.)*"'
_TOKEN = re.compile(
    r'[ \t\n\r]*(?:(?P<str>' + _STRING + r')|(?P<open>[\[{])|(?P<close>[\]}])|(?P<sep>[,:])'
    r'|(?P<lit>[^ \t\n\r,:\[\]{}"]+))',
    re.S,
)
# Strings are skipped whole so brackets and "NaN" inside them never count.
_BRACKET = re.compile(_STRING + r'|([\[\]{}])', re.S)
_CONSTANT = re.compile(_STRING + r'|(-?Infinity|NaN)', re.S)
_NUMBER = re.compile(_STRING + r'|(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)', re.S)
# A lone surrogate can only come from a \uD800-\uDFFF escape (or from text
# handed over already decoded); anything else skips the walk over the data.
_MAYBE_SURROGATE = re.compile(r'\\u[dD][89a-fA-F]|[\ud800-\udfff]')
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NonFiniteConstant(ValueError):
    """Raised from the decoder hook; the C parser has no position to give us."""


def _reject_constant(name: str) -> Any:
    raise _NonFiniteConstant(name)


class _Node:
    """Where one JSON value starts, and where its children start."""

    __slots__ = ("offset", "children")

    def __init__(self, offset: int, children: dict[str, _Node] | list[_Node] | None) -> None:
        self.offset = offset
        self.children = children


class _PositionIndex:
    """Value offsets plus line starts; a plain class because a dataclass costs import time."""

    __slots__ = ("root", "line_starts")

    def __init__(self, root: _Node | None, line_starts: list[int]) -> None:
        self.root = root
        self.line_starts = line_starts  # offset of the first character of each line

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1


@dataclass(frozen=True)
class Source:
    """A parsed input plus the text it came from, so later stages can point at lines."""

    name: str  # what messages show: the path as given, or "<stdin>"
    path: Path | None  # None for stdin
    text: str
    data: Any
    # Where each value starts, when the parser already knows (YAML); JSON's is built on first use.
    index: _PositionIndex | None = field(default=None, compare=False, repr=False)

    def locate(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        """1-based (line, col) of the value at `path`, or of its nearest existing ancestor.

        The root is always (1, 1). Only error reporting calls this, so the
        position map is built on first use, not during load.
        """
        if not path:
            return (1, 1)
        index = self._positions
        node = index.root
        if node is None:
            return (1, 1)
        depth = 0
        for step in path:
            children = node.children
            if isinstance(children, dict) and isinstance(step, str) and step in children:
                node = children[step]
            elif (
                isinstance(children, list)
                and isinstance(step, int)
                and not isinstance(step, bool)
                and 0 <= step < len(children)
            ):
                node = children[step]
            else:
                break
            depth += 1
        if depth == 0:
            return (1, 1)
        return index.line_col(node.offset)

    # cached_property writes straight into the instance __dict__, so it works on a
    # frozen dataclass; the cache is per Source, never shared.
    @cached_property
    def _positions(self) -> _PositionIndex:
        if self.index is not None:
            return self.index
        return _PositionIndex(_scan_positions(self.text), _line_starts(self.text))

    def problem(self, path: tuple[str | int, ...], message: str) -> Problem:
        """A problem with the value at `path`, located in this input."""
        line, col = self.locate(path)
        return Problem(message, self.name, line, col, path)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in _LINE_BREAK.finditer(text))
    return starts


def _scan_positions(text: str) -> _Node | None:
    """Map every value of an already-parsed JSON text to its start offset.

    Iterative, so it needs no recursion budget. Duplicate keys keep the last
    occurrence, as `json.loads` does.
    """
    root: _Node | None = None
    stack: list[_Node] = []
    keys: list[str | None] = []  # pending member name, per open object
    expect_key = False
    pos = 0
    end = len(text)

    def attach(node: _Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        children = stack[-1].children
        if isinstance(children, list):
            children.append(node)
        else:
            key = keys[-1]
            if key is not None and children is not None:
                children[key] = node

    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None:
            break  # trailing whitespace
        pos = m.end()
        kind = m.lastgroup
        start = m.start(kind or 0)
        if kind == "str":
            if expect_key:
                raw = m.group("str")
                keys[-1] = json.loads(raw) if "\\" in raw else raw[1:-1]
                expect_key = False
            else:
                attach(_Node(start, None))
        elif kind == "open":
            is_object = m.group("open") == "{"
            node = _Node(start, {} if is_object else [])
            attach(node)
            stack.append(node)
            keys.append(None)
            expect_key = is_object
        elif kind == "close":
            if stack:
                stack.pop()
                keys.pop()
            expect_key = False
        elif kind == "sep":
            # After a comma inside an object the next string is a member name.
            expect_key = m.group("sep") == "," and bool(stack) and isinstance(stack[-1].children, dict)
        else:  # number, true, false, null
            attach(_Node(start, None))
    return root


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset`; lines end at \\r\\n, \\r or \\n (error path only)."""
    return _PositionIndex(None, _line_starts(text)).line_col(offset)


def _too_deep_offset(text: str) -> int | None:
    """Offset of the first bracket that opens level MAX_DEPTH + 1, if any."""
    depth = 0
    for m in _BRACKET.finditer(text):
        bracket = m.group(1)
        if bracket is None:
            continue
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return m.start(1)
        else:
            depth -= 1
    return None


def _too_large(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    return kind is int and not -_MAX_INT <= value <= _MAX_INT


def _shape_problem(data: Any) -> str | None:
    """One cheap pass over the parsed data: "depth", "number" or None.

    Iterative, and it only descends into containers, so it costs little on the
    cache-hit path and cannot itself run out of recursion.
    """
    if _too_large(data):
        return "number"
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if type(value) is dict:
            items: typing.Iterable[Any] = value.values()
        elif type(value) is list:
            items = value
        else:
            continue
        if depth > MAX_DEPTH:
            return "depth"
        for item in items:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif kind is float:
                if not math.isfinite(item):
                    return "number"
            elif kind is int and (item > _MAX_INT or item < -_MAX_INT):
                return "number"
    return None


def _walk(data: Any) -> typing.Iterator[tuple[tuple[str | int, ...], Any, Any]]:
    """(path, key, value) of every member and item, in document order; error path only."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            pairs: list[tuple[Any, Any]] = list(value.items())
        elif isinstance(value, list):
            pairs = list(enumerate(value))
        else:
            continue
        children = []
        for key, item in pairs:
            yield path + (key,), key, item
            if isinstance(item, (dict, list)):
                children.append((item, path + (key,)))
        stack.extend(reversed(children))


def _non_finite_path(data: Any) -> tuple[str | int, ...]:
    """Path of a number too big for a double (1e400 parses as inf); error path only."""
    return next((path for path, _, item in _walk(data) if _too_large(item)), ())


def _lone_surrogate(data: Any) -> tuple[tuple[str | int, ...], str] | None:
    """Path and character of the first lone surrogate in a string or key; error path only."""
    if isinstance(data, str):
        m = _SURROGATE.search(data)
        return ((), m.group()) if m else None
    for path, key, item in _walk(data):
        for text in (key, item):
            if isinstance(text, str):
                m = _SURROGATE.search(text)
                if m:
                    return path, m.group()
    return None


def _bad_integer_offset(text: str) -> int:
    """Offset of the first integer literal Python refuses to convert (too many digits)."""
    for m in _NUMBER.finditer(text):
        literal = m.group(1)
        if literal is None or "." in literal or "e" in literal or "E" in literal:
            continue
        try:
            int(literal)
        except ValueError:
            return m.start(1)
    return 0


def _at(name: str, text: str, offset: int, message: str) -> InputError:
    """An InputError for the character at `offset` of `text`."""
    line, col = _line_col(text, offset)
    return InputError(Problem(message, name, line, col))


def parse_text(name: str, text: str, path: Path | None = None) -> Source:
    """Parse already-decoded JSON text; every failure is an `InputError` naming `name`."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip(" \t\n\r"):
        raise InputError(Problem("empty input (expected a JSON object)", name))
    try:
        # A fresh decoder per call (microseconds): the C scanner's key memo is then never shared.
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        # e.lineno counts only \n; the offset is what we trust.
        raise _at(name, text, e.pos, e.msg) from None
    except _NonFiniteConstant as e:
        offset = next((m.start(1) for m in _CONSTANT.finditer(text) if m.group(1)), 0)
        raise _at(name, text, offset, f"{e.args[0]} is not allowed in JSON") from None
    except ValueError:
        # Python's int-from-string digit limit (4300 by default), raised mid-parse with no position.
        raise _at(name, text, _bad_integer_offset(text), "number is too large") from None
    except RecursionError:
        data, problem = None, "depth"
    else:
        problem = _shape_problem(data)
    if problem == "depth":
        offset = _too_deep_offset(text)
        message = f"nested more than {MAX_DEPTH} levels deep"
        raise _at(name, text, offset, message) if offset is not None else InputError(Problem(message, name))
    source = Source(name=name, path=path, text=text, data=data)
    if problem == "number":
        line, col = source.locate(_non_finite_path(data))
        raise InputError(Problem("number is too large", name, line, col))
    if _MAYBE_SURROGATE.search(text):
        check_surrogates(source)
    return source


def check_surrogates(source: Source) -> None:
    """A lone surrogate (from a \\uD800-\\uDFFF escape) is not text: located InputError."""
    found = _lone_surrogate(source.data)
    if found is not None:
        where, char = found
        raise InputError(source.problem(where, f"lone surrogate \\u{ord(char):04x} is not valid Unicode"))


def _sniff_wide_encoding(raw: bytes) -> str | None:
    """UTF-16/32 are legal JSON encodings elsewhere; name them so the fix is obvious."""
    head = raw[:4]
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    # No BOM: JSON starts with an ASCII character, so its NUL bytes give the width away.
    if len(head) == 4 and (head[:2] == b"\0\0" or head[2:] == b"\0\0"):
        return "UTF-32"
    if b"\0" in head[:2]:
        return "UTF-16"
    return None


def _decode(name: str, raw: bytes) -> str:
    wide = _sniff_wide_encoding(raw)
    if wide is not None:
        raise InputError(Problem(f"text is {wide}-encoded; save it as UTF-8", name))
    skip = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = e.start + skip
        raise InputError(Problem(f"not valid UTF-8 text (byte 0x{raw[offset]:02x} at offset {offset})", name)) from None


def _size_error(name: str, size: int | None) -> InputError:
    limit = MAX_BYTES // _MB
    if size is None:  # a stream we stopped reading, so its full size is unknown
        return InputError(Problem(f"input is over the {limit} MB limit", name))
    # Rounded up, so a file just over the limit never reads as "5.0 MB".
    shown = math.ceil(size * 10 / _MB) / 10
    return InputError(Problem(f"file is {shown:.1f} MB; the limit is {limit} MB", name))


def _read_file(name: str, path: Path) -> bytes:
    try:
        # Regular files only: a FIFO would block forever, /dev/zero never ends.
        return read_regular(path, MAX_BYTES)
    except FileTooLarge as e:
        raise _size_error(name, e.size) from None
    except NotRegularFile as e:
        hint = "; to read from a pipe, give - and redirect it to standard input" if e.kind == "a FIFO" else ""
        raise InputError(Problem(f"not a regular file (it is {e.kind}){hint}", name)) from None
    except OSError as e:
        raise InputError(Problem(f"{e.strerror or e}", name)) from None


def _read_stream(stream: typing.TextIO | typing.BinaryIO | None) -> bytes | str:
    if stream is None:
        raise InputError(Problem("no standard input", STDIN_NAME))
    # Prefer the bytes underneath a text stream so decoding rules match files exactly.
    binary = getattr(stream, "buffer", None)
    reader: typing.IO[Any] = binary if binary is not None else stream
    try:
        raw = reader.read(MAX_BYTES + 1)
    except UnicodeDecodeError as e:
        raise InputError(Problem(f"could not decode input ({e.reason})", STDIN_NAME)) from None
    except OSError as e:
        raise InputError(Problem(f"{e.strerror or e}", STDIN_NAME)) from None
    if raw is None:  # non-blocking stream with nothing ready
        raw = b""
    return raw


def is_yaml(spec: str | os.PathLike[str]) -> bool:
    """A path ending in .yaml or .yml (any case) is read as YAML."""
    return os.fspath(spec).lower().endswith(YAML_SUFFIXES)


def looks_like_json(text: str) -> bool:
    """Standard input's sniff: JSON when its first non-blank character is `{` or `[`, else YAML.

    Every JSON résumé starts with `{`; a YAML one starts with a key, a
    comment or `---`. Empty input stays JSON, for its message.
    """
    stripped = text.lstrip("\ufeff \t\n\r")
    return not stripped or stripped[0] in "{["


def _parse(name: str, text: str, path: Path | None, yaml: bool) -> Source:
    if yaml:
        from resumec.load_yaml import parse_yaml  # PyYAML only for YAML inputs

        return parse_yaml(name, text, path)
    return parse_text(name, text, path)


def load(spec: str | os.PathLike[str], stdin: typing.TextIO | typing.BinaryIO | None = None) -> Source:
    """Read and parse `spec` (a path, or "-" for stdin): YAML for *.yaml / *.yml, else JSON."""
    if isinstance(spec, str) and spec == "-":
        raw = _read_stream(stdin if stdin is not None else sys.stdin)
        if isinstance(raw, str):
            if len(raw.encode("utf-8", "surrogatepass")) > MAX_BYTES:
                raise _size_error(STDIN_NAME, None)
            text = raw
        else:
            if len(raw) > MAX_BYTES:
                raise _size_error(STDIN_NAME, None)
            text = _decode(STDIN_NAME, raw)
        return _parse(STDIN_NAME, text, None, yaml=not looks_like_json(text))
    name = os.fspath(spec)
    path = Path(name)
    return _parse(name, _decode(name, _read_file(name, path)), path, yaml=is_yaml(name))
