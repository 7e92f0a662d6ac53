"""LibreOffice profiles are seeded so that a start skips first-start work, with the real LibreOffice.

Headless LibreOffice never records its version in a profile, so every start ran VCL's graphics render
tests (~1 s of CPU) and a new profile made LibreOffice restart itself. A seeded profile does neither, and
the PDFs it makes are the same bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SAMPLES, have_soffice
from resumec.convert import pin_pdf, profile_seed
from resumec.convert.libreoffice import Seed, seed_profile
from resumec.convert.oneshot import convert_oneshot, convert_target
from resumec.convert.warm import WarmConverter, find_uno_python
from resumec.settings import Settings

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice") or "soffice"
needs_soffice = pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")
RENDER_LOG = Path("user") / "GraphicsRenderTests.log"  # written by each run of the render tests
REGISTRY = Path("user") / "registrymodifications.xcu"

# What LibreOffice leaves in a profile's registry after a headless run: no ooSetupLastVersion.
OLD_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value>\
</prop></item>
</oor:items>
"""


def docx_bytes(tmp_path: Path) -> bytes:
    from resumec.pipeline import Options, compile

    result = compile(SAMPLES / "full.json", Options(formats=("docx",), output=tmp_path / "docx", use_cache=False))
    assert result.ok, result.error
    return (tmp_path / "docx" / "full.docx").read_bytes()


def bare_soffice(docx: bytes, folder: Path) -> tuple[bytes, Path]:
    """`soffice --convert-to` with our export options, as LibreOffice runs it by default: a new, unseeded profile."""
    folder.mkdir()
    (folder / "in.docx").write_bytes(docx)
    profile = folder / "profile"
    subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                    "--infilter=MS Word 2007 XML", "--convert-to", convert_target(pdfa=False), "--outdir", str(folder),
                    str(folder / "in.docx")], capture_output=True, timeout=120, env=dict(os.environ, TZ="UTC"))
    return (folder / "in.pdf").read_bytes(), profile


def test_seed_profile_writes_what_is_missing_and_keeps_what_is_there(tmp_path):
    seed = Seed("7.4", "40(Build:2)")
    fresh = tmp_path / "fresh"
    seed_profile(fresh, seed)
    assert (fresh / "user" / "extensions" / "buildid").read_text() == "40(Build:2)"
    registry = (fresh / REGISTRY).read_text()
    assert registry.count('oor:name="ooSetupLastVersion"') == 1 and "<value>7.4</value>" in registry
    assert registry.rstrip().endswith("</oor:items>")

    kept = tmp_path / "kept"  # a profile made before seeding: its registry gains the item, nothing else changes
    (kept / "user" / "extensions").mkdir(parents=True)
    (kept / "user" / "extensions" / "buildid").write_text("39(Build:1)")
    (kept / REGISTRY).write_text(OLD_REGISTRY)
    seed_profile(kept, seed)
    seed_profile(kept, seed)  # twice: still one item
    registry = (kept / REGISTRY).read_text()
    assert registry.count("ooSetupLastVersion") == 1
    assert 'oor:name="FirstRun"' in registry and registry.rstrip().endswith("</oor:items>")
    assert (kept / "user" / "extensions" / "buildid").read_text() == "39(Build:1)"  # LibreOffice's own, kept
    assert sorted(p.name for p in (kept / "user").iterdir()) == ["extensions", "registrymodifications.xcu"]

    odd = tmp_path / "odd"  # not a registry we understand: left alone
    (odd / "user").mkdir(parents=True)
    (odd / REGISTRY).write_text("<oor:items>")
    seed_profile(odd, seed)
    assert (odd / REGISTRY).read_text() == "<oor:items>"

    seed_profile(tmp_path / "unknown", None)  # a LibreOffice whose version we cannot read: no seed at all
    assert not (tmp_path / "unknown").exists()


@needs_soffice
def test_the_seed_is_the_installed_version():
    seed = profile_seed(SOFFICE)
    assert seed is not None
    version = subprocess.run([SOFFICE, "--version"], capture_output=True, text=True, timeout=60).stdout.split()
    assert version[0] == "LibreOffice" and version[1].startswith(seed.version + ".")  # "7.4.7.2" runs as "7.4"
    assert seed.build_id == version[2]  # "40(Build:2)": what LibreOffice writes in user/extensions/buildid


@needs_soffice
def test_a_seeded_one_shot_profile_skips_the_render_tests_and_makes_the_same_pdf(tmp_path):
    docx = docx_bytes(tmp_path)
    bare, bare_profile = bare_soffice(docx, tmp_path / "bare")
    assert (bare_profile / RENDER_LOG).exists()  # unseeded, LibreOffice runs its render tests
    assert "ooSetupLastVersion" not in (bare_profile / REGISTRY).read_text()  # and never records why it did

    profiles = tmp_path / "profiles"
    ours = convert_oneshot(docx, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path)
    assert (profiles / "profile-0" / "user").is_dir()
    assert not (profiles / "profile-0" / RENDER_LOG).exists()
    assert pin_pdf(ours, 0) == pin_pdf(bare, 0)


@needs_soffice
def test_a_profile_kept_from_before_seeding_is_seeded(tmp_path):
    docx = docx_bytes(tmp_path)
    _, old = bare_soffice(docx, tmp_path / "bare")
    profiles = tmp_path / "profiles"
    profiles.mkdir(mode=0o700)
    shutil.move(old, profiles / "profile-0")  # a good profile made by an earlier resumec, which did not seed
    (profiles / "profile-0.good").touch()
    (profiles / "profile-0" / RENDER_LOG).unlink()
    convert_oneshot(docx, soffice=SOFFICE, profiles=profiles, tmp_root=tmp_path)
    assert "ooSetupLastVersion" in (profiles / "profile-0" / REGISTRY).read_text()
    assert not (profiles / "profile-0" / RENDER_LOG).exists()
    assert (profiles / "profile-0.good").exists()  # kept, not made anew


@needs_soffice
def test_a_warm_libreoffice_starts_seeded_and_makes_the_same_pdf(tmp_path):
    uno_python = find_uno_python(SOFFICE, Settings.from_env())
    if uno_python is None:
        pytest.skip("no Python with LibreOffice's uno module")
    docx = docx_bytes(tmp_path)
    bare, _ = bare_soffice(docx, tmp_path / "bare")
    with WarmConverter(SOFFICE, uno_python=uno_python, tmp_root=tmp_path) as warm:
        ours = warm.convert(docx, timeout=120)
        profile = warm.workdir / "profile-1"
        assert "ooSetupLastVersion" in (profile / REGISTRY).read_text()
        assert not (profile / RENDER_LOG).exists()
    assert pin_pdf(ours, 0) == pin_pdf(bare, 0)
