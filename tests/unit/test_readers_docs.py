"""PagerDuty, Alertmanager, Prometheus, LLM traces and Kubernetes events readers."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.registry import pick_reader

UTC = timezone.utc
DUMP = Path(__file__).resolve().parents[1] / "fixtures" / "readers" / "dump"


def read(path: Path, rel: str, **kw: object) -> tuple[str, list[Evidence], list[Malformed]]:
    reader = pick_reader(path, path.read_bytes()[:65536].decode("utf-8", errors="replace"))
    assert reader is not None
    items = list(reader.read(path, rel, ReadContext(root=path.parent, **kw)))  # type: ignore[arg-type]
    return (
        reader.name,
        [i for i in items if isinstance(i, Evidence)],
        [i for i in items if isinstance(i, Malformed)],
    )


def test_pagerduty_incident_and_log_entries() -> None:
    name, evs, bad = read(DUMP / "pagerduty" / "incident.json", "pagerduty/incident.json")
    assert name == "pagerduty"
    by_id = {e.id: e for e in evs}
    inc = by_id["pd:PT4KHLK"]
    assert inc.kind == EvidenceKind.PAGE and inc.ts == datetime(2024, 4, 25, 14, 5, 30, tzinfo=UTC)
    assert inc.attrs["urgency"] == "high" and inc.attrs["service"] == "ranker" and inc.service == "ranker"
    types = {e.id.split(":")[-1]: e.attrs["entry_type"] for e in evs if e.id != "pd:PT4KHLK"}
    assert types == {"R1": "trigger", "R2": "notify", "R3": "acknowledge", "R4": "annotate", "R5": "resolve"}
    ack = by_id["pd:PT4KHLK:R3"]
    assert ack.attrs["agent"] == "Dana Ortiz" and ack.attrs["urgency"] == "high"
    assert "Rollback of ranker v42 started" in by_id["pd:PT4KHLK:R4"].text
    assert by_id["pd:PT4KHLK:R2"].attrs["channel"] == "sms"
    # The entry without created_at is reported, not dropped silently.
    assert len(bad) == 1 and "created_at" in bad[0].reason


def test_pagerduty_incidents_list_and_truncated_file(tmp_path: Path) -> None:
    p = tmp_path / "pd.json"
    p.write_text(json.dumps({"incidents": [
        {"id": "A", "type": "incident", "incident_number": 1, "created_at": "2024-04-25T10:00:00-04:00", "urgency": "low", "title": "t"},
        {"id": "B", "type": "incident", "incident_number": 2, "created_at": "2024-04-25T15:00:00Z"},
    ]}))
    _, evs, _ = read(p, "pd.json")
    assert [e.id for e in evs] == ["pd:A", "pd:B"] and evs[0].ts == datetime(2024, 4, 25, 14, tzinfo=UTC)
    p.write_text(p.read_text()[:-40])
    _, evs, bad = read(p, "pd.json")
    assert evs == [] and len(bad) == 1 and "truncated JSON" in bad[0].reason


def test_alertmanager_jsonl_firing_resolved_and_unset_end() -> None:
    name, evs, bad = read(DUMP / "alerts" / "alertmanager.jsonl", "alerts/alertmanager.jsonl")
    assert name == "alertmanager"
    firing, resolved = evs
    assert firing.id == "alert:alerts/alertmanager.jsonl:0:0"
    assert firing.ts == datetime(2024, 4, 25, 14, 4, 45, tzinfo=UTC) and firing.attrs["ends_at"] is None
    assert firing.attrs["status"] == "firing" and firing.level == "critical" and firing.service == "ranker"
    assert firing.attrs["receiver"] == "pagerduty-ml" and firing.attrs["labels"]["severity"] == "critical"
    # Resolved alerts are placed at endsAt.
    assert resolved.ts == datetime(2024, 4, 25, 15, 10, tzinfo=UTC) and resolved.attrs["status"] == "resolved"
    reasons = sorted(m.reason.split(":")[0] for m in bad)
    assert reasons == ["alert without a valid startsAt/endsAt", "invalid JSON"]


def test_alertmanager_single_object_and_array(tmp_path: Path) -> None:
    payload = {"version": "4", "status": "firing", "receiver": "r", "groupKey": "g",
               "alerts": [{"labels": {"alertname": "A", "job": "api"}, "startsAt": "2024-04-25T14:00:00Z", "fingerprint": "f"}]}
    p = tmp_path / "am.json"
    p.write_text(json.dumps(payload, indent=2))
    _, evs, _ = read(p, "am.json")
    assert len(evs) == 1 and evs[0].service == "api" and evs[0].attrs["status"] == "firing"
    p.write_text(json.dumps([payload, payload], indent=1))
    _, evs, _ = read(p, "am.json")
    assert [e.id for e in evs] == ["alert:am.json:0:0", "alert:am.json:1:0"]


def test_prometheus_wrappers_summary_and_bad_series() -> None:
    name, evs, bad = read(DUMP / "metrics" / "latency.json", "metrics/latency.json")
    assert name == "prometheus"
    q, errs = evs
    assert q.attrs["name"].startswith("histogram_quantile(0.99") and len(q.attrs["samples"]) == 4
    # NaN is kept as a sample but excluded from the summary statistics.
    assert "4 samples" in q.text and "max 2.4" in q.text and "min 0.21" in q.text
    assert q.ts == datetime(2024, 4, 25, 14, tzinfo=UTC)
    assert errs.attrs["name"] == "ranker_errors_total" and errs.attrs["labels"]["job"] == "ranker"
    assert errs.text.startswith('ranker_errors_total{job="ranker",instance="10.0.0.1:9090"}: 2 samples')
    assert errs.id == "metric:metrics/latency.json:1"
    assert {m.locator for m in bad} == {"series 2", "query 2"}


def test_prometheus_bare_response_unit_from_name() -> None:
    _, evs, _ = read(DUMP / "metrics" / "gpu.json", "metrics/gpu.json")
    assert evs[0].attrs["unit"] == "bytes" and evs[0].attrs["samples"][1] == [1714053660.0, 7.9e10]


def test_llm_traces_shapes_usage_and_errors() -> None:
    name, evs, bad = read(DUMP / "traces" / "llm.jsonl", "traces/llm.jsonl")
    assert name == "trace.llm" and len(bad) == 1
    a, b, c = evs
    assert a.attrs["total_tokens"] == 134 and a.attrs["latency_ms"] == 812 and a.attrs["cost_usd"] == 0.0004
    assert "user: Rank these 3 products" in a.text and "output: 1. runner" in a.text
    assert "You rank items" not in a.text  # the last user message, not the system prompt
    assert b.attrs["prompt_tokens"] == 50 and b.attrs["total_tokens"] == 59 and b.attrs["latency_ms"] == 1500
    assert "The ranker failed" in b.text and b.ts == datetime(2024, 4, 25, 14, 10, 10, 500000, tzinfo=UTC)
    assert c.level == "error" and c.attrs["error"] == "Rate limit exceeded" and c.attrs["status"] == 429


def test_llm_trace_text_is_bounded(tmp_path: Path) -> None:
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"model": "m", "prompt": "q" * 5000, "completion": "a" * 5000}) + "\n")
    _, evs, _ = read(p, "t.jsonl")
    assert len(evs[0].text) < 1200


def test_k8s_events_timestamps_and_attrs() -> None:
    name, evs, bad = read(DUMP / "k8s" / "events.json", "k8s/events.json", services=["ranker"])
    assert name == "k8s_events" and len(bad) == 1
    backoff, scaled = sorted(evs, key=lambda e: e.attrs["reason"])
    assert backoff.id == "k8s:k8s/events.json:5b1c-uid-1"
    assert backoff.ts == datetime(2024, 4, 25, 14, 12, tzinfo=UTC)  # lastTimestamp wins
    assert backoff.attrs["count"] == 7 and backoff.attrs["type"] == "Warning" and backoff.level == "warning"
    assert backoff.service == "ranker"  # manifest service prefix of the pod name
    assert scaled.ts == datetime(2024, 4, 25, 14, 7, tzinfo=UTC)  # eventTime when no lastTimestamp
    assert scaled.id == "k8s:k8s/events.json:1" and scaled.service == "embed-gateway"


@pytest.mark.parametrize("name", ["pagerduty/incident.json", "metrics/gpu.json", "k8s/events.json", "alerts/alertmanager.jsonl"])
def test_content_sniffing_ignores_file_name(tmp_path: Path, name: str) -> None:
    original = DUMP / name
    renamed = tmp_path / "export.dat"
    renamed.write_bytes(original.read_bytes())
    head = renamed.read_text()[:65536]
    assert pick_reader(renamed, head) is pick_reader(original, original.read_text()[:65536])


def test_trace_lines_quoting_other_formats_stay_traces(tmp_path: Path) -> None:
    quoted = '{"status":"success","data":{"resultType":"matrix","result":[]}} and "alerts": [ "startsAt": "receiver":'
    p = tmp_path / "calls.jsonl"
    p.write_text("\n".join(json.dumps({"model": "m", "prompt": f"explain {quoted}", "output": "ok"}) for _ in range(3)) + "\n")
    name, evs, _ = read(p, "calls.jsonl")
    assert name == "trace.llm" and len(evs) == 3


def test_first_trace_longer_than_the_sniff_window(tmp_path: Path) -> None:
    p = tmp_path / "rag.jsonl"
    long_line = json.dumps({"model": "m", "messages": [{"role": "user", "content": "ctx " * 40000}], "output": "a"})
    p.write_text(long_line + "\n" + json.dumps({"model": "m", "prompt": "short", "output": "b"}) + "\n")
    name, evs, bad = read(p, "rag.jsonl")
    assert name == "trace.llm" and len(evs) == 2 and not bad


@pytest.mark.parametrize(
    "reader_mod, doc",
    [
        ("pagerduty", {"incidents": "x", "incident": [1], "log_entries": [1, None, {"id": 5, "created_at": 12, "incident": "x", "agent": []}]}),
        ("pagerduty", {"log_entries": [{"id": "L", "type": 7, "created_at": "2024-04-25T14:00:00Z", "channel": "sms", "assignees": [None, 3]}]}),
        ("prometheus", {"status": "success", "data": {"resultType": "matrix", "result": [None, {"metric": [], "values": [[None], "x", [1, 2, 3]]}, {"values": 5}]}}),
        ("prometheus", [{"query": 5, "response": None}, 7]),
        ("k8s_events", {"kind": "List", "items": ["x", {"involvedObject": "pod", "lastTimestamp": 5, "metadata": []}]}),
        ("alertmanager", [{"alerts": [None, {"labels": [], "annotations": "x", "startsAt": "bogus"}]}, 3]),
    ],
)
def test_hostile_structures_are_reported_not_raised(tmp_path: Path, reader_mod: str, doc: object) -> None:
    import importlib

    reader = importlib.import_module(f"tools.readers.{reader_mod}").READER
    p = tmp_path / "x.json"
    p.write_text(json.dumps(doc))
    items = list(reader.read(p, "x.json", ReadContext(root=tmp_path)))
    assert items
    # Every case but the lenient PagerDuty entry contains at least one unusable record.
    if '"id": "L"' not in p.read_text():
        assert any(isinstance(i, Malformed) for i in items)
    for ev in items:
        if isinstance(ev, Evidence):
            Evidence.model_validate(ev.model_dump())  # what we built bypassing validation is valid
