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


def soffice_processes(marker: str | None = None) -> list[int]:
    """PIDs of soffice.bin processes (optionally whose command line mentions marker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z":  # already dead, waiting to be reaped
            continue
        if "soffice" in cmd and (marker is None or marker in cmd):
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


def have_soffice() -> bool:
    return shutil.which("soffice") is not None or shutil.which("libreoffice") is not None
