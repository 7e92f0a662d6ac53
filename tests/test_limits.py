"""Input limits: every résumé that passes validation builds in bounded time, and violations are located."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from conftest import pdfinfo, pdftotext, run_cli
from resumec.validate import MAX_ITEMS, MAX_RENDERED, MAX_STRING, MAX_TEXT, format_path, validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_limits import largest  # noqa: E402


def test_list_items_and_line_breaks_share_one_budget():
    per = MAX_RENDERED // 5
    data = {key: [{"name": "x"} for _ in range(per)] for key in ("work", "volunteer", "projects", "awards", "education")}
    assert validate(data) == []
    data["education"][-1]["area"] = "one\ntwo"  # one line break too many
    problems = validate(data)
    assert [format_path(p.path) for p in problems] == [f"education[{per - 1}].area"]
    assert problems[0].message == (f"the résumé holds {MAX_RENDERED + 1:,} list items and line breaks; "
                                   f"the limit is {MAX_RENDERED:,} (each becomes a line or paragraph)")
    # \r\n counts once, a lone \r once; a list that crosses the limit is named itself
    data["education"][-1]["area"] = "a\r\nb"
    assert len(validate(data)) == 1 and f"{MAX_RENDERED + 1:,}" in validate(data)[0].message
    data["education"][-1]["area"] = "x"
    data["work"][0]["name"] = "a\nb"
    assert format_path(validate(data)[0].path) == "education"


def test_the_item_limit_points_at_the_entry_that_crossed_it(tmp_path):
    data = {"work": [{"name": "w", "highlights": ["h"] * 999} for _ in range(5)]}  # 5 + 4,995 = 5,000: fine
    data["skills"] = [{"name": "s", "keywords": ["a", "b"]}]  # + 3
    src = tmp_path / "many.json"
    src.write_text(json.dumps(data, indent=1))
    proc = run_cli("validate", str(src))
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert re.search(r"many\.json:\d+:\d+: skills: the résumé holds 5,003 list items and line breaks", err), err
    assert "Traceback" not in err


def test_the_text_limit_points_at_the_field_that_crossed_it():
    data = {"work": [{"summary": "z" * MAX_STRING} for _ in range(MAX_TEXT // MAX_STRING)]}
    assert validate(data) == []
    data["work"].append({"name": "n", "summary": "overflow"})
    problems = validate(data)
    assert [format_path(p.path) for p in problems] == [f"work[{MAX_TEXT // MAX_STRING}].name"]


def test_the_largest_valid_resume_compiles_with_libreoffice(tmp_path):
    """Every limit at its maximum (benchmarks/bench_limits.py measures the time), end to end."""
    data = largest("mixed")
    assert validate(data) == []
    assert len(data["work"]) == MAX_RENDERED // 5 <= MAX_ITEMS
    src = tmp_path / "largest.json"
    src.write_text(json.dumps(data, ensure_ascii=False))
    proc = run_cli("compile", str(src), "-o", str(tmp_path / "out") + "/", "--no-cache", timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    pdf = tmp_path / "out" / "largest.pdf"
    assert int(pdfinfo(pdf)["Pages"]) > 100
    text = pdftotext(pdf)
    last = data["awards"][-1]["title"]
    assert last in text and "Largest Valid" in text
