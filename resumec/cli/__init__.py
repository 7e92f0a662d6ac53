"""The command line: a thin Typer shell over resumec.pipeline.compile.

Exit codes: 0 success, 1 invalid input, 2 usage error, 3 PDF conversion failed
or LibreOffice missing, 4 cannot write output.
"""

from __future__ import annotations

import signal
import sys


def _terminate(signum: int, frame: object) -> None:
    if signum == signal.SIGINT:
        sys.stderr.write("interrupted\n")
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point. A cache hit is served before Typer is even imported."""
    args = sys.argv[1:] if argv is None else argv
    seen: set[str] = set()
    # Ctrl-C and SIGTERM unwind the stack (SystemExit, which Typer does not
    # swallow as it does KeyboardInterrupt), so every `finally` runs: LibreOffice
    # process groups are killed and temp files removed. Exit 130 / 143.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    if args[:1] == ["compile"]:
        from resumec.cli import fast

        code = fast.run(args[1:], seen)
        if code is not None:
            sys.exit(code)
    from resumec.cli.app import app
    from resumec.cli import cache, compile, doctor, server, themes, watch  # noqa: F401  (registers the commands)

    app(args=args, obj={"seen_warnings": seen}, prog_name="resumec")
