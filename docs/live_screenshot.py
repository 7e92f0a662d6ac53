"""Regenerate docs/images/live-preview.png and live-preview-error.png: the preview page in headless Chromium.

    .venv/bin/python docs/live_screenshot.py

Compiles samples/full.json (PNG pages, PDF, DOCX) into a temporary folder,
serves it with a LiveServer, and photographs the page as a user sees it: a
finished build, then an invalid edit shown in place over the last good pages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resumec import load, validate  # noqa: E402
from resumec.errors import InputError  # noqa: E402
from resumec.live import Build, LiveServer  # noqa: E402

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,860",
)


def wait(driver, condition: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"try {{ return !!({condition}); }} catch (e) {{ return false; }}"):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {condition}")
        time.sleep(0.05)


def main() -> None:
    images = ROOT / "docs" / "images"
    with tempfile.TemporaryDirectory(prefix="resumec-shot-") as tmp:
        out = Path(tmp) / "out"
        subprocess.run(
            [sys.executable, "-m", "resumec", "compile", str(ROOT / "samples" / "full.json"), "-o", f"{out}/",
             "-f", "docx,pdf,png", "--no-cache"],
            check=True, cwd=ROOT,
        )
        pages = sorted(out.glob("full-*.png"), key=lambda p: int(p.stem.rpartition("-")[2]))
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={Path(tmp) / 'profile'}")
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        try:
            with LiveServer("resume.json") as server:
                server.built(Build(ok=True, seconds=0.16, cached=False, pages=pages,
                                   pdf=out / "full.pdf", docx=out / "full.docx"))
                driver.get(server.url)
                wait(driver, "window.resumecLive.shown && document.querySelector('#pages img').complete")
                driver.save_screenshot(str(images / "live-preview.png"))

                # Mid-edit: a wrong type and an impossible date, shown in place over the last good pages.
                data = (ROOT / "samples" / "full.json").read_text("utf-8")
                broken = Path(tmp) / "resume.json"
                broken.write_text(
                    data.replace('"startDate": "2021-03"', '"startDate": "2021-13"', 1)
                    .replace('"highlights": [\n', '"highlights": [\n        42,\n', 1),
                    "utf-8",
                )
                os.chdir(tmp)  # so the messages say resume.json, as when you watch ./resume.json
                try:
                    validate.check(load.load("resume.json"))
                    raise SystemExit("the edited sample unexpectedly validated")
                except InputError as exc:
                    server.built(Build.failed(exc, seconds=0.004))
                finally:
                    os.chdir(ROOT)
                wait(driver, "!document.getElementById('problems').hidden")
                driver.save_screenshot(str(images / "live-preview-error.png"))
        finally:
            driver.quit()
    print("wrote", images / "live-preview.png", "and", images / "live-preview-error.png")


if __name__ == "__main__":
    main()
