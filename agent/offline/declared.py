"""The severity responders declared, as evidence: a chat line ("Declaring SEV2"), a PagerDuty
priority, an incident channel named for its severity, or the manifest's severity field.

The measured rule (severity.py) can miss a quality incident entirely: wrong answers return HTTP
200. Responders who declared a severity saw something (tickets, escalations, probes) that the
rule may not read, so the report states their level and does not go below it without a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.models import EvidenceKind
from tools.store.reader import EvidenceReader

# "Declaring SEV2", "raising this to sev-1", "this is a P1", "SEV2 declared". A bare "P2" in
# passing ("the P2 fix") is not a declaration, so a verb or "declared" must be next to it.
_LEVEL = r"(?:sev(?:erity)?|p)\s*-?\s*([0-4])\b"
DECLARE = re.compile(
    r"\b(?:declar\w*|rais\w* (?:it |this )?to|upgrad\w* (?:it |this )?to|bump\w* (?:it |this )?to|"
    r"escalat\w* (?:it |this )?to|downgrad\w* (?:it |this )?to|this is an?|calling (?:it |this )?an?)\s+"
    + _LEVEL + r"|\b" + _LEVEL + r"\s+declared\b", re.I)
# An incident channel named for its severity: "#inc-sev2-search", "sev1-checkout".
CHANNEL = re.compile(r"(?:^|[-_])sev-?([0-4])(?:$|[-_])", re.I)
# The project's scale stops at P3; a declared SEV4/P4 is the lowest level we have.
LOWEST = 3


@dataclass(frozen=True)
class Declared:
    level: int  # 0..3, as P0..P3
    evidence: str  # record id, or "manifest"
    how: str  # what was declared, in words the report quotes


def _norm(digit: str) -> int:
    return min(int(digit), LOWEST)


def declared_levels(store: EvidenceReader, manifest_severity: str | None = None) -> list[Declared]:
    """Every declaration found, in time order (the manifest last: it is written afterwards)."""
    out: list[Declared] = []
    for ev in store.iter(kinds=[EvidenceKind.CHAT, EvidenceKind.NOTE]):
        if ev.flags:
            continue
        m = DECLARE.search(ev.text)
        if m:
            digit = m.group(1) or m.group(2)
            out.append(Declared(_norm(digit), ev.id, f"declared in {ev.source or 'chat'}: \"{m.group(0).strip()}\""))
            continue
        ch = str(ev.attrs.get("channel") or "")
        c = CHANNEL.search(ch)
        if c and not any(d.how.startswith("channel") for d in out):
            out.append(Declared(_norm(c.group(1)), ev.id, f"channel named `{ch}`"))
    for ev in store.iter(kinds=[EvidenceKind.PAGE]):
        prio = str(ev.attrs.get("priority") or "")
        m = re.fullmatch(r"\s*(?:p|sev)\s*-?([0-4])\s*", prio, re.I)
        if m:
            out.append(Declared(_norm(m.group(1)), ev.id, f"PagerDuty priority {prio}"))
            break
    if manifest_severity:
        m = re.search(_LEVEL, manifest_severity, re.I)
        if m:
            out.append(Declared(_norm(m.group(1)), "manifest", f"manifest severity `{manifest_severity}`"))
    return out


def strongest(declared: list[Declared]) -> Declared | None:
    """The most severe declaration (lowest number); the earliest of equals."""
    return min(declared, key=lambda d: d.level) if declared else None
