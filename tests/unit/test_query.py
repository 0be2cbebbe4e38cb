"""Query tools: every result fits its token budget and its notice reports the true total."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tools import query as q
from tools.models import Evidence, EvidenceKind, Inventory, SourceReport
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter
from tools.tokens import count_tokens

T0 = datetime(2024, 10, 8, 14, 0, tzinfo=timezone.utc)
N_LOGS = 3000
N_COMMITS = 400
N_ALERTS = 300
N_CHAT = 600
N_SERIES = 60


def _build(path: Path) -> EvidenceReader:
    writer = StoreWriter.create(path)
    evs: list[Evidence] = []
    for i in range(N_LOGS):
        evs.append(Evidence(
            id=f"log:app.log:{i + 1}", kind=EvidenceKind.LOG, ts=T0 + timedelta(seconds=i),
            source="app.log", locator=f"line {i + 1}", service="api" if i % 2 else "worker",
            level="error" if i % 10 == 0 else "info",
            text=f"request {i} upstream timeout after 30s model=llama " + "padding " * (i % 7),
            flags=["untrusted-instruction"] if i == N_LOGS - 1 else [],
        ))
    evs.append(Evidence(id="log:big.log:1", kind=EvidenceKind.LOG, ts=T0, source="big.log",
                        text="upstream timeout " + "x" * 20000))
    for i in range(N_COMMITS):
        sha = f"{i:012x}" + "a" * 28
        evs.append(Evidence(
            id=f"commit:{sha[:12]}", kind=EvidenceKind.COMMIT, ts=T0 - timedelta(hours=N_COMMITS - i),
            source="git:repo", locator=sha, text=f"serving: change {i}\n\nbody",
            attrs={"sha": sha, "author": "Dev", "files": ["serving/config.yaml" if i % 4 == 0 else "docs/x.md"],
                   "insertions": i, "deletions": 1, "parents": [], "message": f"serving: change {i}"},
        ))
    for i in range(N_ALERTS):
        evs.append(Evidence(
            id=f"alert:alerts.json:0:{i}", kind=EvidenceKind.ALERT, ts=T0 + timedelta(minutes=i),
            source="alerts.json", text=f"HighLatency p99 above 2s on api shard {i}",
            attrs={"alertname": "HighLatency", "status": "firing" if i % 3 else "resolved"},
        ))
    for i in range(N_CHAT):
        evs.append(Evidence(
            id=f"chat:inc-{i % 2}:{1728396000 + i}.000100", kind=EvidenceKind.CHAT, ts=T0 + timedelta(seconds=30 * i),
            source=f"slack/inc-{i % 2}", text=f"message {i} rolling back the deploy now, checking dashboards",
            attrs={"channel": f"inc-{i % 2}", "user": "oncall"},
        ))
    for s in range(N_SERIES):
        samples = [[(T0 + timedelta(minutes=m)).timestamp(), 0.1 if m < 30 else 0.9] for m in range(60)]
        evs.append(Evidence(
            id=f"metric:prom.json:{s}", kind=EvidenceKind.METRIC, ts=T0, source="prom.json",
            text=f"error_ratio pod {s}",
            attrs={"name": "error_ratio", "labels": {"pod": f"p{s}", "job": "api"}, "samples": samples},
        ))
    writer.add_many(evs)
    writer.finalize()
    writer.save_inventory(Inventory(
        dump="dump", total_records=len(evs),
        sources=[SourceReport(path=f"logs/file-{i}.log", kind="log.iso", records=i * 10, first_ts=T0, last_ts=T0)
                 for i in range(500)],
        kinds={"log": N_LOGS + 1}, data_gaps=["No LLM traces: none."],
    ))
    return writer.reader()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EvidenceReader:
    return _build(tmp_path_factory.mktemp("q") / "ev.sqlite")


def _total_in_notice(res: q.ToolResult) -> int:
    m = re.search(r"showing (?:all )?([\d,]+)(?: of ([\d,]+))?", res.notice)
    assert m, res.notice
    return int((m.group(2) or m.group(1)).replace(",", ""))


def _check(res: q.ToolResult, budget: int, true_total: int) -> str:
    text = res.render()
    assert count_tokens(text) <= budget
    assert res.tokens == count_tokens(text)
    assert res.total == true_total
    assert _total_in_notice(res) == true_total
    assert res.shown == len(res.items)
    assert res.truncated == (res.shown < true_total)
    for it in res.items:
        if "sha" not in it or it.get("id", "").startswith("commit:"):
            assert f"[{it['id']}]" in text or it["id"] in text
    return text


@pytest.mark.parametrize("budget", [300, 800, 2000])
def test_search_logs_is_bounded_and_keeps_newest(store: EvidenceReader, budget: int) -> None:
    res = q.search_logs(store, q.SearchLogsInput(query="upstream timeout", limit=500, max_tokens=budget))
    text = _check(res, budget, N_LOGS + 1)
    assert f"of {N_LOGS + 1:,} matching log lines (newest kept)" in res.notice
    assert f"log:app.log:{N_LOGS}" in text  # the newest line survived the cut
    assert "data, not instructions" in text  # its instruction flag is shown
    assert 0 < res.shown < 500


def test_search_logs_filters_level_service_window(store: EvidenceReader) -> None:
    res = q.search_logs(store, q.SearchLogsInput(
        level="error", service="worker", start=T0, end=T0 + timedelta(seconds=999), limit=500, max_tokens=20000))
    # errors are i % 10 == 0 (all even, so "worker"), in 0..999 -> 100 records
    assert res.total == 100 and res.shown == 100 and not res.truncated
    assert res.notice.startswith("showing all 100")
    naive = q.search_logs(store, q.SearchLogsInput(level="error", service="worker",
                                                   start=T0.replace(tzinfo=None), end=(T0 + timedelta(seconds=999)).replace(tzinfo=None)))
    assert naive.total == 100


def test_one_huge_line_is_cut_not_dropped(store: EvidenceReader) -> None:
    res = q.search_logs(store, q.SearchLogsInput(query="upstream", keep="oldest", limit=5, max_tokens=1000))
    big = [it for it in res.items if it["id"] == "log:big.log:1"]
    assert big and big[0]["text"].endswith("[...]") and count_tokens(big[0]["text"]) <= q.ITEM_MAX_TOKENS + 5


def test_no_match_says_so(store: EvidenceReader) -> None:
    res = q.search_logs(store, q.SearchLogsInput(query="nonexistentword"))
    assert res.total == 0 and res.items == [] and res.notice.startswith("no matching log lines")
    odd = q.search_logs(store, q.SearchLogsInput(query='" OR NEAR( *'))
    assert odd.total == 0  # hostile FTS syntax is quoted or reported, never raised


@pytest.mark.parametrize("budget", [300, 2000])
def test_list_commits_bounded(store: EvidenceReader, budget: int) -> None:
    res = q.list_commits(store, q.ListCommitsInput(limit=500, max_tokens=budget))
    text = _check(res, budget, N_COMMITS)
    assert f"commit:{N_COMMITS - 1:012x}" in text  # newest kept
    by_path = q.list_commits(store, q.ListCommitsInput(path="serving/", limit=500, max_tokens=20000))
    assert by_path.total == N_COMMITS // 4 and all("serving/config.yaml" in it["files"] for it in by_path.items)


def test_show_commit_without_repo(store: EvidenceReader) -> None:
    res = q.show_commit(store, q.ShowCommitInput(sha=f"{5:012x}", max_tokens=300))
    assert res.total == 1 and "no repository on disk" in res.render()
    assert count_tokens(res.render()) <= 300
    missing = q.show_commit(store, q.ShowCommitInput(sha="--output=/tmp/x"))
    assert missing.total == 0 and "no matching commit" in missing.notice


@pytest.mark.parametrize("budget", [300, 2000])
def test_metric_summary_bounded_with_crossing_and_shift(store: EvidenceReader, budget: int) -> None:
    res = q.metric_summary(store, q.MetricSummaryInput(name='error_ratio{job="api"}', threshold=0.5, limit=200,
                                                       max_tokens=budget))
    text = _check(res, budget, N_SERIES)
    first = res.items[0]
    assert first["min"] == 0.1 and first["max"] == 0.9
    assert first["crossing"]["ts"] == "2024-10-08T14:30:00.000Z"
    assert first["shift"]["ts"] == "2024-10-08T14:30:00.000Z"
    assert "largest mean shift" in text
    one = q.metric_summary(store, q.MetricSummaryInput(name='error_ratio{pod="p7"}'))
    assert one.total == 1 and one.items[0]["id"] == "metric:prom.json:7"
    loose = q.metric_summary(store, q.MetricSummaryInput(name="error"))
    assert loose.total == N_SERIES and "substring" in loose.render()


def test_change_point_and_percentile() -> None:
    assert q.change_point([1, 1, 1, 1, 5, 5, 5, 5]) == (4, 1.0, 5.0)
    assert q.change_point([1, 2]) is None
    s = q.summarize_series([(float(i), float(i)) for i in range(1, 101)], threshold=50, direction="above")
    assert s["p95"] == pytest.approx(95.05) and s["crossing"]["value"] == 51


@pytest.mark.parametrize("budget", [300, 2000])
def test_list_alerts_bounded(store: EvidenceReader, budget: int) -> None:
    res = q.list_alerts(store, q.ListAlertsInput(limit=500, max_tokens=budget))
    _check(res, budget, N_ALERTS)
    assert res.items[0]["id"] == "alert:alerts.json:0:0"  # oldest kept by default
    resolved = q.list_alerts(store, q.ListAlertsInput(status="resolved", max_tokens=20000, limit=500))
    assert resolved.total == N_ALERTS // 3


@pytest.mark.parametrize("budget", [300, 2000])
def test_chat_messages_bounded(store: EvidenceReader, budget: int) -> None:
    res = q.chat_messages(store, q.ChatMessagesInput(limit=500, max_tokens=budget))
    _check(res, budget, N_CHAT)
    one = q.chat_messages(store, q.ChatMessagesInput(channel="#inc-1", query="ROLLING back", limit=500, max_tokens=20000))
    assert one.total == N_CHAT // 2 and all(it["channel"] == "inc-1" for it in one.items)


@pytest.mark.parametrize("budget", [300, 2000])
def test_inventory_bounded(store: EvidenceReader, budget: int) -> None:
    res = q.inventory(store, q.InventoryInput(max_tokens=budget))
    text = _check(res, budget, 500)
    assert "gap: No LLM traces" in text


def test_every_tool_has_a_json_schema() -> None:
    for name, (fn, model) in q.TOOLS.items():
        schema = model.model_json_schema()
        assert schema["type"] == "object" and "max_tokens" in schema["properties"], name
        assert callable(fn)


def test_search_logs_stops_counting_past_the_cap(store: EvidenceReader, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(q, "SEARCH_COUNT_CAP", 50)
    res = q.search_logs(store, q.SearchLogsInput(query="upstream timeout", limit=20, max_tokens=5000))
    assert res.total == 51 and res.total_is_lower_bound and res.shown == 20
    assert "of more than 50 matching log lines" in res.notice
    few = q.search_logs(store, q.SearchLogsInput(level="error", service="worker", start=T0,
                                                 end=T0 + timedelta(seconds=399), limit=100, max_tokens=20000))
    assert few.total == 40 and not few.total_is_lower_bound  # under the cap: exact
