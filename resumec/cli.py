"""The command line: a thin Typer shell over resumec.pipeline.compile.

Exit codes: 0 success, 1 invalid input, 2 usage error, 3 PDF conversion failed
or LibreOffice missing, 4 cannot write output.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from resumec.errors import ResumecError, UsageError

EXIT_CODES = """\b
Exit codes:
  0  success
  1  invalid input (JSON syntax, schema, theme)
  2  usage error (bad option, unknown section name)
  3  PDF conversion failed, or LibreOffice missing (the DOCX is still written)
  4  I/O error: an output could not be written
"""

app = typer.Typer(
    name="resumec",
    help="Compile a JSON Resume into a Word document and a PDF.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
cache_app = typer.Typer(help="Inspect and manage the build cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _version(value: bool) -> None:
    if value:
        from resumec import __version__

        typer.echo(f"resumec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Compile a JSON Resume into a Word document and a PDF."""


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


def _cache(cache_dir: Optional[Path]):
    from resumec.cache import Cache, default_dir

    return Cache(cache_dir or default_dir())


CacheDir = Annotated[Optional[Path], typer.Option("--cache-dir", envvar="RESUMEC_CACHE_DIR", help="Cache location.")]


@cache_app.command("info")
def cache_info(
    cache_dir: CacheDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the cache location, entries, size and hit/miss counts."""
    import json

    from resumec.cache import format_size

    info = _cache(cache_dir).info()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    stats = info["stats"]
    hits = stats.get("docx_hits", 0) + stats.get("pdf_hits", 0)
    misses = stats.get("docx_misses", 0) + stats.get("pdf_misses", 0)
    rate = f"{100 * hits / (hits + misses):.1f} %" if hits + misses else "-"
    rows = [
        ("Cache directory", info["location"]),
        ("Entries", str(info["entries"])),
        ("Blobs", str(info["blobs"])),
        ("Size", f"{format_size(info['size'])} / {format_size(info['max_size'])}"),
        ("Hits", f"{hits} (docx {stats.get('docx_hits', 0)}, pdf {stats.get('pdf_hits', 0)})"),
        ("Misses", f"{misses} (docx {stats.get('docx_misses', 0)}, pdf {stats.get('pdf_misses', 0)})"),
        ("Hit rate", rate),
        ("Evictions", str(stats.get("evictions", 0))),
    ]
    for label, value in rows:
        typer.echo(f"{label + ':':<17}{value}")


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDir = None) -> None:
    """Remove every cache entry and reset the statistics."""
    cache = _cache(cache_dir)
    removed = cache.clear()
    typer.echo(f"Removed {removed} files from {cache.root}")


@cache_app.command("prune")
def cache_prune(
    cache_dir: CacheDir = None,
    max_size: Annotated[Optional[str], typer.Option("--max-size", help="Size to prune down to, e.g. 200M (default: the configured limit).")] = None,
) -> None:
    """Evict least-recently-used entries until the cache fits its size limit."""
    from resumec.cache import format_size, parse_size

    try:
        limit = parse_size(max_size) if max_size is not None else None
        if limit is None and os.environ.get("RESUMEC_CACHE_MAX_SIZE"):
            limit = parse_size(os.environ["RESUMEC_CACHE_MAX_SIZE"])
    except ValueError as exc:
        typer.echo(f"--max-size: {exc}", err=True)
        raise typer.Exit(2) from None
    cache = _cache(cache_dir)
    outcome = cache.prune(limit)
    typer.echo(
        f"Evicted {outcome['evicted_entries']} entries and {outcome['evicted_blobs']} blobs "
        f"({format_size(outcome['freed'])}); cache is now {format_size(outcome['size'])}"
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
