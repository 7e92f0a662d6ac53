"""Live preview in the browser for `resumec watch --serve`.

The watch session owns one LiveServer per watched résumé and reports to it:

    from resumec.live import Build, LiveServer, open_browser

    server = LiveServer(title="resume.json", watched=path, port=None)
    url = server.start()                     # http://127.0.0.1:PORT/TOKEN/
    server.progress("docx", 0, 1)            # any thread, any time during a build
    server.built(Build.from_result(result, seconds))
    server.close()

Importing this package is cheap: aiohttp is imported on the server's own
thread when `start()` runs, so only `--serve` ever loads it.
"""

from __future__ import annotations

from resumec.live.browser import open_browser
from resumec.live.model import Build, Problem
from resumec.live.server import LiveServer, state_file

__all__ = ["Build", "LiveServer", "Problem", "open_browser", "state_file"]
