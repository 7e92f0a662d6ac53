"""Every option of `resumec compile` and `resumec watch`, declared once.

`OPTIONS` is the one table: the `Options` dataclass the pipeline reads, the
Typer commands (flags, help, placeholders, completion) and the quick parser
that serves cache hits without importing Typer are all made from it. Both
parsers hand raw strings to the same `parse` functions through
`Options.from_raw`, so they accept and reject exactly the same values with the
same messages (a test runs every option error through both).
Standard library only: the cache-hit path imports this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resumec.errors import UsageError

if TYPE_CHECKING:
    from resumec.settings import Settings

FORMATS = ("docx", "pdf", "png", "html", "md", "txt")
# What LibreOffice makes; every other format is rendered in Python.
CONVERTED = ("pdf", "png")
PAPERS = ("a4", "letter")
MAX_TIMEOUT = 86400.0
MAX_JOBS = 256


@dataclass(frozen=True)
class Options:
    """Everything a compile can vary. Defaults match `resumec compile FILE`."""

    theme: str = "classic"
    sections: str | None = None
    formats: tuple[str, ...] = ("docx", "pdf")
    output: str | None = None  # as typed: a trailing "/" means a directory; "-" means stdout
    paper: str | None = None
    lang: str | None = None
    pdfa: bool = False
    use_cache: bool = True
    cache_dir: Path | None = None  # None: settings.cache_dir
    remote_cache: str | None = None  # None: settings.remote_cache (RESUMEC_REMOTE_CACHE)
    remote_read_only: bool = False
    timeout: float = 120.0
    # How to run; nothing below changes an output's bytes.
    jobs: int | None = None  # None: one per CPU
    use_server: bool = True
    quiet: bool = False
    json: bool = False
    watch: bool = False
    serve: bool = False  # watch mode: a live preview page in the browser
    open: bool = False
    port: int | None = None  # None: a random free port (or the one this résumé's preview had last)

    def cache_root(self, settings: Settings) -> Path | None:
        """The cache directory this run reads and writes (--cache-dir, else the settings'); None with --no-cache."""
        return (self.cache_dir or settings.cache_dir) if self.use_cache else None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Options:
        """Options from {field: raw string or True}: what either parser collected, checked in table order."""
        values: dict[str, Any] = {}
        for opt in OPTIONS:
            if opt.name not in raw:
                continue
            value = raw[opt.name]
            values[opt.name] = opt.value if opt.is_flag else opt.parse(opt.flags[-1], value)
        options = replace(cls(), **values)
        if options.output == "-" and options.json:
            raise UsageError("-o - and --json both write to standard output; choose one")
        if (options.serve or options.open or options.port is not None) and not options.watch:
            raise UsageError("--serve, --open and --port belong to watch mode: resumec watch FILE --serve")
        if (options.open or options.port is not None) and not options.serve:
            raise UsageError("--open and --port need --serve")
        return options


# -- parsing one value ----------------------------------------------------------------------


def _text(flag: str, value: str) -> str:
    if not value.strip():
        raise UsageError(f"{flag}: expected a value, got an empty string")
    if any(ord(c) < 32 for c in value):
        raise UsageError(f"{flag}: control characters are not allowed")
    return value


def _path(flag: str, value: str) -> Path:
    return Path(_text(flag, value)).expanduser()


def _output(flag: str, value: str) -> str:
    return _text(flag, value)


def parse_formats(flag: str, value: str) -> tuple[str, ...]:
    if value.strip() == "all":
        return ("docx", "pdf")
    parts = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    if not parts:
        raise UsageError(f"{flag}: expected {', '.join(FORMATS)} or all")
    for part in parts:
        if part not in FORMATS:
            raise UsageError(f"{flag}: unknown format {part!r} (expected {', '.join(FORMATS)} or all)")
    return parts


def _sections(flag: str, value: str) -> str:
    from resumec.sections import parse_spec

    try:
        parse_spec(value.split(","))
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    return value


def _paper(flag: str, value: str) -> str:
    paper = value.strip().lower()
    if paper not in PAPERS:
        raise UsageError(f"{flag}: unknown paper size {value!r} (expected {' or '.join(PAPERS)})")
    return paper


def languages() -> tuple[str, ...]:
    """The languages resumec has words for: one themes/_locales/<lang>.toml each."""
    from resumec.theme import languages as known

    return known()


def _lang(flag: str, value: str) -> str:
    tag = value.strip().replace("_", "-").lower()
    known = languages()
    if tag.split("-")[0] not in known:
        raise UsageError(f"{flag}: unsupported language {value!r} (expected one of: {', '.join(known)})")
    return tag


def _number(flag: str, value: str, low: float, high: float, unit: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise UsageError(f"{flag}: expected {unit} from {low:g} to {high:g}, got {value!r}")
    return number


def _remote(flag: str, value: str) -> str:
    from resumec.remote import parse_url

    parse_url(_text(flag, value))  # a UsageError naming the URL with its password hidden
    return value


def _port(flag: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise UsageError(f"{flag}: expected a port number from 1 to 65535, got {value!r}")
    return number


def _timeout(flag: str, value: str) -> float:
    return _number(flag, value, 1, MAX_TIMEOUT, "seconds")


def _jobs(flag: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_JOBS:
        raise UsageError(f"{flag}: expected a whole number from 1 to {MAX_JOBS}, got {value!r}")
    return number


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opt:
    """One command-line option: where it lands, how it is spelled, how its value is read."""

    name: str  # the Options field
    flags: tuple[str, ...]
    help: str
    metavar: str = ""  # "" for a flag that takes no value
    parse: Callable[[str, str], Any] = _text
    value: Any = True  # what a flag sets its field to
    choices: Callable[[], Sequence[str]] | None = None  # shell completion
    commands: tuple[str, ...] = ("compile", "watch")

    @property
    def is_flag(self) -> bool:
        return not self.metavar


def _theme_names() -> Sequence[str]:
    from resumec.theme import builtin_themes

    return [name for name, _ in builtin_themes()]


def _section_names() -> Sequence[str]:
    from resumec.sections import SECTION_KEYS

    return SECTION_KEYS


OPTIONS: tuple[Opt, ...] = (
    Opt("output", ("-o", "--output"), "Output directory (existing, or ending in /), FILE.pdf, FILE.docx, FILE.html "
        "… (the other formats share its stem), or - for standard output (one format).", "PATH", _output),
    Opt("formats", ("-f", "--format"), "pdf, docx, png (one image per page), html (one self-contained page), md, "
        "txt, or all (= docx,pdf); a comma-separated list combines them.", "LIST", parse_formats,
        choices=lambda: (*FORMATS, "all")),
    Opt("theme", ("-t", "--theme"), "A built-in theme (see `resumec themes`) or a theme folder.", "NAME",
        choices=_theme_names),
    Opt("sections", ("-s", "--sections"), "Sections in order, optionally renamed: work=Experience,projects,"
        "education,skills.", "LIST", _sections, choices=_section_names),
    Opt("paper", ("--paper",), "Page size: a4 or letter (default: the theme's).", "SIZE", _paper,
        choices=lambda: PAPERS),
    Opt("lang", ("--lang",), "Language of dates and default titles (default: meta.language, else en).", "LANG",
        _lang, choices=languages),
    Opt("pdfa", ("--pdfa",), "Write PDF/A-2b (archival) instead of plain PDF."),
    Opt("use_cache", ("--no-cache",), "Neither read nor write the build cache.", value=False),
    Opt("cache_dir", ("--cache-dir",), "Cache location (default: $RESUMEC_CACHE_DIR, else the user cache "
        "directory).", "DIR", _path),
    Opt("remote_cache", ("--remote-cache",), "A shared cache behind the local one, for CI fleets: "
        "redis://[user:pass@]host:port/db or http(s)://host/prefix/ (also RESUMEC_REMOTE_CACHE).", "URL", _remote),
    Opt("remote_read_only", ("--remote-cache-read-only",), "Read the remote cache but never write to it "
        "(pull-request builds; also RESUMEC_REMOTE_CACHE_READ_ONLY=1)."),
    Opt("timeout", ("--timeout",), f"Seconds before a LibreOffice conversion is abandoned and retried once "
        f"(1 to {MAX_TIMEOUT:g}; default 120).", "SECONDS", _timeout),
    Opt("jobs", ("-j", "--jobs"), "With several inputs: how many LibreOffice instances convert in parallel "
        "(default: one per CPU).", "N", _jobs, commands=("compile",)),
    Opt("use_server", ("--no-server",), "Don't use a running converter service (also RESUMEC_NO_SERVER=1).",
        value=False, commands=("compile",)),
    Opt("watch", ("--watch",), "Keep running and rebuild on every change, like `resumec watch`.",
        commands=("compile",)),
    Opt("serve", ("--serve",), "Watch mode: show the pages in a live browser preview on this machine (127.0.0.1 "
        "only, a private URL); progress and errors appear there as you save."),
    Opt("open", ("--open",), "With --serve: open the preview in the browser."),
    Opt("port", ("--port",), "With --serve: the port to listen on (default: the one this résumé's preview had "
        "last, else a random free one).", "N", _port),
    Opt("quiet", ("-q", "--quiet"), "Print only errors."),
    Opt("json", ("--json",), "Print a JSON report on stdout (in watch mode: one JSON line per build)."),
)

BY_FLAG: dict[str, Opt] = {flag: opt for opt in OPTIONS for flag in opt.flags}
assert {f.name for f in fields(Options)} == {o.name for o in OPTIONS}, "every Options field has exactly one option"


def for_command(command: str) -> tuple[Opt, ...]:
    return tuple(opt for opt in OPTIONS if command in opt.commands)


def parse_argv(argv: Sequence[str], command: str = "compile") -> tuple[list[str], dict[str, Any]] | None:
    """(inputs, raw values) from a command line, or None when Typer should read it.

    None for anything this small parser does not handle the way Click would:
    help, an unknown or repeated option, a missing value, `--`, grouped
    short flags. Values are not checked here: `Options.from_raw` does that,
    for both parsers.
    """
    allowed = {flag: opt for flag, opt in BY_FLAG.items() if command in opt.commands}
    inputs: list[str] = []
    raw: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            inputs.append(arg)
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        opt = allowed.get(name)
        if opt is None or opt.name in raw:
            return None
        if opt.is_flag:
            if eq or value:
                return None
            raw[opt.name] = True
            continue
        if not eq and not value:
            if i >= len(argv):
                return None
            value = argv[i]
            i += 1
        raw[opt.name] = value
    if not inputs:
        return None
    return inputs, raw


INPUT_SUFFIXES = (".json", ".yaml", ".yml")


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Directories stand for the *.json, *.yaml and *.yml files directly inside them; `-` may appear once."""
    expanded: list[str] = []
    for item in inputs:
        if item != "-" and os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).iterdir()  # a FIFO is reported, not skipped
                           if p.suffix.lower() in INPUT_SUFFIXES and not p.is_dir())
            if not found:
                raise UsageError(f"{item}: no .json, .yaml or .yml files in this directory")
            expanded.extend(found)
        else:
            expanded.append(item)
    if expanded.count("-") > 1:
        raise UsageError("standard input (-) can be read only once")
    return expanded
