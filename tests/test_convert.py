"""resumec.convert against the real LibreOffice: both engines, pinning, and every way they must fail cleanly.

Fakes are used only to inject faults LibreOffice won't produce on demand
(a launcher that hangs, a bridge that never answers).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import alive, group_members, have_soffice, pdfinfo, pdftotext, wait_until
from resumec.convert import converter_identity, find_soffice, pin_pdf, pool
from resumec.convert.oneshot import OneShot, convert_oneshot
from resumec.convert.warm import WarmConverter, find_uno_python
from resumec.errors import ConvertError, UsageError
from resumec.settings import DEFAULT_EPOCH, Settings

needs_soffice = pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")
UNO_PYTHON = find_uno_python(shutil.which("soffice"), Settings.from_env()) if have_soffice() else None
needs_uno = pytest.mark.skipif(UNO_PYTHON is None, reason="no Python with LibreOffice's uno module")
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process checks read /proc")


# -- helpers ------------------------------------------------------------------------


def make_docx(title: str = "Ada Lovelace", paragraphs: int = 30) -> bytes:
    """A small two-page DOCX, built here so these tests don't depend on resumec.docx."""
    import docx

    document = docx.Document()
    document.add_heading(title, 0)
    for number in range(paragraphs):
        document.add_paragraph(
            f"Entry {number}: notes on the Analytical Engine, Bernoulli numbers, "
            "and a résumé line long enough to wrap once on a letter-size page."
        )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line contains marker (how we find a profile's LibreOffice)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if marker in cmdline and alive(int(entry.name)):
                found.append(int(entry.name))
    return found



def xref_is_valid(pdf: bytes) -> bool:
    """Every in-use xref entry points at its `N G obj`, and startxref at the table."""
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    if not pdf.startswith(b"xref", start):
        return False
    table = pdf[start : pdf.index(b"trailer", start)]
    number = 0
    for line in table.split(b"\n")[1:]:
        parts = line.split()
        if len(parts) == 2:
            number = int(parts[0])
        elif len(parts) == 3:
            if parts[2] == b"n" and not re.match(rb"%d\s+%d\s+obj" % (number, int(parts[1])), pdf[int(parts[0]) :]):
                return False
            number += 1
    return True


def assert_valid_pdf(path: Path, text: str) -> None:
    check = subprocess.run(["pdfinfo", str(path)], capture_output=True)
    assert check.returncode == 0 and b"rror" not in check.stderr, check.stderr
    if shutil.which("qpdf"):
        assert subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0
    assert text in pdftotext(path)
    assert xref_is_valid(path.read_bytes())


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    return make_docx()


@pytest.fixture
def soffice() -> str:
    if not have_soffice():
        pytest.skip("LibreOffice (soffice) is not installed")
    return find_soffice(Settings.from_env())


@pytest.fixture
def warm(soffice, tmp_path):
    if UNO_PYTHON is None:
        pytest.skip("no Python with LibreOffice's uno module")
    converter = WarmConverter(soffice, uno_python=UNO_PYTHON, tmp_root=tmp_path)
    yield converter
    converter.close()


# -- finding and naming LibreOffice ---------------------------------------------------


def test_find_soffice_override_must_exist():
    with pytest.raises(ConvertError) as caught:
        find_soffice(Settings({"RESUMEC_SOFFICE": "/nonexistent", "PATH": os.environ.get("PATH", "")}))
    message = caught.value.message
    assert "/nonexistent" in message
    assert "LibreOffice is needed" in message
    assert "sudo apt-get install libreoffice-writer-nogui" in message
    assert "sudo dnf install libreoffice-writer" in message
    assert "brew install --cask libreoffice" in message
    assert caught.value.exit_code == 3


def test_find_soffice_override_must_be_executable(tmp_path):
    script = tmp_path / "soffice"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(ConvertError):
        find_soffice(Settings({"RESUMEC_SOFFICE": str(script)}))
    script.chmod(0o755)
    assert find_soffice(Settings({"RESUMEC_SOFFICE": str(script)})) == str(script)


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS also looks in /Applications")
def test_find_soffice_missing_says_how_to_install(tmp_path):
    with pytest.raises(ConvertError, match="apt-get install libreoffice-writer-nogui"):
        find_soffice(Settings({"PATH": str(tmp_path)}))


def test_find_soffice_searches_path_for_libreoffice_too(tmp_path):
    launcher = tmp_path / "libreoffice"
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    assert find_soffice(Settings({"PATH": str(tmp_path)})) == str(launcher)


@needs_soffice
def test_identity_names_the_installed_version(soffice):
    version = subprocess.run([soffice, "--version"], capture_output=True, text=True).stdout.strip()
    identity = converter_identity(soffice)
    assert identity.startswith(version.split(" ")[0] + " ")  # "LibreOffice "
    assert version in identity, (version, identity)  # e.g. "LibreOffice 7.4.7.2 40(Build:2)"


@needs_soffice
def test_identity_is_cheap_and_starts_no_process(soffice, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("converter_identity must not start a process")

    monkeypatch.setattr(subprocess, "Popen", forbidden)
    converter_identity(soffice)  # warm the page cache
    times = []
    for _ in range(21):
        started = time.perf_counter()
        converter_identity(soffice)
        times.append(time.perf_counter() - started)
    assert sorted(times)[10] < 0.001, f"median {sorted(times)[10] * 1000:.2f} ms"


@pytest.mark.parametrize("source", ["types.rdb", "main.xcd"])
def test_identity_reads_the_version_from_an_install_tree(tmp_path, source):
    program = tmp_path / "lo" / "program"
    program.mkdir(parents=True)
    (program / "soffice").write_text("#!/bin/sh\n")
    (program / "versionrc").write_text("[Version]\nbuildid=99(Build:9)\n")
    (program / "libmergedlo.so").write_bytes(b"x" * 7)
    if source == "types.rdb":
        (program / "types.rdb").write_bytes(b"UNOIDL\xff\x00** Created by LibreOffice 9.8.7.6 unoidl-write **\x00")
    else:
        registry = tmp_path / "lo" / "share" / "registry"
        registry.mkdir(parents=True)
        (registry / "main.xcd").write_text(
            '<prop oor:name="ooSetupVersionAboutBox" oor:type="xs:string"><value/></prop>'
            '<prop oor:name="ooSetupVersionAboutBox">\n<value>9.8.7.6</value></prop>'
        )
    link = tmp_path / "soffice"
    link.symlink_to(program / "soffice")
    identity = converter_identity(str(link))
    assert identity.startswith("LibreOffice 9.8.7.6 99(Build:9); libmergedlo.so:7:")


def test_identity_falls_back_to_the_binary(tmp_path):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\n")
    first = converter_identity(str(fake))
    assert str(fake) in first and "soffice:10:" in first
    fake.write_text("#!/bin/sh\n# changed\n")
    os.utime(fake, (1, 1))
    assert converter_identity(str(fake)) != first


def test_source_epoch():
    assert Settings({}).epoch == DEFAULT_EPOCH == 315532800
    assert Settings({"SOURCE_DATE_EPOCH": "1700000000"}).epoch == 1700000000
    assert Settings({"SOURCE_DATE_EPOCH": ""}).epoch == DEFAULT_EPOCH
    for garbage in ("yesterday", "-5", "1e9", "99999999999999", "17000000 00"):
        with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
            Settings({"SOURCE_DATE_EPOCH": garbage}).epoch


def test_package_import_stays_light():
    code = (
        "import sys, resumec.convert\n"
        "heavy = [m for m in ('docx', 'uno', 'resumec.convert.warm', 'resumec.convert.oneshot',"
        " 'resumec.convert.pin') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- one-shot -------------------------------------------------------------------------


@needs_soffice
def test_oneshot_makes_a_two_page_pdf_with_the_text(soffice, docx_bytes, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    pdf = convert_oneshot(docx_bytes, soffice=soffice, tmp_root=root)
    assert pdf.startswith(b"%PDF-")
    out = tmp_path / "out.pdf"
    out.write_bytes(pdf)
    info = pdfinfo(out)
    assert info["Pages"] == "2"
    assert info["Tagged"] == "yes"
    text = pdftotext(out)
    assert "Ada Lovelace" in text and "Bernoulli numbers" in text and "résumé" in text
    assert list(root.iterdir()) == []  # the temp dir and its profile are gone


@needs_soffice
def test_oneshot_pdfa(soffice, docx_bytes, tmp_path):
    pdf = convert_oneshot(docx_bytes, soffice=soffice, pdfa=True)
    assert b"<pdfaid:part>2</pdfaid:part>" in pdf and b"<pdfaid:conformance>B" in pdf


@needs_soffice
def test_oneshot_rejects_garbage_instead_of_printing_it(soffice, tmp_path):
    garbage = os.urandom(4096)
    with pytest.raises(ConvertError, match="could not convert") as caught:
        convert_oneshot(garbage, soffice=soffice, tmp_root=tmp_path)
    assert "source file could not be loaded" in caught.value.message
    assert list(tmp_path.iterdir()) == []


@needs_proc
def test_oneshot_timeout_kills_the_whole_group(tmp_path, monkeypatch):
    """A launcher that hangs with a child: both must be gone soon after the timeout."""
    pidfile = tmp_path / "child.pid"
    fake = tmp_path / "soffice"
    fake.write_text(f'#!/bin/sh\nsleep 100 &\necho $! > "{pidfile}"\nwait\n')
    fake.chmod(0o755)
    root = tmp_path / "root"
    root.mkdir()
    started = time.monotonic()
    with pytest.raises(ConvertError, match=r"^LibreOffice timed out after 1 s$"):
        convert_oneshot(b"PK", soffice=str(fake), timeout=1.0, tmp_root=root)
    assert time.monotonic() - started < 1.0 + 2.0
    child = int(pidfile.read_text())
    assert wait_until(lambda: not alive(child), 1.0), f"child {child} survived"
    assert list(root.iterdir()) == []


def test_oneshot_fake_that_writes_nothing_is_an_error(tmp_path):
    """soffice exits 0 even when it converted nothing; only the output counts."""
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\necho 'Error: something broke' >&2\nexit 0\n")
    fake.chmod(0o755)
    with pytest.raises(ConvertError, match="something broke"):
        convert_oneshot(b"PK", soffice=str(fake))


def test_oneshot_unstartable_soffice(tmp_path):
    with pytest.raises(ConvertError, match="could not start LibreOffice"):
        convert_oneshot(b"PK", soffice=str(tmp_path / "missing"))


# -- pinning --------------------------------------------------------------------------


@needs_soffice
@pytest.mark.parametrize("pdfa", [False, True], ids=["pdf", "pdfa"])
def test_pin_makes_conversions_identical_and_valid(soffice, docx_bytes, tmp_path, pdfa):
    first = convert_oneshot(docx_bytes, soffice=soffice, pdfa=pdfa)
    second = convert_oneshot(docx_bytes, soffice=soffice, pdfa=pdfa)
    assert first != second  # LibreOffice stamps the time: this test would prove nothing otherwise
    pinned = pin_pdf(first, DEFAULT_EPOCH)
    assert pinned == pin_pdf(second, DEFAULT_EPOCH)
    assert pin_pdf(pinned, DEFAULT_EPOCH) == pinned  # idempotent
    if not pdfa:
        assert len(pinned) == len(first)  # same-length replacements only
    out = tmp_path / "pinned.pdf"
    out.write_bytes(pinned)
    assert_valid_pdf(out, "Bernoulli numbers")
    assert pdfinfo(out)["CreationDate"].endswith("1980 UTC")
    if pdfa:
        assert b"<xmp:CreateDate>1980-01-01T00:00:00Z</xmp:CreateDate>" in pinned
    other_epoch = pin_pdf(first, 1700000000)
    assert other_epoch != pinned
    assert b"(D:20231114221320" in other_epoch


def test_pin_synthetic_fields_keep_their_length():
    def pdf(stamp: bytes, zone: bytes, ident: bytes) -> bytes:
        return (
            b"%PDF-1.6\n1 0 obj\n<</CreationDate(D:" + stamp + zone + b")/ModDate(D:" + stamp + b")>>\nendobj\n"
            b'<x:xmpmeta><rdf:Description xmp:ModifyDate="2021-01-02T03:04:05.123-07:00"/>'
            b"<xmp:MetadataDate>2021-01-02T03:04:05" + zone.replace(b"'", b":")[:-1] + b"</xmp:MetadataDate>"
            b"</x:xmpmeta>\ntrailer\n<</ID [<" + ident + b"> <" + ident + b">]\n/DocChecksum /" + ident.upper()
            + b">>\n%%EOF\n"
        )

    a = pdf(b"20240305101112", b"+01'00'", b"0123456789abcdef0123456789abcdef")
    b = pdf(b"20990101000000", b"-11'30'", b"fedcba9876543210fedcba9876543210")
    pinned = pin_pdf(a, 0)
    assert len(pinned) == len(a)
    assert pinned == pin_pdf(b, 0)
    assert b"(D:19700101000000+00'00')" in pinned and b"/ModDate(D:19700101000000)" in pinned
    assert b'xmp:ModifyDate="1970-01-01T00:00:00.000+00:00"' in pinned
    assert b"<xmp:MetadataDate>1970-01-01T00:00:00+00:00</xmp:MetadataDate>" in pinned
    ident = re.search(rb"/ID \[<([0-9a-fA-F]+)>", pinned).group(1)
    assert ident == ident.lower() and len(ident) == 32 and ident not in a
    assert pin_pdf(b"%PDF-1.4 nothing to pin", 0) == b"%PDF-1.4 nothing to pin"


# -- the warm engine --------------------------------------------------------------------


@needs_uno
@pytest.mark.parametrize("pdfa", [False, True], ids=["pdf", "pdfa"])
def test_warm_output_equals_oneshot_after_pinning(warm, soffice, docx_bytes, pdfa):
    assert pin_pdf(warm.convert(docx_bytes, pdfa=pdfa), 0) == pin_pdf(
        convert_oneshot(docx_bytes, soffice=soffice, pdfa=pdfa), 0
    )


@needs_uno
@needs_proc
def test_warm_reuses_one_libreoffice(warm, docx_bytes, tmp_path):
    assert warm.soffice_pid is None  # started lazily
    pids = []
    for number in range(5):
        pdf = warm.convert(make_docx(title=f"Document {number}"))
        out = tmp_path / f"{number}.pdf"
        out.write_bytes(pdf)
        assert f"Document {number}" in pdftotext(out)
        pids.append(warm.soffice_pid)
    assert len(set(pids)) == 1 and alive(pids[0])
    assert list(warm.workdir.glob("job-*")) == []  # request files are removed


@needs_uno
def test_warm_garbage_is_an_error_and_the_engine_survives(warm, docx_bytes):
    warm.convert(docx_bytes)
    pid = warm.soffice_pid
    with pytest.raises(ConvertError, match="could not"):
        warm.convert(os.urandom(4096))
    assert warm.convert(docx_bytes).startswith(b"%PDF-")
    assert warm.soffice_pid == pid


@needs_uno
@needs_proc
def test_warm_recovers_after_libreoffice_is_killed(warm, docx_bytes):
    warm.convert(docx_bytes)
    old = warm.soffice_pid
    members = group_members(old)
    assert members  # soffice.bin (on Linux started directly), or a launcher and soffice.bin
    os.killpg(old, signal.SIGKILL)
    pdf = warm.convert(docx_bytes)
    assert pdf.startswith(b"%PDF-")
    assert warm.soffice_pid not in (None, old)
    assert wait_until(lambda: not any(alive(pid) for pid in members))


@needs_uno
def test_warm_recovers_when_killed_mid_request(warm, docx_bytes):
    """Kill LibreOffice while it converts: the request is retried on a fresh one."""
    warm.convert(docx_bytes)
    old = warm.soffice_pid
    big = make_docx(paragraphs=3000)
    killer = subprocess.Popen([sys.executable, "-c", f"import os,time; time.sleep(0.15); os.killpg({old}, 9)"])
    pdf = warm.convert(big)
    killer.wait()
    assert pdf.startswith(b"%PDF-")
    assert warm.soffice_pid != old


@needs_uno
@needs_proc
def test_warm_replaces_a_hung_libreoffice(warm, docx_bytes):
    warm.convert(docx_bytes)
    old = warm.soffice_pid
    members = group_members(old)
    os.killpg(old, signal.SIGSTOP)
    try:
        started = time.monotonic()
        pdf = warm.convert(docx_bytes, timeout=3.0)
        elapsed = time.monotonic() - started
    finally:
        for pid in members:  # never leave stopped processes behind, even if the test fails
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert pdf.startswith(b"%PDF-")
    assert 3.0 <= elapsed < 3.0 + 10.0
    assert warm.soffice_pid != old
    assert wait_until(lambda: not any(alive(pid) for pid in members))


@needs_uno
@needs_proc
def test_warm_close_leaves_nothing(soffice, docx_bytes, tmp_path):
    with WarmConverter(soffice, uno_python=UNO_PYTHON, tmp_root=tmp_path) as warm:
        warm.convert(docx_bytes)
        workdir = warm.workdir
        bridge, office = warm.bridge_pid, warm.soffice_pid
        sockets = socket_paths(warm)
        assert processes_mentioning(str(workdir))  # soffice.bin carries the profile path
        assert all(path.exists() for path in sockets)
    assert wait_until(lambda: processes_mentioning(str(workdir)) == [])
    assert not alive(bridge) and group_members(office) == []
    assert not workdir.exists()
    assert not any(path.exists() for path in sockets)
    with pytest.raises(ConvertError, match="closed"):
        warm.convert(docx_bytes)


@needs_uno
def test_warm_killed_libreoffice_leaves_no_sockets(warm, docx_bytes):
    """LibreOffice's UNIX sockets in /tmp outlive a SIGKILL unless we remove them."""
    warm.convert(docx_bytes)
    sockets = socket_paths(warm)
    assert all(path.exists() for path in sockets)
    os.killpg(warm.soffice_pid, signal.SIGKILL)
    warm.convert(docx_bytes)
    assert not any(path.exists() for path in sockets)


def socket_paths(warm: WarmConverter) -> list[Path]:
    from resumec.convert.libreoffice import ipc_socket_paths

    bridge = warm._state.bridge
    return ipc_socket_paths(bridge.profile.as_uri(), bridge.pipe)


@needs_proc
def test_warm_bridge_that_never_answers(tmp_path):
    """A stuck start-up becomes a ConvertError, and the stuck processes are killed."""
    pidfile = tmp_path / "child.pid"
    fake_python = tmp_path / "python"
    fake_python.write_text(f'#!/bin/sh\nsleep 100 &\necho $! > "{pidfile}"\nwait\n')
    fake_python.chmod(0o755)
    converter = WarmConverter("/bin/false", uno_python=str(fake_python), tmp_root=tmp_path, start_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ConvertError, match="could not start LibreOffice"):
        converter.convert(b"PK")
    assert time.monotonic() - started < 10
    assert wait_until(lambda: not alive(int(pidfile.read_text())), 2.0)
    converter.close()


@needs_uno
def test_warm_bridge_reports_a_libreoffice_that_cannot_start(tmp_path):
    converter = WarmConverter("/bin/false", uno_python=UNO_PYTHON, tmp_root=tmp_path, start_timeout=10)
    with pytest.raises(ConvertError, match="exited during start-up"):
        converter.convert(b"PK")
    converter.close()
    assert list(tmp_path.iterdir()) == []


def read_until_ready(bridge: subprocess.Popen) -> int:
    """Follow the bridge's start-up lines; soffice.bin restarts itself once after building a profile."""
    while True:
        line = json.loads(bridge.stdout.readline())
        if "ready" in line:
            assert line["ready"] is True, line
            return line["pid"]
        assert line["spawned"] is True


@needs_uno
@needs_proc
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pdeath signal is Linux-only")
def test_libreoffice_dies_with_a_killed_bridge(warm, docx_bytes):
    """Even SIGKILL of the bridge (a runner tearing down a process tree) takes LibreOffice with it."""
    warm.convert(docx_bytes)
    office, bridge = warm.soffice_pid, warm.bridge_pid
    os.kill(bridge, signal.SIGKILL)
    assert wait_until(lambda: not alive(office))
    assert warm.convert(docx_bytes).startswith(b"%PDF-")  # and the converter carries on


@needs_uno
@needs_proc
@pytest.mark.parametrize("how", ["eof", "sigterm", "sigterm-while-hung"])
def test_bridge_stops_libreoffice_when_told(soffice, docx_bytes, tmp_path, how):
    """The bridge alone (no WarmConverter to clean up after it) leaves no LibreOffice behind."""
    from resumec.convert.libreoffice import ipc_socket_paths
    from resumec.convert.warm import BRIDGE

    profile, pipe = tmp_path / "profile", f"resumec-test-{os.getpid()}-{how}"
    bridge = subprocess.Popen(
        [UNO_PYTHON, str(BRIDGE), "--soffice", soffice, "--profile", str(profile), "--pipe", pipe],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TZ": "UTC", "TMPDIR": str(tmp_path)},
        start_new_session=True,
    )
    office = None
    try:
        office = read_until_ready(bridge)
        source, target = tmp_path / "in.docx", tmp_path / "out.pdf"
        source.write_bytes(docx_bytes)
        request = {"id": 7, "in": str(source), "out": str(target), "pdfa": False}
        if how == "sigterm-while-hung":
            os.killpg(office, signal.SIGSTOP)
        bridge.stdin.write(json.dumps(request).encode() + b"\n")
        bridge.stdin.flush()
        if how == "sigterm-while-hung":
            time.sleep(0.3)  # the bridge is now blocked inside a UNO call
        else:
            assert json.loads(bridge.stdout.readline()) == {"id": 7, "ok": True}
            assert target.read_bytes().startswith(b"%PDF-")
        if how == "eof":
            bridge.stdin.close()
        else:
            os.kill(bridge.pid, signal.SIGTERM)
        assert bridge.wait(timeout=5) == 0
        assert wait_until(lambda: group_members(office) == [])
        assert not any(path.exists() for path in ipc_socket_paths(profile.absolute().as_uri(), pipe))
    finally:
        for group in (office, bridge.pid):
            if group:
                try:
                    os.killpg(group, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        bridge.wait()


# -- choosing an engine ---------------------------------------------------------------


@needs_soffice
def test_pool_oneshot(soffice, docx_bytes):
    with pool(1, Settings.from_env()) as converters:
        [converter] = converters.converters
        assert isinstance(converter, OneShot) and converters.note == "" and converters.kind == "oneshot"
        assert converter.identity == converter_identity(soffice)
        assert converter.convert(docx_bytes).startswith(b"%PDF-")


@needs_soffice
def test_pool_falls_back_with_a_note(soffice):
    settings = Settings({**os.environ, "RESUMEC_UNO_PYTHON": "/bin/false"})
    with pool(2, settings, warm=True) as converters:
        assert all(isinstance(c, OneShot) for c in converters.converters) and len(converters.converters) == 2
        assert "python3-uno" in converters.note and "\n" not in converters.note
    with pytest.raises(ConvertError, match="python3-uno"):
        pool(1, settings, require_warm=True)


@needs_uno
def test_pool_warm(soffice, docx_bytes):
    with pool(1, Settings.from_env(), warm=True) as converters:
        [converter] = converters.converters
        assert isinstance(converter, WarmConverter) and converters.note == "" and converters.kind == "warm"
        assert converter.identity == converter_identity(soffice)
        assert converter.convert(docx_bytes).startswith(b"%PDF-")
        assert converter.soffice_pid is not None
    assert converter.soffice_pid is None  # closed with the pool
