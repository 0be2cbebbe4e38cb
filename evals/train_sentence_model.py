"""Train the learned layer of the prose rules and pick its configuration by leave-one-author-out CV.

Usage: python -m evals.train_sentence_model [--exclude NAME ...] [--check] [--no-cv] [--out PATH]

One L2-regularised logistic regression per rule over the abstract sentence features of
`agent/validators/features.py` (plus the hand rules' verdicts). Fitting is Newton's method (IRLS) with
numpy, which is deterministic, so the same corpus gives the same `sentence_model.json` byte for byte.
numpy is used only here, never at run time.

Model selection is grouped cross-validation where the group is the *author*: the "dev" and "holdout"
batches were written by the same people, so they form one group; 2026-12 and 2026-12b are one author
each. For each held-out group, thresholds are chosen by an inner leave-one-group-out over the remaining
groups (FPR <= 3%), the model is fitted on the remaining groups and scored on the held-out one. The
configuration per rule is picked from these held-out figures, never from the fit on all data.
`--check` retrains and exits 1 if the committed model file differs (used by the tests).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.validators.learned import MODEL_PATH, RULE_IDS, hashed_lemmas, rule_hits
from agent.validators.features import extract, gate
from evals.score_corpus import Sentence, corpus_files, load_all

MAX_FPR = 0.015  # threshold target inside CV: real reports (<= 1% flagged) punish a looser one
# A model-only finding needs the model to find the rule's breach clearly more likely than not: the
# corpus' acceptable sentences rarely carry a gate cue, so FPR alone would allow thresholds near 0.1.
THRESHOLD_FLOOR = 0.5
LAMBDAS = (1.0, 3.0, 10.0)
MODES = ("rules", "model", "or", "or_veto")
COMBINE_MODE = "or"  # hand rule OR model >= threshold: chosen by the historical experiment (README)
# Rules whose model-only findings break the real-report budget (<= 1% of published report sentences
# flagged; `python -m evals.real_reports`): routine "would have failed" impact statements look like
# hindsight, and routine "Engineers rolled back ..." prose mentions people. They keep the hand rule
# alone until the features separate the two (the model still scores them; see the README table).
# scope and stochasticity: model-only findings broke hand-written hard negatives in tests/ (framework
# mapping with a referral, "the router always sends ...", "not the place for performance reviews").
RULES_ONLY = frozenset({"no-counterfactual", "no-blame", "scope", "stochasticity"})
VETOES = (0.02, 0.05, 0.1)
AUTHOR = {"dev": "project", "holdout": "project"}


def group_of(item: Sentence) -> str:
    return AUTHOR.get(item.batch, item.batch)


def corpus_digest(paths: Sequence[Path]) -> str:
    """sha256 over the corpus files (name + bytes, sorted by name): the model records what it was fit on."""
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.name):
        h.update(p.name.encode("utf-8") + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Variant:
    with_rules: bool
    buckets: int

    @property
    def name(self) -> str:
        return f"{'rules+' if self.with_rules else ''}abstract{f'+hash{self.buckets}' if self.buckets else ''}"


def featurize(items: Sequence[Sentence], v: Variant) -> list[frozenset[str]]:
    out = []
    for it in items:
        names = tuple(it.names)
        f = set(extract(it.text, it.section, names)) | hashed_lemmas(it.text, v.buckets)
        if v.with_rules:
            f |= {f"rule:{r}" for r in rule_hits(it.text, it.section, names)}
        out.append(frozenset(f))
    return out


def fit(x: list[frozenset[str]], y: np.ndarray, lam: float) -> tuple[float, dict[str, float]]:
    """L2 logistic regression by Newton's method; the bias is not penalised."""
    vocab = sorted(set().union(*x)) if x else []
    idx = {f: i + 1 for i, f in enumerate(vocab)}
    a = np.zeros((len(x), len(vocab) + 1))
    a[:, 0] = 1.0
    for r, feats in enumerate(x):
        for f in feats:
            a[r, idx[f]] = 1.0
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], lam)
    reg[0] = 1e-6
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (p - y) + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < 1e-9:
            break
    return float(w[0]), {f: float(w[idx[f]]) for f in vocab}


RULE: list[str] = [""]  # the rule being fitted: predict() applies its gate (features.GATES)


def predict(model: tuple[float, dict[str, float]], x: list[frozenset[str]]) -> np.ndarray:
    """Probabilities, zero where the rule's gate (one rule-specific cue) is absent, as at run time."""
    bias, weights = model
    z = np.array([bias + sum(weights.get(f, 0.0) for f in feats) for feats in x])
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return p * np.array([gate(RULE[0], feats) if RULE[0] else True for feats in x], dtype=float)


def flags(mode: str, p: np.ndarray, hit: np.ndarray, t: float, veto: float) -> np.ndarray:
    if mode == "rules":
        return hit.copy()
    if mode == "model":
        return p >= t
    if mode == "or":
        return hit | (p >= t)
    return (hit & (p >= veto)) | (p >= t)


def rates(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    pos, neg = y == 1, y == 0
    rec = float(pred[pos].mean()) if pos.any() else 1.0
    fpr = float(pred[neg].mean()) if neg.any() else 0.0
    return rec, fpr


def pick_threshold(mode: str, p: np.ndarray, y: np.ndarray, hit: np.ndarray) -> tuple[float, float]:
    """Lowest threshold (and best veto) whose out-of-fold FPR stays <= MAX_FPR; recall decides ties."""
    if mode == "rules":
        return 1.01, 0.0
    best = (-1.0, 1.01, 0.0)
    for veto in VETOES if mode == "or_veto" else (0.0,):
        for t in sorted({round(float(v), 4) for v in p} | {1.01}):
            if t < THRESHOLD_FLOOR:
                continue
            rec, fpr = rates(flags(mode, p, hit, t, veto), y)
            if fpr <= MAX_FPR:
                if rec - fpr > best[0]:
                    best = (rec - fpr, t, veto)
                break
    return best[1], best[2]


def oof(x: list[frozenset[str]], y: np.ndarray, groups: np.ndarray, lam: float) -> np.ndarray:
    """Out-of-fold probabilities, leaving one group out at a time."""
    p = np.zeros(len(y))
    for g in sorted(set(groups)):
        tr, te = groups != g, groups == g
        model = fit([x[i] for i in np.flatnonzero(tr)], y[tr], lam)
        p[te] = predict(model, [x[i] for i in np.flatnonzero(te)])
    return p


def lobo(x: list[frozenset[str]], y: np.ndarray, hit: np.ndarray, groups: np.ndarray, lam: float
         ) -> dict[str, dict[str, tuple[float, float]]]:
    """Held-out (recall, FPR) per mode and group, plus pooled over all held-out predictions ("all")."""
    res: dict[str, dict[str, tuple[float, float]]] = {m: {} for m in MODES}
    pooled = {m: np.zeros(len(y), dtype=bool) for m in MODES}
    for g in sorted(set(groups)):
        tr = np.flatnonzero(groups != g)
        te = np.flatnonzero(groups == g)
        inner = oof([x[i] for i in tr], y[tr], groups[tr], lam)
        model = fit([x[i] for i in tr], y[tr], lam)
        p = predict(model, [x[i] for i in te])
        for m in MODES:
            t, veto = pick_threshold(m, inner, y[tr], hit[tr])
            pred = flags(m, p, hit[te], t, veto)
            pooled[m][te] = pred
            res[m][g] = rates(pred, y[te])
    for m in MODES:
        res[m]["all"] = rates(pooled[m], y)
    return res


def _table(rule: str, variant: str, lam: float, res: dict[str, dict[str, tuple[float, float]]]) -> None:
    groups = sorted(g for g in res["rules"] if g != "all") + ["all"]
    print(f"\n{rule}  [{variant}, lambda={lam:g}]  held-out recall / FPR")
    print(f"{'mode':<10}" + "".join(f"{g:>18}" for g in groups))
    for m in MODES:
        print(f"{m:<10}" + "".join(f"{res[m][g][0]:>9.3f} /{res[m][g][1]:.3f}" for g in groups))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exclude", nargs="*", default=[], help="corpus files to leave out (a sealed batch)")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation; reuse the committed configuration")
    ap.add_argument("--check", action="store_true", help="exit 1 if retraining would change the committed file")
    ap.add_argument("--variants", action="store_true", help="also cross-validate the variants not chosen")
    ap.add_argument("--historical", metavar="GIT_REF", help="print the historical-rules experiment (see README)")
    args = ap.parse_args(argv)
    paths = corpus_files(args.exclude)
    items, problems = load_all(paths)
    for p in problems:
        print(f"skipped malformed line {p}", file=sys.stderr)
    groups = np.array([group_of(i) for i in items])
    if args.historical:
        return historical(items, groups, args.historical)
    out = build(items, groups, corpus_digest(paths), cv=not (args.no_cv or args.check), variants=args.variants,
                previous=args.out)
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print("model file reproduced" if same else "model file differs from a retrain", file=sys.stderr)
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


def _previous_config(path: Path) -> dict[str, object]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def build(items: list[Sentence], groups: np.ndarray, digest: str, *, cv: bool, variants: bool, previous: Path
          ) -> dict[str, object]:
    """Cross-validate (optional), then fit every rule on all data with the chosen configuration."""
    prev = _previous_config(previous)
    chosen = Variant(bool(prev.get("use_rule_features", False)), int(prev.get("hash_buckets", 0) or 0))  # type: ignore[arg-type]
    lam = float(prev.get("lambda", 3.0))  # type: ignore[arg-type]
    modes = {r: str(dict(prev.get("rules", {})).get(r, {}).get("mode", COMBINE_MODE)) for r in RULE_IDS}  # type: ignore[union-attr]
    cv_table: dict[str, object] = dict(prev.get("cv", {}))  # type: ignore[call-overload]
    if cv:
        chosen, lam, modes, cv_table = select(items, groups, variants)
    x = featurize(items, chosen)
    rules: dict[str, object] = {}
    for r in RULE_IDS:
        RULE[0] = r
        y = np.array([1.0 if r in it.labels else 0.0 for it in items])
        hit = np.array([r in rule_hits(it.text, it.section, tuple(it.names)) for it in items])
        inner = oof(x, y, groups, lam)
        t, veto = pick_threshold(modes[r], inner, y, hit)
        bias, weights = fit(x, y, lam)
        rules[r] = {"mode": modes[r], "threshold": t, "veto": veto, "bias": round(bias, 4),
                    "weights": {f: round(w, 4) for f, w in weights.items() if abs(w) >= 1e-4}}
    return {"corpus_sha256": digest, "n_sentences": len(items), "lambda": lam, "use_rule_features": chosen.with_rules,
            "hash_buckets": chosen.buckets, "max_fpr": MAX_FPR, "cv": cv_table, "rules": rules}


def select(items: list[Sentence], groups: np.ndarray, variants: bool
           ) -> tuple[Variant, float, dict[str, str], dict[str, object]]:
    """Leave-one-author-out over feature variants and lambdas.

    The current hand rules were tuned on every batch, so any mode that uses their verdicts looks
    better here than it will on a new author (see `historical`). The variant and lambda are therefore
    picked by the held-out recall of the model alone (mode "model"), which does not depend on the rules,
    and every rule runs in mode COMBINE_MODE, the mode the historical experiment supports.
    """
    cands = [Variant(False, 0), Variant(True, 0)] + ([Variant(False, 64), Variant(False, 256)] if variants else [])
    best: tuple[float, Variant, float, dict[str, object]] | None = None
    for v in cands:
        x = featurize(items, v)
        for lam in LAMBDAS:
            total, table = 0.0, {}
            for r in RULE_IDS:
                RULE[0] = r
                y = np.array([1.0 if r in it.labels else 0.0 for it in items])
                hit = np.array([r in rule_hits(it.text, it.section, tuple(it.names)) for it in items])
                res = lobo(x, y, hit, groups, lam)
                _table(r, v.name, lam, res)
                total += res["model"]["all"][0] - res["model"]["all"][1]
                table[r] = {m: {g: [round(a, 3), round(b, 3)] for g, (a, b) in res[m].items()} for m in MODES}
            print(f"== {v.name} lambda={lam:g}: mean held-out model recall-FPR {total / len(RULE_IDS):.3f}")
            if v.with_rules:
                continue  # printed for comparison only: its rule features are in-sample on every batch
            if best is None or total > best[0] + 1e-9:
                best = (total, v, lam, {"variant": v.name, "lambda": lam, "table": table})
    assert best is not None
    return best[1], best[2], {r: "rules" if r in RULES_ONLY else COMBINE_MODE for r in RULE_IDS}, best[3]


_OLD_HITS = """
import json, sys
from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity
for line in sys.stdin:
    it = json.loads(line)
    t, s, n = it["text"], it["section"], tuple(it["names"])
    fired = [r for r, f in (("no-blame", lambda: no_blame.detect(t, s, n)),
             ("no-counterfactual", lambda: no_counterfactual.detect(t, s)),
             ("scope", lambda: scope.detect(t, s)), ("stochasticity", lambda: stochasticity.detect(t, s))) if f()]
    print(json.dumps(fired))
"""


def old_rule_hits(items: Sequence[Sentence], ref: str) -> list[set[str]]:
    """The hand rules as they were at git `ref` (e.g. before a batch was seen), run in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", ref, "agent"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        lines = "".join(json.dumps({"text": i.text, "section": i.section, "names": i.names}) + "\n" for i in items)
        out = subprocess.run([sys.executable, "-c", _OLD_HITS], input=lines, capture_output=True, text=True,
                             cwd=tmp, check=True).stdout
    return [set(json.loads(line)) for line in out.splitlines()]


def historical(items: list[Sentence], groups: np.ndarray, ref: str) -> int:
    """Honest estimate of the combination on an unseen author.

    The current rules have been tuned on every batch, so their held-out figures above are in-sample. Here
    the held-out batch gets the rule verdicts of the rules at `ref` (which never saw it), the model is
    trained on the other groups with the current rules (as deployed), and thresholds come from the inner
    out-of-fold probabilities. Modes: old rules alone; model without rule features; the old rules OR the
    model (with and without rule features).
    """
    old = old_rule_hits(items, ref)
    held = [g for g in sorted(set(groups)) if g != "project"]
    for v in (Variant(True, 0), Variant(False, 0), Variant(False, 64)):
        x_cur = featurize(items, v)
        x_old = [frozenset({f for f in xf if not f.startswith("rule:")} | {f"rule:{r}" for r in o}) if v.with_rules
                 else xf for xf, o in zip(x_cur, old)]
        for r in RULE_IDS:
            RULE[0] = r
            y = np.array([1.0 if r in it.labels else 0.0 for it in items])
            hit = np.array([r in rule_hits(it.text, it.section, tuple(it.names)) for it in items])
            hit_old = np.array([r in o for o in old])
            cells = []
            for g in held:
                tr, te = np.flatnonzero(groups != g), np.flatnonzero(groups == g)
                inner = oof([x_cur[i] for i in tr], y[tr], groups[tr], 3.0)
                model = fit([x_cur[i] for i in tr], y[tr], 3.0)
                p = predict(model, [x_old[i] for i in te])
                row = []
                for m in MODES:
                    t, veto = pick_threshold(m, inner, y[tr], hit[tr])
                    rec, fpr = rates(flags(m, p, hit_old[te], t, veto), y[te])
                    row.append(f"{m} {rec:.3f}/{fpr:.3f}")
                cells.append(f"{g}: " + ", ".join(row))
            print(f"{r:<18} [{v.name}] " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
