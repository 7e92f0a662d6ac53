"""The live preview (`resumec.live`): the real server, real Chromium, real PNG pages of samples/full.json.

The tests drive the server through its API, standing in for the watch
session; where a server must die (SIGKILL), freeze (SIGSTOP, like a laptop
asleep) or come back, it runs in a child process (`python -m resumec.live`).
Every wait is for a condition with a deadline; the only fixed window is the
one that proves a page has *stopped* knocking on a dead port.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import HAVE_CHROMIUM, ROOT, SAMPLES, have_soffice, run_cli, wait_until
from resumec.errors import InputError
from resumec.live import Build, LiveServer, Problem, state_file
from resumec.settings import Settings

WAIT = 30.0  # generous: only a failure ever waits this long

needs_browser = pytest.mark.skipif(
    not HAVE_CHROMIUM, reason="Debian's chromium and chromium-driver are not installed (make system-deps)"
)


# -- real pages of a real PDF, built once -------------------------------------------------


@dataclass
class Rendered:
    pages: list[Path]
    pdf: Path
    docx: Path

    def build(self, seconds: float = 0.84, cached: bool | None = False) -> Build:
        return Build(ok=True, seconds=seconds, cached=cached, pages=self.pages, pdf=self.pdf, docx=self.docx)

    def command(self) -> dict:
        return {
            "op": "built", "ok": True, "seconds": 0.5, "cached": False,
            "pages": [str(p) for p in self.pages], "pdf": str(self.pdf), "docx": str(self.docx),
        }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Rendered]:
    """samples/full.json in two themes (different pages), via `resumec compile -f docx,pdf,png`."""
    if not have_soffice():
        pytest.skip("LibreOffice (soffice) is not installed")
    root = tmp_path_factory.mktemp("rendered")
    env = {"RESUMEC_CACHE_DIR": str(root / "cache"), "RESUMEC_NO_SERVER": "1"}
    found = {}
    for theme in ("classic", "compact"):
        out = root / theme
        proc = run_cli("compile", str(SAMPLES / "full.json"), "-o", f"{out}/", "-f", "docx,pdf,png",
                       "--theme", theme, env=env)
        assert proc.returncode == 0, proc.stderr.decode()
        pages = sorted(out.glob("full-*.png"), key=lambda p: int(p.stem.rpartition("-")[2]))
        assert pages and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pages)
        found[theme] = Rendered(pages, out / "full.pdf", out / "full.docx")
    return found


# -- a real browser -----------------------------------------------------------------------


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def page_state(driver) -> dict:
    return js(driver, "return window.resumecLive ? JSON.parse(JSON.stringify(window.resumecLive)) : {}")


def wait_js(driver, condition: str, timeout: float = WAIT) -> bool:
    probe = f"try {{ return !!({condition}); }} catch (e) {{ return false; }}"
    return wait_until(lambda: js(driver, probe), timeout)


def shows(build_id: str, count: int) -> str:
    """JS: the page shows exactly this build, every page decoded."""
    return (
        f"window.resumecLive.shown === '{build_id}'"
        f" && document.querySelectorAll('#pages img').length === {count}"
        " && [...document.querySelectorAll('#pages img')].every(i => i.complete && i.naturalWidth > 0)"
    )


def fills(driver) -> list[float]:
    """How full each stage of the progress bar is, in percent."""
    return [float(w.rstrip("%") or 0) for w in
            js(driver, "return [...document.querySelectorAll('#stages .fill')].map(f => f.style.width)")]


@pytest.fixture
def live():
    server = LiveServer("full.json", heartbeat=1.0, give_up=60.0)
    server.start()
    yield server
    server.close()


# -- the server in a child process, to kill and restart -----------------------------------


class Runner:
    """`python -m resumec.live ARGS`: a LiveServer driven by JSON lines, as a watch session would drive it."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "resumec.live", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})}, cwd=ROOT, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.info = self.next_line()
        self.url, self.port, self.token = self.info["url"], self.info["port"], self.info["token"]

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def next_line(self) -> dict:
        try:
            return json.loads(self.lines.get(timeout=WAIT))
        except queue.Empty:
            raise AssertionError(f"the runner said nothing; stderr: {self.proc.stderr.read()}") from None

    def send(self, command: dict) -> None:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def stats(self) -> dict:
        self.send({"op": "stats"})
        return self.next_line()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.proc.wait(timeout=WAIT)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def runners():
    started: list[Runner] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Runner:
        runner = Runner(*args, env=env)
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.close()


# -- raw HTTP --------------------------------------------------------------------------------


def raw(port: int, path: str, host: str | None = "default", method: str = "GET",
        address: str = "127.0.0.1", headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One request exactly as written: the path is not normalised, the Host header is ours to choose."""
    conn = http.client.HTTPConnection(address, port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host == "default":
            host = f"127.0.0.1:{port}"
        if host is not None:
            conn.putheader("Host", host)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class SSE:
    """A raw Server-Sent Events reader over http.client."""

    def __init__(self, server: LiveServer, last_event_id: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
        headers = {"Host": f"127.0.0.1:{server.port}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", f"/{server.token}/events", headers=headers)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")
        self.retry: int | None = None

    def next(self) -> dict:
        """The next event: {"event", "id", "data"}."""
        event: dict = {}
        while True:
            line = self.response.readline().decode("utf-8")
            assert line, "the stream ended"
            line = line.rstrip("\n")
            if not line:
                if "event" in event or "data" in event:
                    return event
                continue
            field, _, value = line.partition(": ")
            if field == "retry":
                self.retry = int(value)
            elif field == "data":
                event["data"] = json.loads(value)
            elif field in ("event", "id"):
                event[field] = value

    def next_not_ping(self) -> dict:
        while True:
            event = self.next()
            if event["event"] != "ping":
                return event

    def close(self) -> None:
        self.conn.close()


# -- the page ------------------------------------------------------------------------------


@needs_browser
def test_the_page_shows_the_pages_stats_and_downloads(live, browser, rendered):
    classic = rendered["classic"]
    live.built(classic.build(seconds=0.84, cached=False))
    build_id = live.stats()["build"]
    browser.get(live.url)
    assert wait_js(browser, shows(build_id, len(classic.pages)))
    # The images are the real pages, at their real size, in order.
    widths = js(browser, "return [...document.querySelectorAll('#pages img')].map(i => [i.naturalWidth, i.alt])")
    png_width = int.from_bytes(classic.pages[0].read_bytes()[16:20], "big")
    assert [w for w, _ in widths] == [png_width] * len(classic.pages)
    assert [alt for _, alt in widths] == [f"Page {n} of {len(classic.pages)}" for n in range(1, len(classic.pages) + 1)]
    stats = browser.find_element("id", "stats").text
    assert "built in 840 ms" in stats and "cache miss" in stats
    assert browser.find_element("id", "status").text == "live"
    assert browser.title == "full.json · resumec live"
    # The download links serve this build's PDF and DOCX bytes, as attachments.
    for kind, path in (("pdf", classic.pdf), ("docx", classic.docx)):
        href = browser.find_element("id", kind).get_attribute("href")
        assert browser.find_element("id", kind).get_attribute("download") == f"full.{kind}"
        status, headers, body = raw(live.port, href.removeprefix(f"http://127.0.0.1:{live.port}"))
        assert status == 200 and body == path.read_bytes()
        assert headers["content-disposition"] == f'attachment; filename="full.{kind}"'
    # A cached rebuild of the same bytes keeps the same images and says "cache hit".
    live.built(classic.build(seconds=0.03, cached=True))
    assert wait_js(browser, "document.getElementById('stats').textContent.includes('cache hit')")
    assert live.stats()["build"] == build_id
    assert page_state(browser)["shown"] == build_id


@needs_browser
def test_a_new_build_is_on_screen_within_a_second(live, browser, rendered):
    live.built(rendered["classic"].build())
    first = live.stats()["build"]
    browser.get(live.url)
    assert wait_js(browser, shows(first, len(rendered["classic"].pages)))
    compact = rendered["compact"]
    for _ in range(3):  # a few swaps, each timed in the browser (Date.now() shares the clock with time.time())
        started = time.time()
        live.built(compact.build())
        new = live.stats()["build"]
        assert new != first
        assert wait_js(browser, shows(new, len(compact.pages)))
        latency = page_state(browser)["shownAt"] / 1000 - started
        assert latency < 1.0, f"the new build took {latency:.3f} s to appear"
        live.built(rendered["classic"].build())
        assert wait_js(browser, shows(first, len(rendered["classic"].pages)))


@needs_browser
def test_progress_events_arrive_in_order(live, browser, rendered):
    live.built(rendered["classic"].build())
    browser.get(live.url)
    assert wait_js(browser, "window.resumecLive.state === 'live'")
    js(browser, "window.resumecLive.log = []")
    steps = [("validate", 0, 1), ("docx", 0, 1), ("docx", 1, 1), ("pdf", 0, 1), ("pdf", 1, 1),
             ("png", 0, 2), ("png", 1, 2), ("png", 2, 2)]
    for step in steps:
        live.progress(*step)
    assert wait_js(browser, f"window.resumecLive.log.length >= {len(steps)}")
    assert [tuple(x) for x in page_state(browser)["log"]] == steps
    # The bar: DOCX and PDF done, page images complete; the status says building.
    assert fills(browser) == [100.0, 100.0, 100.0]
    assert browser.find_element("id", "status").text == "building"
    assert browser.find_element("id", "progress").is_displayed()
    # The next build, part-way: the bar stops inside the PDF stage (within one build it never moves back).
    live.built(rendered["classic"].build())
    live.progress("docx", 1, 1)
    live.progress("pdf", 1, 2)
    assert wait_js(browser, "window.resumecLive.log.length >= 10")
    assert [tuple(x) for x in page_state(browser)["log"][-2:]] == [("docx", 1, 1), ("pdf", 1, 2)]
    widths = fills(browser)
    assert widths[0] == 100.0 and widths[2] == 0.0 and 0 < widths[1] < 100
    live.built(rendered["classic"].build())
    assert wait_js(browser, "!document.getElementById('progress').offsetParent")
    assert browser.find_element("id", "status").text == "live"


@needs_browser
def test_an_invalid_build_shows_the_located_error_and_keeps_the_last_good_pages(live, browser, rendered, tmp_path):
    from resumec import load, validate

    classic = rendered["classic"]
    live.built(classic.build())
    good = live.stats()["build"]
    browser.get(live.url)
    assert wait_js(browser, shows(good, len(classic.pages)))

    # A real syntax error from resumec's own loader, mid-edit: a comma gone.
    text = (SAMPLES / "full.json").read_text("utf-8")
    broken = tmp_path / "full.json"
    broken.write_text(text.replace('",\n', '"\n', 1), "utf-8")
    with pytest.raises(InputError) as syntax:
        load.load(broken)
    started = time.time()
    live.built(Build.failed(syntax.value, seconds=0.004))
    where = syntax.value.message.split(": ")[0]  # e.g. full.json:3:5
    assert wait_js(browser, "!document.getElementById('problems').hidden")
    items = [li.text for li in browser.find_elements("css selector", "#problem-list li")]
    assert items == [syntax.value.message], items
    assert browser.find_element("css selector", "#problem-list .where").text == where
    assert "the last good pages are shown below" in browser.find_element("id", "problems-title").text
    assert "build failed" in browser.find_element("id", "stats").text
    assert browser.title.startswith("✗ ")
    # The last good pages are still there, still loaded, and still downloadable.
    assert wait_js(browser, shows(good, len(classic.pages)), timeout=1)
    assert live.stats()["build"] == good
    href = browser.find_element("id", "pdf").get_attribute("href")
    assert raw(live.port, href.split(str(live.port), 1)[1])[2] == classic.pdf.read_bytes()
    assert time.time() - started < WAIT

    # Schema violations: every one listed, with its JSON path.
    data = json.loads(text)
    data["basics"]["name"] = 7
    data["work"][0]["startDate"] = "2010-13-45"
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(data, indent=2), "utf-8")
    with pytest.raises(InputError) as schema:
        validate.check(load.load(invalid))
    live.built(Build.failed(schema.value))
    assert wait_js(browser, "document.querySelectorAll('#problem-list li').length === 2")
    paths = [el.text for el in browser.find_elements("css selector", "#problem-list .path")]
    assert paths == ["basics.name", "work[0].startDate"]
    wheres = [el.text for el in browser.find_elements("css selector", "#problem-list .where")]
    assert all(re.fullmatch(r".*invalid\.json:\d+:\d+", w) for w in wheres), wheres

    # The next good build clears the error.
    live.built(rendered["compact"].build())
    new = live.stats()["build"]
    assert wait_js(browser, shows(new, len(rendered["compact"].pages)) + " && document.getElementById('problems').hidden")


@needs_browser
def test_error_text_is_shown_as_text_never_as_markup(live, browser):
    live.built(Build(ok=False, problems=[Problem.from_text('x.json:1:2: basics.name: <img src=x onerror="window.owned=1"> & <b>')]))
    browser.get(live.url)
    assert wait_js(browser, "document.querySelectorAll('#problem-list li').length === 1")
    assert browser.find_element("css selector", "#problem-list li").text.endswith('<img src=x onerror="window.owned=1"> & <b>')
    assert js(browser, "return document.querySelectorAll('#problem-list img, #problem-list b').length") == 0
    assert js(browser, "return window.owned === undefined")


@needs_browser
def test_many_tabs_share_one_stream_and_all_stay_usable(live, browser, rendered):
    """Eight tabs: more than the browser's six connections per host, so one stream each would stall the images."""
    classic, compact = rendered["classic"], rendered["compact"]
    live.built(classic.build())
    first = live.stats()["build"]
    browser.get(live.url)
    for _ in range(7):
        browser.switch_to.new_window("tab")
        browser.get(live.url)
    tabs = browser.window_handles
    assert len(tabs) == 8
    for tab in tabs:
        browser.switch_to.window(tab)
        assert wait_js(browser, shows(first, len(classic.pages)))
    assert wait_until(lambda: live.stats()["streams"] == 1)

    live.built(compact.build())
    second = live.stats()["build"]
    roles = []
    for tab in tabs:
        browser.switch_to.window(tab)
        assert wait_js(browser, shows(second, len(compact.pages)))
        roles.append(page_state(browser)["role"])
    assert sorted(roles) == ["follower"] * 7 + ["leader"]
    assert live.stats()["streams"] == 1

    # The leader closes: another tab takes the stream over, and every remaining tab follows the next build.
    opened = live.stats()["opened"]
    browser.switch_to.window(tabs[roles.index("leader")])
    browser.close()
    rest = [t for t in tabs if t != tabs[roles.index("leader")]]
    assert wait_until(lambda: live.stats()["opened"] == opened + 1 and live.stats()["streams"] == 1)
    live.built(classic.build())
    for tab in rest:
        browser.switch_to.window(tab)
        assert wait_js(browser, shows(first, len(classic.pages)))
    assert live.stats()["streams"] == 1


# -- reconnects ------------------------------------------------------------------------------


@needs_browser
def test_a_killed_and_restarted_server_reconnects_the_open_tab(browser, rendered, runners, tmp_path):
    env = {"RESUMEC_RUNTIME_DIR": str(tmp_path / "run")}
    watched = tmp_path / "resume.json"
    watched.write_text("{}")
    args = ("--watched", str(watched), "--title", "resume.json", "--heartbeat", "1", "--give-up", "60")
    first = runners(*args, env=env)
    first.send(rendered["classic"].command())
    assert wait_until(lambda: first.stats()["build"] is not None)
    browser.get(first.url)
    assert wait_js(browser, shows(first.stats()["build"], len(rendered["classic"].pages)))

    # The address is remembered privately, for this file.
    remembered = state_file(watched, Settings({**os.environ, **env}))
    assert json.loads(remembered.read_text())["port"] == first.port
    assert stat.S_IMODE(remembered.stat().st_mode) == 0o600
    assert stat.S_IMODE(remembered.parent.stat().st_mode) == 0o700

    first.kill(signal.SIGKILL)
    assert wait_js(browser, "window.resumecLive.state === 'reconnecting'")
    assert browser.find_element("id", "notice").is_displayed()

    second = runners(*args, env=env)
    assert (second.port, second.token, second.url) == (first.port, first.token, first.url)
    assert wait_js(browser, "window.resumecLive.state === 'live' && window.resumecLive.opens === 2")
    assert not browser.find_element("id", "notice").is_displayed()
    # Until the new session has built, the old pages stay; then its build replaces them.
    second.send(rendered["compact"].command())
    assert wait_js(browser, shows(second.stats()["build"], len(rendered["compact"].pages)))
    # One reconnect, not a loop: while the page keeps receiving heartbeats, no further stream is opened.
    pings = page_state(browser)["pings"]
    assert wait_js(browser, f"window.resumecLive.pings >= {pings + 4}")
    assert second.stats()["opened"] == 1 and page_state(browser)["opens"] == 2


@needs_browser
def test_a_silent_stream_is_detected_by_heartbeat_and_reopened(browser, rendered, runners):
    """SIGSTOP freezes the server like a laptop lid: the page notices the missing heartbeats and reconnects."""
    server = runners("--heartbeat", "0.5", "--give-up", "60")
    server.send(rendered["classic"].command())
    assert wait_until(lambda: server.stats()["build"] is not None)
    browser.get(server.url)
    assert wait_js(browser, shows(server.stats()["build"], len(rendered["classic"].pages)))
    opens = page_state(browser)["opens"]
    assert opens >= 1

    server.kill(signal.SIGSTOP)
    try:
        assert wait_js(browser, "window.resumecLive.state === 'reconnecting'")
    finally:
        server.kill(signal.SIGCONT)
    assert wait_js(browser, f"window.resumecLive.state === 'live' && window.resumecLive.opens > {opens}")
    server.send(rendered["compact"].command())
    assert wait_js(browser, shows(server.stats()["build"], len(rendered["compact"].pages)))


@needs_browser
def test_a_tab_whose_server_never_returns_stops_retrying_and_says_so(browser, rendered, runners):
    server = runners("--heartbeat", "0.5", "--give-up", "3")
    server.send(rendered["classic"].command())
    assert wait_until(lambda: server.stats()["build"] is not None)
    browser.get(server.url)
    assert wait_js(browser, shows(server.stats()["build"], len(rendered["classic"].pages)))
    server.kill(signal.SIGKILL)

    assert wait_js(browser, "window.resumecLive.state === 'stopped'")
    before = page_state(browser)
    assert before["errors"] >= 1  # it did try to reconnect first
    notice = browser.find_element("id", "notice-text").text
    assert "stopped" in notice and "Reconnect" in notice
    assert browser.find_element("id", "reconnect").is_displayed()
    # The pages stay on screen.
    assert js(browser, "return document.querySelectorAll('#pages img').length") == len(rendered["classic"].pages)

    # Proof of silence: listen on the dead server's port for several retry intervals; nobody knocks.
    knocks = 0
    with socket.create_server(("127.0.0.1", server.port)) as listener:
        listener.settimeout(0.2)
        deadline = time.monotonic() + 3.0  # three times the `retry:` interval
        while time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
                conn.close()
                knocks += 1
            except TimeoutError:
                pass
    assert knocks == 0
    after = page_state(browser)
    assert (after["attempts"], after["errors"], after["state"]) == (before["attempts"], before["errors"], "stopped")

    # The button is one deliberate attempt: with a server back on the address (same token), it reconnects.
    back = runners("--port", str(server.port), "--token", server.token, "--heartbeat", "0.5")
    browser.find_element("id", "reconnect").click()
    assert wait_js(browser, "window.resumecLive.state === 'live'")
    assert back.stats()["opened"] == 1


@needs_browser
def test_a_server_that_refuses_the_page_ends_the_retrying(browser, rendered, runners):
    """Restarted on the same port with another token (the address was not remembered): 403, so no retries."""
    server = runners("--heartbeat", "0.5", "--give-up", "60")
    browser.get(server.url)
    assert wait_js(browser, "window.resumecLive.state === 'live'")
    server.kill(signal.SIGKILL)
    assert wait_js(browser, "window.resumecLive.state === 'reconnecting'")
    other = runners("--port", str(server.port), "--token", "another-token-0123456789", "--heartbeat", "0.5")
    assert other.port == server.port
    assert wait_js(browser, "window.resumecLive.state === 'refused'")
    assert "no longer serves this page" in browser.find_element("id", "notice-text").text
    assert other.stats()["opened"] == 0


def test_last_event_id_resumes_and_a_foreign_id_gets_a_snapshot(rendered):
    server = LiveServer("full.json", heartbeat=30.0)
    server.start()
    try:
        first = SSE(server)
        assert first.next()["event"] == "hello" and first.retry == 1000
        state = first.next()
        assert state["event"] == "state" and state["data"] == {"build": None, "progress": None}
        epoch = state["id"].rpartition("-")[0]
        server.progress("docx", 0, 1)
        server.progress("docx", 1, 1)
        seen = [first.next_not_ping() for _ in range(2)]
        assert [e["id"] for e in seen] == [f"{epoch}-1", f"{epoch}-2"]
        first.close()

        server.progress("pdf", 0, 1)  # missed by the closed stream
        server.built(rendered["classic"].build())
        assert wait_until(lambda: server.stats()["events"] == 4)

        resumed = SSE(server, last_event_id=f"{epoch}-2")
        assert resumed.next()["event"] == "hello"
        missed = [resumed.next_not_ping() for _ in range(2)]
        assert [(e["event"], e["id"]) for e in missed] == [("progress", f"{epoch}-3"), ("build", f"{epoch}-4")]
        assert missed[0]["data"]["stage"] == "pdf"
        assert missed[1]["data"]["good"]["id"] == server.stats()["build"]
        server.progress("docx", 0, 1)
        assert resumed.next_not_ping()["id"] == f"{epoch}-5"  # and then live events, in order
        resumed.close()

        for foreign in ("0badc0de-3", f"{epoch}-99", "garbage"):
            other = SSE(server, last_event_id=foreign)
            assert other.next()["event"] == "hello"
            snapshot = other.next()
            assert snapshot["event"] == "state" and snapshot["id"] == f"{epoch}-5"
            assert snapshot["data"]["build"]["good"]["id"] == server.stats()["build"]
            assert snapshot["data"]["progress"]["stage"] == "docx"  # a build is running
            other.close()
    finally:
        server.close()


def test_heartbeats_keep_an_idle_stream_alive():
    server = LiveServer("full.json", heartbeat=0.2)
    server.start()
    try:
        stream = SSE(server)
        assert [stream.next()["event"] for _ in range(2)] == ["hello", "state"]
        assert [stream.next()["event"] for _ in range(3)] == ["ping"] * 3
    finally:
        server.close()
    # close() ends open streams (so the tab reconnects at once), frees the port and ends the thread.
    rest = stream.response.read()
    assert rest in (b"", b"event: ping\ndata: {}\n\n") or rest.endswith(b"\n\n")
    stream.close()
    assert not server._thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    server.close()  # twice is fine
    server.progress("docx", 0, 1)  # and reports after close are ignored
    server.built(Build(ok=False))


def test_bad_requests_never_print_over_the_watch_terminal(runners):
    """aiohttp logs malformed requests with a traceback; the session's stderr must stay clean."""
    server = runners("--heartbeat", "5")
    assert raw(server.port, f"/{server.token}/", host=None)[0] == 400
    assert raw(server.port, f"/{server.token}/", host="evil.example")[0] == 403
    server.proc.stdin.close()
    assert server.proc.wait(timeout=WAIT) == 0
    assert server.proc.stderr.read() == ""


# -- what can be reached, and by whom ----------------------------------------------------------


def test_wrong_token_and_wrong_host_get_403(live):
    port, token = live.port, live.token
    assert raw(port, f"/{token}/")[0] == 200
    for path in ("/", "/favicon.ico", f"/{token[:-1]}/", f"/{token}x/", f"/{token.upper()}/events",
                 f"/x/{token}/", "/static/app.js", f"/{token[:-1]}/events"):
        status, _, body = raw(port, path)
        assert status == 403, (path, status)
        assert b"token" in body
    # DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host.
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", f"127.0.0.1.nip.io:{port}",
                 f"localhost.evil.example:{port}", ""):
        status, _, body = raw(port, f"/{token}/", host=host)
        assert status == 403 and b"Host" in body, (host, status)
    assert raw(port, f"/{token}/", host=None)[0] == 400  # no Host at all: aiohttp's parser rejects it
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        assert raw(port, f"/{token}/", host=host)[0] == 200, host
    # A POST gets no further than a GET.
    assert raw(port, f"/{token}/", method="POST")[0] == 405
    assert raw(port, "/", method="POST")[0] == 403


def _have_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_the_server_listens_on_loopback_only(live):
    v6 = _have_ipv6_loopback()
    if v6:
        assert raw(live.port, f"/{live.token}/", address="::1", host=f"[::1]:{live.port}")[0] == 200
    listening = []
    for table, family in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.split(":")
            if state == "0A" and int(port, 16) == live.port:
                listening.append((family, address))
    assert sorted(listening) == [(4, "0100007F")] + ([(6, "00000000000000000000000001000000")] if v6 else [])


def test_nothing_outside_the_current_build_can_be_fetched(live, rendered):
    token, port = live.token, live.port
    live.built(rendered["classic"].build())
    old = live.stats()["build"]
    assert raw(port, f"/{token}/b/{old}/page-1.png")[0] == 200
    live.built(rendered["compact"].build())
    new = live.stats()["build"]
    status, headers, body = raw(port, f"/{token}/b/{new}/page-1.png")
    assert status == 200 and body == rendered["compact"].pages[0].read_bytes()
    assert headers["content-type"] == "image/png" and "immutable" in headers["cache-control"]
    # An error build keeps the last good files; nothing else becomes reachable.
    live.built(Build(ok=False, problems=[Problem("broken")]))
    assert wait_until(lambda: live.stats()["events"] == 3)
    assert raw(port, f"/{token}/b/{new}/full.pdf")[0] == 200

    attempts = [
        f"/{token}/b/{old}/page-1.png",  # the previous build
        f"/{token}/b/{new}/page-9.png",
        f"/{token}/b/{new}/full.json",
        f"/{token}/b/{new}/../../../../../etc/passwd",
        f"/{token}/b/{new}/..%2f..%2f..%2fetc%2fpasswd",
        f"/{token}/b/{new}/%2e%2e/%2e%2e/pyproject.toml",
        f"/{token}/b/{new}/" + str(rendered["compact"].pdf).replace("/", "%2f"),
        f"/{token}/b/..%2f..%2f/full.pdf",
        f"/{token}/static/../../../../etc/passwd",
        f"/{token}/static/..%2fserver.py",
        f"/{token}/static/server.py",
        f"/{token}/static/index.html",
        f"/{token}/static/%2e%2e%2f__init__.py",
        f"/{token}/resumec/live/server.py",
        f"/{token}/pyproject.toml",
        f"/{token}/.%2e/.%2e/etc/passwd",
        f"/{token}//etc/passwd",
        f"/{token}/b/{new}/page-1.png%00.pdf",
        f"/{token}/%2e%2e/%2e%2e/etc/passwd",
        "/../../../../etc/passwd",
        f"/{token}/b/{new}/page-1.png/..",
    ]
    secret = (ROOT / "pyproject.toml").read_bytes()
    for path in attempts:
        status, _, body = raw(port, path)
        assert status in (403, 404), (path, status)
        assert b"root:" not in body and body != secret and b"LiveServer" not in body, path
    # What the page itself needs is there, with a strict content security policy.
    for name, ctype in (("app.js", "text/javascript"), ("app.css", "text/css"), ("icon.svg", "image/svg+xml")):
        status, headers, _ = raw(port, f"/{token}/static/{name}")
        assert status == 200 and headers["content-type"].startswith(ctype)
    headers = raw(port, f"/{token}/")[1]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


# -- the address: random, given, remembered -----------------------------------------------------


def test_the_address_is_random_unless_given_and_remembered_per_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RESUMEC_RUNTIME_DIR", str(tmp_path / "run"))
    a, b = LiveServer("a.json"), LiveServer("b.json")
    try:
        a.start(), b.start()
        assert a.port != b.port and a.token != b.token and len(a.token) >= 32
        assert a.url == f"http://127.0.0.1:{a.port}/{a.token}/"
    finally:
        a.close(), b.close()

    watched = tmp_path / "resume.json"
    with LiveServer("resume.json", watched=watched) as first:
        address = (first.port, first.token)
        assert first.note == ""
    with LiveServer("resume.json", watched=watched) as again:
        assert (again.port, again.token) == address  # the same URL after a restart
        with LiveServer("resume.json", watched=watched) as concurrent:
            assert concurrent.port != again.port  # the port is busy: a fresh one, never a failure
    with LiveServer("other.json", watched=tmp_path / "other.json") as other:
        assert other.token != address[1]

    # A given port is used as given; a busy given port is a usage error (exit 2).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with LiveServer("x.json", port=free) as fixed:
        assert fixed.port == free
        from resumec.errors import UsageError

        with pytest.raises(UsageError, match=f"--port {free}"):
            LiveServer("y.json", port=free).start()


def test_an_unsafe_runtime_directory_is_never_used_to_remember(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir(mode=0o755)
    run.chmod(0o755)
    monkeypatch.setenv("RESUMEC_RUNTIME_DIR", str(run))
    with LiveServer("resume.json", watched=tmp_path / "resume.json") as server:
        assert "cannot remember" in server.note
        assert not (run / "live").exists()
        assert raw(server.port, f"/{server.token}/")[0] == 200  # the preview itself still works


def test_the_title_is_text_in_the_page(tmp_path):
    title = '</title><script>alert(1)</script> __CONFIG__ "x".json'
    with LiveServer(title) as server:
        body = raw(server.port, f"/{server.token}/")[2].decode()
    assert "<script>alert(1)" not in body
    assert body.count("__CONFIG__") == 3  # <title>, <h1> and the config, each the title as text
    assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; __CONFIG__ &quot;x&quot;.json" in body
    config = json.loads(body.split('id="config">', 1)[1].split("</script>", 1)[0])
    assert config["title"] == title


def test_a_build_from_a_real_pipeline_result(tmp_path):
    """Build.from_result / Build.failed against resumec.compile, as the watch session will call them."""
    if not have_soffice():
        pytest.skip("LibreOffice (soffice) is not installed")
    import resumec
    from resumec.errors import ResumecError
    from resumec.pipeline import Options

    resume = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "full.json", resume)
    options = Options(formats=("docx", "pdf", "png"), output=tmp_path / "out")
    for cached in (False, True):
        build = Build.from_result(resumec.compile(resume, options), seconds=0.5)
        assert build.ok and build.cached is cached
        assert [p.name for p in build.pages] == [f"cv-{n}.png" for n in range(1, len(build.pages) + 1)]
        assert build.pdf.read_bytes()[:5] == b"%PDF-" and build.docx.suffix == ".docx"
    with LiveServer("cv.json") as server:
        server.built(build)
        assert wait_until(lambda: server.stats()["build"] is not None)
        good = server.stats()["build"]
        assert raw(server.port, f"/{server.token}/b/{good}/cv.pdf")[2] == build.pdf.read_bytes()
        assert raw(server.port, f"/{server.token}/b/{good}/page-1.png")[2] == build.pages[0].read_bytes()

    resume.write_text('{"basics": {"name": 7}}')
    failed = resumec.compile(resume, options)
    assert isinstance(failed.error, ResumecError)
    build = Build.failed(failed.error, seconds=0.01)
    assert not build.ok and [(p.line, p.col, p.path) for p in build.problems] == [(1, 21, "basics.name")]
    assert Build.from_result(failed, 0.01).problems == build.problems


def test_problems_parse_resumec_error_lines():
    assert Problem.from_text("cv.json:31:34: work[1].highlights[0]: expected a string, got 42") == Problem(
        "expected a string, got 42", "cv.json", 31, 34, "work[1].highlights[0]")
    assert Problem.from_text("cv.json:4:3: Expecting ',' delimiter") == Problem(
        "Expecting ',' delimiter", "cv.json", 4, 3, None)
    assert Problem.from_text("dir/my cv.json:2:1: basics.url: bad: really") == Problem(
        "bad: really", "dir/my cv.json", 2, 1, "basics.url")
    assert Problem.from_text("LibreOffice is needed to write PDFs") == Problem("LibreOffice is needed to write PDFs")
    assert Problem.from_text("cv.json:4:3: Expecting ',' delimiter").where == "cv.json:4:3"
    error = InputError("cv.json: 2 problems", details=["cv.json:1:2: basics.name: x", "cv.json:3:4: y"])
    assert [p.where for p in Build.failed(error).problems] == ["cv.json:1:2", "cv.json:3:4"]


def test_importing_resumec_live_does_not_import_aiohttp_and_a_cache_hit_imports_neither(tmp_path):
    probe = "import sys, resumec.live; print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip() == "[]", proc.stderr
    if not have_soffice():
        return
    resume = tmp_path / "cv.json"
    shutil.copy(SAMPLES / "full.json", resume)
    env = {"RESUMEC_CACHE_DIR": str(tmp_path / "cache")}
    assert run_cli("compile", str(resume), "-q", env=env).returncode == 0
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['resumec', 'compile', sys.argv[1], '-q']\n"
        "try:\n    runpy.run_module('resumec', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp' or m.startswith('resumec.live')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(resume)], capture_output=True, text=True,
                          env={**os.environ, **env})
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr


def test_open_uses_browser_and_never_a_console_browser(tmp_path):
    opened = tmp_path / "opened.txt"
    script = tmp_path / "fake-browser"
    script.write_text(f'#!/bin/sh\nprintf %s "$1" > {opened}\n')
    script.chmod(0o755)
    probe = (
        "import sys, time\nfrom resumec.live import open_browser\n"
        "ok = open_browser(sys.argv[1])\nprint(ok, flush=True)\n"
        "deadline = time.monotonic() + 30\n"
        "while ok and time.monotonic() < deadline and not __import__('os').path.exists(sys.argv[2]):\n"
        "    time.sleep(0.05)\n"
    )
    url = "http://127.0.0.1:1/token-token-token-token/"
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    proc = subprocess.run([sys.executable, "-c", probe, url, str(opened)], capture_output=True, text=True,
                          env={**base, "BROWSER": str(script)}, timeout=60)
    assert proc.stdout.strip() == "True", proc.stderr
    assert opened.read_text() == url
    # No display and no $BROWSER: no browser (a console one would take over watch's terminal).
    empty = tmp_path / "empty-path"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-c", probe, url, str(tmp_path / "never")], capture_output=True,
                          text=True, env={**base, "PATH": str(empty)}, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
