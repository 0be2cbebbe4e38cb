"""Sentence-level rules: no-blame, no-counterfactual, scope, stochasticity (+ the corpus targets)."""

from __future__ import annotations

import pytest

from agent.validators import validate_markdown
from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity
from evals.score_corpus import load, score


@pytest.mark.parametrize(
    "text,names",
    [
        ("The on-call engineer failed to escalate the page for 40 minutes.", ()),
        ("Priya forgot to bump the tokenizer version.", ("Priya",)),
        ("Marco failed to update the rate limit.", ("Marco",)),
        ("@jdoe failed to run the regression suite.", ()),
        ("They forgot to pin the vLLM version.", ()),
        ("Root cause: operator error while rotating the node pool.", ()),
        ("The SRE dropped the ball on the certificate renewal.", ()),
        ("The root cause is that the ML engineer did not follow the checklist.", ()),
        ("Sam's oversight let the stale index ship.", ()),
    ],
)
def test_no_blame_positives(text: str, names: tuple[str, ...]) -> None:
    assert no_blame.detect(text, "analysis", names), text


@pytest.mark.parametrize(
    "text",
    [
        "The alert failed to fire because its threshold was on the wrong metric.",
        "The batch job failed to start after the node pool was drained.",
        "The on-call engineer noticed the spike in refusals and rolled back at 14:32 UTC.",
        "The operator dashboard failed to load for most of the incident.",
        "Human review of 200 sampled outputs found 14 leaked prompts.",
        "Kubernetes failed to schedule the pods.",
        "The migration script failed to take a snapshot because the flag defaulted to false.",
        # A capitalised system name is not a person unless it is in `names`.
        "Triton failed to load the model repository.",
    ],
)
def test_no_blame_negatives(text: str) -> None:
    assert no_blame.detect(text, "analysis", ("Priya",)) == []


def test_no_blame_capitalised_subject_of_a_duty_omission_is_a_person() -> None:
    # Changed: names are recognised without a participant list when the predicate is one only people
    # have ("failed to update"); a tech term or a system predicate ("failed to load") stays a system.
    assert no_blame.detect("Marco failed to update the limit.", "analysis", ())
    assert no_blame.detect("Marco failed to update the limit.", "analysis", ("Marco",))
    assert no_blame.detect("Triton failed to update the limit.", "analysis", ()) == []
    assert no_blame.detect("Hermes failed to load the shard.", "analysis", ()) == []


@pytest.mark.parametrize(
    "text,bad",
    [
        ("The team should have known the tokenizer change would break the cache.", True),
        ("In hindsight, the loss spike was a data problem.", True),
        ("The outage would have been avoided if the eval gate had been blocking.", True),
        ("If only the canary had been enabled, none of this would have happened.", True),
        ("The pipeline should block deploys without a canary.", False),
        ("The regression was not obvious in the aggregate dashboard.", False),
        ("The drift detector could not fire: it was disabled.", False),
    ],
)
def test_no_counterfactual(text: str, bad: bool) -> None:
    assert bool(no_counterfactual.detect(text)) is bad


@pytest.mark.parametrize(
    "text,bad",
    [
        ("This incident violates GDPR Article 33.", True),
        ("The company is liable for damages.", True),
        ("The engineer who pushed the change should be fired.", True),
        ("The data scientist should be put on a performance improvement plan.", True),
        ("This finding maps to NIST AI RMF MEASURE 2.6.", False),
        ("Escalate to Legal for a determination on notification obligations.", False),
        ("The alert kept firing for 40 minutes.", False),
        ("The job was terminated by the OOM killer at 03:14 UTC.", False),
        ("The model's responses violated the content policy in 12 of 500 conversations.", False),
    ],
)
def test_scope(text: str, bad: bool) -> None:
    assert bool(scope.detect(text)) is bad


@pytest.mark.parametrize(
    "text,bad",
    [
        ("The model always refuses prompts that mention competitor names.", True),
        ("The new checkpoint will reliably produce valid JSON.", True),
        ("GPT-4o consistently ignores the system prompt in Portuguese.", True),
        ("The patched prompt guarantees that the model won't call external URLs.", True),
        ("The model refused in 3 of 200 sampled runs.", False),
        ("In this run, the model produced an invalid tool call.", False),
        ("The always-on canary compares quality scores.", False),
        ("The reranker never received the fresh index.", False),
        ("The router always sends long requests to the large model.", False),
        ("The model does not reliably follow the schema.", False),
    ],
)
def test_stochasticity(text: str, bad: bool) -> None:
    assert bool(stochasticity.detect(text)) is bad


def test_prose_rules_ignore_code_blocks_and_report_lines() -> None:
    md = "# T\n\n## Technical Analysis\n\n```text\nhuman error in hindsight\n```\n\nThe on-call engineer forgot to page.\n"
    f = validate_markdown(md, rules={"no-blame", "no-counterfactual"})
    assert [(x.rule, x.line, x.section) for x in f] == [("no-blame", 9, "Technical Analysis")]
    assert f[0].suggestion


def test_corpus_meets_targets() -> None:
    items, problems = load()
    assert problems == []
    assert len(items) >= 300
    for rule, s in score(items).items():
        assert s.recall >= 0.95, (rule, s.false_negatives)
        assert s.fpr <= 0.03, (rule, s.false_positives)
    holdout = [i for i in items if i.batch == "holdout"]
    assert len(holdout) >= 60
