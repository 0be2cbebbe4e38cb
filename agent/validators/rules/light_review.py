"""light-review: match review depth to severity (hard rule 11).

A P3 gets the lighter incident review (a full one is a warning), a light review must carry its
rationale (error without one), and a P0/P1 is never a light review (error). Severity and review type
come from the structured report when given, otherwise from the document header
(`**Severity**: P3`, `**Review type**: light`, `**Review rationale**: ...`).
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.markdown import metadata

RULE_ID = "light-review"
_LIGHT = re.compile(r"\blight(?:er|weight)?\b(?:[- ]\w+)?\s+(?:incident )?review\b|\breview type\W+light\b", re.IGNORECASE)


def severity_of(ctx: Context) -> str | None:
    if ctx.report is not None:
        return ctx.report.severity
    m = re.search(r"\bP[0-4]\b", metadata(ctx.doc).get("severity", ""))
    return m.group(0) if m else None


def review_type(ctx: Context) -> str:
    if ctx.report is not None:
        return ctx.report.review_type
    meta = metadata(ctx.doc)
    rt = meta.get("review type", "") or meta.get("review", "")
    if rt:
        return "light" if re.search(r"\blight", rt, re.IGNORECASE) else "full"
    head = "\n".join(ctx.doc.lines[:15])
    return "light" if _LIGHT.search(head) else "full"


def _rationale(ctx: Context) -> str:
    if ctx.report is not None and ctx.report.review_rationale.strip():
        return ctx.report.review_rationale
    meta = metadata(ctx.doc)
    for k in ("review rationale", "rationale", "review type"):
        v = meta.get(k, "")
        if k != "review type" and v:
            return v
        if k == "review type" and re.search(r"\bbecause\b|\bsince\b|\bas\b|[—:;(-]\s*\w+", v):
            return v
    for _, t in ctx.doc.prose_lines():
        if _LIGHT.search(t) and re.search(r"\bbecause\b|\bsince\b|\brationale\b|\bminor\b|\bno customer\b|"
                                          r"\blimited\b|\bwell[- ]understood\b", t, re.IGNORECASE) and len(t.split()) >= 8:
            return t
    return ""


def check(ctx: Context) -> list[ValidationFinding]:
    sev, rt = severity_of(ctx), review_type(ctx)
    out: list[ValidationFinding] = []
    if sev is None:
        return [finding(RULE_ID, "warning", "Severity is not stated, so the review depth cannot be checked.",
                        suggestion="Add '**Severity**: P0-P3' to the header.")]
    if sev in ("P0", "P1") and rt == "light":
        out.append(finding(RULE_ID, "error", f"A {sev} incident needs a full postmortem, not a light review.",
                           suggestion="Use the full canonical structure for P0/P1."))
    if sev == "P3" and rt != "light":
        out.append(finding(RULE_ID, "warning", "A P3 incident usually gets the lighter incident review.",
                           suggestion="Recommend a light review and state why (limited impact, well-understood "
                                      "cause), or explain why this P3 merits a full postmortem."))
    if rt == "light" and not _rationale(ctx).strip():
        out.append(finding(RULE_ID, "error", "Light review without a rationale.",
                           suggestion="Add '**Review rationale**: ...' explaining why a lighter review suffices."))
    return out


RULE = Rule(RULE_ID, check, "error", "P3 gets a light review with rationale; P0/P1 never a light review.")
