"""Errors carry their exit code, so the CLI maps any failure to the documented status.

An error about the input also carries its problems as `Problem`s (file, line,
column, JSON path, message), so `--json`, the live preview and editors get
fields rather than parsing the printed lines, which are made from the same
values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ConvertError", "InputError", "LibreOfficeMissing", "OutputError", "Problem", "ResumecError",
           "UsageError", "format_path", "json_pointer"]

JsonPath = tuple[str | int, ...]
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*", re.ASCII)


def format_path(path: JsonPath) -> str:
    """("work", 1, "highlights", 0) -> "work[1].highlights[0]", in the JS style users know; () -> "(root)"."""
    if not path:
        return "(root)"
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _IDENT.fullmatch(step):
            parts.append(f".{step}" if parts else step)
        else:
            parts.append(f"[{json.dumps(step, ensure_ascii=False)}]")
    # A key with a lone surrogate is shown escaped, so the path can always be printed.
    return "".join(parts).encode("utf-8", "backslashreplace").decode("utf-8")


def json_pointer(path: JsonPath) -> str:
    """The same path as an RFC 6901 JSON Pointer ("/work/1/highlights/0"), for tools."""
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in path)


@dataclass(frozen=True)
class Problem:
    """One problem and where it is: any of file, line and column may be unknown (None).

    `path` is the JSON path of the value concerned, as a tuple of keys and
    indexes; None when the problem is not about one value (a syntax error, a
    file too large). Printed, it is the familiar line
    `FILE:LINE:COL: work[1].startDate: not a valid date "2010-13-45" …`.
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: JsonPath | None = None

    @property
    def where(self) -> str:
        """`FILE:LINE:COL`, or as much of it as is known (a column is shown only after a line)."""
        parts = [self.file] if self.file is not None else []
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        body = self.message if self.path is None else f"{format_path(self.path)}: {self.message}"
        where = self.where
        return f"{where}: {body}" if where else body

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": None if self.path is None else format_path(self.path),
            "pointer": None if self.path is None else json_pointer(self.path),
            "message": self.message,
        }


class ResumecError(Exception):
    """Base class: a failure we can explain to the user without a traceback.

    `details` are the printed lines, one per problem; `problems` the same
    problems as data. Give `problems` and the lines are made from them; an
    error built from text alone has one unlocated problem per line.
    `omitted` counts problems found but not listed (there is a cap).
    """

    exit_code = 1

    def __init__(self, message: str | Problem, details: list[str] | None = None, *,
                 problems: list[Problem] | None = None, omitted: int = 0) -> None:
        if isinstance(message, Problem):
            problems = [message] if problems is None else problems
            message = str(message)
        super().__init__(message)
        self.message = message
        self.omitted = omitted
        self._problems = list(problems or [])
        if details is None and self._problems and (len(self._problems) > 1 or omitted or
                                                   str(self._problems[0]) != message):
            details = [str(p) for p in self._problems]
            if omitted:
                details.append(f"{self._problems[0].file or 'input'}: … and {omitted:,} more problems")
        # One line per problem (e.g. every schema violation), shown after the message.
        self.details = list(details or [])

    def lines(self) -> list[str]:
        return self.details or [self.message]

    @property
    def structured(self) -> bool:
        """True when the problems were given as data; False for an error made from text alone."""
        return bool(self._problems)

    @property
    def problems(self) -> list[Problem]:
        """Every problem as data; unlocated ones (an error made from text) carry only their message."""
        if self._problems:
            return list(self._problems)
        return [Problem(line) for line in self.lines()]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "exit_code": self.exit_code,
            "message": self.message,
            "details": self.details,
            "problems": [p.to_json() for p in self.problems],
            "omitted": self.omitted,
        }


class InputError(ResumecError):
    """The résumé or a theme is invalid (exit 1)."""

    exit_code = 1


class UsageError(ResumecError):
    """Bad command-line usage: unknown option value, section name, … (exit 2)."""

    exit_code = 2


class ConvertError(ResumecError):
    """PDF conversion failed or LibreOffice is missing (exit 3)."""

    exit_code = 3


class LibreOfficeMissing(ConvertError):
    """No LibreOffice to convert with (exit 3); unlike other conversion failures, the DOCX is still written."""


class OutputError(ResumecError):
    """An output could not be written (exit 4)."""

    exit_code = 4
