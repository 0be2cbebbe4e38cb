"""Runs a sentence-level detector over every prose unit of a document."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import partial

from agent.model import ValidationFinding
from agent.validators.base import Context, Hit, Rule, finding

# Corpus / caller section names -> document section kinds.
SECTION_ALIASES = {
    "summary": "summary",
    "impact": "summary",
    "timeline": "timeline",
    "analysis": "analysis",
    "detection": "analysis",
    "root_causes": "analysis",
    "lessons": "analysis",
    "action_items": "action_items",
    "other": "analysis",
}

Detector = Callable[..., list[Hit]]


def section_family(kind: str) -> str:
    return SECTION_ALIASES.get(kind, "analysis")


def check_prose(
    ctx: Context, detect: Detector, *, skip_kinds: Collection[str] = (), with_names: bool = False
) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    for u in ctx.doc.units():
        if u.section.kind in skip_kinds:
            continue
        fam = section_family(u.section.kind)
        hits = detect(u.plain, fam, ctx.names) if with_names else detect(u.plain, fam)
        for h in hits:
            out.append(
                finding(
                    h.rule,
                    h.severity,
                    h.message,
                    line=u.line,
                    section=u.section.title,
                    text=u.text,
                    suggestion=h.suggestion,
                )
            )
    return out


def prose_rule(rule_id: str, detect: Detector, description: str, *, with_names: bool = False) -> Rule:
    """The `Rule` of a sentence-level rule: `detect` run over every prose unit, errors by default."""
    return Rule(id=rule_id, check=partial(check_prose, detect=detect, with_names=with_names),
                severity="error", description=description)
