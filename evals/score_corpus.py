"""Score the sentence-level validators against the labelled corpus (no LLM involved).

Usage: python -m evals.score_corpus [--corpus PATH] [--batch NAME]

Prints precision, recall and false-positive rate per rule. Each corpus line is
{"text", "section", "labels", optional "names", optional "batch"}; batch "dev" sentences were written
before the detectors, batch "holdout" after them (see evals/corpus/README.md for the first-run holdout scores).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity

CORPUS = Path(__file__).parent / "corpus" / "sentences.jsonl"
RULES: dict[str, Callable[[str, str, tuple[str, ...]], bool]] = {
    "no-blame": lambda t, s, n: bool(no_blame.detect(t, s, n)),
    "no-counterfactual": lambda t, s, n: bool(no_counterfactual.detect(t, s)),
    "scope": lambda t, s, n: bool(scope.detect(t, s)),
    "stochasticity": lambda t, s, n: bool(stochasticity.detect(t, s)),
}


class Sentence(BaseModel):
    text: str
    section: str = "analysis"
    labels: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    batch: str = "dev"


class RuleScore(BaseModel):
    rule: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    false_positives: list[str] = Field(default_factory=list)
    false_negatives: list[str] = Field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0


def load(path: Path = CORPUS) -> tuple[list[Sentence], list[str]]:
    """Sentences and one message per malformed line (never raises on bad lines)."""
    items: list[Sentence] = []
    problems: list[str] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(Sentence.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as e:
            problems.append(f"{path.name}:{i}: {str(e).splitlines()[0]}")
    return items, problems


def score(items: Iterable[Sentence]) -> dict[str, RuleScore]:
    out = {r: RuleScore(rule=r) for r in RULES}
    for it in items:
        for rule, fn in RULES.items():
            predicted = fn(it.text, it.section, tuple(it.names))
            actual = rule in it.labels
            s = out[rule]
            if predicted and actual:
                s.tp += 1
            elif predicted:
                s.fp += 1
                s.false_positives.append(it.text)
            elif actual:
                s.fn += 1
                s.false_negatives.append(it.text)
            else:
                s.tn += 1
    return out


def _print(title: str, scores: dict[str, RuleScore], verbose: bool) -> None:
    print(f"\n{title}")
    print(f"{'rule':<20}{'n+':>5}{'n-':>5}{'precision':>11}{'recall':>9}{'FPR':>8}")
    for s in scores.values():
        print(f"{s.rule:<20}{s.tp + s.fn:>5}{s.fp + s.tn:>5}{s.precision:>11.3f}{s.recall:>9.3f}{s.fpr:>8.3f}")
        if verbose:
            for t in s.false_negatives:
                print(f"    FN: {t}")
            for t in s.false_positives:
                print(f"    FP: {t}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("-v", "--verbose", action="store_true", help="list misclassified sentences")
    args = ap.parse_args(argv)
    if not args.corpus.is_file():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    items, problems = load(args.corpus)
    for p in problems:
        print(f"skipped malformed line {p}", file=sys.stderr)
    batches = sorted({i.batch for i in items})
    _print(f"all batches ({len(items)} sentences)", score(items), args.verbose)
    for b in batches:
        sub = [i for i in items if i.batch == b]
        _print(f"batch {b!r} ({len(sub)} sentences)", score(sub), args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
