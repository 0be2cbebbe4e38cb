"""quantified-impact: the summary/impact must carry numbers (hard rule 5).

Error when the Executive Summary & Impact has neither a quantity nor an explicit [DATA GAP]; a warning
for each impact dimension of the template (users, business/compute/quality, safety/trust) that the
summary does not mention at all.
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.patterns import QUANTITY

RULE_ID = "quantified-impact"
_DIMENSIONS = {
    "users": re.compile(r"\b(?:users?|customers?|requests?|conversations?|tenants?|accounts?|sessions?|callers?)\b", re.IGNORECASE),
    "business / compute / quality": re.compile(
        r"\b(?:cost|\$|revenue|compute|gpu|latency|quality|error rate|tokens?|spend|hours? lost|sla|throughput)", re.IGNORECASE
    ),
    "safety / trust": re.compile(r"\b(?:safety|trust|harm\w*|exposure|leak\w*|toxic\w*|unsafe|privacy|pii)\b", re.IGNORECASE),
}


def check(ctx: Context) -> list[ValidationFinding]:
    secs = ctx.doc.sections_of("summary") + ctx.doc.sections_of("impact")
    if not secs:
        return [finding(RULE_ID, "error", "No Executive Summary / Impact section to quantify impact in.",
                        suggestion="Add '## Executive Summary' with an **Impact** list: users affected, "
                                   "business/compute/quality impact, safety or trust exposure.")]
    text = "\n".join(ctx.doc.section_text(s) for s in secs)
    out: list[ValidationFinding] = []
    has_number = any(m.group(2) for m in QUANTITY.finditer(text))
    report_ok = bool(ctx.report and (ctx.report.impact.metrics or ctx.report.impact.data_gaps))
    if not has_number and "[DATA GAP]" not in text and not report_ok:
        out.append(finding(RULE_ID, "error", "Impact is not quantified and no [DATA GAP] says why.",
                           line=secs[0].start, section=secs[0].title,
                           suggestion="State users affected, duration, error-rate or latency delta, cost; or "
                                      "write [DATA GAP] with the data that would give the number."))
    for dim, pat in _DIMENSIONS.items():
        if not pat.search(text):
            out.append(finding(RULE_ID, "warning", f"Impact does not mention {dim}.", line=secs[0].start,
                               section=secs[0].title,
                               suggestion=f"Add a line for {dim} (a number, 'none observed' with its source, or [DATA GAP])."))
    return out


RULE = Rule(RULE_ID, check, "error", "Impact is quantified (users, cost/compute/quality, safety) or marked [DATA GAP].")
