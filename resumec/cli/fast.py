"""The cache-hit fast path: `resumec compile FILE [options]` without Typer.

Typer builds a Pydantic adapter for every parameter it parses, which costs
more than the whole cache hit. This module parses the common compile command
lines by hand and serves them only when every output is already in the cache.
Anything else (an unknown flag, a miss, an error, stdin, several inputs)
returns None and the full Typer command handles it, so behaviour never depends
on which path ran; a test checks both parsers accept the same options. The one
exception: while the converter service runs, a miss (or `--no-cache`) is
compiled here, through the same `batch.run` the Typer command uses.
"""

from __future__ import annotations

from pathlib import Path

VALUE_OPTIONS = {
    "-o": "output", "--output": "output",
    "-f": "format", "--format": "format",
    "-t": "theme", "--theme": "theme",
    "-s": "sections", "--sections": "sections",
    "--paper": "paper",
    "--lang": "lang",
    "--cache-dir": "cache_dir",
    "--timeout": "timeout",
}
FLAG_OPTIONS = {"-q": "quiet", "--quiet": "quiet", "--json": "as_json", "--pdfa": "pdfa", "--no-cache": "no_cache"}


def parse(argv: list[str]) -> dict | None:
    """Parse `compile` arguments, or None when the fast path should not try."""
    values: dict = {"inputs": []}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and arg != "-":
            name, eq, value = arg.partition("=")
            if name in FLAG_OPTIONS and not eq:
                values[FLAG_OPTIONS[name]] = True
            elif name in VALUE_OPTIONS:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        return None
                    value = argv[i]
                if VALUE_OPTIONS[name] in values:
                    return None  # repeated option: let the real parser decide
                values[VALUE_OPTIONS[name]] = value
            else:
                return None
        else:
            values["inputs"].append(arg)
        i += 1
    if len(values["inputs"]) != 1 or values["inputs"][0] == "-":
        return None
    return values


def run(argv: list[str], seen_warnings: set[str]) -> int | None:
    """Serve a complete cache hit and return the exit code, else None."""
    args = parse(argv)
    if args is None:
        return None
    from resumec import report
    from resumec.cli.common import build_options
    from resumec.errors import ResumecError
    from resumec.pipeline import NotCached, compile

    try:
        timeout = float(args.get("timeout", 120.0))
        opts = build_options(
            output=Path(args["output"]) if "output" in args else None,
            format=args.get("format", "all"),
            theme=args.get("theme", "classic"),
            sections=args.get("sections"),
            paper=args.get("paper"),
            lang=args.get("lang"),
            no_cache=args.get("no_cache", False),
            cache_dir=Path(args["cache_dir"]) if "cache_dir" in args else None,
            timeout=timeout,
            pdfa=args.get("pdfa", False),
        )
    except (ValueError, ResumecError):
        return None
    reporter = report.Reporter(report.choose_mode(args.get("quiet", False), args.get("as_json", False)))

    def warn(message: str) -> None:
        seen_warnings.add(message)
        reporter.warn(message)

    if "pdf" in opts.formats or "png" in opts.formats:
        from resumec import service

        client = service.client_converter(warn=warn)  # a few stats; it connects only on a PDF miss
        if client is not None:
            return _with_service(args["inputs"][0], opts, reporter, client)
    if not opts.use_cache:
        return None  # nothing to serve from a cache that is not used
    try:
        result = compile(args["inputs"][0], opts, warn=warn, only_cached=True)
    except (NotCached, ResumecError):
        return None
    reporter.input_done()
    reporter.result(result.to_json())
    reporter.finish(0)
    return 0


def _with_service(spec: str, opts, reporter, client) -> int:
    """The converter service runs: serve a hit, or build here and convert there, without Typer (~0.1 s).

    This is the same `batch.run` the Typer command calls, so the output
    cannot differ; with no service, a miss is left to Typer.
    """
    from resumec import batch

    try:
        code = batch.run([spec], opts, reporter, converter=client)
    finally:
        client.close()
    reporter.finish(code)
    return code
