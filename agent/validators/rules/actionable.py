"""actionable: every action has an owner, a due date and a verification method (hard rule 8).

The verification must say how a *future incident* would show the action worked, so it has to name
something observable (an alert that pages, a gate that blocks, a replay, a game day, a metric
threshold). Vague actions ("be more careful", "fix the issue", open-ended "investigate") are errors.
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.patterns import DATE
from agent.validators.rules._actions import action_rows

RULE_ID = "actionable"
_EMPTY = re.compile(r"^\s*(?:|-|–|—|tbd|tba|n/?a|\?+|none|\[data gap\]|unassigned|someone|everyone|all)\s*$", re.IGNORECASE)
_VAGUE = re.compile(
    r"\bbe more (?:careful|vigilant|diligent|attentive)\b|\bpay (?:more |closer )?attention\b|"
    r"\bfix (?:the|this) (?:issue|bug|problem)\b|\bcommunicate better\b|\bremind (?:the )?(?:team|engineers)\b|"
    r"\btry harder\b|\bbe aware\b|\bdouble[- ]check\b|\bretrain (?:staff|engineers|the team|people)\b|"
    r"^\W*improve (?:monitoring|communication|processes?|testing|quality)\W*$",
    re.IGNORECASE,
)
_INVESTIGATE = re.compile(r"^\W*(?:investigate|look into|explore|research)\b", re.IGNORECASE)
_DELIVERABLE = re.compile(r"\b(?:and|then|to) (?:document|decide|produce|publish|write|report|propose)\b|"
                          r"\bdecision\b|\bwrite-?up\b|\bby \d{4}-\d{2}-\d{2}\b", re.IGNORECASE)
_OBSERVABLE = re.compile(
    r"\balert\w*|\bpages?\b|\bpaged\b|\bfires?\b|\bmetric|\bdashboard|\btests?\b|\bevals?\b|\breplay\w*|"
    r"\bgame ?day|\bdrill|\bquery|\baudit|\bblocks?\b|\bblocked\b|\bfails?\b|\brejects?\b|\bwithin\b|%|\d|"
    r"\bcanary|\bCI\b|\bdetects?\b|\btrace|\bthreshold|\bsimulat\w+|\binject\w*|\breports?\b|\bshows?\b|"
    r"\brecords?\b|\binventory\b|\bcontains?\b|\blogs?\b",
    re.IGNORECASE,
)
SUGGESTION = ("Give each action a role owner, a YYYY-MM-DD due date and a verification that names what a "
              "future incident would show (e.g. 'replaying the incident traffic pages within 5 minutes').")


def check(ctx: Context) -> list[ValidationFinding]:
    secs = ctx.doc.sections_of("action_items")
    if not secs:
        return [finding(RULE_ID, "error", "No Action Items section.", suggestion=SUGGESTION)]
    rows = action_rows(ctx.doc)
    if not rows:
        return [finding(RULE_ID, "error", "Action Items section has no actions (table or list).",
                        line=secs[0].start, section=secs[0].title, suggestion=SUGGESTION)]
    out: list[ValidationFinding] = []
    title = secs[0].title

    def add(row, sev: str, msg: str) -> None:  # type: ignore[no-untyped-def]
        out.append(finding(RULE_ID, sev, msg, line=row.line, section=title, text=row.raw, suggestion=SUGGESTION))  # type: ignore[arg-type]

    for row in rows:
        ref = row.get("id") or row.get("action")[:40]
        action = row.get("action")
        if _VAGUE.search(action):
            add(row, "error", f"{ref}: vague action ('{_VAGUE.search(action).group(0)}') cannot be verified.")  # type: ignore[union-attr]
        elif _INVESTIGATE.search(action) and not _DELIVERABLE.search(action):
            add(row, "error", f"{ref}: open-ended investigation with no deliverable or decision.")
        if _EMPTY.match(row.get("owner")):
            add(row, "error", f"{ref}: no owner.")
        if not DATE.search(row.get("due")):
            add(row, "error", f"{ref}: no due date (YYYY-MM-DD).")
        ver = row.get("verification")
        if _EMPTY.match(ver):
            add(row, "error", f"{ref}: no verification method.")
        elif not _OBSERVABLE.search(ver):
            add(row, "warning", f"{ref}: verification does not say what a future incident would show.")
    return out


RULE = Rule(RULE_ID, check, "error", "Actions have owner, due date, a verification method, and are not vague.")
