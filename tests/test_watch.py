"""`resumec watch` as a user runs it: a child process, real saves, real LibreOffice, real signals."""

from __future__ import annotations

import ctypes
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, have_soffice, pdftotext, run_cli, soffice_processes, wait_until
from resumec.convert.warm import find_uno_python
from resumec.errors import ResumecError
from resumec.settings import Settings

pytestmark = [
    pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed"),
    pytest.mark.skipif(
        have_soffice() and find_uno_python(shutil.which("soffice"), Settings.from_env()) is None,
        reason="no Python with LibreOffice's uno module",
    ),
]

WAIT = 60.0  # generous: only a hang should ever hit it



class Session:
    """A running `resumec watch …`, its output lines collected by threads as they come."""

    def __init__(self, args: list[str], tmp: Path, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        env = {**os.environ, "TMPDIR": str(tmp), **(env or {})}
        env.pop("FORCE_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "resumec", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _pump(stream, lines: queue.Queue) -> None:
        for raw in stream:
            lines.put(raw.decode("utf-8", "replace").rstrip("\n"))

    def next_build(self) -> dict:
        """The next `--json` build record."""
        line = self.out.get(timeout=WAIT)
        return json.loads(line)

    def next_err(self, contains: str) -> str:
        deadline = time.monotonic() + WAIT
        while True:
            line = self.err.get(timeout=max(0.1, deadline - time.monotonic()))
            if contains in line:
                return line

    def stop(self, sig: int = signal.SIGINT, thread: int | None = None) -> int:
        """Signal the process, or (thread=TID) one of its threads, as the kernel may pick any of them."""
        if thread is None:
            self.proc.send_signal(sig)
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.tgkill(self.proc.pid, thread, sig) == 0, os.strerror(ctypes.get_errno())
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def cv(tmp_path) -> Path:
    folder = tmp_path / "cv"
    folder.mkdir()
    path = folder / "cv.json"
    shutil.copy(SAMPLES / "full.json", path)
    return path


@pytest.fixture
def tmp(tmp_path) -> Path:
    """Private TMPDIR for the watcher: its LibreOffice's profile is below it, so /proc shows which is ours."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.fixture
def session(tmp):
    sessions: list[Session] = []

    def start(*args: str) -> Session:
        sessions.append(Session(list(args), tmp))
        return sessions[-1]

    yield start
    for running in sessions:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


def edit(path: Path, summary: str, *, atomic: bool = False) -> None:
    data = json.loads(path.read_text())
    data["basics"]["summary"] = summary
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if atomic:  # how vim, VS Code and JetBrains save: a new file renamed over the old one
        temp = path.with_name(path.name + ".tmp~")
        temp.write_text(text)
        os.replace(temp, path)
    else:
        path.write_text(text)


def test_rebuilds_on_plain_writes_and_on_atomic_renames(cv, session, tmp):
    watch = session("watch", str(cv), "--json", "-f", "pdf")
    first = watch.next_build()
    assert first["ok"] and first["outputs"][0]["path"] == str(cv.with_suffix(".pdf"))
    engine = soffice_processes(str(tmp))  # one warm LibreOffice (and its UNO bridge) for the session
    assert engine

    edit(cv, "Zanzibar plainwrite summary.")
    build = watch.next_build()
    assert build["ok"] and not build["outputs"][0]["cached"]
    assert "Zanzibar plainwrite" in pdftotext(cv.with_suffix(".pdf"))

    edit(cv, "Quixotic renamesave summary.", atomic=True)
    build = watch.next_build()
    assert build["ok"]
    assert "Quixotic renamesave" in pdftotext(cv.with_suffix(".pdf"))

    # Our own outputs and other files in the folder trigger nothing.
    (cv.parent / "notes.txt").write_text("unrelated")
    time.sleep(0.5)
    assert watch.out.empty()
    assert sorted(soffice_processes(str(tmp))) == sorted(engine)  # the same one throughout
    assert watch.stop() == 130


def test_invalid_json_keeps_the_last_good_pdf_and_recovers(cv, session):
    watch = session("watch", str(cv), "-f", "pdf")  # plain lines: not a terminal
    watch.next_err("built cv.pdf in")
    good = cv.with_suffix(".pdf").read_bytes()
    cv.write_text('{\n  "basics": {\n    "name": "Ada"\n    "label": "x"\n  }\n}\n')
    line = watch.next_err("Expecting ',' delimiter")
    assert line.startswith("[") and f"{cv}:4:5: Expecting ',' delimiter" in line
    assert cv.with_suffix(".pdf").read_bytes() == good
    data = json.loads((SAMPLES / "full.json").read_text())
    data["basics"]["summary"] = "Recovered nicely."
    cv.write_text(json.dumps(data, ensure_ascii=False))
    assert "built cv.pdf in" in watch.next_err("built cv.pdf")
    assert "Recovered nicely" in pdftotext(cv.with_suffix(".pdf"))
    assert watch.stop() == 130


def test_theme_folder_changes_rebuild(cv, session, tmp_path):
    theme = tmp_path / "mytheme"
    shutil.copytree(ROOT / "resumec" / "themes" / "classic", theme)
    watch = session("watch", str(cv), "--json", "-f", "pdf", "--theme", str(theme))
    assert watch.next_build()["ok"]
    toml = theme / "theme.toml"
    toml.write_text(toml.read_text() + "\n# edited\n")
    assert watch.next_build()["ok"]
    assert watch.stop() == 130


@pytest.mark.parametrize(
    "command, sig, code",
    [(["watch"], signal.SIGINT, 130), (["watch"], signal.SIGTERM, 143), (["compile", "--watch"], signal.SIGTERM, 143)],
    ids=["watch-sigint", "watch-sigterm", "compile-watch-sigterm"],
)
def test_signals_stop_it_and_leave_no_libreoffice(cv, session, tmp, command, sig, code):
    # A warm cache first: `compile --watch` must still watch, not serve the hit and exit.
    assert run_cli("compile", str(cv), "-q").returncode == 0
    watch = session(*command, str(cv), "--json", "--no-cache")
    assert watch.next_build()["ok"]
    assert soffice_processes(str(tmp))
    assert watch.stop(sig) == code
    assert wait_until(lambda: not soffice_processes(str(tmp)), timeout=5)
    assert list(tmp.iterdir()) == []  # the warm engine's profile and temp files are gone


def test_signal_during_the_first_build_still_cleans_up(cv, session, tmp):
    watch = session("watch", str(cv), "--json", "--no-cache")
    assert wait_until(lambda: soffice_processes(str(tmp)), timeout=WAIT)  # LibreOffice is starting
    assert watch.stop(signal.SIGINT) == 130
    assert wait_until(lambda: not soffice_processes(str(tmp)), timeout=5)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_taken_by_another_thread_still_stops_it(cv, session, tmp, sig, code):
    # A process-directed signal goes to any thread that does not block it (here the watcher's threads);
    # Python only flags it for the main thread, which must not sleep through it waiting for a save.
    watch = session("watch", str(cv), "--json", "-f", "docx")
    assert watch.next_build()["ok"]
    others = sorted(int(t) for t in os.listdir(f"/proc/{watch.proc.pid}/task") if int(t) != watch.proc.pid)
    assert others, "the watcher runs in its own threads"
    assert watch.stop(sig, thread=others[-1]) == code


def test_watch_needs_files(session):
    proc = run_cli("watch", "-")
    assert proc.returncode == 2 and b"standard input" in proc.stderr



def test_without_uno_it_says_so_once_and_converts_one_shot(cv, tmp):
    watch = Session(["watch", str(cv), "-f", "pdf"], tmp, env={"RESUMEC_UNO_PYTHON": str(tmp / "no-such-python")})
    try:
        note = watch.next_err("warm LibreOffice unavailable")
        assert "uno" in note
        watch.next_err("built cv.pdf in")
        assert cv.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
        assert watch.stop() == 130
    finally:
        if watch.proc.poll() is None:
            watch.proc.kill()
            watch.proc.wait()


def test_watch_takes_the_same_options_as_compile():
    """`resumec watch` is `compile --watch`: the two must not drift apart."""
    import typer.main

    from resumec.cli import compile as compile_module, watch as watch_module  # noqa: F401  (register the commands)
    from resumec.cli.app import app

    commands = typer.main.get_command(app).commands
    options = {name: {o for p in commands[name].params if p.param_type_name == "option" for o in p.opts}
               for name in ("compile", "watch")}
    assert options["watch"] == options["compile"] - {"--watch", "--jobs", "-j", "--no-server"}


def test_replacing_the_photo_rebuilds(tmp_path, session):
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy(SAMPLES / "photo.json", folder / "cv.json")
    shutil.copy(SAMPLES / "photo.png", folder / "photo.png")
    watch = session("watch", str(folder / "cv.json"), "--json", "-f", "docx", "--theme", "modern")
    first = watch.next_build()
    assert first["ok"]
    before = (folder / "cv.docx").read_bytes()
    png = (folder / "photo.png").read_bytes()
    (folder / "photo.png").write_bytes(png + b"\0")  # new bytes, same name
    build = watch.next_build()
    assert build["ok"] and not build["outputs"][0]["cached"]
    assert (folder / "cv.docx").read_bytes() != before
    assert watch.stop() == 130


def test_an_emptied_file_is_reported_after_the_wait_for_the_rest_of_the_save(cv, session):
    watch = session("watch", str(cv), "-f", "docx", "--json")
    assert watch.next_build()["ok"]
    cv.write_text("")  # emptied for good: no write follows, so after SETTLE_S it is reported as usual
    failed = watch.next_build()
    assert not failed["ok"] and "empty input" in failed["error"]["message"]
    assert watch.stop() == 130


def test_a_failed_build_of_a_save_caught_half_way_is_not_reported(tmp_path):
    """An editor saving in place truncates, then writes: a build that read the gap is replaced, not shown."""
    from resumec.pipeline import Result
    from resumec.watch import _mid_save, _state

    path = tmp_path / "cv.json"
    path.write_text("{")
    failed = Result(str(path), error=ResumecError("bad"))
    events: queue.Queue = queue.Queue()
    before = _state(str(path))
    assert not _mid_save(str(path), Result(str(path)), before, events)  # a good build is always shown
    assert not _mid_save(str(path), failed, before, events)  # unchanged and not empty: a real error
    path.write_text("{}  ")  # changed during the build: its event is on the way and rebuilds
    assert _mid_save(str(path), failed, before, events)
    path.write_text("")  # read empty, and the write that follows has arrived: shown by the next build
    events.put({str(path)})
    assert _mid_save(str(path), failed, _state(str(path)), events)
    assert events.get_nowait() == {str(path)}  # handed back to the main loop
    assert not _mid_save(str(path), failed, _state(str(path)), events)  # empty, nothing followed: shown
    path.unlink()
    assert not _mid_save(str(path), failed, before, events)  # deleted: shown
