"""What a user installs: the sdist and wheel `python -m build` makes, in fresh venvs, with the newest dependencies
and with the declared minimum of each (the floors in pyproject.toml), and the metadata and README that go with it.

Both installs come from the package index through pip's own cache (~/.cache/pip), so a second run downloads
nothing. Each venv is made without pip and filled by this venv's pip (`pip --python`), which saves ~3 s a venv.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT, fresh_venv, have_soffice, pdftotext, wheel_of
from remote_servers import start_redis

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FLOOR = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]*)>=([0-9][0-9.]*)")


def installed(bin_dir: Path) -> str:
    return subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "list",
                           "--format=freeze"], capture_output=True, timeout=120).stdout.decode()


def user_env(bin_dir: Path, home: Path) -> dict[str, str]:
    """A user's shell: the venv's bin first on PATH, a home of its own (so the default cache directory is used)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESUMEC_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               RESUMEC_NO_SERVER="1")
    return env


def schema(name: str) -> dict:
    return json.loads((ROOT / "resumec" / "schemas" / name).read_text())


def exercise(bin_dir: Path, work: Path) -> None:
    """What a new user does after installing, from an empty folder, and one use of each dependency."""
    work.mkdir()
    env = user_env(bin_dir, work.parent / f"{work.name}-home")

    def run(*args: str, code: int = 0, **kwargs) -> subprocess.CompletedProcess:
        proc = subprocess.run(["resumec", *args], cwd=work, env=env, capture_output=True, timeout=300, **kwargs)
        assert proc.returncode == code, (args, proc.returncode, proc.stdout.decode()[-2000:],
                                         proc.stderr.decode()[-2000:], installed(bin_dir))
        return proc

    from resumec import __version__

    assert run("--version").stdout.decode().strip() == f"resumec {__version__}"
    run("init")
    assert json.loads((work / "resume.json").read_text())["basics"]["name"]
    run("validate", "resume.json")
    # The quick parser (no Typer): both formats, through the real LibreOffice.
    run("compile", "resume.json")
    assert "Your Name" in pdftotext(work / "resume.pdf")
    assert (work / "resume.docx").stat().st_size > 5000
    # Typer reads this command line (`--` is left to it): the Typer commands must compile too, not print a version.
    run("compile", "-f", "docx", "-o", "typer/", "--", "resume.json")
    assert (work / "typer" / "resume.docx").is_file()
    assert "classic" in run("themes").stdout.decode()
    jsonschema.validate(json.loads(run("themes", "--json").stdout), schema("themes.json"))
    doctor = json.loads(run("doctor", "--json", code=0 if have_soffice() else 1).stdout)
    jsonschema.validate(doctor, schema("doctor.json"))
    info = json.loads(run("cache", "info", "--json").stdout)
    jsonschema.validate(info, schema("cache-info.json"))
    assert info["location"].startswith(str(work.parent)) and info["entries"] >= 2  # the default cache, in HOME
    assert run("compile", "--help").stdout.startswith(b"Usage: resumec compile")
    proc = subprocess.run(["resumec"], cwd=work, capture_output=True, timeout=60,
                          env={**env, "_RESUMEC_COMPLETE": "complete_bash", "COMP_WORDS": "resumec compile --paper ",
                               "COMP_CWORD": "3"})
    assert proc.stdout.decode().split() == ["a4", "letter"], proc
    on_a_terminal(env, work)
    watch_once(env, work)
    live_page(bin_dir, env, work)
    redis_round_trip(bin_dir, env, work)


def on_a_terminal(env: dict, work: Path) -> None:
    """Rich: on a terminal, a build that converts shows its progress bar, then the plain result line."""
    import pty

    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # rows, columns
    proc = subprocess.Popen(["resumec", "compile", "resume.json", "-f", "pdf", "--no-cache"], cwd=work, env=env,
                            stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(timeout=300) == 0, shown[-2000:]
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", shown).decode("utf-8", "replace")
    # The PDF is the one the first compile wrote: rebuilt (no cache) with the same bytes, it is left unchanged.
    assert "Converting to PDF" in text and "resume.pdf: unchanged (built)" in text, text[-2000:]


def watch_once(env: dict, work: Path) -> None:
    """watchfiles: `resumec watch` builds, sees a save, rebuilds, and stops on SIGTERM with 143."""
    watch = subprocess.Popen(["resumec", "watch", "resume.json", "-f", "docx", "--json"], cwd=work, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = json.loads(watch.stdout.readline())
        assert first["ok"], first
        data = json.loads((work / "resume.json").read_text())
        data["basics"]["name"] = "Renamed Person"
        (work / "resume.json").write_text(json.dumps(data))
        second = json.loads(watch.stdout.readline())
        assert second["ok"], second
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(timeout=60) == 143
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    from docx import Document

    assert "Renamed Person" in "\n".join(p.text for p in Document(str(work / "resume.docx")).paragraphs)


def live_page(bin_dir: Path, env: dict, work: Path) -> None:
    """aiohttp: the live-preview server starts, serves its page on loopback, and stops at end of input."""
    runtime = work / "runtime"
    runtime.mkdir(mode=0o700)
    live = subprocess.Popen([str(bin_dir / "python"), "-m", "resumec.live"], cwd=work,
                            env={**env, "RESUMEC_RUNTIME_DIR": str(runtime)}, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        hello = json.loads(live.stdout.readline())
        with urllib.request.urlopen(hello["url"], timeout=30) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        live.stdin.close()
        assert live.wait(timeout=60) == 0, live.stderr.read().decode()
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()


def redis_round_trip(bin_dir: Path, env: dict, work: Path) -> None:
    """redis-py: the remote cache's Redis backend stores and reads back an object on a real redis-server."""
    server = start_redis(work / "redis")
    try:
        program = (
            "import sys\n"
            "from resumec.remote.core import parse_url\n"
            "from resumec.remote.redis_backend import RedisBackend\n"
            "backend = RedisBackend(parse_url(sys.argv[1]), 2.0, 5.0)\n"
            "backend.put([('v1/objects/ab/smoke', b'%PDF-smoke')])\n"
            "assert backend.get('v1/objects/ab/smoke', 100) == b'%PDF-smoke'\n"
            "assert backend.size('v1/objects/ab/smoke') == 10\n"
            "backend.close()\n"
        )
        proc = subprocess.run([str(bin_dir / "python"), "-c", program, server.url], cwd=work, env=env,
                              capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()
    finally:
        server.stop()


# -- the artifacts --------------------------------------------------------------------------------------


def test_the_wheel_carries_every_data_file(dist):
    names = set(zipfile.ZipFile(wheel_of(dist)).namelist())
    package = ROOT / "resumec"
    expected = {f"resumec/{p.relative_to(package).as_posix()}" for p in package.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert expected <= names, sorted(expected - names)
    for required in ("resumec/themes/_base/theme.toml", "resumec/themes/_locales/en.toml", "resumec/starter.json",
                     "resumec/live/static/index.html", "resumec/py.typed", "resumec/schemas/doctor.json",
                     "resumec/schemas/themes.json", "resumec/schemas/cache-info.json",
                     "resumec/schemas/server-status.json"):
        assert required in names, required
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel_of(dist)).read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for label, url in PYPROJECT["project"]["urls"].items():
        assert f"Project-URL: {label}, {url}" in text


def test_the_sdist_holds_the_licence_and_builds_alone(dist):
    import tarfile

    (sdist,) = dist.glob("resumec-*.tar.gz")
    names = tarfile.open(sdist).getnames()
    root = names[0].split("/")[0]
    for required in ("LICENSE", "README.md", "pyproject.toml", "resumec/themes/_base/theme.toml",
                     "resumec/schemas/doctor.json"):
        assert f"{root}/{required}" in names, required


def test_licence_is_mit_and_matches_the_metadata():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]


@pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")
def test_wheel_installs_in_a_fresh_venv_and_works_from_an_empty_folder(dist, tmp_path):
    bin_dir = fresh_venv(tmp_path / "venv", str(wheel_of(dist)))
    exercise(bin_dir, tmp_path / "empty")
    # The installed package is the wheel's, not this checkout.
    where = subprocess.run([str(bin_dir / "python"), "-c", "import resumec; print(resumec.__file__)"],
                           capture_output=True, cwd=tmp_path, timeout=60).stdout.decode()
    assert where.startswith(str(tmp_path / "venv")), where


# -- dependency floors ---------------------------------------------------------------------------------


def release(version: str) -> tuple[int, ...]:
    """1.1 and 1.1.0 are the same release."""
    parts = [int(p) for p in version.split(".") if p.isdigit()]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def floor_pins() -> list[str]:
    pins = []
    for requirement in PYPROJECT["project"]["dependencies"]:
        match = FLOOR.fullmatch(requirement.replace(" ", ""))
        assert match, f"{requirement}: every dependency needs a plain `>=` floor, which this test installs"
        pins.append(f"{match[1]}=={match[2]}")
    return pins


@pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")
def test_the_declared_minimum_versions_work(dist, tmp_path):
    """Every dependency at its floor, everything else as pip resolves it for a user today."""
    pins = floor_pins()
    bin_dir = fresh_venv(tmp_path / "venv", str(wheel_of(dist)), *pins)
    normal = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731  (PEP 503 names)
    versions = {normal(name): version for name, _, version in
                (line.partition("==") for line in installed(bin_dir).splitlines())}
    for pin in pins:
        name, version = pin.split("==")
        got = versions.get(normal(name), "")
        assert release(got) == release(version), f"{name}: {got or 'missing'} installed, floor {version}"
    exercise(bin_dir, tmp_path / "empty")


# -- the README, as PyPI and any copy of it show it --------------------------------------------------------


def repository() -> tuple[str, str]:
    """(raw-file base, page base) under the one repository address, pyproject's [project.urls] Repository."""
    url = PYPROJECT["project"]["urls"]["Repository"].rstrip("/")
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", url)
    assert match, f"Repository = {url!r}: expected https://github.com/OWNER/NAME"
    return f"https://raw.githubusercontent.com/{match[1]}/{match[2]}/main/", f"{url}/blob/main/"


def test_readme_images_and_links_work_outside_the_repository():
    raw, page = repository()
    text = (ROOT / "README.md").read_text()
    text = re.sub(r"`[^`\n]*`", "", re.sub(r"(?ms)^```.*?^```", "", text))  # code shows links, it does not make them
    links = re.findall(r"(!?)\[[^\]]*\]\(([^)\s]+)\)", text) + [("!", src) for src in re.findall(r'<img[^>]+src="([^"]+)"', text)]
    images = [target for bang, target in links if bang]
    assert len(images) >= 5
    for bang, target in links:
        if target.startswith("#"):
            continue
        assert re.match(r"https?://|mailto:", target), f"relative link {target!r} breaks on PyPI: use {page}{target}"
        base = raw if bang else page
        if target.startswith((raw, page)):
            assert target.startswith(base), f"{target}: images come from {raw}, pages from {page}"
            path = ROOT / target[len(base):].split("#")[0]
            assert path.is_file(), f"{target} names {path.relative_to(ROOT)}, which is not in the repository"
        else:
            assert not bang, f"image {target} is not one of this repository's files"


def test_schema_ids_live_under_the_repository_address():
    raw, _ = repository()
    for path in sorted((ROOT / "resumec" / "schemas").glob("*.json")):
        declared = json.loads(path.read_text()).get("$id", "")
        assert declared == f"{raw}resumec/schemas/{path.name}", (path.name, declared)
