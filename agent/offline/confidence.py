"""How sure the review may be that the top-ranked change caused the incident, from evidence only.

"Confirmed" needs one of two proofs, each cited:
  - that change itself undone in production (a revert commit naming it, a flag turned back, a
    rollback or chat line naming its sha, PR or ref) followed by a recovery record; a rollback to an
    older image or to a date undoes no particular commit and confirms none of them;
  - a reproduction: a responder's record saying the failure was reproduced with that change (its sha,
    PR or one of the settings it changed).
Otherwise the status is "likely" (the ranking has real support) with what would confirm it, or
"inconclusive". Never fabricate applies to confidence as much as to numbers.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, NamedTuple

from agent.model import Mechanism, TriggerCandidate
from agent.offline.changes import undo_proof
from tools.models import EvidenceKind
from tools.store.reader import EvidenceReader

LIKELY_SCORE = 1.0  # the ranking's own bar for a candidate with real support
REPRODUCED = re.compile(r"\b(?:reproduc(?:ed|es|ible)|repro(?:'d|ed)?|re-?created the (?:failure|oom|error|crash))\b", re.I)
NOT_REPRODUCED = re.compile(r"\b(?:not|n't|never|unable to|failed to|trying to|try to|will|could we|can we|should)\b"
                            r"[\w\s]{0,20}\brepro|\?\s*$", re.I)


class Proof(NamedTuple):
    status: Literal["confirmed", "likely", "inconclusive"]
    evidence: list[str]  # what the confirmation cites (empty unless confirmed)
    basis: str  # one sentence for the root cause statement
    to_confirm: str  # what would confirm it ("" when confirmed)


def reproduction(store: EvidenceReader, top: TriggerCandidate, mechanism: Mechanism | None) -> str | None:
    """Id of a responder's record saying the failure was reproduced with this change."""
    handles = [top.ref[:7]] if top.kind == "commit" else [top.ref.split("@")[0]]
    handles += re.findall(r"#\d+", top.summary)
    handles += [s.key for s in (mechanism.settings if mechanism else [])]
    handles = [h.lower() for h in handles if len(h) >= 3]
    for ev in store.iter(kinds=[EvidenceKind.CHAT, EvidenceKind.NOTE]):
        if ev.flags or ev.attrs.get("bot") or not REPRODUCED.search(ev.text) or NOT_REPRODUCED.search(ev.text):
            continue
        low = ev.text.lower()
        if any(h in low for h in handles):
            return ev.id
    return None


def ground(store: EvidenceReader, top: TriggerCandidate, onset: datetime | None, window_end: datetime | None,
           mechanism: Mechanism | None) -> Proof:
    """The status the evidence allows for "change `top` triggered the incident"."""
    undone = undo_proof(store, top, onset, window_end) if onset is not None else None
    if undone is not None:
        return Proof("confirmed", undone.undo + [undone.recovery],
                     f"It was undone by {undone.what} ({', '.join(undone.undo)}), followed by recovery "
                     f"({undone.recovery}).", "")
    repro = reproduction(store, top, mechanism)
    if repro is not None:
        return Proof("confirmed", [repro], f"Responders record reproducing the failure with it ({repro}).", "")
    confirm = ("What would confirm it: a revert of this change alone followed by recovery, or reproducing "
               "the failure in staging with the change applied.")
    return Proof("likely" if top.score >= LIKELY_SCORE else "inconclusive", [], "", confirm)
