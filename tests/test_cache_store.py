"""The cache store on its own: blobs, manifests, verification, eviction (resumec/cache.py)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from resumec.cache import Cache, parse_size


def make_cache(tmp_path: Path, **kw) -> tuple[Cache, list[str]]:
    warnings: list[str] = []
    return Cache(tmp_path / "c", warn=warnings.append, **kw), warnings


def test_roundtrip_and_verification(tmp_path):
    cache, warnings = make_cache(tmp_path)
    digest = cache.put("k" * 64, b"%PDF-hello", "pdf")
    assert digest == hashlib.sha256(b"%PDF-hello").hexdigest()
    assert cache.get("k" * 64) == (digest, b"%PDF-hello")
    assert cache.get("x" * 64) is None
    assert warnings == []


def test_truncated_blob_is_dropped_not_served(tmp_path):
    cache, warnings = make_cache(tmp_path)
    digest = cache.put("a" * 64, b"%PDF- some pdf bytes", "pdf")
    blob = cache.base / "objects" / digest[:2] / digest[2:]
    blob.write_bytes(b"%PDF- some pdf")  # truncated
    assert cache.get("a" * 64) is None
    assert not blob.exists()
    assert any("corrupt" in w for w in warnings)


def test_garbage_manifest_and_missing_blob(tmp_path):
    cache, warnings = make_cache(tmp_path)
    digest = cache.put("b" * 64, b"PK\x03\x04data", "docx")
    manifest = cache.base / "keys" / "bb" / ("b" * 62)
    manifest.write_bytes(b"\x00garbage{")
    assert cache.get("b" * 64) is None
    assert not manifest.exists()
    cache.put("c" * 64, b"PK\x03\x04data2", "docx")
    d2 = hashlib.sha256(b"PK\x03\x04data2").hexdigest()
    (cache.base / "objects" / d2[:2] / d2[2:]).unlink()
    assert cache.get("c" * 64) is None
    assert digest


@pytest.mark.parametrize("kind", ["file", "readonly"])
def test_unusable_location_warns_once_and_continues(tmp_path, kind):
    root = tmp_path / "c"
    if kind == "file":
        root.write_text("not a directory")
    else:
        root.mkdir()
        root.chmod(0o500)
        if os.access(root, os.W_OK):  # root user ignores permissions
            root.chmod(0o700)
            root.rmdir()
            root.write_text("not a directory")
    warnings: list[str] = []
    cache = Cache(root, warn=warnings.append)
    assert cache.put("d" * 64, b"x", "pdf") == hashlib.sha256(b"x").hexdigest()
    cache.put("e" * 64, b"y", "pdf")
    assert cache.get("d" * 64) is None
    assert len(warnings) == 1 and "unusable" in warnings[0]


def test_lru_eviction_keeps_size_bound_and_recent_entries(tmp_path):
    cache, _ = make_cache(tmp_path, max_size=10_000)
    keys = []
    for i in range(10):
        key = f"{i:02d}" * 32
        cache.put(key, b"%PDF-" + os.urandom(1_995), "pdf")
        old = time.time() - 1000 + i  # older entries first
        os.utime(cache._key_path(key), (old, old))
        os.utime(cache._blob_path(cache.lookup(key)), (old, old))
        keys.append(key)
    cache.get(keys[0])  # recently used again: must survive
    cache.maybe_evict()
    info = cache.info()
    assert info["size"] <= 10_000
    assert cache.get(keys[0]) is not None
    assert cache.get(keys[9]) is not None
    assert cache.get(keys[1]) is None
    assert cache.stats().get("evictions", 0) >= 1


def test_prune_to_zero_and_clear(tmp_path):
    cache, _ = make_cache(tmp_path)
    cache.put("f" * 64, b"%PDF-1", "pdf")
    cache.record(pdf_hits=2, pdf_misses=1)
    assert cache.info()["entries"] == 1
    assert cache.stats() == {"pdf_hits": 2, "pdf_misses": 1}
    cache.prune(0)
    assert cache.info()["size"] == 0 and cache.info()["entries"] == 0
    cache.put("f" * 64, b"%PDF-1", "pdf")
    assert cache.clear() == 2
    assert cache.info()["entries"] == 0 and cache.stats() == {}


def test_parse_size():
    assert parse_size("500M") == 500_000_000
    assert parse_size("2G") == 2_000_000_000
    assert parse_size("1Ki") == 1024
    assert parse_size("123") == 123
    with pytest.raises(ValueError):
        parse_size("lots")


def test_prune_removes_temp_files_left_by_killed_writers(tmp_path):
    cache, _ = make_cache(tmp_path)
    digest = cache.put("9" * 64, b"%PDF-kept", "pdf")
    shard = cache.base / "objects" / digest[:2]
    old_tmp, new_tmp = shard / ".tmp-old", shard / ".tmp-new"
    old_tmp.write_bytes(b"half a blob")
    new_tmp.write_bytes(b"being written right now")
    os.utime(old_tmp, (time.time() - 7200, time.time() - 7200))
    cache.prune()
    assert not old_tmp.exists() and new_tmp.exists()
    assert cache.get("9" * 64) is not None
