#!/usr/bin/env python3
"""Render the built-in themes at two git revisions and compare the pages pixel by pixel.

    scripts/compare_themes.py REV_A REV_B [--themes classic,modern,compact]
        [--samples full,photo] [--papers a4,letter] [--langs en,de] [--dpi 150]

A revision is anything `git rev-parse` understands; `WORKTREE` means this
checkout as it is on disk, uncommitted changes included. Each revision other
than WORKTREE is checked out with `git worktree add` into a temporary folder
outside the repository, and removed afterwards. Both revisions compile the same
input files (this checkout's samples/) with this Python, each importing its own
`resumec` (PYTHONPATH), to PDF with the real LibreOffice (no cache, no
converter service); poppler's pdftoppm rasterizes every page to raw PPM, and
the pixels are compared byte for byte.

Prints one line per build, the totals (pages compared, identical) and the
template line counts of both revisions. Exit status: 0 when every page is
identical, 1 when any page differs or the page counts differ, 2 on a usage or
build error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKTREE = "WORKTREE"


@dataclass(frozen=True)
class Case:
    theme: str
    paper: str
    lang: str

    @property
    def name(self) -> str:
        return f"{self.theme}-{self.paper}-{self.lang}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev_a")
    parser.add_argument("rev_b")
    parser.add_argument("--themes", default="classic,modern,compact")
    parser.add_argument("--samples", default="full,photo")
    parser.add_argument("--papers", default="a4,letter")
    parser.add_argument("--langs", default="en,de", help="'en' builds without --lang (the theme's own language)")
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args(argv)
    for tool in ("git", "pdftoppm", "soffice"):
        if shutil.which(tool) is None:
            print(f"compare_themes: {tool} is not installed", file=sys.stderr)
            return 2
    cases = [Case(t, p, lang) for t in _split(args.themes) for p in _split(args.papers) for lang in _split(args.langs)]
    samples = _split(args.samples)

    with tempfile.TemporaryDirectory(prefix="resumec-compare-") as tmp_name:
        tmp = Path(tmp_name)
        inputs = tmp / "in"
        shutil.copytree(REPO / "samples", inputs)
        sources = [inputs / f"{name}.json" for name in samples]
        try:
            with _checkout(args.rev_a, tmp / "a") as root_a, _checkout(args.rev_b, tmp / "b") as root_b:
                counts = {args.rev_a: _template_lines(root_a), args.rev_b: _template_lines(root_b)}
                total = identical = 0
                mismatched: list[str] = []
                for case in cases:
                    pdfs_a = _build(root_a, case, sources, tmp / "out-a" / case.name)
                    pdfs_b = _build(root_b, case, sources, tmp / "out-b" / case.name)
                    for source in sources:
                        pages_a = _pages(pdfs_a[source.stem], args.dpi)
                        pages_b = _pages(pdfs_b[source.stem], args.dpi)
                        label = f"{case.name}/{source.stem}"
                        same = sum(1 for a, b in zip(pages_a, pages_b) if a == b)
                        total += max(len(pages_a), len(pages_b))
                        identical += same
                        note = ""
                        if len(pages_a) != len(pages_b):
                            note = f"  PAGE COUNT {len(pages_a)} vs {len(pages_b)}"
                        for number, (a, b) in enumerate(zip(pages_a, pages_b), 1):
                            if a != b:
                                note += f"  page {number}: {_differing_pixels(a, b)} pixels differ"
                        if note:
                            mismatched.append(label)
                        print(f"{label:<32} {same}/{max(len(pages_a), len(pages_b))} pages identical{note}")
        except BuildError as exc:
            print(f"compare_themes: {exc}", file=sys.stderr)
            return 2

    print()
    print(f"pages compared: {total}, identical: {identical}, differing builds: {len(mismatched)}")
    for rev, (files, lines) in counts.items():
        print(f"templates at {rev}: {files} files, {lines} lines")
    return 0 if identical == total else 1


class BuildError(Exception):
    pass


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@contextmanager
def _checkout(rev: str, folder: Path) -> Iterator[Path]:
    """The repository at `rev` in `folder` (a detached git worktree), removed on exit."""
    if rev == WORKTREE:
        yield REPO
        return
    proc = subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), rev],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"git worktree add {rev}: {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder)], capture_output=True)


def _build(root: Path, case: Case, sources: list[Path], out: Path) -> dict[str, Path]:
    """Compile the sources with the resumec at `root`; {sample stem: PDF}."""
    command = [sys.executable, "-m", "resumec", "compile", *map(str, sources), "-o", f"{out}/", "-f", "pdf",
               "--theme", case.theme, "--paper", case.paper, "--no-cache", "--no-server", "--jobs", "1", "-q"]
    if case.lang != "en":
        command += ["--lang", case.lang]
    env = {**os.environ, "PYTHONPATH": str(root), "RESUMEC_NO_SERVER": "1"}
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise BuildError(f"{root}: {' '.join(command[1:])}: exit {proc.returncode}: {proc.stderr.strip()}")
    return {source.stem: out / f"{source.stem}.pdf" for source in sources}


def _pages(pdf: Path, dpi: int) -> list[bytes]:
    """Every page as raw PPM bytes (header + RGB pixels)."""
    with tempfile.TemporaryDirectory(prefix="resumec-ppm-") as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), str(pdf), f"{tmp}/page"], check=True, capture_output=True)
        files = sorted(Path(tmp).glob("page-*.ppm"), key=lambda p: int(p.stem.rpartition("-")[2]))
        return [f.read_bytes() for f in files]


def _differing_pixels(a: bytes, b: bytes) -> int | str:
    """How many pixels differ between two PPMs of the same size."""
    header_a, pixels_a = _split_ppm(a)
    header_b, pixels_b = _split_ppm(b)
    if header_a != header_b:
        return f"all (size {header_a} vs {header_b})"
    return sum(1 for i in range(0, len(pixels_a), 3) if pixels_a[i : i + 3] != pixels_b[i : i + 3])


def _split_ppm(data: bytes) -> tuple[bytes, bytes]:
    """P6 header (magic, width, height, maxval: four whitespace-separated fields) and pixel bytes."""
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos : pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    return b" ".join(fields), data[pos + 1 :]


def _template_lines(root: Path) -> tuple[int, int]:
    """(files, lines) of the built-in themes' templates at this revision."""
    files = sorted((root / "resumec" / "themes").glob("*/templates/*.xml.j2"))
    return len(files), sum(len(f.read_text("utf-8").splitlines()) for f in files)


if __name__ == "__main__":
    sys.exit(main())
