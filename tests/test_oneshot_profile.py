"""One-shot conversions reuse a locked LibreOffice profile from the cache directory, with the real LibreOffice.

Two LibreOffices sharing a profile silently lose work, so what these tests prove is the lock: held by
whoever converts (LibreOffice included, even when resumec is killed), a busy profile never shared, and a
profile whose run did not end well made anew.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import SAMPLES, have_soffice, pdftotext, soffice_processes, wait_until
from resumec.convert.oneshot import PROFILE_SLOTS, convert_oneshot
from resumec.errors import ConvertError

pytestmark = pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice") or "soffice"


def docx_for(name: str, tmp_path: Path) -> bytes:
    """A real résumé DOCX whose PDF says `name`."""
    from resumec.pipeline import Options, compile

    data = json.loads((SAMPLES / "minimal.json").read_text())
    data["basics"]["name"] = name
    src = tmp_path / f"{name.replace(' ', '-')}.json"
    src.write_text(json.dumps(data))
    result = compile(src, Options(formats=("docx",), output=tmp_path / "docx", use_cache=False))
    assert result.ok, result.error
    return (tmp_path / "docx" / f"{src.stem}.docx").read_bytes()


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    return pdftotext(path)


def try_lock(path: Path) -> int | None:
    """A descriptor holding the profile's lock, or None when someone holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def free(path: Path) -> bool:
    fd = try_lock(path)
    if fd is None:
        return False
    os.close(fd)
    return True


def test_a_profile_is_kept_marked_good_and_reused(tmp_path):
    profiles = tmp_path / "profiles"
    data = docx_for("Ada Lovelace", tmp_path)
    assert "Ada Lovelace" in text_of(convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path), tmp_path)
    assert (profiles / "profile-0.good").exists() and (profiles / "profile-0" / "user").is_dir()
    keep = profiles / "profile-0" / "user" / "kept-by-the-test"
    keep.write_text("x")
    assert "Ada Lovelace" in text_of(convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path), tmp_path)
    assert keep.exists() and not (profiles / "profile-1").exists()  # the same profile, not a new one
    assert oct(os.stat(profiles).st_mode & 0o777) == "0o700"
    assert list(tmp_path.glob("resumec-soffice-*")) == []


def test_a_busy_profile_is_never_shared(tmp_path):
    """Profile 0 held (as by a running conversion): the next takes profile 1; all held: a private one."""
    profiles = tmp_path / "profiles"
    profiles.mkdir(mode=0o700)
    data = docx_for("Grace Hopper", tmp_path)
    held = [try_lock(profiles / "profile-0.lock")]
    assert held[0] is not None
    convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path)
    assert (profiles / "profile-1.good").exists() and not (profiles / "profile-0").exists()
    held += [try_lock(profiles / f"profile-{slot}.lock") for slot in range(1, PROFILE_SLOTS)]
    assert all(fd is not None for fd in held)
    pdf = convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path)
    assert "Grace Hopper" in text_of(pdf, tmp_path)
    assert sorted(p.name for p in profiles.iterdir() if p.is_dir()) == ["profile-1"]  # a private one was used
    for fd in held:
        os.close(fd)


def test_concurrent_conversions_each_get_their_own_document(tmp_path):
    """More conversions at once than profiles: every PDF holds its own résumé, none is lost or swapped."""
    profiles = tmp_path / "profiles"
    names = [f"Person Number{i}" for i in range(PROFILE_SLOTS + 2)]
    documents = {name: docx_for(name, tmp_path) for name in names}
    results: dict[str, bytes | BaseException] = {}

    def convert(name: str) -> None:
        try:
            results[name] = convert_oneshot(documents[name], soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path,
                                            timeout=300)
        except BaseException as exc:  # reported below
            results[name] = exc

    threads = [threading.Thread(target=convert, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        assert isinstance(results[name], bytes), results[name]
        text = text_of(results[name], tmp_path)
        assert name in text and all(other not in text for other in names if other != name)


def test_a_profile_whose_run_did_not_end_well_is_made_anew(tmp_path):
    profiles = tmp_path / "profiles"
    data = docx_for("Alan Turing", tmp_path)
    convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path)
    planted = profiles / "profile-0" / "user" / "left-by-a-crashed-run"
    planted.write_text("x")
    with pytest.raises(ConvertError, match="timed out"):  # killed by the timeout, mid-start
        convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path, timeout=0.05)
    assert not (profiles / "profile-0.good").exists()
    # Its killed LibreOffice holds the lock until it has exited; a conversion meanwhile would take profile 1.
    assert wait_until(lambda: free(profiles / "profile-0.lock"), timeout=30)
    pdf = convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path)
    assert "Alan Turing" in text_of(pdf, tmp_path)
    assert not planted.exists() and (profiles / "profile-0.good").exists()


def test_libreoffice_holds_the_lock_even_when_resumec_is_killed(tmp_path):
    """SIGKILL resumec mid-conversion: its LibreOffice still holds the profile's lock until it ends."""
    cache = tmp_path / "cache"
    private = tmp_path / "tmp"
    private.mkdir()
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "full.json", src)
    env = dict(os.environ, RESUMEC_CACHE_DIR=str(cache), TMPDIR=str(private), RESUMEC_NO_SERVER="1")
    proc = subprocess.Popen([sys.executable, "-m", "resumec", "compile", str(src), "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # LibreOffice takes over a second to start and convert; this sees it long before it ends.
        assert wait_until(lambda: soffice_processes(str(private)) or proc.poll() is not None, timeout=120)
        assert proc.poll() is None, "the compile ended before its LibreOffice was seen"
        lock = next((cache / "libreoffice").rglob("profile-0.lock"))
        proc.kill()
        proc.wait()
        survivors = soffice_processes(str(private))
        assert survivors  # its own session: killing resumec does not kill it
        assert try_lock(lock) is None  # so the profile stays locked while it runs
        for pid in survivors:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert wait_until(lambda: not soffice_processes(str(private)), timeout=30)
        assert wait_until(lambda: free(lock), timeout=30)
        assert not (lock.parent / "profile-0.good").exists()  # and the next run will make it anew
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in soffice_processes(str(private)):
            os.kill(pid, signal.SIGKILL)


def test_a_profile_folder_others_could_write_is_not_used(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    os.chmod(profiles, 0o777)
    data = docx_for("Katherine Johnson", tmp_path)
    assert "Katherine Johnson" in text_of(convert_oneshot(data, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path),
                                          tmp_path)
    assert list(profiles.iterdir()) == []


@pytest.mark.parametrize("flag", ["--cache-dir", "--no-cache"])
def test_profiles_live_in_the_runs_cache_directory_and_never_with_no_cache(tmp_path, flag):
    default = tmp_path / "default-cache"
    chosen = tmp_path / "chosen-cache"
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    env = dict(os.environ, RESUMEC_CACHE_DIR=str(default), RESUMEC_NO_SERVER="1")
    args = [flag, str(chosen)] if flag == "--cache-dir" else [flag]
    proc = subprocess.run([sys.executable, "-m", "resumec", "compile", str(src), "-f", "pdf", "-q", *args], env=env,
                          capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert not (default / "libreoffice").exists()  # --cache-dir moves it, --no-cache writes nothing anywhere
    if flag == "--cache-dir":
        assert list((chosen / "libreoffice").rglob("profile-0.good"))
    else:
        assert not chosen.exists()
