"""`resumec doctor`."""

from __future__ import annotations

from typing import Annotated

import typer

from resumec.cli.app import app

SCHEMA_VERSION = 1  # resumec/schemas/doctor.json

@app.command("doctor")
def doctor_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON (resumec/schemas/doctor.json).")] = False,
) -> None:
    """Check LibreOffice, the UNO Python, fonts and the cache; print exact fixes.

    Exit 0 when everything required is present, 1 otherwise.
    """
    import dataclasses

    from resumec import __version__
    from resumec.doctor import os_family, run_checks
    from resumec.report import json_text
    from resumec.settings import Settings

    checks = run_checks(Settings.from_env())
    failed = [c for c in checks if not c.ok and c.required]
    if as_json:
        typer.echo(json_text({"schema_version": SCHEMA_VERSION, "resumec": __version__, "ok": not failed,
                              "os_family": os_family(), "checks": [dataclasses.asdict(c) for c in checks]}))
        raise typer.Exit(1 if failed else 0)
    width = max(len(c.name) for c in checks)
    for check in checks:
        mark = "ok " if check.ok else ("MISSING" if check.required else "warn")
        typer.echo(f"{mark:<7} {check.name:<{width}}  {check.detail}")
    fixes = [c.fix for c in checks if not c.ok and c.fix]
    if fixes:
        typer.echo("\nTo fix:")
        for fix in dict.fromkeys(fixes):
            typer.echo(f"  {fix}")
    raise typer.Exit(1 if failed else 0)
