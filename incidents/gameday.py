"""Game days from incidents: plan a staging scenario from a stored incident, then grade the game
day's own evidence against it.

A plan says what to inject (the incident's failure modes through its family's injection, the way
its trigger kind reached production), how fast detection must be (the alert an action promised,
else the incident's own time to detect as the bar to beat) and what counts as success (the
verification methods of the incident's actions). Scoring ingests the game day's dump with the
project's ingest and checks each criterion the evidence can decide: an alert fired after the
injection started, it fired within the expected time, a rollback or canary stop shows in deploy or
chat records. Each verdict cites the record that decided it; a criterion the evidence cannot decide
is "not checkable", never a pass.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Literal
from urllib.parse import unquote

from pydantic import BaseModel, Field

from agent.offline.detection import human_duration
from agent.vocabulary import vocabulary
from incidents.families import family_of
from incidents.models import Incident
from tools.models import Evidence, EvidenceKind, Inventory
from tools.store.reader import EvidenceReader

SCHEMA_VERSION = 1
CriterionKind = Literal["alert_fires", "detected_within", "rollback_seen", "manual"]
Verdict = Literal["passed", "failed", "not_checkable"]

# How a trigger of each kind is reproduced in staging (the change model's kinds, agent/offline/change_model.py).
TRIGGER_INJECT: dict[str, str] = {
    "commit": "deploy the triggering commit to staging through the normal pipeline",
    "deploy": "repeat the triggering deploy in staging",
    "rollout": "repeat the triggering rollout in staging, canary stage included",
    "sync": "sync the triggering revision to the staging cluster",
    "flag": "flip the triggering feature flag in the staging environment",
    "config": "apply the triggering config change in staging",
    "prompt": "ship the triggering prompt version to staging",
    "model": "serve the triggering model version in staging",
    "data_job": "run the triggering data job against staging data",
    "infra": "apply the triggering infrastructure change in staging",
}

_CHANGES = vocabulary("changes")  # rollback and proposal wording, shared with agent/offline/change_model.py
# An action that promises an alert or page; its verification (or text) may state the time.
_ALERTING = re.compile(r"\b(alert\w*|pag(?:e|es|ed|ing))\b", re.I)
_PROMISED_TIME = re.compile(r"\b(?:within|for|under|in less than|in under)\s+(\d+(?:\.\d+)?)\s*"
                            r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b", re.I)
_UNIT_S = {"s": 1, "m": 60, "h": 3600}
# Verification about how people responded (acknowledgement, escalation) is not a game-day signal.
_NOT_GRADED = re.compile(r"\backnowledg\w*|\bescalat\w*", re.I)
_BACKTICKED = re.compile(r"`([^`]+)`")
# A rollback that happened (not "should we roll back?", not "decision: roll back") as responders and
# deploy tooling write it. A CHANGE record is an executed change, so the changes vocabulary's `rollback` suffices there.
_ROLLBACK_DONE = re.compile(r"\brolled[ -]?back\b|\brolling[ -]?back\b|\breverted\b|"
                            r"\b(?:rollback|roll-back|revert)\b.{0,60}\b(?:started|starting|completed?|done|"
                            r"succeeded|finished|in progress|applied|triggered)\b", re.I)
_CANARY_STOP = re.compile(r"\bcanary\b.{0,60}\b(stopped|halted|aborted|paused|failed|rolled back)\b|"
                          r"\b(stopped|halted|aborted|paused)\b.{0,40}\bcanary\b|\bstopped at \d+\s*%", re.I)
_DEPLOY_WORDS = re.compile(r"\b(deploy\w*|rollout|release|helm|argo\w*|flux|canary|sync)\b", re.I)
ALERT_SOURCES = ("alertmanager", "pagerduty")


class Injection(BaseModel):
    failure_mode: str
    family: str
    what: str  # the family's injection
    trigger: str  # how the incident's trigger kind is reproduced, or that it is unknown


class ExpectedDetection(BaseModel):
    within_s: float | None = None
    basis: str  # where within_s came from: an action's promise, or the incident's own TTD
    alert_terms: list[str] = Field(default_factory=list)  # an alert counts if it names one (none: any alert)


class Criterion(BaseModel):
    id: str
    kind: CriterionKind
    text: str
    source: str  # "AI-003 verification", "expected detection"
    alert_terms: list[str] = Field(default_factory=list)
    within_s: float | None = None


class Scenario(BaseModel):
    schema_version: int = SCHEMA_VERSION
    incident_id: int
    incident_title: str
    incident_date: date | None = None
    environment: str = "staging"
    # Set by the game-day team when the injection starts; scoring falls back to the dump's first record.
    injection_start: datetime | None = None
    inject: list[Injection]
    expected_detection: ExpectedDetection
    success_criteria: list[Criterion]


# ----------------------------------------------------------------------------- plan

def promised_seconds(text: str) -> float | None:
    """A detection time an action states ("fires within 5 minutes", "for 10 minutes")."""
    m = _PROMISED_TIME.search(text)
    if not m:
        return None
    return float(m.group(1)) * _UNIT_S[m.group(2)[0].lower()]


def criterion_kind(verification: str) -> CriterionKind:
    """Which check a verification method asks for; `manual` when the evidence cannot decide it."""
    if _NOT_GRADED.search(verification):
        return "manual"
    if _CHANGES.rollback.search(verification) or _CANARY_STOP.search(verification):
        return "rollback_seen"
    if _ALERTING.search(verification) or re.search(r"\bfire[sd]?\b", verification, re.I):
        return "alert_fires"
    return "manual"


def _terms(text: str) -> list[str]:
    """Backticked names in an action (a metric or alert name), each once, in order."""
    return list(dict.fromkeys(t.strip() for t in _BACKTICKED.findall(text) if t.strip()))


def _expected(inc: Incident) -> ExpectedDetection:
    for a in sorted(inc.actions, key=lambda a: a.action_key):
        if not _ALERTING.search(a.action):
            continue
        terms = _terms(a.action)
        seconds = promised_seconds(a.verification or "") or promised_seconds(a.action)
        if seconds is not None:
            return ExpectedDetection(within_s=seconds, alert_terms=terms,
                                     basis=f"{a.action_key} promises an alert within {human_duration(seconds)}")
        if inc.ttd_s is not None:
            return ExpectedDetection(within_s=inc.ttd_s, alert_terms=terms,
                                     basis=f"{a.action_key} promises an alert but states no time; the "
                                           f"incident's own time to detect ({human_duration(inc.ttd_s)}) is the bar to beat")
        return ExpectedDetection(alert_terms=terms, basis=f"{a.action_key} promises an alert but states no "
                                                          "time, and the incident has no time to detect")
    if inc.ttd_s is not None:
        return ExpectedDetection(within_s=inc.ttd_s,
                                 basis=f"no action promises an alert; the incident's own time to detect "
                                       f"({human_duration(inc.ttd_s)}) is the bar to beat")
    return ExpectedDetection(basis="no action promises an alert and the incident has no time to detect")


def _injections(inc: Incident) -> list[Injection]:
    kind = (inc.trigger_kind or "").strip()
    how = TRIGGER_INJECT.get(kind.lower())
    if how and inc.trigger_ref:
        trigger = f"{how} ({kind} {inc.trigger_ref})"
    elif how:
        trigger = how
    elif kind:
        trigger = f"reproduce the incident's trigger ({kind}{' ' + inc.trigger_ref if inc.trigger_ref else ''}) in staging"
    else:
        trigger = "the incident records no trigger kind: choose the change to reproduce before the game day"
    modes = sorted(inc.tag_values("failure_mode")) or ["unknown"]
    return [Injection(failure_mode=m, family=family_of(m).name, what=family_of(m).inject, trigger=trigger)
            for m in modes]


def plan(inc: Incident) -> Scenario:
    """The game-day scenario of one incident (its tags and actions loaded)."""
    expected = _expected(inc)
    criteria: list[Criterion] = []
    for a in sorted(inc.actions, key=lambda a: a.action_key):
        if not (a.verification or "").strip():
            continue
        kind = criterion_kind(a.verification)
        criteria.append(Criterion(id=f"C-{len(criteria) + 1}", kind=kind, text=a.verification,
                                  source=f"{a.action_key} verification",
                                  alert_terms=_terms(f"{a.action} {a.verification}")
                                  if kind == "alert_fires" else []))
    criteria.append(Criterion(id=f"C-{len(criteria) + 1}", kind="detected_within",
                              text="an alert fires within the expected detection time of the injection start",
                              source="expected detection", alert_terms=expected.alert_terms,
                              within_s=expected.within_s))
    return Scenario(incident_id=inc.id, incident_title=inc.title, incident_date=inc.incident_date,
                    inject=_injections(inc), expected_detection=expected, success_criteria=criteria)


def scenario_yaml(s: Scenario) -> str:
    import yaml

    head = (f"# Game-day scenario for incident #{s.incident_id} (postmortem gameday plan).\n"
            "# Set injection_start (ISO 8601, UTC) when the injection begins; edit alert_terms to the\n"
            "# real alert names. Score with: postmortem gameday score THIS_FILE DUMP\n")
    return head + yaml.safe_dump(s.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)


class ScenarioProblem(ValueError):
    """A scenario file that cannot be read; the message says what to fix."""


def load_scenario(text: str) -> Scenario:
    import yaml
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioProblem(f"not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ScenarioProblem("not a scenario: expected a mapping; write one with `postmortem gameday plan`")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ScenarioProblem(f"invalid field {where}: {first['msg']}") from None


# ----------------------------------------------------------------------------- score

class CriterionResult(BaseModel):
    id: str
    kind: CriterionKind
    text: str
    source: str
    verdict: Verdict
    evidence: list[str] = Field(default_factory=list)
    reason: str


class Score(BaseModel):
    incident_id: int
    injection_start: datetime | None
    start_basis: str  # "scenario" or the evidence id of the dump's first dated record
    results: list[CriterionResult]

    def count(self, verdict: Verdict) -> int:
        return sum(r.verdict == verdict for r in self.results)


def _names_term(ev: Evidence, terms: list[str]) -> bool:
    if not terms:
        return True
    hay = unquote(f"{ev.text} {ev.attrs.get('alertname', '')} {ev.attrs.get('labels', '')} "
                  f"{ev.attrs.get('annotations', '')} {ev.attrs.get('generator_url', '')}").lower()
    return any(t.lower() in hay for t in terms)


def _is_firing(ev: Evidence) -> bool:
    if ev.kind is EvidenceKind.ALERT:
        return str(ev.attrs.get("status", "firing")) == "firing"
    # A PagerDuty incident record, or its trigger log entry, is the page going out.
    return "entry_type" not in ev.attrs or ev.attrs.get("entry_type") == "trigger"


class _Evidence:
    """What the checks ask of the ingested dump, each question answered once."""

    def __init__(self, store: EvidenceReader, inventory: Inventory, start: datetime | None) -> None:
        self.store, self.start = store, start
        self.has_alert_source = any(s.kind in ALERT_SOURCES for s in inventory.sources)
        self.alerts = [ev for ev in store.iter(kinds=[EvidenceKind.ALERT, EvidenceKind.PAGE], start=start,
                                               dated_only=True) if _is_firing(ev)] if start else []
        self.has_change_or_chat = store.count(kinds=[EvidenceKind.CHANGE, EvidenceKind.CHAT]) > 0

    def first_alert(self, terms: list[str]) -> Evidence | None:
        return next((ev for ev in self.alerts if _names_term(ev, terms)), None)

    def rollback(self) -> Evidence | None:
        kinds = [EvidenceKind.CHANGE, EvidenceKind.CHAT, EvidenceKind.LOG]
        for ev in self.store.iter(kinds=kinds, start=self.start, dated_only=True):
            if ev.flags or _CHANGES.proposal.search(ev.text):
                continue  # instruction-like text, or a question/proposal, shows no rollback
            if ev.kind is EvidenceKind.LOG and not _DEPLOY_WORDS.search(ev.text):
                continue  # only deploy tooling's log lines speak for a rollout
            done = _CHANGES.rollback if ev.kind is EvidenceKind.CHANGE else _ROLLBACK_DONE
            if done.search(ev.text) or _CANARY_STOP.search(ev.text):
                return ev
        return None


def _check(c: Criterion, e: _Evidence) -> CriterionResult:
    def res(verdict: Verdict, reason: str, evidence: list[str] | None = None) -> CriterionResult:
        return CriterionResult(id=c.id, kind=c.kind, text=c.text, source=c.source, verdict=verdict,
                               evidence=evidence or [], reason=reason)

    if c.kind == "manual":
        return res("not_checkable", "the dump's records cannot decide this; check it by hand")
    if c.kind in ("alert_fires", "detected_within"):
        if e.start is None:
            return res("not_checkable", "no injection start: set injection_start in the scenario (the dump has no dated record)")
        if not e.has_alert_source:
            return res("not_checkable", "the dump has no Alertmanager or PagerDuty export; add the game "
                                        "day's alert records to grade this")
        terms = f" naming {', '.join(c.alert_terms)}" if c.alert_terms else ""
        ev = e.first_alert(c.alert_terms)
        if ev is None or ev.ts is None:
            return res("failed", f"no alert or page{terms} fired after the injection start")
        delay = (ev.ts - e.start).total_seconds()
        if c.kind == "alert_fires":
            return res("passed", f"alert fired {human_duration(delay)} after the injection start", [ev.id])
        if c.within_s is None:
            return res("not_checkable", f"an alert fired {human_duration(delay)} after the start, but the scenario "
                                        "has no expected detection time", [ev.id])
        ok = delay <= c.within_s
        return res("passed" if ok else "failed",
                   f"first alert {human_duration(delay)} after the injection start; expected within "
                   f"{human_duration(c.within_s)}", [ev.id])
    ev = e.rollback()
    if ev is not None:
        return res("passed", "rollback or canary stop recorded", [ev.id])
    if not e.has_change_or_chat:
        return res("not_checkable", "the dump has no deploy/change or chat records; add them to grade this")
    return res("failed", "no rollback or canary stop in deploy, change or chat records after the injection start")


def first_activity(store: EvidenceReader) -> Evidence | None:
    """The dump's first dated record that is not repository history or the manifest: a game-day
    dump often carries the repo, whose commits predate the injection by weeks."""
    skip = (EvidenceKind.COMMIT, EvidenceKind.MANIFEST)
    return next((ev for ev in store.iter(dated_only=True) if ev.kind not in skip), None)


def score(scenario: Scenario, store: EvidenceReader, inventory: Inventory) -> Score:
    """Grade each criterion of `scenario` against an ingested game-day dump."""
    start, basis = scenario.injection_start, "scenario"
    if start is None:
        first = first_activity(store)
        start, basis = (first.ts, first.id) if first is not None else (None, "none")
    elif start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)  # the scenario file documents UTC
    ev = _Evidence(store, inventory, start)
    return Score(incident_id=scenario.incident_id, injection_start=start, start_basis=basis,
                 results=[_check(c, ev) for c in scenario.success_criteria])
