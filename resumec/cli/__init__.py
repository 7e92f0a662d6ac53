"""The command line: a thin Typer shell over resumec.pipeline.compile.

Exit codes: 0 success, 1 invalid input, 2 usage error, 3 PDF conversion failed
or LibreOffice missing, 4 cannot write output.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Entry point. A cache hit is served before Typer is even imported."""
    args = sys.argv[1:] if argv is None else argv
    seen: set[str] = set()
    try:
        if args[:1] == ["compile"]:
            from resumec.cli import fast

            code = fast.run(args[1:], seen)
            if code is not None:
                sys.exit(code)
        from resumec.cli.app import app
        from resumec.cli import cache, compile, doctor, themes  # noqa: F401  (registers the commands)

        app(args=args, obj={"seen_warnings": seen}, prog_name="resumec")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
