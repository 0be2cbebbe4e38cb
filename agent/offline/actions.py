"""Action items: one small set, each tied to a root cause or contributing factor, with an owner
role, a due date and a verification that says how a future incident would show it worked.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from agent.model import ActionItem, Analysis, Scope
from agent.offline import taxonomy

# Failure-mode specific prevention: (action, verification). {svc} is the affected service.
MODE_ACTIONS: dict[str, tuple[str, str]] = {
    "serving": (
        "Add a pre-rollout load test for {svc} at the recorded peak batch and sequence mix that fails "
        "the rollout on OOM or a p99 regression > 20%",
        "Re-applying the triggering change in staging fails the load test",
    ),
    "rag": (
        "Make the reindex job for {svc} check completeness (documents indexed vs source count, newest "
        "document age) and block the index swap when it fails",
        "A partial reindex replayed in staging leaves the previous index serving",
    ),
    "agentic": (
        "Enforce a per-run step and tool-call budget plus an allow-list of irreversible tools that need "
        "human confirmation in {svc}",
        "A game day with a looping or destructive tool plan is halted by the budget or the confirmation gate",
    ),
    "training": (
        "Add data-shard and checkpoint integrity checks (checksums, loss-spike guard with automatic "
        "rollback to the last good checkpoint) to the {svc} training pipeline",
        "A game day injecting a corrupted shard in staging trips the guard; the run resumes from the last good checkpoint",
    ),
    "eval": (
        "Add an eval-integrity gate to {svc}: decontamination and metric-definition checks on every "
        "eval set change, with a fixed-seed repeat to measure variance before a result is trusted",
        "The gate flags the incident's eval change when re-run, before results are published",
    ),
    "safety": (
        "Add the incident's prompts (redacted) to the {svc} red-team and over-refusal regression suite "
        "and run it as a release gate with a published pass threshold",
        "A release candidate reproducing the incident's behaviour fails the gate",
    ),
    "data": (
        "Add schema and leakage contracts at the {svc} pipeline boundary that fail the job on drift "
        "instead of passing malformed records downstream",
        "The drifted input replayed in staging fails the contract check",
    ),
    "infra": (
        "Add the triggering change type to the {svc} change-review checklist with an automated "
        "pre-deploy check for it",
        "A replay of the triggering change in staging is flagged by the pre-deploy check",
    ),
}


# Redacted kinds that are personal data, not credentials: nothing to rotate.
PII_KINDS = {"email", "phone", "ipv4", "ipv6", "card_number", "ssn"}
# Barrier states an action must restore.
BROKEN = ("failed", "bypassed", "missing")


def target_of(a: Analysis, scope: Scope) -> str:
    """The component actions are aimed at: where the failure's own records come from (an engine's
    OOM, not the gateway's 5xx), else the first service the manifest names."""
    if a.failing_component is not None:
        return a.failing_component.name
    return scope.services[0] if scope.services else ""


def _unnamed_target(a: Analysis) -> str:
    """When no record names a service: what the top change touched, never a generic "the system"."""
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    return f"the target of change `{top.ref[:12]}`" if top is not None else "the failure path stated in RC-1"


def owner_for(svc: str, category: str) -> str:
    teams = {
        "serving": "serving platform", "rag": "retrieval", "agentic": "agent platform",
        "training": "training infrastructure", "eval": "evaluation", "safety": "safety",
        "data": "data platform", "infra": "platform",
    }
    return f"{teams.get(category, 'owning')} team tech lead" + (f" ({svc})" if svc else "")


def credential_sites(redacted_at: dict[str, list[str]]) -> dict[str, list[str]]:
    """Credential kinds the ingest redacted and the evidence ids holding them (never values)."""
    return {k: ids for k, ids in sorted(redacted_at.items()) if k not in PII_KINDS and ids}


class _Plan:
    def __init__(self, today: date) -> None:
        self.today = today
        self.items: list[ActionItem] = []

    def add(self, action: str, owner: str, days: int, verification: str, addresses: list[str], prio: str) -> None:
        same = next((i for i in self.items if i.action == action), None)
        if same is not None:  # two factors one action fixes: one item addressing both
            same.addresses.extend(x for x in addresses if x not in same.addresses)
            return
        self.items.append(ActionItem(id=f"AI-{len(self.items) + 1:03d}", action=action, owner=owner,
                                     due=self.today + timedelta(days=days), verification=verification,
                                     addresses=addresses, priority=prio))  # type: ignore[arg-type]


def plan_actions(a: Analysis, scope: Scope, today: date, light: bool = False,
                 redacted_at: dict[str, list[str]] | None = None) -> list[ActionItem]:
    svc = target_of(a, scope)
    where = f"`{svc}`" if svc else _unnamed_target(a)
    category = a.failure_modes[0].split(".")[0] if a.failure_modes else "infra"
    plan = _Plan(today)
    rc = a.root_causes[0] if a.root_causes else None
    act, ver = MODE_ACTIONS.get(category, MODE_ACTIONS["infra"])
    if rc is not None:
        plan.add(act.format(svc=where), owner_for(svc, category), 30, ver, [rc.id],
                 "P0" if a.severity in ("P0", "P1") else "P1")
    _rotation(plan, credential_sites(redacted_at or {}))
    if light:
        return plan.items
    _factor_actions(plan, a, svc, where)
    _barrier_actions(plan, a, where)
    items = _within_budget(plan.items, 5)
    if a.data_gaps:  # never ahead of an action on a cause: the last, lowest-priority item
        plan.items = items
        plan.add("Close the evidence gaps listed in this report in the incident data checklist (exports "
                 "named in each [DATA GAP])",
                 "postmortem program owner", 45,
                 "The next incident dump contains each listed source",
                 [a.contributing_factors[0].id if a.contributing_factors else (rc.id if rc else "RC-1")], "P2")
        items = plan.items
    return items


def _within_budget(items: list[ActionItem], most: int) -> list[ActionItem]:
    """At most `most` items, in order; past the budget an item is dropped first when every finding it
    addresses is already addressed by another item, so no cause or factor is left without one."""
    kept = list(items)
    while len(kept) > most:
        def findings(i: ActionItem) -> set[str]:
            return {x for x in i.addresses if not x.startswith("barrier:")}
        spare = next((i for i in reversed(kept) if findings(i) and findings(i) <= set().union(
            *(findings(o) for o in kept if o is not i))), None)
        kept.remove(spare if spare is not None else kept[-1])
    for n, i in enumerate(kept, 1):
        i.id = f"AI-{n:03d}"
    return kept


def _rotation(plan: _Plan, sites: dict[str, list[str]]) -> None:
    """Credentials the redactor found in the evidence are exposed to everyone who read the chat or
    logs: rotate them. Kinds and locations only, never a value."""
    if not sites:
        return
    # One location per kind: the reader needs a record to start from; the JSON report's evidence
    # inventory (`redacted_at`) lists every record.
    where = "; ".join(f"{kind} in `{ids[0]}`" + (f" (+{len(ids) - 1} more)" if len(ids) > 1 else "")
                      for kind, ids in sites.items())
    plan.add(f"Rotate and revoke the credentials the redactor found pasted in the evidence ({where}), then "
             "purge those records from the chat and log stores",
             "security on-call lead", 2,
             "The issuer's audit log shows each old credential rejected; a secret scan of chat and logs finds none",
             [f"redacted {kind}" for kind in sites], "P0")


def _factor_actions(plan: _Plan, a: Analysis, svc: str, where: str) -> None:
    for f in a.contributing_factors:
        text = f.statement.lower()
        if "alert" in text and ("user report" in text or "lagged" in text):
            signal = _first_signal(a, svc)
            plan.add(f"Alert on {signal} for {where} at a threshold from this incident's baseline, paging "
                     "the owning on-call rotation",
                     owner_for(svc, "infra").replace("team tech lead", "on-call lead"), 14,
                     f"Replaying this incident's {signal} data fires the alert within 5 minutes of the first anomaly",
                     [f.id], "P0")
        elif "acknowledgement" in text:
            plan.add(f"Shorten the escalation timeout for the on-call rotation of {where} and add a secondary "
                     "responder", "incident management lead", 21,
                     "Time to acknowledge under 10 minutes on the next two pages", [f.id], "P1")
        elif "canary" in text or "pre-production" in text:
            plan.add(f"Require a staged rollout (canary at <= 5% of traffic with automatic rollback on the "
                     f"incident's symptom signals) for changes to {where}",
                     "release engineering lead", 30,
                     "A faulty canary in a game day is rolled back automatically at <= 5% of traffic", [f.id], "P1")
        elif "quality" in text and "monitor" in text:
            plan.add(f"Publish an output-quality series for {where} (sampled eval score, freshness or refusal "
                     "rate as fits) with an alert on a drop beyond its weekly variance",
                     "ML observability lead", 30,
                     "This incident's outputs replayed through the sampler cross the alert threshold", [f.id], "P1")


def _barrier_actions(plan: _Plan, a: Analysis, where: str) -> None:
    """One action per failed, bypassed or missing barrier no earlier action already restores."""
    for b in a.barriers:
        if b.state not in BROKEN:
            continue
        name = b.name.lower()
        words = re.findall(r"[a-z]{5,}", name)[:2]
        covering = next((i for i in plan.items if any(w in i.action.lower() for w in words)), None)
        if covering is not None:
            # An earlier action already restores this barrier: it addresses the barrier's finding too.
            covering.addresses.extend(x for x in _anchor(a, b.note) if x not in covering.addresses)
            continue
        plan.add(f"Restore the \"{b.name}\" barrier for {where} ({b.state} in this incident) and show its "
                 "state at release approval",
                 "release engineering lead", 30,
                 f"A game day repeating this incident is stopped by \"{b.name}\"",
                 _anchor(a, b.note) + [f"barrier: {b.name}"], "P1")


def _anchor(a: Analysis, note: str) -> list[str]:
    """The finding a barrier's failure is part of: the factor that states its note, else the first
    factor, else the root cause."""
    stating = [f.id for f in a.contributing_factors if note and note in f.statement]
    return stating[:1] or [f.id for f in (a.contributing_factors or a.root_causes)[:1] if f.id]


def _first_signal(a: Analysis, svc: str) -> str:
    """The series to alert on: a peak metric of the failing component first, then any peak metric;
    the error-level log rate when no metric moved."""
    peaks = [m.name[:-5] for m in a.impact.metrics if m.name.endswith(" peak") and m.evidence]
    named = [p for p in peaks if svc and svc.split("-")[0].lower() in p.lower()]
    pick = (named or peaks or [""])[0]
    return f"`{pick}`" if pick.strip() else "the error-level log rate"


def mode_titles(modes: list[str]) -> list[str]:
    return [taxonomy.MODES[m].title if m in taxonomy.MODES else m for m in modes]
