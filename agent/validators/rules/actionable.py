"""actionable: every action has an owner, a due date and a verification method (hard rule 8).

The verification must say how a *future incident* would show the action worked, so it has to name
something observable (an alert that pages, a gate that blocks, a replay, a game day, a metric
threshold). Vague actions ("be more careful", "fix the issue", open-ended "investigate") are errors.
"""

from __future__ import annotations


from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.patterns import DATE
from agent.validators.rules._actions import action_rows
from agent.vocabulary import vocabulary

_WORDS = vocabulary("actionable")

RULE_ID = "actionable"
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
        if _WORDS.vague.search(action):
            add(row, "error", f"{ref}: vague action ('{_WORDS.vague.search(action).group(0)}') cannot be verified.")  # type: ignore[union-attr]
        elif _WORDS.investigate.search(action) and not _WORDS.deliverable.search(action):
            add(row, "error", f"{ref}: open-ended investigation with no deliverable or decision.")
        if _WORDS.empty.match(row.get("owner")):
            add(row, "error", f"{ref}: no owner.")
        if not DATE.search(row.get("due")):
            add(row, "error", f"{ref}: no due date (YYYY-MM-DD).")
        ver = row.get("verification")
        if _WORDS.empty.match(ver):
            add(row, "error", f"{ref}: no verification method.")
        elif not _WORDS.observable.search(ver):
            add(row, "warning", f"{ref}: verification does not say what a future incident would show.")
    return out


RULE = Rule(RULE_ID, check, "error", "Actions have owner, due date, a verification method, and are not vague.")
