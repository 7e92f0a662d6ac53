"""Concurrency and stress: watch under a storm of saves, files vanishing, shared caches.

Marked `slow`; `make test` still runs them (CI included).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, pdftotext, soffice_processes, wait_until
from test_watch import Session, pytestmark as watch_marks

pytestmark = [pytest.mark.slow, *watch_marks]


def save(path: Path, summary: str, atomic: bool) -> None:
    data = json.loads((SAMPLES / "full.json").read_text())
    data["basics"]["summary"] = summary
    text = json.dumps(data, ensure_ascii=False)
    if atomic:
        temp = path.with_name(f".{path.name}.swp")
        temp.write_text(text)
        os.replace(temp, path)
    else:
        path.write_text(text)


@pytest.fixture
def workspace(tmp_path):
    cv = tmp_path / "cv" / "cv.json"
    cv.parent.mkdir()
    shutil.copy(SAMPLES / "full.json", cv)
    private = tmp_path / "tmp"
    private.mkdir()
    return cv, private


def last_pdf_says(cv: Path, text: str) -> bool:
    try:
        return text in " ".join(pdftotext(cv.with_suffix(".pdf")).split())
    except Exception:  # mid-rename or not yet written
        return False


def test_hundred_saves_in_ten_seconds_end_with_the_last_save(workspace):
    cv, private = workspace
    watch = Session(["watch", str(cv), "-f", "pdf", "--json"], private)
    try:
        assert watch.next_build()["ok"]
        for i in range(100):
            save(cv, f"Revision number {i:03d} of the summary.", atomic=bool(i % 2))
            time.sleep(0.1)
        assert wait_until(lambda: last_pdf_says(cv, "Revision number 099"), timeout=60)
        # Settled: no further build changes it, and the watcher is still alive.
        time.sleep(1.0)
        assert last_pdf_says(cv, "Revision number 099")
        assert watch.proc.poll() is None
        builds = []
        while not watch.out.empty():
            builds.append(json.loads(watch.out.get()))
        assert builds and all(b["ok"] for b in builds)
        assert len(builds) < 100  # bursts were coalesced, not built one by one
    finally:
        assert watch.stop() == 130
    assert wait_until(lambda: not soffice_processes(str(private)), timeout=5)


def test_resume_deleted_then_recreated(workspace):
    cv, private = workspace
    watch = Session(["watch", str(cv), "-f", "pdf"], private)
    try:
        watch.next_err("built cv.pdf in")
        good = cv.with_suffix(".pdf").read_bytes()
        cv.unlink()
        line = watch.next_err("cv.json")
        assert "No such file" in line or "not found" in line.lower() or "does not exist" in line
        assert cv.with_suffix(".pdf").read_bytes() == good
        save(cv, "Back from the dead summary.", atomic=False)
        assert wait_until(lambda: last_pdf_says(cv, "Back from the dead"), timeout=60)
        assert watch.proc.poll() is None
    finally:
        assert watch.stop() == 130


def test_theme_edited_while_building(workspace, tmp_path):
    cv, private = workspace
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "resumec" / "themes" / "classic", theme)
    toml = theme / "theme.toml"
    original = toml.read_text()
    assert 'work = "Experience"' in original
    watch = Session(["watch", str(cv), "-f", "pdf", "--json", "--theme", str(theme)], private)
    try:
        assert watch.next_build()["ok"]
        for i in range(8):  # edits land while builds are running
            toml.write_text(original.replace('work = "Experience"', f'work = "Career Step {i}"', 1))
            save(cv, f"Theme race {i}.", atomic=True)
            time.sleep(0.07)
        assert wait_until(lambda: last_pdf_says(cv, "Career Step 7") and last_pdf_says(cv, "Theme race 7"), timeout=60)
    finally:
        assert watch.stop() == 130


def test_two_batches_and_a_watch_share_one_cache(tmp_path):
    cache = tmp_path / "cache"
    people = tmp_path / "people"
    people.mkdir()
    base = json.loads((SAMPLES / "full.json").read_text())
    for i in range(6):
        base["basics"]["name"] = f"Person {i}"
        (people / f"p{i}.json").write_text(json.dumps(base))
    env = dict(os.environ, RESUMEC_CACHE_DIR=str(cache))
    private = tmp_path / "tmp"
    private.mkdir()
    cv = tmp_path / "w" / "cv.json"
    cv.parent.mkdir()
    shutil.copy(people / "p0.json", cv)  # the watch builds what the batches build too
    watch = Session(["watch", str(cv), "--json"], private, env={"RESUMEC_CACHE_DIR": str(cache)})
    try:
        batches = [
            subprocess.Popen([sys.executable, "-m", "resumec", "compile", str(people), "-o", str(tmp_path / f"out{n}"),
                              "--json", "-j", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for n in range(2)
        ]
        assert watch.next_build()["ok"]
        for n, proc in enumerate(batches):
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err.decode()
            report = json.loads(out)
            assert report["ok"] and len(report["results"]) == 6
        for n in range(2):
            for i in range(6):
                assert f"Person {i}" in pdftotext(tmp_path / f"out{n}" / f"p{i}.pdf")
        # Both batches made the same bytes, and every blob in the cache is intact.
        for i in range(6):
            assert (tmp_path / "out0" / f"p{i}.pdf").read_bytes() == (tmp_path / "out1" / f"p{i}.pdf").read_bytes()
        for path in (cache / "v1" / "objects").rglob("*"):
            if path.is_file():
                assert hashlib.sha256(path.read_bytes()).hexdigest() == path.parent.name + path.name
    finally:
        assert watch.stop() == 130
