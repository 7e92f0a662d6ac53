"""`resumec compile` and `resumec validate`."""

from __future__ import annotations

from typing import Annotated

import typer

from resumec.cli.app import EXIT_CODES, app, inputs_parameter, table_command
from resumec.options import for_command


@table_command("compile", for_command("compile"),
               [inputs_parameter("Résumé JSON files, folders of them, or - for standard input.")],
               epilog=EXIT_CODES)
def compile_command(inputs: list[str], raw: dict) -> None:
    """Compile résumés to DOCX and PDF."""
    from resumec.cli.front import compile_command as run

    raise typer.Exit(run(inputs, raw))


@app.command("validate", epilog=EXIT_CODES)
def validate_command(
    inputs: Annotated[list[str], typer.Argument(help="Résumé JSON files, folders of them, or - for standard input.",
                                                metavar="INPUT", show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Check résumés as `compile` would, without building: exit 0 valid, 1 invalid."""
    from resumec import load
    from resumec.errors import ResumecError
    from resumec.options import expand_inputs
    from resumec.pipeline import check
    from resumec.report import print_error

    code = 0
    try:
        specs = expand_inputs(inputs)
    except ResumecError as exc:
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None
    for spec in specs:
        try:
            check(load.load(spec))
            if not quiet:
                typer.echo(f"{'<stdin>' if spec == '-' else spec}: valid", err=True)
        except ResumecError as exc:
            print_error(exc)
            code = code or exc.exit_code
    raise typer.Exit(code)
