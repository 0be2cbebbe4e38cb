"""The three bundled examples, drafted offline, checked against values computed here from the raw
files (not from the engine): the timeline's key events, the top trigger, severity, review type,
and the request counts over the report's own impact window."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from agent.runner import RunResult, run_draft
from evals.ground_truth import load_ground_truth
from tests.integration.test_dataset import ACCESS

# Health checks and scrapes are not user requests (computed here independently of tools/probes.py).
PROBE = re.compile(r"/(?:healthz?|readyz?|livez?|metrics|ping)\b")


def _request_lines(dump: Path) -> list[tuple[datetime, int, str]]:
    """(time, status, path) of every request line in the example's access logs and JSON lines."""
    out: list[tuple[datetime, int, str]] = []
    for path in sorted((dump / "logs").glob("*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = ACCESS.match(line)
            if m:
                out.append((datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S %z"), int(m.group(2)), line))
            elif line.startswith("{"):
                rec = json.loads(line)
                if isinstance(rec.get("status"), int):
                    ts = datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00"))
                    out.append((ts, rec["status"], str(rec.get("path") or "")))
    return out

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("vllm-oom-upgrade", "rag-stale-index", "minor-eval-flake")


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    base = tmp_path_factory.mktemp("examples")
    return {n: run_draft(ROOT / "examples" / n, base=base, today=date(2026, 4, 27)) for n in EXAMPLES}


@pytest.mark.parametrize("name", EXAMPLES)
def test_key_events_trigger_severity(name: str, drafts: dict[str, RunResult]) -> None:
    gt = load_ground_truth(ROOT / "evals" / "dataset" / name / "ground_truth.json")
    report = drafts[name].report
    assert report.severity == gt.severity
    assert report.review_type == gt.review_type
    # The trigger is the commit the bundle really contains with that subject.
    heads = subprocess.run(["git", "bundle", "list-heads", str(ROOT / "examples" / name / "repo.bundle")],
                           capture_output=True, text=True, check=True).stdout
    assert heads.strip()
    assert gt.trigger is not None and report.suspected_triggers[0].ref == gt.trigger.ref
    for k in gt.key_events:
        assert any(abs((e.timestamp - k.time).total_seconds()) <= k.tolerance_s
                   and any(t.lower() in e.event.lower() for t in k.terms) for e in report.timeline), k
    # Every timeline row has a UTC timestamp and a source.
    assert all(e.timestamp.tzinfo is not None and e.evidence for e in report.timeline)


@pytest.mark.parametrize("name", ["vllm-oom-upgrade", "rag-stale-index"])
def test_request_counts_over_the_reported_window(name: str, drafts: dict[str, RunResult]) -> None:
    report = drafts[name].report
    # Impact is measured over the symptom window the report states (first to last failing request).
    start, end = report.impact.window_start, report.impact.window_end
    assert start is not None and end is not None and report.impact.window_definition
    lines = [(t, s) for t, s, path in _request_lines(ROOT / "examples" / name)
             if start <= t <= end and not PROBE.search(path)]
    metrics = {m.name: m.value for m in report.impact.metrics}
    if not lines:
        assert "requests served during impact" not in metrics
        return
    assert metrics["requests served during impact"] == len(lines)
    assert metrics["failed requests (HTTP 5xx)"] == sum(s >= 500 for _, s in lines)


def test_light_review_is_short_and_says_why(drafts: dict[str, RunResult]) -> None:
    light, full = drafts["minor-eval-flake"], drafts["vllm-oom-upgrade"]
    assert light.report.review_type == "light"
    assert "**Light review.**" in light.markdown and "minor (P3)" in light.markdown
    assert len(light.markdown) < len(full.markdown)
    assert len(light.report.action_items) <= 2


@pytest.mark.parametrize("name", EXAMPLES)
def test_reports_name_roles_not_people(name: str, drafts: dict[str, RunResult]) -> None:
    import json
    import re

    users = json.loads((ROOT / "examples" / name / "slack" / "users.json").read_text())
    people = {u.get("real_name") or u["profile"].get("real_name") for u in users if not u.get("is_bot")}
    people = {p for p in people if p}
    assert people
    for p in people:
        for part in p.split():
            assert not re.search(rf"\b{re.escape(part)}\b", drafts[name].markdown), (p, part)


@pytest.mark.parametrize("name", EXAMPLES)
def test_offline_drafts_are_clean_before_any_repair(name: str, drafts: dict[str, RunResult]) -> None:
    """The offline engine writes rule-abiding text by construction; the repair loop is a backstop."""
    v = drafts[name].report.validation
    assert v.passed and v.repair_rounds == 0
    assert [f"{f.rule}: {f.message}" for f in v.findings] == []  # no warnings either
