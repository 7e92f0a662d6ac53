"""HTML, Markdown and plain text, rendered in Python from the résumé's model and the theme's data.

    render(fmt, data, theme, order, *, lang=None, paper=None, base_dir=None) -> bytes

The same model as the DOCX (resumec.entries) in the same words (titles,
labels and dates after --lang); the HTML takes its look from theme.toml. No
python-docx, no Jinja2 and no LibreOffice on this path: a theme stays data,
and docs/themes.md says why these formats have no templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from resumec.theme import Theme

__all__ = ["TEXT_FORMATS", "render"]

TEXT_FORMATS = ("html", "md", "txt")


def render(fmt: str, data: Mapping[str, Any], theme: Theme, order: Sequence[tuple[str, str]], *,
           lang: str | None = None, paper: str | None = None, base_dir: Path | None = None) -> bytes:
    """One format's bytes (UTF-8). `base_dir` is the résumé's folder, for the photo (None: stdin's rules)."""
    from resumec.formats.view import build_view

    view = build_view(data, theme, order, lang)
    if fmt == "html":
        from resumec.formats.html import photo_for, render_html

        photo = photo_for(data, base_dir) if isinstance(view.config.get("photo"), dict) else None
        return render_html(view, paper=paper, photo=photo)
    if fmt == "md":
        from resumec.formats.markdown import render_markdown

        return render_markdown(view)
    if fmt == "txt":
        from resumec.formats.plain import render_text

        return render_text(view)
    raise ValueError(f"not a text format: {fmt!r}")
