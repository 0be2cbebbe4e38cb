"""scope: no legal opinions, compliance verdicts or HR advice (hard rule 6).

Mapping a finding to a framework ("maps to NIST AI RMF MEASURE 2.6") and handing a question to Legal
are in scope; deciding that something "violates GDPR", that we are "liable", or that a person should be
disciplined is not. Legal patterns need a legal object (a law, regulation, contract) next to a verdict
word, so "violated the content policy" or "the alert kept firing" pass.

Besides verdict words next to a law, three general structures are legal conclusions: a law as the
subject of a deontic verb ("HIPAA required ...", "the Act prohibits ..."), a compliance/certification
status claimed for us or our system ("EU AI Act compliant", "ISO 42001 certified", "meets the
requirements of Article 15"), and a determination of a legal concept (lawful/legal as a predicate,
"no right to erasure", "is not personal data", "duty to notify", "shielded by our ToS", negligence).
Quoted and `code` spans (an error string "illegal memory access") are mentions and are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from agent.validators.base import Hit
from agent.validators.learned import combine
from agent.validators.features import extract
from agent.validators.rules._prose import prose_rule
from agent.validators.lexicon import DISMISSAL, LEGAL_CONCEPT, LEGAL_VERDICT, PERSONNEL_ACTION, REGULATOR
from agent.validators.sentence import name_like, prepare
from agent.validators.subjects import PERSON_NOUNS
from agent.vocabulary import templates, vocabulary

_WORDS = vocabulary("scope")

RULE_ID = "scope"
LEGAL_SUGGESTION = (
    "Record the facts and route the question to Legal/Privacy/Compliance (e.g. 'Escalated to Legal for a "
    "determination on notification obligations'); framework mapping without a verdict is fine."
)
HR_SUGGESTION = (
    "Remove personnel recommendations; postmortems must not be usable punitively. Describe the systemic "
    "change (process, control, tooling) instead."
)

_LEGAL: list[re.Pattern[str]] = [
    t.fill(law=_WORDS.law.pattern, legal_concept=LEGAL_CONCEPT, legal_verdict=LEGAL_VERDICT, regulator=REGULATOR)
    for t in templates("legal_claims")
]
_PERSONISH = re.compile(
    r"\b(?:" + "|".join(sorted(PERSON_NOUNS)) + r")(?:['’]s)?\b|@\w+|\bwhoever\b", re.IGNORECASE
)


# Any personnel action (warnings, reviews, revoked access, removal from a rota) aimed at a person.
_PERSONNEL = re.compile(PERSONNEL_ACTION, re.IGNORECASE)
_DISMISS_OBJECT = re.compile(
    rf"\b{DISMISSAL}\s+(?:him|her|them|(?-i:[A-Z][a-z]+\b)|the\s+(?:[\w-]+\s+)?(?:"
    + "|".join(sorted(PERSON_NOUNS)) + r")\b)", re.IGNORECASE)


def _names_a_person(text: str) -> bool:
    if _PERSONISH.search(text):
        return True
    for m in _WORDS.person_target.finditer(text):
        w = m.group(0)
        if not w.lower().endswith(("'s", "’s")) or name_like(w) or w[:-2].lower() in PERSON_NOUNS:
            return True
    return any(name_like(w) for w in re.findall(r"[\w'’]+", text)[1:])


def hr_match(text: str) -> str | None:
    """The HR/personnel phrase in `text`, if any (shared with no-blame: a sanction aimed at a person)."""
    m = _WORDS.hr_strong.search(text) or _WORDS.hr_abbreviation.search(text)
    if m is not None:
        return m.group(0)
    if _WORDS.hr_meta.search(text):
        return None
    m2 = _DISMISS_OBJECT.search(text)
    if m2 and not looks_system_object(m2.group(0)):
        return m2.group(0)
    m2 = _WORDS.hr_needs_person.search(text) or _PERSONNEL.search(text)
    if m2 and _names_a_person(text):
        return m2.group(0)
    return None


def looks_system_object(phrase: str) -> bool:
    """"terminated Triton" / "killed Redis": a capitalised technology, not a person."""
    last = phrase.split()[-1]
    return last[:1].isupper() and not name_like(last)


def detect(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    """Hand rules combined with the learned layer (agent/validators/learned.py)."""
    hr = bool({"personnel_action", "dismissal_verb", "hr_word"} & extract(text, section, tuple(names)))
    return combine(RULE_ID, detect_rules(text, section), text, section, tuple(names),
                   HR_SUGGESTION if hr else LEGAL_SUGGESTION)


def detect_rules(text: str, section: str = "analysis") -> list[Hit]:
    text = prepare(text)
    hr = hr_match(text)
    if hr is not None:
        return [Hit(RULE_ID, hr, f"HR/personnel advice is out of scope ('{hr}').", HR_SUGGESTION)]
    if _WORDS.deferral.search(text):
        return []
    for pat in _LEGAL:
        lm = pat.search(text)
        if lm:
            return [
                Hit(
                    RULE_ID,
                    lm.group(0),
                    f"Legal/compliance verdict is out of scope ('{lm.group(0)}').",
                    LEGAL_SUGGESTION,
                )
            ]
    return []


RULE = prose_rule(
    RULE_ID, detect, "No legal opinions, compliance verdicts or HR advice; framework mapping is fine.",
    with_names=True,
)
