"""One guide per review gate: the stage's goal, what to ask until it is met, and the next step.

Offline the questions come from facts the engine computed (data gaps, rows resting on an assumed
zone or a single source, competing hypotheses, validation findings, actions missing a verification);
with a model the same goal and commands go into its prompt, so both facilitators steer the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

MAX_QUESTIONS = 3


@dataclass(frozen=True)
class Guide:
    gate: str
    number: int  # the stage of the seven this gate closes
    name: str
    goal: str
    commands: str
    next_step: str

    @property
    def title(self) -> str:
        return f"Stage {self.number}/7 - {self.name}"


def _load_guides() -> dict[str, Guide]:
    """The guides in agent/facilitator/guides.yaml, keyed by gate, in stage order."""
    raw = yaml.safe_load((resources.files(__package__) / "guides.yaml").read_text(encoding="utf-8"))
    return {gate: Guide(gate=gate, **fields) for gate, fields in raw.items()}


GUIDES: dict[str, Guide] = _load_guides()


def questions(gate: str, state: Any) -> list[str]:
    """What the facilitator asks at `gate`, from the computed facts (at most MAX_QUESTIONS)."""
    ask = _ASKERS.get(gate)
    return ask(state)[:MAX_QUESTIONS] if ask else []


def _scope_q(state: Any) -> list[str]:
    s = state.scope
    out = ["Is everyone here comfortable that this review looks at systems and decisions, not at who to fault?"]
    if s is not None and (not s.window_start or not s.window_end):
        out.append("The incident window is not given: when did it start and end (UTC)?")
    if s is not None and s.commander.startswith("[DATA GAP]"):
        out.append("Which role led the response (incident commander)?")
    return out


def _evidence_q(state: Any) -> list[str]:
    inv = state.inventory
    if inv is None:
        return []
    out = [f"Missing: {gap} Who can export it?" for gap in inv.data_gaps]
    bad = [s.path for s in inv.sources if s.malformed]
    if bad:
        out.append(f"{len(bad)} source(s) had malformed lines ({', '.join(bad[:3])}): is a cleaner export available?")
    return out or ["Is anything the responders know missing from the dump (a decision, a dashboard, a call)?"]


def _timeline_q(state: Any) -> list[str]:
    events = state.timeline
    out: list[str] = []
    assumed = [i for i, e in enumerate(events, 1) if e.assumed]
    if assumed:
        out.append(f"Rows {', '.join(map(str, assumed[:5]))} come from a source without a zone (UTC assumed): right?")
    single = [i for i, e in enumerate(events, 1) if e.category in ("trigger", "mitigation") and len(e.evidence) <= 1]
    if single:
        out.append(f"Rows {', '.join(map(str, single[:5]))} (trigger/mitigation) rest on one source: does anyone recall them differently?")
    if not any(e.category == "trigger" for e in events):
        out.append("No trigger row: what changed shortly before the onset?")
    return out or ["Does the order of events match what the responders remember?"]


def _hypotheses_q(state: Any) -> list[str]:
    a = state.analysis
    if a is None:
        return []
    open_ = [i for i, h in enumerate(a.hypotheses, 1) if h.status in ("inconclusive", "likely")]
    out = []
    if len(open_) >= 2:
        out.append(f"Hypotheses {open_[0]} and {open_[1]} compete: what observation would tell them apart?")
    elif open_:
        out.append(f"Hypothesis {open_[0]} is open: what test could refute it?")
    if a.data_gaps:
        out.append(f"Gap that limits the analysis: {a.data_gaps[0]}")
    return out or ["Is there a cause the team suspects that is not listed?"]


def _draft_q(state: Any) -> list[str]:
    r = state.report
    if r is None:
        return []
    out = [f"Validator: [{f.rule}] {f.message}" for f in r.validation.findings[:2]]
    return out or ["Would the team sign this summary as written?"]


def _actions_q(state: Any) -> list[str]:
    r = state.report
    out: list[str] = []
    if r is not None:
        for a in r.action_items:
            if not a.verification.strip() or "[DATA GAP]" in a.verification:
                out.append(f"How will we know {a.id} worked? (verify {a.id} <check>)")
    if getattr(state, "parked", None):
        out.append(f"{len(state.parked)} proposal(s) parked earlier: adopt C<n> to make one an action.")
    return out or ["Does each owner role exist in your org, and is each due date realistic?"]


_ASKERS = {"confirm_scope": _scope_q, "confirm_evidence": _evidence_q, "confirm_timeline": _timeline_q,
           "confirm_hypotheses": _hypotheses_q, "confirm_draft": _draft_q, "confirm_actions": _actions_q}
