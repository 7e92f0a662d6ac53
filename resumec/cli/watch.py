"""`resumec watch` (and `resumec compile --watch`): rebuild on every save; see resumec.watch."""

from __future__ import annotations

import typer

from resumec.cli.app import EXIT_CODES, inputs_parameter, table_command
from resumec.options import for_command


@table_command("watch", for_command("watch"), [inputs_parameter("Résumé JSON files, or folders of them.")],
               epilog=EXIT_CODES)
def watch_command(inputs: list[str], raw: dict) -> None:
    """Build, then rebuild on every save of the résumé, its photo or its theme (one LibreOffice kept warm)."""
    from resumec.cli.front import watch_command as run

    raise typer.Exit(run(inputs, raw))
