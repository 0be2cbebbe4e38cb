"""Unnamed Prometheus series take their file's name (and a query documented beside the file)."""

from __future__ import annotations

import json
from pathlib import Path

from tools.readers.base import ReadContext
from tools.readers.prometheus import READER


def _write(folder: Path, name: str, metric: dict[str, str]) -> Path:
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": metric, "values": [[1700000000, "0"], [1700000030, "0.5"]]}]}}
    p = folder / name
    p.write_text(json.dumps(doc))
    return p


def _read(p: Path) -> dict[str, object]:
    out = [r for r in READER.read(p, p.name, ReadContext(root=p.parent)) if hasattr(r, "attrs")]
    assert len(out) == 1
    return out[0].attrs  # type: ignore[union-attr,no-any-return]


def test_unnamed_series_is_named_by_its_file_and_documented_query(tmp_path: Path) -> None:
    (tmp_path / "QUERIES.md").write_text(
        "| file | query |\n|---|---|\n| errors_ratio.json | `sum(rate(req{code=~\"5..\"}[2m])) / sum(rate(req[2m]))` |\n")
    attrs = _read(_write(tmp_path, "errors_ratio.json", {"service": "gw"}))
    assert attrs["name"] == "errors_ratio"
    assert str(attrs["query"]).startswith("sum(rate(req{code=~")


def test_named_series_keeps_its_name_and_undocumented_file_has_no_query(tmp_path: Path) -> None:
    attrs = _read(_write(tmp_path, "a.json", {"__name__": "up", "job": "x"}))
    assert attrs["name"] == "up"
    attrs = _read(_write(tmp_path, "queue_depth.json", {}))
    assert attrs["name"] == "queue_depth" and "query" not in attrs


def test_the_unit_is_stored_at_ingest_also_for_recording_rules_and_unit_words(tmp_path: Path) -> None:
    # The impact stage reads this stored unit; it no longer guesses from the name itself.
    assert _read(_write(tmp_path, "a.json", {"__name__": "job:request_duration_seconds:p99_5m"}))["unit"] == "s"
    assert _read(_write(tmp_path, "b.json", {"__name__": "vllm:gen_toks_per_s"}))["unit"] == "tokens/s"
    assert _read(_write(tmp_path, "c.json", {"__name__": "gpu_mem_bytes_total"}))["unit"] == "bytes"
    assert "unit" not in _read(_write(tmp_path, "d.json", {"__name__": "queue_depth"}))
