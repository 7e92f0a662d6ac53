"""Running compiles: the `resumec compile` command, one input or a batch.

Both parsers (Typer and the quick parser) end in `command()`, so what a user
sees never depends on which one read the command line. A batch runs
`pipeline.compile` in N threads, each with its own converter from one
`convert.pool`: python-docx holds the GIL while it builds, but conversions run
in separate LibreOffice processes, so threads keep the cores busy.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from resumec.errors import ConvertError, ResumecError, UsageError
from resumec.options import Options, expand_inputs
from resumec.pipeline import Result, compile, stages
from resumec.report import Reporter
from resumec.settings import Settings

if TYPE_CHECKING:
    from resumec.convert import Converter, Pool


def command(inputs: Sequence[str], options: Options, reporter: Reporter, settings: Settings) -> int:
    """`resumec compile INPUTS [options]` after parsing; returns the exit code (the first failure's)."""
    if options.watch:
        from resumec import watch

        return watch.run(list(inputs), options, reporter, settings)
    code = 0
    try:
        specs = expand_inputs(inputs)
        if len(specs) == 1:
            code = compile_one(specs[0], options, reporter, settings).exit_code
        else:
            code = first_failure(compile_many(specs, options, reporter, settings))
    except ResumecError as exc:
        reporter.error(exc)
        code = exc.exit_code
    finally:
        reporter.stop()  # also on Ctrl-C/SIGTERM, which must not print a "success" report
    reporter.finish(code)
    return code


def first_failure(results: Sequence[Result]) -> int:
    return next((r.exit_code for r in results if r.exit_code), 0)


def compile_one(spec: str, options: Options, reporter: Reporter, settings: Settings,
                converter: Converter | None = None) -> Result:
    """One input, reported with a progress bar across its stages."""
    reporter.start(stages(options))
    try:
        result = compile(spec, options, settings=settings, converter=converter, progress=reporter.stage,
                         warn=reporter.warn)
        reporter.input_done()
        reporter.result(result)
    finally:
        reporter.stop()
    return result


def compile_many(specs: Sequence[str], options: Options, reporter: Reporter, settings: Settings) -> list[Result]:
    """Every input, in parallel; reported in input order, so the report reads the same on every run.

    Output clashes are refused before anything is built: two inputs must never
    write the same file.
    """
    check_outputs(specs, options)
    workers = max(1, min(options.jobs or os.cpu_count() or 1, len(specs)))
    pool = _open_pool(workers, options, reporter, settings)
    converters: queue.Queue[Converter | None] = queue.Queue()
    for converter in pool.converters if pool else [None] * workers:
        converters.put(converter)

    def task(spec: str) -> Result:
        converter = converters.get()
        try:
            return compile(spec, options, settings=settings, converter=converter, many=True)
        finally:
            converters.put(converter)

    results: list[Result] = []
    reporter.start(stages(options))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resumec-batch")
    try:
        futures: list[Future[Result]] = [executor.submit(task, spec) for spec in specs]
        reporter.batch(len(specs))
        for future in futures:
            result = future.result()
            for message in result.warnings:
                reporter.warn(message)
            reporter.input_done()
            reporter.result(result)
            results.append(result)
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
    if pool and pool.note and any(o.format == "pdf" and not o.cached for r in results for o in r.outputs):
        reporter.note(pool.note)
    return results


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
        return convert.pool(workers, settings, service=options.use_server, warm=True, warn=reporter.warn)
    except ConvertError:
        return None
