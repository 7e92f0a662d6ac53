"""Stage 4, building the DOCX: imported lazily, only on a cache miss.

    build_docx(data, theme, sections, *, base_dir=None, epoch=315532800,
               lang=None, paper=None) -> bytes
"""

from __future__ import annotations

from resumec.docx.document import build_docx

__all__ = ["build_docx"]
