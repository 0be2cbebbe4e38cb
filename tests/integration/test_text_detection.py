"""Text or binary by proportion, other encodings transcoded, invalid UTF-8 counted."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tools.decompress import count_invalid_utf8, sniff_text
from tools.ingest import ingest
from tools.models import Inventory
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

LOG = "2025-03-02T10:00:00Z INFO ingest started\n2025-03-02T10:00:05Z ERROR ingest failed: café ☕\n"


def run(dump: Path, tmp_path: Path) -> tuple[Inventory, EvidenceReader]:
    writer = StoreWriter.create(tmp_path / "store.db")
    return ingest(dump, writer, workdir=tmp_path / "work"), writer.reader()


def sources(inv: Inventory) -> dict[str, object]:
    return {s.path: s for s in inv.sources}


def test_utf16_with_and_without_bom_is_read(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "le_bom.log").write_bytes(LOG.encode("utf-16"))  # Python writes a LE BOM
    (dump / "be_nobom.log").write_bytes(LOG.encode("utf-16-be"))
    (dump / "le_nobom.log").write_bytes(LOG.encode("utf-16-le"))
    inv, store = run(dump, tmp_path)
    assert not inv.skipped
    for name, enc in (("le_bom.log", "UTF-16-LE"), ("be_nobom.log", "UTF-16-BE"), ("le_nobom.log", "UTF-16-LE")):
        src = sources(inv)[name]
        assert src.records == 2 and f"transcoded from {enc}" in src.note  # type: ignore[attr-defined]
        ev = store.get(f"log:{name}:2")
        assert ev is not None and ev.level == "error" and ev.text.endswith("café ☕")
    assert store.get("log:le_bom.log:1").text == "ingest started"  # no BOM left in the text


def test_utf8_bom_json_document_is_parsed(tmp_path: Path) -> None:
    # Windows tools write a BOM; json.loads rejects one at the start of a document.
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "gpu_memory_used_bytes", "instance": "node-1"},
         "values": [[1740909600, "1.5e10"], [1740909660, "1.6e10"]]}]}}
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "gpu.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    inv, store = run(dump, tmp_path)
    src = sources(inv)["gpu.json"]
    assert src.records == 1 and src.malformed == 0 and "byte-order mark removed" in src.note  # type: ignore[attr-defined]
    assert store.count(kinds=["metric"]) == 1


def test_nul_padding_and_a_stray_nul_do_not_make_a_log_binary(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    # A crash leaves zero-filled blocks; the service then appends after them.
    (dump / "crashed.log").write_bytes(b"2025-03-02T10:00:00Z INFO up\n" + b"\x00" * 4096
                                       + b"\n2025-03-02T10:01:00Z INFO restarted\n")
    (dump / "stray.log").write_bytes(b"2025-03-02T10:00:00Z INFO odd \x00 byte\n" * 3)
    inv, store = run(dump, tmp_path)
    assert not inv.skipped
    assert store.get("log:crashed.log:3") is not None and store.get("log:stray.log:3") is not None
    # The padding line is kept as a malformed line with its reason, never silently dropped.
    assert sources(inv)["crashed.log"].malformed == 1  # type: ignore[attr-defined]


def test_binary_and_zero_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "core.bin").write_bytes(os.urandom(8192))
    (dump / "zeros.log").write_bytes(b"\x00" * 8192)
    inv, _ = run(dump, tmp_path)
    notes = {s.path: s.note for s in inv.skipped}
    assert notes["core.bin"].startswith("skipped: binary file (") and "to include it" in notes["core.bin"]
    assert notes["zeros.log"].startswith("skipped: only NUL bytes")


def test_invalid_utf8_is_replaced_and_counted_in_the_note(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "latin1.log").write_bytes(b"2025-03-02T10:00:00Z INFO caf\xe9 cr\xe8me\n2025-03-02T10:00:01Z INFO ok\n")
    inv, store = run(dump, tmp_path)
    src = sources(inv)["latin1.log"]
    assert "2 bytes of invalid UTF-8 replaced" in src.note  # type: ignore[attr-defined]
    assert store.get("log:latin1.log:1").text == "caf\ufffd cr\ufffdme"


def test_invalid_utf8_count_is_exact_across_block_boundaries(tmp_path: Path) -> None:
    f = tmp_path / "x.log"
    block = 1024 * 1024
    # A valid 3-byte character split across the first block boundary, then two bad bytes later.
    data = b"a" * (block - 1) + "€".encode() + b"b" * 100 + b"\xff\xfe" + b"\n"
    f.write_bytes(data)
    assert count_invalid_utf8(f) == 2
    f.write_bytes(b"plain ascii\n" * 1000)
    assert count_invalid_utf8(f) == 0


def test_sniff_text_verdicts() -> None:
    assert sniff_text(b"\xff\xfe\x00\x00h\x00\x00\x00").encoding == "utf-32-le"
    assert sniff_text(b"\xef\xbb\xbf{}").encoding == "utf-8" and sniff_text(b"\xef\xbb\xbf{}").bom
    assert not sniff_text(b"plain text\n").needs_transcoding
    assert sniff_text(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00\x01\x00").encoding is None
    # Cyrillic in a single-byte code page: no control bytes, so text (bytes replaced later).
    assert sniff_text("Ошибка соединения\n".encode("cp1251") * 20).encoding == "utf-8"
