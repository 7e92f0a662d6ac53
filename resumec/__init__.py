"""resumec: compile a JSON Resume into DOCX and PDF.

Kept tiny on purpose: the cache-hit path imports this package, so nothing
heavy (python-docx, Jinja2) may be imported at module level anywhere on it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "compile"]


def __getattr__(name: str):
    # Lazy so `import resumec` stays cheap for the CLI's fast path.
    if name == "compile":
        from resumec.pipeline import compile

        return compile
    raise AttributeError(name)
