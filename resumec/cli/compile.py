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
                                                     "standard input.", metavar="INPUT", show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout: each input, and every "
                                                         "problem as file, line, column, path and message.")] = False,
) -> None:
    """Check résumés as `compile` would, without building: exit 0 valid, 1 invalid."""
    raise typer.Exit(validate(inputs, quiet=quiet, as_json=as_json))


def validate(inputs: list[str], *, quiet: bool = False, as_json: bool = False) -> int:
    """`resumec validate`: every check `compile` makes before building; the first failure's exit code.

    Human lines go to stderr; with `as_json` one document goes to stdout instead, each
    problem structured (file, line, column, path, message), as in `compile --json`.
    """
    import sys

    from resumec import load
    from resumec.errors import ResumecError
    from resumec.options import expand_inputs
    from resumec.pipeline import check
    from resumec.report import FORMAT_VERSION, json_text, print_error

    records: list[dict] = []

    def failed(spec: str | None, exc: ResumecError) -> None:
        if as_json:
            records.append({"input": spec, "ok": False, "exit_code": exc.exit_code, "error": exc.to_json()})
        else:
            print_error(exc)

    code = 0
    try:
        specs = expand_inputs(inputs)
    except ResumecError as exc:
        failed(None, exc)
        specs, code = [], exc.exit_code
    for spec in specs:
        shown = load.STDIN_NAME if spec == "-" else spec
        try:
            check(load.load(spec))
        except ResumecError as exc:
            failed(spec, exc)
            code = code or exc.exit_code
            continue
        if as_json:
            records.append({"input": spec, "ok": True, "exit_code": 0, "error": None})
        elif not quiet:
            sys.stderr.write(f"{shown}: valid\n")
    if as_json:
        from resumec import __version__

        doc = {"resumec": __version__, "format_version": FORMAT_VERSION, "ok": code == 0, "exit_code": code,
               "results": records}
        sys.stdout.write(json_text(doc) + "\n")
        sys.stdout.flush()
    return code
