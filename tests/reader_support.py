"""Shared by the reader tests: read a fixture through the reader the registry picks for it."""

from __future__ import annotations

from pathlib import Path

from tools.models import Evidence, Malformed
from tools.readers.base import HEAD_BYTES, ReadContext
from tools.readers.registry import pick_reader


def read_picked(path: Path, rel: str, ctx: ReadContext | None = None) -> tuple[str, list[Evidence], list[Malformed]]:
    """(name of the reader the registry chose, records, malformed) for one file, as ingest would read it."""
    head = path.read_bytes()[:HEAD_BYTES].decode("utf-8", errors="replace")
    reader = pick_reader(path, head)
    assert reader is not None, f"no reader for {rel}"
    items = list(reader.read(path, rel, ctx or ReadContext(root=path.parent)))
    return (reader.name, [i for i in items if isinstance(i, Evidence)],
            [i for i in items if isinstance(i, Malformed)])
