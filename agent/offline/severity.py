"""Severity and review depth from measured impact — the rule is printed in every report.

P0: customer-facing total outage (>= 50 % of all requests failing over the impact window when
    request logs give it, else an error ratio peak >= 50 %), or user harm from a safety failure.
P1: error ratio peak >= 10 %, or customer-visible degradation >= 30 min, or a high-urgency page
    that took >= 15 min to mitigate.
P2: measurable degradation (error ratio peak >= 1 %, a latency metric >= 2x baseline), or
    internal-only impact (training or eval compute, a delayed release).
P3: none of the above: no customer impact, short, no high-urgency page.
Review depth: full for P0-P2, light for P3 (hard rule 11).

Missing evidence never lowers the severity: when less than 90% of the dump's text became
evidence, or the dump holds nothing that measures impact (logs, metrics, traces, eval results),
"no impact found" may only mean "impact not readable". The severity is then provisional: a P3
is raised to P2, the reason is stated, and the review is full.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.model import Detection, Impact, ReviewType, Severity
from tools.models import COVERAGE_FLOOR
from tools.models import EvidenceKind, Inventory

# Kinds that can show impact; without any of them an impact-free verdict rests on nothing.
IMPACT_KINDS = (EvidenceKind.LOG, EvidenceKind.K8S_EVENT, EvidenceKind.METRIC, EvidenceKind.TRACE,
                EvidenceKind.EVAL)

RULE_TEXT = (
    "P0 = customer-facing total outage (>= 50% of requests failing over the impact window, or a "
    "peak >= 50% when only a peak is measured) or user harm from a safety failure; "
    "P1 = error ratio peak >= 10%, customer-visible degradation >= 30 min, or a high-urgency page "
    ">= 15 min to mitigate; P2 = error ratio peak >= 1%, a latency metric >= 2x baseline, or "
    "internal-only impact; P3 = none of these. Full review for P0-P2, light review for P3."
)


@dataclass(frozen=True)
class SeverityInputs:
    error_ratio_peak: float | None  # 0..1
    latency_factor: float | None  # peak / baseline of the worst latency metric
    impact_minutes: float | None
    customer_visible: bool
    safety_harm: bool
    high_urgency_page: bool
    internal_impact: bool
    # Share of ALL requests in the impact window that failed (0..1), when request logs give it.
    # A total outage fails most requests over the window, not one bad minute: when known, it is
    # what the P0 error test reads; the one-minute peak then decides P1 at most.
    error_ratio_overall: float | None = None


def classify(inputs: SeverityInputs, ttm_s: float | None) -> tuple[Severity, str]:
    """Severity and a one-line rationale naming the inputs that decided it."""
    facts = _facts(inputs)
    why_p0 = _p0_reason(inputs)
    if why_p0 is not None:
        return "P0", f"P0 because {why_p0} ({facts})."
    if _meets_p1(inputs, ttm_s):
        return "P1", f"P1 because the measured impact meets a P1 threshold ({facts})."
    if _meets_p2(inputs):
        return "P2", f"P2 because the degradation was measurable but below P1 thresholds ({facts})."
    return "P3", f"P3 because no customer impact or high-urgency page was found ({facts})."


def _facts(inputs: SeverityInputs) -> str:
    """The inputs the rule read, as the rationale states them."""
    peak = inputs.error_ratio_peak
    pk = "n/a" if peak is None else f"{100 * peak:.1f}%"
    # No measured duration (a security incident is counted in users and records) is not "0 min".
    dur = "not measured" if inputs.impact_minutes is None else f"{inputs.impact_minutes:.0f} min"
    facts = (f"error ratio peak {pk}, impact {dur}, customer-visible "
             f"{'yes' if inputs.customer_visible else 'no'}, high-urgency page "
             f"{'yes' if inputs.high_urgency_page else 'no'}")
    if inputs.error_ratio_overall is not None:
        facts += f", error ratio over the impact window {100 * inputs.error_ratio_overall:.1f}%"
    return facts


def _p0_reason(inputs: SeverityInputs) -> str | None:
    """Why the incident is a P0 (a customer-facing total outage or safety harm), or None."""
    if not inputs.customer_visible:
        return None
    if inputs.safety_harm:
        return "safety failure reached users"
    overall = inputs.error_ratio_overall
    if overall is not None:
        return "most requests failed over the impact window (>= 50%)" if overall >= 0.5 else None
    peak = inputs.error_ratio_peak
    return "error ratio peak >= 50%" if peak is not None and peak >= 0.5 else None


def _meets_p1(inputs: SeverityInputs, ttm_s: float | None) -> bool:
    peak = inputs.error_ratio_peak
    return (peak is not None and peak >= 0.10) or (inputs.customer_visible and (inputs.impact_minutes or 0.0) >= 30) or (
        inputs.high_urgency_page and ttm_s is not None and ttm_s >= 15 * 60)


def _meets_p2(inputs: SeverityInputs) -> bool:
    peak = inputs.error_ratio_peak
    return (peak is not None and peak >= 0.01) or (inputs.latency_factor or 0) >= 2 or inputs.internal_impact \
        or inputs.customer_visible


def evidence_shortfall(inventory: Inventory | None) -> str | None:
    """Why the evidence cannot carry a confident severity, or None when it can. Marked [DATA GAP]
    because the figures in it describe the dump, not the incident."""
    if inventory is None:
        return None  # a store without an inventory (tests, old stores): nothing to judge by
    cov = inventory.coverage
    if cov is not None and cov < COVERAGE_FLOOR:
        unread = 100 - int(cov * 100)
        return (f"[DATA GAP] {unread}% of the dump's text could not be read as evidence "
                f"(coverage {int(cov * 100)}%, below {COVERAGE_FLOOR:.0%})")
    if not any(inventory.kinds.get(k.value) for k in IMPACT_KINDS):
        return "[DATA GAP] the dump holds no logs, metrics, traces or eval results to measure impact from"
    return None


def make_provisional(severity: Severity, rationale: str, shortfall: str | None) -> tuple[Severity, str, bool]:
    """(severity, rationale, provisional): with a shortfall, a P3 becomes P2 and the rationale
    says the verdict is provisional and why; a measured P0-P2 stands, also marked provisional."""
    if shortfall is None:
        return severity, rationale, False
    raised = "P2" if severity == "P3" else severity
    note = (f"{raised} (provisional: {shortfall}" +
            ("; the readable evidence alone would give P3, which missing evidence cannot justify)"
             if raised != severity else ")"))
    return raised, f"{note}. By the readable evidence alone: {rationale}", True


def review_type(severity: Severity, provisional: bool = False) -> tuple[ReviewType, str]:
    if provisional:
        return "full", (f"Full postmortem: the severity ({severity}) is provisional because evidence is "
                        "missing, and a lighter review cannot rest on evidence nobody could read.")
    if severity == "P3":
        return "light", (
            "Light review: the incident is minor (P3) — no customer impact, short, no high-urgency "
            "page. A full postmortem would cost more than it teaches; the light form keeps the "
            "timeline, the cause and one or two verifiable actions."
        )
    return "full", f"Full postmortem: {severity} incidents always get the full review."


def error_ratio_peak(impact: Impact) -> float | None:
    best = None
    for m in impact.metrics:
        name = m.name.lower()
        v = None
        if m.unit == "%" and "peak" in name and "error" in name:
            v = m.value / 100
        elif "peak" in name and "error" in name and ("ratio" in name or "rate" in name) and m.unit in ("ratio", "value"):
            v = m.value if m.value <= 1 else None
        if v is not None:
            best = v if best is None else max(best, v)
    return best


def latency_factor(impact: Impact) -> float | None:
    worst = None
    for m in impact.metrics:
        if "latency" in m.name.lower() and "baseline mean" in m.detail:
            try:
                base = float(m.detail.split("baseline mean ")[1].split()[0])
            except (IndexError, ValueError):
                continue
            if base > 0:
                f = m.value / base
                worst = f if worst is None else max(worst, f)
    return worst


def classify_from(impact: Impact, detection: Detection, *, customer_visible: bool, safety_harm: bool,
                  high_urgency: bool, internal_impact: bool) -> tuple[Severity, str]:
    minutes = next((m.value for m in impact.metrics if m.name == "impact duration"), None)
    overall = next((m.value / 100 for m in impact.metrics
                    if m.name == "error ratio over impact window" and m.unit == "%"), None)
    inputs = SeverityInputs(
        error_ratio_overall=overall,
        error_ratio_peak=error_ratio_peak(impact), latency_factor=latency_factor(impact),
        impact_minutes=minutes, customer_visible=customer_visible, safety_harm=safety_harm,
        high_urgency_page=high_urgency, internal_impact=internal_impact,
    )
    return classify(inputs, detection.time_to_mitigate_s)
