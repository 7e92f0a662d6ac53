"""compile(): load → validate → key → build DOCX → convert PDF → store and write.

This is the library API; the CLI is a thin shell over it. Heavy modules
(python-docx, Jinja2, the converters) are imported only on a cache miss, so a
hit costs a hash, a lookup and a copy.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resumec import __version__
from resumec.errors import ConvertError, LibreOfficeMissing, ResumecError, UsageError

FORMATS = ("docx", "pdf", "png")
STAGES = ("validate", "docx", "pdf", "write")


@dataclass(frozen=True)
class Options:
    """Everything a build can vary. Defaults match `resumec compile FILE`."""

    theme: str = "classic"
    sections: str | None = None
    formats: tuple[str, ...] = ("docx", "pdf")
    output: Path | None = None
    paper: str | None = None
    lang: str | None = None
    pdfa: bool = False
    use_cache: bool = True
    cache_dir: Path | None = None
    cache_max_size: int | None = None
    timeout: float = 120.0


@dataclass
class Output:
    format: str
    path: Path
    cached: bool
    changed: bool
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": str(self.path),
            "cached": self.cached,
            "changed": self.changed,
            "bytes": self.size,
            "sha256": self.sha256,
        }


@dataclass
class Result:
    input: str
    outputs: list[Output] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: ResumecError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "outputs": [o.to_json() for o in self.outputs],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "warnings": self.warnings,
            "error": None
            if self.error is None
            else {"type": type(self.error).__name__, "message": self.error.message, "details": self.error.details},
        }


Progress = Callable[[str], None]


class NotCached(Exception):
    """Raised by compile(only_cached=True) before any work when an output is not in the cache."""


def _noop(_: str) -> None:
    return None


@dataclass
class _Run:
    """Per-call state: timings and warnings, so nothing lives in module globals."""

    result: Result
    progress: Progress
    warn: Callable[[str], None]
    last: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.result.timings[name] = self.result.timings.get(name, 0.0) + (now - self.last)
        self.last = now


def compile(
    input: str | Path,
    options: Options = Options(),
    *,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    converter: Any = None,
    stdin: Any = None,
    many: bool = False,
    only_cached: bool = False,
) -> Result:
    """Build the outputs for one résumé and write them.

    Raises a ResumecError subclass (its `exit_code` is the CLI's status) with
    the partial Result attached as `.result`. `progress` is called with each
    stage name as it starts; `converter` lets a caller reuse a warm converter.
    `only_cached` serves complete cache hits and raises NotCached otherwise,
    before building or writing anything.
    """
    result = Result(input=str(input))
    warnings = result.warnings

    def _warn(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    run = _Run(result, progress or _noop, _warn)
    try:
        _compile(str(input), options, run, converter, stdin, many, only_cached)
    except ResumecError as exc:
        result.error = exc
        exc.result = result  # type: ignore[attr-defined]
        raise
    return result


def _compile(
    spec: str, options: Options, run: _Run, converter: Any, stdin: Any, many: bool, only_cached: bool
) -> None:
    from resumec import load, output, sections, theme, validate
    from resumec.cache import Cache, default_dir, DEFAULT_MAX_SIZE
    from resumec.convert import source_epoch

    for fmt in options.formats:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)}, all)")

    run.progress("validate")
    source = load.load(spec, stdin=stdin)
    paths = output.plan(source.name, source.path, options.output, options.formats, many=many)
    run.lap("load")
    validate.check(source)
    chosen = theme.load_theme(options.theme)
    lang = options.lang or _meta_language(source.data)
    order = sections.resolve(
        options.sections, source.data, chosen.sections, theme.titles_for(chosen, lang), source.name, source.locate
    )
    run.lap("validate")

    epoch = source_epoch()
    docx_options = {"paper": options.paper, "lang": lang}
    assets = _assets(source)
    dkey = _key_docx(source.data, order, chosen.fingerprint, docx_options, epoch, assets)
    cache = None
    if options.use_cache:
        cache = Cache(
            options.cache_dir or default_dir(),
            max_size=options.cache_max_size or DEFAULT_MAX_SIZE,
            warn=run.warn,
        )
    elif only_cached:
        raise NotCached(spec)
    run.lap("key")

    produced: dict[str, tuple[bytes, bool]] = {}
    counts = {"docx_hits": 0, "docx_misses": 0, "pdf_hits": 0, "pdf_misses": 0}

    # DOCX: needed as an output, or as the converter's input on a PDF miss.
    docx_digest = cache.lookup(dkey) if cache else None
    docx_bytes: bytes | None = None
    docx_cached = False
    if docx_digest is not None and "docx" in options.formats:
        docx_bytes = cache.get_blob(docx_digest)  # type: ignore[union-attr]
        docx_cached = docx_bytes is not None
        if docx_bytes is None:
            docx_digest = None

    def build() -> tuple[bytes, str]:
        if only_cached:
            raise NotCached(spec)
        run.progress("docx")
        from resumec.docx import build_docx

        base = source.path.parent if source.path is not None else None  # None: stdin's rules (assets.py)
        data = build_docx(
            source.data, chosen, order, base_dir=base, epoch=epoch, lang=lang, paper=options.paper
        )
        digest = cache.put(dkey, data, "docx") if cache else hashlib.sha256(data).hexdigest()
        return data, digest

    if docx_digest is None:
        docx_bytes, docx_digest = build()
        counts["docx_misses"] += 1
    else:
        counts["docx_hits"] += 1
    if "docx" in options.formats:
        produced["docx"] = (docx_bytes, docx_cached)  # type: ignore[assignment]
    run.lap("docx")

    def get_docx() -> bytes:
        return docx_bytes or (cache.get_blob(docx_digest) if cache else None) or build()[0]

    convert_error: ConvertError | None = None
    pages: list[tuple[bytes, bool]] = []
    if "pdf" in options.formats or "png" in options.formats:
        try:
            pdf_bytes, pdf_cached = _pdf(
                options, run, cache, converter, docx_digest, get_docx, epoch, counts, only_cached
            )
            if "pdf" in options.formats:
                produced["pdf"] = (pdf_bytes, pdf_cached)
            if "png" in options.formats:
                pages = _png(pdf_bytes, cache, run, options, only_cached)
        except ConvertError as exc:
            # LibreOffice missing: the DOCX is still worth having. Any other
            # conversion failure leaves every previous output untouched.
            if not isinstance(exc, LibreOfficeMissing) or "docx" not in produced:
                raise
            convert_error = exc
        run.lap("pdf")

    run.progress("write")
    files = [(fmt, paths[fmt], data, cached) for fmt, (data, cached) in produced.items()]
    if pages:
        from resumec.png import page_paths

        files += [("png", path, data, cached) for path, (data, cached) in zip(page_paths(paths["png"], len(pages)), pages)]
    written = output.write_all({path: data for _, path, data, _ in files})
    if pages:
        from resumec.png import stale_pages

        output.remove(stale_pages(paths["png"], len(pages)))
    for (fmt, _, data, cached), w in zip(files, written):
        run.result.outputs.append(
            Output(fmt, w.path, cached, w.changed, len(data), hashlib.sha256(data).hexdigest())
        )
    if cache:
        cache.record(**counts)
        cache.maybe_evict()
    run.lap("write")
    if convert_error is not None:
        raise convert_error


def _png(pdf: bytes, cache, run: _Run, options: Options, only_cached: bool) -> list[tuple[bytes, bool]]:
    """Pages as PNG, cached as one index blob (page digests) plus a blob per page."""
    import json

    from resumec.png import DPI, render_pages

    key = hashlib.sha256(f"png:{DPI}:{__version__}:".encode() + hashlib.sha256(pdf).digest()).hexdigest()
    if cache:
        hit = cache.get(key)
        if hit is not None:
            try:
                digests = json.loads(hit[1])
                blobs = [cache.get_blob(d) for d in digests]
                if blobs and all(b is not None for b in blobs):
                    return [(b, True) for b in blobs]  # type: ignore[misc]
            except (ValueError, TypeError):
                pass
    if only_cached:
        raise NotCached(key)
    run.progress("pdf")
    rendered = render_pages(pdf, timeout=options.timeout)
    if cache:
        digests = [cache.put_blob(page) for page in rendered]
        cache.put(key, json.dumps(digests).encode(), "png-index")
    return [(page, False) for page in rendered]


def _meta_language(data: Any) -> str | None:
    meta = data.get("meta") if isinstance(data, dict) else None
    value = meta.get("language") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def _key_docx(data: Any, order: list[tuple[str, str]], fingerprint: str, opts: dict, epoch: int, assets: dict) -> str:
    from resumec.key import docx_key

    return docx_key(data, order, fingerprint, opts, __version__, epoch, assets)


def _assets(source) -> dict[str, str]:
    """Hashes of the local files the résumé embeds (the photo), for the cache key.

    Problems with the photo are reported here, located like schema errors.
    """
    from resumec.assets import PHOTO_FIELD, load_photo
    from resumec.errors import InputError

    base = source.path.parent if source.path is not None else None  # None: stdin's rules (assets.py)
    try:
        photo = load_photo(source.data, base)
        return {PHOTO_FIELD: photo.digest} if photo else {}
    except InputError as exc:
        line, col = source.locate(("basics", "image"))
        raise InputError(f"{source.name}:{line}:{col}: {exc.message}") from None
    except OSError as exc:
        line, col = source.locate(("basics", "image"))
        raise InputError(f"{source.name}:{line}:{col}: {PHOTO_FIELD}: cannot be read: {exc.strerror or exc}") from None


def _pdf(options, run, cache, converter, docx_digest, get_docx, epoch, counts, only_cached) -> tuple[bytes, bool]:
    from resumec.convert import converter_identity, find_soffice, pin_pdf
    from resumec.key import pdf_key

    if converter is not None:
        identity = converter.identity
    else:
        soffice = find_soffice()
        identity = converter_identity(soffice)
    pkey = pdf_key(docx_digest, identity, {"pdfa": options.pdfa}, __version__, epoch)
    hit = cache.get(pkey) if cache else None
    if hit is not None:
        counts["pdf_hits"] += 1
        return hit[1], True
    if only_cached:
        raise NotCached(docx_digest)
    counts["pdf_misses"] += 1
    docx = get_docx()
    run.progress("pdf")
    if converter is None:
        from resumec.convert import OneShot

        converter = OneShot(soffice=soffice, identity=identity)
    pdf = pin_pdf(converter.convert(docx, timeout=options.timeout, pdfa=options.pdfa), epoch)
    if cache:
        cache.put(pkey, pdf, "pdf")
    return pdf, False
