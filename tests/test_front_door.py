"""Where outputs go and what validation means, the same for every path: clashes, `-o` forms, validate = compile."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from conftest import SAMPLES, run_cli


def _copy(folder, name="resume.json", sample="minimal.json"):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / sample, folder / name)
    return folder / name


def test_batch_refuses_two_inputs_writing_the_same_file(tmp_path):
    alice, bob = _copy(tmp_path / "alice"), _copy(tmp_path / "bob")
    out = tmp_path / "out"
    proc = run_cli("compile", str(alice), str(bob), "-o", f"{out}/", "-f", "docx")
    assert proc.returncode == 2, proc.stderr.decode()
    message = proc.stderr.decode()
    assert str(alice) in message and str(bob) in message and "resume.docx" in message
    assert not out.exists()  # refused before anything was built


def test_batch_json_reports_the_clash(tmp_path):
    alice, bob = _copy(tmp_path / "alice"), _copy(tmp_path / "bob")
    proc = run_cli("compile", str(alice), str(bob), "-o", str(tmp_path / "out"), "-f", "docx", "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 2 and report["exit_code"] == 2 and not report["ok"]
    assert "would both write" in report["results"][0]["error"]["message"]


def test_an_output_never_overwrites_its_input(tmp_path):
    src = tmp_path / "cv.docx"  # a JSON résumé, oddly named
    shutil.copy(SAMPLES / "minimal.json", src)
    before = src.read_bytes()
    proc = run_cli("compile", str(src), "-o", str(src), "-f", "docx")
    assert proc.returncode == 2 and b"would overwrite this input" in proc.stderr
    assert src.read_bytes() == before


@pytest.mark.parametrize("folder", ["build.v2", "out_x.png", "v1.0"])
def test_output_folder_with_a_dot_and_a_trailing_slash(tmp_path, folder):
    src = _copy(tmp_path)
    proc = run_cli("compile", str(src), "-o", str(tmp_path / folder) + "/", "-f", "docx")
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / folder / "resume.docx").read_bytes().startswith(b"PK")


def test_output_dash_is_standard_output_for_one_format(tmp_path):
    src = _copy(tmp_path)
    proc = run_cli("compile", str(src), "-o", "-", "-f", "docx")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.startswith(b"PK") and not (tmp_path / "-").exists()
    stdin = run_cli("compile", "-", "-o", "-", "-f", "docx", input=src.read_bytes(), cwd=tmp_path)
    assert stdin.returncode == 0 and stdin.stdout == proc.stdout  # reproducible, whatever the source
    for extra in (["-f", "docx,pdf"], ["-f", "png"], ["-f", "docx", "--json"]):
        refused = run_cli("compile", str(src), "-o", "-", *extra, cwd=tmp_path)
        assert refused.returncode == 2, (extra, refused.stderr)
        assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("doc, message", [
    ('{"basics": {"name": "A"}, "meta": {"sections": ["work", "wrok"]}}', "did you mean 'work'"),
    ('{"basics": {"name": "A", "image": "../outside.png"}}', "outside the résumé's folder"),
    ('{"basics": {"name": "A", "image": "missing.png"}}', "does not exist"),
])
def test_validate_fails_what_compile_fails_at_the_same_place(tmp_path, doc, message):
    src = tmp_path / "cv.json"
    src.write_text(doc)
    checked = run_cli("validate", str(src))
    compiled = run_cli("compile", str(src), "-f", "docx")
    assert checked.returncode == compiled.returncode == 1
    assert message in checked.stderr.decode() and checked.stderr == compiled.stderr


def test_validate_takes_folders_like_compile(tmp_path):
    _copy(tmp_path / "people", "a.json")
    (tmp_path / "people" / "b.json").write_text('{"basics": {"name": 7}}')
    proc = run_cli("validate", str(tmp_path / "people"))
    assert proc.returncode == 1
    assert b"a.json: valid" in proc.stderr and b"b.json:1:21: basics.name: expected a string" in proc.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes as a name")
def test_json_report_survives_a_file_name_that_is_not_utf8(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.json"
    with open(raw, "wb") as handle:
        handle.write((SAMPLES / "minimal.json").read_bytes())
    proc = run_cli("compile", os.fsdecode(raw), "-f", "docx", "--json")
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["results"][0]["input"].endswith("caf\udce9.json")  # the undecodable byte, as JSON escapes it
