"""no-premature-fix: actions come after the why and each one traces to it (hard rule 3).

The Action Items section must follow Root Causes & Contributing Factors, and every action must cite
at least one RC-n / CF-n id that the root-cause section defines.
"""

from __future__ import annotations

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.patterns import RC_ID
from agent.validators.rules._actions import action_rows

RULE_ID = "no-premature-fix"
SUGGESTION = "Label root causes and contributing factors (RC-1, CF-1 ...) and cite the one each action addresses."


def check(ctx: Context) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    rc_secs = ctx.doc.sections_of("root_causes")
    act_secs = ctx.doc.sections_of("action_items")
    if not act_secs:
        return out
    if not rc_secs:
        return [finding(RULE_ID, "error", "Action items are proposed but no Root Causes & Contributing Factors "
                        "section explains why.", line=act_secs[0].start, section=act_secs[0].title,
                        suggestion=SUGGESTION)]
    if act_secs[0].start < rc_secs[0].start:
        out.append(finding(RULE_ID, "error", "Action Items appear before Root Causes & Contributing Factors.",
                           line=act_secs[0].start, section=act_secs[0].title,
                           suggestion="Move Action Items after the root-cause analysis."))
    defined = set()
    for s in rc_secs:
        defined |= set(RC_ID.findall(ctx.doc.section_text(s)))
    if ctx.report is not None:
        defined |= {f.id for f in ctx.report.root_causes + ctx.report.contributing_factors if f.id}
    for row in action_rows(ctx.doc):
        refs = set(RC_ID.findall(row.raw))
        label = row.get("id") or row.get("action")[:40]
        if not refs and row.get("addresses").startswith("redacted "):
            continue  # rotating credentials found in the evidence answers an exposure, not a cause
        if not refs:
            out.append(finding(RULE_ID, "error", f"{label}: does not reference a root cause or contributing factor.",
                               line=row.line, section=act_secs[0].title, text=row.raw, suggestion=SUGGESTION))
        elif not refs & defined:
            out.append(finding(RULE_ID, "error", f"{label}: references {', '.join(sorted(refs))}, which the "
                               "root-cause section does not define.", line=row.line, section=act_secs[0].title,
                               text=row.raw, suggestion=SUGGESTION))
    return out


RULE = Rule(RULE_ID, check, "error", "Action items follow the root causes and each cites an RC-/CF- id.")
