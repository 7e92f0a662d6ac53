"""Cache keys: a hash of everything that changes the output bytes, and nothing else.

Two stages, two keys (plus one per text format). The DOCX key covers the résumé's parsed content (so
re-indenting or reordering keys still hits), the section order and titles, the
theme's files, the output-affecting options and resumec's version. The PDF key
covers the DOCX bytes' hash, the converter's identity and the PDF options, so an
edit that yields the same DOCX still reuses the PDF. HTML, Markdown and text
are rendered from the résumé directly, each under its own key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# Bump when the cache layout or key recipe changes meaning.
KEY_SCHEMA = 3  # 2: bidi isolation, emoji fonts, budgets changed what the builder writes; 3: only used styles


def _digest(parts: Mapping[str, Any]) -> str:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def canonical_content(data: Any) -> str:
    """Formatting-independent text of the parsed résumé."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def docx_key(
    data: Any,
    sections: list[tuple[str, str]],
    theme_fingerprint: str,
    options: Mapping[str, Any],
    version: str,
    epoch: int,
    assets: Mapping[str, str] | None = None,
) -> str:
    """Key of the DOCX stage. `assets` maps referenced local files (photo) to their hashes."""
    content = hashlib.sha256(canonical_content(data).encode("utf-8", "surrogatepass")).hexdigest()
    return _digest(
        {
            "stage": "docx",
            "schema": KEY_SCHEMA,
            "content": content,
            "sections": sections,
            "theme": theme_fingerprint,
            "options": dict(options),
            "version": version,
            "epoch": epoch,
            "assets": dict(assets or {}),
        }
    )


def pdf_key(docx_sha256: str, converter: str, options: Mapping[str, Any], version: str, epoch: int) -> str:
    """Key of the PDF stage: the DOCX bytes decide, not how they were produced."""
    return _digest(
        {
            "stage": "pdf",
            "schema": KEY_SCHEMA,
            "docx": docx_sha256,
            "converter": converter,
            "options": dict(options),
            "version": version,
            "epoch": epoch,
        }
    )


def png_key(pdf_sha256: str, dpi: int, version: str) -> str:
    """Key of the PNG pages: the PDF bytes and the resolution decide."""
    return _digest({"stage": "png", "schema": KEY_SCHEMA, "pdf": pdf_sha256, "dpi": dpi, "version": version})


def content_digest(data: Any) -> str:
    """sha256 of the parsed résumé's canonical text."""
    return hashlib.sha256(canonical_content(data).encode("utf-8", "surrogatepass")).hexdigest()


def text_key(
    fmt: str,
    content: str,
    sections: list[tuple[str, str]],
    theme_fingerprint: str,
    options: Mapping[str, Any],
    version: str,
    assets: Mapping[str, str] | None = None,
) -> str:
    """Key of an HTML, Markdown or text output: what it is rendered from, and nothing else.

    No timestamp: these outputs hold no date, so SOURCE_DATE_EPOCH cannot change them.
    `content` is `content_digest(data)`; `options` and `assets` are only those the format reads
    (paper and the photo for HTML).
    """
    return _digest(
        {
            "stage": fmt,
            "schema": KEY_SCHEMA,
            "content": content,
            "sections": sections,
            "theme": theme_fingerprint,
            "options": dict(options),
            "version": version,
            "assets": dict(assets or {}),
        }
    )
