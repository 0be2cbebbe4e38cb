"""Compressed single files are decompressed at the door and read under their original name."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

import tools.archive as archive
from tools.decompress import compression_of, inner_name
from tools.ingest import ingest
from tools.models import Inventory
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

JSONL = (
    b'{"ts": "2025-03-02T10:00:00Z", "level": "info", "service": "rag-api", "msg": "retriever ready"}\n'
    b'{"ts": "2025-03-02T10:00:05Z", "level": "error", "service": "rag-api", "msg": "index shard missing"}\n'
)
ISO_LINE = b"2025-03-02T10:00:00Z INFO worker started\n"


def run(dump: Path, tmp_path: Path, **kw: object) -> tuple[Inventory, EvidenceReader]:
    writer = StoreWriter.create(tmp_path / "store.db")
    inv = ingest(dump, writer, workdir=tmp_path / "work", **kw)  # type: ignore[arg-type]
    return inv, writer.reader()


def compress(method: str, data: bytes) -> bytes:
    if method == "gz":
        return gzip.compress(data)
    if method == "bz2":
        return bz2.compress(data)
    if method == "xz":
        return lzma.compress(data)
    return zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize("method", ["gz", "bz2", "xz", "zst"])
def test_compressed_jsonl_is_a_jsonl_source_with_stable_ids(tmp_path: Path, method: str) -> None:
    dump = tmp_path / "d"
    (dump / "logs").mkdir(parents=True)
    name = f"rag-api-2025-03-02.jsonl.{method}"
    (dump / "logs" / name).write_bytes(compress(method, JSONL))
    inv, store = run(dump, tmp_path)
    src = {s.path: s for s in inv.sources}[f"logs/{name}"]
    assert src.kind == "log.jsonl" and src.records == 2
    assert "decompressed" in src.note
    ev = store.get(f"log:logs/{name}:2")
    assert ev is not None and ev.level == "error" and ev.service == "rag-api"
    assert not any(s.path.startswith(f"logs/{name}") for s in inv.skipped)


def test_a_single_compressed_file_given_as_the_dump(tmp_path: Path) -> None:
    f = tmp_path / "worker.log.gz"
    f.write_bytes(gzip.compress(ISO_LINE))
    inv, store = run(f, tmp_path)
    assert store.get("log:worker.log.gz:1") is not None and inv.total_records == 1


def test_concatenated_gzip_members_are_all_read(tmp_path: Path) -> None:
    # `cat a.gz b.gz > c.gz` is how rotated logs are often glued together.
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "app.log.gz").write_bytes(gzip.compress(ISO_LINE) + gzip.compress(b"2025-03-02T10:00:01Z ERROR boom\n"))
    _, store = run(dump, tmp_path)
    assert store.get("log:app.log.gz:2") is not None


def test_tar_gz_is_still_an_archive_and_zst_tar_too(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("svc/app.log")
        info.size = len(ISO_LINE)
        tf.addfile(info, io.BytesIO(ISO_LINE))
    (dump / "bundle.tar.gz").write_bytes(gzip.compress(buf.getvalue()))
    (dump / "other.tar.zst").write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))
    inv, store = run(dump, tmp_path)
    assert store.get("log:bundle.tar.gz/svc/app.log:1") is not None
    assert store.get("log:other.tar.zst/svc/app.log:1") is not None


@pytest.mark.parametrize("method", ["gz", "bz2", "xz", "zst"])
def test_truncated_stream_keeps_what_came_before_the_cut(tmp_path: Path, method: str) -> None:
    lines = b"".join(b"2025-03-02T10:%02d:00Z INFO line %d %d\n" % (i % 60, i, i * 7919 % 104729) for i in range(60_000))
    whole = compress(method, lines)
    dump = tmp_path / "d"
    dump.mkdir()
    name = f"app.log.{method}"
    (dump / name).write_bytes(whole[: len(whole) * 3 // 4])  # copied while still being written
    inv, store = run(dump, tmp_path)
    src = {s.path: s for s in inv.sources}[name]
    assert 0 < src.records < 60_000 and store.get(f"log:{name}:1") is not None
    partly = {s.path: s.note for s in inv.skipped}[name]
    assert partly.startswith("partly read") and "truncated" in partly


def test_multi_frame_zstd_is_read_to_the_end(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "app.log.zst").write_bytes(compress("zst", ISO_LINE) + compress("zst", b"2025-03-02T10:00:01Z ERROR two\n"))
    _, store = run(dump, tmp_path)
    assert store.get("log:app.log.zst:2") is not None


def test_garbage_after_magic_is_skipped_with_a_reason(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "broken.log.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    (dump / "ok.log").write_bytes(ISO_LINE)
    inv, store = run(dump, tmp_path)
    note = {s.path: s.note for s in inv.skipped}["broken.log.gz"]
    assert note.startswith("skipped: gzip file, nothing could be decompressed")
    assert store.get("log:ok.log:1") is not None


def test_size_budget_is_shared_by_archives_and_compressed_files(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    body = b"2025-03-02T10:00:00Z INFO " + b"x" * 500 + b"\n"  # 527 bytes, each source alone fits 1000
    with zipfile.ZipFile(dump / "a.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.log", body)
    (dump / "b.log.gz").write_bytes(gzip.compress(body))
    inv, store = run(dump, tmp_path, max_archive_bytes=1000)
    assert store.get("log:a.zip/a.log:1") is not None
    assert store.get("log:b.log.gz:1") is None
    assert "size limit of 1000 bytes for the whole dump" in {s.path: s.note for s in inv.skipped}["b.log.gz"]


def test_nested_zips_cannot_multiply_the_limit(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep.log", b"2025-03-02T10:00:00Z INFO " + b"y" * 700 + b"\n")
    dump = tmp_path / "d"
    dump.mkdir()
    with zipfile.ZipFile(dump / "outer.zip", "w") as zf:
        zf.writestr("inner.zip", inner.getvalue())
    inv, store = run(dump, tmp_path, max_archive_bytes=1200)
    # outer wrote the inner zip (~850 bytes); the inner member would push the total past 1200.
    assert store.get("log:outer.zip/inner.zip/deep.log:1") is None
    assert any("size limit" in s.note for s in inv.skipped if s.path.endswith("deep.log"))


def test_compression_ratio_cap_stops_a_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "RATIO_FLOOR", 10_000)  # the real floor is 64 MiB
    bomb = b"2025-03-02T10:00:00Z INFO same line again and again\n" * 40_000  # ~2 MB, packs to ~6 KB
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "bomb.log.xz").write_bytes(lzma.compress(bomb))
    with zipfile.ZipFile(dump / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.log", bomb)
    inv, store = run(dump, tmp_path)
    notes = {s.path: s.note for s in inv.skipped}
    assert "possible decompression bomb" in notes["bomb.log.xz"]
    assert "possible decompression bomb" in notes["bomb.zip/bomb.log"]
    src = {s.path: s for s in inv.sources}["bomb.log.xz"]
    assert 0 < src.records < 40_000  # what came before the cap is still read


def test_magic_and_names() -> None:
    assert compression_of(b"\x28\xb5\x2f\xfd\x00") == "zstd" and compression_of(b"BZh91AY") == "bzip2"
    assert compression_of(b"2025-03-02 plain") is None
    assert inner_name("rag-api.jsonl.gz") == "rag-api.jsonl" and inner_name("x.TGZ") == "x.tar"
    assert inner_name("messages.1.zst") == "messages.1" and inner_name("noext") == "noext"
