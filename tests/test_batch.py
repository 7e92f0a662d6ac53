"""Batch compiles: several inputs over a pool of warm LibreOffices (or the converter service), real tools."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (SAMPLES, alive, children_of, have_soffice, pdftotext, run_cli, soffice_processes,
                      wait_until)
from resumec.convert.warm import find_uno_python
from resumec.settings import Settings

UNO_PYTHON = find_uno_python(shutil.which("soffice"), Settings.from_env()) if have_soffice() else None
pytestmark = [
    pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed"),
    pytest.mark.skipif(UNO_PYTHON is None, reason="no Python with LibreOffice's uno module"),
]



def variants(folder: Path, count: int, start: int = 0) -> list[Path]:
    """Distinct résumés: samples/full.json with another name each."""
    folder.mkdir(parents=True, exist_ok=True)
    base = json.loads((SAMPLES / "full.json").read_text())
    paths = []
    for number in range(start, start + count):
        data = copy.deepcopy(base)
        data["basics"]["name"] = f"Candidate Number{number:02d}"
        path = folder / f"cv{number:02d}.json"
        path.write_text(json.dumps(data, ensure_ascii=False))
        paths.append(path)
    return paths


@pytest.fixture
def private_tmp(tmp_path) -> Path:
    """TMPDIR for the child: its LibreOffice profiles live below it, so /proc shows which are ours."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return tmp


def start_batch(inputs: Path, out: Path, private_tmp: Path, **popen_kwargs) -> subprocess.Popen:
    """`resumec compile INPUTS -o OUT -q --jobs 2` in the background, its LibreOffices below private_tmp."""
    return subprocess.Popen(
        [sys.executable, "-m", "resumec", "compile", str(inputs), "-o", str(out), "-q", "--jobs", "2"],
        env={**os.environ, "TMPDIR": str(private_tmp)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        **popen_kwargs,
    )


def test_one_bad_input_fails_alone(tmp_path, private_tmp):
    inputs = tmp_path / "in"
    good = variants(inputs, 3)
    (inputs / "cv01b.json").write_text('{"basics": {"name": "x" "label": 1}}')  # sorts between good ones
    out = tmp_path / "out"
    proc = run_cli("compile", str(inputs), "-o", str(out), "--json", "--jobs", "2", env={"TMPDIR": str(private_tmp)})
    assert proc.returncode == 1, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["exit_code"] == 1 and not report["ok"]
    names = [Path(r["input"]).name for r in report["results"]]
    assert names == ["cv00.json", "cv01.json", "cv01b.json", "cv02.json"]  # every input, in order
    by_name = dict(zip(names, report["results"]))
    bad = by_name["cv01b.json"]
    assert not bad["ok"] and bad["error"]["type"] == "InputError" and ":1:" in bad["error"]["message"]
    for path in good:
        result = by_name[path.name]
        assert result["ok"] and {o["format"] for o in result["outputs"]} == {"docx", "pdf"}
        assert f"Number{path.stem[2:]}" in pdftotext(out / f"{path.stem}.pdf")
    assert not (out / "cv01b.pdf").exists()
    assert wait_until(lambda: not soffice_processes(str(private_tmp)))
    assert list(private_tmp.iterdir()) == []  # profiles and temp files removed


def test_batch_pdfs_equal_single_oneshot_compiles(tmp_path, private_tmp):
    inputs = variants(tmp_path / "in", 3)
    env = {"TMPDIR": str(private_tmp)}
    proc = run_cli("compile", *map(str, inputs), "-o", str(tmp_path / "batch"), "-q", env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    for path in inputs:  # one at a time, no cache: the one-shot engine
        single = run_cli("compile", str(path), "-o", str(tmp_path / "single") + "/", "-q", "--no-cache", env=env)
        assert single.returncode == 0, single.stderr.decode()
        assert (tmp_path / "batch" / f"{path.stem}.pdf").read_bytes() == (tmp_path / "single" / f"{path.stem}.pdf").read_bytes()


def test_batch_of_cache_hits_starts_no_libreoffice(tmp_path, private_tmp):
    inputs = variants(tmp_path / "in", 3)
    env = {"TMPDIR": str(private_tmp)}
    assert run_cli("compile", *map(str, inputs), "-o", str(tmp_path / "out"), "-q", env=env).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "resumec", "compile", *map(str, inputs), "-o", str(tmp_path / "out"), "--json"],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    seen = []
    while proc.poll() is None:
        seen += soffice_processes(str(private_tmp))
        time.sleep(0.01)
    report = json.loads(proc.stdout.read())
    assert proc.returncode == 0 and not seen
    assert all(o["cached"] for r in report["results"] for o in r["outputs"])


def test_jobs_must_be_positive(tmp_path):
    inputs = variants(tmp_path / "in", 2)
    proc = run_cli("compile", *map(str, inputs), "--jobs", "0")
    assert proc.returncode == 2


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["sigint", "sigterm"])
def test_interrupted_batch_leaves_no_libreoffice(tmp_path, private_tmp, sig, code):
    inputs = tmp_path / "in"
    variants(inputs, 30)
    proc = start_batch(inputs, tmp_path / "out", private_tmp)
    try:
        # Interrupt once conversions are under way (some PDFs written, LibreOffice running).
        assert wait_until(lambda: len(list((tmp_path / "out").glob("*.pdf"))) >= 2, timeout=120)
        assert soffice_processes(str(private_tmp))
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, proc.stderr.read().decode()
    assert wait_until(lambda: not soffice_processes(str(private_tmp)), timeout=5)
    assert len(list((tmp_path / "out").glob("*.pdf"))) < 30
    for pdf in (tmp_path / "out").glob("*.pdf"):  # what was written is whole
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF")


def test_batch_uses_the_converter_service_when_it_runs(tmp_path, private_tmp):
    runtime = Path(tempfile.mkdtemp(prefix="rc-run-"))
    env = {"TMPDIR": str(private_tmp), "RESUMEC_NO_SERVER": "", "RESUMEC_RUNTIME_DIR": str(runtime / "svc")}
    try:
        assert run_cli("server", "start", env=env, timeout=180).returncode == 0
        inputs = variants(tmp_path / "in", 3)
        proc = run_cli("compile", *map(str, inputs), "-o", str(tmp_path / "out"), "-q", env=env)
        assert proc.returncode == 0, proc.stderr.decode()
        status = json.loads(run_cli("server", "status", "--json", env=env).stdout)
        assert status["conversions"] == 3
    finally:
        run_cli("server", "stop", env=env, timeout=60)
        shutil.rmtree(runtime, ignore_errors=True)
    assert wait_until(lambda: not soffice_processes(str(private_tmp)))


def test_warm_abort_fails_the_request_at_once_and_leaves_nothing(tmp_path):
    """WarmConverter.abort() (what Ctrl-C in a batch calls) from another thread, mid-request."""
    import threading

    from resumec.convert import find_soffice
    from resumec.convert.warm import WarmConverter
    from resumec.errors import ConvertError
    from resumec.pipeline import Options, compile

    compile(SAMPLES / "full.json", Options(formats=("docx",), output=tmp_path, use_cache=False))
    docx = (tmp_path / "full.docx").read_bytes()
    warm = WarmConverter(find_soffice(Settings.from_env()), uno_python=UNO_PYTHON, tmp_root=tmp_path)
    warm.convert(docx)
    marker = str(warm.workdir)
    assert soffice_processes(marker)
    timer = threading.Timer(0.02, warm.abort)
    timer.start()
    with pytest.raises(ConvertError, match="closed"):
        for _ in range(50):  # one of these is in flight when abort() lands
            warm.convert(docx)
    timer.join()
    with pytest.raises(ConvertError, match="closed"):
        warm.convert(docx)  # and no new LibreOffice is started
    assert wait_until(lambda: not soffice_processes(marker), timeout=5)
    warm.close()
    assert not Path(marker).exists()


def test_warm_pdfs_do_not_depend_on_what_the_engine_converted_before(tmp_path):
    """LibreOffice numbers the Type 1 fonts it makes from CFF fonts per process; pinning must undo that."""
    from resumec.convert import find_soffice, pin_pdf
    from resumec.convert.warm import WarmConverter
    from resumec.pipeline import Options, compile

    compile(SAMPLES / "full.json", Options(formats=("docx",), output=tmp_path, use_cache=False))
    docx = (tmp_path / "full.docx").read_bytes()
    with WarmConverter(find_soffice(Settings.from_env()), uno_python=UNO_PYTHON, tmp_root=tmp_path) as warm:
        first, second = warm.convert(docx), warm.convert(docx)
    assert pin_pdf(first, 0) == pin_pdf(second, 0)


# -- worker processes ------------------------------------------------------------------------------


def resumec_workers(pid: int) -> list[int]:
    """Children of the batch that are resumec itself (forked workers), not LibreOffice or its bridge."""
    workers = []
    for child in children_of(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resumec" in cmd and b"soffice" not in cmd and b"bridge.py" not in cmd:
            workers.append(child)
    return workers


def test_docx_builds_run_in_worker_processes(tmp_path, private_tmp):
    inputs = tmp_path / "in"
    variants(inputs, 8)
    proc = start_batch(inputs, tmp_path / "out", private_tmp)
    seen: set[int] = set()

    def two_workers() -> bool:
        seen.update(resumec_workers(proc.pid))
        return len(seen) >= 2 or proc.poll() is not None

    try:
        assert wait_until(two_workers, timeout=120)
        assert len(seen) == 2, seen  # --jobs 2: two processes, each with its own Builder and LibreOffice
        assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(list((tmp_path / "out").glob("*.pdf"))) == 8
    assert not any(alive(pid) for pid in seen)  # reaped by the batch, not left behind
    assert wait_until(lambda: not soffice_processes(str(private_tmp)))


def test_a_worker_that_dies_fails_its_input_alone(tmp_path, private_tmp):
    """A fake soffice kills the worker converting one résumé; the others are converted by the real one."""
    real = shutil.which("soffice")
    fake = tmp_path / "soffice"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import os, signal, sys, zipfile\n"
        "docx = sys.argv[-1]\n"
        "if b'Number02' in zipfile.ZipFile(docx).read('word/document.xml'):\n"
        "    os.kill(os.getppid(), signal.SIGKILL)  # the worker that started this conversion\n"
        "    sys.exit(1)\n"
        f"os.execv({real!r}, [{real!r}] + sys.argv[1:])\n"
    )
    fake.chmod(0o755)
    inputs = tmp_path / "in"
    variants(inputs, 5)
    out = tmp_path / "out"
    env = {"TMPDIR": str(private_tmp), "RESUMEC_SOFFICE": str(fake), "RESUMEC_UNO_PYTHON": "/bin/false"}
    proc = run_cli("compile", str(inputs), "-o", str(out), "--json", "--jobs", "2", env=env)
    report = json.loads(proc.stdout)
    names = [Path(r["input"]).name for r in report["results"]]
    assert names == [f"cv{n:02d}.json" for n in range(5)]  # every input, in order
    bad = report["results"][2]
    assert not bad["ok"] and "stopped unexpectedly (killed by SIGKILL)" in bad["error"]["message"]
    assert proc.returncode == bad["exit_code"] == 1
    for number in (0, 1, 3, 4):
        assert report["results"][number]["ok"], report["results"][number]
        assert f"Number{number:02d}" in pdftotext(out / f"cv{number:02d}.pdf")
    assert not (out / "cv02.pdf").exists()
    assert wait_until(lambda: not soffice_processes(str(private_tmp)))
    assert b"Traceback" not in proc.stderr


def test_ctrl_c_on_a_terminal_stops_the_whole_batch(tmp_path, private_tmp):
    """A terminal's Ctrl-C reaches every process of the group: workers leave it to the batch, which stops them."""
    inputs = tmp_path / "in"
    variants(inputs, 30)
    proc = start_batch(inputs, tmp_path / "out", private_tmp, start_new_session=True)
    try:
        assert wait_until(lambda: len(list((tmp_path / "out").glob("*.pdf"))) >= 2, timeout=120)
        workers = resumec_workers(proc.pid)
        assert workers
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = proc.stderr.read().decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not any(alive(pid) for pid in workers)  # the batch waited for its workers before exiting
    assert wait_until(lambda: not soffice_processes(str(private_tmp)), timeout=10)
    assert len(list((tmp_path / "out").glob("*.pdf"))) < 30
    for pdf in (tmp_path / "out").glob("*.pdf"):
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF")


def test_standard_input_is_one_input_of_a_batch(tmp_path, private_tmp):
    inputs = variants(tmp_path / "in", 2)
    data = json.loads((SAMPLES / "full.json").read_text())
    data["basics"]["name"] = "From Stdin"
    out = tmp_path / "out"
    proc = run_cli("compile", str(inputs[0]), "-", str(inputs[1]), "-o", str(out), "--json", "-f", "docx",
                   input=json.dumps(data).encode(), env={"TMPDIR": str(private_tmp)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert [r["input"] for r in json.loads(proc.stdout)["results"]] == [str(inputs[0]), "-", str(inputs[1])]
    import docx

    texts = {path.name: "\n".join(p.text for p in docx.Document(str(path)).paragraphs) for path in out.glob("*.docx")}
    assert any("From Stdin" in text for text in texts.values()), sorted(texts)
