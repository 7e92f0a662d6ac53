"""Stage 4: résumé + theme → DOCX (resumec/docx), read back with python-docx."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn

from resumec.docx import build_docx
from resumec.docx.markup import MarkupError, parse
from resumec.docx.render import join_nonempty, link, md, to_markup
from resumec.docx.text import DateStyle, format_date, format_range, safe_url, xml_text
from resumec.errors import InputError, UsageError
from resumec.theme import BUILTIN_DIR, load_theme

ROOT = Path(__file__).resolve().parents[1]
FULL = json.loads((ROOT / "samples" / "full.json").read_text("utf-8"))
MINIMAL = json.loads((ROOT / "samples" / "minimal.json").read_text("utf-8"))
HOSTILE = [
    "<b>x</b>",
    "&amp;",
    "{{ 7*7 }}",
    "{% if %}",
    "<a href=\"javascript:alert(1)\">click</a>",
    "]]> <![CDATA[ x ]]>",
    "😀 emoji",
    "مرحبا بالعالم",
    "日本語のテキスト",
]


@pytest.fixture(scope="module")
def classic():
    return load_theme("classic")


def order(theme, keys=None):
    return [(key, theme.titles[key]) for key in (keys or theme.sections)]


def build(data, theme, keys=None, **kwargs) -> bytes:
    return build_docx(data, theme, order(theme, keys), **kwargs)


def read(blob: bytes):
    return docx.Document(io.BytesIO(blob))


def paragraphs(document) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in document.paragraphs]


def hyperlinks(document) -> list[tuple[str, str, list[str]]]:
    """(target, text, run style ids) for every w:hyperlink in the body."""
    found = []
    for element in document.element.body.iter(qn("w:hyperlink")):
        target = document.part.rels[element.get(qn("r:id"))].target_ref
        runs = element.findall(qn("w:r"))
        text = "".join(t.text or "" for r in runs for t in r.findall(qn("w:t")))
        styles = []
        for r in runs:
            rstyle = r.find(qn("w:rPr") + "/" + qn("w:rStyle"))
            styles.append(rstyle.get(qn("w:val")) if rstyle is not None else "")
        found.append((target, text, styles))
    return found


def external_targets(document) -> list[str]:
    return [rel.target_ref for rel in document.part.rels.values() if rel.is_external]


@pytest.fixture(scope="module")
def full_doc(classic):
    return read(build(FULL, classic))


# --- the full sample -----------------------------------------------------------------


def test_every_section_of_the_full_sample_is_present(full_doc, classic):
    paras = paragraphs(full_doc)
    text = "\n".join(t for _, t in paras)
    headings = [t for s, t in paras if s == "Heading 1"]
    assert headings == ["Summary"] + [classic.titles[k] for k in classic.sections]

    b = FULL["basics"]
    expected = [
        b["name"], b["label"], b["email"], b["phone"], "Cascais, Lisbon", "github.com/imarchetti",
        "ten years of experience",  # summary, markers consumed
        FULL["work"][0]["position"], FULL["work"][2]["name"], "Mar 2021 – Present", "Jun 2017 – Feb 2021",
        FULL["volunteer"][0]["organization"], FULL["volunteer"][0]["highlights"][0],
        "MSc in Computer Science, Universidade do Porto", "Grade: 18/20", "Formal Methods",
        FULL["awards"][0]["title"], FULL["awards"][0]["summary"],
        FULL["certificates"][0]["name"], FULL["certificates"][1]["issuer"], "May 2022",
        FULL["publications"][0]["name"], FULL["publications"][1]["publisher"],
        "Languages (Expert): Go, Java, Python, SQL", "OpenTelemetry",
        "Portuguese — Native", "日本語 (Japanese) — Conversational, JLPT N3",
        "Trail running: ultra-trails, Serra de Sintra",
        FULL["references"][0]["name"], "the engineer other engineers ask for",
        FULL["projects"][0]["name"], "Creator, Maintainer", "Technologies: Go, Redis, Lua", "Harbour Map",
    ]
    for snippet in expected:
        assert snippet in text, snippet


def test_header_layout(full_doc):
    paras = paragraphs(full_doc)
    assert paras[0] == ("Title", "Inês Marchetti")
    assert paras[1] == ("Subtitle", "Staff Software Engineer — Distributed Systems")
    style, contact = paras[2]
    assert style == "Contact"
    assert contact.split("\u00a0· ") == [
        "ines.marchetti@example.com", "+351 912 345 678", "Cascais, Lisbon", "inesmarchetti.example.com",
        "github.com/imarchetti", "linkedin.com/in/ines-marchetti",
    ]


def test_headings_use_a_restyled_heading_1(full_doc):
    style = full_doc.styles["Heading 1"]
    ppr = style.element.find(qn("w:pPr"))
    assert ppr.find(qn("w:outlineLvl")).get(qn("w:val")) == "0"
    assert ppr.find(qn("w:pBdr") + "/" + qn("w:bottom")) is not None
    assert ppr.find(qn("w:keepNext")) is not None
    fonts = style.element.find(qn("w:rPr") + "/" + qn("w:rFonts"))
    assert fonts.get(qn("w:ascii")) == "Cambria"
    assert fonts.get(qn("w:asciiTheme")) is None  # theme fonts would override the name


def test_entry_title_has_right_tab_at_text_width(full_doc):
    section = full_doc.sections[0]
    text_width = round((section.page_width - section.left_margin - section.right_margin) / 635)  # EMU → twips
    tab = full_doc.styles["Entry Title"].element.find(f"{qn('w:pPr')}/{qn('w:tabs')}/{qn('w:tab')}")
    assert tab.get(qn("w:val")) == "right"
    assert abs(int(tab.get(qn("w:pos"))) - text_width) <= 1
    job = next(p for p in full_doc.paragraphs if p.style.name == "Entry Title First")
    assert job.text == "Staff Software Engineer, Lumen Freight\tMar 2021 – Present"


def test_highlights_are_real_bullets(full_doc):
    bullets = [p for p in full_doc.paragraphs if p.style.name == "List Bullet"]
    highlights = [h for job in FULL["work"] for h in job["highlights"]]
    assert len(bullets) >= len(highlights)
    assert "Cut cloud spend for route optimisation by 38%" in bullets[1].text

    num_id = full_doc.styles["List Bullet"].element.find(f"{qn('w:pPr')}/{qn('w:numPr')}/{qn('w:numId')}")
    assert num_id is not None
    numbering = full_doc.part.numbering_part.element
    num = next(n for n in numbering.findall(qn("w:num")) if n.get(qn("w:numId")) == num_id.get(qn("w:val")))
    abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
    abstract = next(a for a in numbering.findall(qn("w:abstractNum")) if a.get(qn("w:abstractNumId")) == abstract_id)
    lvl = abstract.find(qn("w:lvl"))
    assert lvl.find(qn("w:numFmt")).get(qn("w:val")) == "bullet"
    assert lvl.find(qn("w:lvlText")).get(qn("w:val")) == "•"


def test_bold_and_italic_runs(full_doc):
    job = next(p for p in full_doc.paragraphs if p.style.name == "Entry Title First")
    assert job.runs[0].text == "Staff Software Engineer" and job.runs[0].bold
    assert not job.runs[1].bold
    bullet = next(p for p in full_doc.paragraphs if "90 seconds" in p.text)
    assert [r.text for r in bullet.runs if r.bold] == ["90 seconds"]
    assert "**" not in bullet.text
    mentored = next(p for p in full_doc.paragraphs if p.text.startswith("Mentored"))
    assert [r.text for r in mentored.runs if r.italic] == ["Architecture Decision Record"]


def test_hyperlinks_carry_the_hyperlink_character_style(full_doc):
    links = hyperlinks(full_doc)
    targets = {target: text for target, text, _ in links}
    assert targets["mailto:ines.marchetti@example.com"] == "ines.marchetti@example.com"
    assert targets["tel:+351912345678"] == "+351 912 345 678"
    assert targets["https://github.com/imarchetti"] == "github.com/imarchetti"
    assert targets["https://qcon.example.com/2023/replanning-routes"] == "qcon.example.com/2023/replanning-routes"
    hyperlink_style = full_doc.styles["Hyperlink"]
    assert hyperlink_style.type == WD_STYLE_TYPE.CHARACTER
    assert all(styles and set(styles) == {hyperlink_style.style_id} for _, _, styles in links)


def test_core_properties_are_pinned(full_doc):
    props = full_doc.core_properties
    assert props.title == "Inês Marchetti – Résumé"
    assert props.author == "Inês Marchetti"
    assert props.subject == "Staff Software Engineer — Distributed Systems"
    assert props.keywords.startswith("Go, Java, Python, SQL, Kafka")
    assert len(props.keywords) <= 255
    assert props.revision == 1
    assert props.created.year == 1980 and props.modified == props.created == props.last_printed
    assert "python-docx" not in (props.comments or "")


def test_page_setup_and_fonts(full_doc):
    section = full_doc.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    assert round(section.left_margin.cm, 2) == 1.9
    defaults = full_doc.styles.element.find(f".//{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    assert defaults.get(qn("w:eastAsia")) == "Noto Sans CJK SC"
    assert defaults.get(qn("w:ascii")) == "Calibri"
    assert defaults.get(qn("w:asciiTheme")) is None


def test_template_leftovers_are_dropped(classic):
    names = zipfile.ZipFile(io.BytesIO(build(MINIMAL, classic))).namelist()
    assert names[0] == "[Content_Types].xml"
    assert not any("thumbnail" in n or "customXml" in n or "stylesWithEffects" in n for n in names)


def test_minimal_sample(classic):
    document = read(build(MINIMAL, classic))
    assert paragraphs(document) == [
        ("Title", "Tomás Ferreira"),
        ("Subtitle", "Junior Web Developer"),
        ("Contact", "tomas.ferreira@example.com"),
        ("Heading 1", "Experience"),
        ("Entry Title First", "Web Developer, Padaria Digital\tFeb 2023 – Present"),
        ("List Bullet", "Built the online ordering site for a chain of 12 bakeries."),
    ]


# --- sections --------------------------------------------------------------------------


def test_sections_follow_the_given_order_and_titles(classic):
    pairs = [("skills", "Toolbox"), ("work", "Where I worked")]
    document = read(build_docx(FULL, classic, pairs))
    headings = [t for s, t in paragraphs(document) if s == "Heading 1"]
    assert headings == ["Summary", "Toolbox", "Where I worked"]
    assert FULL["education"][0]["institution"] not in "\n".join(p.text for p in document.paragraphs)


def test_empty_and_missing_sections_are_skipped(classic):
    data = {
        "basics": {"name": "A"},
        "work": [],
        "skills": [{}, {"name": "", "keywords": []}],
        "awards": [{"title": "Prize"}, {}],
        "languages": "not a list",
    }
    document = read(build(data, classic))
    assert [t for s, t in paragraphs(document) if s == "Heading 1"] == ["Awards"]
    assert [t for _, t in paragraphs(document)] == ["A", "Awards", "Prize"]


def test_missing_optional_fields_leave_no_stray_punctuation(classic):
    data = {"work": [{"name": "Only Org"}], "education": [{"institution": "Uni", "area": "Maths"}],
            "projects": [{"name": "P", "endDate": "2020"}]}
    texts = [t for _, t in paragraphs(read(build(data, classic)))]
    assert "Only Org" in texts
    assert "Maths, Uni" in texts
    assert "P\t2020" in texts
    assert not any(t.strip() in ("", "·", ",") or t.startswith((",", " ·")) for t in texts)


# --- hostile data ------------------------------------------------------------------------


def test_hostile_strings_appear_literally(classic):
    data = {
        "basics": {"name": HOSTILE[0], "label": " ".join(HOSTILE), "summary": " | ".join(HOSTILE)},
        "work": [{"name": h, "position": h, "highlights": HOSTILE} for h in HOSTILE[:3]],
        "skills": [{"name": "{{ name }}", "keywords": HOSTILE}],
    }
    document = read(build_docx(data, classic, [("work", "<i>Work</i> & {{ x }}"), ("skills", "Skills")]))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "<i>Work</i> & {{ x }}" in text
    for hostile in HOSTILE:
        assert hostile in text, hostile
    assert "49" not in text
    body = document.element.body
    assert not any(r.get(qn("r:id")) for r in body.iter(qn("w:hyperlink")))
    assert all(el.tag != qn("w:b") for p in document.paragraphs if p.text == "<b>x</b>" for el in p._p.iter())


def test_control_characters_are_dropped(classic):
    data = {"basics": {"name": "Ana\x01 Lima\x0b\x1f\ufffe", "label": "tab\there"},
            "work": [{"name": "Org\x00", "highlights": ["x\x08y"]}]}
    document = read(build(data, classic))
    texts = [t for _, t in paragraphs(document)]
    assert texts[0] == "Ana Lima"
    assert texts[1] == "tab here"  # data tabs become spaces, not tab stops
    assert "xy" in texts


def test_newlines_in_data_become_line_breaks(classic):
    data = {"basics": {"name": "N", "summary": "first line\nsecond line"}}
    document = read(build(data, classic))
    summary = next(p for p in document.paragraphs if p.style.name == "Summary")
    assert summary.text == "first line\nsecond line"
    assert len(summary._p.findall(f".//{qn('w:br')}")) == 1


def test_unsafe_links_never_become_hyperlinks(classic):
    data = {
        "basics": {
            "name": "N",
            "url": "javascript:alert(1)",
            "email": "x@example.com",
            "summary": "[click](javascript:alert(document.cookie)) and [data](data:text/html,hi) and [ok](https://ok.example/a?b=1&c=2)",
            "profiles": [{"network": "A", "url": " JavaScript:alert(2)"}, {"network": "B", "url": "file:///etc/passwd"},
                         {"network": "C", "url": "java\nscript:alert(3)"}],
        },
        "work": [{"name": "W", "url": "data:text/html;base64,PHNjcmlwdD4="}],
    }
    document = read(build(data, classic))
    targets = external_targets(document)
    assert sorted(targets) == ["https://ok.example/a?b=1&c=2", "mailto:x@example.com"]
    text = "\n".join(p.text for p in document.paragraphs)
    assert "click and data and ok" in text  # link text kept, markers gone
    assert "javascript:alert(1)" in text  # printed as plain text, not linked


def test_builder_rechecks_href_in_markup():
    block = parse('<p><a href="javascript:alert(1)">x</a> <a href="https://a.example">y</a></p>')[0]
    assert [(r.text, r.href) for r in block.runs] == [("x ", None), ("y", "https://a.example")]


# --- reproducibility ---------------------------------------------------------------------


def test_rebuilds_are_byte_identical(classic):
    first = build(FULL, classic, epoch=1_700_000_000)
    second = build(copy.deepcopy(FULL), load_theme("classic"), epoch=1_700_000_000)
    assert first == second


def test_zip_entries_are_pinned_to_the_epoch(classic):
    blob = build(MINIMAL, classic, epoch=1_700_000_000)
    infos = zipfile.ZipFile(io.BytesIO(blob)).infolist()
    assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}
    assert read(blob).core_properties.created.isoformat().startswith("2023-11-14T22:13:20")
    assert build(MINIMAL, classic, epoch=1_700_000_002) != blob
    early = zipfile.ZipFile(io.BytesIO(build(MINIMAL, classic, epoch=0))).infolist()
    assert {i.date_time for i in early} == {(1980, 1, 1, 0, 0, 0)}


# --- options: paper and language -----------------------------------------------------------


def test_paper_override(classic):
    section = read(build(MINIMAL, classic, paper="letter")).sections[0]
    assert round(section.page_width.inches, 2) == 8.5 and round(section.page_height.inches, 2) == 11.0
    with pytest.raises(UsageError):
        build(MINIMAL, classic, paper="a5")


def test_locale_changes_dates_and_labels(classic):
    data = {"education": [{"institution": "Uni", "startDate": "2019-03", "courses": ["A"]}],
            "basics": {"name": "N", "summary": "S"}}
    document = read(build(data, classic, lang="de"))
    texts = [t for _, t in paragraphs(document)]
    assert "Uni\tMärz 2019 – heute" in texts
    assert "Kurse: A" in texts
    assert "Profil" in texts
    lang = document.styles.element.find(f".//{qn('w:rPrDefault')}//{qn('w:lang')}")
    assert lang.get(qn("w:val")) == "de"


# --- helpers used by templates -------------------------------------------------------------


def test_md_converts_markers_and_escapes_everything_else():
    assert md("**bold** and *it* and [x](https://e.example)") == (
        '<b>bold</b> and <i>it</i> and <a href="https://e.example">x</a>'
    )
    assert md("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert md("<b>not bold</b>") == "&lt;b&gt;not bold&lt;/b&gt;"
    assert md("**<i>x</i>**") == "<b>&lt;i&gt;x&lt;/i&gt;</b>"
    assert md("5 * 3 * 2") == "5 * 3 * 2"
    assert md("*a **b** c*") == "<i>a <b>b</b> c</i>"
    assert md("***both***") == "<b><i>both</i></b>"
    assert md(r"\*literal\*") == "*literal*"
    assert md("[t](javascript:alert(1))") == "t"
    assert md('[t](https://e.example/"onclick=x)') == '<a href="https://e.example/&#34;onclick=x">t</a>'
    assert md("one\ntwo") == "one<br/>two"
    assert md("a\x00b") == "ab"
    assert md(None) == ""


def test_link_and_join_helpers():
    assert link("https://a.example/x/", None) == '<a href="https://a.example/x/">a.example/x</a>'
    assert link("mailto:a@b.example", "a@b.example") == '<a href="mailto:a@b.example">a@b.example</a>'
    assert link("javascript:alert(1)", "<x>") == "&lt;x&gt;"
    assert link("ftp://a.example", "f") == "f"
    assert join_nonempty(["a", "", None, "<b>", link("https://x.example", "x")]) == (
        'a · &lt;b&gt; · <a href="https://x.example">x</a>'
    )
    assert to_markup("x\ty\nz") == "x y<br/>z"


def test_safe_url():
    assert safe_url("https://a.example") == "https://a.example"
    assert safe_url("HTTP://A.example") == "HTTP://A.example"
    assert safe_url("tel:+1 555") == "tel:+1%20555"
    for bad in ("javascript:x", " jAvAscript:x", "java\tscript:x", "data:,x", "file:///x", "vbscript:x",
                "//evil.example", "relative/path", "", None, 42, "https:"):
        assert safe_url(bad) is None, bad


def test_dates():
    style = DateStyle()
    assert format_date("2013-12-01", style) == "Dec 2013"
    assert format_date("2013", style) == "2013"
    assert format_date("Summer 2013", style) == "Summer 2013"
    assert format_range("2013-12", None, style) == "Dec 2013 – Present"
    assert format_range("2013-12", "2013-12", style) == "Dec 2013"
    assert format_range(None, None, style) == ""
    assert format_date("2019-04-03", DateStyle(format="D MMMM YYYY")) == "3 April 2019"
    assert format_date("2019-04", DateStyle(format="MMM D, YYYY")) == "Apr 2019"
    assert format_date("2019", DateStyle(format="YYYY-MM-DD")) == "2019"
    assert format_date("2019-04", DateStyle(format="MMMM [de] YYYY", months_long=("abril",) * 12)) == "abril de 2019"


def test_xml_text_drops_what_xml_cannot_hold():
    assert xml_text("a\x00\x01\x0b\x0c\x1fb\ud800\ufffe\uffffc\r\nd\re\tf") == "abc\nd\ne\tf"
    assert xml_text("𝄞 😀 ok") == "𝄞 😀 ok"


# --- the markup language --------------------------------------------------------------------


def test_markup_whitespace_collapses_like_html():
    blocks = parse("""
        <p style="X">
            <b>Title</b> ,   more
            text <tab/>   right   </p>
        <p>   </p>
        <bullet> item <br/> next </bullet>
    """)
    assert [(b.kind, b.style, b.text) for b in blocks] == [
        ("p", "X", "Title , more text\tright"),
        ("bullet", "List Bullet", "item\nnext"),
    ]
    assert blocks[0].runs[0].bold and not blocks[0].runs[1].bold


def test_markup_drops_trailing_tabs_and_empty_blocks():
    blocks = parse("<p>Title<tab/><span style='Entry Date'> </span></p><p><tab/></p><bullet><b></b></bullet>")
    assert [b.text for b in blocks] == ["Title"]


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ("<div>x</div>", "not a block element"),
        ("loose text", "text outside a block"),
        ("<p>x</p> tail", "text outside a block"),
        ("<p><blink>x</blink></p>", "not allowed inside <p>"),
        ("<p><a href='https://a'><a href='https://b'>x</a></a></p>", "cannot be nested"),
        ("<p onclick='x'>x</p>", "no attribute 'onclick'"),
        ("<p>R&D</p>", "invalid markup"),
        ("<p>unclosed", "invalid markup"),
    ],
)
def test_markup_errors(markup, message):
    with pytest.raises(MarkupError, match=re.escape(message)):
        parse(markup)


# --- broken themes ---------------------------------------------------------------------------


@pytest.fixture
def theme_dir(tmp_path: Path) -> Path:
    target = tmp_path / "t"
    shutil.copytree(BUILTIN_DIR / "classic", target)
    return target


def write_template(theme_dir: Path, name: str, text: str) -> None:
    (theme_dir / "templates").mkdir(exist_ok=True)  # classic has no templates of its own
    (theme_dir / "templates" / name).write_text(text, encoding="utf-8")


def test_template_syntax_error_names_file_and_line(theme_dir: Path):
    write_template(theme_dir, "work.xml.j2", "<p>ok</p>\n<p>{{ title </p>\n")
    with pytest.raises(InputError) as info:
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])
    assert info.value.message.startswith(f"{theme_dir}/templates/work.xml.j2:2: ")


def test_sandbox_blocks_attribute_escapes(theme_dir: Path):
    write_template(theme_dir, "work.xml.j2", "<p>{{ title.__class__.__mro__ }}</p>\n<p>{{ items.append(1) }}</p>\n")
    with pytest.raises(InputError) as info:
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])
    assert "work.xml.j2" in info.value.message
    assert "SecurityError" in info.value.message or "unsafe" in info.value.message


def test_safe_filter_is_not_available(theme_dir: Path):
    write_template(theme_dir, "work.xml.j2", "<p>{{ title | safe }}</p>\n")
    with pytest.raises(InputError, match="No filter named 'safe'"):
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])


def test_template_outside_the_theme_is_refused(theme_dir: Path, tmp_path: Path):
    secret = tmp_path / "secret.xml.j2"
    secret.write_text("<p>secret</p>", encoding="utf-8")
    write_template(theme_dir, "work.xml.j2", '{% include "leak.xml.j2" %}')
    os.symlink(secret, theme_dir / "templates" / "leak.xml.j2")
    with pytest.raises(InputError, match="leak.xml.j2"):
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])
    write_template(theme_dir, "work.xml.j2", '{% include "../../secret.xml.j2" %}')
    with pytest.raises(InputError):
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])


def test_missing_template_and_undefined_style(theme_dir: Path):
    toml = theme_dir / "theme.toml"
    toml.write_text(toml.read_text("utf-8").replace('extends = "_base"', ""), "utf-8")  # no templates anywhere
    with pytest.raises(InputError, match="has no template header.xml.j2"):
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])
    write_template(theme_dir, "header.xml.j2", "<p>{{ basics.name }}</p>")
    with pytest.raises(InputError, match=r"has no template entry.xml.j2 \(looked in: .*/templates\)"):
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])
    write_template(theme_dir, "work.xml.j2", '<p style="Nonexistent">{{ title }}</p>')
    with pytest.raises(InputError, match="paragraph style 'Nonexistent'"):
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])
    write_template(theme_dir, "work.xml.j2", '<p><span style="Nope">{{ title }}</span></p>')
    with pytest.raises(InputError, match="character style 'Nope'"):
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])


def test_invalid_markup_from_a_template(theme_dir: Path):
    write_template(theme_dir, "work.xml.j2", "<p>{{ title }}</b>")
    with pytest.raises(InputError) as info:
        build(MINIMAL, load_theme(str(theme_dir)), ["work"])
    assert "templates/work.xml.j2: invalid markup" in info.value.message


def test_child_theme_overrides_one_template(tmp_path: Path, classic):
    child = tmp_path / "child"
    (child / "templates").mkdir(parents=True)
    (child / "theme.toml").write_text('[theme]\nname = "child"\nextends = "classic"\n[colors]\naccent = "800000"\n')
    (child / "templates" / "skills.xml.j2").write_text(
        '<p>{{ title }}: {{ entries | map(attribute="title") | join_nonempty("; ") }}</p>')
    theme = load_theme(str(child))
    document = read(build(FULL, theme, ["work", "skills"]))
    texts = [t for _, t in paragraphs(document)]
    headings = [t for s, t in paragraphs(document) if s == "Heading 1"]
    assert headings == ["Summary", "Experience", "Skills"]  # the builder's, not the template's
    assert texts[-1] == "Skills: Languages; Distributed systems; Infrastructure; Practices"
    color = document.styles["Title"].element.find(f"{qn('w:rPr')}/{qn('w:color')}")
    assert color.get(qn("w:val")) == "800000"


# --- composable themes: shapes, overrides, the base, headings --------------------------------


def make_theme(folder: Path, toml: str, templates: dict[str, str] | None = None):
    folder.mkdir(parents=True)
    (folder / "theme.toml").write_text(toml, "utf-8")
    if templates:
        (folder / "templates").mkdir()
        for name, text in templates.items():
            (folder / "templates" / name).write_text(text, "utf-8")
    return load_theme(str(folder))


def test_a_theme_extending_the_base_with_no_templates_of_its_own(tmp_path: Path, classic):
    bare = make_theme(tmp_path / "bare", '[theme]\nname = "bare"\nextends = "_base"\n')
    document = read(build(FULL, bare))
    paras = paragraphs(document)
    headings = [t for s, t in paras if s == "Heading 1"]
    assert headings == ["Summary"] + [bare.titles[k] for k in bare.sections]  # every section, from the base alone
    texts = [t for _, t in paras]
    for expected in ("MSc in Computer Science, Universidade do Porto\tSep 2012 – Jul 2014", "Grade: 18/20 · up.pt",
                     "Languages (Expert): Go, Java, Python, SQL", "Portuguese — Native",
                     "— Joana Ribeiro, VP Engineering", "Technologies: Go, Redis, Lua"):
        assert expected in texts, expected
    # classic is the base's templates with classic's styles: the same paragraphs, another look.
    assert paras == paragraphs(read(build(FULL, classic)))
    assert bare.config["styles"]["Heading 1"].get("border_bottom") is None
    assert "border_bottom" in classic.config["styles"]["Heading 1"]


def test_a_custom_theme_that_overrides_only_one_section(tmp_path: Path):
    modern = load_theme("modern")
    custom = make_theme(
        tmp_path / "mine", '[theme]\nname = "mine"\nextends = "modern"\n',
        {"references.xml.j2": "{% for e in entries %}<p style=\"Entry Body\">{{ e.name }}: {{ e.quote | md }}</p>"
                              "{% endfor %}"},
    )
    ours, theirs = paragraphs(read(build(FULL, custom))), paragraphs(read(build(FULL, modern)))
    cut = ours.index(("Heading 1", "References"))
    assert ours[: cut + 1] == theirs[: cut + 1]  # every other section exactly as modern prints it
    assert ours[cut + 1 :] == [("Entry Body", f"{FULL['references'][0]['name']}: {FULL['references'][0]['reference']}")]
    assert theirs[cut + 1 :] == [("Reference", f"“{FULL['references'][0]['reference']}”"),
                                 ("Reference Name", f"— {FULL['references'][0]['name']}")]


def test_the_nearest_theme_decides_which_template_a_section_uses(tmp_path: Path):
    from resumec.docx.document import section_template

    compact = load_theme("compact")
    assert section_template(compact, "skills", "group") == "skills.xml.j2"  # compact overrides skills
    assert section_template(compact, "languages", "group") == "group.xml.j2"
    assert section_template(compact, "references", "quote") == "quote.xml.j2"
    assert section_template(load_theme("modern"), "references", "quote") == "quote.xml.j2"  # the base's
    child = make_theme(tmp_path / "c", '[theme]\nextends = "compact"\n',
                       {"group.xml.j2": "{% for e in entries %}<p>{{ e.title }}</p>{% endfor %}"})
    assert section_template(child, "skills", "group") == "group.xml.j2"  # the child redesigned groups
    texts = [t for _, t in paragraphs(read(build(FULL, child, ["skills", "languages"])))]
    assert texts[-10:] == ["Skills", "Languages", "Distributed systems", "Infrastructure", "Practices",
                           "Languages", "Portuguese", "English", "Italian", "日本語 (Japanese)"]


def test_headings_come_from_the_builder_in_the_themes_style(tmp_path: Path):
    theme = make_theme(
        tmp_path / "h",
        '[theme]\nextends = "classic"\n[sections]\nheading_style = "Section"\n'
        '[styles.Section]\nbased_on = "Heading 1"\ncolor = "800000"\n',
        {"interests.xml.j2": "{# prints nothing #}"},
    )
    paras = paragraphs(read(build(FULL, theme)))
    headings = [t for s, t in paras if s == "Section"]
    shown = [k for k in theme.sections if k != "interests"]
    assert headings == ["Summary"] + [theme.titles[k] for k in shown]  # the header's summary heading too
    assert not [t for s, t in paras if s == "Heading 1"]  # no template writes a heading of its own
    assert "Interests" not in [t for _, t in paras]  # a section that prints nothing gets no heading
    # Titles from --sections / meta.sections are escaped text like any other.
    document = read(build_docx(FULL, theme, [("skills", "<b>Tools</b> & {{ x }}\tnow")]))
    assert ("Section", "<b>Tools</b> & {{ x }} now") in paragraphs(document)


def test_heading_style_empty_leaves_headings_to_the_templates(tmp_path: Path):
    theme = make_theme(
        tmp_path / "old",
        '[theme]\nextends = "classic"\n[sections]\nheading_style = ""\n',
        {"skills.xml.j2": '<p style="Heading 1">{{ title }}!</p>'},
    )
    paras = paragraphs(read(build(FULL, theme, ["work", "skills"])))
    assert [t for s, t in paras if s == "Heading 1"] == ["Summary", "Skills!"]  # work: no heading at all
    assert ("Entry Title First", "Staff Software Engineer, Lumen Freight\tMar 2021 – Present") in paras


def test_an_undefined_heading_style_is_a_theme_error(tmp_path: Path):
    theme = make_theme(tmp_path / "bad", '[theme]\nextends = "classic"\n[sections]\nheading_style = "Nope"\n')
    with pytest.raises(InputError) as info:
        build(MINIMAL, theme)
    assert info.value.message == (f"{tmp_path / 'bad'}/theme.toml: [sections] heading_style names paragraph style "
                                  "'Nope', which neither its [styles] nor Word's defaults define")


# --- end to end with LibreOffice ------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice or poppler not installed")
def test_libreoffice_renders_text_links_and_cjk(tmp_path: Path, classic):
    source = tmp_path / "full.docx"
    source.write_bytes(build(FULL, classic))
    profile = tmp_path / f"lo-{uuid.uuid4().hex}"
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )
    pdf = tmp_path / "full.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.split())
    assert "Inês Marchetti" in flat
    assert "Designed an idempotent ledger service" in flat
    assert "日本語" in flat
    raw = pdf.read_bytes()
    assert b"/URI(mailto:ines.marchetti@example.com)" in raw.replace(b" ", b"")
    assert b"/URI(https://github.com/imarchetti)" in raw.replace(b" ", b"")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True).stdout.decode()
    assert "Carlito" in fonts and "Caladea" in fonts
    assert "NotoSansCJK" in fonts  # CJK text got a real font, not tofu
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True).stdout.decode()
    assert re.search(r"^Pages:\s+2$", info, re.M)


# --- the photo in markup -------------------------------------------------------------------------


def test_photo_markup_is_a_run_and_disappears_without_a_photo():
    blocks = parse('<p style="Title"><photo/>Name</p><p><photo/></p><p>x<tab/><photo/></p>')
    assert [[r.kind for r in b.runs] for b in blocks] == [["photo", "text"], ["photo"], ["text", "tab", "photo"]]
    without = parse('<p style="Title"><photo/>Name</p><p><photo/></p><p>x<tab/><photo/></p>', photo=False)
    assert [b.text for b in without] == ["Name", "x"]  # the photo-only paragraph and the dangling tab go
    with pytest.raises(MarkupError, match="must be empty"):
        parse("<p><photo>x</photo></p>")


def test_inline_photo_is_sized_and_cropped(tmp_path: Path):
    theme_dir = tmp_path / "t"
    shutil.copytree(BUILTIN_DIR / "classic", theme_dir)
    toml = theme_dir / "theme.toml"
    toml.write_text(toml.read_text("utf-8") + '\n[photo]\nwidth = "2cm"\nheight = "2cm"\n', "utf-8")
    header = theme_dir / "templates" / "header.xml.j2"
    header.parent.mkdir()
    header.write_text('<p style="Title">{{ basics.name }}<tab/><photo/></p>', "utf-8")
    shutil.copy(ROOT / "samples" / "photo.png", tmp_path / "me.png")  # 240×300: taller than the box
    theme = load_theme(str(theme_dir))
    document = read(build({"basics": {"name": "N", "image": "me.png"}}, theme, [], base_dir=tmp_path))
    inline = document.paragraphs[0]._p.find(f".//{qn('wp:inline')}")
    extent = inline.find(qn("wp:extent"))
    assert int(extent.get("cx")) == int(extent.get("cy")) == round(2 / 2.54 * 72 * 12700)
    src_rect = inline.find(f".//{qn('a:srcRect')}")
    assert int(src_rect.get("t")) + int(src_rect.get("b")) == 20000  # 1 - 240/300 of the height, in 1/1000 %
    assert document.paragraphs[0].text == "N\t"
    # No photo in the résumé: the markup leaves no trace.
    plain = read(build({"basics": {"name": "N"}}, theme, []))
    assert plain.paragraphs[0].text == "N"
    assert not plain.inline_shapes


def test_a_broken_image_is_an_input_error(tmp_path: Path):
    (tmp_path / "me.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 10)
    with pytest.raises(InputError, match="not a valid PNG or JPEG"):
        build({"basics": {"name": "N", "image": "me.png"}}, load_theme("modern"), [], base_dir=tmp_path)
