"""Eval and probe results (lm-evaluation-harness, promptfoo, generic samples and summaries) as EVAL records."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from tools.models import EvidenceKind
from tests.reader_support import read_picked
from tools.readers.registry import pick_reader

UTC = timezone.utc
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "evals"


read = read_picked


def test_lm_eval_results_one_record_per_task_dated_by_date_not_perf_counter() -> None:
    name, (arc, gsm), bad = read(FIX / "results_2024-04-25T12-00-00.json", "evals/results.json")
    assert name == "eval" and not bad and arc.kind == EvidenceKind.EVAL
    assert arc.id == "eval:evals/results.json:1" and arc.ts == datetime(2024, 4, 25, 12, 0, 0, 250000, tzinfo=UTC)
    assert (arc.attrs["suite"], arc.attrs["metric"], arc.attrs["score"]) == ("arc_easy", "acc,none", 0.7361)
    assert arc.attrs["model"] == "acme/tiny-chat-7b" and arc.attrs["n_samples"] == 2376
    assert arc.attrs["metrics"]["acc_norm,none"] == 0.7012 and "passed" not in arc.attrs
    assert gsm.attrs["metric"] == "exact_match,strict-match" and gsm.attrs["n_samples"] == 200


def test_lm_eval_samples_suite_from_name_verdict_from_metric_undated() -> None:
    rel = "evals/samples_arc_easy_2024-04-25T12-00-00.123456.jsonl"
    name, (right, wrong), bad = read(FIX / rel.split("/")[1], rel)
    assert name == "eval" and len(bad) == 1 and bad[0].locator == "line 3"
    assert right.attrs["suite"] == "arc_easy" and right.attrs["sample_id"] == "0" and right.attrs["passed"] is True
    assert wrong.attrs["passed"] is False and wrong.attrs["metric"] == "acc" and wrong.level == "warning"
    assert right.ts is None and wrong.ts is None  # the file states no time: never invented


def test_promptfoo_stats_and_results() -> None:
    name, evs, bad = read(FIX / "promptfoo-output.json", "pf.json")
    assert name == "eval" and not bad
    stats, ok, fail = evs
    assert stats.attrs["metric"] == "pass_rate" and stats.attrs["score"] == 0.5 and stats.attrs["passed"] is False
    assert stats.ts == datetime(2024, 4, 25, 11, tzinfo=UTC) and not stats.ts_assumed
    assert stats.attrs["run"] == "eval-7Qx-2024-04-25T11:00:00" and stats.attrs["suite"] == "factuality smoke test"
    assert ok.attrs["passed"] is True and ok.attrs["model"] == "openai:gpt-4o-mini" and ok.attrs["latency_ms"] == 420
    # A result has no time of its own: its run's, marked as such.
    assert fail.ts == stats.ts and fail.ts_assumed and fail.attrs["ts_source"] == "run"
    assert fail.attrs["passed"] is False and fail.level == "warning" and 'Expected output to contain "no"' in fail.text


def test_generic_samples_verdict_polarity_from_field_names() -> None:
    name, (c1, c2, c3), bad = read(FIX / "judge-probe.jsonl", "evals/judge-probe.jsonl")
    assert name == "eval" and not bad
    assert c1.attrs["metric"] == "endorsed_wrong_answer" and c1.attrs["passed"] is True and c1.attrs["value"] is False
    assert c2.attrs["metric"] == "hallucinated" and c2.attrs["passed"] is False
    assert c3.attrs["passed"] is True and c3.attrs["score"] == 0.9
    assert c3.ts == datetime(2024, 4, 25, 8, tzinfo=UTC) and c1.ts is None
    assert c1.attrs["suite"] == "judge-probe" and "input: Is 9 a prime?" in c1.text and "output: No, 9 = 3 x 3." in c1.text


def test_run_summary_is_one_record_and_suites_one_each() -> None:
    name, evs, bad = read(FIX / "run-summary.json", "sum.json")
    assert name == "eval" and not bad and len(evs) == 1
    (s,) = evs
    assert (s.attrs["metric"], s.attrs["score"], s.attrs["passed"]) == ("accuracy", 0.81, False)
    assert s.attrs["run"] == "nightly-118" and s.ts == datetime(2024, 4, 24, 23, tzinfo=UTC)
    name, (tox, qa), _ = read(FIX / "release-gate.json", "gate.json")
    assert tox.attrs["suite"] == "toxicity" and tox.attrs["score"] == 0.97 and tox.attrs["passed"] is True
    assert qa.attrs["passed"] is False and qa.attrs["metrics"]["baseline"] == 0.78 and qa.attrs["model"] == "acme/tiny-chat-7b"
    assert qa.attrs["gate"] == ">= baseline" and qa.ts == datetime(2024, 4, 24, 20, tzinfo=UTC)


def test_logs_and_tickets_with_booleans_are_not_eval_samples(tmp_path: Path) -> None:
    p = tmp_path / "app.jsonl"
    p.write_text("\n".join(json.dumps({"ts": "2024-04-25T14:00:00Z", "id": i, "level": "info", "msg": "done",
                                       "success": True}) for i in range(3)) + "\n")
    assert read(p, "app.jsonl")[0] != "eval"
    q = tmp_path / "records.jsonl"
    q.write_text("\n".join(json.dumps({"id": i, "subject": "refund", "flagged": True}) for i in range(3)) + "\n")
    head = q.read_text()
    reader = pick_reader(q, head)
    assert reader is None or reader.name != "eval"
