"""`resumec init`: a starter résumé to begin from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from resumec.cli.app import app


@app.command("init")
def init_command(
    file: Annotated[Optional[Path], typer.Argument(help="Where to write the starter résumé (default: resume.json).",
                                                   metavar="FILE", show_default=False)] = Path("resume.json"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter résumé with every section filled with placeholders."""
    from resumec.errors import ResumecError
    from resumec.output import write_all
    from resumec.report import print_error

    target = file or Path("resume.json")
    if target.exists() and not force:
        typer.echo(f"{target}: already exists (use --force to overwrite)", err=True)
        raise typer.Exit(4)
    starter = (Path(__file__).resolve().parents[1] / "starter.json").read_bytes()
    try:
        write_all({target: starter})
    except ResumecError as exc:
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None
    shown = target if target.is_absolute() else Path(os.curdir) / target
    typer.echo(f"Wrote {target}. Next: resumec compile {shown.as_posix()}")
