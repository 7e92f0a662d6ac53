"""Hostile text: inline Markdown in linear time, link checks, bidi isolation, emoji."""

from __future__ import annotations

import html
import io
import json
import os
import re
import subprocess

import docx

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from resumec.docx import build_docx, inline
from resumec.docx.render import md, to_markup
from resumec.docx.document import EMOJI_FONT
from resumec.docx.text import isolate_bidi, safe_url, split_emoji, xml_text
from resumec.theme import load_theme

from conftest import pdftotext, run_cli

FUZZ = settings(max_examples=int(os.environ.get("RESUMEC_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# --- the regex parser this replaced, kept as the oracle for its exact output ------------------------

_OLD_MD = re.compile(
    r"(?P<esc>\\[\\*\[\]()_`])"
    r"|\[(?P<ltext>[^\[\]\n]+)\]\((?P<lurl>(?:[^()\s]|\([^()\s]*\))+)\)"
    r"|\*\*\*(?=\S)(?P<boldital>.+?)(?<=\S)\*\*\*"
    r"|\*\*(?=\S)(?P<bold>.+?)(?<=\S)\*\*"
    r"|\*(?=[^\s*])(?P<ital>(?:\*\*(?=\S).+?(?<=\S)\*\*|[^*])+?)(?<=\S)\*(?!\*)",
    re.DOTALL,
)


def old_md(value: str) -> Markup:
    return _old(xml_text(value).replace("\t", " "))


def _old(text: str) -> Markup:
    out: list[Markup] = []
    pos = 0
    for m in _OLD_MD.finditer(text):
        out.append(to_markup(text[pos : m.start()]))
        if m.group("esc") is not None:
            out.append(to_markup(m.group("esc")[1]))
        elif m.group("ltext") is not None:
            inner = _old(m.group("ltext"))
            url = safe_url(m.group("lurl"))
            out.append(Markup('<a href="{}">{}</a>').format(url, inner) if url else inner)
        elif m.group("boldital") is not None:
            out.append(Markup("<b><i>{}</i></b>").format(_old(m.group("boldital"))))
        elif m.group("bold") is not None:
            out.append(Markup("<b>{}</b>").format(_old(m.group("bold"))))
        else:
            out.append(Markup("<i>{}</i>").format(_old(m.group("ital"))))
        pos = m.end()
    out.append(to_markup(text[pos:]))
    return Markup("").join(out)


# Short strings over the characters that matter: the old regex is exponential only in long runs.
MARKDOWN_ALPHABET = "*** [](\\)_`ab \n\t.:/"
markdownish = st.lists(st.sampled_from(list(MARKDOWN_ALPHABET) + ["https://e.example", "\u00a0", "<&>"]),
                       max_size=24).map("".join)


@FUZZ
@given(markdownish)
@example("*a **b** c** d*")
@example("**a*")
@example("***x***")
@example("****x***")
@example("*a **b *c **d *e* d** c* b** a*")
@example("[a](b[c](d)")
@example("[a](x(y)z) [b](x(y)")
def test_linear_parser_matches_the_regex_it_replaced(text):
    assert md(text) == old_md(text)


def test_ordinary_markdown_is_unchanged():
    for text in ("**Led** a team of *five*; cut costs by 30% ([report](https://e.example/r?a=1&b=(2)))",
                 "Built ***everything*** twice", r"2 \* 3 = 6, a\_b", "* not a list", "**", "a ** b ** c",
                 "[x](https://e.example) and [y](mailto:y@e.example)"):
        assert md(text) == old_md(text), text


def _steps(text: str) -> int:
    steps = inline.Steps()
    inline.parse(text, steps)
    return steps.count


# Each nesting level is one table pass and one scan: two steps per character.
LINEAR = 2 * (inline.MAX_DEPTH + 1)
HOSTILE_UNITS = ["*a", "**a", "***a", "*", "**", "[", "](", "(", ")", "\\", "a**", "** ", " *", "[a](", "a"]


@FUZZ
@given(st.lists(st.sampled_from(HOSTILE_UNITS), min_size=1, max_size=40), st.integers(1, 60))
def test_parser_work_is_linear_in_the_length(units, repeat):
    """Steps per character are bounded by a constant, for any mix and repetition of markers."""
    text = "".join(units) * repeat
    assert _steps(text) <= LINEAR * (len(text) + 1)


def test_the_catastrophic_inputs_are_linear():
    for n in (40, 400, 4000):
        for text in ("*a" + "**a" * n, "**a *" * n, "*" + "a **b" * n, "[a](" * n, "*a **b** c**" * n,
                     "***a" * n, "[x](y" + "(z" * n):
            assert _steps(text) <= LINEAR * (len(text) + 1), (n, text[:20])
    # …and the parse finishes with the markers shown literally where they do not match
    assert md("*a" + "**a" * 60).startswith("*a")


# --- links: the same check as url fields ------------------------------------------------------------


def test_markdown_links_must_be_valid_urls():
    assert md("[x](https:javascript:alert(1))") == "x"
    assert md("[x](https:/no-host)") == "x"
    assert md("[x](http://[::1)") == "x"  # unparseable
    assert md("[x](https://e.example:99999)") == "x"  # bad port
    assert md("[x](ftp://e.example)") == "x"
    assert md("[x](https://e.example/a_(b))") == '<a href="https://e.example/a_(b)">x</a>'
    assert md("[mail](mailto:a@e.example)") == '<a href="mailto:a@e.example">mail</a>'
    assert md("[call](tel:+15550100)") == '<a href="tel:+15550100">call</a>'


def test_a_summary_and_highlights_of_marker_soup_build(tmp_path):
    """The input that took 11 s (40 repeats) or never finished (60) now builds, markers shown as written."""
    soup = "*a" + "**a" * 60
    data = {"basics": {"name": "N", "summary": soup}, "work": [{"name": "W", "highlights": [soup, soup + "*"]}]}
    theme = load_theme("classic")
    blob = build_docx(data, theme, [("work", "Experience")])
    paragraphs = {p.style.name: p.text for p in docx.Document(io.BytesIO(blob)).paragraphs}
    shown = html.unescape(re.sub(r"<[^>]+>", "", md(soup)))
    assert paragraphs["Summary"] == shown
    assert shown.startswith("*a")  # the unmatched opener prints as written


# --- bidi isolation ----------------------------------------------------------------------------------

FSI, PDI, PDF_, RLO, RLE, LRI = "\u2068", "\u2069", "\u202c", "\u202e", "\u202b", "\u2066"


def test_isolate_bidi_leaves_ordinary_text_alone():
    for text in ("Ana Lima", "Zürich · 東京 · Ελληνικά · emoji 👩‍💻", ""):
        assert isolate_bidi(text) == text
        assert to_markup(text) == to_markup(Markup(text))  # no isolation added
    assert md("**Ana** in *Zürich*") == "<b>Ana</b> in <i>Zürich</i>"


def test_isolate_bidi_closes_what_a_field_opens():
    assert isolate_bidi(f"abc{RLO}def") == f"{FSI}abc{RLO}def{PDF_}{PDI}"
    assert isolate_bidi(f"{RLE}a{LRI}b") == f"{FSI}{RLE}a{LRI}b{PDI}{PDF_}{PDI}"
    assert isolate_bidi(f"{RLO}a{PDF_}b") == f"{FSI}{RLO}a{PDF_}b{PDI}"  # balanced: kept as is
    # closers with nothing to close would close our isolate: dropped
    assert isolate_bidi(f"a{PDI}{RLO}b") == f"{FSI}a{RLO}b{PDF_}{PDI}"
    assert isolate_bidi(f"a{PDF_}b\u200f") == f"{FSI}ab\u200f{PDI}"
    assert isolate_bidi("שלום") == f"{FSI}שלום{PDI}"
    # a PDI closes the embeddings opened inside its isolate
    assert isolate_bidi(f"{LRI}{RLO}x{PDI}y") == f"{FSI}{LRI}{RLO}x{PDI}y{PDI}"


def test_each_line_of_a_field_is_isolated():
    assert to_markup(f"a{RLO}b\nplain") == f"{FSI}a{RLO}b{PDF_}{PDI}<br/>plain"
    assert md(f"**x{RLO}y** and [l](https://e.example)") == (
        f'{FSI}<b>x{RLO}y</b> and <a href="https://e.example">l</a>{PDF_}{PDI}')


def test_an_override_in_one_field_does_not_reorder_its_neighbours(tmp_path):
    """U+202E in a location, a label and a highlight: the PDF reads the neighbours in order."""
    data = {
        "basics": {"name": "Ana Lima", "label": f"Engineer {RLO}evil", "email": "ana@example.com"},
        "work": [{"name": "Acme", "position": "Lead", "location": f"Tel Aviv {RLO}abc", "description": "Startup one",
                  "url": "https://acme.example", "startDate": "2020-01",
                  "highlights": [f"Built {RLO}drawkcab", "Second highlight"]}],
    }
    src = tmp_path / "bidi.json"
    src.write_text(json.dumps(data))
    proc = run_cli("compile", str(src), "-o", str(tmp_path / "out") + "/", "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    text = pdftotext(tmp_path / "out" / "bidi.pdf").replace(FSI, "").replace(PDI, "")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    meta = next(line for line in lines if "Tel Aviv" in line)
    assert meta.startswith("Tel Aviv cba") and meta.endswith("Startup one · acme.example"), meta
    assert "ana@example.com" in lines[lines.index("Engineer live") + 1]
    assert "• Built backward" in lines and "• Second highlight" in lines, lines


# --- emoji ---------------------------------------------------------------------------------------------

EMOJI = "👩‍💻 🚀 👍"


def test_emoji_are_split_into_runs_of_their_own():
    assert split_emoji("plain text") == [(False, "plain text")]
    assert split_emoji(f"Hi {EMOJI}!") == [(False, "Hi "), (True, "👩‍💻"), (False, " "), (True, "🚀"), (False, " "),
                                            (True, "👍"), (False, "!")]
    assert split_emoji("🇵🇹 🏳️‍🌈 👋🏽 ❤️ 1️⃣") == [(True, "🇵🇹"), (False, " "), (True, "🏳️‍🌈"), (False, " "), (True, "👋🏽"),
                                              (False, " "), (True, "❤️"), (False, " "), (True, "1️⃣")]
    assert "".join(p for _, p in split_emoji("a🚀b❤️c")) == "a🚀b❤️c"
    assert split_emoji("✓ ★ ©") == [(False, "✓ ★ ©")]  # text-style symbols keep the body font


def test_emoji_runs_name_the_emoji_font(tmp_path):
    blob = build_docx({"basics": {"name": "N", "summary": f"Hi {EMOJI}"}}, load_theme("classic"), [])
    summary = next(p for p in docx.Document(io.BytesIO(blob)).paragraphs if p.style.name == "Summary")
    fonts = [(r.text, r.font.name) for r in summary.runs]
    assert fonts == [("Hi ", None), ("👩‍💻", EMOJI_FONT), (" ", None), ("🚀", EMOJI_FONT), (" ", None),
                     ("👍", EMOJI_FONT)]


def test_emoji_reach_the_pdf_as_text_and_as_glyphs_of_an_embedded_font(tmp_path):
    data = {"basics": {"name": "Ana Lima", "summary": f"Emoji: {EMOJI} done"},
            "work": [{"name": "Acme", "highlights": ["Shipped 🚀 twice", "[Site 👍](https://e.example)"]}]}
    src = tmp_path / "emoji.json"
    src.write_text(json.dumps(data))
    proc = run_cli("compile", str(src), "-o", str(tmp_path / "out") + "/", "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    pdf = tmp_path / "out" / "emoji.pdf"
    text = pdftotext(pdf)
    assert f"Emoji: {EMOJI} done" in text
    assert "Shipped 🚀 twice" in text and "Site 👍" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
    emoji_fonts = [line.split() for line in fonts if EMOJI_FONT in line]
    assert emoji_fonts, fonts
    name, kind, _enc, emb, _sub, uni = emoji_fonts[0][:6]
    assert kind == "TrueType" and emb == "yes" and uni == "yes", emoji_fonts  # outlines, embedded, ToUnicode
    assert not any("ColorEmoji" in line for line in fonts), fonts  # not the bitmap font LibreOffice draws blank
    # real glyphs: the emoji line has ink where the emoji are (a blank glyph would leave it white)
    with_emoji = _ink(pdf)
    data["basics"]["summary"] = "Emoji: \u2003 \u2003 \u2003 done"
    src.write_text(json.dumps(data))
    assert run_cli("compile", str(src), "-o", str(tmp_path / "blank") + "/", "--no-cache").returncode == 0
    assert with_emoji > _ink(tmp_path / "blank" / "emoji.pdf") + 200


def _ink(pdf) -> int:
    """Dark pixels on page 1, as a rough measure of what was drawn."""
    out = subprocess.run(["pdftoppm", "-r", "150", "-gray", "-f", "1", "-l", "1", str(pdf)], capture_output=True,
                         check=True).stdout
    header_end = out.index(b"255\n") + 4  # PGM: P5 W H 255
    return sum(1 for b in out[header_end:] if b < 128)
