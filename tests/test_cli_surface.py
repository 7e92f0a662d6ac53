"""What a user's shell and scripts see: --help placeholders, shell completion, and --json against its schema."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest
import typer.main

from conftest import ROOT, have_soffice, run_cli, soffice_processes, wait_until
from resumec.cli import cache, compile, doctor, init, server, themes, watch  # noqa: F401  (register commands)
from resumec.cli.app import app
from resumec.doctor import family_of, os_family

SCHEMAS = ROOT / "resumec" / "schemas"
BIN = Path(sys.executable).parent  # the venv's bin: `resumec` is installed there


def all_commands() -> list[tuple[list[str], object]]:
    """(path, click command) for the root, every group and every command."""
    found = []

    def walk(path: list[str], command: object) -> None:
        found.append((path, command))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk([*path, name], sub)

    walk([], typer.main.get_command(app))
    return found


COMMANDS = all_commands()

# Typer's and Click's type placeholders: <str>, <list[str]>, <path>, TEXT, INTEGER, a range [x>=0]; and in the
# usage line a parameter's Python name, {name} or [file].
TYPE_PLACEHOLDER = re.compile(r"<[a-z][^>]*>|\b(?:TEXT|INTEGER|FLOAT|BOOLEAN)\b|\[x[<>]")
USAGE_PLACEHOLDER = re.compile(r"[{\[][a-z_]+[}\]]")


def placeholders(line: str) -> bool:
    return bool(TYPE_PLACEHOLDER.search(line) or (line.startswith("Usage:") and USAGE_PLACEHOLDER.search(line)))


# -- help ----------------------------------------------------------------------------------------


def test_the_scan_finds_type_placeholders():
    """The pattern below must catch what Typer prints when a placeholder is missing."""
    for line in ("  name <str>  Folder", "Usage: resumec theme new [OPTIONS] {name}", "  --from TEXT",
                 "  INPUT... <list[str]>", "[x>=0]", "Usage: resumec init [OPTIONS] [file]"):
        assert placeholders(line), line
    for line in ("  -o, --output PATH  Output", "Usage: resumec compile [OPTIONS] {INPUT}...", "[default: classic]",
                 "  FILE  Where to write", "Usage: resumec init [OPTIONS] [FILE]", "  [required]"):
        assert not placeholders(line), line


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "resumec")
def test_help_placeholders_read_as_words(path):
    proc = run_cli(*path, "--help")
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert text.startswith("Usage: resumec"), text
    found = [line for line in text.splitlines() if placeholders(line)]
    assert not found, f"type placeholders in `resumec {' '.join(path)} --help`: {found}"


def test_every_value_option_and_argument_has_a_word_placeholder():
    """Also what the help text does not show: every value parameter of every command has an upper-case metavar."""
    checked = 0
    for path, command in COMMANDS:
        for param in getattr(command, "params", ()):
            if getattr(param, "is_flag", False) or param.name in ("help", "install_completion", "show_completion"):
                continue
            checked += 1
            assert param.metavar and re.fullmatch(r"[A-Z][A-Z0-9_]*", param.metavar), (path, param.name, param.metavar)
    assert checked >= 20  # every compile/watch value option, inputs, cache, server, theme new, init


# -- shell completion --------------------------------------------------------------------------


def complete(line: str) -> list[str]:
    """Ask for completions the way Typer's bash script does: COMP_WORDS, COMP_CWORD, _RESUMEC_COMPLETE."""
    words = line.split(" ")
    env = {"_RESUMEC_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    proc = run_cli(*[], env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().split()


@pytest.mark.parametrize(("line", "expected"), [
    ("resumec compile --theme ", ["classic", "compact", "modern"]),
    ("resumec watch -t m", ["modern"]),
    ("resumec theme new mine --from c", ["classic", "compact"]),
    ("resumec compile --paper ", ["a4", "letter"]),
    ("resumec compile --lang d", ["de"]),
    ("resumec compile -f ", ["docx", "pdf", "png", "html", "md", "txt", "all"]),
    # Lists complete their last item, never repeat one, and never offer `all` inside a list (the parser refuses it).
    ("resumec compile --format pdf,", ["pdf,docx", "pdf,png", "pdf,html", "pdf,md", "pdf,txt"]),
    ("resumec compile -s work,ed", ["work,education"]),
    ("resumec compile --sections work,", None),
    ("resumec co", ["compile"]),
    ("resumec cache ", ["info", "clear", "prune"]),
])
def test_bash_completion(line, expected):
    got = complete(line)
    if expected is None:  # every section key but the one given
        from resumec.sections import SECTION_KEYS

        assert got == [f"work,{key}" for key in SECTION_KEYS if key != "work"]
    else:
        assert got == expected


def test_completion_offers_only_what_the_parser_accepts():
    from resumec.errors import UsageError
    from resumec.options import Options

    lines = {"--lang": "resumec compile --lang ", "--paper": "resumec compile --paper ",
             "--format": "resumec compile --format docx,", "--sections": "resumec compile --sections skills,"}
    for flag, line in lines.items():
        offered = complete(line)
        assert offered, flag
        name = {"--format": "formats"}.get(flag, flag.lstrip("-"))
        for value in offered:
            Options.from_raw({name: value})  # raises UsageError if completion offered something invalid
    with pytest.raises(UsageError):
        Options.from_raw({"formats": "pdf,all"})


def test_completion_in_a_real_bash(tmp_path):
    """The script `--show-completion bash` prints, sourced into bash, fills COMPREPLY."""
    bash = shutil.which("bash")
    assert bash
    script = run_cli("--show-completion", "bash").stdout.decode()
    assert "_RESUMEC_COMPLETE=complete_bash" in script and "complete " in script
    (tmp_path / "completion.bash").write_text(script)
    program = (
        f'source {tmp_path / "completion.bash"}\n'
        'COMP_WORDS=(resumec compile --lang f); COMP_CWORD=3; _resumec_completion resumec\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        'COMP_WORDS=(resumec compile --theme ""); COMP_CWORD=3; _resumec_completion resumec\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([bash, "--norc", "--noprofile", "-c", program], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["fr", "classic", "compact", "modern"]


def test_install_completion_writes_the_script_for_the_shell(tmp_path):
    """Run from bash (Typer detects the shell from the parent process), it appends the script to ~/.bashrc's source."""
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    env.pop("_RESUMEC_COMPLETE", None)
    # Two commands, so bash stays the parent instead of exec-ing the last one.
    program = f"{sys.executable} -m resumec --install-completion; exit $?"
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"bash completion installed" in proc.stdout
    installed = [p for p in tmp_path.rglob("*") if p.is_file() and "_RESUMEC_COMPLETE=complete_bash" in p.read_text()]
    assert installed, "no completion script under HOME"
    assert "resumec" in (tmp_path / ".bashrc").read_text()


# -- --json and its schemas -------------------------------------------------------------------------


def schema(name: str) -> dict:
    document = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def conforms(document: dict, name: str) -> dict:
    found = schema(name)
    jsonschema.Draft202012Validator(found).validate(document)
    assert document["schema_version"] == found["properties"]["schema_version"]["const"]
    return document


def test_schemas_are_valid_and_named_after_their_file():
    names = ["themes.json", "cache-info.json", "server-status.json", "doctor.json"]
    for name in names:
        found = schema(name)
        assert found["$id"].endswith(f"/resumec/schemas/{name}"), found["$id"]
        assert found["properties"]["schema_version"] == {"const": 1}
        assert "schema_version" in found["required"]


def test_themes_json(tmp_path):
    proc = run_cli("themes", "--json")
    assert proc.returncode == 0
    report = conforms(json.loads(proc.stdout), "themes.json")
    names = [theme["name"] for theme in report["themes"]]
    assert names == sorted(names) and {"classic", "modern", "compact"} <= set(names) and "_base" not in names
    human = run_cli("themes").stdout.decode().split()
    assert all(name in human for name in names)
    for theme in report["themes"]:
        assert (Path(theme["path"]) / "theme.toml").is_file()
    # The schema is not vacuous: a report without a theme's name, or with another version, is refused.
    broken = json.loads(proc.stdout)
    del broken["themes"][0]["name"]
    with pytest.raises(jsonschema.ValidationError):
        conforms(broken, "themes.json")
    with pytest.raises(jsonschema.ValidationError):
        conforms({**report, "schema_version": 2}, "themes.json")


def test_cache_info_json_empty_and_after_builds(tmp_path, samples):
    cache_dir = tmp_path / "cache"
    empty = conforms(json.loads(run_cli("cache", "info", "--json", "--cache-dir", str(cache_dir)).stdout),
                     "cache-info.json")
    assert empty["entries"] == 0 and empty["stats"] == {} and empty["location"] == str(cache_dir)
    built = run_cli("compile", str(samples / "minimal.json"), "-f", "docx", "-o", str(tmp_path / "out") + "/",
                    "--cache-dir", str(cache_dir))
    assert built.returncode == 0, built.stderr.decode()
    again = run_cli("compile", str(samples / "minimal.json"), "-f", "docx", "-o", str(tmp_path / "out") + "/",
                    "--cache-dir", str(cache_dir))
    assert again.returncode == 0
    info = conforms(json.loads(run_cli("cache", "info", "--json", "--cache-dir", str(cache_dir)).stdout),
                    "cache-info.json")
    assert info["entries"] == 1 and info["size"] > 0 and info["stats"] == {"docx_misses": 1, "docx_hits": 1}
    with pytest.raises(jsonschema.ValidationError):
        conforms({**info, "stats": {"docx_hits": -1}}, "cache-info.json")


def test_doctor_json():
    proc = run_cli("doctor", "--json")
    report = conforms(json.loads(proc.stdout), "doctor.json")
    assert proc.returncode == (0 if report["ok"] else 1)
    assert report["os_family"] == os_family()
    assert [c["name"] for c in report["checks"]] == ["LibreOffice", "UNO Python", "Fonts", "pdftoppm", "Cache"]
    missing = run_cli("doctor", "--json", env={"RESUMEC_SOFFICE": "/nonexistent/soffice"})
    report = conforms(json.loads(missing.stdout), "doctor.json")
    office = report["checks"][0]
    assert missing.returncode == 1 and not report["ok"] and not office["ok"] and office["fix"]


@pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")
def test_server_status_json_stopped_and_running(tmp_path):
    runtime = Path(tempfile.mkdtemp(prefix="rc-run-"))  # short: a socket path has a 108-byte limit
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = {"RESUMEC_RUNTIME_DIR": str(runtime / "svc"), "TMPDIR": str(private_tmp), "RESUMEC_NO_SERVER": ""}
    try:
        stopped = run_cli("server", "status", "--json", env=env)
        report = conforms(json.loads(stopped.stdout), "server-status.json")
        assert stopped.returncode == 1 and report["running"] is False
        with pytest.raises(jsonschema.ValidationError):  # running, but without what a running service reports
            conforms({**report, "running": True}, "server-status.json")
        started = run_cli("server", "start", env=env, timeout=180)
        assert started.returncode == 0, started.stderr.decode()
        running = run_cli("server", "status", "--json", env=env)
        report = conforms(json.loads(running.stdout), "server-status.json")
        assert running.returncode == 0 and report["running"] is True and report["conversions"] == 0
        assert report["socket"].startswith(str(runtime))
    finally:
        run_cli("server", "stop", env=env, timeout=60)
        shutil.rmtree(runtime, ignore_errors=True)
    assert wait_until(lambda: not soffice_processes(str(private_tmp)))


def test_server_start_checks_its_idle_timeout():
    for bad in ("-1", "nan", "soon"):
        proc = run_cli("server", "start", "--idle-timeout", bad)
        assert proc.returncode == 2 and b"--idle-timeout" in proc.stderr, proc.stderr


# -- doctor's OS family ----------------------------------------------------------------------------


@pytest.mark.parametrize(("release", "family"), [
    ({"ID": "debian"}, "debian"),
    ({"ID": "ubuntu", "ID_LIKE": "debian"}, "debian"),
    ({"ID": "linuxmint", "ID_LIKE": "ubuntu debian"}, "debian"),
    ({"ID": "fedora"}, "fedora"),
    ({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}, "fedora"),
    ({"ID": "arch"}, "unknown"),
    ({}, "unknown"),
])
def test_os_family_from_os_release(release, family):
    assert family_of(release) == family


def test_os_family_of_this_machine():
    import platform

    try:
        release = platform.freedesktop_os_release()
    except OSError:
        assert os_family() == "unknown"
        return
    assert os_family() == family_of(release)
    if release.get("ID") == "debian":  # this project's machines
        assert os_family() == "debian"
