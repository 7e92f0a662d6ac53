"""The converter service against the real LibreOffice: lifecycle, use by compile, and every way to ignore it.

Each test gets its own runtime dir (RESUMEC_RUNTIME_DIR) and TMPDIR, so no
real user service is touched and the service's LibreOffice can be found in
/proc by its profile path; the fixture always stops the service.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import SAMPLES, have_soffice, run_cli, soffice_processes, wait_until
from resumec.convert.warm import find_uno_python
from resumec.settings import Settings

pytestmark = [
    pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed"),
    pytest.mark.skipif(
        have_soffice() and find_uno_python(shutil.which("soffice"), Settings.from_env()) is None,
        reason="no Python with LibreOffice's uno module",
    ),
]



@pytest.fixture
def env(tmp_path):
    """Environment for `resumec` children: private runtime dir (short: sockets have a 108-byte limit) and TMPDIR."""
    runtime = Path(tempfile.mkdtemp(prefix="rc-run-"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    values = {
        "RESUMEC_RUNTIME_DIR": str(runtime / "svc"),
        "TMPDIR": str(tmp),
        "RESUMEC_NO_SERVER": "",
        "RESUMEC_CACHE_DIR": str(tmp_path / "cache"),
    }
    yield values
    run_cli("server", "stop", env=values, timeout=60)
    assert wait_until(lambda: not soffice_processes(str(tmp)))
    shutil.rmtree(runtime, ignore_errors=True)


def status(env: dict) -> dict:
    proc = run_cli("server", "status", "--json", env=env)
    info = json.loads(proc.stdout)
    assert (proc.returncode == 0) == info["running"]
    return info


def start(env: dict, *extra: str) -> dict:
    proc = run_cli("server", "start", *extra, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    return status(env)


def compile_cli(src: Path, out: Path, env: dict, *extra: str) -> dict:
    proc = run_cli("compile", str(src), "-o", str(out) + "/", "--json", *extra, env=env)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr.decode()
    return report


def test_lifecycle(env):
    proc = run_cli("server", "status", env=env)
    assert proc.returncode == 1 and b"not running" in proc.stderr
    proc = run_cli("server", "stop", env=env)
    assert proc.returncode == 0 and b"not running" in proc.stderr

    proc = run_cli("server", "start", "--idle-timeout", "300", env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"started" in proc.stderr
    info = status(env)
    assert info["running"] and info["ready"] and info["conversions"] == 0
    assert info["libreoffice"].startswith("LibreOffice")
    assert info["idle_timeout"] == 300
    runtime = Path(env["RESUMEC_RUNTIME_DIR"])
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
    sock = runtime / "server.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert soffice_processes(env["TMPDIR"])  # its warm LibreOffice

    proc = run_cli("server", "status", env=env)
    assert proc.returncode == 0
    for field in ("pid", "socket", "uptime", "conversions", "libreoffice"):
        assert field in proc.stdout.decode()

    again = run_cli("server", "start", env=env)
    assert again.returncode == 0 and b"already running" in again.stderr
    assert status(env)["pid"] == info["pid"]

    proc = run_cli("server", "stop", env=env)
    assert proc.returncode == 0 and b"stopped" in proc.stderr
    assert not status(env)["running"]
    assert not sock.exists()
    assert wait_until(lambda: not soffice_processes(env["TMPDIR"]))


def test_compile_uses_the_running_service_and_matches_oneshot(env, tmp_path):
    assert start(env)["idle_timeout"] == 600  # the default
    served = compile_cli(SAMPLES / "full.json", tmp_path / "served", env)
    assert served["results"][0]["outputs"][1]["cached"] is False
    assert status(env)["conversions"] == 1

    # A cache hit never reaches the service; --no-server and RESUMEC_NO_SERVER ignore it.
    compile_cli(SAMPLES / "full.json", tmp_path / "served", env)
    other_cache = {**env, "RESUMEC_CACHE_DIR": str(tmp_path / "cache2")}
    oneshot = compile_cli(SAMPLES / "full.json", tmp_path / "oneshot", other_cache, "--no-server")
    compile_cli(SAMPLES / "full.json", tmp_path / "oneshot3", {**env, "RESUMEC_CACHE_DIR": str(tmp_path / "cache3"),
                                                              "RESUMEC_NO_SERVER": "1"})
    assert status(env)["conversions"] == 1

    # Warm through the service and one-shot make the same bytes.
    assert (tmp_path / "served" / "full.pdf").read_bytes() == (tmp_path / "oneshot" / "full.pdf").read_bytes()
    assert (tmp_path / "oneshot3" / "full.pdf").read_bytes() == (tmp_path / "oneshot" / "full.pdf").read_bytes()
    assert oneshot["results"][0]["outputs"][1]["sha256"] == served["results"][0]["outputs"][1]["sha256"]

    # The Typer path (a repeated option, which the quick parser leaves to it) uses it too.
    compile_cli(SAMPLES / "minimal.json", tmp_path / "typer", env, "--no-cache", "--timeout", "60", "--timeout", "60")
    assert status(env)["conversions"] == 2


def test_service_failure_on_a_document_is_a_conversion_error(env, tmp_path):
    """The service answers ConvertError for a document LibreOffice rejects, and keeps serving."""
    from resumec.errors import ConvertError

    start(env)
    client = _client(env)

    with pytest.raises(ConvertError):
        client.convert(os.urandom(2048), timeout=30)
    client.close()
    assert status(env)["running"]
    compile_cli(SAMPLES / "minimal.json", tmp_path / "out", env)
    assert status(env)["conversions"] == 1


@pytest.mark.parametrize("kind", ["unbound-socket", "garbage-file", "listens-never-accepts"])
def test_stale_or_dead_service_is_ignored(env, tmp_path, kind):
    runtime = Path(env["RESUMEC_RUNTIME_DIR"])
    runtime.mkdir(mode=0o700)
    path = runtime / "server.sock"
    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if kind == "garbage-file":
            path.write_bytes(b"not a socket")
        else:
            holder.bind(str(path))
            if kind == "listens-never-accepts":
                holder.listen(1)
            else:
                holder.close()  # the file stays: what a killed service leaves
        proc = run_cli("compile", str(SAMPLES / "minimal.json"), "-o", str(tmp_path / "out") + "/", env=env)
        assert proc.returncode == 0, proc.stderr.decode()
        assert b"error" not in proc.stderr.lower() and b"warning" not in proc.stderr.lower()
        assert (tmp_path / "out" / "minimal.pdf").read_bytes().startswith(b"%PDF-")
        assert run_cli("server", "status", env=env).returncode == 1
    finally:
        holder.close()


def test_service_with_another_libreoffice_is_refused(env):
    """The client computes its identity locally; a service running another build is not used."""
    from resumec.pipeline import Options, compile

    start(env)
    client = _client(env)
    warnings: list[str] = []
    client.identity = "LibreOffice 0.0.0.0; libmergedlo.so:1:1"
    client.warn = warnings.append
    docx_dir = Path(env["TMPDIR"]) / "docx"
    compile(SAMPLES / "minimal.json", Options(formats=("docx",), output=f"{docx_dir}/", use_cache=False))
    pdf = client.convert((docx_dir / "minimal.docx").read_bytes(), timeout=60)
    client.close()
    assert pdf.startswith(b"%PDF-")
    assert warnings and "not used" in warnings[0]
    assert status(env)["conversions"] == 0


def test_idle_timeout_from_env_stops_the_service(env):
    proc = run_cli("server", "start", env={**env, "RESUMEC_SERVER_IDLE": "1"}, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"idle timeout 1 s" in proc.stderr
    assert wait_until(lambda: not status(env)["running"], timeout=30)
    assert wait_until(lambda: not soffice_processes(env["TMPDIR"]))
    assert not (Path(env["RESUMEC_RUNTIME_DIR"]) / "server.sock").exists()


def test_garbage_on_the_socket_does_not_hurt_the_service(env):
    import struct

    start(env)
    runtime = Path(env["RESUMEC_RUNTIME_DIR"])
    nested = b"[" * 60000  # json.loads would recurse too deep on it
    junks = [
        b"\xff" * 64,
        b"\x00\x00\x00\x05\x00\x00\x00\x00nope!",
        b"GET / HTTP/1.0\r\n\r\n",
        struct.pack("!II", len(nested), 0) + nested,
        struct.pack("!II", 60, 0) + b'{"op": "convert", "identity": 1, "pdfa": "x", "timeout": 1e999}'[:60],
        struct.pack("!II", 43, 0) + b'{"op": "convert", "identity": "x", "pdfa": 1}',
    ]
    for junk in junks:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(runtime / "server.sock"))
            sock.sendall(junk)
            sock.settimeout(30)
            try:  # the service hangs up on anything that is not its protocol
                assert sock.recv(1) == b""
            except ConnectionResetError:
                pass
    assert status(env)["running"]
    log = (runtime / "server.log").read_text()
    assert "Traceback" not in log and "RecursionError" not in log


def test_runtime_dir_must_be_private(env, tmp_path):
    runtime = Path(env["RESUMEC_RUNTIME_DIR"])
    runtime.mkdir(mode=0o755)
    os.chmod(runtime, 0o755)
    proc = run_cli("server", "start", env=env)
    assert proc.returncode == 2 and b"private" in proc.stderr
    # and a client never trusts a socket there
    from resumec.convert import pool

    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        holder.bind(str(runtime / "server.sock"))
        holder.listen(1)
        assert pool(1, Settings({**os.environ, **env}), service=True).kind == "oneshot"
    finally:
        holder.close()


def test_start_without_libreoffice_fails_cleanly(env, tmp_path):
    proc = run_cli("server", "start", env={**env, "RESUMEC_SOFFICE": str(tmp_path / "missing")}, timeout=60)
    assert proc.returncode == 3
    assert b"RESUMEC_SOFFICE" in proc.stderr
    assert run_cli("server", "status", env=env).returncode == 1


def test_a_cache_hit_never_connects(env, tmp_path, monkeypatch):
    """The client's identity is local: a complete hit must not even connect (here: to a listener that never accepts)."""
    from resumec.pipeline import Options
    from resumec.report import Reporter
    from resumec.run import compile_one

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    compile_cli(SAMPLES / "minimal.json", tmp_path / "out", {**env, "RESUMEC_NO_SERVER": "1"})  # fill the cache
    runtime = Path(env["RESUMEC_RUNTIME_DIR"])
    runtime.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(runtime / "server.sock"))
        listener.listen(4)
        client = _client(env)
        result = compile_one(str(SAMPLES / "minimal.json"), Options(output=f"{tmp_path / 'out'}/", timeout=60),
                             Reporter("quiet"), Settings.from_env(), converter=client)
        assert result.ok and all(o.cached for o in result.outputs)
        listener.settimeout(0.05)
        with pytest.raises(socket.timeout):
            listener.accept()


def test_service_replaces_a_killed_libreoffice(env, tmp_path):
    import signal

    info = start(env)
    os.killpg(info["soffice_pid"], signal.SIGKILL)
    compile_cli(SAMPLES / "minimal.json", tmp_path / "out", env)
    after = status(env)
    assert after["conversions"] == 1 and after["soffice_pid"] not in (None, info["soffice_pid"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_another_user_cannot_drive_the_service(env):
    """A real second user (nobody) tries to connect: the private runtime dir stops it."""
    proc = run_cli("server", "start", env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    runtime = Path(env["RESUMEC_RUNTIME_DIR"])
    os.chmod(runtime.parent, 0o755)  # the parent is traversable: only our own permissions protect it
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print(type(e).__name__)\nelse:\n    print('connected')\n"
    )
    attempt = subprocess.run(["/usr/bin/python3", "-c", probe, str(runtime / "server.sock")],
                             capture_output=True, text=True, user="nobody", group="nogroup", timeout=30)
    assert attempt.stdout.strip() == "PermissionError", attempt.stdout + attempt.stderr
    assert status(env)["conversions"] == 0


def navy_theme(folder: Path) -> Path:
    """A theme of the user's own, as a folder: modern (which shows the photo) in navy."""
    folder.mkdir(parents=True)
    (folder / "theme.toml").write_text('[theme]\nextends = "modern"\n[colors]\naccent = "000080"\n', "utf-8")
    return folder


def test_the_service_builds_the_docx_too_with_the_bytes_built_here(env, tmp_path):
    """A miss hands the DOCX build to the service (nothing to import or compile there): the same bytes as here."""
    start(env)
    work = tmp_path / "work"
    navy_theme(work / "navy")
    for name in ("full.json", "photo.json", "photo.png"):
        shutil.copy(SAMPLES / name, work / name)
    # Relative input and theme paths: the service does not share our working directory.
    args = ("compile", "full.json", "photo.json", "--theme", "./navy", "--json")
    served = run_cli(*args, "-o", "served/", env=env, cwd=work)
    assert served.returncode == 0, served.stderr.decode()
    info = status(env)
    assert info["builds"] == 2 and info["conversions"] == 2
    here = run_cli(*args, "-o", "here/", "--no-server", env={**env, "RESUMEC_CACHE_DIR": str(tmp_path / "c2")},
                   cwd=work)
    assert here.returncode == 0, here.stderr.decode()
    for name in ("full.docx", "full.pdf", "photo.docx", "photo.pdf"):
        assert (work / "served" / name).read_bytes() == (work / "here" / name).read_bytes(), name
    assert b"word/media/" in (work / "served" / "photo.docx").read_bytes()  # the photo, read by the service
    assert status(env)["builds"] == 2  # the second run converted one-shot, without the service


def test_a_build_that_fails_in_the_service_fails_as_it_would_here(env, tmp_path):
    """The service leaves a failing build to its client, whose own build reports the error it always did."""
    start(env)
    theme = navy_theme(tmp_path / "broken")
    (theme / "templates").mkdir()
    (theme / "templates" / "header.xml.j2").write_text("{{ 1 // 0 }}\n", "utf-8")
    args = ("compile", str(SAMPLES / "minimal.json"), "--theme", str(theme), "--no-cache")
    served = run_cli(*args, "-o", f"{tmp_path / 'served'}/", env=env)
    here = run_cli(*args, "-o", f"{tmp_path / 'here'}/", "--no-server", env=env)
    assert served.returncode == here.returncode == 1
    assert b"header.xml.j2:1: ZeroDivisionError" in served.stderr and b"Traceback" not in served.stderr
    assert served.stderr.replace(b"served", b"here") == here.stderr
    info = status(env)
    assert info["running"] and info["builds"] == 0 and info["conversions"] == 0
    assert not (tmp_path / "served").exists()


def test_a_service_running_other_code_is_not_asked_to_build(env):
    """A service started before an upgrade (or an edit) refuses builds, and still converts on that connection."""
    from resumec.service.protocol import Build, Convert, code_identity, connect, header_of, recv, send

    info = start(env)
    with connect(Path(env["RESUMEC_RUNTIME_DIR"]) / "server.sock", timeout=30) as sock:
        send(sock, header_of(Build(info["identity"], "not-this-code", False, 60.0)))
        reply, _ = recv(sock)
        assert reply == {"ok": False, "refused": "it runs other resumec code (restart it)"}
        send(sock, header_of(Build(info["identity"], code_identity(), False, 60.0)))
        assert recv(sock)[0] == {"ok": True}  # the same files as ours: accepted
    with connect(Path(env["RESUMEC_RUNTIME_DIR"]) / "server.sock", timeout=30) as sock:
        send(sock, header_of(Convert(info["identity"], False, 60.0)))
        assert recv(sock)[0] == {"ok": True}


def test_a_served_build_refuses_a_theme_changed_since_its_key(tmp_path):
    from resumec.docx.builder import Builder
    from resumec.errors import InputError
    from resumec.pipeline import build_served
    from resumec.theme import load_theme

    theme = navy_theme(tmp_path / "navy")
    job = {"data": json.loads((SAMPLES / "minimal.json").read_text("utf-8")), "theme": str(theme),
           "fingerprint": load_theme(str(theme)).fingerprint, "order": [["work", "Work"]], "base_dir": None,
           "epoch": 315532800, "lang": None, "paper": None}
    docx, epoch = build_served(json.dumps(job).encode(), Builder())
    assert docx.startswith(b"PK") and epoch == job["epoch"]
    (theme / "theme.toml").write_text('[theme]\nextends = "classic"\n[colors]\naccent = "008000"\n', "utf-8")
    with pytest.raises(InputError, match="theme changed"):
        build_served(json.dumps(job).encode(), Builder())


def _client(env):
    """A converter that goes through the service, as a compile would pick it."""
    from resumec.convert import pool
    from resumec.convert.client import ServiceClient

    converters = pool(1, Settings({**os.environ, **env}), service=True)
    assert converters.kind == "service"
    [client] = converters.converters
    assert isinstance(client, ServiceClient)
    return client


@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_idle_timeout_must_be_finite(env, value):
    for args, extra in ((["--idle-timeout", value], {}), ([], {"RESUMEC_SERVER_IDLE": value})):
        proc = run_cli("server", "start", *args, env={**env, **extra})
        assert proc.returncode == 2 and b"Traceback" not in proc.stderr, proc.stderr
        assert not status(env)["running"]
