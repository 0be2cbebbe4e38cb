"""The incident commander as responders declared it in the channel or notes.

"I'm IC", "taking IC", "I'll be incident commander", "IC: serving on-call lead" say who ran the
response; without a manifest the report would otherwise print "[DATA GAP]". The report names
roles: a person's name appears only when the team opted in to names (`--names`), as for owners.
"""

from __future__ import annotations

import re

from agent.validators.people import ROLE_WORDS
from agent.model.commander import Commander
from tools.models import EvidenceKind
from tools.store.reader import EvidenceReader

_IC = r"(?:IC|incident[ -]commander|incident lead)"
# The speaker takes the role: "I'm IC", "I am incident commander", "taking IC", "I'll be IC".
SELF = re.compile(
    rf"\b(?:I'?m|I am|I'?ll be|I will be|I'?ll take|I will take|taking|I'?ve got|I have)\s+(?:the\s+)?{_IC}\b"
    rf"|\b{_IC}\s+(?:is\s+)?(?:me|here)\b", re.I)
# Someone is named: "IC: Dana", "IC is the serving on-call lead", "incident commander = @dana".
NAMED = re.compile(rf"\b{_IC}\s*(?::|=|\bis\b|->)\s*(@?[\w.-]+(?:[ \t]+[\w.-]+){{0,4}})", re.I)
_NOT_A_VALUE = re.compile(r"^(?:needed|required|tbd|unknown|none|who|anyone|\?)", re.I)


def _speaker(attrs: dict[str, object]) -> str | None:
    for k in ("user_name", "user", "author", "from", "sender"):
        v = attrs.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def from_channel(store: EvidenceReader) -> Commander | None:
    """The first declaration of command in chat or notes (later hand-overs are in the timeline)."""
    for ev in store.iter(kinds=[EvidenceKind.CHAT, EvidenceKind.NOTE, EvidenceKind.PAGE]):
        if ev.flags:
            continue  # instruction-like text is data, never a declaration
        if SELF.search(ev.text):
            role = str(ev.attrs.get("role") or ev.attrs.get("title") or "").strip()
            return Commander(role=role if role and ROLE_WORDS.search(role) else "the responder who took command",
                             name=_speaker(ev.attrs), evidence=ev.id)
        m = NAMED.search(ev.text)
        if m and not _NOT_A_VALUE.match(m.group(1)):
            value = m.group(1).strip().rstrip(".,;")
            if ROLE_WORDS.search(value):
                return Commander(role=value, evidence=ev.id)
            return Commander(role="the responder named as incident commander", name=value.lstrip("@"),
                             evidence=ev.id)
    return None
