"""`resumec compile` end to end: real LibreOffice, outputs read back."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import docx
import pytest

from conftest import SAMPLES, pdftotext, run_cli, soffice_processes

ANSI = re.compile(rb"\x1b\[")


@pytest.fixture(scope="module")
def full_build(tmp_path_factory):
    """One real build of the full sample, shared by the read-back tests."""
    out = tmp_path_factory.mktemp("full")
    cache = tmp_path_factory.mktemp("fullcache")
    proc = run_cli("compile", str(SAMPLES / "full.json"), "-o", str(out), "--json",
                   env={"RESUMEC_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    return out, report


def test_full_sample_every_section_in_pdf_and_docx(full_build):
    out, report = full_build
    data = json.loads((SAMPLES / "full.json").read_text())
    text = " ".join(pdftotext(out / "full.pdf").split())
    document = docx.Document(str(out / "full.docx"))
    docx_text = " ".join(" ".join(p.text for p in document.paragraphs).split())
    probes = [
        data["basics"]["name"],
        data["work"][0]["name"],
        data["work"][0]["highlights"][0][:30],
        data["volunteer"][0]["organization"],
        data["education"][0]["institution"],
        data["awards"][0]["title"],
        data["certificates"][0]["name"],
        data["publications"][0]["name"],
        data["skills"][0]["keywords"][0],
        data["languages"][0]["language"],
        data["interests"][0]["name"],
        data["references"][0]["name"],
        data["projects"][0]["name"],
    ]
    for probe in probes:
        probe = " ".join(probe.replace("**", "").replace("*", "").split())
        assert probe in docx_text, probe
        assert probe in text, probe
    assert report["ok"] and report["exit_code"] == 0
    [result] = report["results"]
    assert {o["format"] for o in result["outputs"]} == {"docx", "pdf"}
    assert all(o["cached"] is False for o in result["outputs"])
    assert set(result["timings"]) >= {"validate", "docx", "pdf", "write"}
    assert (out / "full.pdf").read_bytes().startswith(b"%PDF-")


def test_section_order_selection_and_rename(tmp_path):
    src = tmp_path / "r.json"
    shutil.copy(SAMPLES / "full.json", src)
    proc = run_cli("compile", str(src), "--sections", "skills=Toolbox,work", "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    text = pdftotext(tmp_path / "r.pdf")
    data = json.loads(src.read_text())
    assert "Toolbox" in text
    assert text.index("Toolbox") < text.index(data["work"][0]["name"])
    assert data["education"][0]["institution"] not in text
    assert data["projects"][0]["name"] not in text


def test_meta_sections_used_without_flag(tmp_path):
    data = json.loads((SAMPLES / "full.json").read_text())
    data.setdefault("meta", {})["sections"] = ["education=Schooling"]
    src = tmp_path / "m.json"
    src.write_text(json.dumps(data))
    proc = run_cli("compile", str(src), "--format", "docx", "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    text = "\n".join(p.text for p in docx.Document(str(tmp_path / "m.docx")).paragraphs)
    assert "Schooling" in text and data["work"][0]["name"] not in text


def test_unknown_section_is_usage_error_with_hint(tmp_path):
    proc = run_cli("compile", str(SAMPLES / "minimal.json"), "--sections", "wrok", "-o", str(tmp_path))
    assert proc.returncode == 2
    assert b"did you mean 'work'?" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_json_syntax_error_located_and_nothing_touched(tmp_path):
    src = tmp_path / "bad.json"
    src.write_text('{\n  "basics": {"name": "A"},\n  "work": [1 2]\n}\n')
    (tmp_path / "bad.pdf").write_bytes(b"previous pdf")
    before = (tmp_path / "bad.pdf").stat().st_mtime_ns
    proc = run_cli("compile", str(src))
    assert proc.returncode == 1
    assert re.search(rb"bad\.json:3:14: ", proc.stderr), proc.stderr
    assert b"Traceback" not in proc.stderr
    assert (tmp_path / "bad.pdf").read_bytes() == b"previous pdf"
    assert (tmp_path / "bad.pdf").stat().st_mtime_ns == before
    assert not (tmp_path / "bad.docx").exists()


def test_schema_violations_all_reported_with_location(tmp_path):
    src = tmp_path / "v.json"
    src.write_text(
        '{\n  "basics": {"name": 7},\n  "work": [\n    {"name": "A"},\n'
        '    {"name": "B", "highlights": [42], "startDate": "2010-13-45"}\n  ]\n}\n'
    )
    proc = run_cli("compile", str(src))
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert re.search(r"v\.json:2:22: basics\.name: expected a string, got 7", err), err
    assert re.search(r"v\.json:5:34: work\[1\]\.highlights\[0\]: expected a string, got 42", err), err
    assert "work[1].startDate" in err and "2010-13-45" in err
    assert not list(tmp_path.glob("v.*[fx]"))
    assert proc.stdout == b""


def test_validate_command(tmp_path):
    good = run_cli("validate", str(SAMPLES / "full.json"), str(SAMPLES / "minimal.json"))
    assert good.returncode == 0
    bad = tmp_path / "b.json"
    bad.write_text('{"work": "nope"}')
    proc = run_cli("validate", str(SAMPLES / "minimal.json"), str(bad))
    assert proc.returncode == 1 and b"b.json:1:10: work: expected an array" in proc.stderr


def test_stdin_requires_output_and_works_with_it(tmp_path):
    data = (SAMPLES / "minimal.json").read_bytes()
    proc = run_cli("compile", "-", input=data)
    assert proc.returncode == 2 and b"-o" in proc.stderr
    proc = run_cli("compile", "-", "-o", str(tmp_path / "cv.pdf"), "--format", "pdf", input=data)
    assert proc.returncode == 0, proc.stderr.decode()
    name = json.loads(data)["basics"]["name"]
    assert name in pdftotext(tmp_path / "cv.pdf")
    assert not (tmp_path / "cv.docx").exists()


def test_hostile_strings_render_literally_and_unsafe_links_dropped(tmp_path):
    hostile = "<b>bold?</b> & {{ 7*7 }} {% if x %}X{% endif %} \x01\x0bdone 🚀 שלום 日本"
    data = {
        "basics": {"name": "Eve <script>", "url": "javascript:alert(1)", "summary": hostile,
                   "profiles": [{"network": "Home", "url": "file:///etc/passwd"},
                                {"network": "Site", "url": "https://eve.example.com"}]},
        "work": [{"name": "ACME & Sons", "position": "{{ config }}", "url": "data:text/html,hi",
                  "highlights": ["Line one\nline two\ttabbed", "{% raw %}"]}],
    }
    src = tmp_path / "h.json"
    src.write_text(json.dumps(data))
    proc = run_cli("compile", str(src), "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    document = docx.Document(str(tmp_path / "h.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "<b>bold?</b> & {{ 7*7 }} {% if x %}X{% endif %}" in text
    assert "49" not in text
    assert "\x01" not in text and "done 🚀 שלום 日本" in text
    assert "Eve <script>" in text and "{{ config }}" in text and "{% raw %}" in text
    targets = [rel.target_ref for rel in document.part.rels.values() if rel.is_external]
    assert "https://eve.example.com" in targets
    assert not any(t.startswith(("javascript:", "file:", "data:")) for t in targets)
    pdf = (tmp_path / "h.pdf").read_bytes()
    assert b"javascript" not in pdf and b"file:///etc" not in pdf
    assert "{{ 7*7 }}" in pdftotext(tmp_path / "h.pdf")


def test_missing_libreoffice_still_writes_docx_exit_3(tmp_path):
    src = tmp_path / "m.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    proc = run_cli("compile", str(src), "--no-cache", env={"RESUMEC_SOFFICE": "/nonexistent/soffice"})
    assert proc.returncode == 3
    assert b"LibreOffice" in proc.stderr and b"apt-get install" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert (tmp_path / "m.docx").exists() and not (tmp_path / "m.pdf").exists()


def test_plain_output_has_no_ansi_and_one_line_per_output(tmp_path):
    src = tmp_path / "p.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    proc = run_cli("compile", str(src), env={"TERM": "xterm-256color"})
    assert proc.returncode == 0
    assert not ANSI.search(proc.stderr) and not ANSI.search(proc.stdout)
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(str(tmp_path)) for line in lines)
    quiet = run_cli("compile", str(src), "-q")
    assert quiet.returncode == 0 and quiet.stderr == b"" and quiet.stdout == b""


def test_unwritable_output_exit_4_and_previous_output_kept(tmp_path):
    src = tmp_path / "w.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    blocker = tmp_path / "out"
    blocker.write_text("a file, not a directory")
    proc = run_cli("compile", str(src), "-o", str(blocker / "x") + "/")
    assert proc.returncode == 4, proc.stderr.decode()
    assert b"cannot write" in proc.stderr and b"Traceback" not in proc.stderr
    assert blocker.read_text() == "a file, not a directory"


def test_help_lists_exit_codes():
    proc = run_cli("compile", "--help")
    assert proc.returncode == 0
    for needle in (b"Exit codes", b"invalid input", b"usage error", b"LibreOffice missing", b"I/O error"):
        assert needle in proc.stdout
    assert run_cli("--version").stdout.startswith(b"resumec ")


def test_library_api(tmp_path):
    import resumec
    from resumec.pipeline import Options

    src = tmp_path / "lib.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    result = resumec.compile(src, Options(formats=("docx",), use_cache=False))
    assert result.ok and result.outputs[0].path == tmp_path / "lib.docx"
    assert result.outputs[0].changed and not result.outputs[0].cached
    from resumec.errors import InputError

    (tmp_path / "broken.json").write_text("{")
    failed = resumec.compile(tmp_path / "broken.json")  # an error is a field of the Result, never raised
    assert isinstance(failed.error, InputError) and failed.exit_code == 1 and not failed.ok
    assert "broken.json:1:2" in failed.error.message and failed.inputs == [tmp_path / "broken.json"]


def test_no_soffice_left_behind(tmp_path):
    """Conversions run under a private temp dir; nothing of it survives the command."""
    private = tmp_path / "tmp"
    private.mkdir()
    src = tmp_path / "s.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    proc = run_cli("compile", str(src), "--no-cache", env={"TMPDIR": str(private)})
    assert proc.returncode == 0, proc.stderr.decode()
    time.sleep(0.2)
    assert soffice_processes(str(private)) == []
    assert list(private.iterdir()) == []


def test_png_one_file_per_page_and_stale_pages_removed(tmp_path):
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "full.json", src)
    (tmp_path / "cv-9.png").write_bytes(b"not ours")  # not contiguous: left alone
    (tmp_path / "cv-3.png").write_bytes(b"stale page from a longer build")
    proc = run_cli("compile", str(src), "--format", "png,pdf", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    outputs = json.loads(proc.stdout)["results"][0]["outputs"]
    pngs = sorted(Path(o["path"]).name for o in outputs if o["format"] == "png")
    pages = int(pdfinfo_pages(tmp_path / "cv.pdf"))
    assert pngs == [f"cv-{i}.png" for i in range(1, pages + 1)]
    for name in pngs:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "cv-3.png").exists() or pages >= 3
    assert (tmp_path / "cv-9.png").read_bytes() == b"not ours"
    assert not (tmp_path / "cv.docx").exists()
    again = json.loads(run_cli("compile", str(src), "--format", "png", "--json").stdout)
    assert all(o["cached"] for o in again["results"][0]["outputs"])


def pdfinfo_pages(path: Path) -> str:
    from conftest import pdfinfo

    return pdfinfo(path)["Pages"]


def test_pdfa_output_declares_conformance(tmp_path):
    src = tmp_path / "a.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    proc = run_cli("compile", str(src), "--pdfa", "--format", "pdf", "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    pdf = (tmp_path / "a.pdf").read_bytes()
    assert b"pdfaid:part" in pdf
    plain = run_cli("compile", str(src), "--format", "pdf", "--no-cache", "-o", str(tmp_path / "plain.pdf"))
    assert plain.returncode == 0
    assert b"pdfaid:part" not in (tmp_path / "plain.pdf").read_bytes()


def test_bad_paper_and_lang_are_usage_errors(tmp_path):
    for args in (["--paper", "a5"], ["--lang", "xx"], ["--format", "odt"]):
        proc = run_cli("compile", str(SAMPLES / "minimal.json"), "-o", str(tmp_path), *args)
        assert proc.returncode == 2, args
        assert b"Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
