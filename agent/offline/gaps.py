"""Data gaps that are true: before a `[DATA GAP]` is written, the evidence is searched for what it
says is missing. When a record covers it, the text cites that record instead; when none does, the
gap names the export that would close it.

Store access is kept to the three helpers under "Store access" (`store.match`, `store.get`,
`store.count`): tools/store.py is being split into a package, and these are the calls to move.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pydantic import BaseModel

from agent.model import TriggerCandidate
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

# Records people write about a change (not logs or series): where "it was tested" is stated.
STATEMENT_KINDS = [EvidenceKind.COMMIT, EvidenceKind.CHAT, EvidenceKind.NOTE, EvidenceKind.TICKET,
                   EvidenceKind.CHANGE, EvidenceKind.EVAL]
# A sentence saying a test ran: load/stress/soak tests, benchmarks, evals, canaries, or the change
# running in a pre-production environment.
TESTED = re.compile(
    r"\b(load[- ]?test\w*|stress[- ]?test\w*|soak(?:ed|ing)?\b|benchmark\w*|perf(?:ormance)?[- ]test\w*|"
    r"tested\b|eval(?:uated|s)?\b|canar(?:y|ied)\b|shadow(?:ed|ing)?\b|dry[- ]run|"
    r"(?:running|ran|run|deployed|tried|verified|validated)\s+(?:in|on)\s+(?:the\s+)?"
    r"(?:staging|stage|pre-?prod\w*|qa|dev)\b)", re.I)
# A test word negated within three words before it ("never load tested", "disabled the canary")
# or switched off right after it ("canary step disabled") is not a test record (barriers.py reads those).
NEGATED_BEFORE = re.compile(r"\b(no|not|never|without|didn.t|wasn.t|hasn.t|haven.t|skip\w*|disabl\w*|"
                            r"bypass\w*|turn\w* off)\b(?:\W+\w+){0,3}\W*$", re.I)
NEGATED_AFTER = re.compile(r"^\W*(?:[\w-]+\W+){0,3}?(disabl\w*|skipped|bypassed|off|removed)\b", re.I)
PRE_PROD = re.compile(r"\b(staging|stage|pre-?prod\w*|qa|dev|synthetic|test cluster)\b", re.I)
TESTING_LOOKBACK = timedelta(days=30)
QUOTE_CHARS = 160


class TestRecord(BaseModel):
    """One record that states what was tested before the change reached production."""

    evidence_id: str
    quote: str  # the sentence, verbatim (whitespace folded), at most QUOTE_CHARS
    pre_production: bool  # the sentence names staging, QA, synthetic load...


# --- Store access ----------------------------------------------------------------------------

def _match(store: EvidenceReader, fts: str, kinds: list[EvidenceKind],
           start: datetime | None = None, end: datetime | None = None) -> list[Evidence]:
    return [e for e in store.match(fts, kinds=kinds, start=start, end=end, limit=200) if not e.flags]


def _get(store: EvidenceReader, evidence_id: str) -> Evidence | None:
    return store.get(evidence_id)


def _count(store: EvidenceReader, kinds: list[EvidenceKind]) -> int:
    return store.count(kinds=kinds)


# --- Sentences -------------------------------------------------------------------------------

def sentences(text: str) -> list[str]:
    """Lines and sentences of a record, whitespace folded, list bullets dropped."""
    out: list[str] = []
    for line in text.splitlines():
        for part in re.split(r"(?<=[.!?;])\s+", line):
            s = " ".join(part.split()).lstrip("*-• ").strip()
            if s:
                out.append(s)
    return out


def quote(sentence: str) -> str:
    return sentence if len(sentence) <= QUOTE_CHARS else sentence[:QUOTE_CHARS - 1].rstrip() + "…"


def _states_a_test(sentence: str) -> bool:
    return any(not NEGATED_BEFORE.search(sentence[:m.start()]) and not NEGATED_AFTER.search(sentence[m.end():])
               for m in TESTED.finditer(sentence))


def _test_sentence(ev: Evidence) -> str | None:
    return next((s for s in sentences(ev.text) if _states_a_test(s)), None)


# --- Testing of the trigger ------------------------------------------------------------------

def _mentions_change(ev: Evidence, trigger: TriggerCandidate) -> bool:
    """The record names the change: its short sha or one of its PR numbers."""
    text = ev.text.lower()
    if trigger.kind == "commit" and len(trigger.ref) >= 7 and trigger.ref[:7].lower() in text:
        return True
    return any(re.search(rf"(?:#|\bpr\s*)({re.escape(str(n))})\b", text) for n in _prs(trigger))


def _prs(trigger: TriggerCandidate) -> list[str]:
    return re.findall(r"#(\d+)\b", trigger.summary)


def testing_records(store: EvidenceReader, trigger: TriggerCandidate | None,
                    onset: datetime | None) -> list[TestRecord]:
    """Records that say what was tested before `trigger` reached production: its own message
    first, then statements (chat, notes, tickets, eval and change records) naming the change."""
    if trigger is None:
        return []
    found: list[TestRecord] = []
    own = [e for e in (_get(store, i) for i in trigger.evidence[:2]) if e is not None]
    end = onset or trigger.at
    base = trigger.authored_at or trigger.at or end
    start = base - TESTING_LOOKBACK if base is not None else None
    fts = "test* OR tested OR load OR benchmark* OR eval* OR canary OR shadow* OR staging OR soak*"
    named = [e for e in _match(store, fts, STATEMENT_KINDS, start, end) if _mentions_change(e, trigger)]
    for ev in own + named:
        s = _test_sentence(ev)
        if s and all(r.evidence_id != ev.id for r in found):
            found.append(TestRecord(evidence_id=ev.id, quote=quote(s), pre_production=bool(PRE_PROD.search(s))))
    return found


def testing_statement(store: EvidenceReader, trigger: TriggerCandidate | None,
                      onset: datetime | None) -> tuple[str, list[str], bool]:
    """(text, evidence ids, is_gap) for "was the change tested before production?"."""
    records = testing_records(store, trigger, onset)
    ref = f"`{trigger.ref[:12]}`" if trigger is not None else "the change"
    if not records:
        return (f"[DATA GAP] No canary, eval or load-test result for {ref} is in the evidence. Needed: the "
                "CI, eval or load-test report of the release candidate (or the rollout's canary analysis run).",
                [], True)
    first = records[0]
    text = f"What was tested before release is stated: \u201c{first.quote}\u201d (`{first.evidence_id}`)."
    if any(r.pre_production for r in records):
        text += (" That test ran outside production; no test at production shape (production hardware, "
                 "traffic and request mix) is in the evidence [DATA GAP]. Needed: a load-test or canary "
                 "report run at production shape.")
    return text, [r.evidence_id for r in records[:2]], False


def eval_gap_text() -> str:
    return ("[DATA GAP] No eval run, benchmark or regression-test result for the change is in the dump, so it "
            "is unknown whether an eval gate ran and whether it covered the condition that failed. Needed: the "
            "eval report of the release candidate.")


# --- Whole kinds of evidence -----------------------------------------------------------------

# Inventory gap text (tools/ingest.py GAP_TEXT keys) -> the kinds whose presence makes it false.
KIND_GAPS: dict[str, list[EvidenceKind]] = {
    "No metrics": [EvidenceKind.METRIC],
    "No commit history": [EvidenceKind.COMMIT],
    "No chat": [EvidenceKind.CHAT],
    "No paging or alerting": [EvidenceKind.PAGE, EvidenceKind.ALERT],
    "No logs": [EvidenceKind.LOG, EvidenceKind.K8S_EVENT],
    "No LLM traces": [EvidenceKind.TRACE],
}


def true_kind_gaps(store: EvidenceReader, gaps: list[str]) -> list[str]:
    """Drop a "no X" gap when the store holds records of kind X."""
    out = []
    for g in gaps:
        body = g.removeprefix("[DATA GAP]").strip()
        kinds = next((k for prefix, k in KIND_GAPS.items() if body.startswith(prefix)), None)
        if kinds is not None and _count(store, kinds) > 0:
            continue
        out.append(g)
    return out


NO_DETECTION = "No alert, page or user report found"


def true_detection_gaps(store: EvidenceReader, gaps: list[str]) -> list[str]:
    """detection.py writes NO_DETECTION without seeing the store; rewrite it to what the dump holds."""
    return [detection_gap(store) if NO_DETECTION in g else g for g in gaps]


def detection_gap(store: EvidenceReader) -> str:
    """The "detection path unknown" gap, true to what the dump holds: when alerts, pages, tickets
    or chat exist but none marks detection in the window, say so rather than "none found"."""
    present = [name for name, kinds in (("alerts or pages", [EvidenceKind.ALERT, EvidenceKind.PAGE]),
                                        ("tickets", [EvidenceKind.TICKET]), ("chat", [EvidenceKind.CHAT]))
               if _count(store, kinds) > 0]
    if not present:
        return ("[DATA GAP] No alert, page or user report found; the detection path is unknown. Needed: the "
                "Alertmanager/PagerDuty export and the support-ticket export for the incident window.")
    return (f"[DATA GAP] The dump holds {', '.join(present)}, but none of them records how the anomaly was "
            "first noticed inside the incident window. Needed: the page or ticket that opened the response.")
