"""Round-2 mechanisms of the prose rules: broad word classes combined with structure (own sentences)."""

from __future__ import annotations

import pytest

from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity


@pytest.mark.parametrize("text", [
    "Yet again the billing team rolled a schema change straight to prod and the exporter broke.",
    "Not pointing fingers, but the drift began right after Priyanka's join was merged.",
    "The reviewers simply weren't careful with the consent flags.",
    "Nobody in the platform group thought to look at the disk graph.",
    "It's his script that deleted the shard map.",
    "Thanks to infra forgetting the cert renewal, the gateway served errors all night.",
    "Responsibility lies with the release manager.",
])
def test_blame_mechanisms(text: str) -> None:
    assert no_blame.detect(text, "analysis", ()), text


@pytest.mark.parametrize("text", [
    "We work blameless here: the goal is the conditions, rather than deciding who messed up.",
    "The exporter broke again after the upstream schema changed, and the alert fired at 03:10.",
    "Lena rolled back the ranker at 10:02 as the runbook says.",
])
def test_blame_hard_negatives(text: str) -> None:
    assert no_blame.detect(text, "analysis", ()) == [], text


@pytest.mark.parametrize("text", [
    "A single schema check back in March, and the null features never reach training.",
    "Two lines of config and this is a non-event.",
    "That canary was the only difference between a quiet night and a full outage.",
    "Had the gate run before promotion, the regression stays in staging.",
    "Nobody would be writing this if the quota alert had paged.",
])
def test_elliptical_counterfactuals(text: str) -> None:
    assert no_counterfactual.detect(text, "analysis"), text


@pytest.mark.parametrize("text", [
    "The canary was one of two checks that ran before promotion.",
    "The alert would have fired for all affected jobs, according to the logs.",
])
def test_counterfactual_negatives(text: str) -> None:
    assert no_counterfactual.detect(text, "analysis") == [], text


@pytest.mark.parametrize("text", [
    "HR should give the two approvers written warnings.",
    "Add this to Bruno's performance review.",
    "Revoke Ines's deploy access for a month.",
    "We breached our duty of care to the drivers.",
    "The detector meets FDA requirements for clearance.",
    "We have no obligation to notify the users about the leak.",
])
def test_scope_mechanisms(text: str) -> None:
    assert scope.detect(text, "analysis"), text


@pytest.mark.parametrize("text", [
    "The performance review dashboard showed the ranker's NDCG falling.",
    "The postmortem is not the place for performance reviews of individuals.",
    "The batch job was terminated by the scheduler after 6 hours.",
    "I'll put the writeup in the shared folder tonight.",
])
def test_scope_negatives(text: str) -> None:
    assert scope.detect(text, "analysis") == [], text


@pytest.mark.parametrize("text", [
    "After the fine-tune, the summarizer won't drop negations again.",
    "The classifier is now hallucination-free on the finance slice.",
    "The triage bot handles code-switched messages perfectly.",
    "The ranker has learned to ignore spam domains.",
    "The captioning model no longer confuses crutches with canes.",
])
def test_stochasticity_mechanisms(text: str) -> None:
    assert stochasticity.detect(text, "analysis"), text


@pytest.mark.parametrize("text", [
    "The retrained classifier was never evaluated on Welsh before launch.",
    "The ledger rejects any transfer over the cap, no matter what the agent requests.",
    "Give the judge the rubric and it scored 31 of 40 essays within one point.",
    "The eval set no longer represents production traffic, so the model's score overstated quality.",
])
def test_stochasticity_negatives(text: str) -> None:
    assert stochasticity.detect(text, "analysis") == [], text
