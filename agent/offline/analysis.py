"""Multi-lens analysis: detection, impact, change analysis, failure modes, AI lens, 5 Whys,
barriers, hypotheses, root causes and contributing factors — all computed from evidence.

Statements are composed from computed facts. Where the evidence stops, the text says so with
[DATA GAP] or [ASSUMPTION] instead of filling the hole.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from agent.model import (
    Analysis,
    Barrier,
    Detection,
    Finding,
    Hypothesis,
    Scope,
    TimelineEvent,
    TriggerCandidate,
    WhyStep,
    fmt_value,
)
from agent.offline import changes, declared, detection as det, failure_path, impact as imp, severity, taxonomy
from agent.offline import barriers as bar, gaps
from agent.offline import confidence, mechanism
from agent.offline import ai_factors
from agent.offline import commander
from agent.offline.lexicon import MITIGATION
from agent.offline.timeline import incident_window
from agent.offline.window_facts import WindowFacts, window_facts
from agent.offline.window import metric_excursions as window_metric_excursions
from tools.models import EvidenceKind
from tools.store.reader import EvidenceReader

CUSTOMER_FACING = ("serving", "rag", "agentic", "safety")
# Modes whose cost lands on us (tokens, compute) rather than on users.
INTERNAL_MODES = {"agentic.runaway_loop"}
# Modes where what reached users can hurt them (harmful instructions, phishing), not just annoy.
HARM_MODES = {"safety.jailbreak", "rag.context_poisoning"}


def analyse(store: EvidenceReader, scope: Scope, timeline: list[TimelineEvent],
            facts: WindowFacts | None = None) -> Analysis:
    """The analysis around the incident window and failure-mode scan of `facts`: the ones the
    timeline was built from (computed here when not given)."""
    facts = facts if facts is not None else window_facts(store, scope)
    a = Analysis()
    a.window = facts.window
    a.detection = det.compute_detection(timeline, a.window)
    excursions = window_metric_excursions(store, a.window)
    a.impact = imp.compute_impact(store, a.detection, scope.window_start, excursions, a.window)
    start, end = incident_window(scope, store)
    scan = facts.modes  # the ranking takes its modes, the classification adds the top trigger
    # The same ranking the timeline's trigger row came from.
    win = getattr(a, "window", None)
    unc = float(win.onset_uncertainty_s or 0.0) if win is not None and win.onset is not None else 0.0
    a.suspected_triggers = changes.draft_ranking(store, scope, a.detection.first_anomaly_at, unc, scan.result().modes)
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    a.last_known_good = changes.last_known_good(store, top)
    cls = taxonomy.classify(scan, store, top.evidence[:1] if top else [])
    a.failure_modes = cls.modes
    imp.exposure_impact(a.impact, store, cls.modes, cls.evidence, start, end)  # security/data: who and what, not minutes
    _exposure_onset(a, cls.modes)
    if cls.specialist_hits:
        a.specialists.append(
            "The evidence mentions a possible hardware-level or adversarial-ML fault "
            f"({', '.join(cls.specialist_hits)}). This is beyond what logs and metrics can settle: "
            "bring in a hardware reliability specialist (or an adversarial-ML researcher) to confirm."
        )
    _severity(a, store, timeline, scope.declared_severity)
    seen = a.window.onset if a.window is not None and a.window.onset is not None else a.detection.first_anomaly_at
    a.mechanism = mechanism.build(store, top, a.window, seen, (a.window.end if a.window else None) or end)
    a.ai_lens = ai_factors.build(a, store, start, end)  # reads the mechanism's settings
    barrier_facts = _causes(a, store, timeline, cls)
    a.failing_component = failure_path.failing_component(store, scope, a, cls.evidence, start, end)
    a.commander = commander.from_channel(store)
    _lessons(a, timeline)
    a.detection.data_gaps = gaps.true_detection_gaps(store, a.detection.data_gaps)
    a.data_gaps = _dedupe(a.detection.data_gaps + a.impact.data_gaps
                          + gaps.true_kind_gaps(store, _inventory_gaps(store)))
    a.computed_facts = _computed_facts(a) + barrier_facts + mechanism.computed_facts(a.mechanism)
    return a


# Failure modes where every answer the changed system gives is affected from the moment users
# reach it, while the symptom is only seen later through reports, probes or sparse metrics.
BEHAVIOUR_MODES = {"safety.sycophancy", "safety.over_refusal", "serving.quantization_drift",
                   "rag.stale_index", "rag.embedding_mismatch", "rag.retrieval_quality",
                   "eval.metric_misspecification"}
EXPOSURE_LOOKBACK = timedelta(hours=72)


def _exposure_onset(a: Analysis, modes: list[str]) -> None:
    """For a behaviour regression, impact starts when the top-ranked change reached production,
    not when the first report or metric bucket showed it. Errors (OOMs, 5xx) start at the first
    error, so this applies only when every specific mode is a behaviour mode."""
    specific = [m for m in modes if not m.startswith("infra.")]
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    d = a.detection
    if not specific or any(m not in BEHAVIOUR_MODES for m in specific) or top is None or top.at is None \
            or d.first_anomaly_at is None:
        return
    lead = d.first_anomaly_at - top.at
    if lead <= timedelta(0) or lead > EXPOSURE_LOOKBACK:
        return
    d.data_gaps.append(
        f"[ASSUMPTION] Impact taken to start when `{top.ref[:12]}` reached production "
        f"({top.at:%Y-%m-%d %H:%M:%S} UTC), {lead.total_seconds() / 3600:.1f} h before the first measured "
        "symptom: a behaviour regression affects answers from exposure, the symptom signal lags.")
    d.first_anomaly_at = top.at
    if top.production_evidence:
        d.evidence.append(top.production_evidence)
    d.time_to_detect_s = _span(top.at, d.detected_at)
    d.time_to_mitigate_s = _span(top.at, d.mitigated_at)
    d.time_to_resolve_s = _span(top.at, d.resolved_at)


def _span(a: datetime, b: datetime | None) -> float | None:
    return max((b - a).total_seconds(), 0.0) if b is not None else None


def _dedupe(items: list[str]) -> list[str]:
    out: list[str] = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


def _inventory_gaps(store: EvidenceReader) -> list[str]:
    inv = store.load_inventory()
    return [g if g.startswith("[DATA GAP]") else f"[DATA GAP] {g}" for g in (inv.data_gaps if inv else [])]


def _declared_level(a: Analysis, store: EvidenceReader, manifest_severity: str | None,
                    duration_only: bool) -> None:
    """Responders' declared severity is evidence: the report states it and, lacking a measured
    reason to do otherwise, does not rate the incident below it (a quality incident returns
    HTTP 200 and the measured rule alone reads it as P3). Above it, a measured P1 that rests on
    duration alone yields to the declaration, with that reason stated."""
    top = declared.strongest(declared.declared_levels(store, manifest_severity))
    if top is None:
        return
    cite = "" if top.evidence == "manifest" else f" ({top.evidence})"
    measured = int(a.severity[1])
    if top.level < measured:
        a.severity = f"P{top.level}"  # type: ignore[assignment]
        a.severity_rationale = (f"P{top.level} as declared by responders ({top.how}{cite}); the measured "
                                f"rule alone gives P{measured}, and nothing measured shows the declaration "
                                f"was too high. Measured: {a.severity_rationale}")
    elif top.level > measured and duration_only:
        a.severity = f"P{top.level}"  # type: ignore[assignment]
        a.severity_rationale = (f"P{top.level} as declared by responders ({top.how}{cite}): the measured "
                                f"P{measured} rests only on the duration of a customer-visible degradation; "
                                f"no failure share or urgent page measures how many users it reached. "
                                f"Measured: {a.severity_rationale}")
    else:
        a.severity_rationale += f" Responders declared P{top.level} ({top.how}{cite})."


def _customer_visible(a: Analysis) -> bool:
    """Whether users outside the organisation saw the incident: failed requests, an external user
    report, users reporting one topic as a group, or a customer-facing failure mode with an anomaly."""
    failed = next((m.value for m in a.impact.metrics if m.name.startswith("failed requests")), 0.0)
    # Reports from internal users are impact, but not customer-facing impact.
    user_report = a.detection.detected_by == "user report" and "internal" not in a.detection.detection_detail.lower()
    facing = [m for m in a.failure_modes if m.split(".")[0] in CUSTOMER_FACING and m not in INTERNAL_MODES]
    # Users reporting one topic as a group is customer-visible degradation even with zero errors.
    users_rose = a.window is not None and any(s.family == "user" and s.sustained and s.level is None
                                              for s in a.window.corroborating)
    return failed > 0 or user_report or users_rose or (
        bool(facing) and a.detection.first_anomaly_at is not None)


def _high_urgency(store: EvidenceReader) -> bool:
    return any(
        str(ev.attrs.get("urgency") or "").lower() == "high"
        for ev in store.iter(kinds=[EvidenceKind.PAGE])
    )


HEAVY_MODES = {"eval.contamination", "eval.metric_misspecification"}


def _internal_impact(a: Analysis) -> bool:
    """Cost that lands on us: training or data modes, heavy eval modes, or a peak in a token,
    cost, GPU or model-quality series."""
    cats = {m.split(".")[0] for m in a.failure_modes}
    waste = any(
        m.name.endswith(" peak") and re.search(r"token|cost|gpu|loss|auc|score|accuracy", m.name, re.I)
        for m in a.impact.metrics
    )
    return a.detection.first_anomaly_at is not None and (
        bool(cats & {"training", "data"}) or bool(set(a.failure_modes) & HEAVY_MODES) or waste
    )


def _severity(a: Analysis, store: EvidenceReader, timeline: list[TimelineEvent],
              scope_severity: str | None = None) -> None:
    customer_visible = _customer_visible(a)
    high_urgency = _high_urgency(store)
    internal = _internal_impact(a)
    a.severity, a.severity_rationale = severity.classify_from(
        a.impact, a.detection, customer_visible=customer_visible,
        safety_harm=bool(set(a.failure_modes) & HARM_MODES) and customer_visible, high_urgency=high_urgency,
        internal_impact=internal,
    )
    peak = severity.error_ratio_peak(a.impact)
    # P1 reached only through "customer-visible for 30 min" (no failure share, no urgent page):
    # the rule cannot measure how many users a quality incident reached; responders can.
    duration_only = a.severity == "P1" and (peak is None or peak < 0.10) and not high_urgency
    _declared_level(a, store, scope_severity, duration_only)
    shortfall = severity.evidence_shortfall(store.load_inventory())
    a.severity, a.severity_rationale, a.severity_provisional = severity.make_provisional(
        a.severity, a.severity_rationale, shortfall)
    a.severity_provisional_reason = shortfall or ""
    if a.window is not None:  # the impact minutes above run from this onset: say where it came from
        a.severity_rationale += f" Impact window: {a.window.method}"
    a.severity_rationale += f" Rule: {severity.RULE_TEXT}"
    a.review_type, a.review_rationale = severity.review_type(a.severity, a.severity_provisional)


def _age(a: Analysis) -> str:
    top = a.suspected_triggers[0]
    # The first *measured* symptom: for a behaviour regression the impact start is the exposure
    # itself (see _exposure_onset), which would make this gap read "0s".
    win = getattr(a, "window", None)
    seen = win.onset if win is not None and win.onset is not None else a.detection.first_anomaly_at
    if top.at is None or seen is None:
        return "an unknown time"
    return det.human_duration((seen - top.at).total_seconds())


def _causes(a: Analysis, store: EvidenceReader, timeline: list[TimelineEvent],
            cls: taxonomy.Classification) -> list[dict[str, object]]:
    """Hypotheses, root cause, barriers and factors; returns the computed facts the barrier notes quote."""
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    mode = taxonomy.MODES.get(a.failure_modes[0]) if a.failure_modes else None
    mode_title = mode.title.lower() if mode else "the failure"
    mode_ids = cls.evidence.get(mode.id, [])[:2] if mode else []
    revert = _revert(timeline)
    # Confirmed only when the evidence shows *this* change undone and then recovery, or a
    # reproduction; a rollback row in the timeline (to an older image, to a date) is not that.
    win = a.window
    proof = confidence.ground(store, top, win.onset if win is not None else a.detection.first_anomaly_at,
                              win.end if win is not None else None, a.mechanism) if top is not None else None

    # Hypotheses first: the reasoning is explicit before any cause is stated.
    a.hypotheses.extend(_hypotheses(a, cls, proof))
    a.root_causes.append(_root_cause(a, top, mode_title, mode_ids, proof))

    d = a.detection
    # Precursors are judged against the measured onset, not an exposure start moved earlier.
    onset = a.window.onset if a.window is not None and a.window.onset is not None else d.first_anomaly_at
    precursors, facts = bar.precursors(store, onset)
    found = bar.safeguards(store, onset) + precursors + bar.environments(store)
    rollout_barrier, rollout_factor = (None, None) if bar.covers_rollout(found) else \
        _rollout_control(store, top, mode_title, onset)
    alert_barrier, alert_factor = bar.alerting(d)
    factors = [f for f in (rollout_factor, alert_factor, _ack_factor(d), _quality_factor(a, store, mode_ids))
               if f is not None] + bar.factors(found)
    a.contributing_factors = [f.model_copy(update={"id": f"CF-{i}"}) for i, f in enumerate(factors, 1)] or [
        Finding(
            id="CF-1", status="inconclusive", evidence=[],
            statement="[DATA GAP] The evidence does not show which control let the trigger through; "
                      "the review meeting should establish it.",
        )]
    a.barriers = [b for b in (rollout_barrier, alert_barrier) if b is not None] + found + [_rollback_barrier(revert)]
    a.five_whys = _five_whys(a, mode_title, mode_ids, gaps.testing_statement(store, top, onset))
    return facts


def _revert(timeline: list[TimelineEvent]) -> TimelineEvent | None:
    """The first mitigation row that undoes a change (roll back, revert, downgrade, pin)."""
    return next((m for m in timeline if m.category == "mitigation" and MITIGATION.search(m.event) and
                 any(w in m.event.lower() for w in ("roll", "revert", "downgrad", "pin"))), None)


def _hypotheses(a: Analysis, cls: taxonomy.Classification, proof: confidence.Proof | None) -> list[Hypothesis]:
    """The top three changes as triggers, then the next failure modes as contributors."""
    out: list[Hypothesis] = []
    for i, c in enumerate(a.suspected_triggers[:3]):
        status = "likely" if i == 0 and c.score >= 1.0 else "inconclusive"
        if i > 0 and any("docs/tests" in r for r in c.reasons):
            status = "rejected"
        proven = i == 0 and proof is not None and proof.status == "confirmed"
        if proven:
            status = "confirmed"
        out.append(Hypothesis(
            statement=f"Change `{c.ref[:12]}` ({c.summary}) triggered the incident.",
            status=status, evidence=_dedupe(c.evidence[:2] + (proof.evidence if proven and proof else [])),
        ))
    for m in a.failure_modes[1:3]:
        out.append(Hypothesis(
            statement=f"{taxonomy.MODES[m].title} contributed to the symptoms.",
            status="inconclusive", evidence=cls.evidence.get(m, [])[:2],
        ))
    if not out:
        out.append(Hypothesis(
            statement="The trigger was a change outside the provided history (deploy, config or "
                      "upstream data).", status="inconclusive", assumption=True,
        ))
    return out


def _root_cause(a: Analysis, top: TriggerCandidate | None, mode_title: str, mode_ids: list[str],
                proof: confidence.Proof | None) -> Finding:
    """RC-1: the top-ranked change, stated through its mechanism when one is cited; confirmed only
    when that change was undone and recovery followed, or the failure was reproduced with it."""
    if top is None:
        return Finding(
            id="RC-1", status="inconclusive", evidence=mode_ids,
            statement=(f"[DATA GAP] The symptoms match {mode_title}, but no change in the provided "
                       "history precedes the first anomaly; the trigger is not established. Needed: "
                       "deploy log and config history for the affected services."),
        )
    assert proof is not None  # computed whenever there is a top candidate
    said = f" {proof.basis or proof.to_confirm}" if (proof.basis or proof.to_confirm) else ""
    m = a.mechanism
    if m is not None and m.chain:  # change -> signal -> symptom, each link cited
        return Finding(id="RC-1", status=proof.status, evidence=_dedupe(m.evidence + proof.evidence),
                       statement=f"{m.chain} The first anomaly followed {_age(a)} after it.{said}")
    return Finding(
        id="RC-1", status=proof.status,
        evidence=_dedupe(top.evidence[:1] + mode_ids[:1] + proof.evidence),
        statement=(f"Change `{top.ref[:12]}` (\"{top.summary}\") introduced conditions for "
                   f"{mode_title}; the first anomaly followed {_age(a)} later.{said}"),
    )


def _rollout_control(store: EvidenceReader, top: TriggerCandidate | None,
                     mode_title: str, onset: datetime | None) -> tuple[Barrier | None, Finding | None]:
    """The staged-rollout barrier and the unchecked-change factor (only when a change is ranked)."""
    if top is None:
        return None, None
    canary_ids = [e.id for e in store.match("canary OR staged OR rollout OR shadow", limit=20) if not e.flags][:2]
    if canary_ids:
        barrier = Barrier(name="Staged rollout / canary", state="unknown", evidence=canary_ids,
                          note="Rollout records exist; whether a canary stage ran for this change is not shown.")
    else:
        barrier = Barrier(name="Staged rollout / canary", state="unknown",
                          note="[DATA GAP] No canary or staged-rollout record for the change.")
    tested, tested_ids, gap = gaps.testing_statement(store, top, onset)
    if not gap:
        return barrier, Finding(status="inconclusive", evidence=_dedupe(top.evidence[:1] + tested_ids),
                                statement=(f"The change reached the affected traffic without a check of the "
                                           f"condition that failed ({mode_title}). {tested}"))
    return barrier, Finding(
        status="inconclusive", evidence=top.evidence[:1],
        statement=("The change reached the affected traffic with no recorded pre-production check "
                   f"of the condition that failed ({mode_title}); "
                   "*whether a canary or eval gate ran is a [DATA GAP]*."),
    )


def _ack_factor(d: Detection) -> Finding | None:
    """Acknowledgement lagged: measured from the page firing to its first ack (detection.py),
    and only stated with both records to cite."""
    if d.time_to_acknowledge_s is None or d.time_to_acknowledge_s <= 15 * 60 or len(d.ack_evidence) < 2:
        return None
    return Finding(
        status="confirmed", evidence=d.ack_evidence,
        statement=(f"The page waited {det.human_duration(d.time_to_acknowledge_s)} from firing to its first "
                   "acknowledgement; the escalation policy allowed a long gap before a second responder."),
    )


def _quality_factor(a: Analysis, store: EvidenceReader, mode_ids: list[str]) -> Finding | None:
    """Quality-sensitive modes (RAG, safety, eval) with no quality, freshness or refusal series."""
    if not {m.split(".")[0] for m in a.failure_modes} & {"rag", "safety", "eval"}:
        return None
    if any(q in (e.attrs.get("name") or "").lower()
           for e in store.iter(kinds=[EvidenceKind.METRIC])
           for q in ("score", "quality", "accuracy", "refusal", "freshness", "age")):
        return None
    return Finding(
        status="likely", evidence=mode_ids[:1],
        statement=("Output quality was not monitored: no quality, freshness or refusal-rate series "
                   "exists in the dump, so the degradation was invisible to dashboards."),
    )


def _rollback_barrier(revert: TimelineEvent | None) -> Barrier:
    if revert is not None:
        return Barrier(name="Rollback path", state="held", evidence=revert.evidence[:1],
                       note="A rollback or revert was available and used.")
    return Barrier(name="Rollback path", state="unknown", note="[DATA GAP] No rollback or revert is recorded.")


def _five_whys(a: Analysis, mode_title: str, mode_ids: list[str],
               tested: tuple[str, list[str], bool]) -> list[WhyStep]:
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    d = a.detection
    steps = [
        WhyStep(question="Why were users or jobs affected?",
                answer=f"The system showed {mode_title} starting at the first anomaly.",
                evidence=mode_ids[:2] or d.evidence[:1], gap=not (mode_ids or d.evidence)),
    ]
    if top is not None:
        steps.append(WhyStep(question=f"Why did {mode_title} start then?",
                             answer=f"Change `{top.ref[:12]}` landed {_age(a)} before it (ranked first of "
                                    f"{len(a.suspected_triggers)} candidates).", evidence=top.evidence[:1]))
        steps.append(WhyStep(question="Why did the change reach production unchecked for this condition?",
                             answer=tested[0], evidence=tested[1], gap=tested[2]))
    else:
        steps.append(WhyStep(question=f"Why did {mode_title} start then?",
                             answer="[DATA GAP] No change record precedes the anomaly.", gap=True))
    steps.append(WhyStep(question="Why did it last as long as it did?",
                         answer=f"Detection by {d.detected_by} after {det.human_duration(d.time_to_detect_s)}; "
                                f"mitigation {det.human_duration(d.time_to_mitigate_s)} after onset.",
                         evidence=d.evidence[:2], gap=d.detected_at is None))
    steps.append(WhyStep(question="Why was there no earlier barrier?",
                         answer="[ASSUMPTION] Rollout criteria do not include the failing condition; "
                                "to be confirmed in the review meeting.", gap=True))
    return steps


def _lessons(a: Analysis, timeline: list[TimelineEvent]) -> None:
    d = a.detection
    if d.detected_by in ("automated alert", "canary alert", "page") and (d.time_to_detect_s or 0) <= 10 * 60:
        a.went_well.append(f"Automated detection worked: {d.detected_by} within "
                           f"{det.human_duration(d.time_to_detect_s)} of the first anomaly.")
    if d.time_to_acknowledge_s is not None and d.time_to_acknowledge_s <= 10 * 60:
        a.went_well.append(f"The page was acknowledged within {det.human_duration(d.time_to_acknowledge_s)}.")
    if any(b.name == "Rollback path" and b.state == "held" for b in a.barriers):
        a.went_well.append("A rollback path existed and was used.")
    if any(e.category == "decision" for e in timeline):
        a.went_well.append("Decisions were recorded in the incident channel as they were made, which "
                           "made this timeline possible.")
    if not a.went_well:
        a.went_well.append("[DATA GAP] The evidence shows no clear strength of the response; ask the "
                           "responders in the review meeting.")
    for f in a.contributing_factors:
        a.could_improve.append(f.statement)


def _computed_facts(a: Analysis) -> list[dict[str, object]]:
    facts: list[dict[str, object]] = []
    d = a.detection
    spans = {
        "time_to_detect_s": "detection minus first anomaly",
        "time_to_acknowledge_s": "acknowledgement minus detection",
        "time_to_mitigate_s": "first mitigation minus first anomaly",
        "time_to_resolve_s": "resolution minus first anomaly",
    }
    for name, how in spans.items():
        v = getattr(d, name)
        if v is not None:
            facts.append({"text": det.human_duration(v), "value": v, "derivation": how,
                          "evidence": d.evidence[:1]})
    for m in a.impact.metrics:
        facts.append({"text": f"{fmt_value(m.value)} {m.unit}", "value": m.value, "derivation": m.detail,
                      "evidence": m.evidence})
    for t in a.suspected_triggers:
        for r in t.reasons:
            for num in re.findall(r"\d+(?:\.\d+)? h\b", r):
                facts.append({"text": num, "derivation": f"age of change {t.ref[:12]} at first anomaly"})
    for num in sorted(set(re.findall(r"\d+(?:\.\d+)?(?:%| min)", severity.RULE_TEXT))):
        facts.append({"text": num, "derivation": "threshold of the severity rule"})
    return facts
