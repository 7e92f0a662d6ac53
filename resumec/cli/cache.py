"""`resumec cache info | clear | prune`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from resumec.cli.app import app

cache_app = typer.Typer(help="Inspect and manage the build cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _cache(cache_dir: Optional[Path]):
    from resumec.cache import DEFAULT_MAX_SIZE, Cache, default_dir, parse_size

    limit = DEFAULT_MAX_SIZE
    if os.environ.get("RESUMEC_CACHE_MAX_SIZE"):
        try:
            limit = parse_size(os.environ["RESUMEC_CACHE_MAX_SIZE"])
        except ValueError as exc:
            typer.echo(f"RESUMEC_CACHE_MAX_SIZE: {exc}", err=True)
            raise typer.Exit(2) from None
    return Cache(cache_dir or default_dir(), max_size=limit)


CacheDir = Annotated[Optional[Path], typer.Option("--cache-dir", envvar="RESUMEC_CACHE_DIR", help="Cache location.")]


@cache_app.command("info")
def cache_info(
    cache_dir: CacheDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the cache location, entries, size and hit/miss counts."""
    import json

    from resumec.cache import format_size

    info = _cache(cache_dir).info()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    stats = info["stats"]
    hits = stats.get("docx_hits", 0) + stats.get("pdf_hits", 0)
    misses = stats.get("docx_misses", 0) + stats.get("pdf_misses", 0)
    rate = f"{100 * hits / (hits + misses):.1f} %" if hits + misses else "-"
    rows = [
        ("Cache directory", info["location"]),
        ("Entries", str(info["entries"])),
        ("Blobs", str(info["blobs"])),
        ("Size", f"{format_size(info['size'])} / {format_size(info['max_size'])}"),
        ("Hits", f"{hits} (docx {stats.get('docx_hits', 0)}, pdf {stats.get('pdf_hits', 0)})"),
        ("Misses", f"{misses} (docx {stats.get('docx_misses', 0)}, pdf {stats.get('pdf_misses', 0)})"),
        ("Hit rate", rate),
        ("Evictions", str(stats.get("evictions", 0))),
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
    max_size: Annotated[Optional[str], typer.Option("--max-size", help="Size to prune down to, e.g. 200M (default: the configured limit).")] = None,
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
