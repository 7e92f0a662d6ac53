"""The build cache end to end: real builds, real LibreOffice, several processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SAMPLES, pdftotext, run_cli


def compile_json(src: Path, cache: Path, *extra: str, env: dict | None = None) -> dict:
    proc = run_cli("compile", str(src), "--json", "--cache-dir", str(cache), *extra, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)["results"][0]


def cached(result: dict) -> dict[str, str | bool]:
    return {o["format"]: o["cached"] for o in result["outputs"]}


@pytest.fixture
def resume(tmp_path) -> Path:
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "full.json", src)
    return src


def test_hit_after_reformatting_miss_after_edit(resume, tmp_path):
    cache = tmp_path / "cache"
    assert cached(compile_json(resume, cache)) == {"docx": False, "pdf": False}
    first_pdf = (tmp_path / "cv.pdf").read_bytes()

    data = json.loads(resume.read_text())
    reordered = {key: data[key] for key in reversed(list(data))}
    resume.write_text(json.dumps(reordered, indent=7, ensure_ascii=True))
    assert cached(compile_json(resume, cache)) == {"docx": "local", "pdf": "local"}
    assert (tmp_path / "cv.pdf").read_bytes() == first_pdf

    data["work"][0]["highlights"][0] = "Taught the zebra fleet to sing in harmony"
    resume.write_text(json.dumps(data))
    assert cached(compile_json(resume, cache)) == {"docx": False, "pdf": False}
    assert "zebra fleet to sing" in pdftotext(tmp_path / "cv.pdf")


def test_same_docx_reuses_pdf_across_docx_keys(resume, tmp_path):
    """An input change that yields identical DOCX bytes (unknown extra field) reuses the PDF."""
    cache = tmp_path / "cache"
    compile_json(resume, cache)
    data = json.loads(resume.read_text())
    data["x-private-note"] = "ignored by every theme"
    resume.write_text(json.dumps(data))
    assert cached(compile_json(resume, cache)) == {"docx": False, "pdf": "local"}


def test_two_uncached_builds_are_byte_identical(resume, tmp_path):
    out1, out2 = tmp_path / "a", tmp_path / "b"
    for out in (out1, out2):
        proc = run_cli("compile", str(resume), "--no-cache", "-o", str(out))
        assert proc.returncode == 0, proc.stderr.decode()
    for name in ("cv.docx", "cv.pdf"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name


def test_source_date_epoch_is_honoured(resume, tmp_path):
    out = tmp_path / "e"
    proc = run_cli("compile", str(resume), "--no-cache", "-o", str(out), env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert proc.returncode == 0, proc.stderr.decode()
    info = subprocess.run(["pdfinfo", "-isodates", str(out / "cv.pdf")], capture_output=True, text=True).stdout
    assert "2023-11-14" in info
    import docx

    props = docx.Document(str(out / "cv.docx")).core_properties
    assert props.created.year == 2023 and props.modified.year == 2023


def test_corrupt_blob_is_rebuilt_with_warning(resume, tmp_path):
    cache = tmp_path / "cache"
    first = compile_json(resume, cache)
    pdf = next(o for o in first["outputs"] if o["format"] == "pdf")
    blob = cache / "v1" / "objects" / pdf["sha256"][:2] / pdf["sha256"][2:]
    blob.write_bytes(blob.read_bytes()[:1000])  # truncated
    proc = run_cli("compile", str(resume), "--json", "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)["results"][0]
    assert cached(result) == {"docx": "local", "pdf": False}
    assert b"corrupt" in proc.stderr
    assert (tmp_path / "cv.pdf").read_bytes()[:5] == b"%PDF-"
    assert next(o for o in result["outputs"] if o["format"] == "pdf")["sha256"] == pdf["sha256"]
    assert hashlib_file(blob) == pdf["sha256"]


def hashlib_file(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_unusable_cache_never_fails_a_build(resume, tmp_path):
    bad = tmp_path / "not-a-dir"
    bad.write_text("a file where the cache directory should be")
    proc = run_cli("compile", str(resume), "--cache-dir", str(bad), "--format", "docx")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr.decode().count("warning: cache at") == 1
    assert (tmp_path / "cv.docx").exists()


def test_unchanged_outputs_keep_their_mtime(resume, tmp_path):
    cache = tmp_path / "cache"
    compile_json(resume, cache)
    old = time.time() - 3600
    for name in ("cv.docx", "cv.pdf"):
        os.utime(tmp_path / name, (old, old))
    result = compile_json(resume, cache, "--no-cache")
    assert all(o["changed"] is False for o in result["outputs"])
    for name in ("cv.docx", "cv.pdf"):
        assert (tmp_path / name).stat().st_mtime == pytest.approx(old)


def test_no_cache_neither_reads_nor_writes(resume, tmp_path):
    cache = tmp_path / "cache"
    result = compile_json(resume, cache, "--no-cache", "--format", "docx")
    assert cached(result) == {"docx": False}
    assert not cache.exists()


def test_eight_concurrent_processes_share_a_fresh_cache(tmp_path):
    cache = tmp_path / "cache"
    procs = []
    for i in range(8):
        src = tmp_path / f"r{i}.json"
        data = json.loads((SAMPLES / "minimal.json").read_text())
        if i % 2:  # half identical, half distinct: both races happen
            data["basics"]["label"] = f"Variant {i}"
        src.write_text(json.dumps(data))
        env = dict(os.environ, RESUMEC_CACHE_DIR=str(cache))
        procs.append(subprocess.Popen([sys.executable, "-m", "resumec", "compile", str(src), "--json"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        assert json.loads(out)["ok"]
        assert (tmp_path / f"r{i}.pdf").read_bytes().startswith(b"%PDF-")
    # every stored blob is intact and no temp file is left
    for path in (cache / "v1" / "objects").rglob("*"):
        if path.is_file():
            assert not path.name.startswith(".tmp-")
            assert hashlib_file(path) == path.parent.name + path.name
    again = compile_json(tmp_path / "r3.json", cache)
    assert cached(again) == {"docx": "local", "pdf": "local"}


def test_cache_commands(resume, tmp_path):
    cache = tmp_path / "cache"
    compile_json(resume, cache)
    compile_json(resume, cache)
    info = run_cli("cache", "info", "--json", "--cache-dir", str(cache))
    assert info.returncode == 0
    data = json.loads(info.stdout)
    assert data["entries"] == 2 and data["size"] > 10_000
    assert data["stats"]["pdf_hits"] == 1 and data["stats"]["pdf_misses"] == 1
    human = run_cli("cache", "info", "--cache-dir", str(cache)).stdout.decode()
    assert "Hit rate" in human and str(cache) in human

    prune = run_cli("cache", "prune", "--max-size", "0", "--cache-dir", str(cache))
    assert prune.returncode == 0 and b"Evicted 2 entries" in prune.stdout
    assert json.loads(run_cli("cache", "info", "--json", "--cache-dir", str(cache)).stdout)["size"] == 0
    assert run_cli("cache", "prune", "--max-size", "lots").returncode == 2

    compile_json(resume, cache)
    clear = run_cli("cache", "clear", "--cache-dir", str(cache))
    assert clear.returncode == 0
    after = json.loads(run_cli("cache", "info", "--json", "--cache-dir", str(cache)).stdout)
    assert after["entries"] == 0 and after["stats"] == {}


def test_size_limit_enforced_during_builds(tmp_path):
    cache = tmp_path / "cache"
    for i in range(4):
        src = tmp_path / f"s{i}.json"
        data = json.loads((SAMPLES / "minimal.json").read_text())
        data["basics"]["label"] = f"Label {i}"
        src.write_text(json.dumps(data))
        compile_json(src, cache, "--format", "docx", env={"RESUMEC_CACHE_MAX_SIZE": "30k"})
    info = json.loads(run_cli("cache", "info", "--json", "--cache-dir", str(cache)).stdout)
    assert 0 < info["size"] <= 30_000
    assert info["stats"].get("evictions", 0) >= 1


def test_cache_hit_does_not_import_docx_or_jinja(resume, tmp_path):
    cache = tmp_path / "cache"
    compile_json(resume, cache)
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['resumec', 'compile', sys.argv[1], '-q', '--cache-dir', sys.argv[2]]\n"
        "try:\n    runpy.run_module('resumec', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "bad = sorted(m for m in ('docx', 'jinja2', 'lxml', 'rich', 'resumec.docx') if m in sys.modules)\n"
        "print(code, bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(resume), str(cache)], capture_output=True, text=True)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr


def test_cache_hit_does_not_import_typer(resume, tmp_path):
    cache = tmp_path / "cache"
    compile_json(resume, cache)
    probe = (
        "import sys\n"
        "from resumec.cli import main\n"
        "try:\n    main(['compile', sys.argv[1], '-q', '--cache-dir', sys.argv[2]])\n"
        "except SystemExit as e:\n    print(e.code, 'typer' in sys.modules, 'pydantic' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(resume), str(cache)], capture_output=True, text=True)
    assert proc.stdout.strip() == "0 False False", proc.stdout + proc.stderr


def test_a_miss_is_compiled_by_the_quick_parser_loading_the_input_once(resume, tmp_path):
    """No fallback to a second parser on a miss: the input is read once, and Typer is never imported."""
    probe = (
        "import sys\n"
        "import resumec.load as load\n"
        "calls = []\n"
        "real = load.load\n"
        "load.load = lambda *a, **k: calls.append(a) or real(*a, **k)\n"
        "from resumec.cli import main\n"
        "try:\n    main(['compile', sys.argv[1], '-q', '-f', 'docx', '--cache-dir', sys.argv[2]])\n"
        "except SystemExit as e:\n    print(e.code, len(calls), 'typer' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(resume), str(tmp_path / "cache")],
                          capture_output=True, text=True)
    assert proc.stdout.strip() == "0 1 False", proc.stdout + proc.stderr


def test_photo_bytes_are_part_of_the_key(tmp_path):
    src = tmp_path / "p.json"
    shutil.copy(SAMPLES / "photo.json", src)
    shutil.copy(SAMPLES / "photo.png", tmp_path / "photo.png")
    data = json.loads(src.read_text())
    assert data["basics"]["image"] == "photo.png"
    cache = tmp_path / "cache"
    args = ("--theme", "modern", "--format", "docx")
    assert cached(compile_json(src, cache, *args)) == {"docx": False}
    assert cached(compile_json(src, cache, *args)) == {"docx": "local"}
    png = (tmp_path / "photo.png").read_bytes()
    (tmp_path / "photo.png").write_bytes(png + b"\0")  # same name, new bytes
    assert cached(compile_json(src, cache, *args)) == {"docx": False}


def test_photo_error_is_located(tmp_path):
    src = tmp_path / "p.json"
    src.write_text('{\n  "basics": {\n    "name": "A",\n    "image": "../../etc/passwd"\n  }\n}\n')
    proc = run_cli("compile", str(src), "--format", "docx")
    assert proc.returncode == 1
    assert b"p.json:4:14: basics.image:" in proc.stderr and b"outside" in proc.stderr
