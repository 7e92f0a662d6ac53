"""`resumec compile` and `resumec validate`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from resumec.cli.app import EXIT_CODES, app
from resumec.errors import ResumecError, UsageError


def _expand(inputs: list[str]) -> list[str]:
    """Directories stand for the *.json files directly inside them."""
    expanded: list[str] = []
    for item in inputs:
        if item != "-" and os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).glob("*.json"))
            if not found:
                raise UsageError(f"{item}: no .json files in this directory")
            expanded.extend(found)
        else:
            expanded.append(item)
    return expanded


def _formats(value: str) -> tuple[str, ...]:
    if value == "all":
        return ("docx", "pdf")
    parts = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    for part in parts:
        if part not in ("docx", "pdf"):
            raise UsageError(f"--format: unknown format {part!r} (expected pdf, docx or all)")
    if not parts:
        raise UsageError("--format: expected pdf, docx or all")
    return parts


@app.command("compile", epilog=EXIT_CODES)
def compile_command(
    inputs: Annotated[list[str], typer.Argument(help="Résumé JSON files, directories of them, or - for stdin.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output directory, or FILE.pdf / FILE.docx (the other formats share its stem).")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="pdf, docx or all (comma-separated list allowed).")] = "all",
    theme: Annotated[str, typer.Option("--theme", "-t", help="Built-in theme name or path to a theme folder.")] = "classic",
    sections: Annotated[Optional[str], typer.Option("--sections", "-s", help="Sections in order, e.g. work,projects,education=Studies,skills.")] = None,
    paper: Annotated[Optional[str], typer.Option("--paper", help="a4 or letter (default: the theme's).")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Language for dates and titles (default: meta.language, else en).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the build cache.")] = False,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", envvar="RESUMEC_CACHE_DIR", help="Cache location.", show_envvar=True)] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds before a LibreOffice conversion is abandoned.", min=1)] = 120.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON report on stdout.")] = False,
) -> None:
    """Compile résumés to DOCX and PDF."""
    from resumec import report

    reporter = report.Reporter(report.choose_mode(quiet, as_json))
    code = 0
    try:
        files = _expand(inputs)
        if files.count("-") > 1:
            raise UsageError("standard input (-) can be read only once")
        opts = _options(output, _formats(format), theme, sections, paper, lang, no_cache, cache_dir, timeout)
        code = _run_compile(files, opts, reporter)
    except ResumecError as exc:
        reporter.error(exc)
        code = exc.exit_code
    finally:
        reporter.finish(code)
    raise typer.Exit(code)


def _options(output, formats, theme, sections, paper, lang, no_cache, cache_dir, timeout):
    from resumec.cache import parse_size
    from resumec.pipeline import Options

    max_size = None
    if os.environ.get("RESUMEC_CACHE_MAX_SIZE"):
        try:
            max_size = parse_size(os.environ["RESUMEC_CACHE_MAX_SIZE"])
        except ValueError as exc:
            raise UsageError(f"RESUMEC_CACHE_MAX_SIZE: {exc}") from None
    return Options(
        theme=theme,
        sections=sections,
        formats=formats,
        output=output,
        paper=paper,
        lang=lang,
        use_cache=not no_cache,
        cache_dir=cache_dir,
        cache_max_size=max_size,
        timeout=timeout,
    )


def _run_compile(files: list[str], opts, reporter) -> int:
    from resumec.pipeline import compile as compile_one

    many = len(files) > 1
    code = 0
    reporter.start(total_stages=4 * len(files))
    try:
        for spec in files:
            try:
                result = compile_one(spec, opts, progress=reporter.stage, warn=reporter.warn, many=many)
            except ResumecError as exc:
                result = exc.result  # type: ignore[attr-defined]
                code = code or exc.exit_code
            reporter.input_done()
            reporter.result(result.to_json())
    finally:
        reporter.stop()
    return code


@app.command("validate", epilog=EXIT_CODES)
def validate_command(
    inputs: Annotated[list[str], typer.Argument(help="Résumé JSON files, or - for stdin.", show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
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
