"""Structural detectors: who + what, modal perfect, legal determinations, absolute model claims.

Sentences here are written for these tests (not taken from the corpus) to pin the mechanisms.
"""

from __future__ import annotations

import pytest

from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity
from agent.validators.sentence import is_person_phrase, looks_technical, normalize, unquote


@pytest.mark.parametrize(
    "raw,expanded",
    [
        ("we should've paged", "we should have paged"),
        ("it couldve been", "it could have been"),
        ("shoulda waited", "should have waited"),
        ("a lock would of helped", "a lock would have helped"),
        ("we'd have seen it", "we would have seen it"),
        ("if we'd pinned it", "if we had pinned it"),
        ("it won't", "it will not"),
    ],
)
def test_normalize_expands_contractions(raw: str, expanded: str) -> None:
    assert normalize(raw) == expanded


def test_quoted_and_code_spans_are_mentions() -> None:
    assert "sloppy" not in unquote("we agreed never to write 'sloppy' in a report")
    assert "illegal" not in unquote("the log said `illegal instruction`")


@pytest.mark.parametrize("tok", ["PostgreSQL", "k8s", "vLLM", "GPU", "node-7", "Kafka", "Redis"])
def test_tech_shapes_are_not_names(tok: str) -> None:
    assert looks_technical(tok)


@pytest.mark.parametrize("phrase,expected", [("Oksana", True), ("the release manager", True), ("nobody", True),
                                              ("the platform team", True), ("the autoscaler", False), ("Kafka", False)])
def test_person_phrases(phrase: str, expected: bool) -> None:
    assert is_person_phrase(phrase) is expected


@pytest.mark.parametrize(
    "text",
    [
        "It was Teodor who merged the schema change.",
        "The prompt template was edited in prod without review by Ingrid.",
        "This one is on the contractor.",
        "Honestly it comes down to the reviewer skimming the diff.",
        "who signed off on this?? nobody checked the eval",
        "Nobody bothered to rerun the safety suite.",
        "The deployer sat on the page for an hour.",
        "Yusuf pushed the new weights straight to production.",
        "she has skipped the canary twice now",
        "great job Pieter, truly stellar rollout 🙄",
    ],
)
def test_blame_structures(text: str) -> None:
    assert no_blame.detect(text, "analysis", ()), text


@pytest.mark.parametrize(
    "text",
    [
        "Teodor merged the schema change at 10:04 after two approvals.",
        "The prompt template was edited by the sync job without review.",
        "Ingrid rolled back the deploy at 14:20.",
        "The team added a canary gate on Friday.",
        "No one should have to read raw traces to find a retry storm.",
        "We agreed not to write 'human error' in incident summaries.",
        "Thanks to Pieter's quick rollback, the impact lasted eleven minutes.",
        "Kafka failed to rebalance the partitions.",
    ],
)
def test_neutral_facts_about_people_or_systems_pass(text: str) -> None:
    assert no_blame.detect(text, "analysis", ()) == [], text


@pytest.mark.parametrize(
    "text",
    [
        "We might've prevented the outage with a smaller batch size.",
        "A quota alert would of caught this in minutes.",
        "If the cache had been warmed, none of the timeouts would have happened.",
        "Had the flag defaulted to off, users would never have seen the raw output.",
        "All it needed was one integration test.",
        "The index should've been rebuilt before the switch.",
    ],
)
def test_counterfactual_forms(text: str) -> None:
    assert no_counterfactual.detect(text), text


@pytest.mark.parametrize(
    "text",
    [
        "The replication lag should have been resolved for all tenants as of 09:40 UTC.",
        "The latency spike may have come from the retry storm.",
        "Affected requests would have returned HTTP 503.",
        "Someone must have restarted the pod; the log shows a new container id.",
        "Avoid hindsight: the dashboards did not show the queue depth at the time.",
        "Engineers should not have to page manually; the alert should escalate.",
        "The gateway should reject requests over the token budget.",
    ],
)
def test_epistemic_and_forward_uses_pass(text: str) -> None:
    assert no_counterfactual.detect(text) == [], text


@pytest.mark.parametrize(
    "text",
    [
        "The Privacy Act required us to notify affected users within 72 hours.",
        "After the patch the chatbot is GDPR compliant.",
        "Our retention settings meet the requirements of Article 5.",
        "Storing prompts for 30 days is lawful because the users consented.",
        "Hashed emails are not personal data, so nothing needs reporting.",
        "We are shielded by our terms of service.",
    ],
)
def test_legal_conclusions(text: str) -> None:
    assert scope.detect(text), text


@pytest.mark.parametrize(
    "text",
    [
        "This finding maps to EU AI Act Article 12 (record keeping); Legal will assess notification.",
        "Escalated to counsel to determine whether the DPA applies.",
        "The worker crashed with `illegal instruction` on the old CPUs.",
    ],
)
def test_framework_mapping_and_referrals_pass(text: str) -> None:
    assert scope.detect(text) == [], text


@pytest.mark.parametrize(
    "text",
    [
        "Since the fine-tune the model doesn't leak system prompts anymore.",
        "The safety classifier is incapable of missing a jailbreak now.",
        "The judge can be trusted to grade answers correctly.",
        "The new guardrail model can't be bypassed.",
        "The agent is certain to stay within budget now.",
    ],
)
def test_absolute_model_claims(text: str) -> None:
    assert stochasticity.detect(text), text


@pytest.mark.parametrize(
    "text",
    [
        "The retry policy never gave up because max_retries was unset.",
        "The parser always rejects inputs longer than 8 KB.",
        "The model refused 12 of 500 sampled jailbreak prompts (2.4%).",
        "We moved the new model to 100% of traffic at 16:00.",
    ],
)
def test_deterministic_or_measured_claims_pass(text: str) -> None:
    assert stochasticity.detect(text) == [], text
