"""JSON Resume written in YAML (`resume.yaml`, `resume.yml`): parsed into the same data as JSON.

PyYAML supplies the parser (its C one, libyaml, when installed); the
document is built here from the parser's events, never by PyYAML's
constructors, so nothing in the file can make an object: only mappings,
lists, strings, numbers, booleans and null come out, as `json.loads` would
give. Building it here also enforces what the JSON loader does:

- Scalars resolve by the YAML 1.2 core schema: `true`/`false`, `null`/`~`,
  numbers; everything else is a string. So `NO` (Norway's country code),
  `yes`, `on` and `2021-03-01` stay strings, unlike YAML 1.1.
- Tags: only the core ones (`!!str`, `!!int`, `!!float`, `!!bool`,
  `!!null`, `!!seq`, `!!map`, and the non-specific `!`). Any other tag
  (`!!python/object/apply:os.system`, `!!binary`, `!!timestamp`, `!custom`)
  is an error at its line.
- Keys are strings, each once per mapping; `<<` merge keys are refused.
- Numbers are finite and fit a double (`.inf`, `.nan`, `1e400` refused).
- At most MAX_DEPTH levels of nesting, checked as the events arrive.
- Anchors and aliases are allowed, but the document with every alias
  expanded must stay within what a JSON file may hold (MAX_EXPANDED), so an
  alias bomb ("billion laughs") fails at once; an alias to a node that
  contains it (a cycle) is refused.
- One document per file.

Every value's start offset goes into the Source's position index, so schema
errors point at the YAML file's LINE:COL exactly as they do for JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml import events as ev

from resumec.errors import InputError, Problem
from resumec.load import (_MAX_INT, _MAYBE_SURROGATE, MAX_BYTES, MAX_DEPTH, Source, _line_starts, _Node,
                          _PositionIndex, check_surrogates)

__all__ = ["MAX_EXPANDED", "parse_yaml"]

# The expanded document (every alias replaced by what it names) may hold at
# most this many characters of scalars, plus one per value: a JSON file is
# capped at MAX_BYTES, and a YAML one must not reach more data through aliases.
MAX_EXPANDED = MAX_BYTES

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))
# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NULL = re.compile(r"(?:~|null|Null|NULL|)\Z")
_TRUE = re.compile(r"(?:true|True|TRUE)\Z")
_FALSE = re.compile(r"(?:false|False|FALSE)\Z")
_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")

try:  # libyaml: the same events and marks, many times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _Fail(Exception):
    """A problem at a character offset; turned into a located InputError."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class _Open:
    """A mapping or list being built: its value, its position node, and (mappings) the key awaited."""

    __slots__ = ("value", "node", "anchor", "key", "key_offset", "key_lines", "weight")

    def __init__(self, value: dict | list, node: _Node, anchor: str | None) -> None:
        self.value = value
        self.node = node
        self.anchor = anchor
        self.key: str | None = None  # a mapping's key whose value comes next
        self.key_offset = 0
        self.key_lines: dict[str, int] = {}  # key -> offset of its first occurrence
        self.weight = 1


def parse_yaml(name: str, text: str, path: Path | None = None) -> Source:
    """Parse decoded YAML text into a Source; every failure is a located InputError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    starts = _line_starts(text)
    index = _PositionIndex(None, starts)

    def located(offset: int, message: str) -> InputError:
        line, col = index.line_col(offset)
        return InputError(Problem(message, name, line, col))

    try:
        data, root = _build(text, index)
    except _Fail as exc:
        raise located(exc.offset, exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "not valid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        if mark is not None and text[mark.index:mark.index + 1] == "\t":
            message += "; YAML does not allow tabs for indentation"
        if mark is None:
            raise InputError(Problem(message, name)) from None
        raise located(min(mark.index, len(text)), message) from None
    except yaml.YAMLError as exc:  # a reader error: a character YAML does not allow
        offset = getattr(exc, "position", None)
        message = _reader_message(exc)
        if offset is None:
            raise InputError(Problem(message, name)) from None
        raise located(min(offset, len(text)), message) from None
    if root is None:
        raise InputError(Problem("empty input (expected a YAML mapping)", name))
    source = Source(name=name, path=path, text=text, data=data, index=_PositionIndex(root, starts))
    if _MAYBE_SURROGATE.search(text) or any("\ud800" <= c <= "\udfff" for c in text):
        check_surrogates(source)
    return source


def _reader_message(exc: yaml.YAMLError) -> str:
    character = getattr(exc, "character", None)
    if isinstance(character, int):
        return f"character U+{character:04X} is not allowed in YAML"
    if isinstance(character, str) and character:
        return f"character U+{ord(character[0]):04X} is not allowed in YAML"
    return str(exc).splitlines()[0] if str(exc) else "not valid YAML"


def _build(text: str, index: _PositionIndex) -> tuple[Any, _Node | None]:
    """(data, position tree) from the event stream; the tree is None for an empty stream."""
    loader = _Loader(text)
    try:
        return _compose(loader, len(text), lambda offset: index.line_col(offset)[0])
    finally:
        loader.dispose()


def _compose(loader: Any, end: int, line_of: Callable[[int], int]) -> tuple[Any, _Node | None]:
    stack: list[_Open] = []
    anchors: dict[str, tuple[Any, _Node, int] | None] = {}  # None: still open (an alias to it is a cycle)
    expanded = 0
    documents = 0
    root: tuple[Any, _Node] | None = None

    def attach(value: Any, node: _Node, weight: int, offset: int) -> None:
        nonlocal expanded, root
        if not stack:
            root = (value, node)
            return
        parent = stack[-1]
        parent.weight += weight
        if isinstance(parent.value, list):
            parent.value.append(value)
            parent.node.children.append(node)  # type: ignore[union-attr]
            return
        if parent.key is None:  # this value is a key
            if not isinstance(value, str):
                raise _Fail(offset, f"a mapping key must be a string, got {_show(value)}; quote it")
            first = parent.key_lines.get(value)
            if first is not None:
                raise _Fail(offset, f"duplicate key {_show(value)} (first at line {line_of(first)})")
            parent.key = value
            parent.key_offset = offset
            parent.key_lines[value] = offset
            return
        parent.value[parent.key] = value
        parent.node.children[parent.key] = node  # type: ignore[index]
        parent.key = None

    while True:
        event = loader.get_event()
        if event is None:
            break
        offset = min(event.start_mark.index, end)
        kind = type(event)
        if kind is ev.ScalarEvent:
            value = _scalar(event, offset)
            weight = len(event.value) + 1
            expanded += weight
            if expanded > MAX_EXPANDED:
                raise _Fail(offset, _too_big())
            if stack and isinstance(stack[-1].value, dict) and stack[-1].key is None and event.value == "<<" \
                    and not event.style and event.tag is None:
                raise _Fail(offset, "merge keys (<<) are not supported; write the keys out")
            node = _Node(offset, None)
            if event.anchor is not None:
                anchors[event.anchor] = (value, node, weight)
            attach(value, node, weight, offset)
        elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise _Fail(offset, f"nested more than {MAX_DEPTH} levels deep")
            is_map = kind is ev.MappingStartEvent
            tag = event.tag
            if tag is not None and tag != "!" and tag != _CORE + ("map" if is_map else "seq"):
                raise _Fail(offset, _tag_problem(tag))
            expanded += 1
            container: dict | list = {} if is_map else []
            frame = _Open(container, _Node(offset, {} if is_map else []), event.anchor)
            if event.anchor is not None:
                anchors[event.anchor] = None
            stack.append(frame)
        elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
            frame = stack.pop()
            if frame.anchor is not None:
                anchors[frame.anchor] = (frame.value, frame.node, frame.weight)
            attach(frame.value, frame.node, frame.weight, frame.node.offset)
        elif kind is ev.AliasEvent:
            if event.anchor not in anchors:
                raise _Fail(offset, f"alias *{event.anchor} names no anchor before it")
            found = anchors[event.anchor]
            if found is None:
                raise _Fail(offset, f"alias *{event.anchor} refers to a node that contains it "
                                    "(recursive structures are not allowed)")
            value, node, weight = found
            expanded += weight
            if expanded > MAX_EXPANDED:
                raise _Fail(offset, _too_big())
            attach(value, _Node(offset, node.children), weight, offset)
        elif kind is ev.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Fail(offset, "a résumé file holds one YAML document; this is a second one (remove the ---)")
        # StreamStart, StreamEnd and DocumentEnd carry nothing.
    if root is None:
        return None, None
    return root


def _scalar(event: ev.ScalarEvent, offset: int) -> Any:
    """A scalar's value by the YAML 1.2 core schema; quoted scalars and `!` are strings."""
    value: str = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if event.style or tag == "!" or not event.implicit[0]:
            return value
        return _resolve_plain(value, offset)
    if tag not in _ALLOWED_TAGS or tag.endswith(("seq", "map")):
        raise _Fail(offset, _tag_problem(tag))
    kind = tag[len(_CORE):]
    if kind == "str":
        return value
    resolved = _resolve_plain(value, offset)
    wanted = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[kind]
    if isinstance(resolved, bool) and kind != "bool" or not isinstance(resolved, wanted):  # type: ignore[arg-type]
        raise _Fail(offset, f"!!{kind} {_show(value)} is not a valid {kind}")
    return float(resolved) if kind == "float" else resolved


def _resolve_plain(value: str, offset: int) -> Any:
    if _NULL.match(value):
        return None
    if _TRUE.match(value):
        return True
    if _FALSE.match(value):
        return False
    if _INT10.match(value) or _INT8.match(value) or _INT16.match(value):
        try:
            number = int(value, 0) if value[:2] in ("0o", "0x") else int(value, 10)
        except ValueError:  # over Python's int-from-string digit limit
            raise _Fail(offset, "number is too large") from None
        if not -_MAX_INT <= number <= _MAX_INT:
            raise _Fail(offset, "number is too large")
        return number
    if _FLOAT.match(value):
        number = float(value)
        if not math.isfinite(number):
            raise _Fail(offset, "number is too large")
        return number
    if _INF.match(value) or _NAN.match(value):
        raise _Fail(offset, f"{value} is not allowed (numbers must be finite)")
    return value


def _tag_problem(tag: str) -> str:
    shown = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
    return (f"tag {shown} is not allowed: a résumé holds only mappings, lists, strings, numbers, "
            "true/false and null")


def _too_big() -> str:
    return (f"with its aliases expanded this document is over {MAX_EXPANDED // (1024 * 1024)} MB, the limit "
            "for a résumé (an alias bomb?)")


def _show(value: Any) -> str:
    from resumec.validate import describe

    return describe(value)
