"""Shared fixtures: every test gets its own cache directory and runs the real tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_CHROMIUM = os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
BROWSER_WAIT = 30.0
SAMPLES = ROOT / "samples"
# The official JSON Resume schema and its test fixtures (MIT, see its LICENSE.md), kept in the repository
# so a plain clone runs the conformance tests; tests/conformance/README.md says where they come from.
CONFORMANCE = Path(__file__).resolve().parent / "conformance" / "jsonresume"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's real cache, service or SOURCE_DATE_EPOCH."""
    monkeypatch.setenv("RESUMEC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("RESUMEC_NO_SERVER", "1")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.delenv("RESUMEC_SOFFICE", raising=False)


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def shared() -> Path:
    assert CONFORMANCE.is_dir(), f"{CONFORMANCE} is part of the repository and missing"
    return CONFORMANCE


def run_cli(*args: str, input: bytes | None = None, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m resumec ARGS` as a user would, capturing bytes."""
    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "resumec", *args],
        input=input,
        capture_output=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


def pdftotext(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def pdfinfo(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    info = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


# -- processes, read from /proc (Linux) ----------------------------------------------------------


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, …); None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int | str) -> bool:
    """Running or stopped; a zombie counts as gone (PID 1 in a container may never reap it)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _live_where(field: int, value: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and fields[0] != "Z" and int(fields[field]) == value:
                found.append(int(entry.name))
    return found


def children_of(pid: int) -> list[int]:
    """Live direct children of a process."""
    return _live_where(1, pid)


def group_members(pgid: int) -> list[int]:
    """Live processes in a process group."""
    return _live_where(2, pgid)


def soffice_processes(marker: str | None = None) -> list[int]:
    """PIDs of soffice.bin processes (optionally whose command line mentions marker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if "soffice" in cmd and (marker is None or marker in cmd) and alive(entry.name):
            pids.append(int(entry.name))
    return pids


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Poll until condition() is true; only a failure ever waits the whole timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def sigterm_comes_back_after(action) -> None:
    """Run `action` under the command line's own SIGTERM handler; `action` sends itself SIGTERM at a moment
    where resumec.interrupt makes the signal wait. Expects exit 143 from it once `action` is done (the caller
    checks that nothing was cut in half); restores every handler it touched."""
    import signal

    from resumec.cli import _terminate

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)}
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with pytest.raises(SystemExit) as info:
            action()
            time.sleep(5)  # the signal comes back 10 ms after `action`, and ends this sleep
        assert info.value.code == 128 + signal.SIGTERM
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def have_soffice() -> bool:
    return shutil.which("soffice") is not None or shutil.which("libreoffice") is not None


# -- a real browser (Debian's chromium, driven by selenium) --------------------------------------


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium and chromium-driver are not installed (make system-deps)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(BROWSER_WAIT)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chrome):
    """The module's Chromium, left with one blank tab for the next test."""
    yield chrome
    handles = chrome.window_handles
    for handle in handles[1:]:
        chrome.switch_to.window(handle)
        chrome.close()
    chrome.switch_to.window(handles[0])
    chrome.get("about:blank")


# -- packages: what `python -m build` makes, installed as a user would (tests/test_packaging.py, test_ci_recipes.py) --


def tracked_tree(target: Path) -> Path:
    """A copy of the files git knows (committed or not, but not ignored): what a clone would build from."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """`python -m build`: the sdist, then the wheel built from the unpacked sdist (so the sdist must be complete)."""
    source = tracked_tree(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], capture_output=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout.decode()[-3000:] + proc.stderr.decode()[-3000:]
    return out


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("resumec-*.whl")
    return wheel


def fresh_venv(path: Path, *requirements: str) -> Path:
    """A new venv holding `requirements` and what pip resolves for them; returns its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(path / "bin" / "python"), "install",
                           "--quiet", "--disable-pip-version-check", *requirements],
                          capture_output=True, timeout=900)
    assert proc.returncode == 0, proc.stderr.decode()[-4000:]
    return path / "bin"
