"""Injected faults: LibreOffice crashing, hanging, missing or lying; full disks; signals.

A fake `soffice` (a shell script via RESUMEC_SOFFICE) injects the faults the
real one cannot produce on demand; the real LibreOffice is killed and stopped
for real where it can be.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SAMPLES, alive, run_cli, sigterm_comes_back_after, soffice_processes, wait_until

REAL_SOFFICE = shutil.which("soffice")


def fake_soffice(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-soffice"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def project(tmp_path) -> Path:
    """A résumé with a previous good PDF and DOCX next to it."""
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    (tmp_path / "cv.pdf").write_bytes(b"%PDF-previous good pdf")
    (tmp_path / "cv.docx").write_bytes(b"previous good docx")
    return src


def assert_untouched(folder: Path) -> None:
    assert (folder / "cv.pdf").read_bytes() == b"%PDF-previous good pdf"
    assert (folder / "cv.docx").read_bytes() == b"previous good docx"
    assert not [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "fault, body, message",
    [
        ("exits 0, writes nothing", "exit 0", b"could not convert"),
        ("writes garbage", 'for a in "$@"; do last="$a"; done; printf garbage > "$(dirname "$last")/in.pdf"; exit 0',
         b"invalid PDF"),
        ("crashes", "kill -9 $$", b"LibreOffice"),
    ],
)
def test_converter_faults_exit_3_and_leave_outputs(project, tmp_path, fault, body, message):
    fake = fake_soffice(tmp_path, body)
    proc = run_cli("compile", str(project), "--no-cache", env={"RESUMEC_SOFFICE": str(fake)})
    assert proc.returncode == 3, (fault, proc.stderr)
    assert message in proc.stderr and b"Traceback" not in proc.stderr
    assert_untouched(tmp_path)


def test_hung_converter_times_out_and_its_children_die(project, tmp_path):
    marker = tmp_path / "child-alive"
    fake = fake_soffice(tmp_path, f"(sleep 300; echo) & echo $! > {marker}; wait")
    start = time.monotonic()
    proc = run_cli("compile", str(project), "--no-cache", "--timeout", "2", env={"RESUMEC_SOFFICE": str(fake)})
    elapsed = time.monotonic() - start
    assert proc.returncode == 3 and b"timed out after 2 s" in proc.stderr
    assert elapsed < 60  # two attempts of 2 s each, not 300 s
    child = int(marker.read_text())
    time.sleep(0.2)
    assert not alive(child), "the hung converter's child process survived"
    assert_untouched(tmp_path)


def test_crash_then_recovery_is_retried(project, tmp_path):
    flag = tmp_path / "crashed-once"
    fake = fake_soffice(tmp_path, f'if [ ! -e {flag} ]; then touch {flag}; kill -9 $$; fi\nexec {REAL_SOFFICE} "$@"')
    proc = run_cli("compile", str(project), "--no-cache", env={"RESUMEC_SOFFICE": str(fake)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert flag.exists()
    assert (tmp_path / "cv.pdf").read_bytes().startswith(b"%PDF-1")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSTOP])
def test_real_libreoffice_killed_or_stopped_mid_conversion(project, tmp_path, how):
    private = tmp_path / "tmp"
    private.mkdir()
    env = dict(os.environ, TMPDIR=str(private))
    proc = subprocess.Popen([sys.executable, "-m", "resumec", "compile", str(project), "--no-cache", "--timeout", "8"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    victim = _wait_for(lambda: [p for p in soffice_processes(str(private)) if _is_bin(p)], timeout=30)
    os.kill(victim[0], how)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert (tmp_path / "cv.pdf").read_bytes().startswith(b"%PDF-1")
    time.sleep(0.3)
    assert soffice_processes(str(private)) == []
    assert not alive(victim[0])


def test_missing_converter_exit_3(project, tmp_path):
    proc = run_cli("compile", str(project), "--format", "pdf", "--no-cache", env={"RESUMEC_SOFFICE": "/nope/soffice"})
    assert proc.returncode == 3 and b"apt-get install" in proc.stderr
    assert_untouched(tmp_path)


def test_disk_full_while_writing_exit_4_nothing_left(project, tmp_path, monkeypatch):
    """ENOSPC on the PDF's temp file: exit code 4, old outputs intact, no temp files."""
    import resumec.output as output
    from resumec.errors import OutputError
    from resumec.pipeline import Options, compile

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            if data.startswith(b"%PDF"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.handle.write(data)

        def flush(self):
            self.handle.flush()

        def fileno(self):
            return self.handle.fileno()

    monkeypatch.setattr(output.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    result = compile(project, Options(use_cache=False))
    assert isinstance(result.error, OutputError) and result.exit_code == 4
    assert "No space left on device" in result.error.message and result.outputs == []
    assert_untouched(tmp_path)


def test_cache_directory_removed_during_a_build(project, tmp_path):
    from resumec.pipeline import Options, compile

    cache = tmp_path / "cache"

    def remove_cache(stage: str) -> None:
        if stage == "pdf":
            shutil.rmtree(cache, ignore_errors=True)

    warnings: list[str] = []
    result = compile(project, Options(cache_dir=cache), progress=remove_cache, warn=warnings.append)
    assert result.ok and (tmp_path / "cv.pdf").read_bytes().startswith(b"%PDF-1")
    # The DOCX entry went with the directory: rebuilt; the PDF stored after it is a hit.
    again = compile(project, Options(cache_dir=cache))
    assert {o.format: o.cached for o in again.outputs} == {"docx": False, "pdf": "local"}
    third = compile(project, Options(cache_dir=cache))
    assert {o.format: o.cached for o in third.outputs} == {"docx": "local", "pdf": "local"}


def _handles(pid: int, sig: int) -> bool:
    """True once the process has its own handler for `sig` (the SigCgt mask in /proc/PID/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


# When the signal lands: as soon as resumec handles it, once LibreOffice runs, and after a few fixed delays that
# fall anywhere from start-up to exit on a loaded machine. Every outcome is one of two correct ones, so no
# timing can make this test fail; what it checks is that nothing else can happen.
MOMENTS = ["handler-installed", "libreoffice-running", 0.3, 0.8, 1.5, 3.0]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_at_any_stage_leaves_no_partial_output_or_orphan(project, tmp_path, moment, sig):
    private = tmp_path / "tmp"
    private.mkdir()
    env = dict(os.environ, TMPDIR=str(private))
    proc = subprocess.Popen([sys.executable, "-m", "resumec", "compile", str(project), "--no-cache"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Python's own SIGINT handler exists from start-up, so both waits look for resumec's SIGTERM one: the
    # two are installed together, SIGINT first.
    assert wait_until(lambda: _handles(proc.pid, signal.SIGTERM) or proc.poll() is not None, timeout=60)
    if moment == "libreoffice-running":
        assert wait_until(lambda: soffice_processes(str(private)) or proc.poll() is not None, timeout=60)
    elif not isinstance(moment, str):
        time.sleep(moment)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 128 + sig), f"exit {proc.returncode}:\n{err.decode(errors='replace')}"
    assert b"Traceback" not in err
    pdf = (tmp_path / "cv.pdf").read_bytes()
    docx = (tmp_path / "cv.docx").read_bytes()
    new = pdf.startswith(b"%PDF-1") and docx.startswith(b"PK")
    if proc.returncode == 0:
        assert new
    elif not new:  # interrupted before the outputs were committed: both as they were
        assert_untouched(tmp_path)
    # Otherwise interrupted after the commit, while the compile recorded and reported: both new. Never one of
    # each (the commit is not cut in half), and never a temp file left (named before it is made).
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert wait_until(lambda: soffice_processes(str(private)) == [])
    assert wait_until(lambda: list(private.iterdir()) == [])


def test_a_signal_during_a_temp_folder_removal_waits_until_it_is_gone(tmp_path, monkeypatch):
    """Every `finally` removes its temp folder with shutil.rmtree; SIGTERM landing inside one is delivered again
    once the folder is gone, so nothing is left half-removed."""
    folder = tmp_path / "resumec-soffice-x"
    for number in range(20):
        (folder / f"sub{number % 4}").mkdir(parents=True, exist_ok=True)
        (folder / f"sub{number % 4}" / f"file{number}").write_text("x")
    removed = []
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        real_unlink(path, *args, **kwargs)
        removed.append(path)
        if len(removed) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # its handler runs before the next bytecode: inside rmtree

    monkeypatch.setattr(os, "unlink", unlink)
    sigterm_comes_back_after(lambda: shutil.rmtree(folder))
    assert len(removed) == 20 and not folder.exists()


def _is_bin(pid: int) -> bool:
    try:
        return b"soffice.bin" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _wait_for(probe, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out waiting for LibreOffice to start")
