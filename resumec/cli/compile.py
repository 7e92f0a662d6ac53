"""`resumec compile` and `resumec validate`."""

from __future__ import annotations

from typing import Annotated

import typer

from resumec.cli.app import EXIT_CODES, app, inputs_parameter, table_command
from resumec.options import for_command


@table_command("compile", for_command("compile"),
               [inputs_parameter("Résumé files (JSON or YAML), folders of them, or - for standard input.")],
               epilog=EXIT_CODES)
def compile_command(inputs: list[str], raw: dict) -> None:
    """Compile résumés to DOCX and PDF."""
    from resumec.cli.front import compile_command as run

    raise typer.Exit(run(inputs, raw))


@app.command("validate", epilog=EXIT_CODES)
def validate_command(
    inputs: Annotated[list[str], typer.Argument(help="Résumé files (JSON or YAML), folders of them, or - for "
                                                     "standard input.", metavar="INPUT...", show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout: each input, and every "
                                                         "problem as file, line, column, path and message.")] = False,
) -> None:
    """Check résumés as `compile` would, without building: exit 0 valid, 1 invalid."""
    from resumec.run import validate

    raise typer.Exit(validate(inputs, quiet=quiet, as_json=as_json))
