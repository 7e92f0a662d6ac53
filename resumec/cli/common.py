"""Option handling shared by the Typer commands and the cache-hit fast path.

Nothing here imports Typer: the fast path must not pay for it.
"""

from __future__ import annotations

import os
from pathlib import Path

from resumec.errors import UsageError

FORMAT_CHOICES = ("docx", "pdf", "png")
PAPERS = ("a4", "letter")
LANGS = ("en", "de", "fr", "es", "pt", "it", "nl")


def expand_inputs(inputs: list[str]) -> list[str]:
    """Directories stand for the *.json files directly inside them."""
    expanded: list[str] = []
    for item in inputs:
        if item != "-" and os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).glob("*.json"))
            if not found:
                raise UsageError(f"{item}: no .json files in this directory")
            expanded.extend(found)
        else:
            expanded.append(item)
    if expanded.count("-") > 1:
        raise UsageError("standard input (-) can be read only once")
    return expanded


def parse_formats(value: str) -> tuple[str, ...]:
    if value == "all":
        return ("docx", "pdf")
    parts = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    if not parts:
        raise UsageError("--format: expected pdf, docx or all")
    for part in parts:
        if part not in FORMAT_CHOICES:
            raise UsageError(f"--format: unknown format {part!r} (expected pdf, docx, png or all)")
    return parts


def build_options(
    *,
    output: Path | None,
    format: str,
    theme: str,
    sections: str | None,
    paper: str | None,
    lang: str | None,
    no_cache: bool,
    cache_dir: Path | None,
    timeout: float,
    pdfa: bool = False,
):
    """The pipeline Options for a compile command line (both parsers end here)."""
    from resumec.cache import parse_size
    from resumec.pipeline import Options

    if paper is not None and paper.lower() not in PAPERS:
        raise UsageError(f"--paper: unknown paper size {paper!r} (expected a4 or letter)")
    if lang is not None and lang.lower() not in LANGS:
        raise UsageError(f"--lang: unsupported language {lang!r} (expected one of: {', '.join(LANGS)})")
    max_size = None
    if os.environ.get("RESUMEC_CACHE_MAX_SIZE"):
        try:
            max_size = parse_size(os.environ["RESUMEC_CACHE_MAX_SIZE"])
        except ValueError as exc:
            raise UsageError(f"RESUMEC_CACHE_MAX_SIZE: {exc}") from None
    return Options(
        theme=theme,
        sections=sections,
        formats=parse_formats(format),
        output=output,
        paper=paper.lower() if paper else None,
        lang=lang.lower() if lang else None,
        pdfa=pdfa,
        use_cache=not no_cache,
        cache_dir=cache_dir,
        cache_max_size=max_size,
        timeout=timeout,
    )
