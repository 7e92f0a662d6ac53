"""The one option table: both parsers (quick and Typer) accept and reject exactly the same command lines."""

from __future__ import annotations

import shutil

import pytest
import typer.main
from typer.testing import CliRunner

from conftest import SAMPLES, run_cli
from resumec.cli import compile as compile_module, watch as watch_module  # noqa: F401  (register the commands)
from resumec.cli import front
from resumec.cli.app import app
from resumec.errors import UsageError
from resumec.options import OPTIONS, Options, for_command, parse_argv

# Command lines each parser must read the same way. Values are checked after parsing, by one function.
GOOD = [
    ["cv.json"],
    ["cv.json", "-o", "out/", "-f", "pdf", "--theme", "modern", "--paper", "LETTER", "--lang", "de"],
    ["cv.json", "--output=out.v2/", "--format=docx,pdf", "-t", "compact", "--lang", "de-AT"],
    ["cv.json", "-s", "work=Experience,skills", "--pdfa", "--no-cache", "--cache-dir", "/tmp/c", "--timeout", "30"],
    ["a.json", "b.json", "-j", "3", "--no-server", "-q"],
    ["cv.json", "-q", "-o", "-", "-f", "pdf"],
    ["cv.json", "-oout/", "-fpdf", "-j2"],
]
BAD = [
    (["cv.json", "--timeout", "0"], "--timeout"),
    (["cv.json", "--timeout", "-5"], "--timeout"),
    (["cv.json", "--timeout", "nan"], "--timeout"),
    (["cv.json", "--timeout", "inf"], "--timeout"),
    (["cv.json", "--timeout", "soon"], "--timeout"),
    (["cv.json", "--paper", "a5"], "--paper"),
    (["cv.json", "--lang", "xx"], "--lang"),
    (["cv.json", "-f", "pdf,gif"], "--format"),
    (["cv.json", "-f", ","], "--format"),
    (["cv.json", "-s", "wrok"], "did you mean 'work'"),
    (["cv.json", "-s", "work,work"], "listed twice"),
    (["cv.json", "-j", "0"], "--jobs"),
    (["cv.json", "-j", "two"], "--jobs"),
    (["cv.json", "-o", ""], "--output"),
    (["cv.json", "--theme", " "], "--theme"),
    (["cv.json", "--json", "-o", "-", "-f", "pdf"], "both write to standard output"),
]


def _quick(argv: list[str]) -> tuple[list[str], dict]:
    parsed = parse_argv(argv)
    assert parsed is not None, argv
    return parsed


def _typer(argv: list[str], monkeypatch) -> tuple[list[str], dict]:
    seen: list[tuple[list[str], dict]] = []
    monkeypatch.setattr(front, "compile_command", lambda inputs, raw: seen.append((list(inputs), raw)) or 0)
    outcome = CliRunner().invoke(app, ["compile", *argv])
    assert outcome.exit_code == 0, outcome.output
    return seen[0]


def _options(raw: dict) -> Options | str:
    try:
        return Options.from_raw(raw)
    except UsageError as exc:
        return exc.message


def test_the_table_is_the_typer_command():
    for name in ("compile", "watch"):
        command = typer.main.get_command(app).commands[name]
        flags = {flag for p in command.params if p.param_type_name == "option" for flag in p.opts} - {"--help", "-h"}
        assert flags == {flag for opt in for_command(name) for flag in opt.flags}
    assert {opt.name for opt in OPTIONS} == set(Options.__dataclass_fields__)


@pytest.mark.parametrize("argv", GOOD)
def test_both_parsers_read_the_same(argv, monkeypatch):
    quick, typer_side = _quick(argv), _typer(argv, monkeypatch)
    assert quick == typer_side
    assert isinstance(_options(quick[1]), Options)


@pytest.mark.parametrize("argv,message", BAD)
def test_both_parsers_reject_the_same(argv, message, monkeypatch):
    quick, typer_side = _quick(argv), _typer(argv, monkeypatch)
    assert quick == typer_side
    error = _options(quick[1])
    assert isinstance(error, str) and message in error


def test_quick_parser_leaves_the_unusual_to_typer():
    for argv in (["cv.json", "--help"], ["cv.json", "--bogus"], ["cv.json", "-t"], ["--timeout", "5"],
                 ["cv.json", "--timeout", "5", "--timeout", "6"], ["cv.json", "-qj2"], ["cv.json", "--pdfa=yes"]):
        assert parse_argv(argv) is None, argv


@pytest.mark.parametrize("argv,message", [
    (["--timeout", "0"], "--timeout: expected seconds from 1 to 86400, got '0'"),
    (["--timeout", "nan"], "--timeout: expected seconds"),
    (["--paper", "a5"], "--paper: unknown paper size 'a5'"),
])
def test_option_errors_on_a_cache_hit_exit_2_through_both_paths(argv, message, tmp_path):
    """A complete cache hit must not let a bad option through (it used to exit 0 on the fast path)."""
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    env = {"RESUMEC_CACHE_DIR": str(tmp_path / "cache")}
    assert run_cli("compile", str(src), "-f", "docx", env=env).returncode == 0
    quick = run_cli("compile", str(src), "-f", "docx", *argv, env=env)
    # A repeated option is left to Typer (which keeps the last value): the same command through the other parser.
    via_typer = run_cli("compile", str(src), "-f", "docx", argv[0], "5", *argv, env=env)
    for proc in (quick, via_typer):
        assert proc.returncode == 2, proc.stderr.decode()
        assert message in proc.stderr.decode() and b"Traceback" not in proc.stderr
    assert quick.stderr == via_typer.stderr


@pytest.mark.parametrize("value", ["garbage", "-1", "1e9", "253402300800"])
def test_bad_source_date_epoch_exits_2_even_on_a_cache_hit(value, tmp_path):
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    env = {"RESUMEC_CACHE_DIR": str(tmp_path / "cache")}
    assert run_cli("compile", str(src), "-f", "docx", env=env).returncode == 0
    for extra in ([], ["--timeout", "5", "--timeout", "6"]):  # the quick parser, then Typer
        proc = run_cli("compile", str(src), "-f", "docx", *extra, env={**env, "SOURCE_DATE_EPOCH": value})
        assert proc.returncode == 2 and b"SOURCE_DATE_EPOCH" in proc.stderr, proc.stderr


@pytest.mark.parametrize("value", ["infG", "nan", "-5M", "lots"])
def test_bad_cache_size_exits_2(value, tmp_path):
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    env = {"RESUMEC_CACHE_DIR": str(tmp_path / "cache"), "RESUMEC_CACHE_MAX_SIZE": value}
    for args in (["compile", str(src), "-f", "docx"], ["cache", "info"]):
        proc = run_cli(*args, env=env)
        assert proc.returncode == 2 and b"RESUMEC_CACHE_MAX_SIZE" in proc.stderr, proc.stderr
        assert b"Traceback" not in proc.stderr
