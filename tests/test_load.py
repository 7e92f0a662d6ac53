"""Stage 1: reading, decoding, parsing, limits, and JSON path -> LINE:COL."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resumec.files as files_mod
from resumec.errors import InputError
from resumec.load import MAX_BYTES, MAX_DEPTH, Source, load, parse_text


def write(tmp_path: Path, content: bytes | str, name: str = "resume.json") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return str(path)


def error_of(fn, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    assert info.value.exit_code == 1
    return info.value


def offset_of(text: str, line: int, col: int) -> int:
    lines = text.split("\n")
    return sum(len(l) + 1 for l in lines[: line - 1]) + col - 1


# --- reading files ---------------------------------------------------------


def test_load_file(tmp_path: Path) -> None:
    spec = write(tmp_path, '{"basics": {"name": "Ada"}}\n')
    source = load(spec)
    assert source.name == spec
    assert source.path == Path(spec)
    assert source.data == {"basics": {"name": "Ada"}}
    assert source.text == '{"basics": {"name": "Ada"}}\n'


def test_name_is_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "{}")
    monkeypatch.chdir(tmp_path)
    assert load("./resume.json").name == "./resume.json"


def test_source_is_frozen(tmp_path: Path) -> None:
    source = load(write(tmp_path, "{}"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.text = "x"  # type: ignore[misc]


def test_missing_file(tmp_path: Path) -> None:
    spec = str(tmp_path / "nope.json")
    assert error_of(load, spec).message == f"{spec}: No such file or directory"


def test_directory(tmp_path: Path) -> None:
    assert error_of(load, str(tmp_path)).message == f"{tmp_path}: Is a directory"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated, because root (as in CI containers) can read a chmod-000 file.
    spec = write(tmp_path, "{}")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", spec)

    monkeypatch.setattr(files_mod, "_open", denied)
    assert error_of(load, spec).message == f"{spec}: Permission denied"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file modes")
def test_permission_denied_real(tmp_path: Path) -> None:
    spec = write(tmp_path, "{}")
    os.chmod(spec, 0)
    try:
        assert error_of(load, spec).message == f"{spec}: Permission denied"
    finally:
        os.chmod(spec, 0o644)


def test_empty_file(tmp_path: Path) -> None:
    spec = write(tmp_path, " \n\t\n")
    assert error_of(load, spec).message == f"{spec}: empty input (expected a JSON object)"


# --- encodings -------------------------------------------------------------


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    spec = write(tmp_path, b'\xef\xbb\xbf{"a": ["x", 1]}')
    source = load(spec)
    assert source.data == {"a": ["x", 1]}
    assert not source.text.startswith("\ufeff")
    # Columns are what an editor shows, which never counts the BOM.
    assert source.locate(("a",)) == (1, 7)
    assert source.locate(("a", 1)) == (1, 13)


def test_bom_in_already_decoded_text() -> None:
    assert parse_text("t", '\ufeff{"a": 1}').locate(("a",)) == (1, 7)


def test_invalid_utf8(tmp_path: Path) -> None:
    spec = write(tmp_path, b'{"name": "Ad\xff"}')
    assert error_of(load, spec).message == f"{spec}: not valid UTF-8 text (byte 0xff at offset 12)"


def test_invalid_utf8_offset_counts_the_bom(tmp_path: Path) -> None:
    spec = write(tmp_path, b'\xef\xbb\xbf{"a": "\xc3"}')
    # Offset is into the file as stored: 3 BOM bytes + 7.
    assert error_of(load, spec).message == f"{spec}: not valid UTF-8 text (byte 0xc3 at offset 10)"


def test_encoded_surrogate_is_invalid_utf8(tmp_path: Path) -> None:
    spec = write(tmp_path, b'{"a": "\xed\xa0\x80"}')
    assert "not valid UTF-8 text (byte 0xed at offset 7)" in error_of(load, spec).message


@pytest.mark.parametrize(
    ("codec", "label"),
    [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32"),
     ("utf-32-le", "UTF-32"), ("utf-32-be", "UTF-32")],
)
def test_wide_encodings_rejected(tmp_path: Path, codec: str, label: str) -> None:
    spec = write(tmp_path, '{"a": 1}'.encode(codec))
    assert error_of(load, spec).message == f"{spec}: text is {label}-encoded; save it as UTF-8"


def test_non_ascii_columns_count_characters() -> None:
    text = '{"name": "Zoë Ünal", "x": [true, "€", null]}'
    source = parse_text("t", text)
    assert source.locate(("x",)) == (1, 27)
    assert source.locate(("x", 1)) == (1, 34)
    assert source.locate(("x", 2)) == (1, 39)


# --- syntax errors and rejected JSON ---------------------------------------


def test_syntax_error_line_col(tmp_path: Path) -> None:
    spec = write(tmp_path, '{\n  "basics": {\n    "name": "Ada"\n  "work": []\n}\n')
    assert error_of(load, spec).message == f"{spec}:4:3: Expecting ',' delimiter"


def test_syntax_error_columns_are_characters() -> None:
    err = error_of(parse_text, "r.json", '{"é": "ü" "x"}')
    assert err.message == "r.json:1:11: Expecting ',' delimiter"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1,}', "t:1:9: Expecting property name enclosed in double quotes"),
        ("{} {}", "t:1:4: Extra data"),
        ('{"a": "x\ny"}', "t:1:9: Invalid control character at"),
        ("{'a': 1}", "t:1:2: Expecting property name enclosed in double quotes"),
        ('{"a": tru}', "t:1:7: Expecting value"),
    ],
)
def test_other_syntax_errors(text: str, message: str) -> None:
    assert error_of(parse_text, "t", text).message == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "t:1:7: NaN is not allowed in JSON"),
        ('{"a": "NaN Infinity",\n "b": [1, Infinity]}', "t:2:11: Infinity is not allowed in JSON"),
        ('{"a": -Infinity}', "t:1:7: -Infinity is not allowed in JSON"),
    ],
)
def test_non_finite_constants_rejected(text: str, message: str) -> None:
    assert error_of(parse_text, "t", text).message == message


def test_overflowing_number_rejected() -> None:
    err = error_of(parse_text, "t", '{"a": [1.5,\n  1e400]}')
    assert err.message == "t:2:3: number is too large"


def test_duplicate_keys_last_wins_and_locate_follows() -> None:
    text = '{"a": {"b": 1},\n "a": {"b": "two"}}'
    source = parse_text("t", text)
    assert source.data == {"a": {"b": "two"}}
    assert source.locate(("a", "b")) == (2, 13)


# --- limits ----------------------------------------------------------------


def test_size_limit_exact_is_accepted(tmp_path: Path) -> None:
    content = b"{}" + b" " * (MAX_BYTES - 2)
    assert load(write(tmp_path, content)).data == {}


def test_size_limit_one_byte_over(tmp_path: Path) -> None:
    spec = write(tmp_path, b"{}" + b" " * (MAX_BYTES - 1))
    # Rounded up: a file just over the limit must not read as "5.0 MB".
    assert error_of(load, spec).message == f"{spec}: file is 5.1 MB; the limit is 5 MB"


def test_size_limit_reports_size(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(int(6.1 * 1024 * 1024))  # sparse: the size is checked before reading
    assert error_of(load, str(path)).message == f"{path}: file is 6.1 MB; the limit is 5 MB"


def test_size_limit_stdin() -> None:
    err = error_of(load, "-", stdin=io.BytesIO(b" " * (MAX_BYTES + 1)))
    assert err.message == "<stdin>: input is over the 5 MB limit"


def test_size_limit_text_stdin_counts_utf8_bytes() -> None:
    text = '{"a": "' + "é" * (MAX_BYTES // 2) + '"}'  # fewer characters than the limit, more bytes
    err = error_of(load, "-", stdin=io.StringIO(text))
    assert err.message == "<stdin>: input is over the 5 MB limit"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_depth_limit_allows_64() -> None:
    assert parse_text("t", nested(MAX_DEPTH)).data is not None
    deep_objects = '{"a": ' * (MAX_DEPTH - 1) + "[]" + "}" * (MAX_DEPTH - 1)
    assert parse_text("t", deep_objects).data is not None


def test_depth_limit_rejects_65() -> None:
    err = error_of(parse_text, "t", nested(MAX_DEPTH + 1))
    assert err.message == f"t:1:{MAX_DEPTH + 1}: nested more than 64 levels deep"


def test_depth_limit_position_skips_strings() -> None:
    text = '{"s": "[[[[{{{{",\n "x": ' + nested(MAX_DEPTH) + "}"
    err = error_of(parse_text, "t", text)
    # The root object is level 1, so the 64th bracket on line 2 opens level 65.
    assert err.message == f"t:2:{7 + MAX_DEPTH - 1}: nested more than 64 levels deep"


def test_depth_limit_catches_recursion_error() -> None:
    # Far deeper than the C parser's recursion guard: must not leak RecursionError.
    err = error_of(parse_text, "t", nested(200_000))
    assert err.message == f"t:1:{MAX_DEPTH + 1}: nested more than 64 levels deep"


def test_depth_limit_unbalanced_deep_input() -> None:
    # Depth is the first thing wrong here, so it is what gets reported.
    err = error_of(parse_text, "t", "[" * 100_000)
    assert err.message == f"t:1:{MAX_DEPTH + 1}: nested more than 64 levels deep"


# --- stdin -----------------------------------------------------------------


def test_stdin_bytes() -> None:
    source = load("-", stdin=io.BytesIO(b'\xef\xbb\xbf{"basics": {"name": "Ada"}}'))
    assert source.name == "<stdin>"
    assert source.path is None
    assert source.data == {"basics": {"name": "Ada"}}


def test_stdin_prefers_buffer() -> None:
    # A text wrapper with a wrong encoding: reading .buffer keeps our UTF-8 rules.
    wrapper = io.TextIOWrapper(io.BytesIO('{"name": "Zoë"}'.encode()), encoding="latin-1")
    assert load("-", stdin=wrapper).data == {"name": "Zoë"}


def test_stdin_text_stream() -> None:
    assert load("-", stdin=io.StringIO('\ufeff{"a": 1}')).data == {"a": 1}


def test_stdin_invalid_utf8() -> None:
    err = error_of(load, "-", stdin=io.BytesIO(b'{"a": "\x80"}'))
    assert err.message == "<stdin>: not valid UTF-8 text (byte 0x80 at offset 7)"


def test_stdin_syntax_error() -> None:
    err = error_of(load, "-", stdin=io.BytesIO(b'{\n  "a": }'))
    assert err.message == "<stdin>:2:8: Expecting value"


def test_stdin_defaults_to_sys_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(b'{"a": [1]}'), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", fake)
    assert load("-").data == {"a": [1]}


def test_dash_path_object_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the string "-" means stdin; a Path named "-" is a file.
    write(tmp_path, '{"f": 1}', name="-")
    monkeypatch.chdir(tmp_path)
    assert load(Path("-")).data == {"f": 1}  # type: ignore[arg-type]


# --- locate ----------------------------------------------------------------

DOC = """\
{
  "basics": {
    "name": "Ada",
    "profiles": [
      {"network": "x", "url": "https://example.com/{not} [a] \\"path\\""},
      {"network": 42}
    ]
  },
  "w\\u006frk": [
    {
      "highlights": ["a", ["nested", [1, 2]], "}{][", {"k\\"ey": null}]
    }
  ],
  "empty": {},
  "list": [],
  "num": -1.5e3
}
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), (1, 1)),
        (("basics",), (2, 13)),
        (("basics", "name"), (3, 13)),
        (("basics", "profiles"), (4, 17)),
        (("basics", "profiles", 0), (5, 7)),
        (("basics", "profiles", 0, "network"), (5, 19)),
        (("basics", "profiles", 0, "url"), (5, 31)),
        (("basics", "profiles", 1), (6, 7)),
        (("basics", "profiles", 1, "network"), (6, 19)),
        (("work",), (9, 16)),  # escaped key: "w\u006frk" == "work"
        (("work", 0), (10, 5)),
        (("work", 0, "highlights"), (11, 21)),
        (("work", 0, "highlights", 0), (11, 22)),
        (("work", 0, "highlights", 1), (11, 27)),
        (("work", 0, "highlights", 1, 1), (11, 38)),
        (("work", 0, "highlights", 1, 1, 1), (11, 42)),
        (("work", 0, "highlights", 2), (11, 47)),
        (("work", 0, "highlights", 3), (11, 55)),
        (("work", 0, "highlights", 3, 'k"ey'), (11, 65)),
        (("empty",), (14, 12)),
        (("list",), (15, 11)),
        (("num",), (16, 10)),
    ],
)
def test_locate_exact(path: tuple, expected: tuple[int, int]) -> None:
    source = parse_text("t", DOC)
    assert source.locate(path) == expected
    # The position really is where that value starts.
    value = source.data
    for step in path:
        value = value[step]
    if path:
        start = offset_of(DOC, *expected)
        assert json.JSONDecoder().raw_decode(DOC, start)[0] == value


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("basics", "missing"), (2, 13)),
        (("basics", "profiles", 7, "url"), (4, 17)),
        (("basics", "name", "deeper"), (3, 13)),
        (("basics", "profiles", "0"), (4, 17)),  # a str step never indexes an array
        (("work", 0, "highlights", 3, "other"), (11, 55)),
        (("nothing",), (1, 1)),
        (("list", 0), (15, 11)),
        (("basics", True), (2, 13)),
    ],
)
def test_locate_missing_path_gives_nearest_ancestor(path: tuple, expected: tuple[int, int]) -> None:
    assert parse_text("t", DOC).locate(path) == expected


def test_locate_root_is_1_1_even_after_blank_lines() -> None:
    assert parse_text("t", '\n\n  {"a": 1}').locate(()) == (1, 1)
    assert parse_text("t", '\n\n  {"a": 1}').locate(("a",)) == (3, 9)


def test_locate_crlf() -> None:
    source = parse_text("t", '{\r\n  "a": {\r\n    "b": 2\r\n  }\r\n}\r\n')
    assert source.locate(("a", "b")) == (3, 10)


def test_locate_scalar_root() -> None:
    source = parse_text("t", '  "just a string"')
    assert source.locate(()) == (1, 1)
    assert source.locate((0,)) == (1, 1)


def test_position_index_is_lazy_and_cached(tmp_path: Path) -> None:
    source = load(write(tmp_path, '{"a": [1, 2]}'))
    assert "_positions" not in vars(source)  # loading never pays for it
    assert source.locate(("a", 1)) == (1, 11)
    index = vars(source)["_positions"]
    assert source.locate(("a", 0)) == (1, 8)
    assert vars(source)["_positions"] is index


def test_locate_on_hand_built_source() -> None:
    # Source is a plain dataclass; locate must work when built directly too.
    source = Source(name="x", path=None, text='{"a": {"b": [0, 1]}}', data={"a": {"b": [0, 1]}})
    assert source.locate(("a", "b", 1)) == (1, 17)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet=st.characters(codec="utf-8"), max_size=6), children, max_size=4),
    max_leaves=20,
)


def all_paths(value, prefix=()):
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from all_paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from all_paths(v, prefix + (i,))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=json_values,
    indent=st.sampled_from([None, 0, 1, 2, "\t"]),
    ensure_ascii=st.booleans(),
)
def test_locate_matches_decoder(value, indent, ensure_ascii: bool) -> None:
    """Property: every located position is where `raw_decode` finds that same value."""
    text = json.dumps({"root": value}, indent=indent, ensure_ascii=ensure_ascii)
    source = parse_text("t", text)
    decoder = json.JSONDecoder()
    for path, expected in all_paths(source.data):
        if not path:
            continue
        start = offset_of(text, *source.locate(path))
        assert decoder.raw_decode(text, start)[0] == expected


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_is_refused_before_reading() -> None:
    # Never opened, let alone read: /dev/zero would otherwise end only at the size cap.
    assert error_of(load, "/dev/zero").message == "/dev/zero: not a regular file (it is a character device)"
