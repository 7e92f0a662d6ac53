"""Where outputs go and how they are written: atomically, unchanged files left alone (resumec/output.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from conftest import sigterm_comes_back_after
from resumec.errors import OutputError, UsageError
from resumec.output import plan, write_all


def test_write_all_skips_identical_and_keeps_mtime(tmp_path):
    target = tmp_path / "a.pdf"
    [first] = write_all({target: b"%PDF-1"})
    assert first.changed and target.read_bytes() == b"%PDF-1"
    old = time.time() - 100
    os.utime(target, (old, old))
    [second] = write_all({target: b"%PDF-1"})
    assert not second.changed and target.stat().st_mtime == pytest.approx(old)
    [third] = write_all({target: b"%PDF-2"})
    assert third.changed and target.read_bytes() == b"%PDF-2"
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]


def test_write_all_failure_leaves_previous_outputs(tmp_path):
    good = tmp_path / "r.docx"
    good.write_bytes(b"old docx")
    blocked = tmp_path / "sub"
    blocked.write_text("a file where a directory should be")
    with pytest.raises(OutputError) as info:
        write_all({good: b"new docx", blocked / "r.pdf": b"new pdf"})
    assert "r.pdf" in info.value.message
    assert good.read_bytes() == b"old docx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.docx", "sub"]


def test_an_interrupt_while_a_temp_file_is_written_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C unwinds as an exception from wherever it lands; here, inside the second file's fsync."""
    docx, pdf = tmp_path / "r.docx", tmp_path / "r.pdf"
    docx.write_bytes(b"old docx")
    pdf.write_bytes(b"old pdf")
    calls = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        write_all({docx: b"new docx", pdf: b"new pdf"})
    assert len(calls) == 2
    assert (docx.read_bytes(), pdf.read_bytes()) == (b"old docx", b"old pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.docx", "r.pdf"]  # both temp files removed


def test_a_signal_during_the_commit_waits_until_every_output_is_renamed(tmp_path, monkeypatch):
    """SIGTERM landing between two renames is delivered again once both are done: never a new PDF beside an
    old DOCX."""
    docx, pdf = tmp_path / "r.docx", tmp_path / "r.pdf"
    docx.write_bytes(b"old docx")
    pdf.write_bytes(b"old pdf")
    renamed = []
    real_replace = os.replace

    def replace(source: str, target: object) -> None:
        real_replace(source, target)
        renamed.append(target)
        if len(renamed) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # its handler runs before the next bytecode: inside commit

    monkeypatch.setattr(os, "replace", replace)
    sigterm_comes_back_after(lambda: write_all({docx: b"new docx", pdf: b"new pdf"}))
    assert len(renamed) == 2
    assert (docx.read_bytes(), pdf.read_bytes()) == (b"new docx", b"new pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.docx", "r.pdf"]


def test_plan_paths(tmp_path):
    src = tmp_path / "me.json"
    assert plan("me.json", src, None, ("docx", "pdf")) == {"docx": tmp_path / "me.docx", "pdf": tmp_path / "me.pdf"}
    assert plan("me.json", src, tmp_path / "out", ("pdf",)) == {"pdf": tmp_path / "out" / "me.pdf"}
    assert plan("me.json", src, tmp_path / "cv.pdf", ("docx", "pdf"))["docx"] == tmp_path / "cv.docx"
    with pytest.raises(UsageError):
        plan("<stdin>", None, None, ("pdf",))
    with pytest.raises(UsageError):
        plan("me.json", src, tmp_path / "cv.rtf", ("pdf",))
