"""Stage 4, building the DOCX: imported lazily, only on a cache miss.

    build_docx(data, theme, sections, *, base_dir=None, epoch=315532800,
               lang=None, paper=None, builder=None) -> bytes

`Builder` (resumec.docx.builder, light to import) keeps compiled templates
and styled bases between builds; `build_docx` without one makes its own.
Both are looked up on first use, so the pure-text helpers beside them
(`resumec.docx.text`, `resumec.docx.inline`), which the HTML, Markdown and
text renderers share, can be imported without python-docx or Jinja2.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Builder", "build_docx"]


def __getattr__(name: str) -> Any:
    if name == "build_docx":
        from resumec.docx.document import build_docx

        return build_docx
    if name == "Builder":
        from resumec.docx.builder import Builder

        return Builder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
