"""The learned layer of the prose rules: features, gates, offline model, reproducible training."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.validators import learned
from agent.validators.features import extract, gate
from agent.validators.rules import no_blame, scope, stochasticity
from evals import train_sentence_model as tsm
from evals.score_corpus import corpus_files


def test_model_loads_offline_with_all_four_rules() -> None:
    model = learned.load_model()
    assert set(model.rules) == set(learned.RULE_IDS)
    assert all(rm.mode in {"rules", "model", "or", "or_veto"} for rm in model.rules.values())
    assert model.rules["scope"].weights  # trained, not an empty placeholder


def test_missing_or_broken_model_file_degrades_to_rules(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("{not json", encoding="utf-8")
    assert learned.load_model.__wrapped__(bad).rules == {}
    assert learned.load_model.__wrapped__(tmp_path / "absent.json").rules == {}


def test_model_records_the_corpus_it_was_trained_on() -> None:
    import json

    stored = json.loads(learned.MODEL_PATH.read_text(encoding="utf-8"))
    assert stored["corpus_sha256"] == tsm.corpus_digest(corpus_files())


def test_training_reproduces_the_committed_weights() -> None:
    assert tsm.main(["--check"]) == 0


@pytest.mark.parametrize(
    ("text", "feature"),
    [
        ("Priya forgot to rotate the signing key before the release.", "person_fault"),
        ("The on-call engineer ignored the page for forty minutes.", "person_fault"),
        ("Had the canary run for an hour, the regression would have surfaced.", "inverted_conditional"),
        ("All it took was one flag flip.", "all_it_took"),
        ("This breach of contract means we owe the customer credits under the MSA.", "compliance_asserted"),
        ("The annotator should get a written warning.", "sanction_on_person"),
        ("The summariser model never invents citations now.", "model_absolute"),
        ("In 3 of 200 sampled runs at temperature 0.7 the agent skipped the tool call.", "sample_size"),
    ],
)
def test_abstract_features_fire(text: str, feature: str) -> None:
    assert feature in extract(text, "analysis", ())


@pytest.mark.parametrize(
    ("text", "feature"),
    [
        ("The alert failed to fire because the threshold was mis-set.", "person_fault"),
        ("The issue should have been resolved for all users as of 12:30 UTC.", "modal_perfect_should"),
        ("Our management network is completely separate from production.", "model_subject"),
        ("We escalated to Legal to determine whether notification is required.", "compliance_asserted"),
    ],
)
def test_hard_negatives_do_not_fire_the_feature(text: str, feature: str) -> None:
    assert feature not in extract(text, "analysis", ())


def test_gate_needs_a_rule_specific_cue() -> None:
    routine = extract("Engineers rolled back the deployment to mitigate the issue.", "analysis", ())
    assert not gate("no-blame", routine)
    assert gate("no-blame", extract("Priya forgot to rotate the key.", "analysis", ("Priya",)))


def test_model_only_finding_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    rm = learned.RuleModel(bias=-2.0, weights={"model_absolute": 3.0, "model_subject": 1.0}, mode="or", threshold=0.6)
    monkeypatch.setattr(learned, "load_model", lambda: learned.SentenceModel(rules={"stochasticity": rm},
                                                                             use_rule_features=False))
    hits = learned.combine("stochasticity", [], "The classifier is completely reliable.", "analysis", (), "qualify")
    assert hits and "Learned detector" in hits[0].message
    assert "model subject + absolute word" in hits[0].message
    assert not learned.combine("stochasticity", [], "The cron job is completely reliable.", "analysis", (), "q")


def test_veto_mode_can_overrule_a_rule_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    rm = learned.RuleModel(bias=-9.0, weights={}, mode="or_veto", threshold=0.9, veto=0.5)
    monkeypatch.setattr(learned, "load_model", lambda: learned.SentenceModel(rules={"scope": rm}, use_rule_features=False))
    fake = scope.detect_rules("We are in breach of the GDPR.", "analysis")
    assert fake
    assert learned.combine("scope", fake, "We are in breach of the GDPR.", "analysis", (), "s") == []


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (no_blame, "Dana forgot to rotate the key again, as usual."),
        (scope, "Under the GDPR we are obliged to notify the regulator within 72 hours."),
        (stochasticity, "The new system prompt guarantees the assistant never leaks the key."),
    ],
)
def test_combined_detectors_still_flag_positives(rule: object, text: str) -> None:
    assert rule.detect(text, "analysis", ("Dana",))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "Engineers rolled back the deployment and restarted the frontend instances.",
        "Add an alert on queue depth; owner: platform team.",
        "In 12 of 500 sampled runs (2.4%) the agent called the tool with a stale token.",
        "This maps to NIST AI RMF MEASURE 2.7; Legal will determine any notification duty.",
    ],
)
def test_combined_detectors_pass_hard_negatives(text: str) -> None:
    for rule in (no_blame, scope, stochasticity):
        assert not rule.detect(text, "analysis", ()), rule.__name__
