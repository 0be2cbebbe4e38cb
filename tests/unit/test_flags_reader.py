"""Feature-flag and config audit logs (Unleash, LaunchDarkly, Flagsmith) as CHANGE records."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from tools.models import EvidenceKind
from tools.readers.flags import MAX_VALUE_CHARS
from tests.reader_support import read_picked

UTC = timezone.utc
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "flags"


read = read_picked


def test_unleash_events_actions_diff_and_bad_entry() -> None:
    name, evs, bad = read(FIX / "unleash-events.json", "flags/unleash-events.json")
    assert name == "flags" and all(e.kind == EvidenceKind.CHANGE for e in evs)
    off, ramp, on, variants = evs
    assert off.id == "change:flags/unleash-events.json:1" and off.ts == datetime(2024, 4, 25, 14, 30, tzinfo=UTC)
    assert (off.attrs["change_type"], off.attrs["target"], off.attrs["action"]) == ("flag", "search-reranker-v2", "disabled")
    assert off.attrs["actor"] == "ops-bot" and off.attrs["environment"] == "production"
    assert off.text == "flag search-reranker-v2 disabled in production by ops-bot"
    assert ramp.attrs["action"] == "updated" and ramp.attrs["raw_action"] == "feature-strategy-update"
    assert ramp.attrs["before"]["parameters"]["rollout"] == "25" and ramp.attrs["after"]["parameters"]["rollout"] == "100"
    assert "strategy flexibleRollout updated" in ramp.text and "(rollout 25 → 100)" in ramp.text
    assert on.attrs["action"] == "enabled"
    # An offset in the source is honoured; an oversized after-value is kept as clipped text.
    assert variants.ts == datetime(2024, 4, 24, 15, tzinfo=UTC) and "environment" not in variants.attrs
    assert isinstance(variants.attrs["after"], str) and len(variants.attrs["after"]) == MAX_VALUE_CHARS
    assert len(bad) == 1 and bad[0].locator == "entry 4"


def test_launchdarkly_audit_log_entries() -> None:
    name, evs, bad = read(FIX / "launchdarkly-auditlog.json", "ld.json")
    assert name == "flags" and not bad
    on, rules, segment = evs
    assert on.ts == datetime(2024, 4, 25, 14, tzinfo=UTC)  # `date` is epoch milliseconds
    assert (on.attrs["target"], on.attrs["environment"], on.attrs["action"]) == ("new-checkout", "production", "enabled")
    assert on.attrs["actor"] == "Sam Rivera" and on.attrs["comment"] == "ramping after canary"
    assert on.text.startswith("flag new-checkout enabled in production by Sam Rivera")
    assert rules.attrs["action"] == "updated" and rules.attrs["raw_action"] == "updateRules"
    assert rules.attrs["actor"] == "terraform" and rules.attrs["environment"] == "staging"
    assert segment.attrs["change_type"] == "config" and segment.attrs["target"] == "Beta users"


def test_flagsmith_audit_log() -> None:
    name, (upd, created), bad = read(FIX / "flagsmith-audit.json", "fs.json")
    assert name == "flags" and not bad
    assert upd.attrs["target"] == "checkout_v2" and upd.attrs["action"] == "updated"
    assert upd.attrs["actor"] == "Kim Ng" and upd.attrs["environment"] == "Production"
    assert upd.ts == datetime(2024, 4, 25, 14, 5, 12, 345678, tzinfo=UTC)
    assert created.attrs["action"] == "created" and "actor" not in created.attrs and created.attrs["change_type"] == "flag"


def test_json_lines_audit_events_and_truncated_document(tmp_path: Path) -> None:
    events = json.loads((FIX / "unleash-events.json").read_text())["events"]
    p = tmp_path / "events.log"
    p.write_text(json.dumps(events[0]) + "\n" + "{broken\n" + json.dumps(events[2]) + "\n")
    name, evs, bad = read(p, "events.log")
    assert name == "flags" and [e.attrs["action"] for e in evs] == ["disabled", "enabled"]
    assert len(bad) == 1 and bad[0].locator == "line 2"
    t = tmp_path / "cut.json"
    t.write_text((FIX / "unleash-events.json").read_text()[:900])
    name, evs, bad = read(t, "cut.json")
    assert name == "flags" and not evs and len(bad) == 1 and "truncated JSON" in bad[0].reason


def test_plain_json_logs_are_not_flag_audits(tmp_path: Path) -> None:
    p = tmp_path / "app.jsonl"
    p.write_text("\n".join(json.dumps({"timestamp": "2024-04-25T14:00:00Z", "type": "request-done", "msg": "ok"})
                           for _ in range(3)) + "\n")
    name, _, _ = read(p, "app.jsonl")
    assert name != "flags"
