"""Bad input, generated: whatever the bytes, resumec ends in a document or a located error.

Hypothesis drives the loader, the validator and the DOCX builder in-process
(fast, hundreds of cases); a smaller sample of the same inputs goes through the
real command line to prove the exit code and that no traceback escapes.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import SAMPLES, run_cli
from resumec.docx import build_docx
from resumec.errors import InputError
from resumec.load import load
from resumec.schema import RESUME, Array, Object, String
from resumec.sections import SECTION_KEYS
from resumec.theme import load_theme
from resumec.validate import MAX_ITEMS, MAX_STRING, MAX_TEXT, check, validate

LOCATED = re.compile(r"^[^:]+(:\d+:\d+)?: ")
THEME = load_theme("classic")
ORDER = [(key, THEME.titles[key]) for key in SECTION_KEYS]
# RESUMEC_FUZZ_EXAMPLES=5000 runs a longer campaign than the default per-run budget.
FUZZ = settings(max_examples=int(os.environ.get("RESUMEC_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


# -- strategies --------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)

# Text that stresses rendering: markup-looking strings, control characters,
# emoji, RTL and CJK, plus plain words.
hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["<b>x</b>", "&amp;", "{{ 7*7 }}", "{% for %}", "**bold**", "*it*", "[t](javascript:x)",
                     "\x00\x01\x0b\x1f", "🚀🎉", "שלום עולם", "日本語テキスト", "\ud7ff\ue000\ufffd", "a\nb\tc"]),
)


def _dates() -> st.SearchStrategy[str]:
    return st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(2999, 12, 31)).flatmap(
        lambda d: st.sampled_from([d.isoformat(), d.isoformat()[:7], d.isoformat()[:4], ""])
    )


def _without_local_photo(data: dict) -> dict:
    basics = data.get("basics")
    if isinstance(basics, dict) and "image" in basics:
        basics["image"] = "https://example.com/me.png" if basics["image"] else ""
    return data


def from_schema(node) -> st.SearchStrategy:
    """Valid values for a schema node: the résumé strategy follows our schema."""
    if isinstance(node, String):
        if node.format == "date":
            return _dates()
        if node.format == "uri":
            return st.sampled_from(["", "https://example.com/", "http://a.example.org/p?q=1", "mailto:a@b.co",
                                    "tel:+15550100", "javascript:alert(1)", "file:///etc/passwd", "ftp://x.example"])
        if node.format == "email":
            return st.sampled_from(["", "a@b.co", "名前@例え.jp"])
        return hostile_text
    if isinstance(node, Array):
        return st.lists(from_schema(node.items), max_size=3)
    assert isinstance(node, Object)
    return st.fixed_dictionaries({}, optional={key: from_schema(sub) for key, sub in node.properties.items()})


# A photo must name an existing file; remote URLs are never fetched, so they are
# the generated case here (local photos have their own tests).
resumes = from_schema(RESUME).map(_without_local_photo)


def mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """Byte-level damage: truncation, bit flips, inserted bytes, BOMs, deep nesting."""
    n = len(data)
    truncate = st.integers(0, n).map(lambda i: data[:i])
    flip = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 7)), min_size=1, max_size=8).map(
        lambda flips: _flip(data, flips)
    )
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=8)).map(lambda t: data[: t[0]] + t[1] + data[t[0]:])
    boms = st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"]).map(lambda b: b + data)
    deep = st.integers(1, 3000).map(lambda d: b'{"basics": ' + b"[" * d + b"]" * d + b"}")
    return st.one_of(truncate, flip, insert, boms, deep)


def _flip(data: bytes, flips) -> bytes:
    out = bytearray(data)
    for index, bit in flips:
        out[index] ^= 1 << bit
    return bytes(out)


FULL = (SAMPLES / "full.json").read_bytes()


# -- properties ----------------------------------------------------------------

def outcome(raw: bytes) -> str:
    """Load, validate and build in-process: 'ok' or 'error'; anything else propagates and fails."""
    try:
        source = load("-", stdin=io.BytesIO(raw))
        check(source)
    except InputError as exc:
        for line in exc.lines():
            assert LOCATED.match(line), line
        return "error"
    build_docx(source.data, THEME, ORDER)
    return "ok"


@FUZZ
@given(json_values)
def test_arbitrary_json_values_validate_without_crashing(value):
    problems = validate(value)
    assert isinstance(problems, list)
    if not isinstance(value, dict):
        assert problems, "a non-object root must be rejected"
    assert outcome(json.dumps(value).encode()) in ("ok", "error")


@FUZZ
@given(resumes)
def test_valid_resumes_from_the_schema_always_build(data):
    assert validate(data) == []
    docx_bytes = build_docx(data, THEME, ORDER)
    assert docx_bytes[:2] == b"PK"


@FUZZ
@given(mutations(FULL))
@example(FULL[: len(FULL) // 2])
@example(b"\xef\xbb\xbf" + FULL)
@example(b"\xff\xfe" + FULL.decode().encode("utf-16-le"))
@example(b'{"basics": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
@example(FULL.replace(b'"', b"\xc3", 1))
def test_mutated_samples_end_in_a_document_or_a_located_error(raw):
    assert outcome(raw) in ("ok", "error")


@pytest.mark.parametrize(
    "case",
    ["truncated", "bitflip", "bom16", "deep", "nul", "utf8-invalid"],
)
def test_cli_on_damaged_input_never_tracebacks(tmp_path, case):
    raw = {
        "truncated": FULL[:777],
        "bitflip": _flip(FULL, [(100, 6), (2000, 1), (3000, 7)]),
        "bom16": b"\xff\xfe" + FULL.decode().encode("utf-16-le"),
        "deep": b'{"work": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "nul": FULL.replace(b"Marchetti", b"Mar\\u0000chetti"),
        "utf8-invalid": FULL.replace(b"\xc3\xaa", b"\xc3\x28", 1),
    }[case]
    src = tmp_path / "in.json"
    src.write_bytes(raw)
    proc = run_cli("compile", str(src), "--format", "docx", "--no-cache")
    assert proc.returncode in (0, 1), proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    if proc.returncode == 1:
        assert re.search(rb"in\.json(:\d+:\d+)?: ", proc.stderr), proc.stderr
        assert not (tmp_path / "in.docx").exists()
    else:
        assert (tmp_path / "in.docx").exists()


# -- resource limits -------------------------------------------------------------

def test_absurd_lengths_are_rejected_with_located_messages(tmp_path):
    data = json.loads(FULL)
    data["work"][0]["highlights"] = ["x"] * 100_000
    data["basics"]["summary"] = "y" * 1_000_000
    src = tmp_path / "huge.json"
    src.write_text(json.dumps(data, indent=1))
    proc = run_cli("compile", str(src), "--no-cache")
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert f"work[0].highlights: list has 100,000 items; the limit is {MAX_ITEMS:,}" in err
    assert f"basics.summary: text is 1,000,000 characters long; the limit is {MAX_STRING:,}" in err
    assert re.search(r"huge\.json:\d+:\d+: basics\.summary", err)
    assert not (tmp_path / "huge.pdf").exists()


def test_total_text_budget():
    data = {"work": [{"summary": "z" * MAX_STRING} for _ in range(MAX_TEXT // MAX_STRING + 1)]}
    problems = validate(data)
    assert [p.message for p in problems] == [
        f"the résumé holds {MAX_STRING * (MAX_TEXT // MAX_STRING + 1):,} characters of text; the limit is {MAX_TEXT:,}"
    ]


def test_error_list_is_capped(tmp_path):
    src = tmp_path / "many.json"
    src.write_text(json.dumps({"work": [{"name": i} for i in range(500)]}))
    proc = run_cli("validate", str(src))
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == 1
    assert len(lines) == 101 and lines[-1].endswith("… and 400 more problems")
