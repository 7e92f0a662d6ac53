"""`resumec watch`: rebuild on every save, with one LibreOffice kept warm for the whole session.

A rebuild is the ordinary pipeline (so unchanged outputs are cache hits and
a failed build leaves the last good files alone) with a WarmConverter
passed in: ~0.1 s for the PDF instead of ~1.2 s for a fresh LibreOffice.

We watch the *directories* holding the résumé (non-recursive) and every
folder of the theme in use, then filter by path: editors that save through a
temp file and a rename (vim, VS Code, JetBrains) replace the inode, which a
watch on the file itself would lose. watchfiles groups a burst of events
until none came for STEP_MS (at most DEBOUNCE_MS), so one save is one build.

The watcher runs in a thread and feeds a queue; the main thread builds and
owns the signal handlers. SIGINT exits 130 and SIGTERM 143 (128 + signal, as
a shell reports it), after closing LibreOffice.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from resumec.errors import ConvertError, ResumecError, UsageError

STEP_MS = 10  # a burst has ended when no event came for this long (editors' temp+rename take ~1 ms)
DEBOUNCE_MS = 1600  # but never wait longer than this to start a build


class _Stop(BaseException):
    """Raised by our signal handlers in the main thread, wherever it is, to end the session."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


# -- what to watch -----------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Paths whose change means "rebuild", and the directories that must be watched to see them."""

    inputs: dict[str, str]  # absolute path of a résumé (as named and as resolved) -> its spec
    trees: tuple[str, ...]  # theme folders: any file below them counts
    dirs: frozenset[str]  # directories given to the watcher (non-recursive)
    ignore: frozenset[str]  # our own outputs, should they land in a watched tree

    def accept(self, path: str) -> bool:
        if path in self.inputs:
            return True
        if path in self.ignore or _is_our_temp(path):
            return False
        return any(path.startswith(root + os.sep) for root in self.trees)

    def affected(self, paths: set[str], specs: list[str]) -> list[str]:
        """The inputs to rebuild: the ones that changed, or all when the theme did."""
        if any(path not in self.inputs for path in paths):
            return specs
        changed = {self.inputs[path] for path in paths}
        return [spec for spec in specs if spec in changed]


def _is_our_temp(path: str) -> bool:
    name = os.path.basename(path)
    return name.startswith(".") and name.endswith(".tmp")  # output.write_all's temp files


def targets(specs: list[str], opts: Any) -> Targets:
    """Recomputed after every build: a theme.toml edit may change what the theme extends."""
    from resumec import output, theme

    inputs: dict[str, str] = {}
    dirs: set[str] = set()
    ignore: set[str] = set()
    for spec in specs:
        if spec == "-":
            raise UsageError("watch needs résumé files: standard input cannot be watched")
        path = Path(spec).absolute()
        folder = os.path.realpath(path.parent)
        if not os.path.isdir(folder):
            raise UsageError(f"{spec}: no such directory: {path.parent}")
        dirs.add(folder)
        inputs[os.path.join(folder, path.name)] = spec  # the name an editor saves to
        real = os.path.realpath(path)  # and the file behind a symlink
        inputs[real] = spec
        dirs.add(os.path.dirname(real))
        photo = _photo(path)  # the photo is an input too (its bytes are in the cache key)
        if photo is not None:
            inputs[str(photo)] = spec
            dirs.add(str(photo.parent))
        try:
            planned = output.plan(spec, path, opts.output, opts.formats, many=len(specs) > 1)
            ignore.update(os.path.realpath(p) for p in planned.values())
        except ResumecError:
            pass
    roots: list[str] = []
    if os.path.isdir(opts.theme):
        roots.append(os.path.realpath(opts.theme))
    try:
        roots += [os.path.realpath(root) for root in theme.load_theme(opts.theme).search_path]
    except ResumecError:
        pass  # a broken theme is reported by the build; its folder (if any) is still watched
    trees = tuple(dict.fromkeys(roots))
    for root in trees:
        for folder, subdirs, _ in os.walk(root):
            subdirs[:] = [d for d in subdirs if d not in ("__pycache__", ".git")]
            dirs.add(folder)
    return Targets(inputs, trees, frozenset(dirs), frozenset(ignore))


def _photo(path: Path) -> Path | None:
    """The résumé's local photo, if it currently names a valid one; errors are the build's to report."""
    from resumec.assets import photo_path
    from resumec.files import read_regular
    from resumec.load import MAX_BYTES

    try:  # a regular file only, bounded: a FIFO named as the input must not hang the watcher
        return photo_path(json.loads(read_regular(path, MAX_BYTES)), path.parent)
    except (OSError, ValueError, ResumecError, RecursionError):
        return None


class _Watcher:
    """watchfiles in a thread, putting each burst's set of accepted paths on a queue."""

    def __init__(self, found: Targets, events: queue.Queue) -> None:
        self.targets = found
        self.events = events
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="resumec-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import watchfiles

        skip = watchfiles.DefaultFilter()  # editor swap and backup files, .git, __pycache__, …

        def accept(change: Any, path: str) -> bool:
            return self.targets.accept(path) and (path in self.targets.inputs or skip(change, path))

        try:
            for changes in watchfiles.watch(
                *sorted(self.targets.dirs),
                watch_filter=accept,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self.stop_event,
                recursive=False,
                raise_interrupt=False,
                ignore_permission_denied=True,
            ):
                self.events.put({path for _, path in changes})
        except Exception as exc:  # e.g. the folder was deleted: the main thread reports it
            if not self.stop_event.is_set():
                self.events.put(exc if isinstance(exc, OSError) else OSError(str(exc)))

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)


# -- what the user sees --------------------------------------------------------------


@dataclass
class View:
    """Live status on a terminal, one line per build otherwise, or JSON lines (`--json`)."""

    mode: str  # "rich" | "plain" | "quiet" | "json"
    err: TextIO = field(default_factory=lambda: sys.stderr)
    out: TextIO = field(default_factory=lambda: sys.stdout)
    _live: Any = None
    _header: str = ""
    _lines: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # spec -> (text, style)

    def start(self, specs: list[str], theme: str, note: str) -> None:
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

    def building(self, spec: str) -> None:
        if self._live is not None:
            previous = self._lines.get(spec, [])
            self._lines[spec] = [(f"… {spec}: building", "cyan")] + previous[1:]
            self._refresh()

    def built(self, spec: str, result: Any, seconds: float) -> None:
        stamp = time.strftime("%H:%M:%S")
        record = result.to_json()
        if self.mode == "json":
            self._write(self.out, json.dumps({"time": stamp, "seconds": round(seconds, 4), **record}, ensure_ascii=False))
            return
        lines: list[tuple[str, str | None]] = [(text, "yellow") for text in result.warnings]
        if result.error is None:
            names = ", ".join(o.path.name for o in result.outputs) or "nothing"
            cached = all(o.cached for o in result.outputs)
            changed = any(o.changed for o in result.outputs)
            tags = [t for t, on in (("cached", cached), ("unchanged", not changed)) if on]
            line = f"built {names} in {seconds:.2f} s" + (f" ({', '.join(tags)})" if tags else "")
            lines.insert(0, (line, "green"))
        else:
            details = result.error.details or [result.error.message]
            lines = [(text, "red") for text in details] + lines
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
            self._write(self.out, json.dumps({"time": time.strftime("%H:%M:%S"), "fatal": message}))
        else:
            self._write(self.err, message)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _refresh(self) -> None:
        from rich.console import Group
        from rich.text import Text

        rows = [Text(self._header, style="bold")]
        for lines in self._lines.values():
            rows += [Text(text, style=style or "") for text, style in lines]
        self._live.update(Group(*rows), refresh=True)

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        stream.write(text + "\n")
        stream.flush()


# -- the session ---------------------------------------------------------------------


def run(specs: list[str], opts: Any, view: View) -> int:
    """Build, then rebuild on change until SIGINT (130) or SIGTERM (143); 1 if watching itself fails."""
    from resumec.batch import _compile

    state = {"stopping": False}

    def on_signal(signum: int, frame: Any) -> None:
        if state["stopping"]:
            return  # already on the way out: never interrupt the cleanup
        state["stopping"] = True
        raise _Stop(128 + signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    converter = None
    watcher: _Watcher | None = None
    events: queue.Queue = queue.Queue()
    many = len(specs) > 1
    try:
        found = targets(specs, opts)
        watcher = _Watcher(found, events)  # before the first build, so no save is missed
        converter = _open_converter(opts)
        view.start(specs, opts.theme, getattr(converter, "note", "") or "")
        pending = list(specs)
        while True:
            for spec in pending:
                view.building(spec)
                started = time.perf_counter()
                result = _compile(spec, opts, converter, many=many)
                view.built(spec, result, time.perf_counter() - started)
            latest = targets(specs, opts)
            if latest.dirs != found.dirs or latest.trees != found.trees:
                old, watcher = watcher, _Watcher(latest, events)
                old.stop()
            found = latest
            changed = events.get()
            while True:  # coalesce whatever else arrived meanwhile
                if isinstance(changed, Exception):
                    raise changed
                try:
                    more = events.get_nowait()
                except queue.Empty:
                    break
                changed = more if isinstance(more, Exception) else changed | more
            pending = found.affected(changed, specs)
    except _Stop as stop:
        return stop.code
    except ResumecError as exc:
        view.fatal("\n".join(exc.lines()))
        return exc.exit_code
    except OSError as exc:
        view.fatal(f"cannot watch: {exc}")
        return 1
    finally:
        state["stopping"] = True
        try:
            if watcher is not None:
                watcher.stop()
            if converter is not None:
                converter.close()
            view.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _open_converter(opts: Any) -> Any:
    """A warm LibreOffice for the session (one-shot with a note without uno); None if not needed or missing."""
    if "pdf" not in opts.formats and "png" not in opts.formats:
        return None
    from resumec.convert import find_soffice, open_converter

    try:
        soffice = find_soffice()
    except ConvertError:
        return None  # every build then says LibreOffice is missing, and still writes the DOCX
    return open_converter(soffice, warm=True)
