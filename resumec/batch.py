"""Running `compile` over its inputs: one at a time, or a batch fed to several warm LibreOffices.

Both parsers (Typer and the fast path) end in `run()`, so what a user sees
never depends on which one ran. A batch runs `pipeline.compile` in N threads,
each with its own converter: python-docx holds the GIL while it builds, but
the conversions run in separate LibreOffice processes, so threads are enough
to keep 2 cores busy. It is the simplest design that meets the goal
(benchmarks/bench_warm.py: 50 résumés >= 8x faster than a one-shot loop); a
process pool for the DOCX stage would add its own start-up for little gain
while LibreOffice needs as much CPU as the builder.

Which converter: the converter service when it runs (already warm: no start-up
at all), else N WarmConverters (each its own profile; started lazily, so a
batch of cache hits starts none), else one-shot when no Python has `uno`.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from resumec.errors import ConvertError, ResumecError


def default_jobs() -> int:
    return os.cpu_count() or 1


def run(
    files: list[str],
    opts: Any,
    reporter: Any,
    *,
    jobs: int | None = None,
    use_server: bool = True,
    converter: Any = None,
) -> int:
    """Compile every input, report each result in input order; the first failure's exit code, else 0.

    `converter` (e.g. a ServiceClient the fast path already made) is used for
    a single input; otherwise one is chosen here.
    """
    if len(files) == 1:
        return _run_one(files[0], opts, reporter, converter, use_server)
    return _run_batch(files, opts, reporter, jobs or default_jobs(), use_server)


def _compile(spec: str, opts: Any, converter: Any, *, many: bool, progress=None, warn=None):
    """One input's Result, successful or not."""
    from resumec.pipeline import compile as compile_one

    try:
        return compile_one(spec, opts, converter=converter, progress=progress, warn=warn, many=many)
    except ResumecError as exc:
        return exc.result  # type: ignore[attr-defined]


def _run_one(spec: str, opts: Any, reporter: Any, converter: Any, use_server: bool) -> int:
    own = False
    if converter is None and use_server and _converts(opts):
        from resumec import service

        converter = service.client_converter(warn=reporter.warn)
        own = converter is not None
    reporter.start(total_stages=4)
    try:
        result = _compile(spec, opts, converter, many=False, progress=reporter.stage, warn=reporter.warn)
        reporter.input_done()
        reporter.result(result.to_json())
    finally:
        reporter.stop()
        if own:
            converter.close()
    return result.exit_code


def _converts(opts: Any) -> bool:
    return "pdf" in opts.formats or "png" in opts.formats


def _run_batch(files: list[str], opts: Any, reporter: Any, jobs: int, use_server: bool) -> int:
    workers = max(1, min(jobs, len(files)))
    pool = _open_pool(workers, reporter, use_server) if _converts(opts) else None
    converters: queue.Queue[Any] = queue.Queue()
    for converter in pool.converters if pool else [None] * workers:
        converters.put(converter)

    def task(spec: str):
        converter = converters.get()
        try:
            return _compile(spec, opts, converter, many=True)
        finally:
            converters.put(converter)

    code = 0
    built = False
    reporter.start(total_stages=len(files))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resumec-batch")
    try:
        futures: list[Future] = [executor.submit(task, spec) for spec in files]
        reporter.batch(len(files))
        for future in futures:  # input order: the report reads the same on every run
            result = future.result()
            for message in result.warnings:
                reporter.warn(message)
            reporter.input_done()
            reporter.result(result.to_json())
            code = code or result.exit_code
            built = built or any(o.format == "pdf" and not o.cached for o in result.outputs)
    except BaseException:
        # Ctrl-C: queued inputs never start; LibreOffice dies now, so running ones fail at once.
        executor.shutdown(wait=False, cancel_futures=True)
        if pool:
            pool.abort()
        raise
    finally:
        executor.shutdown(wait=True)
        reporter.stop()
        if pool:
            pool.close()
    if pool and pool.note and built:
        reporter.note(pool.note)
    return code


class _Pool:
    """N converters for a batch, closed together; `note` says when they are one-shot."""

    def __init__(self, converters: list[Any], note: str = "") -> None:
        self.converters = converters
        self.note = note

    def abort(self) -> None:
        for converter in self.converters:
            abort = getattr(converter, "abort", None)
            if abort is not None:
                abort()

    def close(self) -> None:
        """Close in parallel: each waits for its LibreOffice to exit."""
        threads = [threading.Thread(target=c.close) for c in self.converters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _open_pool(workers: int, reporter: Any, use_server: bool) -> _Pool | None:
    """The service's clients if it runs, else warm engines, else one-shot; None when LibreOffice is missing."""
    from resumec.convert import OneShot, converter_identity, find_soffice

    if use_server:
        from resumec import service

        # A batch asks first (<= 0.2 s): a stale socket must not turn it into N one-shot loops.
        first = service.client_converter(warn=reporter.warn)
        info = service.status(timeout=service.CONNECT_TIMEOUT) if first is not None else None
        if first is not None and info is not None and info.get("identity") == first.identity:
            clients = [first] + [service.client_converter(warn=reporter.warn) for _ in range(workers - 1)]
            return _Pool([c for c in clients if c is not None])
        if first is not None:
            first.close()
    try:
        soffice = find_soffice()
    except ConvertError:
        return None  # the pipeline reports it per input (and still writes the DOCX)
    from resumec.convert.warm import WarmConverter, find_uno_python

    identity = converter_identity(soffice)
    uno_python = find_uno_python(soffice)
    if uno_python is None:
        return _Pool(
            [OneShot(soffice=soffice, identity=identity) for _ in range(workers)],
            note="note: warm LibreOffice unavailable (no Python can import its uno module; "
            "Debian/Ubuntu: sudo apt-get install python3-uno); converted one document per LibreOffice start",
        )
    return _Pool([WarmConverter(soffice, uno_python=uno_python, identity=identity) for _ in range(workers)])

