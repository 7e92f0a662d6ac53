"""`resumec watch` (and `resumec compile --watch`): rebuild on every save; see resumec.watch."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from resumec.cli import options
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
