"""`resumec watch`: rebuild on every save, with one LibreOffice kept warm for the whole session.

A rebuild is the ordinary pipeline (so unchanged outputs are cache hits and
a failed build leaves the last good files alone) with a warm converter
passed in: ~0.1 s for the PDF instead of ~1 s for a fresh LibreOffice.

What to watch comes from the builds themselves: every Result lists the files
it read (the résumé, its photo, the theme's folders), as a ccache manifest
lists includes. We watch the *directories* holding those files
(non-recursive) and the theme folders (recursive), then filter by path: editors that save through a
temp file and a rename (vim, VS Code, JetBrains) replace the inode, which a
watch on the file itself would lose. watchfiles groups a burst of events
until none came for STEP_MS (at most DEBOUNCE_MS), so one save is one build.

The watcher runs in a thread and feeds a queue; the main thread builds and
owns the signal handlers. SIGINT exits 130 and SIGTERM 143 (128 + signal, as
a shell reports it), after closing LibreOffice.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resumec.errors import ConvertError, ResumecError, UsageError
from resumec.interrupt import TICK, deliver_later, must_wait
from resumec.options import Options
from resumec.pipeline import Result
from resumec.report import Reporter
from resumec.settings import Settings

STEP_MS = 5  # a burst has ended when no event came for this long (editors' temp+rename take ~1 ms);
# watchfiles checks every STEP_MS, so a save is seen 1-2 steps after it
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


def targets(specs: list[str], options: Options, results: dict[str, Result]) -> Targets:
    """Recomputed after every build: a save may add a photo or change what the theme extends."""
    from resumec import output

    inputs: dict[str, str] = {}
    dirs: set[str] = set()
    ignore: set[str] = set()
    roots: list[str] = []

    def add_file(path: Path, spec: str) -> None:
        folder = os.path.realpath(path.parent)
        dirs.add(folder)
        inputs[os.path.join(folder, path.name)] = spec  # the name an editor saves to
        real = os.path.realpath(path)  # and the file behind a symlink
        inputs[real] = spec
        dirs.add(os.path.dirname(real))

    for spec in specs:
        if spec == "-":
            raise UsageError("watch needs résumé files: standard input cannot be watched")
        path = Path(spec).absolute()
        if not os.path.isdir(os.path.realpath(path.parent)):
            raise UsageError(f"{spec}: no such directory: {path.parent}")
        add_file(path, spec)
        for read in results.get(spec, Result(spec)).inputs:
            if read.is_dir():
                roots.append(os.path.realpath(read))
            elif read.absolute() != path:
                add_file(read.absolute(), spec)
        try:
            planned = output.plan(spec, path, options.output, options.formats, many=len(specs) > 1)
            ignore.update(os.path.realpath(p) for p in planned.values())
        except ResumecError:
            pass
    if os.path.isdir(options.theme):
        roots.append(os.path.realpath(options.theme))  # watched even while it is broken
    trees = tuple(dict.fromkeys(roots))
    for root in trees:
        for folder, subdirs, _ in os.walk(root):
            subdirs[:] = [d for d in subdirs if d not in ("__pycache__", ".git")]
            dirs.add(folder)
    return Targets(inputs, trees, frozenset(dirs), frozenset(ignore))


class _Watcher:
    """watchfiles threads putting each burst's set of accepted paths on one queue.

    Folders are only ever added, never swapped: a watch being replaced could
    miss a save made while the new one starts. Every thread filters with the
    latest Targets, so folders no longer of interest cost nothing but a check.
    """

    def __init__(self, found: Targets, events: queue.Queue) -> None:
        self.targets = found
        self.events = events
        self.stop_event = threading.Event()
        self.watched: set[str] = set()
        self.threads: list[threading.Thread] = []
        self.update(found)

    def update(self, found: Targets) -> None:
        self.targets = found
        new = sorted(found.dirs - self.watched)
        if new:
            self.watched.update(new)
            thread = threading.Thread(target=self._run, args=(new,), name="resumec-watch", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, dirs: list[str]) -> None:
        import watchfiles

        skip = watchfiles.DefaultFilter()  # editor swap and backup files, .git, __pycache__, …

        def accept(change: Any, path: str) -> bool:
            targets = self.targets
            return targets.accept(path) and (path in targets.inputs or skip(change, path))

        try:
            for changes in watchfiles.watch(
                *dirs,
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
        for thread in self.threads:
            thread.join(timeout=5)


# -- the live preview (--serve) ---------------------------------------------------------


@dataclass
class Preview:
    """One watched résumé's preview page; imported and started only under --serve."""

    server: Any  # resumec.live.LiveServer

    def show(self, result: Result, options: Options, settings: Settings, remote: Any, started: float) -> None:
        """Hand a finished build to the page: its PDF's pages (cached PNGs), or its located errors."""
        from resumec.live import Build
        from resumec.pipeline import page_images

        if result.error is not None:
            self.server.built(Build.failed(result.error, time.perf_counter() - started, result.warnings))
            return
        files = {o.format: o.path for o in result.outputs}
        try:
            pages = page_images(files["pdf"].read_bytes(), options, settings, remote=remote,
                                progress=self.server.progress)
        except (OSError, ResumecError) as exc:
            error = exc if isinstance(exc, ResumecError) else ResumecError(f"{files['pdf']}: {exc}")
            self.server.built(Build.failed(error, time.perf_counter() - started, result.warnings))
            return
        self.server.built(Build(ok=True, seconds=time.perf_counter() - started,
                                cached=all(bool(o.cached) for o in result.outputs), pages=tuple(pages),
                                pdf=files["pdf"], docx=files.get("docx"), warnings=tuple(result.warnings)))


def _serving(options: Options, specs: list[str]) -> Options:
    """The preview shows the PDF's pages, so a served session always builds the PDF too."""
    from dataclasses import replace

    if options.port is not None and len(specs) > 1:
        raise UsageError("--port takes one résumé; without it each preview gets its own port")
    if "pdf" not in options.formats:
        options = replace(options, formats=(*options.formats, "pdf"))
    return options


def _start_previews(specs: list[str], options: Options, reporter: Reporter, settings: Settings) -> dict[str, Preview]:
    from resumec.live import LiveServer, open_browser

    previews: dict[str, Preview] = {}
    try:
        for spec in specs:
            server = LiveServer(Path(spec).name, port=options.port, watched=Path(spec), settings=settings)
            previews[spec] = Preview(server)
            url = server.start()
            reporter.serving(spec, url, server.note)
            if options.open and not open_browser(url):
                reporter.serving(spec, url, "no browser to open here: open the URL yourself")
    except BaseException:
        for preview in previews.values():
            preview.server.close()
        raise
    return previews


def _next(events: queue.Queue) -> Any:
    """The next burst, waking every TICK so a signal another thread took reaches our handler."""
    while True:
        try:
            return events.get(timeout=TICK)
        except queue.Empty:
            pass


# -- saves caught half-way ------------------------------------------------------------

SETTLE_S = 0.5  # how long an emptied résumé may wait for the write that usually follows


def _state(spec: str) -> tuple[int, int] | None:
    try:
        st = os.stat(spec)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _mid_save(spec: str, result: Result, before: tuple[int, int] | None, events: queue.Queue) -> bool:
    """True when a failed build read a save in progress, which its next event will rebuild.

    An editor that saves in place truncates the file, then writes it; on a
    busy machine the two can fall in different bursts of events, and a build
    reads the empty file (a fast build makes that likelier). Such a failure is
    not shown: when the file changed during the build, its event is queued
    already; when it is empty, the write is waited for, up to SETTLE_S
    (an emptied file with no write after it is then reported as usual).
    """
    if result.ok:
        return False
    now = _state(spec)
    if now != before and now is not None and now[0]:
        return True
    if now is None or now[0]:
        return False
    try:
        changed = events.get(timeout=SETTLE_S)
    except queue.Empty:
        return False
    events.put(changed)  # the main loop coalesces it with whatever else came
    return True


# -- the session ---------------------------------------------------------------------


def run(specs: list[str], options: Options, reporter: Reporter, settings: Settings) -> int:
    """Build, then rebuild on change until SIGINT (130) or SIGTERM (143); 1 if watching itself fails."""
    from resumec import convert
    from resumec.docx.builder import Builder
    from resumec.options import expand_inputs
    from resumec.pipeline import compile

    state = {"stopping": False}

    def on_signal(signum: int, frame: Any) -> None:
        if state["stopping"]:
            return  # already on the way out: never interrupt the cleanup
        if must_wait(frame):
            deliver_later(signum)
            return
        state["stopping"] = True
        raise _Stop(128 + signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    pool: convert.Pool | None = None
    watcher: _Watcher | None = None
    events: queue.Queue = queue.Queue()
    results: dict[str, Result] = {}
    remote = None
    previews: dict[str, Preview] = {}
    try:
        specs = expand_inputs(specs)
        many = len(specs) > 1
        if options.serve:
            options = _serving(options, specs)
        found = targets(specs, options, results)
        watcher = _Watcher(found, events)  # before the first build, so no save is missed
        if "pdf" in options.formats or "png" in options.formats:
            try:
                pool = convert.pool(1, settings, warm=True)
            except ConvertError:
                pool = None  # every build then says LibreOffice is missing, and still writes the DOCX
        converter = pool.converters[0] if pool else None
        from resumec.run import open_remote

        remote = open_remote(options, settings)  # one breaker for the session
        # One builder for the session: templates compile and the theme's styles are applied once, not on every
        # save; a theme edit changes the theme's fingerprint, which is the builder's key, so it is never stale.
        builder = Builder(options.cache_root(settings))
        if options.serve:
            previews = _start_previews(specs, options, reporter, settings)
        reporter.watching(specs, options.theme, pool.note if pool else "")
        pending = list(specs)
        while True:
            for spec in pending:
                reporter.building(spec)
                preview = previews.get(spec)
                started = time.perf_counter()
                before = _state(spec)
                results[spec] = compile(spec, options, settings=settings, converter=converter, remote=remote,
                                        many=many, builder=builder,
                                        progress=preview.server.progress if preview else None)
                found = targets(specs, options, results)  # a new photo or theme folder: watched before we say done
                watcher.update(found)
                if _mid_save(spec, results[spec], before, events):
                    continue  # the rest of the save is coming: its event rebuilds, and only that is reported
                if preview is not None:
                    preview.show(results[spec], options, settings, remote, started)
                reporter.built(spec, results[spec], time.perf_counter() - started)
            changed = _next(events)
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
        reporter.fatal("\n".join(exc.lines()))
        return exc.exit_code
    except OSError as exc:
        reporter.fatal(f"cannot watch: {exc}")
        return 1
    finally:
        state["stopping"] = True
        try:
            if watcher is not None:
                watcher.stop()
            if pool is not None:
                pool.close()
            if remote is not None:
                remote.close()
            for preview in previews.values():
                preview.server.close()
            reporter.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
