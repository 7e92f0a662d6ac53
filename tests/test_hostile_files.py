"""Hostile input files: huge numbers, lone surrogates, old Mac line endings, special files.

Each test here failed before its fix (a traceback, a hang, a wrong LINE:COL or a
MemoryError) and pins the clear, located error that replaced it.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from resumec.errors import InputError
from resumec.files import FileTooLarge, NotRegularFile, read_regular
from resumec.load import load, parse_text
from resumec.validate import check

GOOD = {"basics": {"name": "Ada Lovelace", "email": "ada@example.com"}}
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def error_of(fn, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return info.value


def no_traceback(proc) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return err


# --- 1. huge integer literals ------------------------------------------------------------


def test_integer_over_pythons_digit_limit_is_a_located_error() -> None:
    text = '{\n  "basics": {"name": "Ada"},\n  "x": [1, ' + "9" * 5000 + "]\n}"
    assert error_of(parse_text, "r.json", text).message == "r.json:3:12: number is too large"


def test_negative_huge_integer_after_a_string_that_looks_like_one() -> None:
    text = '{"s": "' + "1" * 5000 + '",\n "n": -' + "7" * 4400 + "}"
    assert error_of(parse_text, "r.json", text).message == "r.json:2:7: number is too large"


def test_integer_beyond_a_double_is_refused_like_1e400() -> None:
    # Under Python's digit limit, but no JSON consumer holding doubles could read it.
    text = '{"a": {"b": [0, ' + "1" + "0" * 400 + "]}}"
    assert error_of(parse_text, "r.json", text).message == "r.json:1:17: number is too large"
    assert error_of(parse_text, "r.json", "1" + "0" * 400).message == "r.json:1:1: number is too large"


def test_integers_a_double_can_hold_are_kept_exactly() -> None:
    big = int(sys.float_info.max)
    assert parse_text("r", f'{{"a": {big}, "b": -{big}}}').data == {"a": big, "b": -big}
    assert error_of(parse_text, "r", f'{{"a": {big + 1}}}').message == "r:1:7: number is too large"


def test_largest_allowed_integer_flows_through_validate_messages() -> None:
    # validate's describe() and the report print the value; they must not trip over it.
    big = int(sys.float_info.max)
    source = parse_text("r.json", json.dumps({"basics": {"name": big}}))
    err = error_of(check, source)
    assert err.details == [f"r.json:1:21: basics.name: expected a string, got {str(big)[:39]}…"]


def huge_int_resume(tmp_path: Path) -> Path:
    path = tmp_path / "huge.json"
    path.write_text('{"basics": {"name": "Ada"},\n "meta": {"n": ' + "9" * 5000 + "}}\n")
    return path


def test_cli_validate_compile_stdin_and_json_report_on_a_huge_integer(tmp_path: Path) -> None:
    bad = huge_int_resume(tmp_path)
    proc = run_cli("validate", str(bad))
    assert proc.returncode == 1
    assert no_traceback(proc).strip() == f"{bad}:2:16: number is too large"

    proc = run_cli("compile", "-", "-f", "docx", "-o", str(tmp_path / "out.docx"), input=bad.read_bytes())
    assert proc.returncode == 1
    assert "<stdin>:2:16: number is too large" in no_traceback(proc)

    proc = run_cli("compile", "--json", "-f", "docx", str(bad), cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)
    report = json.loads(proc.stdout)
    assert report["results"][0]["error"]["message"] == f"{bad}:2:16: number is too large"


def test_batch_with_a_huge_integer_still_reports_every_other_input(tmp_path: Path) -> None:
    bad = huge_int_resume(tmp_path)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    proc = run_cli("compile", "--json", "-f", "docx", str(bad), str(good), cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)
    results = {r["input"]: r for r in json.loads(proc.stdout)["results"]}
    assert results[str(bad)]["error"]["message"] == f"{bad}:2:16: number is too large"
    assert results[str(good)]["ok"] is True
    assert (tmp_path / "good.docx").is_file()


# --- 2. lone surrogates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"basics": {"name": "\\ud800"}}', 'r.json:1:21: basics.name: lone surrogate \\ud800 is not valid Unicode'),
        ('{"basics":\n {"name": "Ada \\uDFFF!"}}', "r.json:2:11: basics.name: lone surrogate \\udfff is not valid Unicode"),
        # The high half of a pair followed by something that is not its low half.
        ('{"a": ["ok", "\\ud83d\\u0041"]}', "r.json:1:14: a[1]: lone surrogate \\ud83d is not valid Unicode"),
        # In a key: the path shows it escaped, so the message itself can always be printed.
        ('{"basics": {"\\udc00x": 1}}', 'r.json:1:24: basics["\\udc00x"]: lone surrogate \\udc00 is not valid Unicode'),
        ('"\\ud800"', "r.json:1:1: (root): lone surrogate \\ud800 is not valid Unicode"),
    ],
)
def test_lone_surrogates_are_rejected_with_their_location(text: str, message: str) -> None:
    assert error_of(parse_text, "r.json", text).message == message


def test_surrogate_pairs_and_escaped_backslashes_are_fine() -> None:
    data = parse_text("r", '{"a": "\\ud83d\\ude00", "b": "\\\\ud800", "c": "\\u00e9"}').data
    assert data == {"a": "\U0001f600", "b": "\\ud800", "c": "é"}


def test_lone_surrogate_in_already_decoded_text_stdin() -> None:
    # A text stream (no .buffer) can hand over a surrogate without any escape.
    err = error_of(load, "-", stdin=io.StringIO('{"basics": {"name": "x\ud800"}}'))
    assert err.message == "<stdin>:1:21: basics.name: lone surrogate \\ud800 is not valid Unicode"


def test_cli_json_report_on_a_lone_surrogate(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"basics": {"name": "\\ud800"}}')
    proc = run_cli("compile", "--json", "-f", "docx", str(path), cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)
    error = json.loads(proc.stdout)["results"][0]["error"]
    assert error["message"] == f"{path}:1:21: basics.name: lone surrogate \\ud800 is not valid Unicode"
    assert not (tmp_path / "s.docx").exists()


# --- 3. CR-only (and mixed) line endings -------------------------------------------------

LF_DOC = '{\n  "basics": {\n    "name": "Ada",\n    "email": 7\n  },\n  "work": [\n    {"name": 1}\n  ]\n}\n'


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_schema_errors_point_at_the_same_line_whatever_the_line_ending(newline: str) -> None:
    source = parse_text("r.json", LF_DOC.replace("\n", newline))
    assert error_of(check, source).details == [
        "r.json:4:14: basics.email: expected a string, got 7",
        "r.json:7:14: work[0].name: expected a string, got 1",
    ]


def test_mixed_line_endings_count_each_break_once() -> None:
    text = '{\r\n"a": 1,\r"b": 2,\n"c": [\r\n\r\n"x",\r"y" "z"]}'
    assert error_of(parse_text, "r", text).message == "r:7:5: Expecting ',' delimiter"
    source = parse_text("r", text.replace('"y" "z"', '"y"'))
    assert [source.locate(p) for p in (("a",), ("b",), ("c",), ("c", 0), ("c", 1))] == [
        (2, 6), (3, 6), (4, 6), (6, 1), (7, 1)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{\r"a": 1,\r"b": [1,,2]}', "r:3:9: Expecting value"),
        ('{\r"a":\r NaN}', "r:3:2: NaN is not allowed in JSON"),
        ('{\r"a":\r 1e400}', "r:3:2: number is too large"),
        ('{\r"a":\r ' + "1" * 5000 + "}", "r:3:2: number is too large"),
        ('{\r"a": \r  "\\ud800"}', "r:3:3: a: lone surrogate \\ud800 is not valid Unicode"),
        ("{\r\r" + '"a": ' + "[" * 70 + "]" * 70 + "}", "r:3:69: nested more than 64 levels deep"),
    ],
)
def test_every_kind_of_error_counts_bare_cr_as_a_line_break(text: str, message: str) -> None:
    assert error_of(parse_text, "r", text).message == message


def test_cli_reports_cr_only_file_positions(tmp_path: Path) -> None:
    path = tmp_path / "mac.json"
    path.write_bytes(LF_DOC.replace("\n", "\r").encode())
    proc = run_cli("validate", str(path))
    assert proc.returncode == 1
    assert no_traceback(proc).splitlines()[:2] == [
        f"{path}:4:14: basics.email: expected a string, got 7",
        f"{path}:7:14: work[0].name: expected a string, got 1",
    ]


# --- 4. sizes from the environment -------------------------------------------------------


@pytest.mark.parametrize("text", ["inf", "infG", "-inf", "nan", "NaNM", "1e400", "1e300G", "-1", "-0.5K"])
def test_parse_size_refuses_non_finite_and_negative_sizes(text: str) -> None:
    from resumec.cache import parse_size

    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_parse_size_still_accepts_ordinary_sizes() -> None:
    from resumec.cache import parse_size

    assert [parse_size(t) for t in ("0", "1.5K", "200M", "2Gi", " 7 ")] == [0, 1500, 200_000_000, 2 * 1024**3, 7]


@pytest.mark.parametrize("value", ["infG", "nan"])
def test_cache_max_size_env_infinite_or_nan_is_a_usage_error(tmp_path: Path, value: str) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    for args in (("compile", "-f", "docx", str(good)), ("cache", "info")):
        proc = run_cli(*args, env={"RESUMEC_CACHE_MAX_SIZE": value}, cwd=tmp_path)
        assert proc.returncode == 2, args
        assert f"RESUMEC_CACHE_MAX_SIZE: not a size: '{value}'" in no_traceback(proc)
