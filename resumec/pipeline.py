"""compile(): load → validate → key → build DOCX → convert PDF → store and write.

This is the library API and the one front door: both command-line parsers,
batches, watch mode and the converter service's clients end here, each
having parsed its options once. `compile` always returns a Result (an error is
a field, never an exception) listing every file it read, so watch mode knows
what to watch. Each output is looked up in the cache before anything is built;
python-docx, Jinja2 and the converters are imported only on a miss, so a hit
costs a hash, a lookup and a copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from resumec import __version__
from resumec.errors import InputError, LibreOfficeMissing, ResumecError, UsageError
from resumec.options import CONVERTED, FORMATS, Options
from resumec.settings import Settings

if TYPE_CHECKING:  # the cache-hit path must not pay for these imports
    from resumec.cache import Cache
    from resumec.convert import Converter
    from resumec.docx.builder import Builder
    from resumec.remote import Remote, TieredCache
    from resumec.load import Source
    from resumec.theme import Theme

__all__ = ["Options", "Output", "Result", "check", "compile", "stages"]

Progress = Callable[[str], None]


@dataclass
class Output:
    format: str
    path: Path  # Path("-") for standard output
    cached: str | bool  # "local", "remote" (the shared cache tier) or False: built now
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
    """What one compile did: its outputs, or the error that stopped it, and every file it read."""

    input: str
    outputs: list[Output] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: ResumecError | None = None
    # Files the build read: the résumé, the photo, and theme folders (a folder stands for everything in it).
    inputs: list[Path] = field(default_factory=list)

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
            "error": None if self.error is None else error_json(self.error),
        }


def error_json(error: ResumecError) -> dict[str, Any]:
    """An error in --json: its type, exit code, message, printed lines and structured problems."""
    return error.to_json()


def stages(options: Options) -> tuple[str, ...]:
    """The stages a compile with these options goes through, for progress bars.

    HTML, Markdown and text take milliseconds, so they have no stage of their own.
    """
    converts = "pdf" in options.formats or "png" in options.formats
    builds = converts or "docx" in options.formats
    return ("validate",) + (("docx",) if builds else ()) + (("pdf",) if converts else ()) + (
        ("png",) if "png" in options.formats else ()) + ("write",)


# -- one compile ----------------------------------------------------------------------------


@dataclass
class _Run:
    """Per-call state: timings, warnings and progress, so nothing lives in module globals."""

    result: Result
    settings: Settings
    progress: Progress
    warn: Callable[[str], None]
    last: float = field(default_factory=time.perf_counter)
    counts: dict[str, int] = field(default_factory=dict)
    builder: Builder | None = None  # the caller's, kept between compiles (watch, batch workers)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.result.timings[name] = self.result.timings.get(name, 0.0) + (now - self.last)
        self.last = now

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1


@dataclass
class _Job:
    """What prepare() learned about one input: enough to look its outputs up, or build them."""

    source: Source
    theme: Theme
    lang: str | None
    order: list[tuple[str, str]]
    epoch: int
    docx_key: str
    paths: dict[str, Path]  # empty for standard output
    assets: dict[str, str]  # local files the résumé embeds (the photo) -> their sha256


def compile(
    input: str | Path,
    options: Options = Options(),
    *,
    settings: Settings | None = None,
    converter: Converter | None = None,
    remote: Remote | None = None,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    stdin: IO[Any] | None = None,
    many: bool = False,
    builder: Builder | None = None,
) -> Result:
    """Build the outputs of one résumé and write them; never raises a ResumecError.

    `converter` lets a caller reuse a warm one (watch, batch); without one, a
    PDF miss opens the engine `convert.pool` chooses and closes it after.
    Likewise `remote` is the run's shared cache tier (one per run, so an
    outage costs one timeout); without one, `options.remote_cache` opens it.
    `progress` is called with each stage name as it starts; `many` says this
    input is one of a batch (then `-o` is always a directory). `builder`
    (resumec.docx.builder) keeps compiled templates and styled bases for the
    caller's next compiles; without one, a DOCX miss makes its own.
    """
    result = Result(input=str(input))

    def _warn(message: str) -> None:
        result.warnings.append(message)
        if warn is not None:
            warn(message)

    run = _Run(result, settings or Settings.from_env(), progress or (lambda _: None), _warn, builder=builder)
    try:
        _compile(str(input), options, run, converter, remote, stdin, many)
    except ResumecError as exc:
        result.error = exc
    return result


def _compile(spec: str, options: Options, run: _Run, converter: Converter | None, remote: Remote | None,
             stdin: IO[Any] | None, many: bool) -> None:
    run.progress("validate")
    job = _prepare(spec, options, run, stdin, many)
    store = _open_store(options, run, remote)
    run.lap("key")
    produced: dict[str, tuple[bytes, bool]] = {}
    pages: list[tuple[bytes, bool]] = []
    missing: LibreOfficeMissing | None = None
    try:
        _produce_text(job, options, run, store, produced)
        _produce(job, options, run, store, converter, produced, pages)
    except LibreOfficeMissing as exc:
        # The DOCX (and HTML, Markdown, text) are still worth having; any other conversion failure
        # leaves every output untouched.
        if not produced:
            raise
        missing = exc
    run.progress("write")
    # Reported in a fixed order: DOCX and PDF first, as always, then the text formats as asked, then PNG pages.
    produced = dict(sorted(produced.items(), key=lambda item: item[0] not in ("docx", "pdf")))
    _write(job, run, store, produced, pages)
    if store is not None:
        store.record(**run.counts)
        store.maybe_evict()
    run.lap("write")
    if missing is not None:
        raise missing


def check(source: Source, settings: Settings | None = None) -> None:
    """Every check of a résumé that needs no theme: the schema, `meta.sections`, the photo.

    `resumec validate` runs exactly this, so what validates also compiles.
    """
    from resumec import sections, validate

    validate.check(source)
    sections.from_meta(source.data, source.name, source.locate)
    _photo_digest(source)


def _prepare(spec: str, options: Options, run: _Run, stdin: IO[Any] | None, many: bool) -> _Job:
    from resumec import load, output, sections, theme
    from resumec.key import docx_key

    for fmt in options.formats:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}")
    to_stdout = options.output == output.STDOUT
    if to_stdout and (many or len(options.formats) != 1 or options.formats[0] == "png"):
        raise UsageError("-o - (standard output) takes one input and one format (not png): add -f pdf, -f docx, "
                         "-f html, -f md or -f txt")
    if spec != "-":
        run.result.inputs.append(Path(spec))  # an input even when it does not parse: watch must see it fixed
    source = load.load(spec, stdin=stdin)
    paths = {} if to_stdout else output.plan(source.name, source.path, options.output, options.formats, many=many)
    run.lap("load")
    check(source)
    photo = _photo_digest(source)
    if photo:
        run.result.inputs.append(photo[0])
    theme_folder = Path(options.theme).expanduser()
    try:
        chosen = theme.load_theme(options.theme, run.builder.themes if run.builder else None)
    except InputError:
        if theme_folder.is_dir():
            run.result.inputs.append(theme_folder)  # fixing the theme must trigger a rebuild
        raise
    run.result.inputs += [*chosen.search_path, theme.SHARED_LOCALES_DIR]
    lang = options.lang or _meta_language(source.data)
    order = sections.resolve(
        options.sections, source.data, chosen.sections, theme.titles_for(chosen, lang), source.name, source.locate
    )
    run.lap("validate")
    epoch = run.settings.epoch
    assets = {"basics.image": photo[1]} if photo else {}
    key = docx_key(source.data, order, chosen.fingerprint, {"paper": options.paper, "lang": lang}, __version__,
                   epoch, assets)
    return _Job(source, chosen, lang, order, epoch, key, paths, assets)


def _open_store(options: Options, run: _Run, remote: Remote | None) -> Cache | TieredCache | None:
    """The local cache, with the shared remote tier in front when there is one (`--no-cache`: neither)."""
    root = options.cache_root(run.settings)
    if root is None:
        return None
    from resumec.cache import Cache

    local = Cache(root, max_size=run.settings.cache_max_size, warn=run.warn)
    if remote is None:
        remote = run.settings.open_remote(options.remote_cache, options.remote_read_only)
    if remote is None:
        return local
    from resumec.remote import TieredCache

    return TieredCache(local, remote, run.warn)


def _produce(job: _Job, options: Options, run: _Run, store: Cache | None, converter: Converter | None,
             produced: dict[str, tuple[bytes, bool]], pages: list[tuple[bytes, bool]]) -> None:
    """Each output from the cache, or built: DOCX, then PDF from it, then PNG pages from that."""
    if "docx" not in options.formats and not any(fmt in options.formats for fmt in CONVERTED):
        return
    docx_bytes: bytes | None = None
    docx_digest = store.lookup(job.docx_key, "docx") if store else None
    docx_cached = False
    if docx_digest is not None and "docx" in options.formats:
        docx_bytes = store.get_blob(docx_digest)  # type: ignore[union-attr]
        docx_cached = docx_bytes is not None
        if docx_bytes is None:
            docx_digest = None
    converts = "pdf" in options.formats or "png" in options.formats
    served_pdf: bytes | None = None  # made along with a DOCX built by the converter service
    with contextlib.ExitStack() as owned:
        if docx_digest is None:
            if converts and converter is None:
                with contextlib.suppress(LibreOfficeMissing):  # the DOCX is still built; its conversion says so
                    converter = _own_converter(options, run, owned)
            docx_bytes, docx_digest, served_pdf = _make_docx(job, options, run, store,
                                                             converter if converts else None)
            run.count("docx_misses")
        else:
            run.count("docx_hits")
        if "docx" in options.formats:
            produced["docx"] = (docx_bytes, docx_cached)  # type: ignore[assignment]
        run.lap("docx")
        if not converts:
            return

        def get_docx() -> bytes:
            return (docx_bytes or (store.get_blob(docx_digest) if store else None)
                    or _build_docx(job, options, run, store)[0])

        pdf, pdf_cached = _pdf(job, options, run, store, converter, owned, docx_digest, get_docx, served_pdf)
    if "pdf" in options.formats:
        produced["pdf"] = (pdf, pdf_cached)
    run.lap("pdf")
    if "png" in options.formats:
        pages += _png(pdf, options, run, store)
        run.lap("png")


def _own_converter(options: Options, run: _Run, owned: contextlib.ExitStack) -> Converter:
    """This compile's own engine, closed with `owned`. Opening it starts nothing (LibreOffice starts on the
    first document), so on a DOCX miss it is opened before the build: a converter service may build it too."""
    from resumec import convert

    return owned.enter_context(convert.pool(1, run.settings, service=options.use_server, warn=run.warn,
                                            cache_dir=options.cache_root(run.settings))).converters[0]


def _make_docx(job: _Job, options: Options, run: _Run, store: Cache | None,
               converter: Converter | None) -> tuple[bytes, str, bytes | None]:
    """(DOCX, its digest, and the pinned PDF when the converter service built and converted it in one go)."""
    served = _build_served(job, options, run, converter) if converter is not None else None
    if served is None:
        return (*_build_docx(job, options, run, store), None)
    docx, pdf = served
    digest = store.put(job.docx_key, docx, "docx") if store else hashlib.sha256(docx).hexdigest()
    return docx, digest, pdf


def served_job(job: _Job, options: Options) -> bytes:
    """What a converter service needs to build this DOCX itself (build_served), as JSON.

    Paths are absolute (the service has its own working directory); the
    theme's fingerprint lets it refuse a theme that changed since the key.
    """
    import json

    source = job.source
    return json.dumps({
        "data": source.data,
        "theme": str(Path(job.theme.root).absolute()),
        "fingerprint": job.theme.fingerprint,
        "order": job.order,
        "base_dir": str(source.path.parent.absolute()) if source.path is not None else None,
        "epoch": job.epoch,
        "lang": job.lang,
        "paper": options.paper,
    }, ensure_ascii=False, allow_nan=False).encode()


def build_served(payload: bytes, builder: Builder) -> tuple[bytes, int]:
    """The DOCX of a served_job, built by the service with its Builder: the bytes the client would build; and
    the epoch its PDF is pinned to (convert.pin_pdf)."""
    import json

    from resumec import theme
    from resumec.docx import build_docx

    job = json.loads(payload)
    chosen = theme.load_theme(job["theme"], builder.themes)
    if chosen.fingerprint != job["fingerprint"]:
        raise InputError("the theme changed since the client read it")
    base_dir = Path(job["base_dir"]) if job["base_dir"] is not None else None
    docx = build_docx(job["data"], chosen, [tuple(pair) for pair in job["order"]], base_dir=base_dir,
                      epoch=job["epoch"], lang=job["lang"], paper=job["paper"], builder=builder)
    return docx, job["epoch"]


def _build_served(job: _Job, options: Options, run: _Run, converter: Converter) -> tuple[bytes, bytes] | None:
    """(DOCX, pinned PDF) from a converter service that builds as well as converts; None to build here."""
    build = getattr(converter, "build", None)  # only the service's client has one
    if build is None:
        return None
    try:
        payload = served_job(job, options)
    except (TypeError, ValueError):  # not JSON (a YAML date, a NaN): this build stays here
        return None
    run.progress("docx")
    return build(payload, timeout=options.timeout, pdfa=options.pdfa)


def _produce_text(job: _Job, options: Options, run: _Run, store: Cache | TieredCache | None,
                  produced: dict[str, tuple[bytes, bool]]) -> None:
    """HTML, Markdown and text: each from the cache, or rendered from the résumé (no python-docx, no LibreOffice)."""
    from resumec.formats import TEXT_FORMATS

    wanted = [fmt for fmt in options.formats if fmt in TEXT_FORMATS]
    if not wanted:
        return
    from resumec.key import content_digest, text_key

    content = content_digest(job.source.data)
    for fmt in wanted:
        html = fmt == "html"
        key = text_key(fmt, content, job.order, job.theme.fingerprint,
                       {"lang": job.lang, "paper": options.paper} if html else {"lang": job.lang}, __version__,
                       job.assets if html else None)
        hit = store.get(key, fmt) if store else None
        if hit is not None:
            run.count(f"{fmt}_hits")
            produced[fmt] = (hit[1], True)
            continue
        run.count(f"{fmt}_misses")
        from resumec.formats import render

        source = job.source
        base = source.path.parent if source.path is not None else None  # None: stdin's rules (assets.py)
        data = render(fmt, source.data, job.theme, job.order, lang=job.lang, paper=options.paper, base_dir=base)
        if store:
            store.put(key, data, fmt)
        produced[fmt] = (data, False)
    run.lap("text")


def _build_docx(job: _Job, options: Options, run: _Run, store: Cache | None) -> tuple[bytes, str]:
    run.progress("docx")
    from resumec.docx import build_docx
    from resumec.docx.builder import Builder

    source = job.source
    base = source.path.parent if source.path is not None else None  # None: stdin's rules (assets.py)
    builder = run.builder or Builder(options.cache_root(run.settings))
    data = build_docx(source.data, job.theme, job.order, base_dir=base, epoch=job.epoch, lang=job.lang,
                      paper=options.paper, builder=builder)
    digest = store.put(job.docx_key, data, "docx") if store else hashlib.sha256(data).hexdigest()
    return data, digest


def _pdf(job: _Job, options: Options, run: _Run, store: Cache | None, converter: Converter | None,
         owned: contextlib.ExitStack, docx_digest: str, get_docx: Callable[[], bytes],
         served: bytes | None = None) -> tuple[bytes, bool]:
    """The PDF from the cache, else converted (`served`: made with the DOCX by the converter service, pinned)."""
    from resumec import convert
    from resumec.key import pdf_key

    ident = converter.identity if converter is not None else convert.identity(run.settings)
    pkey = pdf_key(docx_digest, ident, {"pdfa": options.pdfa}, __version__, job.epoch)
    hit = store.get(pkey, "pdf") if store else None
    if hit is not None:
        run.count("pdf_hits")
        return hit[1], True
    run.count("pdf_misses")
    if served is not None:
        pdf = served
    else:
        docx = get_docx()
        run.progress("pdf")
        if converter is None:
            converter = _own_converter(options, run, owned)  # LibreOfficeMissing: the DOCX is still written
        raw = converter.convert(docx, timeout=options.timeout, pdfa=options.pdfa)
        pdf = convert.pin_pdf(raw, job.epoch)
    if store:
        store.put(pkey, pdf, "pdf")
    return pdf, False


def _png(pdf: bytes, options: Options, run: _Run, store: Cache | None) -> list[tuple[bytes, bool]]:
    """Pages as PNG, cached as one index blob (page digests) plus a blob per page."""
    import json

    from resumec.key import png_key
    from resumec.png import DPI, render_pages

    key = png_key(hashlib.sha256(pdf).hexdigest(), DPI, __version__)
    if store:
        hit = store.get(key, "png-index")
        if hit is not None:
            blobs = _pages_from_index(store, hit[1])
            if blobs:
                return [(b, True) for b in blobs]
    run.progress("png")
    rendered = render_pages(pdf, timeout=options.timeout)
    if store:
        digests = [store.put_blob(page) for page in rendered]
        store.put(key, json.dumps(digests).encode(), "png-index")
    return [(page, False) for page in rendered]


def page_images(pdf: bytes, options: Options, settings: Settings, *, remote: Remote | None = None,
                progress: Progress | None = None) -> list[bytes]:
    """The PDF's pages as PNG images, through the cache like `-f png`, without writing them anywhere (previews)."""
    run = _Run(Result("<pages>"), settings, progress or (lambda _: None), lambda _: None)
    store = _open_store(options, run, remote)
    pages = [page for page, _ in _png(pdf, options, run, store)]
    if store is not None:
        store.record(**run.counts)
    return pages


def _pages_from_index(store: Cache, index: bytes) -> list[bytes] | None:
    import json

    try:
        digests = json.loads(index)
        blobs = [store.get_blob(d) for d in digests if isinstance(d, str)]
    except (ValueError, TypeError):
        return None
    if blobs and len(blobs) == len(digests) and all(b is not None for b in blobs):
        return blobs  # type: ignore[return-value]
    return None


def _write(job: _Job, run: _Run, store: Cache | TieredCache | None, produced: dict[str, tuple[bytes, bool]],
           pages: list[tuple[bytes, bool]]) -> None:
    from resumec import output

    def origin(cached: bool, digest: str) -> str | bool:
        return store.origin(digest) if cached and store is not None else False

    if not job.paths:  # -o -: one format, to standard output
        for fmt, (data, cached) in produced.items():
            output.write_stdout(data)
            digest = hashlib.sha256(data).hexdigest()
            run.result.outputs.append(Output(fmt, Path(output.STDOUT), origin(cached, digest), True, len(data), digest))
        return
    files = [(fmt, job.paths[fmt], data, cached) for fmt, (data, cached) in produced.items()]
    if pages:
        from resumec.png import page_paths

        files += [("png", path, data, cached)
                  for path, (data, cached) in zip(page_paths(job.paths["png"], len(pages)), pages)]
    written = output.write_all({path: data for _, path, data, _ in files})
    if pages:
        from resumec.png import stale_pages

        output.remove(stale_pages(job.paths["png"], len(pages)))
    for (fmt, _, data, cached), w in zip(files, written):
        digest = hashlib.sha256(data).hexdigest()
        run.result.outputs.append(Output(fmt, w.path, origin(cached, digest), w.changed, len(data), digest))


def _meta_language(data: Any) -> str | None:
    meta = data.get("meta") if isinstance(data, dict) else None
    value = meta.get("language") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def _photo_digest(source: Source) -> tuple[Path, str] | None:
    """The local photo the résumé embeds and its hash (for the cache key); problems located like schema errors."""
    from resumec.assets import PHOTO_FIELD, load_photo

    base = source.path.parent if source.path is not None else None  # None: stdin's rules (assets.py)
    try:
        photo = load_photo(source.data, base)
        return (photo.path, photo.digest) if photo else None
    except InputError as exc:
        message = exc.message.removeprefix(f"{PHOTO_FIELD}: ")
        raise InputError(source.problem(("basics", "image"), message)) from None
    except OSError as exc:
        raise InputError(source.problem(("basics", "image"), f"cannot be read: {exc.strerror or exc}")) from None
