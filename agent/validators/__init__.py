"""Hard-rule validators: pure functions over a Markdown postmortem (the agent's or a person's).

`validate_markdown(md, evidence=..., report=..., names=...)` parses the document into sections (fenced
code kept apart so prose rules never read code) and runs every rule in `RULES`, returning
`ValidationFinding`s sorted by line. A finding with severity "error" blocks emission; "warning" is
reported. Every finding carries a suggested systemic rewrite; `agent.validators.repair` applies the
deterministic ones.

Rules (stable ids): no-blame, no-counterfactual, grounded, quantified-impact, actionable,
no-premature-fix, ai-native-depth, ai-boilerplate, stochasticity, scope, no-production-code, structure, light-review,
own-limits, psych-safety, confidence. `grounded` and `confidence` need an `EvidenceLookup` (tools.store.reader.EvidenceReader, or
`InMemoryEvidence` in tests) and is silent without one.

Adding a validator
1. Create `agent/validators/rules/<rule_id_with_underscores>.py` exposing `RULE = Rule(id, check,
   severity, description)`; `check(ctx: Context) -> list[ValidationFinding]` must be pure (read
   `ctx.doc`, `ctx.evidence`, `ctx.report`, `ctx.names`; never mutate). Sentence-level rules also expose
   `detect(text, section) -> list[Hit]` and run through `rules._prose.check_prose`.
2. Register the module in `_MODULES` below (registry order = report order for equal lines).
3. Add `tests/unit/test_validators_<area>.py` with positives AND tricky negatives (a good real postmortem must
   pass: precision first), and check `tests/fixtures/good_postmortem.md` still passes.
4. If the rule is sentence-level, add labelled sentences to `evals/corpus/sentences.jsonl` and a scorer
   entry in `evals/score_corpus.py`; write new sentences *before* tuning, and keep a fresh holdout batch.
"""

from __future__ import annotations

from collections.abc import Collection

from agent.model import Report, ValidationFinding
from agent.validators.base import Context, EvidenceLookup, Hit, Rule
from agent.validators.evidence import InMemoryEvidence
from agent.validators.markdown import Document, parse
from agent.validators.rules import (
    actionable,
    actions,
    ai_boilerplate,
    ai_native_depth,
    confidence,
    grounded,
    light_review,
    no_blame,
    no_counterfactual,
    no_premature_fix,
    no_production_code,
    own_limits,
    psych_safety,
    quantified_impact,
    scope,
    stochasticity,
    structure,
)

_MODULES = (
    structure, no_blame, no_counterfactual, grounded, quantified_impact, actionable, actions, no_premature_fix,
    ai_native_depth, ai_boilerplate, stochasticity, scope, no_production_code, light_review, own_limits, psych_safety,
    confidence,
)
RULES: dict[str, Rule] = {m.RULE.id: m.RULE for m in _MODULES}


def validate_markdown(
    md: str,
    *,
    evidence: EvidenceLookup | None = None,
    report: Report | None = None,
    names: Collection[str] = (),
    names_opt_in: bool = False,
    rules: Collection[str] | None = None,
) -> list[ValidationFinding]:
    """Run the rules (all, or the ids in `rules`) over a Markdown postmortem."""
    unknown = set(rules or ()) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rule id(s): {', '.join(sorted(unknown))}; known: {', '.join(RULES)}")
    ctx = Context(doc=parse(md or ""), evidence=evidence, report=report, names=tuple(names),
                  names_opt_in=names_opt_in)
    findings: list[ValidationFinding] = []
    order = {rid: i for i, rid in enumerate(RULES)}
    for rid, rule in RULES.items():
        if rules is not None and rid not in rules:
            continue
        findings.extend(rule.check(ctx))
    findings.sort(key=lambda f: (f.line if f.line is not None else 0, order[f.rule]))
    return findings


def has_errors(findings: Collection[ValidationFinding]) -> bool:
    return any(f.severity == "error" for f in findings)


__all__ = [
    "RULES", "Context", "Document", "EvidenceLookup", "Hit", "InMemoryEvidence", "Rule", "has_errors",
    "parse", "validate_markdown",
]
