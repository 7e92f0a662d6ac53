"""Where outputs go and how they are written: atomically, unchanged files left alone (resumec/output.py)."""

from __future__ import annotations

import os
import time

import pytest

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


def test_plan_paths(tmp_path):
    src = tmp_path / "me.json"
    assert plan("me.json", src, None, ("docx", "pdf")) == {"docx": tmp_path / "me.docx", "pdf": tmp_path / "me.pdf"}
    assert plan("me.json", src, tmp_path / "out", ("pdf",)) == {"pdf": tmp_path / "out" / "me.pdf"}
    assert plan("me.json", src, tmp_path / "cv.pdf", ("docx", "pdf"))["docx"] == tmp_path / "cv.docx"
    with pytest.raises(UsageError):
        plan("<stdin>", None, None, ("pdf",))
    with pytest.raises(UsageError):
        plan("me.json", src, tmp_path / "cv.rtf", ("pdf",))
