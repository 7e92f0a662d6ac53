"""The built-in themes end to end: real LibreOffice, PDFs and DOCX files read back.

Each theme is built once per paper size (module fixtures), so the whole file
costs a handful of conversions; the other checks read those files back.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from conftest import SAMPLES, pdfinfo, pdftotext, run_cli
from resumec.assets import photo_path
from resumec.docx import build_docx
from resumec.errors import InputError
from resumec.pipeline import Options, compile
from resumec.theme import BUILTIN_DIR, builtin_themes, load_theme, localized

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdffonts") is None,
    reason="LibreOffice or poppler not installed",
)

THEMES = ("classic", "modern", "compact")
FULL = json.loads((SAMPLES / "full.json").read_text("utf-8"))
LANGS = ("de", "fr", "es", "pt", "it", "nl")
# Word's families and their metric-compatible stand-ins: the only fonts a theme may name.
METRIC_SAFE = {"Calibri", "Cambria", "Arial", "Times New Roman", "Courier New"}
MD_LINK = "https://talks.example.com/replanning"
A4 = (595.3, 841.9)
LETTER = (612.0, 792.0)


def order(theme) -> list[tuple[str, str]]:
    return [(key, theme.titles[key]) for key in theme.sections]


def with_markdown_link(data: dict) -> dict:
    """The full sample with a Markdown link in a highlight (same length, so the same page count)."""
    data = copy.deepcopy(data)
    data["work"][0]["highlights"][2] = f"Introduced [SLOs and error budgets]({MD_LINK}) for 14 services."
    return data


def build(tmp: Path, source: Path, theme: str, **options) -> Path:
    """One real pipeline run (no cache) writing DOCX and PDF into tmp; returns the PDF."""
    result = compile(source, Options(theme=theme, formats=("docx", "pdf"), output=tmp, use_cache=False, **options))
    assert result.ok
    return tmp / f"{source.stem}.pdf"


@pytest.fixture(scope="module")
def a4(tmp_path_factory) -> dict[str, Path]:
    """samples/full.json through every built-in theme, on the theme's own paper (A4)."""
    return {name: build(tmp_path_factory.mktemp(f"a4-{name}"), SAMPLES / "full.json", name) for name in THEMES}


@pytest.fixture(scope="module")
def letter(tmp_path_factory) -> dict[str, Path]:
    """The full sample plus a Markdown link, on US Letter."""
    folder = tmp_path_factory.mktemp("letter-src")
    source = folder / "full.json"
    source.write_text(json.dumps(with_markdown_link(FULL), ensure_ascii=False), "utf-8")
    return {name: build(tmp_path_factory.mktemp(f"letter-{name}"), source, name, paper="letter") for name in THEMES}


@pytest.fixture(scope="module")
def photo_build(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("photo"), SAMPLES / "photo.json", "modern")


def text_of(pdf: Path) -> str:
    return " ".join(pdftotext(pdf).split())


def fonts_of(pdf: Path) -> list[tuple[str, str]]:
    """(font name, emb) for every row of pdffonts."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True).stdout.decode()
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type… encoding emb sub uni object ID: emb is the fifth field from the end
        rows.append((parts[0], parts[-5]))
    return rows


def page_size(pdf: Path) -> tuple[float, float]:
    m = re.match(r"([\d.]+) x ([\d.]+) pts", pdfinfo(pdf)["Page size"])
    return float(m.group(1)), float(m.group(2))


# --- the catalogue -------------------------------------------------------------------------


def test_at_least_three_builtin_themes_each_with_a_one_line_description():
    found = dict(builtin_themes())
    assert set(THEMES) <= set(found)
    for name in THEMES:
        assert found[name].strip() and "\n" not in found[name] and len(found[name]) < 100, name
    assert "_locales" not in found and "_base" not in found  # shared parts, not themes to pick
    listed = run_cli("themes").stdout.decode()
    assert "_base" not in listed and all(name in listed for name in THEMES)


@pytest.mark.parametrize("name", THEMES)
def test_themes_name_only_metric_compatible_fonts(name):
    fonts = load_theme(name).config["fonts"]
    for role, family in fonts.items():
        if role == "east_asian":
            assert family.startswith("Noto "), family  # CJK: Word falls back to its own CJK font
        else:
            assert family in METRIC_SAFE, (role, family)


@pytest.mark.parametrize("name", THEMES)
def test_a_copied_theme_folder_works_standalone(name, tmp_path):
    """`resumec theme new X --from NAME` copies the folder; the copy must load and build."""
    copy_dir = tmp_path / "mine"
    shutil.copytree(BUILTIN_DIR / name, copy_dir)
    theme = load_theme(str(copy_dir))
    assert theme.fingerprint == load_theme(name).fingerprint  # same bytes, same output
    document = docx.Document(io.BytesIO(build_docx(FULL, theme, order(theme))))
    assert document.paragraphs[0].text == FULL["basics"]["name"]


def test_theme_new_from_modern_still_builds(tmp_path):
    """The copy keeps `extends = "_base"`, which must still find the installed base."""
    proc = run_cli("theme", "new", "mine", "--from", "modern", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    folder = tmp_path / "mine"
    assert 'extends = "_base"' in (folder / "theme.toml").read_text("utf-8")
    assert sorted(p.name for p in (folder / "templates").iterdir()) == ["entry.xml.j2", "group.xml.j2", "header.xml.j2"]
    out = tmp_path / "out"
    proc = run_cli("compile", str(SAMPLES / "photo.json"), "--theme", str(folder), "-o", f"{out}/", "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    text = text_of(out / "photo.pdf")
    assert FULL["references"][0]["name"] in text  # references: the base's quote.xml.j2
    assert "Languages Go · Java · Python · SQL — Expert" in text  # skills: the copy's own group.xml.j2
    document = docx.Document(str(out / "photo.docx"))
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"][:2] == ["Summary", "Experience"]
    assert document.paragraphs[0]._p.find(f".//{qn('w:drawing')}") is not None  # the photo, from the copied header
    assert load_theme(str(folder)).fingerprint == load_theme("modern").fingerprint  # same bytes, same cache key


def test_a_copy_that_extends_a_builtin_by_name_resolves_it(tmp_path):
    folder = tmp_path / "navy"
    folder.mkdir()
    (folder / "theme.toml").write_text('[theme]\nname = "navy"\nextends = "modern"\n[colors]\naccent = "000080"\n')
    theme = load_theme(str(folder))
    assert theme.config["fonts"]["body"] == "Arial"
    document = docx.Document(io.BytesIO(build_docx(FULL, theme, order(theme))))
    assert any(p.style.name == "Label Row" for p in document.paragraphs)  # modern's templates


# --- locales -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", THEMES)
def test_every_theme_speaks_every_language(name):
    theme = load_theme(name)
    english = localized(theme.config, None)
    for lang in LANGS:
        config = localized(theme.config, lang)
        assert config["dates"]["present"] != english["dates"]["present"], lang
        assert len(config["dates"]["months"]) == 12 and config["dates"]["months"] != english["dates"]["months"]
        assert config["titles"]["work"] != english["titles"]["work"], lang
        assert config["labels"]["courses"] != english["labels"]["courses"], lang


def test_a_theme_overrides_a_shared_locale(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "theme.toml").write_text('[locales.de.dates]\npresent = "jetzt"\n[locales.DE.titles]\nwork = "Praxis"\n')
    config = localized(load_theme(str(folder)).config, "de-CH")
    assert config["dates"]["present"] == "jetzt"
    assert config["dates"]["months"][2] == "März"  # the rest of the shared locale still applies
    assert config["titles"]["work"] == "Praxis"


@pytest.mark.parametrize("name", THEMES)
def test_german_dates_in_the_docx(name):
    theme = load_theme(name)
    document = docx.Document(io.BytesIO(build_docx(FULL, theme, order(theme), lang="de")))
    text = "\n".join(p.text for p in document.paragraphs)
    assert re.search(r"März 2021 ?– ?heute", text), text[:400]
    assert "Dez. 2019" in text


def test_german_month_names_reach_the_pdf(tmp_path):
    pdf = build(tmp_path, SAMPLES / "full.json", "compact", lang="de")
    text = text_of(pdf)
    assert "März 2021–heute" in text
    assert "Dez. 2019" in text
    for title in ("Berufserfahrung", "Kenntnisse", "Publikationen", "Sprachen", "Interessen", "Referenzen"):
        assert title.lower() in text.lower(), title


# --- the PDFs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", THEMES)
def test_every_section_reaches_the_pdf_text_layer(a4, name):
    text = text_of(a4[name]).lower()
    probes = [
        FULL["basics"]["name"],
        FULL["basics"]["label"],
        "ten years of experience",
        FULL["work"][0]["position"],
        FULL["work"][0]["name"],
        FULL["work"][0]["highlights"][2],
        FULL["volunteer"][0]["organization"],
        FULL["education"][0]["institution"],
        FULL["awards"][0]["title"],
        FULL["certificates"][0]["name"],
        FULL["publications"][0]["name"],
        FULL["skills"][0]["name"],
        FULL["skills"][1]["keywords"][1],
        FULL["languages"][3]["language"],
        FULL["interests"][0]["name"],
        FULL["references"][0]["name"],
        FULL["projects"][0]["name"],
        FULL["projects"][1]["name"],
    ]
    # Headings too: letter-spaced capitals must not come apart ("CE RT IFICATES") in the text layer.
    theme = load_theme(name)
    probes += [theme.titles[key] for key in theme.sections if FULL.get(key)]
    for probe in probes:
        assert " ".join(probe.lower().split()) in text, (name, probe)
    assert "**" not in text


@pytest.mark.parametrize("name", THEMES)
def test_page_counts(a4, letter, name):
    pages_a4 = int(pdfinfo(a4[name])["Pages"])
    pages_letter = int(pdfinfo(letter[name])["Pages"])
    if name == "compact":
        assert (pages_a4, pages_letter) == (1, 1)
    else:  # two full pages: no third page holding only the references
        assert (pages_a4, pages_letter) == (2, 2)


@pytest.mark.parametrize("name", THEMES)
def test_paper_sizes(a4, letter, name):
    assert page_size(a4[name]) == pytest.approx(A4, abs=0.5)
    assert page_size(letter[name]) == pytest.approx(LETTER, abs=0.5)


@pytest.mark.parametrize("name", THEMES)
def test_fonts_are_embedded_and_cjk_gets_a_real_font(a4, name):
    rows = fonts_of(a4[name])
    assert rows
    assert all(emb == "yes" for _, emb in rows), rows
    names = " ".join(font for font, _ in rows)
    assert "CJK" in names  # 日本語 in the languages section
    expected = {"classic": ("Carlito", "Caladea"), "modern": ("LiberationSans",), "compact": ("LiberationSerif",)}
    for family in expected[name]:
        assert family in names, names


@pytest.mark.parametrize("name", THEMES)
def test_metadata_and_tagging(a4, name):
    info = pdfinfo(a4[name])
    assert info["Title"] == "Inês Marchetti – Résumé"
    assert info["Author"] == "Inês Marchetti"
    assert info["Subject"] == FULL["basics"]["label"]
    assert info["Tagged"] == "yes"
    keywords = [k.replace("\u00a0", " ") for k in info["Keywords"].split(", ")]
    assert "event sourcing" in keywords  # not split at the space by LibreOffice
    assert "SLOs and error budgets" in keywords
    assert "and" not in keywords and "sourcing" not in keywords


@pytest.mark.parametrize("name", THEMES)
def test_markdown_links_are_clickable_in_the_pdf(letter, name):
    raw = letter[name].read_bytes().replace(b" ", b"")
    assert f"/URI({MD_LINK})".encode() in raw
    assert b"/URI(https://github.com/imarchetti)" in raw
    assert "Introduced SLOs and error budgets for 14 services." in text_of(letter[name])


# --- the DOCX files: ATS-safe structure, Markdown, links ------------------------------------------


@pytest.mark.parametrize("name", THEMES)
def test_docx_is_single_column_and_ats_safe(a4, name):
    path = a4[name].with_suffix(".docx")
    document = docx.Document(str(path))
    assert not document.tables
    xml = zipfile.ZipFile(path).read("word/document.xml").decode()
    for marker in ("txbxContent", "<v:textbox", "<wps:txbx", "w:framePr", "<w:drawing"):
        assert marker not in xml, marker
    assert not re.search(r'<w:cols [^>]*w:num="[2-9]', xml)
    # Real headings, in reading order: the theme's section order.
    theme = load_theme(name)
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    sections = [theme.titles[k] for k in theme.sections if FULL.get(k)]
    assert [h for h in headings if h != theme.config["titles"]["summary"]] == sections
    assert document.styles["Heading 1"].element.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}") is not None
    # Real lists: highlights are List Bullet paragraphs with numbering, not typed bullets.
    bullets = [p for p in document.paragraphs if p.style.name == "List Bullet"]
    assert len(bullets) >= sum(len(j["highlights"]) for j in FULL["work"])
    assert not any(p.text.startswith(("•", "▪", "-")) for p in bullets)
    assert document.styles["List Bullet"].element.find(f"{qn('w:pPr')}/{qn('w:numPr')}") is not None
    assert document.paragraphs[0].text == FULL["basics"]["name"]


@pytest.mark.parametrize("name", THEMES)
def test_markdown_bold_italic_and_links_in_the_docx(name):
    theme = load_theme(name)
    document = docx.Document(io.BytesIO(build_docx(with_markdown_link(FULL), theme, order(theme))))
    runs = [r for p in document.paragraphs for r in p.runs]
    assert any(r.bold and r.text == "ten years" for r in runs)
    assert any(r.bold and r.text == "90 seconds" for r in runs)
    assert any(r.italic and r.text == "Architecture Decision Record" for r in runs)
    assert not any("**" in p.text for p in document.paragraphs)
    links = {}
    for element in document.element.body.iter(qn("w:hyperlink")):
        target = document.part.rels[element.get(qn("r:id"))].target_ref
        links[target] = "".join(t.text or "" for t in element.iter(qn("w:t")))
    assert links[MD_LINK] == "SLOs and error budgets"
    assert links["mailto:ines.marchetti@example.com"] == "ines.marchetti@example.com"
    hyperlink_id = document.styles["Hyperlink"].style_id
    for element in document.element.body.iter(qn("w:hyperlink")):
        styles = {r.get(qn("w:val")) for r in element.iter(qn("w:rStyle"))}
        assert styles == {hyperlink_id}


# --- the photo -----------------------------------------------------------------------------------


def test_modern_shows_the_photo(photo_build):
    path = photo_build.with_suffix(".docx")
    names = zipfile.ZipFile(path).namelist()
    assert [n for n in names if n.startswith("word/media/")] == ["word/media/image1.png"]
    document = docx.Document(str(path))
    drawing = document.paragraphs[0]._p.find(f".//{qn('w:drawing')}")
    assert drawing is not None  # anchored to the name's paragraph
    doc_pr = drawing.find(f".//{qn('wp:docPr')}")
    assert doc_pr.get("descr") == "Photo of Inês Marchetti"
    assert document.paragraphs[0].text == "Inês Marchetti"
    assert not document.tables
    images = subprocess.run(["pdfimages", "-list", str(photo_build)], capture_output=True, text=True)
    if images.returncode == 0:
        assert len(images.stdout.strip().splitlines()) >= 3  # two header lines, then the photo
    assert int(pdfinfo(photo_build)["Pages"]) <= 2


@pytest.mark.parametrize("name", ["classic", "compact"])
def test_themes_without_a_photo_slot_ignore_it(name):
    data = json.loads((SAMPLES / "photo.json").read_text("utf-8"))
    theme = load_theme(name)
    blob = build_docx(data, theme, order(theme), base_dir=SAMPLES)
    assert not [n for n in zipfile.ZipFile(io.BytesIO(blob)).namelist() if n.startswith("word/media/")]


def test_photo_changes_the_docx(tmp_path):
    theme = load_theme("modern")
    data = json.loads((SAMPLES / "photo.json").read_text("utf-8"))
    shutil.copy(SAMPLES / "photo.png", tmp_path / "photo.png")
    first = build_docx(data, theme, order(theme), base_dir=tmp_path)
    raw = (tmp_path / "photo.png").read_bytes()
    # Different bytes, still a valid PNG (a damaged one is refused): a text chunk before IEND.
    text = b"tEXtComment\0another photo"
    chunk = struct.pack(">I", len(text) - 4) + text + struct.pack(">I", zlib.crc32(text))
    (tmp_path / "photo.png").write_bytes(raw[:-12] + chunk + raw[-12:])
    assert build_docx(data, theme, order(theme), base_dir=tmp_path) != first
    assert photo_path(data, tmp_path) == (tmp_path / "photo.png").resolve()


def test_photo_path_rules(tmp_path):
    home = tmp_path / "cv"
    home.mkdir()
    png = (SAMPLES / "photo.png").read_bytes()
    (home / "me.png").write_bytes(png)
    (home / "sub").mkdir()
    (home / "sub" / "me.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    (tmp_path / "outside.png").write_bytes(png)
    (home / "link.png").symlink_to(tmp_path / "outside.png")
    (home / "notes.png").write_text("not an image")

    def image(value):
        return {"basics": {"name": "N", "image": value}}

    assert photo_path(image("me.png"), home) == (home / "me.png").resolve()
    assert photo_path(image("./sub/me.jpg"), home) == (home / "sub" / "me.jpg").resolve()
    assert photo_path(image(str(home / "me.png")), home) == (home / "me.png").resolve()  # absolute but inside
    for ignored in ("", "   ", None, 42, "https://example.com/me.png", "http://x/y.png", "file:///etc/passwd",
                    "data:image/png;base64,iVBOR", "//cdn.example.com/me.png"):
        assert photo_path(image(ignored), home) is None, ignored
    assert photo_path({"basics": {}}, home) is None
    assert photo_path({}, home) is None
    refused = {
        "../outside.png": 'basics.image: "../outside.png" is outside the résumé\'s folder',
        str(tmp_path / "outside.png"): "is outside the résumé's folder",
        "link.png": 'basics.image: "link.png" is outside the résumé\'s folder',
        "../../etc/passwd": "is outside the résumé's folder",
        "missing.png": 'basics.image: "missing.png" does not exist',
        "notes.png": 'basics.image: "notes.png" is not a PNG or JPEG image',
        "sub": "does not exist",
    }
    for value, message in refused.items():
        with pytest.raises(InputError) as info:
            photo_path(image(value), home)
        assert message in info.value.message, (value, info.value.message)


def test_assets_module_is_light():
    code = (
        "import sys; from resumec.assets import photo_path; "
        "bad = [m for m in ('jinja2', 'docx', 'lxml', 'markupsafe') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_refused_photo_fails_the_build_with_exit_1(tmp_path):
    home = tmp_path / "cv"
    home.mkdir()
    (tmp_path / "x.png").write_bytes((SAMPLES / "photo.png").read_bytes())
    source = home / "resume.json"
    source.write_text(json.dumps({"basics": {"name": "N", "image": "../x.png"}}), "utf-8")
    proc = run_cli("compile", str(source), "--theme", "modern", "-f", "docx", "--no-cache", "-o", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert 'basics.image: "../x.png" is outside the résumé\'s folder' in proc.stderr.decode()
    assert not (tmp_path / "out" / "resume.docx").exists()
    assert os.path.exists(tmp_path / "x.png")
