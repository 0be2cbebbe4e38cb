"""stochasticity: absolute claims about model behaviour must be qualified (hard rule 7).

"The model always refuses X" or "the new prompt guarantees Y" turns one run into a law. We flag an
absolute marker (always, never, reliably, consistently, guaranteed, will no longer, 100% of, ...) whose
subject is a model-like noun (model, LLM, agent, classifier, judge, prompt, GPT-4o, Claude, ...), unless
the sentence qualifies it ("in this run", "in 3 of 200 sampled runs", "n=500", "may", "not guaranteed",
[ASSUMPTION]) or the model is only on the receiving end ("the model never received the new index").
"""

from __future__ import annotations

import re

from agent.report import ValidationFinding
from agent.validators.base import Context, Hit, Rule
from agent.validators.rules._prose import check_prose

RULE_ID = "stochasticity"
SUGGESTION = (
    "Qualify the claim with what was observed: 'in this run' or 'in N of M sampled runs at temperature T', "
    "and mark untested generalisations as *hypotheses* or [ASSUMPTION]."
)

_MODEL = re.compile(
    r"\b(?:model|models|llm|llms|checkpoint|assistant|chatbot|agent|agents|classifier|reranker model|"
    r"judge(?: model)?|reward model|summari[sz]er(?: model)?|guardrail(?: model)?|system prompt|prompt|"
    r"gpt-?[\w.-]*|claude[\w.-]*|llama[\w.-]*|mistral[\w.-]*|mixtral[\w.-]*|gemini[\w.-]*|qwen[\w.-]*|"
    r"fine-tuned \w+)\b",
    re.IGNORECASE,
)
_ABSOLUTE = re.compile(
    r"(?<![\w-])(?:always|never|reliably|consistently|invariably|deterministically|unfailingly)(?![\w-])|"
    r"\bguarantee[sd]?\b|\bwill no longer\b|\bno longer (?:produces?|leaks?|hallucinates?)\b|"
    r"\bwon't ever\b|\bwill not ever\b|\bcannot (?:produce|generate|output|leak|be jailbroken|hallucinate)\b|"
    r"\beliminates?\b[^.;]{0,40}\b(?:entirely|completely)\b|\b(?:fully|completely|100%) safe\b|\bimmune\b|"
    r"\b100% of\b|\bevery (?:single )?(?:request|prompt|query|input|question|conversation|call|user)\b",
    re.IGNORECASE,
)
_EVERY_TIME = re.compile(r"\bevery (?:time|single time)\b|\bwhenever\b", re.IGNORECASE)
_HEDGE = re.compile(
    r"\bin this (?:run|eval|replay|session|sample)\b|\b\d[\d,]* of \d[\d,]*\b|\bsampled\b|\breplay\w*\b|"
    r"\(n ?= ?\d|\bnot guaranteed\b|\bcannot claim\b|\bcan't claim\b|\bmay\b|\bmight\b|\btended to\b|"
    r"\[ASSUMPTION\]|\[DATA GAP\]|\bhypothes\w+|\bnot (?:yet )?established\b|\bso far\b|\bin our tests\b|"
    r"\bin the \d+ runs\b|\bwe observed\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"\b(?:not|n't|no)\s+(?:\w+\s+)?$", re.IGNORECASE)
# Verbs where the model is the recipient of a deterministic system action.
_RECEIVING = re.compile(
    r"^\s*(?:received|receives|saw|sees|got|gets|had access|has access|was (?:given|shown|sent|called|"
    r"loaded|served|deployed|invoked)|were (?:given|shown|sent|called))\b",
    re.IGNORECASE,
)
_MODAL_BEFORE = re.compile(r"\b(?:would|could|should|might)\s+$", re.IGNORECASE)  # "would never have shipped"
_CLAUSE = re.compile(r"[;:]|\bbecause\b|\bwhile\b|\bwhereas\b|\bbut\b", re.IGNORECASE)


def _italic_sentence(text: str) -> bool:
    t = text.strip()
    return len(t) > 2 and t.startswith("*") and t.rstrip(".").endswith("*") and not t.startswith("**")


def detect(text: str, section: str = "analysis") -> list[Hit]:
    if _HEDGE.search(text) or _italic_sentence(text):
        return []
    for a in _ABSOLUTE.finditer(text):
        if _NEGATED.search(text[: a.start()]):
            continue
        if _RECEIVING.match(text[a.end():]) or _MODAL_BEFORE.search(text[: a.start()]):
            continue
        clause_start = 0
        for c in _CLAUSE.finditer(text[: a.start()]):
            clause_start = c.end()
        if _MODEL.search(text[clause_start: a.start()]) or (
            a.group(0).lower() == "100% of" and _MODEL.search(text)
        ):
            return [_hit(a.group(0))]
    if _EVERY_TIME.search(text) and _MODEL.search(text):
        return [_hit(_EVERY_TIME.search(text).group(0))]  # type: ignore[union-attr]
    return []


def _hit(word: str) -> Hit:
    return Hit(
        RULE_ID,
        word,
        f"Absolute claim about model behaviour ('{word}') from a stochastic system.",
        SUGGESTION,
    )


def check(ctx: Context) -> list[ValidationFinding]:
    return check_prose(ctx, detect)


RULE = Rule(
    id=RULE_ID,
    check=check,
    severity="error",
    description="Distinguish 'the model produced X in this run' from 'the model will reliably do X'.",
)
