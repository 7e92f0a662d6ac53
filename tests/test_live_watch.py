"""`resumec watch --serve` end to end: a real watch session, real LibreOffice, real headless Chromium."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import SAMPLES, have_soffice, pdftotext, run_cli, wait_until
from conftest import HAVE_CHROMIUM
from test_live import WAIT, js, raw
from test_watch import Session, edit

pytestmark = [
    pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed"),
    pytest.mark.skipif(not HAVE_CHROMIUM, reason="Debian's chromium and chromium-driver are not installed"),
]


@pytest.fixture
def cv(tmp_path) -> Path:
    folder = tmp_path / "cv"
    folder.mkdir()
    shutil.copy(SAMPLES / "full.json", folder / "cv.json")
    return folder / "cv.json"


@pytest.fixture
def sessions(tmp_path):
    started: list[Session] = []
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"RESUMEC_RUNTIME_DIR": str(tmp_path / "run")}

    def start(*args: str) -> Session:
        started.append(Session(["watch", *args, "--serve", "--json"], tmp, env))
        return started[-1]

    yield start
    for session in started:
        if session.proc.poll() is None:
            session.proc.kill()
            session.proc.wait()


def preview_url(session: Session) -> str:
    while True:
        record = json.loads(session.out.get(timeout=WAIT))
        if "preview" in record:
            return record["preview"]


def next_build(session: Session) -> dict:
    while True:
        record = json.loads(session.out.get(timeout=WAIT))
        if "ok" in record:
            return record


def shown(driver) -> tuple[str, int]:
    return tuple(js(driver, "return [window.resumecLive.shown, document.querySelectorAll('#pages img').length]"))


def pages_ready(driver, after: str = "") -> bool:
    return js(driver, "const imgs = [...document.querySelectorAll('#pages img')];"
                      f"return window.resumecLive.shown !== '' && window.resumecLive.shown !== '{after}'"
                      " && imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)")


def test_the_preview_follows_saves_with_progress_and_errors(cv, sessions, browser):
    session = sessions(str(cv))
    url = preview_url(session)
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and len(parts.path.strip("/")) >= 32  # a private token in the path
    assert next_build(session)["ok"]
    browser.get(url)
    assert wait_until(lambda: pages_ready(browser), WAIT)
    first, count = shown(browser)
    assert count == 2  # samples/full.json is two A4 pages
    assert js(browser, "return document.getElementById('pdf').href").endswith(".pdf")

    js(browser, "window.resumecLive.log.length = 0")
    saved = time.time()
    edit(cv, "An edit that must reach the browser.", atomic=True)
    assert next_build(session)["ok"]
    assert wait_until(lambda: pages_ready(browser, after=first), WAIT)
    second, _ = shown(browser)
    latency = js(browser, "return window.resumecLive.shownAt") / 1000 - saved
    assert "An edit that must reach the browser." in pdftotext(cv.with_suffix(".pdf"))
    # Progress arrived in stage order: DOCX build, PDF convert, page images (each may report more than once).
    stages = [entry[0] for entry in js(browser, "return window.resumecLive.log")]
    order = ["docx", "pdf", "png"]
    seen = [stage for stage in stages if stage in order]
    assert seen and seen == sorted(seen, key=order.index), stages
    assert {"docx", "pdf"} <= set(seen), stages
    print(f"save -> new pages on screen: {latency * 1000:.0f} ms")  # benchmarks/bench_live.py measures it

    cv.write_text('{\n  "basics": {\n    "name": "Ada"\n    "label": "x"\n  }\n}\n')
    assert not next_build(session)["ok"]
    assert wait_until(lambda: js(browser, "return !document.getElementById('problems').hidden"), WAIT)
    problems = js(browser, "return document.getElementById('problem-list').innerText")
    assert "4:5" in problems and "Expecting ',' delimiter" in problems, problems
    assert shown(browser) == (second, 2)  # the last good pages stay
    assert session.stop() == 130


def test_a_restarted_watch_reconnects_the_open_tab(cv, sessions, browser):
    first = sessions(str(cv))
    url = preview_url(first)
    assert next_build(first)["ok"]
    browser.get(url)
    assert wait_until(lambda: pages_ready(browser), WAIT)
    before, _ = shown(browser)
    first.proc.send_signal(signal.SIGKILL)  # no goodbye: the tab sees the stream die
    first.proc.wait()
    assert wait_until(lambda: js(browser, "return window.resumecLive.state") != "live", WAIT)

    second = sessions(str(cv))
    assert preview_url(second) == url  # same port, same token: remembered for this file
    assert next_build(second)["ok"]
    assert wait_until(lambda: js(browser, "return window.resumecLive.state") == "live", WAIT)
    edit(cv, "After the restart.")
    assert next_build(second)["ok"]
    assert wait_until(lambda: pages_ready(browser, after=before), WAIT)
    assert second.stop() == 130


def test_wrong_token_or_host_is_refused(cv, sessions):
    session = sessions(str(cv))
    parts = urlsplit(preview_url(session))
    assert raw(parts.port, parts.path)[0] == 200
    assert raw(parts.port, "/" + "x" * 43 + "/")[0] == 403
    assert raw(parts.port, parts.path, host=f"evil.example:{parts.port}")[0] == 403
    assert session.stop() == 130


def test_serve_options_outside_watch_mode_are_usage_errors(tmp_path):
    src = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    for args in (["compile", str(src), "--serve"], ["watch", str(src), "--open"], ["watch", str(src), "--port", "0"],
                 ["watch", str(src), str(src), "--serve", "--port", "8123"]):
        proc = run_cli(*args, timeout=60)
        assert proc.returncode == 2 and b"Traceback" not in proc.stderr, (args, proc.stderr)
