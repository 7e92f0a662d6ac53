#!/usr/bin/env python3
"""Measure the warm converter paths against one-shot LibreOffice, taken in the same run.

  watch:   save -> new PDF on disk, median over --saves saves     goal <= 250 ms
  service: uncached compile with `resumec server` running          goal <= 0.5x one-shot, <= 0.3 s
  batch:   50 distinct résumés in one `resumec compile DIR`        goal >= 8x faster than a
           one-shot loop (`compile --no-cache --no-server` per file; timed over --loop files
           and extrapolated to 50)

Every child runs with a private cache and runtime dir, and without
PYTHONDONTWRITEBYTECODE (it would make every start-up recompile the bytecode).

Run: .venv/bin/python benchmarks/bench_warm.py [--runs N] [--saves N] [--loop N] [--only watch,service,batch]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "full.json"
BATCH = 50


def resumec_cmd() -> list[str]:
    script = Path(sys.executable).with_name("resumec")
    return [str(script)] if script.exists() else [sys.executable, "-m", "resumec"]


def child_env(work: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("FORCE_COLOR", None)
    env.update(
        RESUMEC_CACHE_DIR=str(work / "cache"),
        RESUMEC_RUNTIME_DIR=str(work / "run"),
        RESUMEC_NO_SERVER="1",
    )
    env.update(extra)
    return env


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()}")
    return elapsed


def variants(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    base = json.loads(SAMPLE.read_text())
    paths = []
    for number in range(count):
        data = copy.deepcopy(base)
        data["basics"]["name"] = f"Candidate {number:03d}"
        data["basics"]["summary"] = f"Variant {number}. " + str(data["basics"].get("summary", ""))
        path = folder / f"cv{number:03d}.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2))
        paths.append(path)
    return paths


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


# -- watch -----------------------------------------------------------------------------


def bench_watch(work: Path, saves: int) -> dict[str, float]:
    folder = work / "watch"
    cv = variants(folder, 1)[0]
    pdf = cv.with_suffix(".pdf")
    proc = subprocess.Popen(
        resumec_cmd() + ["watch", str(cv), "--json"],
        env=child_env(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    records: list[dict] = []
    arrived = threading.Condition()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            with arrived:
                records.append(json.loads(line))
                arrived.notify_all()

    threading.Thread(target=pump, daemon=True).start()

    def wait_records(count: int) -> None:
        with arrived:
            if not arrived.wait_for(lambda: len(records) >= count, timeout=120):
                raise SystemExit("watch: no build reported within 120 s")

    latencies = []
    try:
        wait_records(1)
        data = json.loads(cv.read_text())
        for number in range(saves):
            time.sleep(0.3)  # separate saves, as a person would
            before = os.stat(pdf)
            data["basics"]["summary"] = f"Save number {number}: " + "x" * number
            text = json.dumps(data, ensure_ascii=False, indent=2)
            start = time.perf_counter()
            cv.write_text(text)
            while True:
                now = os.stat(pdf)
                if (now.st_ino, now.st_mtime_ns, now.st_size) != (before.st_ino, before.st_mtime_ns, before.st_size):
                    break
                if time.perf_counter() - start > 30:
                    raise SystemExit("watch: the PDF did not change within 30 s")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - start)
            wait_records(number + 2)
            if not records[-1]["ok"]:
                raise SystemExit(f"watch: build failed: {records[-1]['error']}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"median": statistics.median(latencies), "min": min(latencies), "max": max(latencies)}


# -- service -----------------------------------------------------------------------------


def bench_service(work: Path, runs: int) -> dict[str, float]:
    out = work / "service-out"
    compile_cmd = resumec_cmd() + ["compile", str(SAMPLE), "-o", str(out) + "/", "-q"]
    served_env = child_env(work, RESUMEC_NO_SERVER="")
    start = subprocess.run(resumec_cmd() + ["server", "start"], env=served_env, capture_output=True)
    if start.returncode != 0:
        raise SystemExit(f"server start failed: {start.stderr.decode()}")
    oneshot, served = [], []
    try:
        for number in range(runs):  # interleaved, each with an empty cache: every run converts
            oneshot.append(run(compile_cmd, child_env(work, RESUMEC_CACHE_DIR=str(work / f"c-one-{number}"))))
            served.append(run(compile_cmd, {**served_env, "RESUMEC_CACHE_DIR": str(work / f"c-srv-{number}")}))
        status = json.loads(
            subprocess.run(resumec_cmd() + ["server", "status", "--json"], env=served_env, capture_output=True).stdout
        )
    finally:
        subprocess.run(resumec_cmd() + ["server", "stop"], env=served_env, capture_output=True)
    if status.get("conversions") != runs:
        raise SystemExit(f"the service converted {status.get('conversions')} documents, expected {runs}")
    return {"oneshot": statistics.median(oneshot), "service": statistics.median(served)}


# -- batch -------------------------------------------------------------------------------


def bench_batch(work: Path, loop: int) -> dict[str, float]:
    inputs = work / "batch-in"
    files = variants(inputs, BATCH)
    batch = run(resumec_cmd() + ["compile", str(inputs), "-o", str(work / "batch-out"), "-q"],
                child_env(work, RESUMEC_CACHE_DIR=str(work / "c-batch")))
    produced = len(list((work / "batch-out").glob("*.pdf")))
    if produced != BATCH:
        raise SystemExit(f"batch wrote {produced} PDFs, expected {BATCH}")
    env = child_env(work, RESUMEC_CACHE_DIR=str(work / "c-loop"))
    started = time.perf_counter()
    for path in files[:loop]:
        run(resumec_cmd() + ["compile", str(path), "-o", str(work / "loop-out") + "/", "-q", "--no-cache", "--no-server"], env)
    per_file = (time.perf_counter() - started) / loop
    return {"batch": batch, "loop_per_file": per_file, "loop_50": per_file * BATCH}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="uncached compiles per engine (service section)")
    parser.add_argument("--saves", type=int, default=10, help="saves timed in the watch section")
    parser.add_argument("--loop", type=int, default=8, help="files timed in the one-shot loop (batch section)")
    parser.add_argument("--only", default="watch,service,batch")
    args = parser.parse_args()
    wanted = {part.strip() for part in args.only.split(",")}
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        raise SystemExit("LibreOffice is not installed")
    work = Path(tempfile.mkdtemp(prefix="resumec-bench-warm-"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average {load:.2f} at start")
    try:
        if "watch" in wanted:
            watch = bench_watch(work, args.saves)
            print(f"watch: save -> new PDF over {args.saves} saves (samples/full.json, docx+pdf)")
            print(f"  median {ms(watch['median'])}   min {ms(watch['min'])}   max {ms(watch['max'])}"
                  f"   goal <= 250 ms: {'ok' if watch['median'] <= 0.25 else 'MISSED'}")
        if "service" in wanted:
            service = bench_service(work, args.runs)
            ratio = service["service"] / service["oneshot"]
            print(f"service: uncached `resumec compile samples/full.json`, whole process, median of {args.runs}")
            print(f"  one-shot            {ms(service['oneshot'])}")
            print(f"  with server running {ms(service['service'])}   ratio {ratio:.2f}x"
                  f"   goal <= 0.5x: {'ok' if ratio <= 0.5 else 'MISSED'}"
                  f", <= 300 ms: {'ok' if service['service'] <= 0.3 else 'MISSED'}")
        if "batch" in wanted:
            batch = bench_batch(work, args.loop)
            speedup = batch["loop_50"] / batch["batch"]
            print(f"batch: {BATCH} distinct résumés, `resumec compile DIR` (--jobs {os.cpu_count()}, no service)")
            print(f"  batch                              {batch['batch']:7.2f} s")
            print(f"  one-shot loop, {args.loop} files timed        {batch['loop_per_file']:7.2f} s per file"
                  f" -> {batch['loop_50']:.1f} s for {BATCH} (extrapolated)")
            print(f"  speed-up {speedup:.1f}x   goal >= 8x: {'ok' if speedup >= 8 else 'MISSED'}")
    finally:
        subprocess.run(resumec_cmd() + ["server", "stop"], env=child_env(work), capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
