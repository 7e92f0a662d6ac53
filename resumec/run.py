"""Running compiles: the `resumec compile` command, one input or a batch.

Both parsers (Typer and the quick parser) end in `command()`, so what a user
sees never depends on which one read the command line. A batch runs
`pipeline.compile` in N worker processes, each with its own converter from one
`convert.pool` and its own DOCX Builder: DOCX builds hold the GIL, so threads
would build one at a time while the cores wait.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resumec.errors import ConvertError, ResumecError, UsageError
from resumec.interrupt import TICK, deliver_later, must_wait
from resumec.options import Options, expand_inputs
from resumec.pipeline import Result, compile, stages
from resumec.report import Reporter
from resumec.settings import Settings

if TYPE_CHECKING:
    from resumec.convert import Converter, Pool
    from resumec.remote import Remote


def command(inputs: Sequence[str], options: Options, reporter: Reporter, settings: Settings) -> int:
    """`resumec compile INPUTS [options]` after parsing; returns the exit code (the first failure's)."""
    if options.watch:
        from resumec import watch

        return watch.run(list(inputs), options, reporter, settings)
    code = 0
    remote = None
    try:
        specs = expand_inputs(inputs)
        remote = open_remote(options, settings)  # a bad URL is exit 2 before anything is built
        if len(specs) == 1:
            code = compile_one(specs[0], options, reporter, settings, remote=remote).exit_code
        else:
            code = first_failure(compile_many(specs, options, reporter, settings, remote=remote))
    except ResumecError as exc:
        reporter.error(exc)
        code = exc.exit_code
    finally:
        reporter.stop()  # also on Ctrl-C/SIGTERM, which must not print a "success" report
        if remote is not None:
            remote.close()
    reporter.finish(code)
    return code


def open_remote(options: Options, settings: Settings) -> Remote | None:
    """The shared cache tier for a whole command: one breaker, so an outage costs one timeout, not one per input."""
    if not options.use_cache:
        return None
    return settings.open_remote(options.remote_cache, options.remote_read_only)


def first_failure(results: Sequence[Result]) -> int:
    return next((r.exit_code for r in results if r.exit_code), 0)


def compile_one(spec: str, options: Options, reporter: Reporter, settings: Settings,
                converter: Converter | None = None, remote: Remote | None = None) -> Result:
    """One input, reported with a progress bar across its stages."""
    reporter.start(stages(options))
    try:
        result = compile(spec, options, settings=settings, converter=converter, remote=remote,
                         progress=reporter.stage, warn=reporter.warn)
        reporter.input_done()
        reporter.result(result)
    finally:
        reporter.stop()
    return result


def compile_many(specs: Sequence[str], options: Options, reporter: Reporter, settings: Settings,
                 remote: Remote | None = None) -> list[Result]:
    """Every input, in parallel worker processes; reported in input order, so the report reads the same on
    every run.

    Output clashes are refused before anything is built: two inputs must never
    write the same file. Each worker builds DOCX files with its own Builder
    (python-docx and Jinja2 hold the GIL: threads would build one at a time)
    and converts with its own engine from one `convert.pool`, so a worker's
    LibreOffice converts while another worker builds. `remote` must be unused
    (a Remote connects on first use): each worker connects its own copy, as a
    connection must not cross a fork, so each has its own breaker.
    """
    check_outputs(specs, options)
    workers = max(1, min(options.jobs or os.cpu_count() or 1, len(specs)))
    pool = _open_pool(workers, options, reporter, settings)
    results: dict[int, Result] = {}
    reported: list[Result] = []
    batch = _Workers(specs, options, settings, pool.converters if pool else [None] * workers, remote)
    try:
        batch.start()  # forked before the reporter starts Rich's refresh thread: a child must not inherit one
        reporter.start(stages(options))
        reporter.batch(len(specs))
        while len(reported) < len(specs):
            index, result = batch.next_result()
            results[index] = result
            while len(reported) in results:  # in input order, each as soon as the ones before it are done
                done = results.pop(len(reported))
                for message in done.warnings:
                    reporter.warn(message)
                reporter.input_done()
                reporter.result(done)
                reported.append(done)
    finally:
        batch.stop()  # on Ctrl-C/SIGTERM too: every worker kills its LibreOffice before this returns
        reporter.stop()
        if pool:
            pool.close()
    if pool and pool.note and any(o.format == "pdf" and not o.cached for r in reported for o in r.outputs):
        reporter.note(pool.note)
    return reported


class _Workers:
    """Worker processes for a batch: forked, fed one input at a time, stopped together.

    Forked (os.fork, not spawn): a worker starts in a millisecond with this
    process's modules and its own unstarted converter, and nothing here holds
    a thread or a lock yet (a replacement, forked later beside the progress
    bar's thread, runs nothing but its worker loop and leaves with os._exit).
    Not through multiprocessing, whose children lose standard input (an input
    may be `-`). A worker ignores SIGINT (a Ctrl-C
    reaches the whole process group; this process decides) and on SIGTERM
    closes its converter, so its LibreOffice dies with it; it also stops when
    its pipe to this process closes. A worker that dies mid-input fails that
    input alone and is replaced.
    """

    def __init__(self, specs: Sequence[str], options: Options, settings: Settings,
                 converters: Sequence[Converter | None], remote: Remote | None = None) -> None:
        self.specs = list(specs)
        self.remote = remote
        self.options = options
        self.settings = settings
        self.converters = list(converters)
        self.pending = list(range(len(self.specs)))[::-1]  # popped from the end: input order
        self.running: dict[int, _Slot] = {}

    def start(self) -> None:
        for slot in range(min(len(self.converters), len(self.specs))):
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        import sys
        from multiprocessing import Pipe

        ours, theirs = Pipe()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()  # else the child would flush our buffered output a second time
            except (AttributeError, OSError, ValueError):
                pass
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                ours.close()
                for other in self.running.values():
                    other.conn.close()  # only this process may hold our end: its exit is their EOF
                code = _worker(theirs, self.converters[slot], self.options, self.settings, self.remote)
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        theirs.close()
        self.running[slot] = _Slot(pid, ours)
        self._feed(slot)

    def _feed(self, slot: int) -> None:
        """Send the worker the next input (or tell it to finish); one that died idle is replaced, its input kept."""
        worker = self.running[slot]
        worker.index = self.pending.pop() if self.pending else None
        try:
            worker.conn.send(None if worker.index is None else (worker.index, self.specs[worker.index]))
        except OSError:
            # It died idle, before it got this input: the input is not to blame. (Only for a worker that has
            # built something: one that dies at once would die again, and fails its input in next_result.)
            if worker.index is not None and worker.done:
                self.pending.append(worker.index)
                worker.index = None
                worker.reap()
                del self.running[slot]
                self._spawn(slot)

    def next_result(self) -> tuple[int, Result]:
        """The next input some worker finished (or whose worker died)."""
        from multiprocessing.connection import wait

        while True:
            busy = {worker.conn: slot for slot, worker in self.running.items() if worker.index is not None}
            if not busy:
                raise RuntimeError("no batch worker is running an input")  # cannot happen: a bug, not an input
            for ready in wait(list(busy), timeout=TICK):  # a short sleep: a signal another thread took still lands
                slot = busy[ready]
                worker = self.running[slot]
                index = worker.index
                assert index is not None
                try:
                    got_index, result = worker.conn.recv()
                except (EOFError, OSError):
                    break  # it died: handled below
                if got_index != index:
                    break  # cannot happen; treated as a dead worker
                worker.done += 1
                self._feed(slot)
                return index, result
            else:
                continue
            # The worker died with this input unfinished: that input fails, a new worker takes the rest.
            status = worker.reap()
            del self.running[slot]
            failed = Result(input=self.specs[index], error=ResumecError(
                f"{self.specs[index]}: the process building it stopped unexpectedly ({status})"))
            if self.pending:
                self._spawn(slot)
            return index, failed

    def stop(self) -> None:
        """Tell idle workers to finish and wait for them; on an interrupt, SIGTERM every worker first."""
        import signal

        interrupted = any(worker.index is not None for worker in self.running.values())
        for worker in self.running.values():
            if interrupted:
                worker.signal(signal.SIGTERM)
            else:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        for worker in self.running.values():
            worker.reap()
        self.running.clear()


class _Slot:
    """One worker process, its end of the pipe, and the input it is building (None: idle)."""

    def __init__(self, pid: int, conn: Any) -> None:
        self.pid = pid
        self.conn = conn
        self.index: int | None = None
        self.done = 0  # inputs it has finished
        self.status: str | None = None

    def signal(self, signum: int) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def reap(self, timeout: float = 60.0) -> str:
        """Wait for the worker to exit (SIGKILL after `timeout`); how it ended, in words."""
        import signal
        import time

        if self.status is None:
            deadline = time.monotonic() + timeout
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:  # stuck: its LibreOffice has its own session and
                    os.kill(self.pid, signal.SIGKILL)  # ends when its bridge sees the pipe close
                    pid, status = os.waitpid(self.pid, 0)
                    break
                time.sleep(0.01)
            code = os.waitstatus_to_exitcode(status)
            if code < 0:
                try:
                    self.status = f"killed by {signal.Signals(-code).name}"
                except ValueError:
                    self.status = f"killed by signal {-code}"
            else:
                self.status = f"exit status {code}"
            self.conn.close()
        return self.status


class _Stop(BaseException):
    """Raised in a worker by SIGTERM, wherever it is, so every `finally` runs (LibreOffice is killed)."""


def _worker(conn: Any, converter: Converter | None, options: Options, settings: Settings,
            remote: Remote | None) -> int:
    """A batch worker's life: compile what it is sent, with one Builder and one converter, until told to stop."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(signum: int, frame: Any) -> None:
        if must_wait(frame):
            deliver_later(signum)
            return
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the cleanup must not be cut short
        raise _Stop()

    signal.signal(signal.SIGTERM, stop)
    from resumec.docx.builder import Builder

    builder = Builder(options.cache_root(settings))
    converts = "pdf" in options.formats or "png" in options.formats
    warming: list[Any] = []

    def progress(stage: str) -> None:
        # A DOCX is being built, so a PDF will be converted: start LibreOffice now, alongside the build,
        # rather than after it. (A batch of cache hits never gets here, and starts no LibreOffice.)
        if stage == "docx" and converts and converter is not None and not warming:
            import threading

            thread = threading.Thread(target=_start_quietly, args=(converter,), daemon=True)
            thread.start()
            warming.append(thread)

    stopped = False
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return 0  # the batch is gone
            if task is None:
                return 0
            index, spec = task
            result = compile(spec, options, settings=settings, converter=converter, remote=remote, many=True,
                             builder=builder, progress=progress)
            try:
                conn.send((index, result))
            except OSError:
                return 0
    except _Stop:
        stopped = True
        return 143
    finally:
        if remote is not None:
            remote.close()
        if converter is not None:
            if stopped:
                converter.abort()  # kills LibreOffice now, even mid-start; close() then removes its files
            for thread in warming:
                thread.join()
            converter.close()


def _start_quietly(converter: Converter) -> None:
    """Start the engine early; a failure is reported by the conversion that needs it."""
    try:
        converter.start()
    except ResumecError:
        pass


def check_outputs(specs: Sequence[str], options: Options) -> None:
    """Refuse a batch in which two inputs would write the same file (exit 2, both named)."""
    from resumec import output

    if options.output == output.STDOUT:
        raise UsageError("-o - (standard output) takes one input; use -o DIR/ for several")
    claimed: dict[Path, str] = {}
    for spec in specs:
        path = None if spec == "-" else Path(spec)
        try:
            planned = output.plan(spec, path, options.output, options.formats, many=True)
        except UsageError:
            continue  # that input reports it itself
        for target in planned.values():
            key = Path(os.path.abspath(target))
            other = claimed.setdefault(key, spec)
            if other != spec:
                raise UsageError(f"{other} and {spec} would both write {target}; give each its own -o directory, "
                                 "or rename one of them")


def _open_pool(workers: int, options: Options, reporter: Reporter, settings: Settings) -> Pool | None:
    """Converters for the batch, or None when it makes no PDFs or LibreOffice is missing (each input says so)."""
    if "pdf" not in options.formats and "png" not in options.formats:
        return None
    from resumec import convert

    try:
        return convert.pool(workers, settings, service=options.use_server, warm=True, warn=reporter.warn,
                            cache_dir=options.cache_root(settings))
    except ConvertError:
        return None
