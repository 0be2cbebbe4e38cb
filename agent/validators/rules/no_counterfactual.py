"""no-counterfactual: hindsight language (seed: never "should have known").

Hindsight bias makes the past look predictable and quietly blames whoever was there. We flag
"should have ...", "could have prevented/avoided", "would have been avoided if", "if only", "in
hindsight", "obviously" and friends. Forward-looking "should" ("the pipeline should block deploys
without a canary") never matches because every pattern needs a perfect-tense or hindsight marker.

The core is one structural test, the modal perfect (modal + have + past participle) in every spelling
(`sentence.normalize` turns "should've", "couldve", "shoulda", "would of", "we'd have" into "should
have"). Its meaning depends on the modal: "should/would/ought to have" describe an unrealised past
(counterfactual), except the epistemic status use ("should have been resolved as of 13:04", "by now");
"would/could/might have" are often a guess about what happened ("the spike may have come from the
retry storm", "affected jobs would have failed with ...") and count only with a prevention/outcome
verb or an unreal condition ("if we had ...", "had the flag ..."); "may/must have" are epistemic and
never count; "have to" is obligation, not perfect.
Hindsight-bias warnings ("avoid hindsight: ...") and quoted mentions are exempt.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from agent.validators.base import Hit
from agent.validators.learned import combine
from agent.validators.rules._prose import prose_rule
from agent.validators.sentence import prepare
from agent.vocabulary import vocabulary

_WORDS = vocabulary("counterfactual")

RULE_ID = "no-counterfactual"
SUGGESTION = (
    "State what was known and visible at the time, and what in the system made the signal hard to see "
    "(e.g. 'the drift alert went to a retired rotation' instead of 'we should have caught the drift')."
)


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\ball (?:it|that|we|this) (?:needed|took|would have taken|needs|takes|would take|required) (?:was|is)\b",
                re.IGNORECASE), "counterfactual: how little it 'would have taken'"),
    (re.compile(r"\bshould never\b[^.]*\bhappened\b", re.IGNORECASE), "hindsight verdict"),
    (re.compile(r"\bcould(?: easily| simply| have easily)? have (?:been )?(?:easily )?"
                r"(?:prevented|avoided|caught|stopped|detected|seen|spotted|predicted|foreseen)\b", re.IGNORECASE),
     "counterfactual about what could have been prevented"),
    (re.compile(r"\bwould(?: never)? have (?:been )?(?:avoided|prevented|caught|happened|shipped|occurred|"
                r"seen errors)\b", re.IGNORECASE), "counterfactual outcome"),
    (re.compile(r"\bif only\b", re.IGNORECASE), "hindsight wish"),
    (re.compile(r"\bif\b[^.;]*\bhad \w+(?:ed|en|wn|un|one)\b[^.;]*\bwould(?: not| never)? be\b", re.IGNORECASE),
     "mixed conditional: an unrealised past with a present consequence"),
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
# Elliptical counterfactuals: "<one small control> and this is a non-event", "... back in May, and the
# contamination never happens", "we'd not be writing this", "one flag away from ...".
_PAST_ANCHOR = r"(?:back then|back in \w+|at the time|last (?:week|month|quarter|year|sprint|release|season)|earlier|beforehand|in advance)"
_ELLIPTICAL: list[re.Pattern[str]] = [
    re.compile(r"\band (?:this|that|it|the (?:[\w-]+ ){0,2}?(?:incident|outage|issue|regression))(?:'s| is| was| would be)"
               r" (?:just |only |merely )?(?:a |an )?(?:non-event|non-issue|blip|footnote|nothing|no incident|not an incident)\b",
               re.IGNORECASE),
    re.compile(rf"\b{_PAST_ANCHOR}\b[^.;]{{0,60}}\band\b[^.;]{{0,60}}\b(?:never [\w-]+|"
               r"(?:we|you|i)(?:'re| are) not (?:writing|here|having)|(?:is|was) (?:a )?(?:non-event|blip))\b", re.IGNORECASE),
    re.compile(r"\b(?:we|you|i|nobody|no one|none of us)(?:'d| would)(?: not| never)? be (?:here|writing|having|talking|"
               r"up at|on this call|in this (?:room|meeting))\b|\b(?:we|you)(?:'re| are) not (?:writing|having) this\b",
               re.IGNORECASE),
    re.compile(r"\bthe (?:whole|only|entire) (?:gap|difference) between (?:this|an?|the) (?:incident|outage|postmortem)\b",
               re.IGNORECASE),
    re.compile(r"\b(?:one|a single|just one|two|a few) (?:[\w:-]+ ){1,3}away from (?:catching|preventing|avoiding|stopping|"
               r"blocking|this (?:never|not)|the incident never|never|a non-event)", re.IGNORECASE),
    re.compile(r"\b(?:was|were) (?:just |only )?(?:one|a single|two|a few) (?:[\w:-]+ ){1,3}away from\b", re.IGNORECASE),
    re.compile(r"\b(?:all|the only thing|the one thing)(?: that)? stood between\b|\bwas the (?:whole |only |entire )?difference "
               r"between\b|\bthe (?:one|only|single) missing (?:piece|step|check|control)\b|"
               r"\bwould(?: not)? have been (?:a |an )?(?:non-event|non-issue|blip|footnote|nothing)\b|"
               r"\band (?:we|you|it|this|they) would(?: not| never)? have\b|\bideally\b[^.;]*\b(?:would|should) have\b",
               re.IGNORECASE),
    re.compile(r"^\W*(?:one|a|an|any|a single|just one|two|three) [^.;]{3,80}?\band\b[^.;]{0,60}\bnever [\w-]+", re.IGNORECASE),
    re.compile(r"^\W*had\s+(?:anyone|someone|we|they|the|a|an|our|this|that|it)\b[^.;?]{3,80},", re.IGNORECASE),
    re.compile(r"\bif\b[^.;]{0,60}\bhad (?:just|only|simply|even|actually) \w+", re.IGNORECASE),
    re.compile(r"\bwould(?: not| never)? be\b[^.;]*\bif\b[^.;]*\bhad (?:been |\w+ed|\w+en)\b", re.IGNORECASE),
]


def _modal_perfect(text: str) -> re.Match[str] | None:
    for m in _WORDS.modal_perfect.finditer(text):
        modal, verb = m.group(1).lower(), m.group(2)
        if modal in {"should", "ought to"}:
            if modal == "should" and _WORDS.epistemic_status.search(text[m.end():]):
                continue  # "should have been resolved as of 13:04" reports a status, not a wish
            return m
        # would/could/might have: an inference about what happened ("affected jobs would have failed",
        # "the spike could have come from ...") unless it imagines prevention or rests on an unreal condition.
        if _WORDS.outcome.fullmatch(verb) or _WORDS.condition.search(text) or _WORDS.easy.search(m.group(0)):
            return m
    return None


def detect(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    """Hand rules combined with the learned layer (agent/validators/learned.py)."""
    return combine(RULE_ID, detect_rules(text, section), text, section, tuple(names), SUGGESTION)


def detect_rules(text: str, section: str = "analysis") -> list[Hit]:
    text = prepare(text)
    if _WORDS.warning.search(text):
        return []
    mp = _modal_perfect(text)
    if mp:
        return [Hit(rule=RULE_ID, match=mp.group(0),
                     message=f"Hindsight/counterfactual language ('{mp.group(0)}'): an unrealised past judged "
                             "with knowledge available only afterwards.", suggestion=SUGGESTION)]
    for pat in _ELLIPTICAL:
        em = pat.search(text)
        if em:
            return [Hit(rule=RULE_ID, match=em.group(0),
                        message=f"Counterfactual ('{em.group(0)}'): an imagined past in which the incident did not "
                                "happen.", suggestion=SUGGESTION)]
    for pat, why in _PATTERNS:
        m = pat.search(text)
        if not m:
            continue
        if "obvious" in m.group(0).lower() and _WORDS.negated_obvious.search(text):
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


RULE = prose_rule(
    RULE_ID, detect, "No hindsight/counterfactual language in the analysis ('should have known', 'if only').",
    with_names=True,
)
