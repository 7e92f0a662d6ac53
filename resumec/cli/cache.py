"""`resumec cache info | clear | prune`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from resumec.cli.app import app

cache_app = typer.Typer(help="Inspect and manage the build cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _cache(cache_dir: Optional[Path]):
    from resumec.cache import Cache
    from resumec.errors import UsageError
    from resumec.report import print_error
    from resumec.settings import Settings

    settings = Settings.from_env()
    try:
        return Cache(cache_dir or settings.cache_dir, max_size=settings.cache_max_size)
    except UsageError as exc:
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None


CacheDir = Annotated[Optional[Path], typer.Option("--cache-dir", metavar="DIR", show_default=False,
                                                  help="Cache location (default: $RESUMEC_CACHE_DIR, else the user cache directory).")]


SCHEMA_VERSION = 1  # resumec/schemas/cache-info.json


@cache_app.command("info")
def cache_info(
    cache_dir: CacheDir = None,
    remote_cache: Annotated[Optional[str], typer.Option(
        "--remote-cache", metavar="URL", show_default=False,
        help="The shared remote cache to describe (default: $RESUMEC_REMOTE_CACHE); never contacted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (resumec/schemas/cache-info.json).")] = False,
) -> None:
    """Show the cache location, entries, size and hit/miss counts (remote ones too)."""
    from resumec import __version__
    from resumec.cache import format_size
    from resumec.errors import UsageError
    from resumec.report import json_text, print_error
    from resumec.settings import Settings

    info = _cache(cache_dir).info()
    settings = Settings.from_env()
    try:
        remote = settings.open_remote(remote_cache, False)  # parses the URL only: no I/O
    except UsageError as exc:
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None
    stats = info["stats"]
    remote_counts = {name: stats.get(f"remote_{name}", 0) for name in ("hits", "misses", "errors", "uploads")}
    info["remote"] = None if remote is None else {"url": remote.display, "read_only": settings.remote_read_only,
                                                  **remote_counts}
    if as_json:
        typer.echo(json_text({"schema_version": SCHEMA_VERSION, "resumec": __version__, **info}))
        return
    kinds = sorted({name[: -len("_hits")] for name in stats if name.endswith("_hits") and name != "remote_hits"}
                   | {"docx", "pdf"})
    hits = sum(stats.get(f"{kind}_hits", 0) for kind in kinds)
    misses = sum(stats.get(f"{kind}_misses", 0) for kind in kinds)
    rate = f"{100 * hits / (hits + misses):.1f} %" if hits + misses else "-"
    rows = [
        ("Cache directory", info["location"]),
        ("Entries", str(info["entries"])),
        ("Blobs", str(info["blobs"])),
        ("Size", f"{format_size(info['size'])} / {format_size(info['max_size'])}"),
        ("Hits", f"{hits} (" + ", ".join(f"{kind} {stats.get(kind + '_hits', 0)}" for kind in kinds) + ")"),
        ("Misses", f"{misses} (" + ", ".join(f"{kind} {stats.get(kind + '_misses', 0)}" for kind in kinds) + ")"),
        ("Hit rate", rate),
        ("Evictions", str(stats.get("evictions", 0))),
    ]
    if info["remote"] is not None or any(remote_counts.values()):
        shown = info["remote"]["url"] + (" (read-only)" if info["remote"]["read_only"] else "") if info["remote"] else "-"
        rows += [
            ("Remote cache", shown),
            ("Remote", ", ".join(f"{name} {count}" for name, count in remote_counts.items())),
        ]
    for label, value in rows:
        typer.echo(f"{label + ':':<17}{value}")


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDir = None) -> None:
    """Remove every cache entry and reset the statistics."""
    cache = _cache(cache_dir)
    removed = cache.clear()
    typer.echo(f"Removed {removed} files from {cache.root}")


@cache_app.command("prune")
def cache_prune(
    cache_dir: CacheDir = None,
    max_size: Annotated[Optional[str], typer.Option("--max-size", metavar="SIZE", show_default=False, help="Size to prune down to, e.g. 200M (default: the configured limit).")] = None,
) -> None:
    """Evict least-recently-used entries until the cache fits its size limit."""
    from resumec.cache import format_size, parse_size

    try:
        limit = parse_size(max_size) if max_size is not None else None
    except ValueError as exc:
        typer.echo(f"--max-size: {exc}", err=True)
        raise typer.Exit(2) from None
    cache = _cache(cache_dir)
    outcome = cache.prune(limit)
    typer.echo(
        f"Evicted {outcome['evicted_entries']} entries and {outcome['evicted_blobs']} blobs "
        f"({format_size(outcome['freed'])}); cache is now {format_size(outcome['size'])}"
    )
