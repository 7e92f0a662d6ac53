"""What a watch session hands the preview: a finished build, or the located problems of a failed one.

Plain dataclasses with no I/O at import, so `from resumec.live import Build`
costs nothing; the server turns them into an immutable snapshot when
`LiveServer.built()` is called.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# "resume.json:14:5: work[1].startDate: not a valid date" / "resume.json:4:3: Expecting ',' delimiter"
_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$", re.S)
# A JSON path as resumec prints it: basics.name, work[1].highlights[0], meta.sections
_PATH = re.compile(r"^(?P<path>[A-Za-z_$][\w$-]*(?:\.[\w$-]+|\[\d+\])*): (?P<message>.*)$", re.S)


@dataclass(frozen=True)
class Problem:
    """One located error: FILE:LINE:COL, the JSON path when there is one, and the message."""

    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    path: str | None = None

    @classmethod
    def from_text(cls, text: str) -> Problem:
        """Parse one of resumec's error lines (`FILE:LINE:COL: [PATH: ]MESSAGE`); anything else is a bare message."""
        located = _LOCATED.match(text)
        if located is None:
            return cls(message=text)
        rest = located["rest"]
        path = _PATH.match(rest)
        return cls(
            message=path["message"] if path else rest,
            file=located["file"],
            line=int(located["line"]),
            col=int(located["col"]),
            path=path["path"] if path else None,
        )

    @classmethod
    def from_error(cls, error: Any) -> list[Problem]:
        """Every problem of a ResumecError, from its structured `problems` (file, line, column, path).

        An error made from text alone (a template's, say) has its lines parsed; any other exception's
        text is one bare message.
        """
        if getattr(error, "structured", False):
            return [cls.from_problem(problem) for problem in error.problems]
        lines = error.lines() if hasattr(error, "lines") else [str(error)]
        return [cls.from_text(line) for line in lines]

    @classmethod
    def from_problem(cls, problem: Any) -> Problem:
        """From a resumec.errors.Problem: the same fields, the path as printed (`work[1].startDate`)."""
        from resumec.errors import format_path

        path = getattr(problem, "path", None)
        return cls(message=problem.message, file=problem.file, line=problem.line, col=problem.column,
                   path=None if path is None else format_path(path))

    @property
    def where(self) -> str:
        """`FILE:LINE:COL` (or as much of it as is known)."""
        parts = [str(p) for p in (self.file, self.line, self.col) if p is not None]
        return ":".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "where": self.where,
            "path": self.path,
            "message": self.message,
        }


Blob = bytes | Path


@dataclass(frozen=True)
class Build:
    """A finished build, as the watch session saw it.

    ok=True: `pages` (PNG bytes or paths, in order) replace what the page
    shows, with `pdf` / `docx` (bytes or paths) offered for download.
    ok=False: `problems` are shown in place and the last good pages stay.
    `cached` is True for a cache hit, False for a miss, None if unknown.
    Paths are read when `LiveServer.built()` is called, so later writes to
    them never change what this build serves.
    """

    ok: bool = True
    seconds: float = 0.0
    cached: bool | None = None
    pages: Sequence[Blob] = ()
    pdf: Blob | None = None
    docx: Blob | None = None
    problems: Sequence[Problem] = ()
    warnings: Sequence[str] = ()

    @classmethod
    def failed(cls, error: Any, seconds: float = 0.0, warnings: Iterable[str] = ()) -> Build:
        """A failed build from a ResumecError (or any exception): its lines become located problems."""
        return cls(ok=False, seconds=seconds, problems=Problem.from_error(error), warnings=tuple(warnings))

    @classmethod
    def from_result(cls, result: Any, seconds: float) -> Build:
        """From a pipeline Result: outputs with .format/.path/.cached, .warnings, and .error (None when ok).

        Pages are the result's PNG outputs, so the session should compile with
        "png" among the formats (the PNG stage is cached like the others).
        """
        warnings = tuple(getattr(result, "warnings", ()) or ())
        if result.error is not None:
            return cls.failed(result.error, seconds, warnings)
        outputs = list(result.outputs)
        by_format: dict[str, list[Any]] = {}
        for output in outputs:
            by_format.setdefault(output.format, []).append(output)
        first = {fmt: found[0].path for fmt, found in by_format.items()}
        return cls(
            ok=True,
            seconds=seconds,
            cached=all(bool(o.cached) for o in outputs) if outputs else None,
            pages=tuple(o.path for o in by_format.get("png", [])),
            pdf=first.get("pdf"),
            docx=first.get("docx"),
            warnings=warnings,
        )
