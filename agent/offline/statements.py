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

# ---- verb classes (stems; inflections are matched by the \w* tails) -------------------------
_DECLARE = re.compile(
    r"\b(declar\w*\s+(?:an?\s+|the\s+)?(?:incident|sev\s*\d|p\d|major)|(?:sev|p)[ -]?[0-4]\b(?!\s*(?:ms|s)\b)|"
    r"(?:i'?m|i am|taking|take|took|be|is|as|assign\w* (?:as )?)\s+(?:the\s+)?(?:ic|incident commander|incident lead|commander)\b|"
    r"incident commander\b|opening (?:an )?incident|incident (?:is )?(?:open|declared|created))",
    re.I,
)
_ESCALATE = re.compile(
    # "the escalated ticket" uses the participle as an adjective (routing, not an escalation).
    r"\b((?<!\bthe )(?<!\ban )(?<!\bthis )(?<!\bthat )escalat\w*|pag(?:e|ed|ing)\s+(?:in\s+)?(?:the\s+)?\w+|looping in|loop(?:ed)? in|pulling in|bring(?:ing)? in)\b",
    re.I,
)
_MITIGATE = re.compile(
    r"\b(roll(?:s|ing|ed)?[ -]?back|rollback|revert\w*|restart\w*|re-?start\w*|fail(?:ed|ing)?[ -]?over|"
    r"scal(?:e|ed|es|ing)\s+(?:\w+\s+){0,3}?(?:up|out|down|to)\b|disabl\w*|turn(?:ed|ing)? off|switch(?:ed)? off|"
    r"kill[- ]?switch|flag (?:off|flipped)|drain\w*|cordon\w*|pin(?:ned|ning)? (?:back|to)|downgrad\w*|"
    r"hotfix\w*|patch(?:ed|ing)|block(?:ed|ing)?|rate[- ]?limit\w*|throttl\w*|paus(?:e|ed|ing)|halt\w*|"
    r"stop(?:ped|ping)? (?:the )?(?:rollout|job|run|traffic|agent)|cancel\w* (?:the )?rollout|"
    r"shift(?:ed|ing)? traffic|redirect\w*|re-?rout\w*|mitigat\w*|purg\w*|flush\w*|clear(?:ed|ing)? (?:the )?cache)\b",
    re.I,
)
# A responder reporting that a fix went out is a mitigation step even without a rollback verb:
# the fix noun shipped, or something shipped while the symptom is easing ("mapping deployed,
# null ratio dropping").
_FIX_SHIPPED = re.compile(
    r"\b(?:(?:fix|patch|hotfix|workaround|mitigation)\s+(?:is\s+|has been\s+|was\s+)?"
    r"(?:deployed|shipped|applied|rolled out|live|out)\b|"
    r"(?:deployed|applied|shipped|pushed|rolled out)\b.{0,60}\b(?:dropping|recovering|improving|"
    r"coming down|going down|decreasing|easing|falling)\b)", re.I)
_RECOVER = re.compile(
    r"\b(recover\w*|back to (?:normal|baseline|green)|(?:returned|back) (?:to|at) baseline|normal again|"
    r"healthy again|green again|stabili[sz]\w*|restored|error rate (?:is )?(?:back|normal|down)|"
    r"looks? (?:good|fine|healthy) now|(?:5xx|errors?|latency) (?:is |are )?(?:back )?down to)\b",
    re.I,
)
_RESOLVE = re.compile(
    r"\b(resolv(?:ed|ing)\b(?! (?:to|the (?:address|host|name)))|all[- ]clear|clos(?:e|ed|ing) (?:out )?(?:the |this )?(?:incident|inc)|"
    r"incident (?:is )?(?:closed|over|resolved)|standing down|stand down)",
    re.I,
)
_OBSERVE = re.compile(
    r"\b(seeing|noticed?|spott\w*|looks? (?:wrong|off|odd|weird|broken|bad|too good)|"
    r"too good to be true|suspicious\w*|does(?:n'?t| not) look right|not right|unexpected\w*|"
    r"something(?:'s| is) (?:off|wrong)|(?:is|are) (?:down|failing|erroring|timing out|spiking|broken)|"
    r"investigating|looking into|anomal\w*|regress\w*)\b",
    re.I,
)
# A responder saying the cause is found (a milestone of the investigation, not a guess):
# "found it: ...", "root cause is ...", "that's the culprit", "smoking gun".
_DIAGNOSIS = re.compile(
    r"^\W*(?:ok(?:ay)?[,.]?\s+)?found (?:it|the (?:bug|cause|problem|issue|culprit))\b|"
    r"\broot[- ]caus(?:e|ed)\s*(?:is|was|found|identified|confirmed|:)|"
    r"\b(?:that'?s|this is|here'?s) (?:the|our) (?:root cause|culprit|smoking gun)\b|"
    r"\b(?:smoking gun|culprit (?:is|was|found))\b|\bconfirmed (?:the )?(?:root )?cause\b",
    re.I,
)
_HYPOTHESIS = re.compile(
    r"\b(might be|may be|could be|probably|likely|suspect\w*|hypothes\w*|theory|i think|i bet|"
    r"my guess|smells like|caused by|because of|root cause)\b",
    re.I,
)
_USER = re.compile(
    r"\b(users?|customers?|clients?|teachers?|students?|support|tickets?|complain\w*|reports? from)\b", re.I)
# A user report needs a symptom, not just a mention of users: "customer contact on the escalated
# ticket is X" is routing, "customers are getting errors" is a report.
_USER_VERB = re.compile(
    r"\b(complain\w*|seeing|getting (?:errors?|timeouts?|5\d\d|wrong|bad|garbage|nothing)|wrong|errors?|"
    r"fail\w*|broken|not working|doesn'?t work|can'?t|cannot|couldn'?t|could not|unable|slow\w*|time[sd]? ?out|timeouts?|"
    r"unrelated|irrelevant|nonsense|made[- ]up|"
    r"outage|down\b|missing|incorrect|bad (?:answers?|results?|responses?)|hallucinat\w*|agree\w* with|"
    r"report(?:s|ed|ing)? (?:that|errors?|problems?|issues?|failures?|bad|wrong|seeing))\b", re.I)
# The middle ground between a mention and a symptom: users as the subject of a reporting or
# experiencing verb ("customers report the bot ...", "teachers are seeing ...", "customers are
# quoting old prices"). Routing lines ("customer contact on the ticket is X") have no such verb.
_USER_SUBJECT = re.compile(
    r"\b(?:users?|customers?|clients?|teachers?|students?|parents?|tenants?|accounts?)\b"
    r"(?:\s+\w+){0,2}?\s+(?:report(?:s|ed|ing)?|say(?:s|ing)?|said|tell(?:s|ing)?|told|"
    r"notic(?:e|es|ed|ing)|experienc(?:e|es|ed|ing)|keep(?:s)?|kept|hit(?:s|ting)?|"
    r"(?:are|is|were|was|keep|kept)\s+(?!\w+ing\s+(?:on|for|to)\b)\w+ing)\b", re.I)

# ---- sentence shape -------------------------------------------------------------------------
_DECIDE_SHAPE = re.compile(
    r"(?:^|[.;!:]\s*|\b)(decision\s*[:\-]|decided\b|we(?:'ll| will| are going to|'re going to)\b|"
    r"let'?s\b|(?:i'?m|i am|we'?re|we are) going to\b|going (?:ahead|forward) with\b|agreed\b|"
    r"plan(?: is)?\s*[:\-]|call(?:ing)? it\b|go(?:ing)? with\b|proceed\w*\b|approved?\b)",
    re.I,
)
# A request or a proposal is not a step taken: "Change freeze exception request: PR #41 ...", "revert PR
# is up: <link>" (opened for review, not merged), "requesting approval to roll back".
_PROPOSAL = re.compile(
    r"^\s*(?:[\w -]{0,40}\b)?(?:request|proposal|rfc)\s*[:\-]|\b(?:requesting|request(?:ing)? (?:approval|an? exception)|"
    r"propos(?:e|ing|al)|(?:pr|pull request|mr|merge request|revert|patch|fix)\s*(?:#\d+\s*)?(?:is )?"
    r"(?:up|open(?:ed)?|ready for review|out for review)\b|please (?:review|approve))", re.I)
_FUTURE = re.compile(r"\b(i'?ll|i will|we'?ll|we will|will|going to|about to|gonna|next)\b", re.I)
_PAST = re.compile(
    r"\b(\w+ed|done|complete\w*|finished|is up|are up|went out|in place|now|has been|have been|took effect)\b",
    re.I,
)
_QUESTION = re.compile(r"\?\s*$|^\s*(?:can|could|should|shall|do|does|did|is|are|would|why|what|how)\b", re.I)

# ---- bots -----------------------------------------------------------------------------------
_BOT_ALERT = re.compile(r"\[(FIRING|RESOLVED)(?::\d+)?\]|\b(firing|resolved)\b.*\balert", re.I)
_BOT_DEPLOY = re.compile(
    r"\b(deploy\w*|rolled out|rollout|released|promot\w*|synced|sync (?:succeeded|complete)|"
    r"applied|upgrad\w*)\b", re.I)
_BOT_ROLLBACK = re.compile(r"\b(roll(?:ed|ing)?[ -]?back|rollback|revert\w*)\b", re.I)
_BOT_FAILED = re.compile(r"\b(fail\w*|error|aborted|degraded)\b", re.I)


_ORDERED = (("mitigate", _MITIGATE), ("recover", _RECOVER), ("escalate", _ESCALATE),
            ("hypothesis", _HYPOTHESIS), ("observe", _OBSERVE))


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
    if _PROPOSAL.search(t):
        return "question"  # proposes an action; neither done nor decided
    if _DECIDE_SHAPE.search(t):
        return "decision"
    if _QUESTION.search(t):
        return "question"
    if _FUTURE.search(t):
        return "plan"
    if _PAST.search(t):
        return "report"
    return "statement"


def _action(text: str) -> str | None:
    """The verb class of the main action, strongest first (a resolution outranks a recovery)."""
    if _DECLARE.search(text):
        return "declare"
    if _DIAGNOSIS.search(text) and not _QUESTION.search(text):
        return "diagnosis"
    if _RESOLVE.search(text):
        return "resolve"
    if ((_USER.search(text) and _USER_VERB.search(text)) or _USER_SUBJECT.search(text)) \
            and not _MITIGATE.search(text):
        return "user_report"
    # Otherwise the verb that comes first carries the sentence ("Seeing OOMs right before each
    # restart" reports a symptom; "Rolled back, errors recovering" reports a mitigation).
    if _FIX_SHIPPED.search(text):
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
    return len(parts) == 2 and not _QUESTION.search(parts[0]) and not _PROPOSAL.search(parts[0])


def classify_bot(text: str) -> Statement:
    """Alert and deploy bots post structured messages: read the structure, not the tone."""
    m = _BOT_ALERT.search(text)
    if m:
        state = (m.group(1) or m.group(2) or "").lower()
        return Statement("alert_resolved" if state == "resolved" else "alert_firing", 0.9, "report")
    if _BOT_ROLLBACK.search(text):
        return Statement("mitigate", 0.8, "report")
    if _BOT_DEPLOY.search(text):
        if _BOT_FAILED.search(text):
            return Statement("observe", 0.6, "report")
        return Statement("deploy", 0.85, "report")
    return Statement("none", 0.0, "statement")
