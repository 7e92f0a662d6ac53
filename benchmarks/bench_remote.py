#!/usr/bin/env python3
"""The remote cache tier: a fresh CI runner with a warm remote, against a local cache hit.

Goal (a ratio, measured in the same run on the same machine):

  empty local cache + warm remote  <=  2x  a local cache hit     (samples/full.json, DOCX + PDF)

Both are timed in-process with imports warm, so the ratio is the cost of the
lookups, downloads, verification and local stores themselves, not of
interpreter start-up (which would hide it). The servers are the tests' own:
redis-server and nginx WebDAV on loopback, started and stopped here.

Run: .venv/bin/python benchmarks/bench_remote.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the servers and the pipeline seam the tests use

from remote_servers import start_nginx, start_redis  # noqa: E402

from resumec.pipeline import Options, compile  # noqa: E402
from resumec.remote import open_remote  # noqa: E402

SAMPLE = ROOT / "samples" / "full.json"
GOAL = 2.0


def timed(fn, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="resumec-bench-remote-"))
    out = work / "out"
    rows: dict[str, float] = {}
    servers = []
    try:
        local = work / "local"
        compile(SAMPLE, Options(cache_dir=local, output=out))  # fill the local cache (real LibreOffice)

        def local_hit(_: int) -> None:
            result = compile(SAMPLE, Options(cache_dir=local, output=out))
            assert all(o.cached for o in result.outputs)

        local_hit(0)
        rows["local cache hit"] = statistics.median(timed(local_hit, args.runs))

        for name, start in (("nginx WebDAV", start_nginx), ("redis", start_redis)):
            server = start(work / name.split()[0])
            servers.append(server)
            remote = open_remote(server.url)
            compile(SAMPLE, Options(cache_dir=work / f"{name}-filler", output=out), remote=remote)  # uploads

            def remote_hit(i: int, name=name, remote=remote) -> None:
                fresh = work / f"{name}-runner-{i}-{time.perf_counter_ns()}"  # an empty local cache each time
                result = compile(SAMPLE, Options(cache_dir=fresh, output=out), remote=remote)
                assert all(o.cached == "remote" for o in result.outputs) and not result.warnings, result.warnings

            remote_hit(0)
            rows[f"empty local, warm {name}"] = statistics.median(timed(remote_hit, args.runs))
            remote.close()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    base = rows["local cache hit"]
    width = max(len(k) for k in rows)
    print(f"median of {args.runs} runs, in-process, samples/full.json (DOCX + PDF)")
    ok = True
    for name, value in rows.items():
        ratio = value / base
        verdict = "" if name == "local cache hit" else ("  ok" if ratio <= GOAL else f"  OVER the {GOAL:g}x goal")
        ok = ok and (name == "local cache hit" or ratio <= GOAL)
        print(f"  {name:<{width}}  {value * 1000:8.1f} ms  {ratio:5.2f}x{verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
