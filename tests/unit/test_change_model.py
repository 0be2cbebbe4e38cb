"""Change model and trigger ranking on stores written here (every record is this file's own).

Each scenario has a failing service from ONSET on; the expected top change follows from the
records the test writes (deploy time, flag audit, revert + recovery, data job run).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.offline.change_model import Change, audit_change, collect_changes, k8s_changes, log_change
from agent.offline.changes import rank_changes
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

ONSET = datetime(2026, 5, 4, 14, 0, tzinfo=timezone.utc)
OLD_SHA = "1f2e3d4c5b6a" + "7" * 28  # authored days ago, deployed just before the onset
NEW_SHA = "9a8b7c6d5e4f" + "3" * 28  # authored an hour before the onset, never deployed


def _errors(service: str, text: str, minutes: int = 30, start: datetime = ONSET) -> list[Evidence]:
    out = []
    for i in range(60 + minutes):
        ts = start - timedelta(minutes=60) + timedelta(minutes=i)
        bad = i >= 60
        out.append(Evidence(id=f"log:{service}.log:{i + 1}", kind=EvidenceKind.LOG, ts=ts,
                            source=f"{service}.log", service=service, level="error" if bad else "info",
                            text=text if bad else "request ok", attrs={"status": 500 if bad else 200}))
    return out


def _commit(sha: str, ts: datetime, message: str, files: list[str], authored: datetime | None = None,
            prs: list[str] | None = None) -> Evidence:
    attrs = {"sha": sha, "files": files, "parents": ["0" * 40], "message": message, "prs": prs or []}
    if authored is not None:
        attrs["authored_at"] = authored.isoformat()
    return Evidence(id=f"commit:{sha[:12]}", kind=EvidenceKind.COMMIT, ts=ts, source="repo",
                    locator=sha, text=message, attrs=attrs)


def _store(tmp_path: Path, records: list[Evidence]) -> EvidenceReader:
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(records)
    writer.finalize()
    return writer.reader()


def _rank(store: EvidenceReader, services: list[str], unc: float = 0.0) -> list:  # type: ignore[type-arg]
    return rank_changes(store, ONSET, unc, ONSET + timedelta(hours=2), services, [])


def test_deploy_time_beats_author_time(tmp_path: Path) -> None:
    # Both commits touch the same file; only the old one is deployed (an Argo CD sync naming its sha).
    old = _commit(OLD_SHA, ONSET - timedelta(days=3), "tokenizer: switch cache backend (#41)",
                  ["svc/cache.py"], authored=ONSET - timedelta(days=3, hours=2), prs=["41"])
    new = _commit(NEW_SHA, ONSET - timedelta(hours=1), "tokenizer: tidy cache helper (#42)",
                  ["svc/cache.py"], authored=ONSET - timedelta(hours=1), prs=["42"])
    sync = Evidence(id="log:argocd.log:7", kind=EvidenceKind.LOG, ts=ONSET - timedelta(minutes=10),
                    source="argocd.log", level="info",
                    text=f'msg="Sync operation to {OLD_SHA} succeeded" application=argocd/tok-prod')
    store = _store(tmp_path, _errors("tok", "cache lookup failed") + [old, new, sync])
    ranked = _rank(store, ["tok"])
    assert ranked[0].ref == OLD_SHA and ranked[0].kind == "commit"
    assert ranked[0].at == ONSET - timedelta(minutes=10)  # deploy time, not commit or author time
    assert ranked[0].production_evidence == "log:argocd.log:7"
    assert "log:argocd.log:7" in ranked[0].evidence
    assert ranked[0].authored_at == ONSET - timedelta(days=3, hours=2)
    assert any("deploy/sync record" in r for r in ranked[0].reasons)
    newer = next(t for t in ranked if t.ref == NEW_SHA)
    assert newer.at == ONSET - timedelta(hours=1) and "no deploy record" in newer.reasons[0]


def test_flag_flip_is_the_trigger(tmp_path: Path) -> None:
    flip = Evidence(id="change:flags.json:1", kind=EvidenceKind.CHANGE, ts=ONSET - timedelta(minutes=4),
                    source="flags.json", text="flag streaming-rerank turned on in production",
                    attrs={"change_type": "flag", "target": "streaming-rerank", "action": "enabled",
                           "environment": "production", "before": False, "after": True})
    staging = Evidence(id="change:flags.json:2", kind=EvidenceKind.CHANGE, ts=ONSET - timedelta(minutes=2),
                       source="flags.json", text="flag other-thing turned on in staging",
                       attrs={"change_type": "flag", "target": "other-thing", "action": "enabled",
                              "environment": "staging"})
    docs = _commit(NEW_SHA, ONSET - timedelta(hours=5), "docs: fix typo", ["docs/guide.md"])
    chat = Evidence(id="chat:inc:1", kind=EvidenceKind.CHAT, ts=ONSET + timedelta(minutes=12),
                    source="slack", text="could streaming-rerank be it? it flipped right before",
                    attrs={"channel": "inc", "user": "u1"})
    store = _store(tmp_path, _errors("search", "rerank stream timeout") + [flip, staging, docs, chat])
    ranked = _rank(store, ["search"])
    assert ranked[0].kind == "flag" and ranked[0].ref == "streaming-rerank"
    assert ranked[0].at == ONSET - timedelta(minutes=4)
    assert "chat:inc:1" in ranked[0].evidence and any("responders name it" in r for r in ranked[0].reasons)
    assert all(t.ref != "other-thing" for t in ranked)  # a staging flip never reached production


def test_revert_followed_by_recovery(tmp_path: Path) -> None:
    # Two commits land close together; the older one is reverted, shipped and errors stop.
    a = _commit(OLD_SHA, ONSET - timedelta(hours=2), "router: new retry policy", ["router/retry.py"])
    b = _commit(NEW_SHA, ONSET - timedelta(minutes=30), "router: log request ids", ["router/log.py"])
    rev_sha = "5" * 40
    rev = _commit(rev_sha, ONSET + timedelta(minutes=25), 'Revert "router: new retry policy"\n\n'
                  f"This reverts commit {OLD_SHA}.", ["router/retry.py"])
    sync = Evidence(id="log:argocd.log:9", kind=EvidenceKind.LOG, ts=ONSET + timedelta(minutes=28),
                    source="argocd.log", level="info",
                    text=f'msg="Sync operation to {rev_sha} succeeded" application=argocd/router-prod')
    resolved = Evidence(id="alert:am.json:2:1", kind=EvidenceKind.ALERT, ts=ONSET + timedelta(minutes=35),
                        source="am.json", text="RouterErrors resolved",
                        attrs={"alertname": "RouterErrors", "status": "resolved"})
    store = _store(tmp_path, _errors("router", "upstream call failed") + [a, b, rev, sync, resolved])
    ranked = _rank(store, ["router"])
    assert ranked[0].ref == OLD_SHA
    why = next(r for r in ranked[0].reasons if "undone by" in r)
    assert "followed by recovery (alert:am.json:2:1)" in why and "+1.50" in why
    assert all(t.ref != rev_sha for t in ranked)  # the revert came after the onset


def test_proposed_revert_is_not_revert_evidence(tmp_path: Path) -> None:
    a = _commit(OLD_SHA, ONSET - timedelta(hours=2), "router: new retry policy", ["router/retry.py"])
    ask = Evidence(id="chat:inc:3", kind=EvidenceKind.CHAT, ts=ONSET + timedelta(minutes=5),
                   source="slack", text="should we revert the retry policy?", attrs={"channel": "inc"})
    store = _store(tmp_path, _errors("router", "upstream call failed") + [a, ask])
    ranked = _rank(store, ["router"])
    assert not any("undone by" in r for r in ranked[0].reasons)


def test_change_after_onset_excluded_but_uncertainty_counts(tmp_path: Path) -> None:
    late = _commit(NEW_SHA, ONSET + timedelta(minutes=3), "router: raise pool size", ["router/pool.py"])
    early = _commit(OLD_SHA, ONSET - timedelta(hours=20), "router: bump client", ["router/client.py"])
    store = _store(tmp_path, _errors("router", "pool exhausted") + [late, early])
    assert [t.ref for t in _rank(store, ["router"])] == [OLD_SHA]
    # Landed inside the onset's uncertainty (5 minutes): it still counts, and it is closer.
    assert _rank(store, ["router"], unc=300)[0].ref == NEW_SHA


def test_data_job_reindex_is_the_trigger(tmp_path: Path) -> None:
    lines = [
        ("[2026-05-04, 13:10:00 UTC] {taskinstance.py:1206} INFO - Marking task as SUCCESS. "
         "dag_id=docs_reindex, task_id=rebuild_shards, run_id=manual__2026-05-04T12:00:00+00:00"),
        ("[2026-05-04, 13:50:00 UTC] {taskinstance.py:1206} INFO - Marking task as SUCCESS. "
         "dag_id=docs_reindex, task_id=swap_alias, run_id=manual__2026-05-04T12:00:00+00:00"),
    ]
    job = [Evidence(id=f"log:airflow.log:{i + 1}", kind=EvidenceKind.LOG, source="airflow.log", level="info",
                    ts=ONSET - timedelta(minutes=50 - 40 * i), text=t) for i, t in enumerate(lines)]
    old = _commit(OLD_SHA, ONSET - timedelta(days=2), "ui: new footer", ["ui/footer.tsx"])
    store = _store(tmp_path, _errors("retriever", "reindex shard missing, empty retrieval") + job + [old])
    ranked = _rank(store, ["retriever"])
    top = ranked[0]
    assert top.kind == "data_job" and top.ref == "docs_reindex@manual__2026-05-04T12:00:00+00:00"
    assert top.at == ONSET - timedelta(minutes=50)  # first success line of the run dates it
    assert top.evidence[:2] == ["log:airflow.log:1", "log:airflow.log:2"]


def test_rollout_from_k8s_events_and_audit_parsing() -> None:
    def ev(i: int, reason: str, text: str) -> Evidence:
        return Evidence(id=f"k8s:ev.json:{i}", kind=EvidenceKind.K8S_EVENT, ts=ONSET - timedelta(minutes=10 - i),
                        source="ev.json", text=text, attrs={"reason": reason, "object_name": "api"})
    events = [ev(1, "ScalingReplicaSet", "Scaled up replica set api-6d4cf56db6 to 3"),
              ev(2, "Pulled", 'Successfully pulled image "registry.local/api:1.4.2" in 2s'),
              ev(3, "ScalingReplicaSet", "Scaled up replica set api-7f9b8c5d4 to 1"),
              ev(4, "Pulled", 'Successfully pulled image "registry.local/api:1.5.0" in 2s')]
    refs = [c.ref for c in k8s_changes(events)]
    assert refs == ["api-7f9b8c5d4", "registry.local/api:1.5.0"]  # only what replaced something
    off = Evidence(id="change:f.json:3", kind=EvidenceKind.CHANGE, ts=ONSET, source="f.json",
                   text="flag x disabled", attrs={"change_type": "flag", "target": "x", "action": "disabled"})
    c = audit_change(off)
    assert c is not None and c.reverts == ["x"] and c.kind == "flag"
    err = Evidence(id="log:a:1", kind=EvidenceKind.LOG, ts=ONSET, source="a", level="error",
                   text='Sync operation to abcdef1234567 succeeded')
    assert log_change(err) is None  # an error line is a symptom, not a change


def test_announcement_links_pr_to_commit(tmp_path: Path) -> None:
    c = _commit(OLD_SHA, ONSET - timedelta(days=1), "gateway: lower timeout (#88)", ["gw/config.yaml"],
                prs=["88"])
    bot = Evidence(id="chat:deploys:1", kind=EvidenceKind.CHAT, ts=ONSET - timedelta(minutes=6),
                   source="slack", text="Deployed #88 to production", attrs={"channel": "deploys", "bot": True})
    store = _store(tmp_path, [c, bot])
    changes: list[Change] = collect_changes(store, ONSET - timedelta(days=7), ONSET)
    assert len(changes) == 1 and changes[0].reached_production_at == ONSET - timedelta(minutes=6)
    assert changes[0].evidence == [c.id, bot.id]
