"""`resumec watch` (and `resumec compile --watch`): rebuild on every save; see resumec.watch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from resumec.cli.app import EXIT_CODES, app
from resumec.cli.common import build_options, expand_inputs
from resumec.errors import ResumecError

WATCH_EXIT_CODES = EXIT_CODES.rstrip("\n") + """
  130  stopped by Ctrl-C (SIGINT); LibreOffice is closed first
  143  stopped by SIGTERM; likewise
"""


@app.command("watch", epilog=WATCH_EXIT_CODES)
def watch_command(
    inputs: Annotated[list[str], typer.Argument(help="Résumé JSON files, or directories of them.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output directory, or FILE.pdf / FILE.docx (the other formats share its stem).")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="pdf, docx, png (one image per page) or all (= docx,pdf); a comma-separated list is allowed.")] = "all",
    theme: Annotated[str, typer.Option("--theme", "-t", help="Built-in theme name or path to a theme folder (its files are watched too).")] = "classic",
    sections: Annotated[Optional[str], typer.Option("--sections", "-s", help="Sections in order, e.g. work,projects,education=Studies,skills.")] = None,
    paper: Annotated[Optional[str], typer.Option("--paper", help="a4 or letter (default: the theme's).")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Language for dates and titles (default: meta.language, else en).")] = None,
    pdfa: Annotated[bool, typer.Option("--pdfa", help="Write PDF/A-2b (archival) instead of plain PDF.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the build cache.")] = False,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", envvar="RESUMEC_CACHE_DIR", help="Cache location.", show_envvar=True)] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds before a LibreOffice conversion is abandoned.", min=1)] = 120.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line per build on stdout.")] = False,
) -> None:
    """Build, then rebuild on every save of the résumé or its theme (one LibreOffice kept warm)."""
    run_watch(inputs, quiet=quiet, as_json=as_json, output=output, format=format, theme=theme,
              sections=sections, paper=paper, lang=lang, no_cache=no_cache, cache_dir=cache_dir,
              timeout=timeout, pdfa=pdfa)


def run_watch(inputs: list[str], *, quiet: bool, as_json: bool, **options) -> NoReturn:
    """Shared by `watch` and `compile --watch`; never returns (exits with the session's code)."""
    from resumec import report, watch

    view = watch.View(report.choose_mode(quiet, as_json))
    try:
        files = expand_inputs(inputs)
        opts = build_options(**options)
    except ResumecError as exc:
        for line in exc.lines():
            typer.echo(line, err=True)
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(watch.run(files, opts, view))
