"""Runs a sentence-level detector over every prose unit of a document."""

from __future__ import annotations

from collections.abc import Callable, Collection

from agent.model import ValidationFinding
from agent.validators.base import Context, Hit, finding

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
