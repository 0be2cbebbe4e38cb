"""Understand a reviewer's remark in words: what it asks the review to change, keep or answer.

Offline and rule-based on purpose: every remark must land somewhere real even without a model, and a
wrong guess must be visible (the reply says what was applied, so "undo" is one command away). Order
matters: a remark that breaks a hard rule (blame, hindsight, legal, code) is answered per the persona
first, so a blaming sentence is never stored as "information"; then explicit corrections; then fixes
(parked until analysis is done); then questions; what is left is information, kept as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone

from dateutil import parser as dateparser

from agent.validators.remarks import REPLIES, classify_remark
from agent.vocabulary import vocabulary

_WORDS = vocabulary("remarks")

IntentKind = str  # rule | tl_move | tl_drop | tl_reword | tl_add | hypothesis | severity | scope | fix | question | info | unclear

_ROW = r"(?:entry|row|event|line|item|step|#)\s*#?(\d+)"
_TIME = r"(\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?|\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:utc|z)\b|[+-]\d{2}:?\d{2})?)"
_MOVE = re.compile(
    rf"{_ROW}\b.*?\b(?:at|to|from|by|around|was|is)\s+{_TIME}", re.IGNORECASE)
_MOVE_VERB = re.compile(rf"^(?:move|shift|retime)\s+(?:{_ROW}|(\d+))\s*(?:to|at)\s+{_TIME}", re.IGNORECASE)
_DROP = re.compile(
    rf"^(?:drop|remove|delete|strike)\s+(?:entry|row|event|line|item|#)?\s*#?(\d+)\b"
    rf"|{_ROW}\s+(?:is (?:a |an )?(?:duplicate|copy|noise|irrelevant|unrelated|not part of (?:this|the) incident)"
    r"|(?:did not|didn't|never) happen|should go|can go|should be (?:dropped|removed))", re.IGNORECASE)
_REWORD = re.compile(
    rf"^(?:reword|rename|rephrase|retitle)\s+(?:entry|row|event|line|item|#)?\s*#?(\d+)\s*(?::|to|as)\s*(.+)"
    rf"|{_ROW}\s+should (?:say|read|be described as)\s*:?\s*(.+)", re.IGNORECASE)
_ADD = re.compile(rf"^(?:add|insert)\s+(?:at\s+)?{_TIME}\s*[:,-]?\s*(.+)$", re.IGNORECASE)
_AT = re.compile(rf"^(?:at|around)\s+{_TIME}\s*[:,-]?\s+(.+)$", re.IGNORECASE)
_MOVE_REV = re.compile(
    rf"\b(?:at|to|from|by|around)\s+{_TIME}.*?{_ROW}\s+(?:is\s+)?(?:wrong|off|incorrect|too early|too late)",
    re.IGNORECASE)
_NOT_NAMES = frozenset({"The", "This", "That", "Then", "There", "Our", "We", "They", "It", "Its", "And",
                        "But", "Also", "Someone", "Nobody", "Everyone", "Honestly", "Basically", "Maybe",
                        "Yesterday", "Today", "Somebody", "Who", "What", "When", "Why", "How"})

ONE_RUN_REPLY = (
    "One run shows the change can pass once, not that it is safe: a load- or sampling-dependent failure "
    "passes most single runs. What would repeated runs show? Run it N times (at the incident's peak load "
    "or production temperature), record how many failed, and we'll cite that rate instead."
)
BLAME_REPLY = REPLIES["no-blame"]


@dataclass
class Intent:
    """What a remark asks for. `kind` picks the handler; the other fields are its arguments."""

    kind: IntentKind
    text: str
    index: int | None = None  # 1-based row / hypothesis number
    when: datetime | None = None
    time_only: str | None = None  # "13:48" with no date: resolved against the row or incident date
    value: str = ""  # new wording, severity, status, scope value
    reason: str = ""
    reply: str = ""  # for kind == "rule": the persona's answer
    rule: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _rule_intent(text: str, names: Collection[str]) -> Intent | None:
    """Remarks the persona answers instead of applying (hard rules, out-of-scope requests)."""
    key = classify_remark(text, names)
    if key is None and _WORDS.code_request.search(text):
        key = "no-production-code"
    if key is None and _WORDS.legal.search(text):
        key = "scope-legal"
    if key is None and _blames_a_person(text, names):
        key = "no-blame"
    if key is not None:
        return Intent(kind="rule", text=text, rule=key, reply=REPLIES[key])
    if _WORDS.one_run.search(text) and _WORDS.safe_claim.search(text):
        return Intent(kind="rule", text=text, rule="one-run", reply=ONE_RUN_REPLY)
    return None


def _blames_a_person(text: str, names: Collection[str]) -> bool:
    low = text.lower()
    named = any(n and len(n) >= 2 and re.search(rf"(?<![\w@]){re.escape(n.lower())}\b", low) for n in names)
    if named and _WORDS.verdict.search(text):
        return True
    for m in _WORDS.person_act.finditer(text):
        if m.group(1) not in _NOT_NAMES and _WORDS.verdict.search(text[m.start():]):
            return True
    return False


def _split_time(raw: str) -> tuple[datetime | None, str | None]:
    """A full timestamp (aware datetime) or a time of day ("13:48", zone given or UTC by default)."""
    raw = raw.strip()
    if re.match(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            dt = dateparser.isoparse(raw.replace(" ", "T"))
        except ValueError:
            return None, None
        return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc), None
    return None, re.sub(r"\s*(?:utc|z)$", "", raw, flags=re.IGNORECASE)


def _timeline_intent(text: str, at_timeline: bool) -> Intent | None:
    s = text.strip()
    m = _ADD.match(s)
    if m:
        when, tod = _split_time(m.group(1))
        return Intent(kind="tl_add", text=text, when=when, time_only=tod, value=m.group(2).strip())
    m = _DROP.search(s)
    if m:
        return Intent(kind="tl_drop", text=text, index=int(m.group(1) or m.group(2)))
    m = _REWORD.search(s)
    if m:
        idx, words = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return Intent(kind="tl_reword", text=text, index=int(idx), value=words.strip().strip('"'))
    m = _MOVE_VERB.match(s) or _MOVE.search(s)
    if m:
        groups = [g for g in m.groups() if g]
        when, tod = _split_time(groups[-1])
        return Intent(kind="tl_move", text=text, index=int(groups[0]), when=when, time_only=tod)
    m = _MOVE_REV.search(s)
    if m:
        when, tod = _split_time(m.group(1))
        return Intent(kind="tl_move", text=text, index=int(m.group(2)), when=when, time_only=tod)
    if at_timeline:
        m = _AT.match(s)
        if m:
            when, tod = _split_time(m.group(1))
            return Intent(kind="tl_add", text=text, when=when, time_only=tod, value=m.group(2).strip())
        bare = re.match(r"^(\d+)\s+(?:is\s+)?(?:wrong|off)\b.*?\b(?:at|to)\s+" + _TIME, s, re.IGNORECASE)
        if bare:
            when, tod = _split_time(bare.group(2))
            return Intent(kind="tl_move", text=text, index=int(bare.group(1)), when=when, time_only=tod)
    return None


def _hypothesis_intent(text: str) -> Intent | None:
    m = _WORDS.hyp.match(text.strip())
    if not m:
        return None
    if m.group(1):
        verb, idx, reason = m.group(1).lower(), m.group(2), m.group(3)
        status = "confirmed" if verb in ("confirm", "accept") else "rejected"
    else:
        idx, verdict, reason = m.group(4), m.group(5).lower(), m.group(6)
        status = "confirmed" if verdict in ("right", "correct", "confirmed", "true") else "rejected"
    return Intent(kind="hypothesis", text=text, index=int(idx), value=status, reason=(reason or "").strip())


def _scope_intent(text: str) -> Intent | None:
    m = _WORDS.severity.search(text)
    if m:
        return Intent(kind="severity", text=text, value=m.group(1).upper(), reason=(m.group(2) or "").strip())
    m = _WORDS.scope.match(text.strip())
    if m:
        return Intent(kind="scope", text=text, rule=m.group(1).lower(), value=m.group(2).strip(),
                      reason=(m.group(3) or "").strip())
    return None


def understand(text: str, gate: str, names: Collection[str] = ()) -> Intent:
    """Classify one remark made at review gate `gate` (e.g. "confirm_timeline")."""
    s = text.strip()
    found = (_rule_intent(s, names) or _timeline_intent(s, gate == "confirm_timeline")
             or _hypothesis_intent(s) or _scope_intent(s))
    if found is not None:
        return found
    if _WORDS.fix.search(s):
        return Intent(kind="fix", text=s)
    if s.endswith("?") or re.match(r"^(?:why|what|how|when|where|who|which|is|are|does|do|did|can|could)\b",
                                   s, re.IGNORECASE):
        return Intent(kind="question", text=s)
    if len(re.findall(r"\w+", s)) >= 4:
        return Intent(kind="info", text=s)
    return Intent(kind="unclear", text=s)
