"""False positives of the sentence rules on real published incident reports.

Usage: python -m evals.real_reports PATH [--sample 600] [--seed 7] [-v]

PATH is a checkout (or a bare git directory, as `git clone --bare` leaves it) of the public
`IntelligentDDS/Post-mortems-Analysis` repository, whose `raw-public/*/meta_txt/*.txt` files hold
about 700 incident reports published by Wikimedia, Google Cloud, Azure, AWS, GitHub and others.
Nothing is downloaded here: the caller provides the copy. Those reports are blameless by policy
and written by the operators themselves, so every sentence the rules flag is read as a likely
false positive (the flagged ones are printed with -v so a person can judge them).

Sentences are sampled deterministically (a seeded shuffle of all sentences of a sensible length),
so two runs on the same copy score the same sentences.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from evals.score_corpus import RULES

REPORT_GLOB = "raw-public/*/meta_txt/*.txt"
MIN_CHARS, MAX_CHARS = 40, 400
# Sentence ends: punctuation, then space and an upper-case letter or a digit. Reports are prose with
# timestamps and version numbers, so a bare period (e.g. "v1.2") must not split.
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _report_texts(root: Path) -> Iterator[tuple[str, str]]:
    """(report path, text) for every report, from a work tree or a bare git directory."""
    if (root / "raw-public").is_dir():
        for p in sorted(root.glob(REPORT_GLOB)):
            yield p.relative_to(root).as_posix(), p.read_text(encoding="utf-8", errors="replace")
        return
    listing = subprocess.run(["git", f"--git-dir={root}", "ls-tree", "-r", "--name-only", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    for name in sorted(n for n in listing if re.fullmatch(r"raw-public/[^/]+/meta_txt/[^/]+\.txt", n)):
        blob = subprocess.run(["git", f"--git-dir={root}", "show", f"HEAD:{name}"],
                              capture_output=True, check=True).stdout
        yield name, blob.decode("utf-8", errors="replace")


def sentences(text: str) -> Iterator[str]:
    for para in re.split(r"\n\s*\n", text):
        flat = " ".join(para.split())
        for s in _SPLIT.split(flat):
            if MIN_CHARS <= len(s) <= MAX_CHARS and any(c.isalpha() for c in s):
                yield s


def sample(root: Path, n: int, seed: int) -> list[tuple[str, str]]:
    pool = [(name, s) for name, text in _report_texts(root) for s in sentences(text)]
    random.Random(seed).shuffle(pool)
    return pool[:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="checkout or bare git dir of IntelligentDDS/Post-mortems-Analysis")
    ap.add_argument("--sample", type=int, default=600)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every flagged sentence")
    args = ap.parse_args(argv)
    if not args.path.exists():
        print(f"not found: {args.path} (give a copy of IntelligentDDS/Post-mortems-Analysis)", file=sys.stderr)
        return 2
    try:
        picked = sample(args.path, args.sample, args.seed)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot read reports under {args.path}: {exc}", file=sys.stderr)
        return 2
    if not picked:
        print(f"no report sentences found under {args.path}/{REPORT_GLOB}", file=sys.stderr)
        return 2
    flagged_any = 0
    per_rule: dict[str, list[tuple[str, str]]] = {r: [] for r in RULES}
    for name, s in picked:
        hit = False
        for rule, fn in RULES.items():
            if fn(s, "analysis", ()):
                per_rule[rule].append((name, s))
                hit = True
        flagged_any += hit
    print(f"{len(picked)} sentences sampled (seed {args.seed}) from real incident reports")
    print(f"{'rule':<20}{'flagged':>8}{'share':>8}")
    for rule, hits in per_rule.items():
        print(f"{rule:<20}{len(hits):>8}{len(hits) / len(picked):>8.3f}")
    print(f"{'any rule':<20}{flagged_any:>8}{flagged_any / len(picked):>8.3f}")
    if args.verbose:
        for rule, hits in per_rule.items():
            for name, s in hits:
                print(f"  [{rule}] {name}: {s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
