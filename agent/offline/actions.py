"""Action items: one small set, each tied to a root cause or contributing factor, with an owner
role, a due date and a verification that says how a future incident would show it worked.
"""

from __future__ import annotations

from datetime import date, timedelta

from agent.model import ActionItem, Analysis, Scope
from agent.offline import taxonomy

# Failure-mode specific prevention: (action, verification). {svc} is the affected service.
MODE_ACTIONS: dict[str, tuple[str, str]] = {
    "serving": (
        "Add a pre-rollout load test for {svc} that runs the candidate engine and config at the "
        "recorded peak batch and sequence mix and fails the rollout on OOM or a p99 regression > 20%",
        "A game day that re-applies the triggering change in staging is stopped by the load test before "
        "production; the rollout record shows the failed gate",
    ),
    "rag": (
        "Make the reindex job for {svc} publish a completeness check (documents indexed vs source "
        "count, newest document age) and block the index swap when it fails",
        "Replaying a partial reindex in staging leaves the previous index serving and raises the "
        "completeness alert within 10 minutes",
    ),
    "agentic": (
        "Enforce a per-run step and tool-call budget plus an allow-list of irreversible tools that need "
        "human confirmation in {svc}",
        "A game day with a looping or destructive tool plan is halted by the budget or confirmation "
        "gate, and the halt appears in the agent trace",
    ),
    "training": (
        "Add data-shard and checkpoint integrity checks (checksums, loss-spike guard with automatic "
        "rollback to the last good checkpoint) to the {svc} training pipeline",
        "Injecting a corrupted shard or checkpoint in a staging run triggers the guard and the run "
        "resumes from the last good checkpoint without manual action",
    ),
    "eval": (
        "Add an eval-integrity gate to {svc}: decontamination and metric-definition checks on every "
        "eval set change, with a fixed-seed repeat to measure variance before a result is trusted",
        "Re-running the incident's eval change through the gate flags it before results are published",
    ),
    "safety": (
        "Add the incident's prompts (redacted) to the {svc} red-team and over-refusal regression suite "
        "and run it as a release gate with a published pass threshold",
        "A release candidate that reproduces the incident's behaviour fails the gate; the gate report "
        "lists the regressed prompts",
    ),
    "data": (
        "Add schema and leakage contracts at the {svc} pipeline boundary that fail the job on drift "
        "instead of passing malformed records downstream",
        "Replaying the drifted input in staging fails the contract check and no downstream job consumes it",
    ),
    "infra": (
        "Add the triggering change type to the {svc} change-review checklist with an automated "
        "pre-deploy check for it",
        "A replay of the triggering change in staging is flagged by the pre-deploy check",
    ),
}


def owner_for(scope: Scope, category: str) -> str:
    svc = scope.services[0] if scope.services else "the affected service"
    teams = {
        "serving": "serving platform", "rag": "retrieval", "agentic": "agent platform",
        "training": "training infrastructure", "eval": "evaluation", "safety": "safety",
        "data": "data platform", "infra": "platform",
    }
    return f"{teams.get(category, 'owning')} team tech lead ({svc})"


def plan_actions(a: Analysis, scope: Scope, today: date, light: bool = False) -> list[ActionItem]:
    svc = scope.services[0] if scope.services else "the affected service"
    category = a.failure_modes[0].split(".")[0] if a.failure_modes else "infra"
    items: list[ActionItem] = []

    def add(action: str, owner: str, days: int, verification: str, addresses: list[str], prio: str) -> None:
        items.append(ActionItem(id=f"AI-{len(items) + 1:03d}", action=action, owner=owner,
                                due=today + timedelta(days=days), verification=verification,
                                addresses=addresses, priority=prio))  # type: ignore[arg-type]

    rc = a.root_causes[0] if a.root_causes else None
    act, ver = MODE_ACTIONS.get(category, MODE_ACTIONS["infra"])
    if rc is not None:
        add(act.format(svc=svc), owner_for(scope, category), 30, ver, [rc.id], "P0" if a.severity in ("P0", "P1") else "P1")
    if light:
        return items
    for f in a.contributing_factors:
        text = f.statement.lower()
        if "alert" in text and ("user report" in text or "lagged" in text):
            signal = _first_signal(a)
            add(f"Alert on {signal} with a threshold derived from this incident's baseline and route it "
                "to the owning on-call rotation",
                f"on-call lead ({svc})", 14,
                f"Replaying this incident's {signal} data through the alert rule fires within 5 minutes "
                "of the recorded first anomaly; the next real excursion pages before any user report",
                [f.id], "P0")
        elif "acknowledgement" in text:
            add("Shorten the escalation timeout for the rotation and add a secondary responder",
                f"incident management lead ({svc})", 21,
                "In the next two pages to this rotation, time to acknowledge is under 10 minutes, as "
                "measured from the paging records", [f.id], "P1")
        elif "canary" in text or "pre-production" in text:
            add(f"Require a staged rollout (canary at <= 5% of traffic with automatic rollback on the "
                f"incident's symptom signals) for changes to {svc}",
                f"release engineering lead ({svc})", 30,
                "A deliberately faulty canary in a game day is rolled back automatically before reaching "
                "more than 5% of traffic; the rollout log shows the automatic rollback", [f.id], "P1")
        elif "quality" in text and "monitor" in text:
            add(f"Publish an output-quality series for {svc} (sampled eval score, freshness or refusal "
                "rate as fits) with an alert on a drop beyond its weekly variance",
                f"ML observability lead ({svc})", 30,
                "Replaying this incident's outputs through the quality sampler moves the series past "
                "the alert threshold within one sampling interval", [f.id], "P1")
    if a.data_gaps:
        add("Close the evidence gaps listed in this report in the incident data checklist so the next "
            "review has them (exports named in each [DATA GAP])",
            "postmortem program owner", 45,
            "The next incident dump for this service contains each listed source; the ingest inventory "
            "reports no data gap for them", [a.contributing_factors[0].id if a.contributing_factors else (rc.id if rc else "RC-1")], "P2")
    return items[:6]


def _first_signal(a: Analysis) -> str:
    for m in a.impact.metrics:
        if m.name.endswith(" peak") and m.evidence:
            return f"`{m.name[:-5]}`"
    return "the error-level log rate"


def mode_titles(modes: list[str]) -> list[str]:
    return [taxonomy.MODES[m].title if m in taxonomy.MODES else m for m in modes]
