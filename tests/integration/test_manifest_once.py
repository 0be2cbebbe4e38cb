"""incident.yaml is interpreted once, by the manifest reader, and scoping uses that parse.

The case that used to break: a manifest with `timezone: America/New_York` and a naive window.
Ingest read the window in New York time, scoping read it as UTC, and the two windows were five
hours apart (January: UTC-5).
"""

from __future__ import annotations

import tarfile
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

import tools.readers.manifest as manifest_mod
from agent.engine import OfflineEngine
from agent.model import Scope, TimelineEvent
from agent.offline.scoping import (NO_MANIFEST, scope_after_ingest, scope_from_manifest,
                                   scope_from_parsed)
from agent.runner import run_draft
from agent.offline.window_facts import WindowFacts
from tools.ingest import ingest
from tools.models import Inventory
from tools.readers.manifest import load_manifest
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

UTC = timezone.utc
MANIFEST = """\
title: Checkout latency regression
severity: SEV2
commander: Incident commander on call
timezone: America/New_York
window:
  start: 2024-01-16 09:00:00
  end: 2024-01-16 10:30:00
services: [checkout-api]
"""
# What the manifest means: 09:00 and 10:30 in New York in January are 14:00 and 15:30 UTC.
START, END = datetime(2024, 1, 16, 14, 0, tzinfo=UTC), datetime(2024, 1, 16, 15, 30, tzinfo=UTC)
LOG = "\n".join(
    f'{{"ts": "2024-01-16T14:{m:02d}:00Z", "level": "ERROR", "service": "checkout-api", '
    f'"msg": "upstream timeout after 30s"}}' for m in range(5, 40, 5)
) + "\n"


def _dump(root: Path) -> Path:
    dump = root / "inc"
    (dump / "logs").mkdir(parents=True)
    (dump / "incident.yaml").write_text(MANIFEST, encoding="utf-8")
    (dump / "logs" / "checkout-api.jsonl").write_text(LOG, encoding="utf-8")
    return dump


def _archive(dump: Path) -> Path:
    out = dump.parent / f"{dump.name}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(dump, arcname=dump.name)
    return out


def _ingest(dump: Path, work: Path) -> Inventory:
    writer = StoreWriter.create(work / "evidence.db")
    try:
        return ingest(dump, writer, workdir=work / "extracted", workers=1)
    finally:
        writer.close()


def test_reader_reads_the_naive_window_in_the_manifest_zone(tmp_path: Path) -> None:
    m = load_manifest(_dump(tmp_path) / "incident.yaml")
    assert (m.window_start, m.window_end) == (START, END) and not m.problems


def test_scope_uses_the_zone_before_and_after_ingest(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    preview = scope_from_manifest(dump)
    assert (preview.window_start, preview.window_end) == (START, END)
    inv = _ingest(dump, tmp_path / "w")
    assert inv.manifest, "ingest stores its parsed manifest in the inventory"
    final = scope_after_ingest(preview, inv, dump.name)
    assert (final.window_start, final.window_end) == (START, END)
    assert final.title == "Checkout latency regression" and final.services == ["checkout-api"]
    assert final.declared_severity == "SEV2" and final.manifest_notes == []


def test_archive_manifest_reaches_the_scope_only_through_ingest(tmp_path: Path) -> None:
    archive = _archive(_dump(tmp_path))
    preview = scope_from_manifest(archive)
    assert preview.window_start is None and preview.commander == "[DATA GAP]"
    final = scope_after_ingest(preview, _ingest(archive, tmp_path / "w"), archive.name)
    assert (final.window_start, final.window_end) == (START, END)
    assert final.commander == "Incident commander on call"


def test_values_set_at_the_scope_gate_survive(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    corrected = scope_from_manifest(dump).model_copy(update={"title": "Checkout p99 over SLO",
                                                             "services": ["checkout-api", "cart"]})
    final = scope_after_ingest(corrected, _ingest(dump, tmp_path / "w"), dump.name)
    assert final.title == "Checkout p99 over SLO" and final.services == ["checkout-api", "cart"]
    assert final.window_start == START


def test_no_manifest_is_a_data_gap_after_ingest(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    (dump / "incident.yaml").unlink()
    final = scope_after_ingest(scope_from_manifest(dump), _ingest(dump, tmp_path / "w"), dump.name)
    assert final.window_start is None and final.manifest_notes == [NO_MANIFEST]
    assert scope_from_parsed(None, "x").title == "Incident review of x"


def test_manifest_problems_become_scope_notes(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    (dump / "incident.yaml").write_text(MANIFEST.replace("America/New_York", "Mars/Olympus_Mons"))
    final = scope_after_ingest(None, _ingest(dump, tmp_path / "w"), dump.name)
    assert any("Mars/Olympus_Mons" in n for n in final.manifest_notes)
    # Unknown zone: the reader assumes UTC, and so does the scope (one decision, not two).
    assert final.window_start == datetime(2024, 1, 16, 9, 0, tzinfo=UTC)


def test_an_edited_manifest_is_parsed_again(tmp_path: Path) -> None:
    path = _dump(tmp_path) / "incident.yaml"
    assert load_manifest(path).timezone == "America/New_York"
    path.write_text(MANIFEST.replace("America/New_York", "Europe/Paris"))
    assert load_manifest(path).timezone == "Europe/Paris"


class _Recorder(OfflineEngine):
    """The offline engine, remembering the scope the timeline stage was given."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    def timeline(self, store: EvidenceReader, scope: Scope, facts: WindowFacts | None = None) -> list[TimelineEvent]:
        self.scopes.append(scope)
        return super().timeline(store, scope, facts)


@pytest.mark.parametrize("as_archive", [False, True])
def test_a_draft_parses_the_manifest_once_and_scopes_by_it(tmp_path: Path, as_archive: bool,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    dump = _dump(tmp_path)
    # A manifest text no other test uses, so no earlier parse is remembered.
    (dump / "incident.yaml").write_text(MANIFEST + f"# {tmp_path.name} {as_archive}\n")
    target = _archive(dump) if as_archive else dump
    calls: list[str] = []
    real = yaml.safe_load

    def counting(text: str) -> object:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(manifest_mod.yaml, "safe_load", counting)
    engine = _Recorder()
    run_draft(target, base=tmp_path / "work", engine=engine, today=date(2024, 1, 20))
    assert len([c for c in calls if "America/New_York" in c]) == 1
    assert engine.scopes and (engine.scopes[0].window_start, engine.scopes[0].window_end) == (START, END)
