"""The Typer application object and what every command shares.

Commands live in sibling modules (one per command family) and register
themselves on `app`; each imports its heavy dependencies inside the function,
so `resumec --help` and a cache-hit compile stay fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

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


