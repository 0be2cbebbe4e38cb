"""stochasticity: absolute claims about model behaviour must be qualified (hard rule 7).

"The model always refuses X" or "the new prompt guarantees Y" turns one run into a law. We flag an
absolute marker (always, never, reliably, consistently, guaranteed, will no longer, 100% of, ...) whose
subject is a model-like noun (model, LLM, agent, classifier, judge, prompt, GPT-4o, Claude, ...), unless
the sentence qualifies it ("in this run", "in 3 of 200 sampled runs", "n=500", "may", "not guaranteed",
[ASSUMPTION]) or the model is only on the receiving end ("the model never received the new index").

Absolute claims are not only adverbs: a negated behaviour with a permanence marker ("doesn't hallucinate
anymore", "won't loop ... ever again"), an incapacity ("incapable of", "can't be gamed"), trust or
certainty ("can be trusted to", "certain to", "bulletproof"), exclusivity ("answers only from") and
identity with another model ("behaves exactly like the teacher") all generalise one run into a law.
Contractions are expanded first (`sentence.normalize`), and quoted or `code` spans are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from agent.validators.base import Hit
from agent.validators.learned import combine
from agent.validators.rules._prose import prose_rule
from agent.validators.lexicon import ABSENCE_CLAIM, ABSOLUTE_MANNER
from agent.validators.sentence import prepare

RULE_ID = "stochasticity"
SUGGESTION = (
    "Qualify the claim with what was observed: 'in this run' or 'in N of M sampled runs at temperature T', "
    "and mark untested generalisations as *hypotheses* or [ASSUMPTION]."
)

_MODEL = re.compile(
    r"\b(?:model|models|llm|llms|checkpoint|assistant|chatbot|agent|agents|classifier|reranker model|"
    r"judge(?: model)?|reward model|summari[sz]er(?: model)?|guardrail(?: model)?|system prompt|prompt|"
    r"gpt-?[\w.-]*|claude[\w.-]*|llama[\w.-]*|mistral[\w.-]*|mixtral[\w.-]*|gemini[\w.-]*|qwen[\w.-]*|"
    r"fine-tuned \w+|detector|filter|guard|reranker|retriever|rag(?: pipeline| system| stack)?|(?:learned|trained|rl|sampling) policy|student model|"
    r"distilled \w+|copilot|bot|extractor|recommender|ranker|robots?(?!\.)|autopilot|policy head|vision system|(?:planner|planning|driving|grasp|control) policy|"
    r"tagger|captioner|moderator model|transcriber)\b"
    # "model registry", "model server": infrastructure named after the model is deterministic.
    r"(?! (?:registry|server|endpoint|config|version|file|artifact|card|id|cache|store|gateway|router|name)s?\b)",
    re.IGNORECASE,
)
_ABSOLUTE = re.compile(
    r"(?<![\w-])(?:always|never|reliably|consistently|invariably|deterministically|unfailingly)(?![\w-])|"
    r"\bguarantee[sd]?\b|\bwill no longer\b|\bno longer (?:produces?|leaks?|hallucinates?)\b|"
    r"\bwon't ever\b|\bwill not ever\b|\bcan ?not (?:produce|generate|output|leak|be jailbroken|hallucinate)\b|"
    r"\b(?:does|do|will|can) not (?:[\w-]+ ){1,5}?(?:anymore|any more|ever again)\b|\bincapable of\b|"
    r"\bcan (?:now )?be trusted\b|\bcan ?not be (?:\w+ed|gamed|jailbroken|fooled|tricked|broken|beaten)\b|"
    r"\b(?:bulletproof|foolproof|unbreakable|airtight|watertight)\b|\b(?:certain|sure) to\b|"
    r"\b(?:answers|responds|replies|outputs|generates|cites|retrieves|uses) only\b|\bexactly like\b|"
    r"\bidentical(?:ly)? to\b|\bproves?\b|\bdefinitely\b|\b100% (?:consistent|accurate|reliable|correct|safe)\b|"
    r"\bwill (?:catch|block|flag|stop|detect|refuse|reject) (?:any|every|all)\b|"
    r"\bevery (?:[\w-]+ )?(?:request|prompt|query|input|answer|output|response|attempt)\b|"
    r"\bevery single (?:one|case|sample|time)\b|"
    r"\beliminates?\b[^.;]{0,40}\b(?:entirely|completely)\b|\b(?:fully|completely|100%) safe\b|\bimmune\b|"
    r"(?<!to )\b100% of\b|\bevery (?:single )?(?:request|prompt|query|input|question|conversation|call|user)\b|"
    # Permanence and future guarantees: "won't ... again", "will keep doing so", "has learned to", "knows not to".
    rf"\b{ABSOLUTE_MANNER}\b|\bwill not (?:[\w-]+ ){{1,5}}?again\b|\bwill (?:now |always |from now on )?(?:keep|continue|stay|remain)\b|"
    r"\bwill not (?!be\b|have\b|need\b|get\b|receive\b)[\w-]+|\bwill now [\w-]+ [^.;]*\bon (?:its|their) own\b|"
    r"\b(?:has|have) learn(?:ed|t) (?:to|not to|how)\b|\bknows (?:not )?to\b|\bknows (?:better|how)\b|"
    r"\bno longer (?!receiv|gets?\b|sees?\b|ha[sv]e?\b|runs?\b|exists?\b|is\b|are\b)[\w-]+s\b|"
    r"\b(?:flags|catches|blocks|detects|stops|refuses|rejects|handles|answers|resolves|identifies|spots|"
    r"recognises|recognizes|follows|obeys|caught|flagged|blocked|detected|stopped) (?:every|all|any)\b|"
    r"\b(?:is|are) (?:now |still )?(?:fully |completely |totally )?(?:robust|immune|resistant|deterministic|trustworthy|"
    r"bias-free|safe for|safe to use)\b|"
    r"\bcan ?not (?:run|execute|call|access|delete|send|reveal|bypass|escape|exceed|leave|invent|make up)\b",
    re.IGNORECASE,
)
_ABSENCE = re.compile(ABSENCE_CLAIM, re.IGNORECASE)
_PRONOUN_SUBJECT = re.compile(r"\b(?:it|its|they|their)\b", re.IGNORECASE)  # refers back to the model named before
# "was never measured/tested": people did (not) do something to the model; not a claim about its behaviour.
_PASSIVE_AFTER = re.compile(r"^\s*(?:been\s+)?(?:measured|tested|evaluated|checked|trained|validated|benchmarked|"
                            r"deployed|shown|given|exposed|audited|reviewed|run|updated|retrained|monitored)\b", re.IGNORECASE)
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
_CLAUSE = re.compile(r"[;:]|\bbecause\b|\bwhile\b|\bwhereas\b|\bbut\b|\band\b|\bso\b|\bversus\b", re.IGNORECASE)
_ELIDED = re.compile(r"\s*(?:\w+ly\s*)?")  # "the agent has been fixed and [it] will now ..."


def _italic_sentence(text: str) -> bool:
    t = text.strip()
    return len(t) > 2 and t.startswith("*") and t.rstrip(".").endswith("*") and not t.startswith("**")


def detect(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    """Hand rules combined with the learned layer (agent/validators/learned.py)."""
    return combine(RULE_ID, detect_rules(text, section), text, section, tuple(names), SUGGESTION)


def detect_rules(text: str, section: str = "analysis") -> list[Hit]:
    text = prepare(text)
    if _HEDGE.search(text) or _italic_sentence(text):
        return []
    for a in _ABSOLUTE.finditer(text):
        if _NEGATED.search(text[: a.start()]):
            continue
        if _RECEIVING.match(text[a.end():]) or _MODAL_BEFORE.search(text[: a.start()]) or _PASSIVE_AFTER.match(text[a.end():]):
            continue
        clause_start = 0
        for c in _CLAUSE.finditer(text[: a.start()]):
            clause_start = c.end()
        clause = text[clause_start: a.start()]
        if _MODEL.search(clause) or (a.group(0).lower() == "100% of" and _MODEL.search(text)) or (
            (_PRONOUN_SUBJECT.search(clause) or _ELIDED.fullmatch(clause)) and _MODEL.search(text[:clause_start])
        ):
            return [_hit(a.group(0))]
    ab = _ABSENCE.search(text)
    if ab and _MODEL.search(text):
        return [_hit(ab.group(0))]
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


RULE = prose_rule(
    RULE_ID, detect, "Distinguish 'the model produced X in this run' from 'the model will reliably do X'.",
    with_names=True,
)
