"""The learned layer of the four prose rules: one L2 logistic regression per rule over abstract features.

Weights live in `sentence_model.json` (written by `python -m evals.train_sentence_model`, committed);
inference is a sparse dot product and a sigmoid in pure Python, so it runs offline and fast. The hand
rules' verdicts are features too, and `combine` merges rule and model per the configuration that the
training script picked by leave-one-batch-out cross-validation (see evals/corpus/README.md):

- ``rules``: the hand rule alone;
- ``or``: the rule, or a model probability at or above ``threshold``;
- ``or_veto``: the rule unless the model probability is below ``veto``, or the model above ``threshold``.

A missing or unreadable model file degrades to the hand rules (the validators never fail on it).
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from agent.validators.base import Hit
from agent.validators.features import extract, gate, label
from agent.validators.sentence import prepare

MODEL_PATH = Path(__file__).with_name("sentence_model.json")
RULE_IDS = ("no-blame", "no-counterfactual", "scope", "stochasticity")


@dataclass(frozen=True)
class RuleModel:
    bias: float
    weights: dict[str, float]
    mode: str = "rules"
    threshold: float = 1.01
    veto: float = 0.0


@dataclass(frozen=True)
class SentenceModel:
    rules: dict[str, RuleModel] = field(default_factory=dict)
    hash_buckets: int = 0
    use_rule_features: bool = True


def _parse(raw: dict[str, object]) -> SentenceModel:
    rules: dict[str, RuleModel] = {}
    for rid, spec in dict(raw.get("rules", {})).items():  # type: ignore[call-overload]
        rules[str(rid)] = RuleModel(
            bias=float(spec["bias"]),
            weights={str(k): float(v) for k, v in dict(spec["weights"]).items()},
            mode=str(spec.get("mode", "rules")),
            threshold=float(spec.get("threshold", 1.01)),
            veto=float(spec.get("veto", 0.0)),
        )
    return SentenceModel(rules=rules, hash_buckets=int(raw.get("hash_buckets", 0) or 0),  # type: ignore[arg-type]
                         use_rule_features=bool(raw.get("use_rule_features", True)))


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> SentenceModel:
    """The committed model, or an empty one (hand rules only) when the file is missing or malformed."""
    try:
        return _parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return SentenceModel()


def hashed_lemmas(text: str, buckets: int) -> frozenset[str]:
    """Low-capacity lexical features: crudely lemmatised word bigrams hashed into a few buckets."""
    if buckets <= 0:
        return frozenset()
    words = [_lemma(w) for w in prepare(text).lower().split()]
    words = [w for w in words if w]
    grams = [f"{a} {b}" for a, b in zip(words, words[1:])]
    return frozenset(f"h{zlib.crc32(g.encode('utf-8')) % buckets}" for g in grams)


def _lemma(word: str) -> str:
    w = "".join(c for c in word if c.isalnum())
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 2 and w.endswith(suf):
            return w[: -len(suf)]
    return w


@lru_cache(maxsize=4096)
def rule_hits(text: str, section: str, names: tuple[str, ...]) -> frozenset[str]:
    """Which hand rules fire on the sentence (imported here, lazily: the rule modules import this one)."""
    from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity

    fired = set()
    if no_blame.detect_rules(text, section, names):
        fired.add("no-blame")
    if no_counterfactual.detect_rules(text, section):
        fired.add("no-counterfactual")
    if scope.detect_rules(text, section):
        fired.add("scope")
    if stochasticity.detect_rules(text, section):
        fired.add("stochasticity")
    return frozenset(fired)


def vector(text: str, section: str, names: tuple[str, ...], *, with_rules: bool = True, buckets: int = 0) -> frozenset[str]:
    """All active features of a sentence: abstract features, hand-rule verdicts, optional hashed bigrams."""
    feats = set(extract(text, section, names))
    if with_rules:
        feats |= {f"rule:{r}" for r in rule_hits(text, section, names)}
    return frozenset(feats | hashed_lemmas(text, buckets))


def score(rm: RuleModel, feats: frozenset[str]) -> float:
    z = rm.bias + sum(rm.weights.get(f, 0.0) for f in feats)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def top_features(rm: RuleModel, feats: frozenset[str], k: int = 3) -> list[str]:
    """The active features that pushed the probability up most, as readable labels."""
    pos = sorted(((rm.weights.get(f, 0.0), f) for f in feats if rm.weights.get(f, 0.0) > 0.05), reverse=True)
    return [label(f) for _, f in pos[:k]]


def probability(rule: str, text: str, section: str = "analysis", names: tuple[str, ...] = ()) -> float | None:
    model = load_model()
    rm = model.rules.get(rule)
    if rm is None:
        return None
    feats = vector(text, section, names, with_rules=model.use_rule_features, buckets=model.hash_buckets)
    return score(rm, feats) if gate(rule, feats) else 0.0


def combine(rule: str, hits: list[Hit], text: str, section: str, names: tuple[str, ...], suggestion: str) -> list[Hit]:
    """Merge the hand rule's hits with the model's verdict for one sentence, with an explanation."""
    model = load_model()
    rm = model.rules.get(rule)
    if rm is None or rm.mode == "rules":
        return hits
    feats = vector(text, section, names, with_rules=model.use_rule_features, buckets=model.hash_buckets)
    p = score(rm, feats) if gate(rule, feats) else 0.0
    if hits and rm.mode == "or_veto" and p < rm.veto and p < rm.threshold:
        return []
    if hits or p < rm.threshold:
        return hits
    why = " + ".join(top_features(rm, feats)) or "combined weak cues"
    return [Hit(rule=rule, match=text[:80], message=f"Learned detector (p={p:.2f}): {why}.", suggestion=suggestion,
                extra={"probability": f"{p:.3f}", "features": why})]
