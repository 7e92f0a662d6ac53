"""`resumec compile` and `resumec validate`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from resumec.cli import options
from resumec.cli.app import EXIT_CODES, app
from resumec.cli.common import build_options, expand_inputs
from resumec.errors import ResumecError


@app.command("compile", epilog=EXIT_CODES)
def compile_command(
    ctx: typer.Context,
    inputs: Annotated[list[str], typer.Argument(help="Résumé JSON files, directories of them, or - for stdin.", show_default=False)],
    output: options.Output = None,
    format: options.Format = "all",
    theme: options.Theme = "classic",
    sections: options.Sections = None,
    paper: options.Paper = None,
    lang: options.Lang = None,
    pdfa: options.Pdfa = False,
    no_cache: options.NoCache = False,
    cache_dir: options.CacheDir = None,
    timeout: options.Timeout = 120.0,
    quiet: options.Quiet = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON report on stdout (with --watch: one JSON line per build).")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running and rebuild whenever the résumé or theme changes (like `resumec watch`).")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="LibreOffice instances for several inputs. Default: the number of CPUs.", min=1, show_default=False)] = None,
    no_server: Annotated[bool, typer.Option("--no-server", help="Don't use a running converter service (also: RESUMEC_NO_SERVER=1).")] = False,
) -> None:
    """Compile résumés to DOCX and PDF."""
    from resumec import report

    if watch:
        from resumec.cli.watch import run_watch

        run_watch(inputs, quiet=quiet, as_json=as_json, output=output, format=format, theme=theme,
                  sections=sections, paper=paper, lang=lang, no_cache=no_cache, cache_dir=cache_dir,
                  timeout=timeout, pdfa=pdfa)
    reporter = report.Reporter(report.choose_mode(quiet, as_json), seen=_seen(ctx))
    code = 0
    try:
        files = expand_inputs(inputs)
        opts = build_options(
            output=output, format=format, theme=theme, sections=sections, paper=paper, lang=lang,
            no_cache=no_cache, cache_dir=cache_dir, timeout=timeout, pdfa=pdfa,
        )
        code = _run_compile(files, opts, reporter, jobs=jobs, use_server=not no_server)
    except ResumecError as exc:
        reporter.error(exc)
        code = exc.exit_code
    finally:
        reporter.stop()  # also on Ctrl-C/SIGTERM, which must not print a "success" report
    reporter.finish(code)
    raise typer.Exit(code)


def _seen(ctx: typer.Context) -> set[str]:
    """Warnings the fast path already printed (so they are shown once)."""
    obj = ctx.find_root().obj
    return obj.get("seen_warnings", set()) if isinstance(obj, dict) else set()


def _run_compile(files: list[str], opts, reporter, *, jobs: int | None = None, use_server: bool = True) -> int:
    """One input, or a batch over `jobs` warm LibreOffices (or the converter service when it runs)."""
    from resumec import batch

    return batch.run(files, opts, reporter, jobs=jobs, use_server=use_server)


@app.command("validate", epilog=EXIT_CODES)
def validate_command(
    inputs: Annotated[list[str], typer.Argument(help="Résumé JSON files, or - for stdin.", show_default=False)],
    quiet: options.Quiet = False,
) -> None:
    """Check résumés against the JSON Resume schema (exit 0 valid, 1 invalid)."""
    from resumec import load, validate

    code = 0
    for spec in inputs:
        try:
            validate.check(load.load(spec))
            if not quiet:
                typer.echo(f"{'<stdin>' if spec == '-' else spec}: valid", err=True)
        except ResumecError as exc:
            for line in exc.lines():
                typer.echo(line, err=True)
            code = code or exc.exit_code
    raise typer.Exit(code)
