#!/usr/bin/env python3
"""Measure resumec against baselines taken in the same run, on the same machine.

Shared machines are noisy, so goals are ratios, never absolute times:

  cache-hit compile  <= 2x  `python -c "import typer"`   (same interpreter)
  uncached compile   >= 8x  slower than a cache hit

Run: .venv/bin/python benchmarks/bench.py [--runs N] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "full.json"


def resumec_cmd() -> list[str]:
    script = Path(sys.executable).with_name("resumec")
    return [str(script)] if script.exists() else [sys.executable, "-m", "resumec"]


def timed(cmd: list[str], env: dict[str, str] | None = None, runs: int = 7, check: bool = True) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
        if check and proc.returncode != 0:
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()}")
    return times


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the medians as JSON too")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="resumec-bench-"))
    env = dict(os.environ, RESUMEC_CACHE_DIR=str(work / "cache"), RESUMEC_NO_SERVER="1")
    out = work / "out"
    rows: dict[str, float] = {}
    try:
        rows["python -c 'import typer'"] = statistics.median(timed([sys.executable, "-c", "import typer"], runs=args.runs))

        compile_cmd = resumec_cmd() + ["compile", str(SAMPLE), "-o", str(out) + "/", "-q"]
        subprocess.run(compile_cmd, env=env, check=True, capture_output=True)  # fill the cache
        rows["resumec compile (cache hit)"] = statistics.median(timed(compile_cmd, env, args.runs))
        rows["resumec compile --no-cache"] = statistics.median(timed(compile_cmd + ["--no-cache"], env, args.runs))

        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice:
            profile = work / "profile"
            bare = [soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
                    "--convert-to", "pdf", "--outdir", str(work / "bare"), str(out / "full.docx")]
            subprocess.run(bare, capture_output=True)  # create the profile once
            rows["bare soffice --convert-to pdf"] = statistics.median(timed(bare, runs=args.runs, check=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    width = max(len(k) for k in rows)
    print(f"median of {args.runs} runs, {os.cpu_count()} CPUs, {sys.version.split()[0]}")
    for name, value in rows.items():
        print(f"  {name:<{width}}  {fmt(value)}")
    typer_t = rows["python -c 'import typer'"]
    hit = rows["resumec compile (cache hit)"]
    cold = rows["resumec compile --no-cache"]
    print("ratios:")
    print(f"  cache hit / import typer      {hit / typer_t:5.2f}x   (goal <= 2)")
    print(f"  uncached / cache hit          {cold / hit:5.1f}x   (goal >= 8)")
    if "bare soffice --convert-to pdf" in rows:
        print(f"  uncached / bare soffice       {cold / rows['bare soffice --convert-to pdf']:5.2f}x")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
