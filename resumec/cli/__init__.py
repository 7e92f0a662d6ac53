"""The command line: a thin Typer shell over resumec.pipeline.compile.

Exit codes: 0 success, 1 invalid input, 2 usage error, 3 PDF conversion failed
or LibreOffice missing, 4 cannot write output.
"""

from __future__ import annotations

import sys

from resumec.cli import cache, compile  # noqa: F401  (register commands)
from resumec.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
