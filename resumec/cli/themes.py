"""`resumec themes` and `resumec theme new`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from resumec.cli.app import app, complete_theme

theme_app = typer.Typer(help="Create and manage theme folders.", no_args_is_help=True)
app.add_typer(theme_app, name="theme")

SCHEMA_VERSION = 1  # resumec/schemas/themes.json


@app.command("themes")
def themes_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON (resumec/schemas/themes.json).")] = False,
) -> None:
    """List the built-in themes: the name, then a one-line description."""
    from resumec.theme import BUILTIN_DIR, builtin_themes

    found = builtin_themes()
    if as_json:
        from resumec import __version__
        from resumec.report import json_text

        themes = [{"name": name, "description": description, "path": str(BUILTIN_DIR / name)}
                  for name, description in found]
        typer.echo(json_text({"schema_version": SCHEMA_VERSION, "resumec": __version__, "themes": themes}))
        return
    width = max((len(name) for name, _ in found), default=0)
    for name, description in found:
        typer.echo(f"{name:<{width}}  {description}".rstrip())


@theme_app.command("new")
def theme_new(
    name: Annotated[str, typer.Argument(help="Folder to create (./NAME).", metavar="NAME", show_default=False)],
    base: Annotated[str, typer.Option("--from", help="Built-in theme to start from.", metavar="THEME",
                                      autocompletion=complete_theme)] = "classic",
) -> None:
    """Copy a built-in theme into ./NAME as a starting point for your own."""
    from resumec.theme import BUILTIN_DIR, builtin_themes

    names = [n for n, _ in builtin_themes()]
    if base not in names:
        typer.echo(f"--from: unknown theme {base!r} (built-in themes: {', '.join(names)})", err=True)
        raise typer.Exit(2)
    target = Path(name)
    if target.exists():
        typer.echo(f"{target}: already exists; choose another name", err=True)
        raise typer.Exit(4)
    try:
        shutil.copytree(BUILTIN_DIR / base, target, ignore=shutil.ignore_patterns("__pycache__"))
    except OSError as exc:
        typer.echo(f"{target}: cannot create: {exc.strerror or exc}", err=True)
        raise typer.Exit(4) from None
    typer.echo(f"Created {target}/ from '{base}'. Use it with: resumec compile resume.json --theme ./{target.as_posix()}")
