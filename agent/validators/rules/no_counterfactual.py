"""no-counterfactual: hindsight language (seed: never "should have known").

Hindsight bias makes the past look predictable and quietly blames whoever was there. We flag
"should have ...", "could have prevented/avoided", "would have been avoided if", "if only", "in
hindsight", "obviously" and friends. Forward-looking "should" ("the pipeline should block deploys
without a canary") never matches because every pattern needs a perfect-tense or hindsight marker.
"""

from __future__ import annotations

import re

from agent.report import ValidationFinding
from agent.validators.base import Context, Hit, Rule
from agent.validators.rules._prose import check_prose

RULE_ID = "no-counterfactual"
SUGGESTION = (
    "State what was known and visible at the time, and what in the system made the signal hard to see "
    "(e.g. 'the drift alert went to a retired rotation' instead of 'we should have caught the drift')."
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:should|ought to)(?: not|n't)?(?: never| really| clearly)? have\b", re.IGNORECASE),
     "judges past actions against knowledge available only afterwards"),
    (re.compile(r"\bshould never\b[^.]*\bhappened\b", re.IGNORECASE), "hindsight verdict"),
    (re.compile(r"\bcould(?: easily| simply| have easily)? have (?:been )?(?:easily )?"
                r"(?:prevented|avoided|caught|stopped|detected|seen|spotted|predicted|foreseen)\b", re.IGNORECASE),
     "counterfactual about what could have been prevented"),
    (re.compile(r"\bwould(?: never)? have (?:been )?(?:avoided|prevented|caught|happened|shipped|occurred|"
                r"seen errors)\b", re.IGNORECASE), "counterfactual outcome"),
    (re.compile(r"\bif only\b", re.IGNORECASE), "hindsight wish"),
    (re.compile(r"\b(?:in|with(?: the benefit of)?) hindsight\b|\bin retrospect\b|\blooking back\b", re.IGNORECASE),
     "hindsight framing"),
    (re.compile(r"(?<!not )(?<!non-)(?<!no )\bobvious(?:ly)?\b", re.IGNORECASE), "'obvious' is only obvious afterwards"),
    (re.compile(r"^\W*clearly,", re.IGNORECASE), "hindsight certainty"),
    (re.compile(r"\b(?:entirely|completely|easily|totally) preventable\b|\bwas preventable\b|"
                r"\bpredictable (?:failure|outcome|incident)\b|\bneedless to say\b|\bplain(?:ly)? to see\b|"
                r"\bplainly showed\b|\bsigns were all there\b|\bseen this coming\b", re.IGNORECASE),
     "hindsight verdict"),
    (re.compile(r"^\W*had\s+(?:anyone|someone|we|they|the|a|an)\b[^.]*\bwould\b", re.IGNORECASE),
     "counterfactual conditional"),
    (re.compile(r"\bif\b[^.;]*\bhad\b[^.;]*\bwould(?: never| not|n't)? have\b", re.IGNORECASE),
     "counterfactual conditional"),
    (re.compile(r"\b(?:anyone|any reasonable \w+) could have\b", re.IGNORECASE), "hindsight judgement"),
]
_NEGATED_OBVIOUS = re.compile(r"\b(?:not|non-|no|wasn't|isn't|n't)\s*(?:\w+\s)?obvious", re.IGNORECASE)


def detect(text: str, section: str = "analysis") -> list[Hit]:
    for pat, why in _PATTERNS:
        m = pat.search(text)
        if not m:
            continue
        if "obvious" in m.group(0).lower() and _NEGATED_OBVIOUS.search(text):
            continue
        return [
            Hit(
                rule=RULE_ID,
                match=m.group(0),
                message=f"Hindsight/counterfactual language ('{m.group(0)}'): {why}.",
                suggestion=SUGGESTION,
            )
        ]
    return []


def check(ctx: Context) -> list[ValidationFinding]:
    return check_prose(ctx, detect)


RULE = Rule(
    id=RULE_ID,
    check=check,
    severity="error",
    description="No hindsight/counterfactual language in the analysis ('should have known', 'if only').",
)
