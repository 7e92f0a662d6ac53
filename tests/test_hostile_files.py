"""Hostile files (issue 9): huge numbers, lone surrogates, old Mac line endings, sizes from the
environment, theme.toml values, photo headers and special files (FIFOs, devices, /proc) as inputs,
theme files and cache entries.

Most tests here failed before their fix (a traceback, a hang, a MemoryError, a wrong LINE:COL, an
unlocated error or a silently accepted bomb) and pin the clear, located error that replaced it; the
rest pin what must keep working beside them (surrogate pairs, integers a double holds, limits that
are inclusive, seeds the fuzzer starts from).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import run_cli, wait_until
from resumec.assets import MAX_PHOTO_PIXELS, MAX_PHOTO_SIDE, load_photo
from resumec.cache import Cache
from resumec.errors import InputError
from resumec.files import FileTooLarge, NotOwned, NotRegularFile, read_regular
from resumec.load import load, parse_text
from resumec.theme import BUILTIN_DIR, MAX_THEME_BYTES, MAX_THEME_FILES, load_theme
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
        assert f"RESUMEC_CACHE_MAX_SIZE={value}: not a size" in no_traceback(proc)


# --- 7. special files: the reading helper --------------------------------------------------


def finishes(fn, timeout: float = 60.0):
    """fn()'s result, failing (instead of hanging the suite) if it blocks, e.g. on a FIFO."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{fn} blocked for {timeout} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


@needs_fifo
def test_read_regular_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile) as info:
        finishes(lambda: read_regular(fifo, 100))
    assert info.value.kind == "a FIFO"
    assert info.value.strerror == "not a regular file (it is a FIFO)"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_read_regular_refuses_devices_and_symlinks_to_them(tmp_path: Path) -> None:
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    for path in ("/dev/zero", link):
        with pytest.raises(NotRegularFile, match="character device"):
            read_regular(path, 100)
    with pytest.raises(NotRegularFile, match="symbolic link"):
        read_regular(link, 100, follow_symlinks=False)


def test_read_regular_caps_what_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 101)
    assert read_regular(path, 101) == b"x" * 101
    with pytest.raises(FileTooLarge) as info:
        read_regular(path, 100)
    assert info.value.size == 101


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="needs file owners")
def test_read_regular_owned_only_reads_only_our_own_unshared_files(tmp_path: Path) -> None:
    # By mode, not chown: the tests may run as root, where every file is "ours".
    path = tmp_path / "ours"
    path.write_bytes(b"code")
    os.chmod(path, 0o600)
    assert read_regular(path, 100, follow_symlinks=False, owned_only=True) == b"code"
    for mode in (0o666, 0o620, 0o602):
        os.chmod(path, mode)
        with pytest.raises(NotOwned, match="group or others may write it"):
            read_regular(path, 100, follow_symlinks=False, owned_only=True)
        assert read_regular(path, 100) == b"code"  # the check is only asked for
    os.chmod(path, 0o644)
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(NotRegularFile, match="symbolic link"):
        read_regular(link, 100, follow_symlinks=False, owned_only=True)
    with pytest.raises(FileTooLarge):
        read_regular(path, 3, follow_symlinks=False, owned_only=True)


@pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="needs Linux /proc")
def test_read_regular_stops_at_the_cap_when_the_size_lies() -> None:
    # A regular file whose st_size is 0 and whose content goes on for gigabytes.
    assert os.stat("/proc/self/pagemap").st_size == 0
    with pytest.raises(FileTooLarge) as info:
        read_regular("/proc/self/pagemap", 4095)
    assert info.value.size is None


# --- 7. special files as inputs ------------------------------------------------------------


@needs_fifo
def test_fifo_as_input_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "cv.json"
    os.mkfifo(fifo)
    err = finishes(lambda: error_of(load, str(fifo)))
    assert err.message == (
        f"{fifo}: not a regular file (it is a FIFO); to read from a pipe, give - and redirect it to standard input"
    )


@needs_fifo
def test_fifo_in_an_input_folder_is_reported_and_the_others_still_build(tmp_path: Path) -> None:
    folder = tmp_path / "cvs"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(GOOD))
    os.mkfifo(folder / "b.json")
    proc = run_cli("compile", "--json", "-f", "docx", str(folder), timeout=120)
    assert proc.returncode == 1
    no_traceback(proc)
    results = {r["input"]: r for r in json.loads(proc.stdout)["results"]}
    assert results[str(folder / "a.json")]["ok"] is True
    assert "not a regular file (it is a FIFO)" in results[str(folder / "b.json")]["error"]["message"]
    assert (folder / "a.docx").is_file() and not (folder / "b.docx").exists()


# --- 7. special files inside the cache ---------------------------------------------------

PDF = b"%PDF-1.7 a small but well-formed enough blob"
DOCX = b"PK\x03\x04 a zip, as far as anyone checks"


def stored(tmp_path: Path) -> tuple[Cache, list[str], str, Path, Path]:
    warnings: list[str] = []
    cache = Cache(tmp_path / "cache", warn=warnings.append)
    digest = cache.put("ab" * 32, PDF, "pdf")
    return cache, warnings, digest, cache._blob_path(digest), cache._key_path("ab" * 32)


def replace_with(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "symlink":  # a regular file, but reached through a link the cache never makes
        target = path.parents[4] / f"elsewhere-{path.name}"  # outside the cache
        target.write_bytes(PDF)
        path.symlink_to(target)
    elif kind == "dir":
        path.mkdir()


SPECIAL = [pytest.param("fifo", marks=needs_fifo), "zero", "symlink"]


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_blob_is_a_miss_and_is_removed(tmp_path: Path, kind: str) -> None:
    cache, warnings, digest, blob, _ = stored(tmp_path)
    replace_with(blob, kind)
    assert finishes(lambda: cache.get("ab" * 32)) is None
    assert finishes(lambda: cache.get_blob(digest)) is None
    assert not os.path.lexists(blob)
    assert os.path.exists("/dev/zero")  # the link went, never its target
    assert any("not a regular file; removed and rebuilding" in w for w in warnings), warnings
    cache.put("ab" * 32, PDF, "pdf")  # and the next build stores it again
    assert cache.get("ab" * 32) == (digest, PDF)
    assert cache.enabled


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_manifest_is_a_miss_and_is_removed(tmp_path: Path, kind: str) -> None:
    cache, warnings, digest, _, manifest = stored(tmp_path)
    replace_with(manifest, kind)
    assert finishes(lambda: cache.lookup("ab" * 32)) is None
    assert not os.path.lexists(manifest)
    assert finishes(lambda: cache.get("ab" * 32)) is None
    cache.put("ab" * 32, PDF, "pdf")
    assert cache.get("ab" * 32) == (digest, PDF)


def test_directory_where_an_entry_should_be_is_a_miss_and_left_alone(tmp_path: Path) -> None:
    cache, _, digest, blob, manifest = stored(tmp_path)
    replace_with(manifest, "dir")
    assert cache.get("ab" * 32) is None and manifest.is_dir()
    replace_with(blob, "dir")
    assert cache.get_blob(digest) is None and blob.is_dir()


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_stats_file_and_lock_never_block_or_break_the_counters(tmp_path: Path, kind: str) -> None:
    cache, _, _, _, _ = stored(tmp_path)
    cache.record(pdf_hits=1)
    for name in ("stats.json", "stats.lock"):
        replace_with(cache.base / name, kind)
        finishes(lambda: cache.record(pdf_hits=1))
        finishes(cache.stats)
        finishes(cache.info)
        assert cache.enabled
    cache.record(pdf_misses=2)
    assert cache.stats()["pdf_misses"] == 2
    assert (cache.base / "stats.json").is_file() and not (cache.base / "stats.json").is_symlink()


def test_odd_counters_in_stats_json_count_as_zero(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    cache.base.mkdir(parents=True)
    (cache.base / "stats.json").write_text('{"pdf_hits": Infinity, "docx_hits": -3, "pdf_misses": 4, "x": "7"}')
    assert cache.stats() == {"pdf_misses": 4}
    cache.record(pdf_hits=1)
    assert cache.stats() == {"pdf_hits": 1, "pdf_misses": 4}


def test_manifest_must_match_the_blobs_size_and_kind(tmp_path: Path) -> None:
    cache, warnings, digest, _, manifest = stored(tmp_path)
    good = json.loads(manifest.read_bytes())
    manifest.write_text(json.dumps({**good, "size": good["size"] + 1}))
    assert cache.lookup("ab" * 32) is None and cache.get("ab" * 32) is None
    assert not manifest.exists()

    cache.put("ab" * 32, PDF, "pdf")
    docx_digest = cache.put("cd" * 32, DOCX, "docx")
    # A sound blob of another kind: served under this key it would be a .docx named .pdf.
    manifest.write_text(json.dumps({"blob": docx_digest, "size": len(DOCX), "kind": "pdf"}))
    assert cache.get("ab" * 32) is None
    assert not manifest.exists()
    assert cache.get("cd" * 32) == (docx_digest, DOCX)  # the blob itself is fine and stays
    assert cache.get_blob(digest) == PDF
    assert not any("corrupt" in w for w in warnings)


@pytest.mark.parametrize(
    "manifest",
    [
        '{"blob": "%s", "size": "7", "kind": "pdf"}',
        '{"blob": "%s", "size": -1, "kind": "pdf"}',
        '{"blob": "%s", "size": true, "kind": "pdf"}',
        '{"blob": "%s", "kind": "pdf"}',
        '{"blob": "../../../../etc/passwd", "size": 7, "kind": "pdf"}',
        '{"blob": "%s", "size": ' + "9" * 5000 + ', "kind": "pdf"}',
        '[1, 2]',
    ],
)
def test_malformed_manifests_are_dropped(tmp_path: Path, manifest: str) -> None:
    cache, warnings, digest, _, path = stored(tmp_path)
    path.write_text(manifest.replace("%s", digest))
    assert cache.get("ab" * 32) is None
    assert not path.exists()
    assert any("corrupt" in w or "too large" in w for w in warnings)


def test_oversized_blob_is_never_read(tmp_path: Path) -> None:
    from resumec.cache import MAX_BLOB_BYTES

    cache, warnings, digest, blob, manifest = stored(tmp_path)
    with open(blob, "r+b") as handle:
        handle.truncate(MAX_BLOB_BYTES + 1)  # sparse: costs no disk, would cost 256 MB of memory
    manifest.write_text(json.dumps({"blob": digest, "size": MAX_BLOB_BYTES + 1, "kind": "pdf"}))
    assert cache.get("ab" * 32) is None
    assert not blob.exists() and any("too large" in w for w in warnings)


@pytest.mark.parametrize("kind", SPECIAL)
def test_prune_info_and_clear_skip_and_remove_special_entries(tmp_path: Path, kind: str) -> None:
    cache, _, digest, blob, manifest = stored(tmp_path)
    other = cache.put("ef" * 32, PDF + b"2", "pdf")
    replace_with(cache._blob_path(other), kind)
    replace_with(cache._key_path("ef" * 32), kind)
    info = finishes(cache.info)
    assert (info["entries"], info["blobs"]) == (1, 1)
    finishes(lambda: cache.prune(10**9))
    assert not os.path.lexists(cache._blob_path(other)) and not os.path.lexists(cache._key_path("ef" * 32))
    assert cache.get("ab" * 32) == (digest, PDF)
    replace_with(cache._blob_path(digest), kind)
    assert finishes(cache.clear) == 2
    assert not os.path.lexists(blob) and not os.path.lexists(manifest)


@needs_fifo
def test_cli_rebuilds_past_fifos_in_the_cache(tmp_path: Path) -> None:
    cv = tmp_path / "cv.json"
    cv.write_text(json.dumps(GOOD))
    cache_dir = tmp_path / "cache"
    env = {"RESUMEC_CACHE_DIR": str(cache_dir)}
    first = run_cli("compile", "-f", "docx", str(cv), env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    special = [p for p in (cache_dir / "v1").rglob("*") if p.is_file()]
    assert any(p.name == "stats.json" for p in special) and len(special) >= 3
    for path in special:  # every blob, manifest and the counters
        path.unlink()
        os.mkfifo(path)
    again = run_cli("compile", "-f", "docx", str(cv), env=env, timeout=120)
    assert again.returncode == 0
    assert "removed and rebuilding" in no_traceback(again)
    third = run_cli("compile", "--json", "-f", "docx", str(cv), env=env, timeout=120)
    assert json.loads(third.stdout)["results"][0]["outputs"][0]["cached"] == "local"


# --- 6. the photo: headers checked before anything decodes it ------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, *, color: int = 2, depth: int = 8, idat: bytes | None = None) -> bytes:
    """A PNG declaring width×height; its pixel data is real only when small enough to matter."""
    if idat is None:  # real pixels when small; a bomb needs none to be refused
        small = width * height <= 1_000_000 and width <= 10_000
        idat = zlib.compress((b"\0" + b"\x80" * (3 * width)) * height if small else b"\0" * 64)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg(width: int, height: int, *, header: bytes | None = None) -> bytes:
    """The markers of a baseline JPEG up to its scan; enough for every header check."""
    if header is None:
        header = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\x01" + struct.pack(">HH", 72, 72) + b"\0\0"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + header + sof + sos + b"\x12\x34" * 8 + b"\xff\xd9"


def exif_header(entries: list[tuple[int, int, int, int]], extra: bytes = b"", big_endian: bool = True) -> bytes:
    """An APP1 Exif segment whose first directory holds `entries` (tag, type, count, value)."""
    e = ">" if big_endian else "<"
    tiff = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", 8) + struct.pack(e + "H", len(entries))
    tiff += b"".join(struct.pack(e + "HHII", *entry) for entry in entries) + struct.pack(e + "I", 0) + extra
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def real_jpeg(tmp_path: Path) -> bytes:
    """A real, decodable JPEG (libjpeg via poppler), 120×150."""
    pdf = tmp_path / "one.pdf"
    content = b"0.2 0.4 0.6 rg 10 10 100 130 re f"
    pdf.write_bytes(
        b"%%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 120 150] /Contents 4 0 R >> endobj\n"
        b"4 0 obj << /Length %d >> stream\n%s\nendstream endobj\ntrailer << /Root 1 0 R /Size 5 >>\n%%%%EOF\n"
        % (len(content), content)
    )
    subprocess.run(["pdftoppm", "-jpeg", "-r", "72", "-singlefile", str(pdf), str(tmp_path / "real")],
                   check=True, capture_output=True)
    return (tmp_path / "real.jpg").read_bytes()


def photo_error(tmp_path: Path, blob: bytes, name: str = "me.png") -> str:
    (tmp_path / name).write_bytes(blob)
    with pytest.raises(InputError) as info:
        load_photo({"basics": {"image": name}}, tmp_path)
    return info.value.message


def resume_with_photo(folder: Path, blob: bytes | None, name: str = "me.png") -> Path:
    if blob is not None:
        (folder / name).write_bytes(blob)
    path = folder / "cv.json"
    path.write_text('{\n  "basics": {\n    "name": "Ada",\n    "image": "%s"\n  }\n}\n' % name)
    return path


def test_png_bomb_is_refused_from_its_header_located(tmp_path: Path) -> None:
    cv = resume_with_photo(tmp_path, png(30000, 30000))
    proc = run_cli("compile", "-f", "docx", "-t", "modern", str(cv), "--no-cache")
    assert proc.returncode == 1
    assert no_traceback(proc).strip() == (
        f'{cv}:4:14: basics.image: "me.png" is 30000×30000 pixels; the limit is {MAX_PHOTO_SIDE} pixels a side '
        f"and {MAX_PHOTO_PIXELS // 1_000_000} megapixels (a 600×600 photo is plenty)"
    )
    assert not (tmp_path / "cv.docx").exists()


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (png(2**31, 2**31), "the PNG declares 2147483648×2147483648 pixels, more than PNG allows"),
        (png(2**31 - 1, 1), "is 2147483647×1 pixels; the limit is"),
        (png(MAX_PHOTO_SIDE + 1, 1), f"is {MAX_PHOTO_SIDE + 1}×1 pixels; the limit is"),
        (png(5001, 5000), "is 5001×5000 pixels; the limit is"),  # each side fine, 25,005,000 pixels
        (png(0, 0), 'basics.image: "me.png" has no pixels (0×0)'),
        (png(10, 0), "has no pixels (10×0)"),
        (b"this is not an image at all", 'basics.image: "me.png" is not a PNG or JPEG image'),
        (PNG_MAGIC + b"\0\0\0\x0dIHDR\0\0", "the PNG ends inside a chunk (truncated)"),
        (PNG_MAGIC, "the PNG ends before its IEND chunk (truncated)"),
        (png(8, 8)[:-12], "the PNG ends before its IEND chunk (truncated)"),
        (png(8, 8, depth=3), "impossible pixel format"),
        (png(8, 8, color=3), "a palette image without a palette"),
        (PNG_MAGIC + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) + chunk(b"IEND", b""),
         "the PNG holds no image data"),
        (png(8, 8).replace(b"IDAT", b"ID\xffT"), "corrupt PNG chunk"),
        (png(8, 8)[:40] + bytes([png(8, 8)[40] ^ 1]) + png(8, 8)[41:], "bad CRC"),
        (jpeg(9000, 100), "is 9000×100 pixels; the limit is"),
        (jpeg(100, 0), "has no pixels (100×0)"),
        (jpeg(100, 100)[:30], "the JPEG is truncated"),
        (b"\xff\xd8\xff\xdb" + b"\0" * 40, "neither a JFIF nor an Exif header"),
        (jpeg(10, 10).replace(b"\xff\xc0", b"\xff\xc4"), "no frame header (SOF)"),
        (jpeg(10, 10, header=exif_header([(0x011A, 5, 1, 26)], b"\0\0\0\x48\0\0\0\0")), "divides by zero"),
        (jpeg(10, 10, header=exif_header([(0x011A, 2, 4, 200)])), "Exif data is damaged"),
        (jpeg(10, 10, header=exif_header([(0x011A, 5, 2, 26)], b"\0\0\0\x48\0\0\0\x01" * 2)), "resolution is malformed"),
    ],
)
def test_bad_photo_headers_are_input_errors(tmp_path: Path, blob: bytes, message: str) -> None:
    name = "me.jpg" if blob.startswith(b"\xff\xd8") else "me.png"
    assert message in photo_error(tmp_path, blob, name)


def test_photo_limits_are_inclusive(tmp_path: Path) -> None:
    for width, height in ((MAX_PHOTO_SIDE, MAX_PHOTO_PIXELS // MAX_PHOTO_SIDE), (1, MAX_PHOTO_SIDE), (5000, 5000)):
        (tmp_path / "me.png").write_bytes(png(width, height))
        photo = load_photo({"basics": {"image": "me.png"}}, tmp_path)
        assert (photo.format, photo.width, photo.height) == ("png", width, height)
    exif = exif_header([(0x011A, 5, 1, 26), (0x0128, 3, 1, 0x00020000)], b"\0\0\0\x48\0\0\0\x01")
    (tmp_path / "me.jpg").write_bytes(jpeg(640, 480, header=exif))
    photo = load_photo({"basics": {"image": "me.jpg"}}, tmp_path)
    assert (photo.format, photo.width, photo.height) == ("jpeg", 640, 480)


@pytest.mark.parametrize(
    ("blob", "name", "message"),
    [
        (b"not an image", "fake.png", 'basics.image: "fake.png" is not a PNG or JPEG image'),
        (PNG_MAGIC + b"\0\0\0\x0dIH", "cut.png", 'basics.image: "cut.png" is not a valid PNG or JPEG image'),
        (png(0, 0), "empty.png", 'basics.image: "empty.png" has no pixels (0×0)'),
        (png(2**31, 2**31), "huge.png", 'basics.image: "huge.png" is not a valid PNG or JPEG image: '
         "the PNG declares 2147483648×2147483648 pixels, more than PNG allows"),
    ],
)
def test_every_photo_problem_is_located_in_the_json(tmp_path: Path, blob: bytes, name: str, message: str) -> None:
    cv = resume_with_photo(tmp_path, blob, name)
    proc = run_cli("compile", "-f", "docx", "-t", "modern", str(cv), "--no-cache")
    assert proc.returncode == 1
    assert no_traceback(proc).startswith(f"{cv}:4:14: {message}")


@needs_fifo
def test_fifo_as_photo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "me.png")
    message = finishes(lambda: _fifo_photo_error(tmp_path))
    assert message == 'basics.image: "me.png" is not a regular file (it is a FIFO)'


def _fifo_photo_error(folder: Path) -> str:
    with pytest.raises(InputError) as info:
        load_photo({"basics": {"image": "me.png"}}, folder)
    return info.value.message


def test_a_real_jpeg_reaches_the_pdf(tmp_path: Path) -> None:
    cv = resume_with_photo(tmp_path, real_jpeg(tmp_path), "me.jpg")
    proc = run_cli("compile", "-f", "pdf", "-t", "modern", str(cv), "--no-cache", timeout=300)
    assert proc.returncode == 0, proc.stderr
    listing = subprocess.run(["pdfimages", "-list", str(tmp_path / "cv.pdf")], capture_output=True, text=True)
    rows = [line.split() for line in listing.stdout.splitlines()[2:]]
    assert [(row[3], row[4]) for row in rows] == [("120", "150")]  # width, height of the one image


# --- the photo of a résumé read from standard input -----------------------------------------


def test_stdin_photo_resolves_against_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "me.png").write_bytes(png(40, 50))
    text = resume_with_photo(tmp_path, None).read_bytes()
    proc = run_cli("compile", "-", "-f", "docx", "-t", "modern", "-o", "out.docx", "--no-cache", input=text,
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = zipfile.ZipFile(tmp_path / "out.docx").namelist()
    assert [n for n in names if n.startswith("word/media/")] == ["word/media/image1.png"]


def test_stdin_photo_may_not_be_an_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "me.png").write_bytes(png(40, 50))
    text = json.dumps({"basics": {"name": "Ada", "image": str(tmp_path / "me.png")}}).encode()
    proc = run_cli("compile", "-", "-f", "docx", "-t", "modern", "-o", "out.docx", "--no-cache", input=text,
                   cwd=tmp_path)
    assert proc.returncode == 1
    message = no_traceback(proc)
    assert "a résumé read from standard input may only use a path relative to the current directory" in message
    assert not (tmp_path / "out.docx").exists()


def test_stdin_photo_is_refused_when_run_from_the_root_directory(tmp_path: Path) -> None:
    # From /, "relative to the current directory" would reach every file on the machine.
    text = json.dumps({"basics": {"name": "Ada", "image": "usr/share/pixmaps/debian-logo.png"}}).encode()
    proc = run_cli("compile", "-", "-f", "docx", "-t", "modern", "-o", str(tmp_path / "out.docx"), "--no-cache",
                   input=text, cwd=Path("/"))
    assert proc.returncode == 1
    assert "<stdin>:1:37: basics.image:" in no_traceback(proc)
    assert "the current directory, and that is /" in proc.stderr.decode()
    assert not (tmp_path / "out.docx").exists()


# --- whatever load_photo accepts, python-docx can embed ---------------------------------------

_EXIF_SEEDS = [
    exif_header([(0x011A, 5, 1, 50), (0x011B, 5, 1, 58), (0x0128, 3, 1, 0x00020000), (0x010F, 2, 6, 66)],
                b"\0\0\0\x48\0\0\0\x01\0\0\0\x48\0\0\0\x01" + b"Canon\0"),
    exif_header([(0x011A, 5, 1, 26), (0x0110, 2, 3, 42)], b"\x48\0\0\0\x01\0\0\0" + b"X1\0", big_endian=False),
]


def _seeds() -> list[bytes]:
    return [
        (Path(__file__).resolve().parents[1] / "samples" / "photo.png").read_bytes(),
        png(3, 2, color=0, depth=1),
        jpeg(64, 48),
        *(jpeg(33, 44, header=h) for h in _EXIF_SEEDS),
    ]


@st.composite
def mutated_images(draw) -> bytes:
    blob = bytearray(draw(st.sampled_from(_seeds())))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(blob)))
        op = draw(st.sampled_from(["flip", "cut", "insert", "int16", "int32"]))
        if op == "flip" and at < len(blob):
            blob[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del blob[max(at, 3):]
        elif op == "insert":
            blob[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op in ("int16", "int32"):  # header fields: lengths, sizes, offsets, counts
            size = 2 if op == "int16" else 4
            top = 2 ** (8 * size)
            value = draw(st.sampled_from([0, 1, 2, 255, top // 2, top - 1]) | st.integers(0, top - 1))
            blob[at:at + size] = value.to_bytes(size, "big")
    if blob.startswith(PNG_MAGIC) and draw(st.booleans()):
        _fix_crcs(blob)  # so mutated header fields get past the CRC check
    return bytes(blob)


def _fix_crcs(blob: bytearray) -> None:
    pos = len(PNG_MAGIC)
    while pos + 12 <= len(blob):
        (length,) = struct.unpack_from(">I", blob, pos)
        end = pos + 12 + length
        if end > len(blob):
            return
        struct.pack_into(">I", blob, end - 4, zlib.crc32(blob[pos + 4 : end - 4]))
        pos = end


@settings(max_examples=int(os.environ.get("RESUMEC_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(blob=mutated_images())
def test_every_photo_load_photo_accepts_is_one_python_docx_reads_alike(blob: bytes) -> None:
    from docx.image.image import Image

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "me.img").write_bytes(blob)
        try:
            photo = load_photo({"basics": {"image": "me.img"}}, folder)
        except InputError as exc:
            assert exc.message.startswith('basics.image: "me.img" ')
            event("refused")
            return
    event(f"accepted {photo.format}")
    image = Image.from_blob(photo.data)  # what embedding the picture does; must not raise
    assert (image.px_width, image.px_height) == (photo.width, photo.height)
    assert 1 <= photo.width <= MAX_PHOTO_SIDE and photo.width * photo.height <= MAX_PHOTO_PIXELS


def test_the_seeds_are_accepted(tmp_path: Path) -> None:
    # Otherwise the property above would only ever see refusals.
    for index, blob in enumerate(_seeds()):
        (tmp_path / f"{index}.img").write_bytes(blob)
        assert load_photo({"basics": {"image": f"{index}.img"}}, tmp_path) is not None


# --- 5. theme.toml values ------------------------------------------------------------------


def child_theme(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir(exist_ok=True)
    (folder / "theme.toml").write_text('[theme]\nextends = "classic"\n' + body, "utf-8")
    return folder


def theme_problems(folder: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_theme(str(folder))
    return info.value.lines()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[styles.Normal]\nsize = 1e308\n", ":4: [styles.Normal] size must be between 1 and 1638 pt, got 1e+308 pt"),
        ("[styles.Normal]\nsize = inf\n", ":4: [styles.Normal] size must be a finite number, got inf"),
        ("[styles.Normal]\nsize = nan\n", ":4: [styles.Normal] size must be a finite number, got nan"),
        ("[styles.Normal]\nletter_spacing = nan\n", ":4: [styles.Normal] letter_spacing must be a finite number, got nan"),
        ('[page]\nmargins = { top = "100000cm" }\n',
         ":4: [page] margins top + bottom leave 0.00 cm of text height on the smallest paper; at least 2.54 cm is needed"),
        ('[fonts]\nbody = "Cal\\u0001ibri"\n', ":4: [fonts] body holds control character U+0001, which is not allowed"),
        ('[styles."List Bullet"]\nbullet = "\\u0007"\n',
         ':4: [styles."List Bullet"] bullet holds control character U+0007, which is not allowed'),
    ],
)
def test_the_seven_hostile_theme_values_are_located_errors(tmp_path: Path, body: str, problem: str) -> None:
    folder = child_theme(tmp_path, body)
    assert theme_problems(folder) == [f"{folder}/theme.toml{problem}"]


def test_the_seven_through_the_cli_exit_1_without_a_traceback(tmp_path: Path) -> None:
    cv = tmp_path / "cv.json"
    cv.write_text(json.dumps(GOOD))
    folder = child_theme(tmp_path, "[styles.Normal]\nsize = nan\nletter_spacing = inf\n")
    proc = run_cli("compile", "-f", "docx", "-t", str(folder), str(cv), "--no-cache")
    assert proc.returncode == 1
    assert no_traceback(proc).splitlines() == [
        f"{folder}/theme.toml:4: [styles.Normal] size must be a finite number, got nan",
        f"{folder}/theme.toml:5: [styles.Normal] letter_spacing must be a finite number, got inf",
    ]
    assert not (tmp_path / "cv.docx").exists()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[styles.Normal]\nsize = 0.5\n", "[styles.Normal] size must be between 1 and 1638 pt, got 0.5 pt"),
        ("[styles.Normal]\nspace_after = -2\n", "[styles.Normal] space_after must be between 0 and 1584 pt, got -2 pt"),
        ("[styles.Normal]\nline_spacing = 0\n", "[styles.Normal] line_spacing must be between 0.25 and 10, got 0"),
        ("[styles.Normal]\nletter_spacing = -1000\n", "letter_spacing must be between -100 and 100 pt"),
        ('[styles."Heading 1"]\noutline_level = 10\n', '[styles."Heading 1"] outline_level must be between 0 and 9'),
        ('[styles.Normal]\nindent_left = "40cm"\n', "indent_left must be between -17.20 cm and the text width (17.20 cm)"),
        ('[styles.Normal]\nindent_hanging = "-1cm"\n', "indent_hanging must be between 0.00 cm and the text width"),
        ('[styles.Normal]\nborder_top = { width = 100 }\n', "border_top.width must be between 0 and 12 pt"),
        ('[styles.Normal]\nborder_top = { space = nan }\n', "border_top.space must be a finite number, got nan"),
        ('[page]\nmargins = { left = "-1cm" }\n', "[page] margins.left cannot be negative"),
        ('[page.margins]\nleft = "10cm"\nright = "10.5cm"\n', "margins left + right leave 0.50 cm of text width"),
        ('[photo]\nwidth = "30cm"\n', "[photo] width must be more than 0 and at most the text width (17.20 cm)"),
        ('[photo]\nheight = "0cm"\n', "[photo] height must be more than 0"),
    ],
)
def test_numbers_must_be_sane_for_what_they_are(tmp_path: Path, body: str, problem: str) -> None:
    problems = theme_problems(child_theme(tmp_path, body))
    assert len(problems) == 1 and problem in problems[0], problems
    assert "/theme.toml:4: " in problems[0]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[titles]\n"wo\\u0000rk" = "x"\n', '[titles] "wo\\x00rk": the key holds control character U+0000'),
        ('[dates]\nmonths = ["a","b","c","d","e","f","g","h","i","j","k","l\\u0085"]\n',
         "[dates] months[11] holds control character U+0085"),
        ('[labels]\nemail = "E-mail\\u001b[31m"\n', "[labels] email holds control character U+001B"),
        ('[styles.Normal]\nfont = "Arial\\uffff"\n', "[styles.Normal] font holds control character U+FFFF"),
        ('[locales.de.titles]\nwork = "Arbeit\\n"\n', "[locales.de.titles] work holds control character U+000A"),
        ('# a style named with a control character\n[styles."Bad\\u0002Name"]\n',
         '[styles] "Bad\\x02Name": the key holds control character U+0002'),
    ],
)
def test_strings_and_keys_hold_no_control_characters(tmp_path: Path, body: str, problem: str) -> None:
    problems = theme_problems(child_theme(tmp_path, body))
    assert any(problem in p and "/theme.toml:4: " in p for p in problems), problems


def test_an_integer_too_long_to_read_in_theme_toml(tmp_path: Path) -> None:
    folder = child_theme(tmp_path, "[styles.Normal]\nsize = 1" + "0" * 5000 + "\n")
    assert theme_problems(folder) == [
        f"{folder}/theme.toml: holds an integer too long to read (over {sys.get_int_max_str_digits()} digits)"
    ]


def test_problem_lines_follow_tables_inline_tables_and_skip_multiline_strings(tmp_path: Path) -> None:
    body = (
        '[page]\nsize = "a4"\nmargins = { top = "-1cm" }\n'  # lines 3-5 (the child theme's first two lines come first)
        '\n[labels]\nemail = """\n[styles.Normal]\nsize = 1\n"""\n'  # 6-11: text in a string, not keys
        '[styles.Normal]\nfont = "Carlito"\n# size = 7\nsize = 2000\n'  # 12-15
        '\n[styles."Heading 1"]\nborder_bottom = { width = 99, color = "rule" }\n'  # 16-18
    )
    folder = child_theme(tmp_path, body)
    shown = f"{folder}/theme.toml"
    problems = theme_problems(folder)
    assert [p.split(": ", 1)[0] for p in problems] == [f"{shown}:{n}" for n in (5, 15, 18, 8)], problems
    assert problems[0] == f"{shown}:5: [page] margins.top cannot be negative"
    assert problems[3] == f"{shown}:8: [labels] email holds control character U+000A, which is not allowed"


# --- 7. special files in a theme --------------------------------------------------------------


def own_theme(tmp_path: Path) -> Path:
    folder = tmp_path / "t"
    shutil.copytree(BUILTIN_DIR / "classic", folder)
    (folder / "templates").mkdir(exist_ok=True)  # classic extends the base: a copy has no templates of its own
    (folder / "templates" / "work.xml.j2").write_text((BUILTIN_DIR / "_base" / "templates" / "entry.xml.j2").read_text())
    return folder


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_theme_toml_symlinked_to_proc_self_mem(tmp_path: Path) -> None:
    folder = own_theme(tmp_path)
    (folder / "theme.toml").unlink()
    (folder / "theme.toml").symlink_to("/proc/self/mem")
    assert theme_problems(folder) == [f"{folder}/theme.toml: cannot read: Input/output error"]


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_template_symlinked_to_proc_self_mem(tmp_path: Path) -> None:
    # A regular file to stat, unreadable from offset 0: read while fingerprinting the theme.
    folder = own_theme(tmp_path)
    (folder / "templates" / "work.xml.j2").unlink()
    (folder / "templates" / "work.xml.j2").symlink_to("/proc/self/mem")
    assert theme_problems(folder) == [f"{folder}/templates/work.xml.j2: cannot read: Input/output error"]


@pytest.mark.parametrize("kind", [pytest.param("fifo", marks=needs_fifo), "zero"])
def test_special_theme_toml_is_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    folder = own_theme(tmp_path)
    (folder / "theme.toml").unlink()
    if kind == "fifo":
        os.mkfifo(folder / "theme.toml")
    else:
        (folder / "theme.toml").symlink_to("/dev/zero")
    what = "a FIFO" if kind == "fifo" else "a character device"
    assert finishes(lambda: theme_problems(folder)) == [f"{folder}/theme.toml: not a regular file (it is {what})"]


def test_oversized_theme_toml(tmp_path: Path) -> None:
    folder = own_theme(tmp_path)
    with open(folder / "theme.toml", "r+b") as handle:
        handle.truncate(2 * 1024 * 1024)
    assert theme_problems(folder) == [f"{folder}/theme.toml: over the 1024 kB limit for a theme file"]


@pytest.mark.parametrize("kind", [pytest.param("fifo", marks=needs_fifo), "zero"])
def test_special_template_is_refused_before_anything_reads_it(tmp_path: Path, kind: str) -> None:
    folder = own_theme(tmp_path)
    template = folder / "templates" / "work.xml.j2"
    template.unlink()
    if kind == "fifo":
        os.mkfifo(template)
    else:
        template.symlink_to("/dev/zero")
    what = "a FIFO" if kind == "fifo" else "a character device"
    assert finishes(lambda: theme_problems(folder)) == [
        f"{folder}/templates/work.xml.j2: not a regular file (it is {what}); a theme folder may hold only regular files"
    ]


def test_dangling_symlink_in_a_theme_is_ignored(tmp_path: Path) -> None:
    folder = own_theme(tmp_path)
    before = load_theme(str(folder)).fingerprint
    (folder / ".#theme.toml").symlink_to("user@host.1234")  # how Emacs marks a file being edited
    assert load_theme(str(folder)).fingerprint == before


def test_theme_folder_size_is_bounded(tmp_path: Path) -> None:
    folder = own_theme(tmp_path)
    extra = folder / "extra"
    extra.mkdir()
    for index in range(MAX_THEME_FILES):
        (extra / f"{index}.txt").write_bytes(b"")
    assert theme_problems(folder) == [f"{folder}: a theme folder holds at most {MAX_THEME_FILES} files"]
    shutil.rmtree(extra)
    with open(folder / "big.bin", "wb") as handle:
        handle.truncate(MAX_THEME_BYTES + 1)
    assert theme_problems(folder) == [
        f"{folder}: a theme folder holds at most {MAX_THEME_BYTES // 1_000_000} MB of files (big.bin goes over)"
    ]


@needs_fifo
def test_watch_reports_a_fifo_input_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "cv.json"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    proc = subprocess.Popen([sys.executable, "-m", "resumec", "watch", "-f", "docx", str(fifo)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    lines: list[str] = []

    def pump() -> None:
        for raw in proc.stderr:
            lines.append(raw.decode("utf-8", "replace"))

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert wait_until(lambda: any("not a regular file (it is a FIFO)" in line for line in lines), timeout=60), lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not any("Traceback" in line for line in lines)
