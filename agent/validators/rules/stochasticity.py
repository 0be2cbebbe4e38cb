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
from agent.vocabulary import vocabulary

_WORDS = vocabulary("stochasticity")

RULE_ID = "stochasticity"
SUGGESTION = (
    "Qualify the claim with what was observed: 'in this run' or 'in N of M sampled runs at temperature T', "
    "and mark untested generalisations as *hypotheses* or [ASSUMPTION]."
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


def _italic_sentence(text: str) -> bool:
    t = text.strip()
    return len(t) > 2 and t.startswith("*") and t.rstrip(".").endswith("*") and not t.startswith("**")


def detect(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    """Hand rules combined with the learned layer (agent/validators/learned.py)."""
    return combine(RULE_ID, detect_rules(text, section), text, section, tuple(names), SUGGESTION)


def detect_rules(text: str, section: str = "analysis") -> list[Hit]:
    text = prepare(text)
    if _WORDS.hedge.search(text) or _italic_sentence(text):
        return []
    for a in _ABSOLUTE.finditer(text):
        if _WORDS.negated.search(text[: a.start()]):
            continue
        if _WORDS.receiving.match(text[a.end():]) or _WORDS.modal_before.search(text[: a.start()]) or _WORDS.passive_after.match(text[a.end():]):
            continue
        clause_start = 0
        for c in _WORDS.clause.finditer(text[: a.start()]):
            clause_start = c.end()
        clause = text[clause_start: a.start()]
        if _WORDS.model.search(clause) or (a.group(0).lower() == "100% of" and _WORDS.model.search(text)) or (
            (_WORDS.pronoun_subject.search(clause) or _WORDS.elided.fullmatch(clause)) and _WORDS.model.search(text[:clause_start])
        ):
            return [_hit(a.group(0))]
    ab = _ABSENCE.search(text)
    if ab and _WORDS.model.search(text):
        return [_hit(ab.group(0))]
    if _WORDS.every_time.search(text) and _WORDS.model.search(text):
        return [_hit(_WORDS.every_time.search(text).group(0))]  # type: ignore[union-attr]
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
