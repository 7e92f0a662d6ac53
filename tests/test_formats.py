"""-f html / md / txt: content and reading order, hostile text, links, reproducibility, the cache, no LibreOffice.

The Markdown is read back with a real CommonMark parser (markdown-it-py) and
the HTML with the standard library's parser; the HTML in a real browser is in
tests/test_formats_browser.py.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from markdown_it import MarkdownIt

from conftest import SAMPLES, run_cli
from test_input_fuzz import FUZZ, LOCATED, ORDER, THEME, mutations, resumes
from resumec.docx.text import DateStyle, format_dates
from resumec.entries import resume_model
from resumec.errors import InputError
from resumec.options import Options
from resumec.pipeline import compile
from resumec.sections import resolve
from resumec.theme import load_theme, localized, titles_for

FULL = json.loads((SAMPLES / "full.json").read_text(encoding="utf-8"))
TEXT_FORMATS = ("html", "md", "txt")


def build(tmp_path: Path, data: dict | Path, fmt: str, *args: str, name: str = "cv.json") -> bytes:
    """Compile `data` (a dict written to tmp_path, or a résumé file) to one format; its bytes."""
    source = data if isinstance(data, Path) else tmp_path / name
    if not isinstance(data, Path):
        source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / f"out-{fmt}"
    proc = run_cli("compile", str(source), "-f", fmt, "-o", f"{out}/", "-q", *args)
    assert proc.returncode == 0, proc.stderr.decode()
    return (out / f"{source.stem}.{fmt}").read_bytes()


def expected_reading_order(data: dict, theme: str = "classic", lang: str | None = None) -> list[str]:
    """What a reader meets, in order, derived from the résumé and the theme: name, label, then for
    every section its title and each entry's title and formatted dates."""
    chosen = load_theme(theme)
    order = resolve(None, data, chosen.sections, titles_for(chosen, lang))
    dates = DateStyle.from_config(localized(chosen.config, lang).get("dates", {}))
    seen = [data["basics"]["name"], data["basics"]["label"]]
    for section in resume_model(data, order).sections:
        seen.append(section.title)
        for entry in section.entries:
            if section.shape == "entry":
                seen.append(entry.title)
                if entry.dates:
                    seen.append(format_dates(entry.dates, dates))
            elif section.shape == "group":
                seen.append(entry.title)
            else:
                seen.append(entry.name)
    return seen


def assert_in_order(text: str, pieces: list[str]) -> None:
    position = 0
    for piece in pieces:
        found = text.find(piece, position)
        assert found >= 0, f"{piece!r} missing after offset {position}:\n{text[position:position + 400]}"
        position = found + len(piece)


class Page(HTMLParser):
    """The tags, attributes and text of an HTML page, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.by_tag: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("br", "img", "meta"):
            self._open.append(tag)
            self.by_tag.setdefault(tag, []).append("")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        self.text.append(data)
        for tag in set(self._open):
            self.by_tag[tag][-1] += data

    @property
    def all_text(self) -> str:
        return "".join(self.text)


# -- content and order ----------------------------------------------------------------------


def test_markdown_of_the_full_sample_in_reading_order(tmp_path):
    md = build(tmp_path, SAMPLES / "full.json", "md").decode("utf-8")
    assert md.startswith(f"# {FULL['basics']['name']}\n")
    assert_in_order(md, expected_reading_order(FULL))
    assert_in_order(md, ["## Summary", "## Experience", "### Staff Software Engineer, Lumen Freight",
                         "Mar 2021 – Present · Lisbon, Portugal (hybrid)", "- Replaced a nightly batch planner",
                         "**90 seconds**", "## Projects", "*Technologies:* Go, Redis, Lua", "## Education",
                         "## Skills", "- **Languages** (Expert): Go, Java, Python, SQL", "## References", "> “"])
    # Read back by a CommonMark parser: one h1, the section titles as h2, every work entry as an h3.
    tokens = MarkdownIt("commonmark").parse(md)
    headings = [(tokens[i].tag, tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]
    chosen = load_theme("classic")
    order = resolve(None, FULL, chosen.sections, titles_for(chosen, None))
    titles = [s.title for s in resume_model(FULL, order).sections]
    assert [text for tag, text in headings if tag == "h1"] == [FULL["basics"]["name"]]
    assert [text for tag, text in headings if tag == "h2"] == ["Summary", *titles]
    assert [text for tag, text in headings if tag == "h3"][:3] == [f"{w['position']}, {w['name']}" for w in FULL["work"]]
    rendered = MarkdownIt("commonmark").render(md)
    assert '<a href="https://github.com/imarchetti">github.com/imarchetti</a>' in rendered
    assert '<a href="mailto:ines.marchetti@example.com">' in rendered


def test_plain_text_of_the_full_sample_in_reading_order(tmp_path):
    txt = build(tmp_path, SAMPLES / "full.json", "txt").decode("utf-8")
    name = FULL["basics"]["name"]
    assert txt.startswith(f"{name}\n{'=' * len(name)}\n{FULL['basics']['label']}\n")
    assert_in_order(txt, expected_reading_order(FULL))
    assert_in_order(txt, ["Experience\n----------\nStaff Software Engineer, Lumen Freight\n"
                          "Mar 2021 – Present · Lisbon, Portugal (hybrid) · Logistics SaaS, 400 employees · "
                          "lumenfreight.example.com\n",
                          "• Replaced a nightly batch planner", "within 90 seconds of",
                          "Technologies: Go, Redis, Lua", "Languages (Expert): Go, Java, Python, SQL"])
    # Plain: no Markdown or HTML survives, no line has trailing spaces, no blank-line runs.
    assert "**" not in txt and "<" not in txt and "](" not in txt
    assert all(line == line.rstrip() for line in txt.splitlines())
    assert "\n\n\n" not in txt and txt.endswith("\n") and not txt.endswith("\n\n")


def test_html_of_the_full_sample_in_reading_order(tmp_path):
    html = build(tmp_path, SAMPLES / "full.json", "html").decode("utf-8")
    page = Page(html)
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en-US\">")
    assert page.by_tag["h1"] == [FULL["basics"]["name"]]
    chosen = load_theme("classic")
    order = resolve(None, FULL, chosen.sections, titles_for(chosen, None))
    titles = [s.title for s in resume_model(FULL, order).sections]
    assert page.by_tag["h2"] == ["Summary", *titles]
    assert_in_order(page.all_text, expected_reading_order(FULL))
    assert page.by_tag["title"] == [f"{FULL['basics']['name']} – Résumé"]
    # Self-contained: no script, no external resource; links only to safe URLs.
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    assert not any(attrs.get("src") for tag, attrs in page.tags if tag != "img")
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert "https://github.com/imarchetti" in hrefs and "mailto:ines.marchetti@example.com" in hrefs
    assert all(h.split(":")[0] in ("https", "http", "mailto", "tel") for h in hrefs)
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    assert "url(" not in html and "@import" not in html


def test_html_carries_the_theme_look(tmp_path):
    """Fonts with fallbacks, sizes, colours, rules and the bullet come from theme.toml."""
    classic = build(tmp_path, SAMPLES / "full.json", "html").decode("utf-8")
    modern = build(tmp_path, SAMPLES / "full.json", "html", "--theme", "modern").decode("utf-8")
    assert '"Cambria", "Caladea", "Georgia"' in classic and "serif" in classic
    assert '"Calibri", "Carlito"' in classic
    assert "border-bottom: 0.75pt solid #8C9BB0" in classic  # classic's heading rule
    assert ".p-title { " in classic and "font-size: 24pt" in classic and "color: #1F3A5F" in classic
    assert '"Arial", "Liberation Sans"' in modern
    assert "border-left: 4pt solid #0F766E" in modern  # modern's accent bar
    assert "text-transform: uppercase" in modern and "letter-spacing: 1.4pt" in modern
    assert 'content: "\\25aa "' in modern  # its ▪ bullet, hex-escaped
    assert "@page { size: A4;" in classic
    letter = build(tmp_path, SAMPLES / "full.json", "html", "--paper", "letter").decode("utf-8")
    assert "@page { size: letter;" in letter and "max-width: 612pt" in letter


def test_html_embeds_the_photo_when_the_theme_shows_it(tmp_path):
    import base64

    modern = Page(build(tmp_path, SAMPLES / "photo.json", "html", "--theme", "modern").decode("utf-8"))
    images = [attrs for tag, attrs in modern.tags if tag == "img"]
    assert len(images) == 1 and images[0]["alt"] == f"Photo of {FULL['basics']['name']}"
    prefix = "data:image/png;base64,"
    assert images[0]["src"].startswith(prefix)
    assert base64.b64decode(images[0]["src"][len(prefix):]) == (SAMPLES / "photo.png").read_bytes()
    classic = Page(build(tmp_path, SAMPLES / "photo.json", "html").decode("utf-8"))  # classic has no [photo]
    assert [tag for tag, _ in classic.tags if tag == "img"] == []


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_localized_dates_and_titles(tmp_path, fmt):
    text = build(tmp_path, SAMPLES / "full.json", fmt, "--lang", "de").decode("utf-8")
    assert_in_order(text, ["Berufserfahrung", "März 2021 – heute", "Projekte", "Ausbildung", "Kenntnisse"])
    assert "Experience" not in text and "Present" not in text
    if fmt == "html":
        assert '<html lang="de">' in text


# -- hostile text -----------------------------------------------------------------------------

HOSTILE = {
    "basics": {
        "name": "<script>alert(1)</script> & Co",
        "label": '"><img src=x onerror=alert(2)>',
        "url": "javascript:alert(3)",
        "email": "a@b.example",
        "image": "https://evil.example/me.png",
        "summary": "[click](javascript:alert(4)) [safe](https://ok.example/a_(b)) **bold** <b>raw</b> &amp; `code`",
        "profiles": [{"network": "X", "url": "JaVaScRiPt:alert(5)"},
                     {"network": "Y", "username": "# not a heading"}],
    },
    "work": [{
        "name": "ACME | Inc ~~x~~ $x$",
        "position": "## Lead *dev* [x]",
        "url": "data:text/html,<script>alert(6)</script>",
        "startDate": "2020-01",
        "summary": "line one\n# line two\n1. line three\n- line four\n===",
        "highlights": ["1. not a list", "- not a bullet", "> not a quote", "<!-- not a comment -->",
                       "\\*escaped\\* stars", "\u202eevil override", "tab\tand\x07bell"],
    }],
    "skills": [{"name": "<i>x</i>", "keywords": ["_a_", "*b*"]}],
}


def test_html_escapes_everything_and_links_only_safe_urls(tmp_path):
    html = build(tmp_path, HOSTILE, "html").decode("utf-8")
    page = Page(html)
    assert [tag for tag, _ in page.tags if tag in ("script", "img", "b", "i", "iframe")] == []
    assert "onerror" not in [k for _, attrs in page.tags for k in attrs]
    text = page.all_text
    for literal in ("<script>alert(1)</script> & Co", '"><img src=x onerror=alert(2)>', "<b>raw</b>",
                    "&amp;", "`code`", "<i>x</i>", "## Lead *dev* [x]", "ACME | Inc ~~x~~ $x$", "<!-- not a comment -->"):
        assert literal in text, literal
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert hrefs == ["mailto:a@b.example", "https://ok.example/a_(b)"]
    assert "javascript:" not in "".join(hrefs) and "evil.example" not in html
    # The unsafe links are shown as text, never as links; a Markdown link that fails shows its text.
    assert "click" in text and "javascript:alert(3)" in text
    assert "\x07" not in html and "\u2068\u202eevil override\u202c\u2069" in html  # closed and isolated


def test_markdown_escapes_every_special_character(tmp_path):
    md = build(tmp_path, HOSTILE, "md").decode("utf-8")
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(md)
    kinds = [t.type for t in tokens]
    # Exactly our structure: one h1, h2 per section, one h3; the one bullet list is the highlights.
    assert [tokens[i].tag for i, t in enumerate(tokens) if t.type == "heading_open"] == ["h1", "h2", "h2", "h3", "h2"]
    assert kinds.count("bullet_list_open") == 2  # the highlights and the skills
    assert "ordered_list_open" not in kinds and "blockquote_open" not in kinds and "table_open" not in kinds
    assert "html_block" not in kinds and "code_block" not in kinds and "hr" not in kinds
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md)
    assert "<script" not in html and "<b>raw" not in html and "<s>" not in html and "<code>" not in html
    page = Page(html)
    text = page.all_text
    for literal in ("<script>alert(1)</script> & Co", "<b>raw</b>", "&amp;", "`code`", "## Lead *dev* [x]",
                    "ACME | Inc ~~x~~ $x$", "1. not a list", "- not a bullet", "> not a quote", "# line two",
                    "1. line three", "- line four", "# not a heading", "*escaped* stars", "<i>x</i>", "_a_, *b*"):
        assert literal in text, literal
    # The résumé's own Markdown stays Markdown: bold, and the one safe link.
    assert page.by_tag["strong"][:1] == ["bold"]
    assert [attrs["href"] for tag, attrs in page.tags if tag == "a"] == ["mailto:a@b.example",
                                                                         "https://ok.example/a_(b)"]
    assert "javascript:" not in md.replace("javascript:alert(3)", "")  # only the url shown as text


def test_plain_text_keeps_hostile_strings_literal(tmp_path):
    txt = build(tmp_path, HOSTILE, "txt").decode("utf-8")
    for literal in ("<script>alert(1)</script> & Co", '"><img src=x onerror=alert(2)>', "<b>raw</b> &amp; `code`",
                    "## Lead *dev* [x], ACME | Inc ~~x~~ $x$", "• 1. not a list", "• <!-- not a comment -->",
                    "• *escaped* stars", "tab and", "click safe (ok.example/a_(b)) bold"):
        assert literal in txt, literal
    assert "\x07" not in txt and "\t" not in txt


# -- reproducible, cached, and no LibreOffice -------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_reproducible_bytes(tmp_path, fmt):
    """Fresh builds are byte-identical, whatever SOURCE_DATE_EPOCH says (these outputs hold no date)."""
    src = SAMPLES / "photo.json"
    outs = []
    for i, epoch in enumerate(("0", "0", "1700000000")):
        out = tmp_path / f"o{i}"
        proc = run_cli("compile", str(src), "-f", fmt, "-t", "modern", "-o", f"{out}/", "-q", "--no-cache",
                       env={"SOURCE_DATE_EPOCH": epoch})
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append((out / f"photo.{fmt}").read_bytes())
    assert outs[0] == outs[1] == outs[2] and len(outs[0]) > 1000


def test_second_run_is_cached_and_a_change_is_not(tmp_path):
    src = tmp_path / "cv.json"
    src.write_text(json.dumps(FULL), encoding="utf-8")

    def run(*extra):
        proc = run_cli("compile", str(src), "-f", "html,md,txt", "--json", *extra)
        assert proc.returncode == 0, proc.stderr.decode()
        return {o["format"]: (o["cached"], o["changed"], o["sha256"])
                for o in json.loads(proc.stdout)["results"][0]["outputs"]}

    first = run()
    assert [f for f in first] == ["html", "md", "txt"]
    assert all(not cached and changed for cached, changed, _ in first.values())
    second = run()
    assert all(cached and not changed for cached, changed, _ in second.values())
    assert {f: v[2] for f, v in first.items()} == {f: v[2] for f, v in second.items()}
    # Paper changes only the HTML; the language changes all three.
    paper = run("--paper", "letter")
    assert (paper["html"][0], paper["md"][0], paper["txt"][0]) == (False, "local", "local")
    lang = run("--lang", "fr")
    assert not any(cached for cached, _, _ in lang.values())


def test_text_formats_need_no_libreoffice_nor_python_docx(tmp_path):
    """A miss renders all three with LibreOffice unavailable, without importing python-docx, Jinja2 or lxml."""
    probe = (
        "import sys\n"
        "from resumec.cli import main\n"
        "try:\n    main(['compile', sys.argv[1], '-q', '-f', 'html,md,txt', '-o', sys.argv[2]])\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print(code, sorted(m for m in ('docx', 'jinja2', 'lxml', 'rich', 'typer') if m in sys.modules))\n"
    )
    env = {**os.environ, "RESUMEC_SOFFICE": "/nonexistent/soffice", "PATH": "/nonexistent"}
    proc = subprocess.run([sys.executable, "-c", probe, str(SAMPLES / "photo.json"), f"{tmp_path}/"],
                          capture_output=True, text=True, env=env)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"photo.html", "photo.md", "photo.txt"}


def test_without_libreoffice_the_text_formats_are_still_written(tmp_path):
    """Like the DOCX: when LibreOffice is missing, what needs none of it is written, and the exit is 3."""
    src = tmp_path / "cv.json"
    src.write_text(json.dumps(FULL), encoding="utf-8")
    proc = run_cli("compile", str(src), "-f", "md,pdf", "--no-cache", env={"RESUMEC_SOFFICE": "/nope/soffice"})
    assert proc.returncode == 3, proc.stderr.decode()
    assert (tmp_path / "cv.md").read_text(encoding="utf-8").startswith("# Inês")
    assert not (tmp_path / "cv.pdf").exists()


def test_output_names_and_standard_output(tmp_path):
    src = tmp_path / "cv.json"
    src.write_text(json.dumps(FULL), encoding="utf-8")
    proc = run_cli("compile", str(src), "-f", "html,txt", "-o", str(tmp_path / "site" / "index.html"), "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["index.html", "index.txt"]
    proc = run_cli("compile", str(src), "-f", "md", "-o", "-")
    assert proc.returncode == 0 and proc.stdout.decode("utf-8").startswith("# Inês Marchetti\n")
    assert not (tmp_path / "cv.md").exists()
    proc = run_cli("compile", str(src), "-f", "txt,md", "-o", "-")
    assert proc.returncode == 2 and b"one format" in proc.stderr


def test_all_still_means_docx_and_pdf_and_the_new_formats_complete():
    from resumec.cli.app import _completer
    from resumec.options import BY_FLAG

    assert Options.from_raw({"formats": "all"}).formats == ("docx", "pdf")
    assert Options.from_raw({"formats": "md,HTML,txt"}).formats == ("md", "html", "txt")
    complete = _completer(BY_FLAG["-f"])
    assert complete("pdf,") == ["pdf,docx", "pdf,png", "pdf,html", "pdf,md", "pdf,txt"]
    assert complete("h") == ["html"]


def test_in_process_compile_writes_only_the_text_formats(tmp_path):
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "full.json", src)
    result = compile(str(src), Options(formats=("txt",), use_cache=False))
    assert result.ok, result.error
    assert [o.format for o in result.outputs] == ["txt"] and "docx" not in result.timings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cv.json", "cv.txt"]


def test_the_remote_cache_accepts_the_text_formats(tmp_path):
    """A shared remote tier verifies a blob's kind: the three formats are kinds it knows, checked by content."""
    import hashlib

    from resumec.remote.core import check_blob, parse_manifest

    for fmt in TEXT_FORMATS:
        data = build(tmp_path, SAMPLES / "full.json", fmt)
        digest = hashlib.sha256(data).hexdigest()
        manifest = json.dumps({"blob": digest, "size": len(data), "kind": fmt}).encode()
        assert parse_manifest(manifest) == (digest, len(data), fmt)
        assert check_blob(data, digest, len(data), fmt) is None
    bad = b"\xff\xfe not text"
    assert check_blob(bad, hashlib.sha256(bad).hexdigest(), len(bad), "md") == "content is not a md"
    assert check_blob(b"# x\n", hashlib.sha256(b"# x\n").hexdigest(), 4, "html") == "content is not a html"


# -- generated résumés ------------------------------------------------------------------------

SAFE_SCHEMES = ("http", "https", "mailto", "tel")


@FUZZ
@given(resumes)
def test_every_valid_resume_renders_inert_html_markdown_and_text(data):
    from resumec.formats import render

    html = render("html", data, THEME, ORDER).decode("utf-8")
    page = Page(html)
    assert {tag for tag, _ in page.tags} <= {"html", "head", "meta", "title", "style", "body", "main", "header",
                                             "h1", "h2", "h3", "p", "section", "div", "span", "strong", "em",
                                             "ul", "li", "blockquote", "a", "br"}
    assert all(attrs["href"].split(":")[0] in SAFE_SCHEMES for tag, attrs in page.tags if tag == "a")
    md = render("md", data, THEME, ORDER).decode("utf-8")
    tokens = MarkdownIt("commonmark").parse(md)
    inline = [child for token in tokens for child in (token.children or [])]
    assert not [t for t in tokens + inline if t.type in ("html_block", "html_inline", "code_block", "image")]
    assert all(t.attrs["href"].split(":")[0] in SAFE_SCHEMES for t in inline if t.type == "link_open")
    txt = render("txt", data, THEME, ORDER).decode("utf-8")
    assert not any(c in txt for c in "\x00\x01\x0b\x1f\t\r")


def _yaml_outcome(raw: bytes) -> str:
    from resumec.load import load as load_input
    from resumec.validate import check as check_schema

    try:
        source = load_input("-", stdin=io.BytesIO(raw))
        check_schema(source)
    except InputError as exc:
        for line in exc.lines():
            assert LOCATED.match(line), line
        return "error"
    return "ok"


FULL_YAML = "# my résumé\n".encode() + yaml.safe_dump(FULL, allow_unicode=True, sort_keys=False).encode("utf-8")


@FUZZ
@given(mutations(FULL_YAML))
def test_damaged_yaml_ends_in_data_or_a_located_error(raw):
    assert _yaml_outcome(raw) in ("ok", "error")
