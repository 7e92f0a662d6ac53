"""`python -m resumec.live`: a LiveServer driven by JSON lines on stdin, for tests and for working on the page.

It stands in for a watch session in a separate process, so a test can kill
it (SIGKILL, SIGSTOP) and start it again. It prints one JSON line,
{"url", "port", "token", "note"}, then obeys one command per stdin line:

  {"op": "progress", "stage": "pdf", "done": 0, "total": 1}
  {"op": "built", "ok": true, "seconds": 0.8, "cached": false,
   "pages": ["a-1.png", "a-2.png"], "pdf": "a.pdf", "docx": "a.docx"}
  {"op": "built", "ok": false, "problems": ["resume.json:3:5: Expecting ',' delimiter"]}
  {"op": "stats"}                      → prints one JSON line with LiveServer.stats()

It exits 0 at end of input, 143 on SIGTERM, after closing the server.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from resumec.errors import ResumecError
from resumec.live.model import Build, Problem
from resumec.live.server import GIVE_UP, HEARTBEAT, LiveServer


def _build(command: dict[str, Any]) -> Build:
    path = lambda value: Path(value) if value else None  # noqa: E731
    return Build(
        ok=bool(command.get("ok", True)),
        seconds=float(command.get("seconds", 0.0)),
        cached=command.get("cached"),
        pages=[Path(p) for p in command.get("pages", [])],
        pdf=path(command.get("pdf")),
        docx=path(command.get("docx")),
        problems=[Problem.from_text(text) for text in command.get("problems", [])],
        warnings=list(command.get("warnings", [])),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resumec.live", description=__doc__.splitlines()[0])
    parser.add_argument("--title", default="resume.json")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--token", default=None)
    parser.add_argument("--watched", default=None, help="remember the address for this file (reconnects)")
    parser.add_argument("--heartbeat", type=float, default=HEARTBEAT)
    parser.add_argument("--give-up", type=float, default=GIVE_UP)
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    server = LiveServer(
        args.title, port=args.port, token=args.token, watched=args.watched,
        heartbeat=args.heartbeat, give_up=args.give_up,
    )
    try:
        url = server.start()
    except ResumecError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return exc.exit_code
    try:
        print(json.dumps({"url": url, "port": server.port, "token": server.token, "note": server.note}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            op = command.get("op")
            if op == "progress":
                server.progress(command["stage"], command.get("done", 0), command.get("total", 1))
            elif op == "built":
                server.built(_build(command))
            elif op == "stats":
                print(json.dumps(server.stats()), flush=True)
            else:
                print(json.dumps({"error": f"unknown op {op!r}"}), flush=True)
        return 0
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
