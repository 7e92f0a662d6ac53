#!/usr/bin/env python3
"""The input limits hold: the build is linear, and the largest valid résumé converts well inside 120 s.

  linear:  build_docx (no LibreOffice) for 10 / 100 / 1000 work entries with 4 highlights each;
           goal: time per entry at 1000 within 2x of the time per entry at 100 (quadratic would be 10x)
  largest: the largest valid résumé (every limit at its maximum) compiled end to end with one-shot
           LibreOffice, in several scripts: Latin, Arabic and Latin mixed (the slowest layout found),
           emoji, line breaks; goal: each well inside the default 120 s conversion timeout (<= 60 s)

Run: .venv/bin/python benchmarks/bench_limits.py [--only linear,largest] [--scripts latin,mixed,emoji,lines]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resumec.validate import MAX_ITEMS, MAX_RENDERED, MAX_STRING, MAX_TEXT, validate  # noqa: E402

WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore".split()
UNITS = {
    "latin": None,
    "mixed": "ab مر ",  # alternating directions: the costliest layout per character measured
    "emoji": "👩‍💻🚀 ",
    "lines": "line\n",  # line breaks count as rendered items
}


def text(n: int, seed: int, script: str = "latin") -> str:
    """n characters of words (or the script's repeating unit)."""
    unit = UNITS[script]
    if unit is not None:
        return (unit * (n // len(unit) + 1))[:n]
    out: list[str] = []
    i = seed
    while sum(len(w) + 1 for w in out) < n:
        out.append(WORDS[i % len(WORDS)])
        i += 7
    return " ".join(out)[:n]


# Two fields per entry that the built-in themes print on separate lines where they can.
FIELDS = {"work": ("position", "location"), "volunteer": ("position", "organization"),
          "projects": ("name", "description"), "publications": ("name", "publisher"), "awards": ("title", "awarder")}


def largest(script: str = "latin") -> dict:
    """A valid résumé at the limits: MAX_RENDERED items, ~MAX_TEXT characters, fields of MAX_STRING.

    Entries fill five sections (three or four paragraphs each); the rest of the text budget goes
    into summaries of MAX_STRING characters, the longest paragraphs allowed (LibreOffice's cost per
    character grows with the paragraph length). "lines" trades entries for line breaks.
    """
    lines = script == "lines"
    sections = ["work"] if lines else ["work", "volunteer", "projects", "publications", "awards"]
    per_section = MAX_ITEMS if lines else MAX_RENDERED // len(sections)
    data: dict = {"basics": {"name": "Largest Valid", "label": "Résumé at every limit"}}
    for key in sections:
        first, second = FIELDS[key]
        date = {"publications": "releaseDate", "awards": "date"}.get(key, "startDate")
        data[key] = [{first: text(12, i), second: text(12, i + 1), date: "2020-01"} for i in range(per_section)]
    breaks_left = MAX_RENDERED - per_section * len(sections)
    for i in range((MAX_TEXT - _text_chars(data)) // MAX_STRING):
        if lines:
            keep = min(breaks_left, MAX_STRING // 5)
            breaks_left -= keep
            summary = ("line\n" * keep + text(MAX_STRING, i))[:MAX_STRING]
        else:
            summary = text(MAX_STRING, i, script)
        data["work"][i]["summary"] = summary
    rest = MAX_TEXT - _text_chars(data)  # the last few characters, in one more paragraph
    if rest > 0:
        data["work"][-1]["summary"] = text(rest, 0, "latin" if lines else script)
    return data


def _text_chars(data: dict) -> int:
    total = 0
    for value in data.values():
        if isinstance(value, list):
            for entry in value:
                total += sum(len(v) for v in entry.values() if isinstance(v, str))
        elif isinstance(value, dict):
            total += sum(len(v) for v in value.values() if isinstance(v, str))
    return total


def bench_linear() -> bool:
    from resumec.docx import build_docx
    from resumec.docx.builder import Builder
    from resumec.theme import load_theme

    theme = load_theme("classic")
    builder = Builder()  # what a batch worker or watch session keeps: templates compiled, theme styled once
    per_entry = {}
    for n in (10, 100, 1000):
        data = {"basics": {"name": "N"}, "work": [
            {"name": text(30, i), "position": "P", "startDate": "2020", "summary": text(200, i),
             "highlights": [text(80, i + k) for k in range(4)]} for i in range(n)]}
        build_docx(data, theme, [("work", "Experience")], builder=builder)  # warm-up: imports, templates, styles
        start = time.perf_counter()
        build_docx(data, theme, [("work", "Experience")], builder=builder)
        elapsed = time.perf_counter() - start
        per_entry[n] = elapsed / n
        print(f"linear   {n:5d} entries ({5 * n + 1:5d} paragraphs): {elapsed:7.3f} s, {1e3 * per_entry[n]:.3f} ms/entry")
    ratio = per_entry[1000] / per_entry[100]
    ok = ratio <= 2.0
    print(f"linear   ms/entry at 1000 vs 100: {ratio:.2f}x (goal <= 2x) {'OK' if ok else 'FAIL'}")
    return ok


def bench_largest(scripts: list[str]) -> bool:
    ok = True
    exe = Path(sys.executable).with_name("resumec")
    for script in scripts:
        data = largest(script)
        problems = validate(data)
        assert not problems, problems[:3]
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / f"largest-{script}.json"
            src.write_text(json.dumps(data, ensure_ascii=False))
            env = dict(os.environ, RESUMEC_NO_SERVER="1", RESUMEC_CACHE_DIR=str(Path(tmp) / "cache"))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run([str(exe), "compile", str(src), "-o", f"{tmp}/out/", "--no-cache", "-q"],
                                  env=env, capture_output=True)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            pdf = Path(tmp) / "out" / src.with_suffix(".pdf").name
            pages = "?"
            if pdf.exists():
                info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
                pages = next((ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")), "?")
            good = proc.returncode == 0 and elapsed <= 60
            ok &= good
            print(f"largest  {script:6s}: exit {proc.returncode}, {elapsed:6.1f} s, {pages} pages, "
                  f"CPU {after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime:6.1f} s, "
                  f"peak RSS {after.ru_maxrss / 1024:5.0f} MB (goal <= 60 s) {'OK' if good else 'FAIL'}")
            if proc.returncode:
                print(proc.stderr.decode()[-2000:])
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="linear,largest")
    parser.add_argument("--scripts", default="latin,mixed,emoji,lines")
    args = parser.parse_args()
    only = args.only.split(",")
    ok = True
    if "linear" in only:
        ok &= bench_linear()
    if "largest" in only:
        ok &= bench_largest(args.scripts.split(","))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
