"""Option declarations shared by `compile` and `watch`, so the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Output = Annotated[Optional[Path], typer.Option("-o", "--output", help="Output directory, or FILE.pdf / FILE.docx (the other formats share its stem).")]
Format = Annotated[str, typer.Option("--format", "-f", help="pdf, docx, png (one image per page) or all (= docx,pdf); a comma-separated list is allowed.")]
Theme = Annotated[str, typer.Option("--theme", "-t", help="Built-in theme name or path to a theme folder.")]
Sections = Annotated[Optional[str], typer.Option("--sections", "-s", help="Sections in order, e.g. work,projects,education=Studies,skills.")]
Paper = Annotated[Optional[str], typer.Option("--paper", help="a4 or letter (default: the theme's).")]
Lang = Annotated[Optional[str], typer.Option("--lang", help="Language for dates and titles: en de fr es pt it nl (default: meta.language, else en).")]
Pdfa = Annotated[bool, typer.Option("--pdfa", help="Write PDF/A-2b (archival) instead of plain PDF.")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the build cache.")]
CacheDir = Annotated[Optional[Path], typer.Option("--cache-dir", envvar="RESUMEC_CACHE_DIR", help="Cache location.", show_envvar=True)]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds before a LibreOffice conversion is abandoned (then retried once).", min=1)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
