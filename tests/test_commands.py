"""Getting-started commands: themes, theme new, init, doctor."""

from __future__ import annotations

import json

from conftest import pdftotext, run_cli


def test_themes_lists_name_then_description():
    proc = run_cli("themes")
    assert proc.returncode == 0
    lines = proc.stdout.decode().strip().splitlines()
    assert lines, "no themes listed"
    names = [line.split()[0] for line in lines]
    assert "classic" in names
    assert all(len(line.split(None, 1)) == 2 for line in lines), lines  # every theme has a description


def test_theme_new_copies_a_working_theme(tmp_path, samples):
    proc = run_cli("theme", "new", "mine", "--from", "classic", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / "mine" / "theme.toml").is_file()
    again = run_cli("theme", "new", "mine", cwd=tmp_path)
    assert again.returncode == 4 and b"already exists" in again.stderr
    unknown = run_cli("theme", "new", "other", "--from", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and b"classic" in unknown.stderr
    # Edit the copy: the change shows up in the document.
    toml = tmp_path / "mine" / "theme.toml"
    text = toml.read_text()
    assert 'work = "Experience"' in text
    toml.write_text(text.replace('work = "Experience"', 'work = "Where I Worked"', 1))
    out = tmp_path / "out"
    built = run_cli("compile", str(samples / "minimal.json"), "--theme", str(tmp_path / "mine"), "-o", str(out),
                    "--format", "pdf", "--no-cache")
    assert built.returncode == 0, built.stderr.decode()
    assert "Where I Worked" in pdftotext(out / "minimal.pdf")


def test_init_writes_a_starter_that_validates_and_compiles(tmp_path):
    proc = run_cli("init", "cv.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads((tmp_path / "cv.json").read_text())
    sections = ("work", "volunteer", "education", "awards", "certificates", "publications", "skills",
                "languages", "interests", "references", "projects")
    assert all(data.get(key) for key in sections)
    assert run_cli("init", "cv.json", cwd=tmp_path).returncode == 4
    assert run_cli("validate", "cv.json", cwd=tmp_path).returncode == 0
    built = run_cli("compile", "cv.json", "--no-cache", cwd=tmp_path)
    assert built.returncode == 0, built.stderr.decode()
    text = pdftotext(tmp_path / "cv.pdf")
    assert "Your Name" in text and "Company Name" in text and "Referee Name" in text


def test_doctor_reports_and_suggests_fixes():
    ok = run_cli("doctor", "--json")
    report = json.loads(ok.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"LibreOffice", "UNO Python", "Fonts", "pdftoppm", "Cache"} <= names
    office = next(c for c in report["checks"] if c["name"] == "LibreOffice")
    assert office["ok"] and "LibreOffice 7" in office["detail"]
    assert ok.returncode == (0 if report["ok"] else 1)

    missing = run_cli("doctor", env={"RESUMEC_SOFFICE": "/nonexistent/soffice"})
    assert missing.returncode == 1
    out = missing.stdout.decode()
    assert "MISSING" in out and "LibreOffice" in out
    assert "apt-get install -y libreoffice-writer-nogui" in out
