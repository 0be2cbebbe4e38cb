"""One classifier for chat messages and notes: intent from verb class and sentence shape."""

from __future__ import annotations

import pytest

from agent.offline.statements import CATEGORY, classify, shape_of


@pytest.mark.parametrize("text", [
    "Decision: we take the reranker out of the path until the index is rebuilt.",
    "ok let's pin the tokenizer back to the March build",
    "We'll fail the write path over to the replica in us-east-2",
    "I'm going to drain node gpu-14 and cordon it",
    "Agreed, freeze the rollout at 25% for now.",
    "Plan: restart the embedding workers one at a time",
    "going ahead with disabling the summarizer flag",
])
def test_decisions_in_varied_phrasings(text: str) -> None:
    st = classify(text)
    assert st.intent == "decide", (text, st)
    assert st.confidence >= 0.6
    assert CATEGORY[st.intent] == "decision"


@pytest.mark.parametrize(("text", "intent"), [
    ("Declaring a SEV-2 for the ranking outage", "declare"),
    ("I'll be incident commander on this one", "declare"),
    ("escalating to the storage team, their dashboards are red too", "escalate"),
    ("rolled back the router config, watching the graphs", "mitigate"),
    ("scaled the ingest consumers up to 24 replicas", "mitigate"),
    ("p99 is back to normal since 14:05", "recover"),
    ("All clear from our side, closing the incident", "resolve"),
    ("seeing timeouts from the feature store on every shard", "observe"),
    ("three customers wrote in saying the answers cite the wrong contract", "user_report"),
    ("my guess is the cache warmup job is what's evicting the hot keys", "hypothesis"),
])
def test_intents(text: str, intent: str) -> None:
    assert classify(text).intent == intent, (text, classify(text))


def test_question_proposes_rather_than_acts() -> None:
    """Asking whether to roll back is neither the mitigation nor the decision."""
    st = classify("should we revert the sampler change?")
    assert st.shape == "question"
    assert st.intent not in ("mitigate", "decide")
    assert st.confidence < 0.5


def test_the_first_verb_carries_the_sentence() -> None:
    assert classify("Seeing OOMs on worker-3 right before each restart").intent == "observe"
    assert classify("Restarted worker-3, errors recovering").intent == "mitigate"


def test_shapes() -> None:
    assert shape_of("Can we page the data team?") == "question"
    assert shape_of("We will purge the cache after the backfill") == "decision"
    assert shape_of("purged the cache") == "report"


def test_bots_by_structure() -> None:
    assert classify("[FIRING:2] EmbeddingLatencyHigh (critical)", bot=True).intent == "alert_firing"
    assert classify("[RESOLVED] EmbeddingLatencyHigh", bot=True).intent == "alert_resolved"
    assert classify("ranker-svc v2.14.0 deployed to production by ci", bot=True).intent == "deploy"
    assert classify("ranker-svc rolled back to v2.13.2", bot=True).intent == "mitigate"
    # A bot's chatter carries no intent; a human saying the same words would be a report.
    assert classify("Reminder: standup in 5 minutes", bot=True).intent == "none"


def test_user_report_middle_ground() -> None:
    # Users as the subject of a reporting/experiencing verb are a report; a routing line is not.
    assert classify("several customers report the assistant is quoting last quarter's prices").intent == "user_report"
    assert classify("customers are quoting old prices back to us").intent == "user_report"
    assert classify("teachers are seeing wrong answers marked correct").intent == "user_report"
    assert classify("customer contact on the escalated ticket is the account owner").intent not in (
        "user_report", "escalate")


def test_requests_and_open_prs_are_proposals_not_steps() -> None:
    assert classify("Freeze exception request: PR #12 for prod, bumps the runtime").intent != "mitigate"
    assert classify("revert PR #13 is up: https://git.example/pull/13").intent != "mitigate"
    assert classify("merged the revert, sync running").intent == "mitigate"


def test_a_fix_that_went_out_is_a_mitigation() -> None:
    assert classify("mapping deployed, null ratio dropping, backfill running").intent == "mitigate"
    assert classify("hotfix is live on all regions").intent == "mitigate"
    assert classify("deployed v2 to staging").intent != "mitigate"
