"""Worker start-up: a worker imports the one reader its unit needs, not the whole registry, and
not the parent's __main__ (the CLI's imports the whole agent)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tools.ingest_units as units
from tools.ingest_units import _reader
from tools.readers.registry import FILE_READERS


def test_every_reader_is_found_in_its_own_module(monkeypatch: pytest.MonkeyPatch) -> None:
    for reader in FILE_READERS:
        monkeypatch.setattr(units, "_READERS", {})  # no help from an earlier lookup
        assert _reader(reader.name, type(reader).__module__) is reader


def test_an_unknown_module_falls_back_to_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = {r.name: r for r in FILE_READERS}
    monkeypatch.setattr(units, "_READERS", {})
    assert _reader("log.access", "") is registry["log.access"]
    monkeypatch.setattr(units, "_READERS", {})
    assert _reader("log.klog", "tools.readers.logs_access") is registry["log.klog"]  # not in that module
    monkeypatch.setattr(units, "_READERS", {})
    assert _reader("log.klog", "not.a.reader.module") is registry["log.klog"]


def test_a_fresh_worker_imports_only_the_reader_it_needs() -> None:
    code = ("import sys, tools.ingest_units as u; r = u._reader('log.access', 'tools.readers.logs_access'); "
            "print(r.name, 'tools.readers.registry' in sys.modules, 'tools.readers.generic_text' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["log.access", "False", "False"]


_SCRIPT = """
import os, sys
from pathlib import Path
with open(sys.argv[2], "a") as f:
    f.write(f"{os.getpid()}\\n")
if __name__ == "__main__":
    from tools.ingest import ingest
    from tools.store.writer import StoreWriter
    root = Path(sys.argv[1])
    writer = StoreWriter.create(root / "e.sqlite")
    inv = ingest(root / "dump", writer, workdir=root / "work", workers=2, parallel_min_bytes=0)
    store = writer.reader()
    print(store.get_meta("ingest_stats")["workers"], inv.total_records)
"""
