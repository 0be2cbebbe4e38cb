"""Word-independent sentence features for the learned layer of the prose rules.

Every feature abstracts away the particular words: it says "a person is the subject", "an omission verb",
"a modal perfect with *could*", "a law is named", "a measured rate", never "the word X". The word classes
come from `lexicon.py` and the shared sentence helpers (written from general English usage), so a model
trained on one author's sentences sees the same features in another author's phrasing.

`extract(text, section, names)` returns the names of the binary features that fire (a sparse set);
`rule_features` adds the hand rules' own verdicts, which `learned.py` feeds in as features too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.validators.lexicon import (
    ABSENCE_CLAIM,
    ABSOLUTE_MANNER,
    DILIGENCE_ADJ,
    DISCLAIMER_BUT,
    DISMISSAL,
    FAULT_VERB,
    JUDGEMENT_WORD,
    LEGAL_CONCEPT,
    PERSONNEL_ACTION,
    RECURRENCE,
    REGULATOR,
)
from agent.validators.sentence import PRONOUNS, mentions_person, name_like, prepare
from agent.validators.subjects import PERSON_NOUNS, SYSTEM_NOUNS, subject_before
from agent.vocabulary import vocabulary

_WORDS = vocabulary("features")

_I = re.IGNORECASE


def _rx(src: str) -> re.Pattern[str]:
    return re.compile(src, _I)


# Patterns built from shared word lists; the ones that are a regex alone are agent/vocabulary/features.yaml.
# --- people and blame ---------------------------------------------------------------------------------
_PRONOUN = _rx(r"\b(?:" + "|".join(re.escape(p) for p in sorted(PRONOUNS, key=len, reverse=True)) + r"|his|hers)\b")
_ROLE = _rx(r"\b(?:" + "|".join(re.escape(p) for p in sorted(PERSON_NOUNS - {"human", "humans"}, key=len, reverse=True))
            + r"|guy|guys|folks|deployer|new hire|intern)s?\b")
_FAULT = _rx(rf"\b{FAULT_VERB}|\b(?:failed|fails)\s+to\b|\b(?:mistakenly|accidentally|inadvertently|carelessly)\b")
_NOT_DILIGENT = _rx(rf"\b(?:not|never|n't|hardly|barely)\s+(?:\w+\s+)?(?:being\s+)?{DILIGENCE_ADJ}\b|\bun(?:professional|focused)\b")
_JUDGEMENT = _rx(rf"\b{JUDGEMENT_WORD}\b")
_RECUR = re.compile(RECURRENCE, _I | re.MULTILINE)
_DISCLAIM = _rx(DISCLAIMER_BUT)
_SANCTION = _rx(PERSONNEL_ACTION)
_DISMISS = _rx(rf"\b{DISMISSAL}\b")

# --- scope -----------------------------------------------------------------------------------------------
_LEGAL_CONCEPT = _rx(LEGAL_CONCEPT)
_REGULATOR = re.compile(REGULATOR)

# --- stochasticity ----------------------------------------------------------------------------------------
_ABSOLUTE = _rx(rf"(?<![\w-])(?:always|never|reliably|consistently|invariably|deterministically|guarantee[sd]?|"
                rf"certainly|definitely|100\s*%|every\s+(?:single\s+)?(?:time|request|prompt|query|input|case|user)|"
                rf"any\s+(?:more|longer)|no\s+longer|ever\s+again|impossible|incapable|cannot|can\s+not|"
                rf"bulletproof|foolproof|unbreakable|airtight|immune|robust|trustworthy|solved|eliminat\w+|"
                rf"fully|completely|entirely|totally|all\s+(?:cases|inputs|requests|prompts|users))(?![\w-])|"
                rf"\b{ABSOLUTE_MANNER}\b|\b{ABSENCE_CLAIM}")

_SECTIONS = ("analysis", "action_items", "summary", "timeline", "chat")


# Features that fire when one pattern is found in the sentence, keyed by feature name, one table a
# family; those with more to them (two patterns, a negation, a subject) are worked out in the
# family's function below.
_Found = dict[str, re.Pattern[str]]
_PEOPLE_FOUND: _Found = {
    "person_pronoun": _PRONOUN, "person_role": _ROLE, "person_handle": _WORDS.handle,
    "team_as_people": _WORDS.team_people, "we_mention": _WORDS.we,
}
_BLAME_FOUND: _Found = {
    "failed_to": _WORDS.failed_to, "supposed_to": _WORDS.supposed, "diligence_negated": _NOT_DILIGENT,
    "judgement_word": _JUDGEMENT, "recurrence_sarcasm": _RECUR, "irony_marker": _WORDS.irony,
    "disclaimer_but": _DISCLAIM, "blame_meta": _WORDS.blame_meta, "cleft": _WORDS.cleft,
    "possessive_fault": _WORDS.possessive_fault, "omission_manner": _WORDS.omission_manner,
    "rhetorical_who": _WORDS.rhetorical_who,
}
_HINDSIGHT_FOUND: _Found = {
    "past_unreal_conditional": _WORDS.past_unreal, "inverted_conditional": _WORDS.inverted,
    "if_only_wish": _WORDS.if_only, "all_it_took": _WORDS.all_it_took, "non_event": _WORDS.non_event,
    "prevention_verb": _WORDS.prevent, "hindsight_cue": _WORDS.hindsight,
    "counterfactual_result": _WORDS.counterfactual_result, "imperative_start": _WORDS.imperative,
    "we_will": _WORDS.we_will, "should_base_verb": _WORDS.should_base, "owner_due": _WORDS.owner_due,
}
_SCOPE_FOUND: _Found = {
    "legal_concept": _LEGAL_CONCEPT, "law_name": _WORDS.law_name, "law_word": _WORDS.law_word,
    "regulator": _REGULATOR, "obligation_asserted": _WORDS.obligation, "compliance_asserted": _WORDS.compliance,
    "referral_counsel": _WORDS.referral, "framework_mapping": _WORDS.framework, "personnel_action": _SANCTION,
    "dismissal_verb": _DISMISS, "hr_word": _WORDS.hr_word, "process_noun": _WORDS.abs_process,
}
_STOCHASTIC_FOUND: _Found = {
    "deterministic_subject": _WORDS.deterministic, "measured_rate": _WORDS.rate, "sample_size": _WORDS.sample,
    "single_run": _WORDS.single_run, "hedge": _WORDS.hedge, "future_permanence": _WORDS.future_model,
}


def _found(table: _Found, text: str) -> set[str]:
    return {name for name, pattern in table.items() if pattern.search(text)}


def _first_clause_subject(text: str, names: tuple[str, ...]) -> str:
    """'person' / 'system' / 'unknown' for the subject before the first finite verb-ish word."""
    m = re.search(r"\b(?:is|was|were|are|has|had|have|did|does|do|will|would|should|could|can|must|might|\w+ed|"
                  r"forgot|ran|broke|left|let|pushed|set|put|took|made|went|sent|wrote|shipped)\b", text[1:], _I)
    if not m:
        return "unknown"
    phrase, cls = subject_before(text, m.start() + 1, names)
    if cls == "unknown" and phrase and name_like(phrase.split()[-1]) and len(phrase.split()) <= 3:
        return "person"
    return cls


def _fault_subjects(text: str, names: tuple[str, ...]) -> set[str]:
    """Classes of the subjects of every fault verb in the sentence."""
    out: set[str] = set()
    for pat in (_FAULT, _WORDS.failed_to, _WORDS.did_not, _WORDS.supposed):
        for m in pat.finditer(text):
            phrase, cls = subject_before(text, m.start(), names)
            words = phrase.split()
            if cls == "unknown" and words and (name_like(words[-1]) or words[-1].lower() in {"team", "teams", "we"}):
                cls = "person"
            out.add(cls)
    return out


def _modal_features(text: str) -> set[str]:
    out: set[str] = set()
    for m in _WORDS.modal_perfect.finditer(text):
        modal = m.group(1).lower()
        # "should have been resolved as of 12:30": a status update, not hindsight.
        if modal == "should" and m.group(3).lower() == "been" and _WORDS.status.match(text[m.end(3):]):
            out.add("modal_perfect_status")
            continue
        out.add(f"modal_perfect_{modal}")
        if m.group(2):
            out.add("modal_perfect_negated")
    return out


def _people(text: str, names: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    tokens = re.findall(r"[\w'-]+", text)
    checks = {
        "person_name_shape": any(name_like(t) for t in tokens[1:]) or any(
            n and re.search(rf"\b{re.escape(n)}\b", text, _I) for n in names),
        "person_any": mentions_person(text, names),
    }
    out |= _found(_PEOPLE_FOUND, text) | {k for k, v in checks.items() if v}
    subj = _first_clause_subject(text, names)
    out.add(f"subject_{subj}")
    return out


def _blame(text: str, names: tuple[str, ...]) -> set[str]:
    fault_subj = _fault_subjects(text, names)
    checks = {
        "fault_verb": bool(_FAULT.search(text) or _WORDS.did_not.search(text)),
        "person_fault": "person" in fault_subj,
        "system_fault": "system" in fault_subj,
        "blame_word": bool(_WORDS.blame_word.search(text)) and not _WORDS.blame_meta.search(text),
    }
    return _found(_BLAME_FOUND, text) | {k for k, v in checks.items() if v}


def _hindsight(text: str) -> set[str]:
    out = _modal_features(text)
    return out | _found(_HINDSIGHT_FOUND, text)


def _scope(text: str) -> set[str]:
    return _found(_SCOPE_FOUND, text)


def _stochastic(text: str) -> set[str]:
    model = bool(_WORDS.model.search(text))
    absolute = bool(_ABSOLUTE.search(text))
    checks = {
        "absolute_word": absolute,
        "model_subject": model,
        "model_absolute": model and absolute,
        "negation": bool(re.search(r"\b(?:not|never|no)\b", text, _I)),
        "question": text.rstrip().endswith("?"),
    }
    return _found(_STOCHASTIC_FOUND, text) | {k for k, v in checks.items() if v}


@lru_cache(maxsize=4096)
def extract(text: str, section: str = "analysis", names: tuple[str, ...] = ()) -> frozenset[str]:
    """The abstract features that fire for one sentence (cached: all four rules ask for the same sentence)."""
    t = prepare(text)
    feats = _people(t, names) | _blame(t, names) | _hindsight(t) | _scope(t) | _stochastic(t)
    fam = section if section in _SECTIONS else "analysis"
    feats.add(f"section_{fam}")
    if "person_fault" in feats and "person_any" in feats:
        feats.add("person_and_fault")
    if ("personnel_action" in feats or "dismissal_verb" in feats) and "person_any" in feats:
        feats.add("sanction_on_person")
    if "modal_perfect_should" in feats and ("subject_person" in feats or "person_any" in feats):
        feats.add("person_should_have")
    people = "person_any" in feats or "subject_person" in feats
    for cue, combo in (("recurrence_sarcasm", "person_recurrence"), ("omission_manner", "person_omission"),
                       ("blame_word", "person_blame")):
        if people and cue in feats:
            feats.add(combo)
    if "model_subject" in feats and "future_permanence" in feats:
        feats.add("model_permanence")
    return frozenset(feats)


# Every feature name the extractor can emit (the model file lists the ones it was trained with).
def feature_names() -> list[str]:
    base = sorted({
        *{f"subject_{c}" for c in ("person", "system", "unknown")},
        *{f"modal_perfect_{m}" for m in ("should", "could", "would", "might", "must", "may")},
        "modal_perfect_negated", "modal_perfect_status",
        *{f"section_{s}" for s in _SECTIONS},
        "person_pronoun", "person_role", "person_name_shape", "person_handle", "team_as_people", "we_mention",
        "person_any", "fault_verb", "failed_to", "person_fault", "system_fault", "supposed_to", "diligence_negated",
        "judgement_word", "recurrence_sarcasm", "irony_marker", "disclaimer_but", "blame_word", "blame_meta", "cleft",
        "possessive_fault", "omission_manner", "rhetorical_who", "past_unreal_conditional", "inverted_conditional",
        "if_only_wish", "all_it_took", "non_event", "prevention_verb", "hindsight_cue", "counterfactual_result",
        "imperative_start", "we_will", "should_base_verb", "owner_due", "legal_concept", "law_name", "law_word",
        "regulator", "obligation_asserted", "compliance_asserted", "referral_counsel", "framework_mapping",
        "personnel_action", "dismissal_verb", "hr_word", "process_noun", "absolute_word", "model_subject",
        "model_absolute", "deterministic_subject", "measured_rate", "sample_size", "single_run", "hedge",
        "future_permanence", "negation", "question", "person_and_fault", "sanction_on_person", "person_should_have",
        "person_recurrence", "person_omission", "person_blame", "model_permanence",
    })
    return base


# Human-readable labels for explanations in findings.
LABELS: dict[str, str] = {
    "person_fault": "person subject + fault/omission verb",
    "person_and_fault": "person mentioned + fault verb",
    "subject_person": "person in subject position",
    "judgement_word": "judgement word",
    "diligence_negated": "negated diligence",
    "recurrence_sarcasm": "recurrence/sarcasm marker",
    "sanction_on_person": "personnel action aimed at a person",
    "person_should_have": "person + 'should have'",
    "past_unreal_conditional": "past-unreal conditional",
    "inverted_conditional": "inverted conditional ('Had ...')",
    "all_it_took": "'all it took' / one step away",
    "non_event": "non-event claim",
    "hindsight_cue": "hindsight cue",
    "counterfactual_result": "imagined outcome ('would have ...')",
    "model_absolute": "model subject + absolute word",
    "future_permanence": "permanence claim",
    "legal_concept": "legal concept",
    "law_name": "law/regulation named",
    "compliance_asserted": "compliance status asserted",
    "obligation_asserted": "legal obligation asserted",
    "personnel_action": "personnel action",
}


def label(feature: str) -> str:
    if feature.startswith("rule:"):
        return f"hand rule {feature[5:]}"
    if feature.startswith("modal_perfect_"):
        return f"modal perfect ('{feature[14:]} have')"
    return LABELS.get(feature, feature.replace("_", " "))


def person_words() -> frozenset[str]:
    """Exposed for tests: the role nouns the person features know (a general list, not a fitted one)."""
    return frozenset(PERSON_NOUNS) - frozenset(SYSTEM_NOUNS)



# A model-only finding needs one cue that is about the rule itself: the model then weighs the evidence
# around it. Without a gate the model learns the corpus' priors (people are mentioned mostly in blame
# sentences) and flags routine operator prose such as "Engineers rolled back the deployment".
GATES: dict[str, frozenset[str]] = {
    "no-blame": frozenset({"person_fault", "judgement_word", "diligence_negated", "sanction_on_person",
                           "possessive_fault", "cleft", "disclaimer_but", "rhetorical_who", "person_should_have",
                           "supposed_to", "person_recurrence", "person_omission", "person_blame"}),
    "no-counterfactual": frozenset({"modal_perfect_should", "modal_perfect_could", "modal_perfect_would",
                                    "modal_perfect_might", "modal_perfect_must", "past_unreal_conditional",
                                    "inverted_conditional", "if_only_wish", "all_it_took", "non_event",
                                    "counterfactual_result"}),
    "scope": frozenset({"legal_concept", "law_name", "regulator", "obligation_asserted", "compliance_asserted",
                        "personnel_action", "sanction_on_person"}),
    "stochasticity": frozenset({"model_absolute", "model_permanence"}),
}


def gate(rule: str, feats: frozenset[str]) -> bool:
    """Does the sentence carry at least one cue that belongs to this rule?"""
    cues = GATES.get(rule)
    return cues is None or bool(cues & feats)
