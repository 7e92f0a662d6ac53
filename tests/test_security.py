"""Hostile themes and data: nothing reaches outside its lane."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli

ESCAPES = {
    "python internals": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "function globals": "{{ date.__globals__ }}",
    "lipsum globals": "{{ lipsum.__globals__['os'].environ }}",
    "absolute include": "{% include '/etc/passwd' %}",
    "relative include": "{% include '../../../../../../etc/passwd' %}",
    "format string": "{{ '{0.__class__}'.format(title) }}",
}


@pytest.fixture
def evil_theme(tmp_path) -> Path:
    proc = run_cli("theme", "new", "evil", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    (tmp_path / "evil" / "templates").mkdir(exist_ok=True)  # classic's templates are the base theme's
    return tmp_path / "evil"


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_theme_cannot_reach_python_files_or_environment(evil_theme, tmp_path, name):
    (evil_theme / "templates" / "work.xml.j2").write_text(ESCAPES[name] + "\n")
    out = tmp_path / "out"
    proc = run_cli("compile", str(SAMPLES / "full.json"), "--theme", str(evil_theme), "-o", str(out),
                   "--format", "docx", "--no-cache", env={"RESUMEC_SECRET": "s3cr3t"})
    assert proc.returncode == 1, (name, proc.stderr)
    assert b"work.xml.j2" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"root:" not in proc.stderr and b"s3cr3t" not in proc.stderr
    assert not out.exists()


def test_symlinked_template_outside_theme_is_refused(evil_theme, tmp_path):
    target = evil_theme / "templates" / "work.xml.j2"  # an override of the work section
    outside = tmp_path / "outside.xml.j2"
    outside.write_text("<p>leaked</p>")
    target.symlink_to(outside)
    proc = run_cli("compile", str(SAMPLES / "full.json"), "--theme", str(evil_theme), "-o", str(tmp_path / "o"),
                   "--format", "docx", "--no-cache")
    assert proc.returncode == 1, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"work.xml.j2" in proc.stderr and not (tmp_path / "o").exists()


def test_theme_extends_cannot_escape(evil_theme, tmp_path):
    toml = evil_theme / "theme.toml"
    text = toml.read_text()
    toml.write_text(text.replace("[theme]", '[theme]\nextends = "../../../../etc"', 1))
    proc = run_cli("compile", str(SAMPLES / "minimal.json"), "--theme", str(evil_theme), "-o", str(tmp_path / "o"),
                   "--format", "docx", "--no-cache")
    assert proc.returncode == 1, proc.stderr
    assert b"theme.toml" in proc.stderr and b"Traceback" not in proc.stderr


@pytest.mark.parametrize("image", ["../../etc/passwd", "/etc/passwd", "../outside.png"])
def test_photo_path_outside_resume_folder_is_refused(tmp_path, image):
    folder = tmp_path / "cv"
    folder.mkdir()
    shutil.copyfile(Path(__file__).resolve().parents[1] / "samples" / "minimal.json", folder / "r.json")
    (tmp_path / "outside.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    data = json.loads((folder / "r.json").read_text())
    data["basics"]["image"] = image
    (folder / "r.json").write_text(json.dumps(data))
    proc = run_cli("compile", str(folder / "r.json"), "--theme", "modern", "--format", "docx", "--no-cache")
    assert proc.returncode == 1, proc.stderr
    assert b"basics.image" in proc.stderr and b"outside" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert not (folder / "r.docx").exists()


def test_remote_photo_is_never_fetched(tmp_path):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        data = json.loads((SAMPLES / "minimal.json").read_text())
        data["basics"]["image"] = f"http://127.0.0.1:{server.server_port}/me.png"
        data["basics"]["url"] = f"http://127.0.0.1:{server.server_port}/home"
        src = tmp_path / "r.json"
        src.write_text(json.dumps(data))
        for theme in ("classic", "modern"):
            proc = run_cli("compile", str(src), "--theme", theme, "--format", "docx", "--no-cache")
            assert proc.returncode == 0, proc.stderr.decode()
    finally:
        server.shutdown()
    assert hits == []


def test_resume_data_is_never_a_template(tmp_path):
    data = json.loads((SAMPLES / "minimal.json").read_text())
    data["basics"]["name"] = "{{ lipsum.__globals__ }}{% include '/etc/passwd' %}"
    src = tmp_path / "r.json"
    src.write_text(json.dumps(data))
    proc = run_cli("compile", str(src), "--format", "docx", "--no-cache")
    assert proc.returncode == 0, proc.stderr.decode()
    import docx

    text = "\n".join(p.text for p in docx.Document(str(tmp_path / "r.docx")).paragraphs)
    assert "{{ lipsum.__globals__ }}{% include '/etc/passwd' %}" in text
    assert "root:" not in text


def test_cache_and_outputs_are_private_to_the_user(tmp_path):
    """Files are created with the user's umask; the cache never widens permissions."""
    src = tmp_path / "r.json"
    shutil.copy(SAMPLES / "minimal.json", src)
    cache = tmp_path / "cache"
    old = os.umask(0o077)
    try:
        proc = run_cli("compile", str(src), "--format", "docx", "--cache-dir", str(cache))
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / "r.docx").stat().st_mode & 0o077 == 0
    for path in cache.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, path
