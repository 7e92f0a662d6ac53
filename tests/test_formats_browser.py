"""The -f html page in real headless Chromium: it shows the résumé, runs nothing and loads nothing.

Every request the browser makes is read from its DevTools network log
(Network.requestWillBeSent): the only one may be the page itself (the photo is
a data: URI, which is no request).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_CHROMIUM = os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM,
                                reason="Debian's chromium and chromium-driver are not installed (make system-deps)")
FULL = json.loads((SAMPLES / "full.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def open_page(driver, path: Path) -> list[str]:
    """Load the page; every URL the browser asked for while loading it."""
    driver.get("about:blank")
    driver.get_log("performance")  # drop what came before
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    requested = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    return requested


def compile_html(tmp_path: Path, source: Path, *args: str) -> Path:
    proc = run_cli("compile", str(source), "-f", "html", "-o", f"{tmp_path}/", "-q", *args)
    assert proc.returncode == 0, proc.stderr.decode()
    return tmp_path / f"{source.stem}.html"


def text_of(driver, selector: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", selector)


@pytest.mark.parametrize("theme", ["classic", "modern", "compact"])
def test_the_page_shows_the_resume_and_loads_nothing(chrome, tmp_path, theme):
    page = compile_html(tmp_path, SAMPLES / "photo.json", "--theme", theme)
    requested = open_page(chrome, page)
    assert [url for url in requested if not url.startswith("data:")] == [page.as_uri()]
    assert chrome.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert text_of(chrome, "h1") == [FULL["basics"]["name"]]
    headings = text_of(chrome, "h2")
    assert headings[:4] == ["Summary", "Experience", "Projects", "Education"] and "References" in headings
    work = [f"{w['position']}, {w['name']}" for w in FULL["work"]]
    assert text_of(chrome, "section.section-work h3 .what") == work
    body = chrome.execute_script("return document.body.innerText")
    assert "Replaced a nightly batch planner" in body and FULL["basics"]["email"] in body
    assert chrome.execute_script("return document.scripts.length") == 0
    # Laid out as a page: the main column is as wide as the paper, the dates sit right of the titles.
    width = chrome.execute_script("return document.querySelector('main').getBoundingClientRect().width")
    assert abs(width - 595.3 * 4 / 3) < 2
    title, date = chrome.execute_script(
        "const h = document.querySelector('section.section-work h3');"
        "return [h.querySelector('.what').getBoundingClientRect().left, "
        "h.querySelector('.when').getBoundingClientRect().right];")
    main_right = chrome.execute_script("return document.querySelector('main').getBoundingClientRect().right")
    assert date > title and main_right - date < 200
    images = chrome.execute_script(
        "return [...document.images].map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width])")
    if theme == "modern":  # the one theme with a [photo] place
        assert len(images) == 1 and images[0][0] and images[0][1] > 0 and images[0][2] > 50
    else:
        assert images == []


def test_hostile_text_runs_nothing_and_loads_nothing(chrome, tmp_path):
    data = {
        "basics": {
            "name": "<script>window.owned = 1</script><img src=https://evil.example/x.png>",
            "label": '"><svg onload="window.owned=2">',
            "image": "https://evil.example/me.png",
            "url": "javascript:window.owned=3",
            "summary": "[x](javascript:window.owned=4) ![img](https://evil.example/y.png) "
                       "<iframe src=https://evil.example/></iframe>",
        },
        "work": [{"name": "<style>body{background:url(https://evil.example/z)}</style>", "position": "P",
                  "startDate": "2020"}],
    }
    source = tmp_path / "evil.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    page = compile_html(tmp_path, source, "--theme", "modern")
    requested = open_page(chrome, page)
    assert [url for url in requested if not url.startswith("data:")] == [page.as_uri()]
    assert chrome.execute_script("return window.owned === undefined")
    assert chrome.execute_script("return document.querySelectorAll('script, img, svg, iframe, style').length") == 1
    assert text_of(chrome, "h1") == [data["basics"]["name"]]
    assert data["basics"]["label"] in chrome.execute_script("return document.body.innerText")
    hrefs = chrome.execute_script("return [...document.links].map(a => a.href)")
    assert not any(h.lower().startswith("javascript:") for h in hrefs)
