"""Score the sentence-level validators against the labelled corpus (no LLM involved).

Usage: python -m evals.score_corpus [--corpus PATH ...] [--exclude NAME ...] [--half design|check] [-v] [--bench]

Prints precision, recall and false-positive rate per rule, for the whole corpus and per batch. Each corpus
line is {"text", "section", "labels", optional "names", optional "batch", optional "register"}; by default
every *.jsonl file in evals/corpus/ is loaded (`--exclude` skips files by name, e.g. a sealed batch).
Batches "2026-12" and "2026-12b" are split into two fixed halves by a hash of the sentence text ("design"
and "check"). The newest split batch is the held-out one: `--half check` scores only its check half, and
`--half design` everything else (older batches plus its design half), so changes are designed on one set
and checked once on the other (see evals/corpus/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity

CORPUS_DIR = Path(__file__).parent / "corpus"
CORPUS = CORPUS_DIR / "sentences.jsonl"
SPLIT_BATCHES = ("2026-12", "2026-12b")
HELDOUT_BATCH = "2026-12b"  # its check half is the held-out estimate of the current round
RULES: dict[str, Callable[[str, str, tuple[str, ...]], bool]] = {
    "no-blame": lambda t, s, n: bool(no_blame.detect(t, s, n)),
    "no-counterfactual": lambda t, s, n: bool(no_counterfactual.detect(t, s, n)),
    "scope": lambda t, s, n: bool(scope.detect(t, s, n)),
    "stochasticity": lambda t, s, n: bool(stochasticity.detect(t, s, n)),
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


def half(item: Sentence) -> str:
    """A fixed 50/50 split that does not depend on file order: parity of a hash of the text."""
    return "design" if hashlib.sha1(item.text.encode("utf-8")).digest()[0] % 2 == 0 else "check"


def in_half(item: Sentence, which: str) -> bool:
    """`check`: the held-out batch's check half only; `design`: everything else."""
    held_out = item.batch == HELDOUT_BATCH and half(item) == "check"
    return held_out if which == "check" else not held_out


def corpus_files(exclude: Iterable[str] = ()) -> list[Path]:
    skip = set(exclude)
    return [p for p in sorted(CORPUS_DIR.glob("*.jsonl")) if p.name not in skip]


def load_all(paths: list[Path]) -> tuple[list[Sentence], list[str]]:
    items: list[Sentence] = []
    problems: list[str] = []
    for p in paths:
        got, bad = load(p)
        items += got
        problems += bad
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


def bench_validate(lines: int = 300, exclude: Iterable[str] = ()) -> float:
    """Seconds for `validate_markdown` on a report of about `lines` lines built from corpus sentences."""
    import time

    from agent.validators import validate_markdown

    items, _ = load_all(corpus_files(exclude))
    body = [f"- {it.text}" for it in items]
    md = ["# Postmortem: benchmark", "", "## Summary", ""]
    while len(md) < lines:
        md += ["", "## Analysis", "", *body[: max(0, lines - len(md) - 3)]]
    start = time.perf_counter()
    validate_markdown("\n".join(md[:lines]), names=("Avery",))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, nargs="*", default=None, help="corpus files (default: all in evals/corpus)")
    ap.add_argument("--exclude", nargs="*", default=[], help="corpus file names to skip (e.g. a sealed batch)")
    ap.add_argument("--half", choices=["design", "check"],
                    help=f"check: only the check half of {HELDOUT_BATCH!r}; design: everything else")
    ap.add_argument("-v", "--verbose", action="store_true", help="list misclassified sentences")
    ap.add_argument("--bench", action="store_true", help="time validate_markdown on a 300-line report")
    args = ap.parse_args(argv)
    if args.bench:
        print(f"validate_markdown on a 300-line report: {bench_validate(300, args.exclude):.3f} s")
        return 0
    paths: list[Path] = args.corpus or corpus_files(args.exclude)
    missing = [p for p in paths if not p.is_file()]
    if missing or not paths:
        print(f"corpus not found: {missing or CORPUS_DIR}", file=sys.stderr)
        return 2
    items, problems = load_all(paths)
    for p in problems:
        print(f"skipped malformed line {p}", file=sys.stderr)
    if args.half:
        items = [i for i in items if in_half(i, args.half)]
    _print(f"all batches ({len(items)} sentences)", score(items), args.verbose and not args.half)
    for b in sorted({i.batch for i in items}):
        sub = [i for i in items if i.batch == b]
        _print(f"batch {b!r} ({len(sub)} sentences)", score(sub), args.verbose)
        if b in SPLIT_BATCHES and not args.half:
            for h in ("design", "check"):
                part = [i for i in sub if half(i) == h]
                _print(f"batch {b!r}, {h} half ({len(part)} sentences)", score(part), False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
