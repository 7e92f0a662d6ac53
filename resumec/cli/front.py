"""The front door of `resumec compile` and `resumec watch`.

Both parsers end here with the raw values they collected: the quick parser
below (no Typer, which costs more than a whole cache hit) and the Typer
commands (help, completion, and anything the quick parser leaves to them).
From here on there is one path: `Options.from_raw` checks every value, then
`resumec.run.command` compiles. Nothing is parsed, loaded or validated twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from resumec.errors import UsageError
from resumec.options import Options, parse_argv
from resumec.report import Reporter, choose_mode
from resumec.settings import Settings


def quick(argv: Sequence[str]) -> int | None:
    """Run `resumec compile ARGV` without Typer, or None to let Typer parse it (help, unusual flags)."""
    parsed = parse_argv(argv, "compile")
    if parsed is None:
        return None
    inputs, raw = parsed
    return compile_command(inputs, raw)


def compile_command(inputs: Sequence[str], raw: dict[str, Any]) -> int:
    from resumec import run

    settings = Settings.from_env()
    reporter = Reporter(choose_mode(bool(raw.get("quiet")), bool(raw.get("json")), settings=settings))
    try:
        options = Options.from_raw(raw)
    except UsageError as exc:
        reporter.error(exc)
        reporter.finish(exc.exit_code)
        return exc.exit_code
    return run.command(inputs, options, reporter, settings)


def watch_command(inputs: Sequence[str], raw: dict[str, Any]) -> int:
    """`resumec watch` is `resumec compile --watch`."""
    return compile_command(inputs, {**raw, "watch": True})
