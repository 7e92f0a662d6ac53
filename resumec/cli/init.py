"""`resumec init`: a starter résumé to begin from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from resumec.cli.app import app


@app.command("init")
def init_command(
    file: Annotated[Optional[Path], typer.Argument(help="Where to write the starter résumé (default: resume.json; "
                                                        "a .yaml or .yml name writes YAML).",
                                                   metavar="FILE", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    yaml: Annotated[bool, typer.Option("--yaml", help="Write YAML (default name resume.yaml).")] = False,
) -> None:
    """Write a starter résumé with every section filled with placeholders."""
    from resumec.errors import ResumecError
    from resumec.load import is_yaml
    from resumec.output import write_all
    from resumec.report import print_error

    target = file or Path("resume.yaml" if yaml else "resume.json")
    if target.exists() and not force:
        typer.echo(f"{target}: already exists (use --force to overwrite)", err=True)
        raise typer.Exit(4)
    starter = (Path(__file__).resolve().parents[1] / "starter.json").read_bytes()
    if yaml or is_yaml(target):
        starter = _as_yaml(starter)
    try:
        write_all({target: starter})
    except ResumecError as exc:
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None
    shown = target if target.is_absolute() else Path(os.curdir) / target
    typer.echo(f"Wrote {target}. Next: resumec compile {shown.as_posix()}")


def _as_yaml(starter: bytes) -> bytes:
    """The starter résumé in YAML, keys in their JSON order; strings YAML would misread are quoted."""
    import json

    import yaml

    data = json.loads(starter)
    data.pop("$schema", None)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return ("# A JSON Resume in YAML (https://jsonresume.org/schema). resumec reads *.yaml and *.yml.\n"
            + text).encode("utf-8")
