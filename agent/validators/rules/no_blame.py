"""no-blame: individual-fault language (hard rule 2).

Two kinds of evidence: judgement phrases that only ever describe people ("human error", "dropped the
ball", "careless"), and fault verbs ("failed to", "forgot", "ignored", "did not check") whose subject
is a person, a role, a pronoun, a @handle or a supplied name. "The alert failed to fire" is a system
failing and passes.

Sentence structures that single out a person without a fault verb are recognised too: clefts ("it was
Dana who ..."), responsibility idioms ("it's on the contractor", "comes down to X skipping"), a person
as agent (subject or passive by-phrase) of an action done without a control or in a rush ("pushed
straight to main", "flipped without review by X", "told no one"), and rhetorical who-questions ("who
approved this??"). Quoted and `code` spans are mentions, not claims, and are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from agent.validators.base import Hit
from agent.validators.learned import combine
from agent.validators.lexicon import DILIGENCE_ADJ, DISCLAIMER_BUT, FAULT_VERB, JUDGEMENT_WORD, RECURRENCE
from agent.validators.rules._prose import prose_rule
from agent.validators.rules.scope import hr_match
from agent.validators.sentence import is_person_phrase, mentions_person, name_like, person_np, prepare
from agent.validators.subjects import SYSTEM_NOUNS, classify_phrase, subject_before
from agent.vocabulary import templates, vocabulary

_WORDS = vocabulary("blame")

RULE_ID = "no-blame"
SUGGESTION = (
    "Describe the condition that allowed the step to go wrong: the missing control, unclear process, "
    "tooling gap or incentive (e.g. 'the release process had no check for X' instead of 'X forgot')."
)

# Phrases that judge a person whatever the grammar around them.
_JUDGEMENT = re.compile(
    r"\b(?:human|operator|user|pilot|manual) errors?\b|\bdropped the ball\b|\basleep at the wheel\b|"
    r"\brookie mistake\b|\bfat[- ]finger\w*|\brubber[- ]stamp\w*|\bcareless\w*|\bnegligen\w+|\bsloppy\b|"
    r"\blazy\b|\bincompeten\w+|\bpoor judge?ments?\b|\bbad judge?ments?\b|\b(?:messed|screwed) up\b|"
    r"\bblindly\b|\bdid(?: not|n't) bother\b|\bpanicked\b|\bnot paying attention\b|"
    r"\bheld (?:personally )?accountable\b|\b(?:his|her|their) (?:fault|mistake|blunder)\b|\bblunder\w*\b|"
    r"\bat fault\b|\bto blame\b|\binattentive\b|\binattention\b|\breckless\w*|\bcomplacen\w+|\birresponsibl\w+|"
    r"\b(?:classic|typical) (?:rushing|laziness|carelessness|sloppiness)\b|\bcowboy\w*\b|\bclueless\b|"
    rf"\b{JUDGEMENT_WORD}\b|\btells you (?:everything|all you need to know)\b|"
    r"\bhow (?:seriously|little) (?:they|he|she|the \w+|[A-Z]\w+) (?:take|takes|took|care|cares|cared)\b|"
    r"\b(?:his|her|their) eyes off\b|\b(?:and|then) (?:then )?(?:logged|logs|signed|signs) off\b|"
    r"\band then (?:went|goes) (?:on (?:pto|vacation|holiday|leave)|home|to bed|offline|dark)\b|"
    r"\blike (?:everyone|everybody|anyone) else (?:does|did|would)\b|\bresponsibility (?:lies|rests|sits) (?:with|on)\b|"
    r"\b(?:indefensible|inexcusable|unforgivable)\b|\b(?:went|go|goes|going) back to sleep\b|"
    r"\bowes? (?:[\w-]+ ){0,4}(?:an? )?(?:coffee|beer|drink|pizza|lunch|donuts?|round)\b|\bi struggle to see how\b",
    re.IGNORECASE,
)
# Person-only diligence adjectives, negated: "weren't careful", "not paying attention".
_NOT_DILIGENT = re.compile(
    rf"\b(?:was|were|is|are|be|been|being|am)\s+(?:not|never)\s+(?:\w+\s+)?(?:being\s+)?{DILIGENCE_ADJ}\b",
    re.IGNORECASE)
_RECURRENCE = re.compile(RECURRENCE, re.IGNORECASE | re.MULTILINE)
_DISCLAIMER = re.compile(DISCLAIMER_BUT, re.IGNORECASE)
# Verbs that are faults when a person is their subject.
_DUTY_VERBS = (
    r"follow|check|read|notice|run|test|verify|update|document|escalate|look|review|validate|pin|"
    r"communicate|consider|reali[sz]e|think|catch|see|acknowledge|ack|respond|report|inform|wait|"
    r"confirm|monitor|remember|bump|rotate|tell|ask|flag|double-check|bother|care|listen|loop|warn|announce"
)
# Predicates that only people can be subjects of (so a capitalised non-tech subject counts as a name).
_HUMAN_ONLY = re.compile(
    rf"\b(?:forgot|forgets|forgotten|neglect\w*|(?:did|does|do) not (?:bother|care)|bothered to|"
    rf"failed to (?:{_DUTY_VERBS})|did not (?:{_DUTY_VERBS})|never (?:{_DUTY_VERBS})|sat on|should(?: not)? have)\b",
    re.IGNORECASE,
)
_ACTION_VERB = r"(?:\w+ed|set|put|ran|cut|wrote|made|took|sent|shipped|built|broke|left|let|hit|gave|did|went)"
_FAULT_VERB = re.compile(
    r"\b(?:failed|fails|fail) to\b|\b(?:forgot|forgets|forgotten|forgetting)\b|\bneglect(?:ed|s)?\b|"
    r"\bignor(?:ed|es|ing)\b|\bskipp(?:ed|ing)\b|\bbypass(?:ed|ing)\b|\boverlook(?:ed|s)\b|\bmiss(?:ed|es)\b|\bbroke\b|"
    r"\b(?:mistakenly|accidentally|inadvertently|wrongly)\b|\bmade (?:an? )?(?:error|mistake|mistakes)\b|"
    rf"\b(?:did not|didn't|does not|doesn't|never) (?:{_DUTY_VERBS})\b|"
    r"\bshould(?: not|n't)? have\b(?! to\b)|\bpushed an? untested\b|\bbothered to\b|"
    r"\bsat on (?:the |an? |that |this )?(?:page|alert|ticket|pr|review|incident|it)\b|\b(?:was|were) supposed to\b(?! be (?:on|off|away|out)\b)|"
    rf"\b{FAULT_VERB}\b",
    re.IGNORECASE,
)


def detect(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    """Hand rules combined with the learned layer (agent/validators/learned.py)."""
    names = tuple(names)
    return combine(RULE_ID, detect_rules(text, section, names), text, section, names, SUGGESTION)


def detect_rules(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    text = prepare(text)
    hits: list[Hit] = []
    m = _JUDGEMENT.search(text)
    if m and (m.group(0).lower() == "to blame" and _WORDS.blame_meta.search(text) or _WORDS.who_meta.search(text[: m.start()])):
        m = None
    if m and not (m.group(0).lower().startswith("negligen") and _WORDS.legal_frame.search(text)):
        hits.append(_hit(m.group(0), f"Individual-fault language: '{m.group(0)}'."))
        return hits
    sanction = hr_match(text)
    if sanction and (_WORDS.sanction_target.search(text) or any(name_like(w) for w in re.findall(r"[\w']+", text)[1:])):
        hits.append(_hit(sanction, f"Recommends a sanction against an individual ('{sanction}')."))
        return hits
    structural = _structural(text, tuple(names)) or _tone(text, tuple(names))
    if structural:
        return [structural]
    for m in _WORDS.possessive_fault.finditer(text):
        words = m.group(1).split()
        if classify_phrase(words[-1], names) != "system" and words[-1].lower() not in {"process", "team"}:
            hits.append(_hit(m.group(0), f"Attributes the fault to a person: '{m.group(0)}'."))
            return hits
    m = _WORDS.fault_of.search(text)
    if m and classify_phrase(m.group(1), names) == "person":
        hits.append(_hit(m.group(0), f"Attributes the incident to a person: '{m.group(0)}'."))
        return hits
    for m in _FAULT_VERB.finditer(text):
        phrase, cls = subject_before(text, m.start(), names)
        if cls == "person" or _person_subject(phrase, text[m.start():], names):
            hits.append(
                _hit(
                    m.group(0),
                    f"'{phrase} {m.group(0)}' makes a person the subject of a fault.",
                )
            )
            return hits
    return hits


def _tone(text: str, names: tuple[str, ...]) -> Hit | None:
    """Blame carried by tone rather than a fault verb: recurrence/sarcasm, disclaimers, negated diligence."""
    m = _NOT_DILIGENT.search(text)
    if m:
        phrase, cls = subject_before(text, m.start(), names)
        if cls != "system" or mentions_person(phrase, names):
            return _hit(m.group(0), f"Judges a person's diligence: '{m.group(0)}'.")
    n = _WORDS.nobody_thought.search(text) or (_WORDS.chose_not.search(text) if mentions_person(text, names) else None)
    if n:
        return _hit(n.group(0), f"Frames an omission as a person's choice or thoughtlessness: '{n.group(0)}'.")
    d = _DISCLAIMER.search(text)
    if d and mentions_person(text[d.end():], names):
        return _hit(d.group(0), "A 'not pointing fingers, but ...' disclaimer introduces blame of a person.")
    r = _RECURRENCE.search(text)
    if r and _WORDS.bad_turn.search(text) and mentions_person(text, names):
        return _hit(r.group(0), f"'{r.group(0).strip(' ,')}' frames a bad outcome as a person's habit.")
    return None


def _person_subject(phrase: str, predicate: str, names: Collection[str]) -> bool:
    """A subject that is a role/team/pronoun, or a capitalised non-tech word before a human-only predicate."""
    words = phrase.split()
    if not words or words[-1].lower().strip(".,") in SYSTEM_NOUNS:
        return False
    if not is_person_phrase(phrase, names):
        return False
    last = words[-1]
    capital_only = last[:1].isupper() and classify_phrase(phrase, names) != "person" and not phrase.lower().endswith(
        ("team", "teams"))
    return not capital_only or bool(_HUMAN_ONLY.match(predicate))


def _structural(text: str, names: tuple[str, ...]) -> Hit | None:
    """Sentence structures that single out a person without a fault verb."""
    who = person_np(names)
    for pat, why in _structures(who):
        m = pat.search(text)
        if m and _is_person_match(m, names):
            return _hit(m.group(0), why)
    if _WORDS.omission_cue.search(text):
        agent = re.search(rf"\bby ({who})", text, re.IGNORECASE) or re.search(
            rf"(?:^|[,;.:]\s*|\b(?:and|then|but|tbh|so|one|that|because|after|when)\s+)({who})\s+(?:\w+ly\s+|has\s+|had\s+)?"
            rf"{_ACTION_VERB}\b",
            text, re.IGNORECASE)
        if agent and _is_person_match(agent, names):
            return _hit(agent.group(0), f"Attributes an unchecked or rushed action to a person: '{agent.group(0)}'.")
    return None


def _is_person_match(m: re.Match[str], names: Collection[str]) -> bool:
    if not m.groups():
        return True  # the structure itself is about a person
    phrase = m.group(1)
    if phrase is None:
        return True
    if phrase.split() and phrase.split()[-1].lower() in SYSTEM_NOUNS:
        return False
    return is_person_phrase(phrase, names)


@lru_cache(maxsize=64)
def _structures(who: str) -> list[tuple[re.Pattern[str], str]]:
    """The person-as-cause structures (agent/vocabulary/blame_structures.yaml) aimed at `who`."""
    return [(t.fill(who=who), t.why) for t in templates("blame_structures")]


def _hit(match: str, message: str) -> Hit:
    return Hit(rule=RULE_ID, match=match, message=message, suggestion=SUGGESTION)


RULE = prose_rule(
    RULE_ID, detect, "No individual-fault language; reframe toward system, process, incentives, missing control.",
    with_names=True,
)
