"""confidence: "confirmed" only with proof cited (never fabricate applies to confidence too).

A causal claim marked confirmed (a hypothesis or root cause status, or a sentence saying a cause or
trigger is confirmed) must cite, on the same line, either
  - a revert/rollback record (a revert commit, a rollback/undo audit record or line) AND a recovery
    record dated after it (an alert or page resolved, a responder saying it recovered), or
  - a reproduction record (a responder saying the failure was reproduced).
Otherwise the finding asks to downgrade to "likely" and say what would confirm it; the repair loop
does exactly that (agent/validators/repair.py). Observational "confirmed" findings (a detection
fact, "the page was confirmed") and "to be confirmed" are not causal claims and are left alone.
Without an evidence lookup that can return records the rule reports nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.markdown import Unit
from agent.validators.patterns import EVIDENCE_ID
from agent.vocabulary import vocabulary

RULE_ID = "confidence"
_WORDS = vocabulary("confidence")
SUGGESTION = ("Downgrade to \"likely\" and say what would confirm it (a revert of this change alone followed "
              "by recovery, or a reproduction), or cite the revert/rollback record and the later recovery "
              "record (or the reproduction) that prove it.")


def _record(lookup: Any, evidence_id: str) -> tuple[str, datetime | None] | None:
    """(text, time) of a cited record: EvidenceReader.get, or InMemoryEvidence.record."""
    if hasattr(lookup, "record"):
        return lookup.record(evidence_id)  # type: ignore[no-any-return]
    get = getattr(lookup, "get", None)
    ev = get(evidence_id) if callable(get) else None
    if ev is None:
        return None
    attrs = getattr(ev, "attrs", {}) or {}
    extra = " ".join(str(attrs.get(k) or "") for k in ("status", "entry_type", "action", "message"))
    return f"{ev.text} {extra}", ev.ts


def proven(lookup: Any, ids: list[str]) -> bool:
    """Whether the cited records prove a causal claim: undo then later recovery, or a reproduction."""
    recs = [(i, r) for i in ids if (r := _record(lookup, i)) is not None]
    if any(_WORDS.repro.search(t) and not _WORDS.not_repro.search(t) for _, (t, _ts) in recs):
        return True
    undos = [ts for _, (t, ts) in recs if _WORDS.revert.search(t)]
    recoveries = [(i, ts) for i, (t, ts) in recs if _WORDS.recovery.search(t) and not _WORDS.revert.search(t)]
    for u in undos:
        for _, r in recoveries:
            if u is None or r is None or r >= u:
                return True
    return False


def claims(unit: Unit, line: str) -> bool:
    """A causal "confirmed": a status on a hypothesis or root-cause line, or causal wording."""
    hedged = _WORDS.hedged.sub("", unit.text)
    if not _WORDS.confirmed.search(hedged):
        return False
    title = unit.section.title.lower()
    if "hypothes" in title:
        return True
    if "root cause" in title and not re.match(r"\s*[-*]\s*\*\*CF-", line):
        return True
    return bool(_WORDS.causal.search(hedged)) and not re.match(r"\s*[-*]\s*\*\*CF-", line)


def check(ctx: Context) -> list[ValidationFinding]:
    if ctx.evidence is None or not (hasattr(ctx.evidence, "record") or hasattr(ctx.evidence, "get")):
        return []
    out: list[ValidationFinding] = []
    done: set[int] = set()
    for unit in ctx.doc.units():
        line = ctx.doc.lines[unit.line - 1] if 0 < unit.line <= len(ctx.doc.lines) else unit.text
        if unit.line in done or not claims(unit, line):
            continue
        done.add(unit.line)
        if proven(ctx.evidence, EVIDENCE_ID.findall(line)):  # the citations of the whole line
            continue
        out.append(finding(RULE_ID, "error", "Marked confirmed, but the records it cites show neither this change "
                           "undone followed by recovery nor a reproduction.", line=unit.line,
                           section=unit.section.title, text=line.strip(), suggestion=SUGGESTION))
    return out


def downgrade(text: str) -> str:
    """The repair: "confirmed" as a status becomes "likely" (wording only; the evidence is unchanged)."""
    return _WORDS.confirmed.sub(lambda m: m.group(0).replace("confirmed", "likely").replace("Confirmed", "Likely"), text)


RULE = Rule(RULE_ID, check, "error", "\"Confirmed\" causes cite a revert/rollback then recovery, or a reproduction.",
            needs_evidence=True)
