"""no-blame: individual-fault language (hard rule 2).

Two kinds of evidence: judgement phrases that only ever describe people ("human error", "dropped the
ball", "careless"), and fault verbs ("failed to", "forgot", "ignored", "did not check") whose subject
is a person, a role, a pronoun, a @handle or a supplied name. "The alert failed to fire" is a system
failing and passes.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from agent.report import ValidationFinding
from agent.validators.base import Context, Hit, Rule
from agent.validators.rules._prose import check_prose
from agent.validators.rules.scope import hr_match
from agent.validators.subjects import classify_phrase, subject_before

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
    r"\bat fault\b|\bto blame\b|\binattentive\b|\binattention\b|\breckless\w*|\bcomplacen\w+|\birresponsibl\w+",
    re.IGNORECASE,
)
_POSSESSIVE_FAULT = re.compile(
    r"(@?[\w-]+(?:\s+[\w-]+){0,2})['’]s (?:mistake|oversight|negligence|carelessness|fault|slip|"
    r"error in judge?ment|lapse)\b",
    re.IGNORECASE,
)
_FAULT_OF = re.compile(r"\bfault of\s+((?:the |an? )?[@\w-]+(?:\s+[\w-]+){0,3})", re.IGNORECASE)
# Who a sanction is aimed at: a person or role (not "the team", which scope alone handles).
_SANCTION_TARGET = re.compile(
    r"\b(?:engineer|operator|on-call|sre|developer|intern|researcher|scientist|reviewer|manager|lead|"
    r"owner|contractor|annotator|responder|analyst|employee|whoever|he|she|him|her)\b|@\w+",
    re.IGNORECASE,
)
# Verbs that are faults when a person is their subject.
_DUTY_VERBS = (
    r"follow|check|read|notice|run|test|verify|update|document|escalate|look|review|validate|pin|"
    r"communicate|consider|reali[sz]e|think|catch|see|acknowledge|ack|respond|report|inform|wait|"
    r"confirm|monitor|remember|bump|rotate|tell|ask|flag|double-check"
)
_FAULT_VERB = re.compile(
    r"\b(?:failed|fails|fail) to\b|\b(?:forgot|forgets|forgotten|forgetting)\b|\bneglect(?:ed|s)?\b|"
    r"\bignor(?:ed|es|ing)\b|\bskipp(?:ed|ing)\b|\bbypass(?:ed|ing)\b|\boverlook(?:ed|s)\b|\bmiss(?:ed|es)\b|\bbroke\b|"
    r"\b(?:mistakenly|accidentally|inadvertently|wrongly)\b|\bmade (?:an? )?(?:error|mistake|mistakes)\b|"
    rf"\b(?:did not|didn't|does not|doesn't|never) (?:{_DUTY_VERBS})\b|"
    r"\bshould(?: not|n't)? have\b|\bpushed an? untested\b",
    re.IGNORECASE,
)


def detect(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    hits: list[Hit] = []
    m = _JUDGEMENT.search(text)
    if m:
        hits.append(_hit(m.group(0), f"Individual-fault language: '{m.group(0)}'."))
        return hits
    sanction = hr_match(text)
    if sanction and _SANCTION_TARGET.search(text):
        hits.append(_hit(sanction, f"Recommends a sanction against an individual ('{sanction}')."))
        return hits
    for m in _POSSESSIVE_FAULT.finditer(text):
        words = m.group(1).split()
        if classify_phrase(words[-1], names) != "system" and words[-1].lower() not in {"process", "team"}:
            hits.append(_hit(m.group(0), f"Attributes the fault to a person: '{m.group(0)}'."))
            return hits
    m = _FAULT_OF.search(text)
    if m and classify_phrase(m.group(1), names) == "person":
        hits.append(_hit(m.group(0), f"Attributes the incident to a person: '{m.group(0)}'."))
        return hits
    for m in _FAULT_VERB.finditer(text):
        phrase, cls = subject_before(text, m.start(), names)
        if cls == "person":
            hits.append(
                _hit(
                    m.group(0),
                    f"'{phrase} {m.group(0)}' makes a person the subject of a fault.",
                )
            )
            return hits
    return hits


def _hit(match: str, message: str) -> Hit:
    return Hit(rule=RULE_ID, match=match, message=message, suggestion=SUGGESTION)


def check(ctx: Context) -> list[ValidationFinding]:
    return check_prose(ctx, detect, with_names=True)


RULE = Rule(
    id=RULE_ID,
    check=check,
    severity="error",
    description="No individual-fault language; reframe toward system, process, incentives, missing control.",
)
