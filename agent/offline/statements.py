"""What a responder's sentence does: one classifier for chat messages and notes.

Intent comes from two things, not from a list of whole phrases: the *verb class* of the main
action (declare, escalate, roll back / disable / scale / restart, recover, resolve, observe, ...)
and the *shape* of the sentence (a question, an imperative or first-person future = a plan or
decision, a past/perfect report = something that happened). "Can we roll back?" is a proposal,
"Decision: roll back" a decision, "rolled back the deploy" a mitigation step.

Bots (deploy bots, alert bots) are classified by the structure of what they post instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.vocabulary import vocabulary

# Verb classes, sentence shapes and bot wording: agent/vocabulary/statements.yaml.
_SAYS = vocabulary("statements")

_ORDERED = (("mitigate", _SAYS.mitigate), ("recover", _SAYS.recover), ("escalate", _SAYS.escalate),
            ("hypothesis", _SAYS.hypothesis), ("observe", _SAYS.observe))


@dataclass(frozen=True)
class Statement:
    """What a sentence does. `intent` is one of INTENTS; `confidence` in [0, 1]."""

    intent: str
    confidence: float
    shape: str  # question | decision | plan | report | statement


INTENTS = ("declare", "escalate", "decide", "mitigate", "recover", "resolve", "user_report",
           "observe", "diagnosis", "hypothesis", "deploy", "alert_firing", "alert_resolved", "none")

# Timeline category each intent is shown under.
CATEGORY = {
    "declare": "declared", "escalate": "escalation", "decide": "decision", "mitigate": "mitigation",
    "recover": "recovery", "resolve": "resolution", "user_report": "detection", "observe": "detection",
    "diagnosis": "diagnosis", "hypothesis": "context", "deploy": "deploy", "alert_firing": "alert", "alert_resolved": "recovery",
}


def shape_of(text: str) -> str:
    """Sentence shape: question, decision, plan (future/imperative), report (past) or statement."""
    t = text.strip()
    if _SAYS.proposal.search(t):
        return "question"  # proposes an action; neither done nor decided
    if _SAYS.decide_shape.search(t):
        return "decision"
    if _SAYS.question.search(t):
        return "question"
    if _SAYS.future.search(t):
        return "plan"
    if _SAYS.past.search(t):
        return "report"
    return "statement"


def _action(text: str) -> str | None:
    """The verb class of the main action, strongest first (a resolution outranks a recovery)."""
    if _SAYS.declare.search(text):
        return "declare"
    if _SAYS.diagnosis.search(text) and not _SAYS.question.search(text):
        return "diagnosis"
    if _SAYS.resolve.search(text):
        return "resolve"
    if ((_SAYS.user.search(text) and _SAYS.user_verb.search(text)) or _SAYS.user_subject.search(text)) \
            and not _SAYS.mitigate.search(text):
        return "user_report"
    # Otherwise the verb that comes first carries the sentence ("Seeing OOMs right before each
    # restart" reports a symptom; "Rolled back, errors recovering" reports a mitigation).
    if _SAYS.fix_shipped.search(text):
        return "mitigate"
    found = [(m.start(), name) for name, pat in _ORDERED if (m := pat.search(text))]
    return min(found)[1] if found else None


def classify(text: str, *, bot: bool = False) -> Statement:
    """Intent of one chat message or note paragraph."""
    if bot:
        return classify_bot(text)
    shape = shape_of(text)
    action = _action(text)
    if shape == "decision":
        # A decision to act is a decision row; a declaration stays a declaration.
        if action in ("declare", "resolve"):
            return Statement(action, 0.8, shape)
        return Statement("decide", 0.85 if action else 0.6, shape)
    if action is None:
        return Statement("none", 0.0, shape)
    if shape == "question" and action == "user_report" and _leads_with_statement(text):
        # "Customer says X is broken. Anyone seen this?": the report is made before the ask.
        return Statement(action, 0.65, "report")
    if shape == "question":
        # "Can we roll back?" proposes an action; it is neither done nor decided.
        if action in ("mitigate", "declare", "escalate", "resolve"):
            return Statement("hypothesis", 0.4, shape)
        return Statement(action, 0.4, shape)
    if shape == "plan" and action == "mitigate":
        return Statement("decide", 0.7, shape)
    return Statement(action, 0.8 if shape == "report" else 0.65, shape)


_SENTENCE_END = re.compile(r"(?<=[.!])\s+")


def _leads_with_statement(text: str) -> bool:
    """The first sentence is not itself a question (a trailing "anyone seen this?" does not
    turn a report into a proposal)."""
    parts = _SENTENCE_END.split(text.strip(), maxsplit=1)
    return len(parts) == 2 and not _SAYS.question.search(parts[0]) and not _SAYS.proposal.search(parts[0])


def classify_bot(text: str) -> Statement:
    """Alert and deploy bots post structured messages: read the structure, not the tone."""
    m = _SAYS.bot_alert.search(text)
    if m:
        state = (m.group(1) or m.group(2) or "").lower()
        return Statement("alert_resolved" if state == "resolved" else "alert_firing", 0.9, "report")
    if _SAYS.bot_rollback.search(text):
        return Statement("mitigate", 0.8, "report")
    if _SAYS.bot_deploy.search(text):
        if _SAYS.bot_failed.search(text):
            return Statement("observe", 0.6, "report")
        return Statement("deploy", 0.85, "report")
    return Statement("none", 0.0, "statement")
