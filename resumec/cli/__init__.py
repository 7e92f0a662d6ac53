"""The command line: a thin Typer shell over the library (resumec.run, resumec.pipeline).

Exit codes: 0 success, 1 invalid input, 2 usage error, 3 PDF conversion failed
or LibreOffice missing, 4 cannot write output, 130/143 interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from resumec.interrupt import deliver_later, must_wait


def _ignore_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _terminate(signum: int, frame: FrameType | None) -> None:
    if must_wait(frame):
        deliver_later(signum)
        return
    # From here on we are unwinding: a second signal must not cut the cleanup
    # short (killing LibreOffice, removing temp files), and the exit status is 128 + signum.
    _ignore_signals()
    if signum == signal.SIGINT:
        sys.stderr.write("interrupted\n")
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point. `resumec compile` is parsed without Typer when it can be (see cli/front.py)."""
    # Ctrl-C and SIGTERM unwind the stack (SystemExit, which Typer does not
    # swallow as it does KeyboardInterrupt), so every `finally` runs: LibreOffice
    # process groups are killed and temp files removed. Exit 130 / 143.
    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGTERM, _terminate)
    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:1] == ["compile"] and "_RESUMEC_COMPLETE" not in os.environ:
            from resumec.cli.front import quick

            code = quick(args[1:])
            if code is not None:
                sys.exit(code)
        from resumec.cli.app import app
        from resumec.cli import cache, compile, doctor, init, server, themes, watch  # noqa: F401  (register commands)

        app(args=args, prog_name="resumec")
    finally:
        # The exit status is decided; a signal arriving now (during interpreter
        # shutdown, which restores default handlers) must not turn it into -15.
        _ignore_signals()
