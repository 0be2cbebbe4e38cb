"""Gentle, offline replies to participants' chat remarks that break a hard rule.

A review meeting is where blame and hindsight creep in, so the chat runs every free-text remark through
the same sentence detectors as the report and answers the first rule it breaks with a reframing
question instead of a flat "noted". No LLM: the replies are fixed per rule and never quote a person.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from agent.validators.rules import no_blame, no_counterfactual, scope, stochasticity
from agent.vocabulary import vocabulary

# The same code cues the no-production-code rule reads.
_CODE = vocabulary("production_code")

REPLIES: dict[str, str] = {
    "no-blame": (
        "Let's keep this blameless: which part of the system, process or missing control made this step "
        "easy to get wrong? What would have to change so that anyone in that seat would get it right?"
    ),
    "no-counterfactual": (
        "That reads like hindsight. What did the people involved know and see at the time, and what made "
        "the signal hard to notice then?"
    ),
    "scope-legal": (
        "Legal and compliance conclusions are out of scope for the postmortem; please raise this with "
        "counsel. We'll keep the finding itself factual (what happened, what data was involved)."
    ),
    "scope-hr": (
        "Personnel matters are out of scope for the postmortem; please take them to HR or the manager. "
        "Here we record the systemic change (process, control, tooling) instead."
    ),
    "stochasticity": (
        "Models are stochastic, so one run can't show they always or never do something. Can we repeat "
        "the run (say N samples at the production temperature) and record the measured rate?"
    ),
    "no-production-code": (
        "The postmortem doesn't carry production code. I can add a read-only diagnostic query or an "
        "example alert rule instead, and the change itself goes into an action item."
    ),
}
_FENCE = re.compile(r"```[\w+-]*\n?(.*?)(?:```|$)", re.DOTALL)
_INLINE = re.compile(r"`([^`]+)`")


def _has_production_code(text: str) -> bool:
    """Code in a remark: an implementation, or shell/SQL that changes state."""
    spans = [m.group(1) for m in _FENCE.finditer(text)] + [m.group(1) for m in _INLINE.finditer(text)]
    for body in spans:
        if _CODE.sniff_impl.search(body) or _CODE.mutating_shell.search(body) or _CODE.mutating_sql.search(body):
            return True
    return False


def classify_remark(text: str, names: Collection[str] = ()) -> str | None:
    """The key in REPLIES for the first hard rule the remark breaks, or None."""
    if _has_production_code(text):
        return "no-production-code"
    hits = scope.detect(text, "chat")
    if hits:
        return "scope-hr" if hits[0].suggestion == scope.HR_SUGGESTION else "scope-legal"
    if no_blame.detect(text, "chat", tuple(names)):
        return "no-blame"
    if no_counterfactual.detect(text, "chat"):
        return "no-counterfactual"
    if stochasticity.detect(text, "chat"):
        return "stochasticity"
    return None


def remark_reply(text: str, names: Collection[str] = ()) -> str | None:
    """A fitting reply for a rule-breaking remark, or None when the remark is fine."""
    key = classify_remark(text, names)
    return REPLIES[key] if key else None
