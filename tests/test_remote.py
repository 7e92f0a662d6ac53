"""The remote cache tier (resumec/remote/) against real redis-server and nginx WebDAV servers on loopback.

Runners are separate local cache directories sharing one remote; the
objects are real DOCX and PDF bytes from the real pipeline.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, have_soffice, pdftotext
from remote_servers import (
    HTTP_PASSWORD,
    REDIS_PASSWORD,
    Hang,
    free_port,
    start_nginx,
    start_redis,
)
from resumec.cache import Cache
from resumec.errors import UsageError
from resumec.remote import READ_TIMEOUT, TieredCache, open_remote, parse_url
from resumec.remote.core import blob_name, manifest_name

SECRETS = (REDIS_PASSWORD, HTTP_PASSWORD)


# -- fixtures -------------------------------------------------------------------


@pytest.fixture(params=["redis", "http"])
def server(request, tmp_path_factory):
    start = start_redis if request.param == "redis" else start_nginx
    srv = start(tmp_path_factory.mktemp(request.param))
    yield srv
    srv.stop()


@pytest.fixture
def nginx(tmp_path_factory):
    srv = start_nginx(tmp_path_factory.mktemp("nginx"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    """kind → (key, bytes) of a real build of samples/full.json (DOCX and PDF), read from its local cache."""
    if not have_soffice():
        pytest.fail("LibreOffice is not installed: run `make system-deps`")
    from resumec.pipeline import Options, compile

    work = tmp_path_factory.mktemp("built")
    compile(SAMPLES / "full.json", Options(cache_dir=work / "cache", output=work / "out"))
    entries = {}
    for manifest in (work / "cache" / "v1" / "keys").rglob("*"):
        if manifest.is_file():
            meta = json.loads(manifest.read_bytes())
            blob = work / "cache" / "v1" / "objects" / meta["blob"][:2] / meta["blob"][2:]
            entries[meta["kind"]] = (manifest.parent.name + manifest.name, blob.read_bytes())
    assert set(entries) == {"docx", "pdf"}
    return entries


def runner(tmp_path: Path, name: str, remote, warnings: list[str] | None = None) -> TieredCache:
    """One CI runner's view: its own local cache directory in front of the shared remote."""
    sink = warnings if warnings is not None else []
    return TieredCache(Cache(tmp_path / name, warn=sink.append), remote, sink.append)


def docx_text(data: bytes) -> str:
    import docx

    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    return pdftotext(path)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# -- URLs and credentials ---------------------------------------------------------


def test_url_parsing_and_redaction():
    spec = parse_url("redis://worker:pa%40ss@cache.internal:6380/2", env={})
    assert (spec.scheme, spec.host, spec.port, spec.path, spec.username, spec.password) == (
        "redis", "cache.internal", 6380, "2", "worker", "pa@ss")
    assert spec.display == "redis://worker:***@cache.internal:6380/2"
    assert "pa@ss" not in repr(spec) and "pa%40ss" not in repr(spec)

    spec = parse_url("https://cache.example.com/resumec", env={})
    assert (spec.port, spec.path, spec.username, spec.password) == (443, "/resumec/", None, None)
    assert spec.display == "https://cache.example.com:443/resumec/"
    assert parse_url("redis://h", env={}).display == "redis://h:6379/0"
    assert parse_url("http://[::1]:8080/", env={}).display == "http://[::1]:8080/"

    # Credentials from the environment (CI secrets), only when the URL has none.
    env = {"RESUMEC_REMOTE_CACHE_USER": "ci", "RESUMEC_REMOTE_CACHE_PASSWORD": "from-env"}
    spec = parse_url("http://cache:8080/c/", env=env)
    assert (spec.username, spec.password) == ("ci", "from-env")
    assert spec.display == "http://ci:***@cache:8080/c/"
    assert parse_url("http://u:p@cache/c/", env=env).password == "p"

    for bad, fragment in [
        ("ftp://u:topsecret@host/", "unsupported URL scheme 'ftp'"),
        ("redis://:topsecret@host/notanumber", "Redis database number"),
        ("http://u:topsecret@host:99999/", "not a valid URL (Port out of range"),
        ("http://u:topsecret@/", "no host"),
        ("http://u:topsecret@host/c/?token=1", "query strings"),
        ("cache.example.com", "unsupported URL scheme"),
    ]:
        with pytest.raises(UsageError) as err:
            parse_url(bad, env={})
        assert fragment in err.value.message
        assert "topsecret" not in err.value.message
        assert err.value.exit_code == 2


def test_remote_repr_and_warnings_hide_credentials(tmp_path):
    """A wrong password (a real server refusing it) and an outage: the warnings never show a password."""
    srv = start_redis(tmp_path / "redis")
    try:
        remote = open_remote(f"redis://:wrong-{REDIS_PASSWORD}@127.0.0.1:{srv.port}/0")
        warnings: list[str] = []
        assert runner(tmp_path, "a", remote, warnings).get("a" * 64) is None
        assert len(warnings) == 1 and "unavailable" in warnings[0]
        assert f"redis://:***@127.0.0.1:{srv.port}/0" in warnings[0]
        assert_no_secrets(repr(remote), remote.display, *warnings)
    finally:
        srv.stop()


def test_http_wrong_password_is_an_outage_without_leaking_it(nginx, tmp_path):
    remote = open_remote(nginx.url.replace(HTTP_PASSWORD, "not-" + HTTP_PASSWORD))
    warnings: list[str] = []
    store = runner(tmp_path, "a", remote, warnings)
    assert store.get("a" * 64) is None
    store.put("b" * 64, b"%PDF-1.7 x", "pdf")
    assert len(warnings) == 1 and "HTTP 401" in warnings[0]
    assert_no_secrets(repr(remote), *warnings)
    assert nginx.objects() == {}


# -- sharing ----------------------------------------------------------------------------


def test_two_runners_share_one_remote(server, built, tmp_path):
    """Runner A's build is uploaded; runner B, with an empty local cache, gets verified real DOCX and PDF."""
    (dkey, docx_bytes), (pkey, pdf_bytes) = built["docx"], built["pdf"]
    remote = open_remote(server.url)
    a = runner(tmp_path, "runner-a", remote)
    ddigest = a.put(dkey, docx_bytes, "docx")
    pdigest = a.put(pkey, pdf_bytes, "pdf")
    assert a.counts["remote_uploads"] == 2
    stored = server.objects()
    assert len(stored) == 4  # two manifests, two blobs, in the local layout
    assert any(name.endswith(blob_name(pdigest)) for name in stored)
    assert any(name.endswith(manifest_name(pkey)) for name in stored)

    warnings: list[str] = []
    b = runner(tmp_path, "runner-b", open_remote(server.url), warnings)
    assert b.lookup(dkey, kind="docx") == ddigest
    assert b.get_blob(ddigest) == docx_bytes
    assert b.get(pkey, kind="pdf") == (pdigest, pdf_bytes)
    assert (b.origin(ddigest), b.origin(pdigest)) == ("remote", "remote")
    assert warnings == []
    assert "Inês Marchetti" in docx_text(b.get_blob(ddigest))
    assert "Inês Marchetti" in pdf_text(pdf_bytes, tmp_path)

    # The hits were stored locally: B's plain local cache serves them now, and counts them.
    b.record(pdf_hits=1, docx_hits=1)
    local_b = Cache(tmp_path / "runner-b")
    assert local_b.get(pkey) == (pdigest, pdf_bytes)
    assert local_b.get(dkey) == (ddigest, docx_bytes)
    assert local_b.stats()["remote_hits"] == 2
    assert local_b.stats()["pdf_hits"] == 1
    # A third lookup is local and says so.
    c = runner(tmp_path, "runner-b", open_remote(server.url))
    assert c.get(pkey, kind="pdf") == (pdigest, pdf_bytes)
    assert c.origin(pdigest) == "local" and c.counts["remote_hits"] == 0


def test_miss_everywhere_is_counted(server, tmp_path):
    store = runner(tmp_path, "a", open_remote(server.url))
    assert store.get("c" * 64, kind="pdf") is None
    assert store.lookup("d" * 64) is None
    assert store.get_blob("e" * 64) is None
    assert store.counts == {"remote_hits": 0, "remote_misses": 3, "remote_errors": 0, "remote_uploads": 0}
    store.record(pdf_misses=1)
    assert Cache(tmp_path / "a").stats() == {"pdf_misses": 1, "remote_misses": 3}


def test_pipeline_runner_b_builds_nothing(server, built, tmp_path):
    """The real pipeline through the two-tier store: runner B, empty local cache, converts nothing."""
    from resumec.convert import converter_identity, find_soffice
    from resumec.settings import Settings
    from resumec.pipeline import Options, compile

    remote = open_remote(server.url)
    first = compile(SAMPLES / "full.json", Options(cache_dir=tmp_path / "a", output=tmp_path / "out-a"), remote=remote)
    assert [o.cached for o in first.outputs] == [False, False]
    assert len(server.objects()) == 4

    class Tripwire:
        """Fails the test if runner B ever converts: everything must come from the remote."""

        identity = converter_identity(find_soffice(Settings.from_env()))

        def convert(self, *args, **kwargs):
            raise AssertionError("runner B converted a DOCX: the remote hit was not used")

    second = compile(SAMPLES / "full.json", Options(cache_dir=tmp_path / "b", output=tmp_path / "out-b"),
                     converter=Tripwire(), remote=open_remote(server.url))
    assert [o.cached for o in second.outputs] == ["remote", "remote"]
    assert second.warnings == []
    for fmt in ("docx", "pdf"):
        assert (tmp_path / "out-b" / f"full.{fmt}").read_bytes() == (tmp_path / "out-a" / f"full.{fmt}").read_bytes()
    stats = Cache(tmp_path / "b").stats()
    assert stats["remote_hits"] == 2 and stats["docx_hits"] == 1 and stats["pdf_hits"] == 1


# -- failures ---------------------------------------------------------------------------


def test_outage_mid_build_warns_once_then_local_only(server, built, tmp_path):
    (dkey, docx_bytes), (pkey, pdf_bytes) = built["docx"], built["pdf"]
    remote = open_remote(server.url)
    runner(tmp_path, "a", remote).put(dkey, docx_bytes, "docx")

    warnings: list[str] = []
    b = runner(tmp_path, "b", remote, warnings)
    digest = b.lookup(dkey, kind="docx")
    assert digest is not None and b.origin(digest) == "remote"
    server.stop()  # the server dies between the DOCX and the PDF stage
    assert b.get(pkey, kind="pdf") is None
    pdigest = b.put(pkey, pdf_bytes, "pdf")  # the build goes on and stores locally
    b.put_blob(b"%PDF-1.7 another")
    assert b.get("f" * 64) is None
    assert len(warnings) == 1 and "unavailable" in warnings[0] and remote.display in warnings[0]
    assert_no_secrets(*warnings)
    assert b.counts["remote_errors"] == 1
    assert Cache(tmp_path / "b").get(pkey) == (pdigest, pdf_bytes)

    # Local-only for the rest of the run: even with the server back, neither
    # this build nor the next one of the same run (same Remote) asks it.
    server.start()
    before = _requests_seen(server)
    other: list[str] = []
    c = runner(tmp_path, "c", remote, other)
    assert c.get(dkey) is None
    c.put(pkey, pdf_bytes, "pdf")
    assert _requests_seen(server) == before
    assert other == [] and c.counts["remote_errors"] == 0


def _requests_seen(server) -> int:
    """Object requests (resumec's reads and writes) the server has received since it started."""
    if server.kind == "nginx":
        return len((server.root / "access.log").read_text().splitlines())
    client = server.client()
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("getrange", "strlen", "set"))


@pytest.mark.parametrize("kind", ["redis", "http"])
def test_hung_server_gives_up_after_one_timeout(kind, built, tmp_path):
    """A server that accepts and never answers: one read timeout, one warning, then no more connections."""
    (dkey, docx_bytes) = built["docx"]
    hang = Hang()
    try:
        url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{hang.port}/0" if kind == "redis" else \
            f"http://127.0.0.1:{hang.port}/cache/"
        remote = open_remote(url)
        warnings: list[str] = []
        done = threading.Event()
        results: list = []

        def build() -> None:
            b = runner(tmp_path, "b", remote, warnings)
            results.append(b.lookup(dkey, kind="docx"))
            results.append(b.put(dkey, docx_bytes, "docx"))
            results.append(runner(tmp_path, "c", remote, warnings).get("a" * 64))
            done.set()

        start = time.monotonic()
        threading.Thread(target=build, daemon=True).start()
        assert done.wait(timeout=READ_TIMEOUT * 10), "the build hung on the remote"
        elapsed = time.monotonic() - start
        assert results == [None, hashlib.sha256(docx_bytes).hexdigest(), None]
        assert len(warnings) == 1 and "unavailable" in warnings[0]
        assert "no answer within 3 s" in warnings[0] or "timed out" in warnings[0]
        assert elapsed >= READ_TIMEOUT * 0.9  # it did wait for the server, once
        assert Cache(tmp_path / "b").lookup(dkey) is not None
    finally:
        hang.close()
    assert hang.accepted == 1  # one attempt, no retry of a timeout, nothing after the trip


def test_download_slower_than_the_deadline_is_abandoned(tmp_path):
    """A server that trickles bytes (each under the read timeout) cannot hold a build past the deadline."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while not stop.wait(0.2):  # server-side pacing, not a test race
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        remote = open_remote(f"http://127.0.0.1:{port}/", transfer_deadline=1.0)
        warnings: list[str] = []
        assert runner(tmp_path, "a", remote, warnings).get("a" * 64) is None
        assert len(warnings) == 1 and "download took over 1 s" in warnings[0]
        assert remote.down
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def test_server_restart_between_builds_is_not_an_outage(server, built, tmp_path):
    """A kept-alive connection the server closed is reopened once, not taken for an outage."""
    (dkey, docx_bytes), (pkey, pdf_bytes) = built["docx"], built["pdf"]
    remote = open_remote(server.url)
    warnings: list[str] = []
    a = runner(tmp_path, "a", remote, warnings)
    a.put(dkey, docx_bytes, "docx")
    server.stop()
    server.start()  # same port; Redis comes back empty (no persistence in the tests)
    a.put(pkey, pdf_bytes, "pdf")  # on the connection the old server closed
    assert warnings == [] and not remote.down and a.counts["remote_uploads"] == 2
    assert runner(tmp_path, "b", remote, warnings).get(pkey, kind="pdf") is not None
    assert warnings == []


def test_corrupt_objects_are_misses_and_get_repaired(server, built, tmp_path):
    (pkey, pdf_bytes) = built["pdf"]
    remote = open_remote(server.url)
    digest = runner(tmp_path, "a", remote).put(pkey, pdf_bytes, "pdf")
    flipped = bytearray(pdf_bytes)
    flipped[len(flipped) // 2] ^= 0xFF

    cases = [
        (blob_name(digest), bytes(flipped), "does not match its hash"),  # same size, wrong bytes
        (blob_name(digest), pdf_bytes[:-100], "bytes where the manifest says"),  # truncated
        (manifest_name(pkey), b"\x00not json{", "not JSON"),
        (manifest_name(pkey), json.dumps({"blob": "zz", "size": 1, "kind": "pdf"}).encode(), "blob hash"),
        (manifest_name(pkey), json.dumps({"blob": digest, "size": len(pdf_bytes), "kind": "exe"}).encode(), "unknown kind"),
    ]
    for i, (name, data, reason) in enumerate(cases):
        # Start from a good remote each time: a runner rebuilds and re-uploads.
        repair = runner(tmp_path, f"repair-{i}", remote)
        server.put_raw(name, data)
        warnings: list[str] = []
        b = runner(tmp_path, f"b-{i}", remote, warnings)
        assert b.get(pkey, kind="pdf") is None, reason
        assert len(warnings) == 1 and reason in warnings[0] and "unusable" in warnings[0]
        assert b.counts["remote_misses"] == 1 and b.counts["remote_errors"] == 1
        assert Cache(tmp_path / f"b-{i}").get(pkey) is None  # nothing corrupt was stored locally
        assert not remote.down  # a bad object is not an outage
        # The rebuild overwrites the bad object (a blob is normally skipped when present).
        b.put(pkey, pdf_bytes, "pdf")
        assert repair.get(pkey, kind="pdf") == (digest, pdf_bytes)


def test_wrong_kind_objects_are_misses(server, built, tmp_path):
    (dkey, docx_bytes), (pkey, _) = built["docx"], built["pdf"]
    remote = open_remote(server.url)
    a = runner(tmp_path, "a", remote)
    ddigest = a.put(dkey, docx_bytes, "docx")
    # The PDF key pointing at the DOCX: an honest manifest of the wrong kind …
    server.put_raw(manifest_name(pkey), json.dumps({"blob": ddigest, "size": len(docx_bytes), "kind": "docx"}).encode())
    warnings: list[str] = []
    assert runner(tmp_path, "b", remote, warnings).get(pkey, kind="pdf") is None
    assert "a docx where a pdf was expected" in warnings[0]
    # … and one that claims "pdf" for DOCX bytes (whose hash is right).
    server.put_raw(manifest_name(pkey), json.dumps({"blob": ddigest, "size": len(docx_bytes), "kind": "pdf"}).encode())
    warnings.clear()
    c = runner(tmp_path, "c", remote, warnings)
    assert c.get(pkey) is None
    assert "content is not a pdf" in warnings[0]
    assert Cache(tmp_path / "c").get(pkey) is None


def test_downloads_are_capped(server, built, tmp_path):
    (pkey, pdf_bytes) = built["pdf"]
    digest = runner(tmp_path, "a", open_remote(server.url)).put(pkey, pdf_bytes, "pdf")
    small = open_remote(server.url, max_download=len(pdf_bytes) - 1)
    warnings: list[str] = []
    b = runner(tmp_path, "b", small, warnings)
    assert b.get(pkey, kind="pdf") is None  # refused from the manifest's size, before downloading
    assert "download limit" in warnings[0]
    assert b.get_blob(digest) is None  # a blob asked for by name: cut off at the limit
    assert "limit" in warnings[1] and len(warnings) == 2
    assert not small.down


# -- read-only and refused writes ------------------------------------------------------------


def test_read_only_reads_but_never_writes(server, built, tmp_path):
    (dkey, docx_bytes), (pkey, pdf_bytes) = built["docx"], built["pdf"]
    runner(tmp_path, "main", open_remote(server.url)).put(dkey, docx_bytes, "docx")
    before = server.objects()
    assert len(before) == 2

    pr = runner(tmp_path, "pull-request", open_remote(server.url, read_only=True))
    assert pr.lookup(dkey, kind="docx") is not None  # reads still hit
    pr.put(pkey, pdf_bytes, "pdf")
    pr.put_blob(b"%PDF-1.7 page")
    pr.put(dkey, docx_bytes, "docx")
    assert server.objects() == before
    assert pr.counts["remote_uploads"] == 0 and pr.counts["remote_hits"] == 1
    assert Cache(tmp_path / "pull-request").get(pkey) is not None  # the local tier is written as usual


def test_server_refusing_writes_turns_writes_off_keeps_reads(nginx, built, tmp_path):
    """Credentials that may only read (nginx denies PUT with 403): one warning, reads go on."""
    (dkey, docx_bytes), (pkey, pdf_bytes) = built["docx"], built["pdf"]
    runner(tmp_path, "main", open_remote(nginx.url)).put(dkey, docx_bytes, "docx")
    remote = open_remote(nginx.url.replace("/cache/", "/readonly/"))
    warnings: list[str] = []
    b = runner(tmp_path, "b", remote, warnings)
    b.put(pkey, pdf_bytes, "pdf")
    b.put(pkey, pdf_bytes, "pdf")
    assert len(warnings) == 1 and "refuses writes" in warnings[0] and "HTTP 403" in warnings[0]
    assert_no_secrets(*warnings)
    assert b.lookup(dkey, kind="docx") is not None and not remote.down
    assert len(nginx.objects()) == 2


def test_redis_acl_users_from_the_docs(built, tmp_path):
    """docs/ci.md's Redis users: `ci` reads and writes, `pr` only reads (one warning if it tries to write)."""
    doc = (ROOT / "docs" / "ci.md").read_text()
    users = [line.split("#")[0].strip().removeprefix("user ") for line in doc.splitlines() if line.startswith("user ")]
    assert [u.split()[0] for u in users] == ["ci", "pr"]
    extra = tuple(arg for user in users for arg in ("--user", *user.split()))
    srv = start_redis(tmp_path / "redis", extra)
    try:
        (pkey, pdf_bytes) = built["pdf"]
        warnings: list[str] = []
        ci = runner(tmp_path, "ci", open_remote(f"redis://ci:long-random-password@127.0.0.1:{srv.port}/0"), warnings)
        ci.put(pkey, pdf_bytes, "pdf")
        assert ci.counts["remote_uploads"] == 1 and warnings == []
        pr_remote = open_remote(f"redis://pr:other-password@127.0.0.1:{srv.port}/0")
        pr = runner(tmp_path, "pr", pr_remote, warnings)
        assert pr.get(pkey, kind="pdf")[1] == pdf_bytes
        pr.put("d" * 64, b"%PDF-1.7 new", "pdf")
        pr.put("e" * 64, b"%PDF-1.7 newer", "pdf")
        assert len(warnings) == 1 and "refuses writes (Redis: this user has no permissions to run the 'set' command)" in warnings[0]
        assert not pr_remote.down and runner(tmp_path, "pr2", pr_remote, warnings).get(pkey) is not None
        assert len(srv.objects()) == 2
    finally:
        srv.stop()


# -- concurrency -------------------------------------------------------------------------------

WRITER = r"""
import os, sys, time
from pathlib import Path
from resumec.cache import Cache
from resumec.remote import TieredCache, open_remote
url, local, shared_dir, worker, go = sys.argv[1:6]
warnings = []
store = TieredCache(Cache(Path(local)), open_remote(url), warnings.append)
entries = []
for path in sorted(Path(shared_dir).iterdir()):
    kind, key = path.name.split("-", 1)
    entries.append((key, path.read_bytes(), kind))
for i in range(20):  # entries of this writer's own
    data = b"%PDF-1.7\n" + f"writer {worker} object {i}".encode() * 50
    entries.append((f"{int(worker):02x}{i:02x}".ljust(64, "0"), data, "pdf"))
while not os.path.exists(go):
    time.sleep(0.01)
for key, data, kind in entries:
    store.put(key, data, kind)
store.record()
print(len(warnings), store.counts["remote_errors"])
"""


def test_concurrent_writers_leave_a_consistent_remote(server, built, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    for kind, (key, data) in built.items():
        (shared / f"{kind}-{key}").write_bytes(data)
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, server.url, str(tmp_path / f"w{n}"), str(shared), str(n),
                          str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for n in range(4)
    ]
    go.touch()  # all at once
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        assert out.split() == [b"0", b"0"]  # no warnings, no errors

    # Every manifest names a blob that is there and verifies; nothing else is there.
    objects = {name.removeprefix("resumec/"): data for name, data in server.objects().items()}
    manifests = {n: d for n, d in objects.items() if "/keys/" in n}
    blobs = {n: d for n, d in objects.items() if "/objects/" in n}
    assert len(manifests) == 2 + 4 * 20
    referenced = set()
    for name, raw in manifests.items():
        meta = json.loads(raw)
        blob = blobs[blob_name(meta["blob"])]
        assert hashlib.sha256(blob).hexdigest() == meta["blob"] and len(blob) == meta["size"]
        referenced.add(blob_name(meta["blob"]))
    assert referenced == set(blobs)
    # And a fresh runner gets all of it.
    fresh = runner(tmp_path, "fresh", open_remote(server.url))
    for kind, (key, data) in built.items():
        assert fresh.get(key, kind=kind)[1] == data


def test_one_remote_shared_by_threads(server, tmp_path):
    """A batch runs builds in threads over one Remote: each thread's requests stay its own."""
    remote = open_remote(server.url)
    failures: list[BaseException] = []
    warnings: list[str] = []

    def build(n: int) -> None:
        try:
            store = runner(tmp_path, f"t{n}", remote, warnings)
            for i in range(15):
                data = b"%PDF-1.7\n" + f"thread {n} object {i}".encode() * 100
                key = f"{n:02x}{i:02x}".ljust(64, "f")
                store.put(key, data, "pdf")
                other = runner(tmp_path, f"t{n}-reader", remote, warnings)
                assert other.get(key, kind="pdf") == (hashlib.sha256(data).hexdigest(), data)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=build, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == [] and warnings == []
    assert len([n for n in server.objects() if "/keys/" in n]) == 4 * 15


# -- imports ------------------------------------------------------------------------------------


def test_cache_hit_path_imports_nothing_remote(tmp_path):
    """Without a remote, a cache hit imports neither resumec.remote nor redis."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from resumec.pipeline import Options, compile\n"
        f"opts = Options(formats=('docx',), cache_dir=Path({str(tmp_path / 'c')!r}), output=Path({str(tmp_path / 'o')!r}))\n"
        "r = compile(sys.argv[1], opts)\n"
        "print(r.outputs[0].cached, sorted(m for m in ('resumec.remote', 'redis', 'http.client') if m in sys.modules))\n"
    )
    sample = str(SAMPLES / "minimal.json")
    subprocess.run([sys.executable, "-c", script, sample], check=True, capture_output=True)
    hit = subprocess.run([sys.executable, "-c", script, sample], check=True, capture_output=True, text=True)
    assert hit.stdout.split() == ["local", "[]"]


def test_http_remote_does_not_import_redis(nginx, tmp_path):
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from resumec.cache import Cache\n"
        "from resumec.remote import TieredCache, open_remote\n"
        "t = TieredCache(Cache(Path(sys.argv[2])), open_remote(sys.argv[1]))\n"
        "t.put('a' * 64, b'%PDF-1.7 x', 'pdf')\n"
        "print(t.counts['remote_uploads'], 'redis' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, nginx.url, str(tmp_path / "c")], check=True,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["1", "False"]


def test_opening_a_remote_does_no_io():
    remote = open_remote(f"http://127.0.0.1:{free_port()}/")  # nothing listens there
    assert not remote.down and remote._backend is None


# -- the command line ---------------------------------------------------------------


def _compile_json(src: Path, cache: Path, *extra: str, env: dict | None = None) -> tuple[int, dict, str]:
    from conftest import run_cli

    proc = run_cli("compile", str(src), "--json", "--cache-dir", str(cache), *extra, env=env)
    return proc.returncode, json.loads(proc.stdout), proc.stderr.decode()


@pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")
def test_two_ci_runners_through_the_command_line(server, tmp_path):
    """Runner A builds and uploads; runner B (empty local cache, the env var) gets both outputs from the remote."""
    from conftest import run_cli

    src = tmp_path / "cv.json"
    src.write_bytes((SAMPLES / "full.json").read_bytes())
    code, first, err = _compile_json(src, tmp_path / "runner-a", "--remote-cache", server.url, "-o", f"{tmp_path}/a/")
    assert code == 0, err
    assert [o["cached"] for o in first["results"][0]["outputs"]] == [False, False]
    code, second, err = _compile_json(src, tmp_path / "runner-b", "-o", f"{tmp_path}/b/",
                                      env={"RESUMEC_REMOTE_CACHE": server.url})
    assert code == 0, err
    assert [o["cached"] for o in second["results"][0]["outputs"]] == ["remote", "remote"]
    for fmt in ("docx", "pdf"):
        assert (tmp_path / "b" / f"cv.{fmt}").read_bytes() == (tmp_path / "a" / f"cv.{fmt}").read_bytes()
    code, third, err = _compile_json(src, tmp_path / "runner-b", "-o", f"{tmp_path}/b/",
                                     env={"RESUMEC_REMOTE_CACHE": server.url})
    assert [o["cached"] for o in third["results"][0]["outputs"]] == ["local", "local"]
    info = run_cli("cache", "info", "--cache-dir", str(tmp_path / "runner-b"), env={"RESUMEC_REMOTE_CACHE": server.url})
    text = info.stdout.decode()
    assert info.returncode == 0 and "Remote cache:" in text and "hits 2" in text
    info_json = json.loads(run_cli("cache", "info", "--json", "--cache-dir", str(tmp_path / "runner-b"),
                                   "--remote-cache", server.url).stdout)
    assert info_json["stats"]["remote_hits"] == 2 and info_json["remote"]["read_only"] is False
    assert_no_secrets(text, json.dumps(info_json), err, json.dumps(second))


@pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")
def test_read_only_runner_never_uploads(nginx, tmp_path):
    src = tmp_path / "cv.json"
    src.write_bytes((SAMPLES / "minimal.json").read_bytes())
    code, report, err = _compile_json(src, tmp_path / "pr", "--remote-cache", nginx.url, "--remote-cache-read-only",
                                      "-f", "docx")
    assert code == 0 and report["results"][0]["outputs"][0]["cached"] is False, err
    assert nginx.objects() == {}
    code, report, err = _compile_json(src, tmp_path / "pr2", "-f", "docx",
                                      env={"RESUMEC_REMOTE_CACHE": nginx.url, "RESUMEC_REMOTE_CACHE_READ_ONLY": "1"})
    assert code == 0 and nginx.objects() == {}


def test_outage_warns_once_and_the_build_succeeds(tmp_path):
    """Nothing listens at the URL: one warning (password hidden), the build goes on with the local cache."""
    src = tmp_path / "cv.json"
    src.write_bytes((SAMPLES / "minimal.json").read_bytes())
    url = f"http://ci:{HTTP_PASSWORD}@127.0.0.1:{free_port()}/cache/"
    code, report, err = _compile_json(src, tmp_path / "c", "--remote-cache", url, "-f", "docx")
    assert code == 0, err
    warnings = report["results"][0]["warnings"]
    assert len(warnings) == 1 and "unavailable" in warnings[0] and "127.0.0.1" in warnings[0]
    assert_no_secrets(err, json.dumps(report))


@pytest.mark.parametrize("url", ["ftp://h/x", "redis://:secretpw@host:notaport/0", "http://"])
def test_bad_remote_url_is_a_usage_error_without_the_password(url, tmp_path):
    from conftest import run_cli

    src = tmp_path / "cv.json"
    src.write_bytes((SAMPLES / "minimal.json").read_bytes())
    for args, env in ((["--remote-cache", url], None), ([], {"RESUMEC_REMOTE_CACHE": url})):
        proc = run_cli("compile", str(src), "-f", "docx", *args, env=env)
        assert proc.returncode == 2, proc.stderr
        assert b"secretpw" not in proc.stderr and b"Traceback" not in proc.stderr
