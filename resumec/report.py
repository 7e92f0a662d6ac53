"""What the user sees: a Rich progress bar on a terminal, plain lines elsewhere, or JSON.

Human output goes to stderr so stdout stays clean for `--json`. Rich is only
imported when a terminal will actually show the bar: the cache-hit path in a
script never pays for it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from resumec.errors import ResumecError

STAGES = ("validate", "docx", "pdf", "write")
STAGE_LABELS = {
    "validate": "Validating",
    "docx": "Building DOCX",
    "pdf": "Converting to PDF",
    "write": "Writing",
}


def choose_mode(quiet: bool, as_json: bool, stream: TextIO | None = None) -> str:
    if as_json:
        return "json"
    if quiet:
        return "quiet"
    stream = stream or sys.stderr
    interactive = stream.isatty() and os.environ.get("TERM") != "dumb"
    return "rich" if interactive else "plain"


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
    _total: int = 4
    _completed: int = 0
    _base: int = 0
    _per_input: int = len(STAGES)  # bar steps per input: its stages, or 1 in a batch

    # -- lifecycle ----------------------------------------------------------

    def start(self, total_stages: int) -> None:
        # The bar itself appears only once slow work begins (see stage()), so
        # a cache hit on a terminal never pays for importing Rich.
        self._total = total_stages

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

    # -- events from the pipeline ---------------------------------------------

    def stage(self, name: str) -> None:
        if self.mode != "rich":
            return
        if self._progress is None and name in ("docx", "pdf"):
            self._open_bar()
        index = STAGES.index(name) if name in STAGES else 0
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
        if self.mode in ("quiet",) or message in self.seen:
            return
        self.seen.add(message)
        self._print_err(message, style="yellow")

    def note(self, message: str) -> None:
        if self.mode in ("quiet", "json"):
            return
        self._print_err(message)

    def result(self, record: dict[str, Any]) -> None:
        """One input finished (successfully or not)."""
        self._records.append(record)
        if self.mode == "json":
            return
        for out in record["outputs"]:
            if self.mode == "quiet":
                continue
            state = "unchanged" if not out["changed"] else "written"
            source = "cached" if out["cached"] else "built"
            self._print_err(f"{out['path']}: {state} ({source})")
        error = record.get("error")
        if error:
            for line in error["details"] or [error["message"]]:
                self._print_err(line, style="red", always=True)

    def error(self, exc: ResumecError) -> None:
        """An error outside any input (bad usage before a build started)."""
        if self.mode == "json":
            self._records.append(
                {"input": None, "ok": False, "exit_code": exc.exit_code, "outputs": [],
                 "error": {"type": type(exc).__name__, "message": exc.message, "details": exc.details}}
            )
            return
        for line in exc.lines():
            self._print_err(line, style="red", always=True)

    def finish(self, exit_code: int) -> None:
        self.stop()
        if self.mode == "json":
            from resumec import __version__

            doc = {"resumec": __version__, "ok": exit_code == 0, "exit_code": exit_code, "results": self._records}
            self.out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            self.out.flush()

    # -- output -----------------------------------------------------------------

    def _print_err(self, text: str, style: str | None = None, always: bool = False) -> None:
        if self.mode == "quiet" and not always:
            return
        if self._console is not None:
            target = self._progress.console if self._progress is not None else self._console
            target.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            self.err.write(text + "\n")
            self.err.flush()
