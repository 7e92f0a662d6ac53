"""What the user sees: a Rich progress bar on a terminal, plain lines elsewhere, or JSON.

One Reporter serves `compile` (one input or a batch) and `watch` (a live
status on a terminal, one line per build otherwise, JSON lines with --json).
Human output goes to stderr so stdout stays clean for `--json` and `-o -`.
Rich is imported only when a terminal will actually show something from it:
the cache-hit path in a script never pays for it.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from resumec.errors import ResumecError

if TYPE_CHECKING:
    from resumec.pipeline import Result
    from resumec.settings import Settings

# The version of the --json documents (compile, validate, watch lines): bumped when a field changes
# meaning or goes away; new fields may appear without a bump. Schemas: resumec/schemas/*.json.
FORMAT_VERSION = 1

STAGE_LABELS = {
    "validate": "Validating",
    "docx": "Building DOCX",
    "pdf": "Converting to PDF",
    "png": "Rendering pages",
    "write": "Writing",
}


def choose_mode(quiet: bool, as_json: bool, stream: TextIO | None = None, settings: Settings | None = None) -> str:
    """"json", "quiet", "rich" (a terminal) or "plain"."""
    if as_json:
        return "json"
    if quiet:
        return "quiet"
    stream = stream or sys.stderr
    dumb = settings.dumb_terminal if settings is not None else False
    return "rich" if stream.isatty() and not dumb else "plain"


def json_text(document: Any, indent: int | None = 2) -> str:
    """JSON for any report, also when a string holds a lone surrogate (a file name that is not UTF-8).

    Such a character cannot be encoded, so it is written as its JSON escape (\\udcff), which is still valid JSON.
    """
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_lines(exc: ResumecError) -> list[str]:
    """Every command prints an error this way: one line per problem, each saying where."""
    return exc.lines()


def print_error(exc: ResumecError, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    for line in error_lines(exc):
        stream.write(_printable(line) + "\n")
    stream.flush()


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def timestamp() -> str:
    """ISO 8601 with the local offset, e.g. 2026-11-30T14:05:09+01:00."""
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class Reporter:
    mode: str  # "rich" | "plain" | "quiet" | "json"
    err: TextIO = field(default_factory=lambda: sys.stderr)
    out: TextIO = field(default_factory=lambda: sys.stdout)
    seen: set[str] = field(default_factory=set)  # warnings already shown
    _progress: Any = None
    _task: Any = None
    _records: list[dict] = field(default_factory=list)
    _console: Any = None
    _stages: tuple[str, ...] = ("validate", "docx", "pdf", "write")
    _total: int = 4
    _completed: int = 0
    _base: int = 0
    _per_input: int = 4  # bar steps per input: its stages, or 1 in a batch
    # watch mode
    _live: Any = None
    _header: str = ""
    _lines: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # spec -> (text, style)

    # -- compile: lifecycle ---------------------------------------------------------------

    def start(self, stages: tuple[str, ...]) -> None:
        # The bar itself appears only once slow work begins (see stage()), so
        # a cache hit on a terminal never pays for importing Rich.
        self._stages = stages
        self._total = self._per_input = len(stages)

    def batch(self, inputs: int) -> None:
        """One bar for a whole batch, counting inputs (not stages), shown from the start."""
        self._total, self._per_input = inputs, 1
        if self.mode == "rich" and self._progress is None:
            self._open_bar()
            self._progress.update(self._task, description="Compiling")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._live is not None:
            self._live.stop()
            self._live = None

    def finish(self, exit_code: int) -> None:
        self.stop()
        if self.mode == "json":
            from resumec import __version__

            doc = {"resumec": __version__, "format_version": FORMAT_VERSION, "ok": exit_code == 0,
                   "exit_code": exit_code, "results": self._records}
            self.out.write(json_text(doc) + "\n")
            self.out.flush()

    # -- compile: events ----------------------------------------------------------------------

    def stage(self, name: str) -> None:
        if self.mode != "rich" or self._per_input == 1:
            return
        if self._progress is None and name != "validate" and name != "write":
            self._open_bar()
        index = self._stages.index(name) if name in self._stages else 0
        self._completed = self._base + index
        if self._progress is not None:
            self._progress.update(self._task, completed=self._completed, description=STAGE_LABELS.get(name, name))

    def input_done(self) -> None:
        """Move the bar past every stage of one input (a hit skips some)."""
        self._base += self._per_input
        self._completed = self._base
        if self._progress is not None:
            self._progress.update(self._task, completed=self._completed)

    def warn(self, message: str) -> None:
        if self.mode == "quiet" or message in self.seen:
            return
        self.seen.add(message)
        self._print_err(message, style="yellow")

    def note(self, message: str) -> None:
        if self.mode in ("quiet", "json"):
            return
        self._print_err(message)

    def result(self, result: Result) -> None:
        """One input finished (successfully or not)."""
        self._records.append(result.to_json())
        if self.mode == "json":
            return
        if self.mode != "quiet":
            for out in result.outputs:
                state = "unchanged" if not out.changed else "written"
                source = {"remote": "cached, from the remote cache", False: "built"}.get(out.cached, "cached")
                shown = "standard output" if str(out.path) == "-" else str(out.path)
                self._print_err(f"{shown}: {state} ({source})")
        if result.error is not None:
            for line in error_lines(result.error):
                self._print_err(line, style="red", always=True)

    def error(self, exc: ResumecError) -> None:
        """An error outside any input (bad usage before a build started)."""
        if self.mode == "json":
            from resumec.pipeline import error_json

            self._records.append({"input": None, "ok": False, "exit_code": exc.exit_code, "outputs": [],
                                  "timings": {}, "warnings": [], "error": error_json(exc)})
            return
        for line in error_lines(exc):
            self._print_err(line, style="red", always=True)

    # -- watch ------------------------------------------------------------------------------------

    def watching(self, specs: list[str], theme: str, note: str) -> None:
        self._header = f"watching {', '.join(specs)} (theme {theme}); Ctrl-C to stop"
        if self.mode == "rich":
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=self.err), auto_refresh=False, transient=False)
            self._live.start()
            if note:
                self._live.console.print(note, style="yellow", markup=False, highlight=False)
            self._refresh()
        elif self.mode == "plain":
            self._write(self.err, self._header)
            if note:
                self._write(self.err, note)

    def serving(self, spec: str, url: str, note: str = "") -> None:
        """A live preview is up (shown even with --quiet: without the URL it is useless)."""
        if self.mode == "json":
            self._write(self.out, json_text({"time": timestamp(), "input": spec, "preview": url,
                                             **({"note": note} if note else {})}, indent=None))
            return
        self._write(self.err, f"preview of {spec}: {url}")
        if note:
            self._write(self.err, f"note: {note}")

    def building(self, spec: str) -> None:
        if self._live is not None:
            previous = self._lines.get(spec, [])
            self._lines[spec] = [(f"… {spec}: building", "cyan")] + previous[1:]
            self._refresh()

    def built(self, spec: str, result: Result, seconds: float) -> None:
        if self.mode == "json":
            self._write(self.out, json_text({"time": timestamp(), "seconds": round(seconds, 4), **result.to_json()},
                                            indent=None))
            return
        stamp = time.strftime("%H:%M:%S")
        lines: list[tuple[str, str | None]] = [(text, "yellow") for text in result.warnings]
        if result.error is None:
            names = ", ".join(o.path.name for o in result.outputs) or "nothing"
            cached = all(o.cached for o in result.outputs)
            changed = any(o.changed for o in result.outputs)
            tags = [t for t, on in (("cached", cached), ("unchanged", not changed)) if on]
            lines.insert(0, (f"built {names} in {seconds:.2f} s" + (f" ({', '.join(tags)})" if tags else ""), "green"))
        else:
            lines = [(text, "red") for text in error_lines(result.error)] + lines
            if self._live is not None:
                lines.append(("(the last good output is unchanged)", "dim"))
        if self._live is not None:
            first, style = lines[0]
            self._lines[spec] = [(f"{'✓' if result.error is None else '✗'} {stamp} {first}", style)] + lines[1:]
            self._refresh()
            return
        for text, style in lines:
            if self.mode == "plain" or style == "red":
                self._write(self.err, f"[{stamp}] {text}")

    def fatal(self, message: str) -> None:
        if self._live is not None:
            self._live.console.print(message, style="red", markup=False, highlight=False)
        elif self.mode == "json":
            self._write(self.out, json_text({"time": timestamp(), "fatal": message}, indent=None))
        else:
            self._write(self.err, message)

    # -- output -----------------------------------------------------------------------------------

    def _open_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._console = Console(file=self.err)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<20}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("Starting", total=self._total, completed=self._completed)

    def _refresh(self) -> None:
        from rich.console import Group
        from rich.text import Text

        rows = [Text(self._header, style="bold")]
        for lines in self._lines.values():
            rows += [Text(_printable(text), style=style or "") for text, style in lines]
        self._live.update(Group(*rows), refresh=True)

    def _print_err(self, text: str, style: str | None = None, always: bool = False) -> None:
        if self.mode == "quiet" and not always:
            return
        text = _printable(text)
        if self._console is not None:
            target = self._progress.console if self._progress is not None else self._console
            target.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            self.err.write(text + "\n")
            self.err.flush()

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        stream.write(_printable(text) + "\n")
        stream.flush()
