"""The DOCX Builder: compiled templates and styled bases reused, in memory and on disk, never stale, never unsafe.

What is reused must not change a byte of the output, so most tests compare a reused build with a build
that reuses nothing.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest

from conftest import SAMPLES, run_cli
from resumec.docx import build_docx
from resumec.docx.builder import BUILD_DIR, Builder
from resumec.docx.package import deflate, stamp, write_zip, zip_order
from resumec.sections import resolve
from resumec.theme import load_theme, titles_for

FULL = json.loads((SAMPLES / "full.json").read_text("utf-8"))
PHOTO = json.loads((SAMPLES / "photo.json").read_text("utf-8"))


def order(theme, data, lang=None):
    return resolve(None, data, theme.sections, titles_for(theme, lang), "cv.json", lambda path: (1, 1))


def text_of(blob: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(blob)).paragraphs)


CASES = [(theme, lang, paper, name) for theme in ("classic", "modern", "compact") for lang in (None, "de")
         for paper in (None, "letter") for name in ("full", "photo")]


def test_reused_templates_and_bases_give_the_same_bytes_as_a_fresh_build(tmp_path):
    """One Builder (memory), a second one reading what the first stored (disk), and a fresh one per build."""
    first, second = Builder(tmp_path / "cache"), Builder(tmp_path / "cache")
    for theme_name, lang, paper, name in CASES:
        theme = load_theme(theme_name)
        data = FULL if name == "full" else PHOTO
        kwargs = dict(base_dir=SAMPLES, lang=lang, paper=paper)
        fresh = build_docx(data, theme, order(theme, data, lang), **kwargs)
        assert build_docx(data, theme, order(theme, data, lang), builder=first, **kwargs) == fresh
        assert build_docx(data, theme, order(theme, data, lang), builder=first, **kwargs) == fresh  # from memory
        assert build_docx(data, theme, order(theme, data, lang), builder=second, **kwargs) == fresh  # from disk
    assert second.made["bases"] == 0 and second.made["bases_read"] > 0


def test_builds_of_different_resumes_with_one_builder_do_not_leak_into_each_other(tmp_path):
    theme = load_theme("modern")
    builder = Builder(tmp_path / "cache")
    other = copy.deepcopy(FULL)
    other["basics"]["name"] = "Someone Else"
    other["work"] = other["work"][:1]
    for data, base_dir in ((PHOTO, SAMPLES), (other, None), (FULL, None), (PHOTO, SAMPLES)):
        reused = build_docx(data, theme, order(theme, data), base_dir=base_dir, builder=builder)
        assert reused == build_docx(data, theme, order(theme, data), base_dir=base_dir)


def test_templates_compile_once_per_process_and_bases_are_made_once_per_theme_language_and_paper(tmp_path):
    builder = Builder()
    classic, compact = load_theme("classic"), load_theme("compact")
    for _ in range(3):
        build_docx(FULL, classic, order(classic, FULL), builder=builder)
    assert builder.made == {"environments": 1, "bases": 1, "bases_read": 0}
    build_docx(FULL, classic, order(classic, FULL), builder=builder, paper="letter")
    build_docx(FULL, compact, order(compact, FULL), builder=builder)
    assert builder.made == {"environments": 2, "bases": 3, "bases_read": 0}


PROBE = r"""
import json, sys
from pathlib import Path
import jinja2.environment
compiled = []
real = jinja2.environment.Environment.compile
def counting(self, *args, **kwargs):
    compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
    return real(self, *args, **kwargs)
jinja2.environment.Environment.compile = counting
import resumec.docx.base as base
made = []
real_make = base.make_base
base.make_base = lambda *a, **k: made.append(1) or real_make(*a, **k)
from resumec import load, sections, theme as th
from resumec.docx import build_docx
from resumec.docx.builder import Builder
src = load.load(sys.argv[2])
t = th.load_theme(sys.argv[3])
order = sections.resolve(None, src.data, t.sections, th.titles_for(t, None), src.name, src.locate)
blob = build_docx(src.data, t, order, base_dir=src.path.parent, builder=Builder(Path(sys.argv[1])))
import hashlib
print(json.dumps({"compiled": compiled, "bases_made": len(made), "sha256": hashlib.sha256(blob).hexdigest()}))
"""


def probe(cache: Path, theme: str | Path = "classic") -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(cache), str(SAMPLES / "full.json"), str(theme)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_new_process_loads_compiled_templates_and_the_styled_base_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = probe(cache)
    assert sorted(first["compiled"]) == ["entry.xml.j2", "group.xml.j2", "header.xml.j2", "quote.xml.j2"]
    assert first["bases_made"] == 1
    second = probe(cache)
    assert second["compiled"] == [] and second["bases_made"] == 0
    assert second["sha256"] == first["sha256"]


def test_damaged_or_foreign_cache_files_are_made_again_not_used(tmp_path):
    cache = tmp_path / "cache"
    reference = probe(cache)
    build = cache / BUILD_DIR
    bytecode = sorted((build / "templates").rglob("*"))
    bytecode = [p for p in bytecode if p.is_file()]
    bases = [p for p in (build / "bases").iterdir()]
    assert bytecode and bases
    bytecode[0].write_bytes(bytecode[0].read_bytes()[:40])  # truncated
    bases[0].write_bytes(bases[0].read_bytes()[:-10] + b"x" * 10)  # damaged: the checksum fails
    again = probe(cache)
    assert len(again["compiled"]) == 1 and again["bases_made"] == 1 and again["sha256"] == reference["sha256"]
    for path in [*bytecode, *bases]:  # writable by others: never read (bytecode is code)
        os.chmod(path, 0o666)
    foreign = probe(cache)
    assert len(foreign["compiled"]) == 4 and foreign["bases_made"] == 1 and foreign["sha256"] == reference["sha256"]
    for path in [p for p in (build / "templates").rglob("*") if p.is_file()]:  # a symlink is not followed
        target = tmp_path / f"elsewhere-{path.name}"
        shutil.move(path, target)
        path.symlink_to(target)
    linked = probe(cache)
    assert len(linked["compiled"]) == 4 and linked["sha256"] == reference["sha256"]


def test_an_edited_theme_is_never_served_stale(tmp_path):
    """What watch mode does: one Builder across edits of a theme's template and of its theme.toml."""
    assert run_cli("theme", "new", "mine", "--from", "modern", cwd=tmp_path).returncode == 0
    folder = tmp_path / "mine"
    builder = Builder(tmp_path / "cache")
    theme = load_theme(str(folder))
    first = build_docx(FULL, theme, order(theme, FULL), builder=builder)
    template = folder / "templates" / "entry.xml.j2"
    template.write_text(template.read_text().replace("{% for e in entries %}", "{% for e in entries %}\n"
                                                     "<p>EDITED {{ e.title }}</p>", 1))
    edited = load_theme(str(folder))
    assert edited.fingerprint != theme.fingerprint
    second = build_docx(FULL, edited, order(edited, FULL), builder=builder)
    assert "EDITED Staff Software Engineer" in text_of(second) and "EDITED" not in text_of(first)
    assert second == build_docx(FULL, edited, order(edited, FULL))  # the same as a fresh build
    toml = folder / "theme.toml"
    toml.write_text(toml.read_text().replace('size = "a4"', 'size = "letter"', 1))
    letter = load_theme(str(folder))
    third = build_docx(FULL, letter, order(letter, FULL), builder=builder)
    assert third == build_docx(FULL, letter, order(letter, FULL)) != second
    assert 'w:w="12240"' in zipfile.ZipFile(io.BytesIO(third)).read("word/document.xml").decode()
    # A new process sees the edits too: the disk cache is keyed by the fingerprint.
    assert probe(tmp_path / "cache", folder)["sha256"] == __import__("hashlib").sha256(third).hexdigest()


def test_no_cache_keeps_nothing_on_disk_and_an_unusable_cache_fails_nothing(tmp_path):
    cache = tmp_path / "cache"
    proc = run_cli("compile", str(SAMPLES / "full.json"), "-o", f"{tmp_path / 'out'}/", "-f", "docx", "--no-cache",
                   "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr.decode()
    assert not cache.exists()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    warm = Builder(blocked)
    theme = load_theme("classic")
    assert build_docx(FULL, theme, order(theme, FULL), builder=warm) == build_docx(FULL, theme, order(theme, FULL))


def test_the_disk_cache_stays_bounded(tmp_path, monkeypatch):
    from resumec.docx import builder as builder_module

    monkeypatch.setattr(builder_module, "KEEP_ON_DISK", 2)
    cache = tmp_path / "cache"
    theme = load_theme("classic")
    for lang in (None, "de", "fr", "es"):
        build_docx(FULL, theme, order(theme, FULL, lang), lang=lang, builder=Builder(cache))
    assert len(list((cache / BUILD_DIR / "bases").iterdir())) == 2


@pytest.mark.parametrize("template, message", [
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "ran longer than its budget"),
    ("{% macro m() %}{% for i in range(100000) %}{% for j in range(1000) %}"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}{% endmacro %}{{ m() }}",
     "output exceeds 8,000,000 characters"),
    ("{{ 'x' * 10**10 }}", "str * 10,000,000,000 would make"),
], ids=["deadline", "literal text", "operator"])
def test_template_budgets_hold_for_templates_loaded_as_cached_bytecode(tmp_path, template, message):
    """The budget is compiled into the templates (budget.py rewrites them), so it must survive the bytecode cache."""
    assert run_cli("theme", "new", "hostile", cwd=tmp_path).returncode == 0
    folder = tmp_path / "hostile"
    (folder / "templates").mkdir(exist_ok=True)
    (folder / "templates" / "work.xml.j2").write_text("{# hostile #}\n" + template + "\n")
    cache = tmp_path / "cache"
    for attempt in ("compiled", "from the bytecode cache"):
        proc = run_cli("compile", str(SAMPLES / "full.json"), "--theme", str(folder), "-o", f"{tmp_path / 'out'}/",
                       "-f", "docx", "--cache-dir", str(cache), timeout=180)
        err = proc.stderr.decode()
        assert proc.returncode == 1, (attempt, err)
        assert "hostile/templates/work.xml.j2:2: " in err and message in err, (attempt, err)
        stored = [p.name for p in (cache / BUILD_DIR / "templates").rglob("*") if p.is_file()]
        assert len(stored) >= 2, stored  # work.xml.j2 and header.xml.j2 at least: the second run loads them


def test_zip_writer_writes_what_zipfile_writes():
    """package.write_zip against zipfile.writestr with the ZipInfo resumec always used."""
    entries = {"[Content_Types].xml": b"<a/>" * 100, "_rels/.rels": b"", "word/document.xml": os.urandom(5000),
               "word/styles.xml": b"<s>" + b"style " * 20000 + b"</s>", "docProps/caf\u00e9.xml": b"x"}
    for epoch in (0, 315532800, 1700000000, 253402300799):
        expected = io.BytesIO()
        with zipfile.ZipFile(expected, "w") as target:
            for name in zip_order(list(entries)):
                info = zipfile.ZipInfo(name, date_time=stamp(epoch))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 0
                info.external_attr = 0
                target.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
        ours = write_zip([(name, deflate(entries[name])) for name in zip_order(list(entries))], stamp(epoch))
        assert ours == expected.getvalue()
        with zipfile.ZipFile(io.BytesIO(ours)) as archive:
            assert archive.testzip() is None
            assert {n: archive.read(n) for n in archive.namelist()} == entries


def _parts(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def _styles(part: bytes) -> dict[str, bytes]:
    from lxml import etree

    root = etree.fromstring(part)
    return {style.get(W + "styleId"): etree.tostring(style) for style in root.iter(W + "style")}


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def test_an_empty_resume_is_what_python_docx_itself_saves_with_only_the_styles_it_uses():
    """The styled base, the core properties and the zip, against python-docx's own save and zipfile."""
    from datetime import datetime

    from resumec.docx.styles import apply_theme
    from resumec.theme import localized

    theme = load_theme("classic")
    document = docx.Document()
    apply_theme(document, localized(theme.config, None), paper=None, lang="en-US")
    props = document.core_properties
    props.title = "Résumé"
    for name in ("author", "last_modified_by", "subject", "keywords", "comments", "category"):
        setattr(props, name, "")
    props.revision = 1
    props.created = props.modified = props.last_printed = datetime(1980, 1, 1)
    raw = io.BytesIO()
    document.save(raw)
    saved = _parts(raw.getvalue())
    ours = build_docx({}, theme, [])
    built = _parts(ours)
    assert list(built) == zip_order(list(saved))
    assert {n: p for n, p in built.items() if n != "word/styles.xml"} == {
        n: p for n, p in saved.items() if n != "word/styles.xml"}
    # Styles: a subset of python-docx's, each one byte for byte, and everything around them unchanged.
    full, kept = _styles(saved["word/styles.xml"]), _styles(built["word/styles.xml"])
    assert 0 < len(kept) < len(full) / 4
    assert all(full[style_id] == xml for style_id, xml in kept.items())
    assert {"Normal", "DefaultParagraphFont", "TableNormal", "NoList"} <= set(kept)  # the defaults
    assert b"<w:latentStyles" in built["word/styles.xml"] and b"<w:docDefaults" in built["word/styles.xml"]
    expected = io.BytesIO()
    with zipfile.ZipFile(expected, "w") as target:  # and the zip is what zipfile writes for those parts
        for name in built:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 0
            target.writestr(info, built[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    assert ours == expected.getvalue()


@pytest.mark.parametrize("theme_name", ["classic", "modern", "compact"])
def test_every_style_a_document_names_is_kept_with_what_it_is_based_on(theme_name):
    from lxml import etree

    theme = load_theme(theme_name)
    parts = _parts(build_docx(FULL, theme, order(theme, FULL), base_dir=SAMPLES))
    styles = etree.fromstring(parts["word/styles.xml"])
    kept = {style.get(W + "styleId") for style in styles.iter(W + "style")}
    named = set()
    for part in ("word/document.xml", "word/numbering.xml"):
        for element in etree.fromstring(parts[part]).iter(W + "pStyle", W + "rStyle", W + "tblStyle"):
            named.add(element.get(W + "val"))
    assert "Hyperlink" in named and len(named) > 5
    assert named <= kept
    for style in styles.iter(W + "style"):
        for link in style.iter(W + "basedOn", W + "next", W + "link"):
            assert link.get(W + "val") in kept, (style.get(W + "styleId"), link.get(W + "val"))


@pytest.mark.skipif(not shutil.which("soffice") or not shutil.which("pdftoppm"), reason="needs LibreOffice and poppler")
def test_a_document_with_only_its_styles_prints_pixel_for_pixel_like_one_with_all_of_them(tmp_path):
    """What pruning is for (LibreOffice reads every style: ~40% of a conversion) must not change a pixel."""
    from resumec.convert.oneshot import convert_oneshot

    theme = load_theme("classic")
    ours = build_docx(FULL, theme, order(theme, FULL), base_dir=SAMPLES)
    document = docx.Document()  # python-docx's full styles part, with the theme applied
    from resumec.docx.styles import apply_theme
    from resumec.theme import localized

    apply_theme(document, localized(theme.config, None), paper=None, lang="en-US")
    raw = io.BytesIO()
    document.save(raw)
    everything = _parts(ours) | {"word/styles.xml": _parts(raw.getvalue())["word/styles.xml"]}
    assert len(everything["word/styles.xml"]) > 10 * len(_parts(ours)["word/styles.xml"])
    full = io.BytesIO()
    with zipfile.ZipFile(full, "w", zipfile.ZIP_DEFLATED) as target:
        for name, part in everything.items():
            target.writestr(name, part)
    pages = []
    for name, blob in (("pruned", ours), ("full", full.getvalue())):
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(convert_oneshot(blob, soffice=shutil.which("soffice"), timeout=120))
        subprocess.run(["pdftoppm", "-r", "60", str(pdf), str(tmp_path / name)], check=True)
        pages.append(sorted(p.read_bytes() for p in tmp_path.glob(f"{name}-*.ppm")))
    assert len(pages[0]) >= 2 and pages[0] == pages[1]
