"""Milestones a postmortem timeline needs and the mechanisms that find them: ramp steps with their
percentages, revert merge + its rollout, a restore completing, "root cause found", the first
ticket of the topic that rose, detection by a signal that reached people (not a warning notice
or one unescalated anecdote), and failure-mode patterns for RAG and sycophancy families."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.model import Analysis, Detection, IncidentWindow, TimelineEvent, TriggerCandidate
from agent.offline import analysis, detection, statements, taxonomy, timeline
from tools.models import Evidence, EvidenceKind
from tools.store.writer import StoreWriter

T0 = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ---- statements --------------------------------------------------------------------------------

def test_cause_found_is_its_own_intent_but_a_question_is_not() -> None:
    assert statements.classify("found it: the nightly job wrote half the shards and exited 0").intent == "diagnosis"
    assert statements.classify("Root cause: tokenizer config was not bumped with the model").intent == "diagnosis"
    assert statements.classify("is the root cause the flag flip?").intent != "diagnosis"
    assert statements.classify("we found it hard to reproduce locally").intent != "diagnosis"


def test_report_with_a_trailing_question_is_still_a_report() -> None:
    st = statements.classify("Customer (Initech) says the assistant couldn't find the billing FAQ. Anyone seen this?")
    assert (st.intent, st.shape) == ("user_report", "report")
    assert st.confidence >= 0.5
    # A bare question stays a question.
    assert statements.classify("Can users log in?").intent != "user_report"


# ---- timeline: flag ramps ----------------------------------------------------------------------

def test_ramp_step_names_the_percentages() -> None:
    a = {"before": {"parameters": {"rollout": "10", "stickiness": "userId"}},
         "after": {"parameters": {"rollout": "50", "stickiness": "userId"}}}
    assert timeline._step_text(timeline._change_steps(a)) == "rollout 10% → 50%"
    # A newly added strategy shows only its traffic share, not every field it was created with.
    created = {"before": None, "after": {"name": "flexibleRollout", "parameters": {"rollout": "5"}}}
    assert timeline._step_text(timeline._change_steps(created)) == "rollout none → 5%"
    # Non-share fields are named as they are, without a percent sign.
    assert timeline._step_text(timeline._change_steps({"before": {"model": "a"}, "after": {"model": "b"}})) == "model a → b"


def test_ramp_to_zero_is_a_mitigation_row(tmp_path: Path) -> None:
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many([
        Evidence(id=f"change:flags.json:{i}", kind=EvidenceKind.CHANGE, ts=_at(m), source="flags.json",
                 text="flag tutor_v9 updated", attrs={
                     "change_type": "flag", "target": "tutor_v9", "action": "updated", "environment": "production",
                     "before": {"parameters": {"rollout": b}}, "after": {"parameters": {"rollout": a}}})
        for i, (m, b, a) in enumerate([(0, "10", "50"), (30, "50", "0")])
    ])
    writer.finalize()
    s = writer.reader()
    b = timeline._Builder()
    timeline._changes_evals_tickets(s, b, _at(-60), _at(60))
    by_text = {e.event: e.category for e in b.events}
    assert by_text["Change: flag `tutor_v9` updated in production (rollout 10% → 50%)"] == "deploy"
    assert by_text["Change: flag `tutor_v9` updated in production (rollout 50% → 0%)"] == "mitigation"


# ---- timeline: restores, reverts, topic tickets ----------------------------------------------------

def test_restore_completion_regex() -> None:
    assert timeline.RESTORE_DONE.search("Collection docs recovered from snapshot, points_count=9000")
    assert timeline.RESTORE_DONE.search("pg_restore finished in 412s")
    assert timeline.RESTORE_DONE.search("backup restore completed for db orders")
    assert not timeline.RESTORE_DONE.search("restore started from backup-2025-06-01")


def _commit(sha: str, minute: float, message: str) -> Evidence:
    return Evidence(id=f"commit:{sha[:12]}", kind=EvidenceKind.COMMIT, ts=_at(minute), source="repo",
                    text=message, attrs={"sha": sha, "files": ["charts/values.yaml"]})


def test_revert_merge_and_its_sync_are_rows(tmp_path: Path) -> None:
    bad, rev = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "0f1e2d3c4b5a69788796a5b4c3d2e1f012345678"
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many([
        _commit(bad, -90, "serving: raise max_num_seqs to 512 (#41)"),
        _commit(rev, 40, 'Revert "serving: raise max_num_seqs to 512 (#41)" (#44)\n\nThis reverts commit '
                + bad + "."),
        Evidence(id="log:argocd.log:9", kind=EvidenceKind.LOG, ts=_at(41), source="argocd.log", level="info",
                 service="argocd", text=f"Initiated automated sync to '{rev}'"),
    ])
    writer.finalize()
    s = writer.reader()
    b = timeline._Builder()
    b.window = IncidentWindow(onset=_at(0), method="test")
    timeline._reverts(s, b, _at(120))
    texts = [e.event for e in b.events]
    assert any(t.startswith(f"Revert `{rev[:12]}` merged") for t in texts), texts
    assert any(t.startswith(f"Revert `{rev[:12]}` reaches production") and "sync" in t for t in texts), texts
    assert {e.category for e in b.events} == {"mitigation"}


def test_revert_merge_folds_into_the_responders_own_row(tmp_path: Path) -> None:
    rev = "0f1e2d3c4b5a69788796a5b4c3d2e1f012345678"
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many([_commit(rev, 40, 'Revert "ranker: new weights" (#12)')])
    writer.finalize()
    s = writer.reader()
    b = timeline._Builder()
    b.window = IncidentWindow(onset=_at(0), method="test")
    b.events.append(TimelineEvent(timestamp=_at(45), event="Mitigation step in #inc: `rollback deployed`",
                                  evidence=["chat:inc:1"], category="mitigation"))
    timeline._reverts(s, b, _at(120))
    assert len(b.events) == 1
    assert f"commit:{rev[:12]}" in b.events[0].evidence
    assert "merged" in b.events[0].event


def _ticket(i: int, minute: float, tags: list[str], subject: str) -> Evidence:
    return Evidence(id=f"ticket:zd.json:{i}", kind=EvidenceKind.TICKET, ts=_at(minute), source="zd.json",
                    text=f"{subject}\nbody", attrs={"subject": subject, "tags": tags})


def test_first_ticket_row_is_from_the_topic_that_rose(tmp_path: Path) -> None:
    tickets = [_ticket(i, -3000 + i * 300, ["billing"], "Invoice question") for i in range(12)]
    tickets += [_ticket(100 + i, 5 + i * 20, ["wrong_answer"], "Bot said 7 x 8 = 54 is right") for i in range(5)]
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(tickets)
    writer.finalize()
    s = writer.reader()
    b = timeline._Builder()
    b.window = IncidentWindow(onset=_at(10), method="test")
    timeline._changes_evals_tickets(s, b, _at(-3100), _at(200))
    rows = [e for e in b.events if e.category == "user_report"]
    assert len(rows) == 1
    assert rows[0].evidence == ["ticket:zd.json:100"]
    assert "wrong_answer" in rows[0].event


# ---- detection -------------------------------------------------------------------------------

def _row(minute: float, category: str, text: str) -> TimelineEvent:
    return TimelineEvent(timestamp=_at(minute), event=text, evidence=[f"x:{minute}"], category=category)


def test_warning_notice_is_not_detection_when_a_critical_alert_follows() -> None:
    events = [
        _row(-30, "alert", "Alert `NodeDiskUsageHigh` fires (severity warning)"),
        _row(5, "alert", "Alert `Gateway5xxHigh` fires (severity critical); PagerDuty incident triggered"),
    ]
    d = detection.compute_detection(events, IncidentWindow(onset=_at(0), method="test"))
    assert d.detected_at == _at(5)


def test_single_anecdote_waits_for_the_escalation() -> None:
    events = [
        _row(60, "detection", "User-impact report relayed in #support-escalations: `Customer says search is "
                              "broken. Anyone seen this?`"),
        _row(900, "detection", "User-impact report relayed in #support-escalations: `Escalating: three "
                               "enterprise accounts say search returns unrelated results`"),
    ]
    d = detection.compute_detection(events, IncidentWindow(onset=_at(0), method="test"))
    assert d.detected_at == _at(900)
    assert d.detected_by == "user report"


def test_a_count_of_reports_is_detection_and_a_lone_notice_still_counts_when_alone() -> None:
    several = _row(60, "detection", "User-impact report relayed in #cx: `We've had 4 tickets since yesterday "
                                    "from teachers saying the bot agrees with wrong answers`")
    assert not detection.is_weak(several)
    lone = [_row(20, "alert", "Alert `QueueLagHigh` fires (severity warning)")]
    d = detection.compute_detection(lone, IncidentWindow(onset=_at(0), method="test"))
    assert d.detected_at == _at(20)


# ---- taxonomy ----------------------------------------------------------------------------------

def _modes(text: str) -> set[str]:
    return {m.id for m in taxonomy.TAXONOMY if m.pattern.search(text)}


def test_sycophancy_phrasings() -> None:
    assert "safety.sycophancy" in _modes("the new model agrees with an incorrect user claim 40% of the time")
    assert "safety.sycophancy" in _modes("Assistant confirming incorrect student answers")
    assert "safety.sycophancy" not in _modes("the assistant answered the question correctly")


def test_rag_embedding_and_partial_reindex_phrasings() -> None:
    assert "rag.embedding_mismatch" in _modes("Switch embeddings to all-mpnet-base-v2 (#12)")
    assert "rag.stale_index" in _modes("Reindex finished: 10/32 shards written, 22 skipped (interrupted)")
    assert "rag.stale_index" in _modes("the collection is mixed: 10 shards new model, 22 shards old")
    assert "rag.retrieval_quality" in _modes("avg top1 retrieval score dropped from 0.8 to 0.6")


def test_crashlooping_is_not_an_agent_loop() -> None:
    assert "agentic.runaway_loop" not in _modes("vllm pods crashlooping with CUDA OOM")
    assert "agentic.runaway_loop" in _modes("the agent kept looping on the same tool call")


def test_page_ack_row_uses_pagerdutys_word(tmp_path: Path) -> None:
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many([Evidence(id="pd:P1:R2", kind=EvidenceKind.PAGE, ts=_at(3), source="pd.json",
                         text="Acknowledged by on-call.", attrs={"entry_type": "acknowledge"})])
    writer.finalize()
    s = writer.reader()
    b = timeline._Builder()
    timeline._pages(s, b, _at(-10), _at(10))
    assert [e.category for e in b.events] == ["ack"]
    assert "acknowledged" in b.events[0].event.lower()



# ---- impact start of a behaviour regression ------------------------------------------------------

def _analysis(modes_onset_h: float) -> Analysis:
    d = Detection(first_anomaly_at=_at(60 * modes_onset_h), detected_at=_at(60 * (modes_onset_h + 5)))
    top = TriggerCandidate(ref="c0ffee0000000000000000000000000000000000", summary="warmer prompt",
                           at=_at(0), production_evidence="change:flags.json:3")
    return Analysis(detection=d, suspected_triggers=[top])


def test_behaviour_regression_impact_starts_at_exposure() -> None:
    a = _analysis(20)
    analysis._exposure_onset(a, ["safety.sycophancy", "infra.config_change"])
    assert a.detection.first_anomaly_at == _at(0)
    assert a.detection.time_to_detect_s == 25 * 3600
    assert any(g.startswith("[ASSUMPTION] Impact taken to start") for g in a.detection.data_gaps)


def test_error_incidents_and_far_changes_keep_the_measured_onset() -> None:
    oom = _analysis(1)
    analysis._exposure_onset(oom, ["serving.oom", "safety.sycophancy"])
    assert oom.detection.first_anomaly_at == _at(60)
    old = _analysis(24 * 10)  # a change ten days before the symptom is not its exposure
    analysis._exposure_onset(old, ["rag.stale_index"])
    assert old.detection.first_anomaly_at == _at(60 * 24 * 10)
