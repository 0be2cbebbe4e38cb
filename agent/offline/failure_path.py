"""Which component the failure lives in: the service whose records carry the failure mode's
errors (an inference engine's OOM), not the one that reported its consequence (a gateway's 5xx).

Sources in order of strength: the mechanism chain's error link, the failure mode's own error
records, the first error template that is new in the window, the service with the most error
records in the window, the service of the first anomaly's record. Access lines are never used:
they show where a failure surfaced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from agent.model import Analysis, Scope
from agent.model.component import FailingComponent
from agent.offline import templates
from agent.offline.timeline import baseline_cut
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

# Kinds whose records are written by the service that failed (chat and notes name no service).
_OWN_RECORDS = {EvidenceKind.LOG, EvidenceKind.TRACE, EvidenceKind.K8S_EVENT}


def _own(ev: Evidence | None) -> bool:
    """A record the failing service wrote itself, with a service named and no instruction flag."""
    return (ev is not None and bool(ev.service) and ev.kind in _OWN_RECORDS and not ev.flags
            and not templates.is_access_line(ev))


def _from_ids(store: EvidenceReader, ids: Iterable[str], basis: str) -> FailingComponent | None:
    for ev in store.get_many(list(ids)):
        if _own(ev):
            return FailingComponent(name=str(ev.service), basis=basis, evidence=[ev.id])
    return None


def _from_mechanism(store: EvidenceReader, a: Analysis) -> FailingComponent | None:
    mech = getattr(a, "mechanism", None)  # published by agent/offline/mechanism.py when it ran
    if mech is None:
        return None
    ids = [i for link in mech.links if link.signal_kind == "error" for i in link.evidence]
    return _from_ids(store, ids, "service of the error record in the mechanism chain")


def _from_new_template(store: EvidenceReader, scope: Scope, start: datetime | None,
                       end: datetime | None) -> FailingComponent | None:
    cut = baseline_cut(store, scope)
    if cut is None:
        return None
    base = store.errors(start=start, end=cut, limit=20000, include_warnings=True)
    window = store.errors(start=cut, end=end, limit=20000)
    for t in templates.new_since(base, window):
        if _own(t.first):
            return FailingComponent(name=str(t.first.service), evidence=[t.first.id],
                                    basis="service of the first error template not seen before the window")
    return None


def _from_error_counts(store: EvidenceReader, start: datetime | None,
                       end: datetime | None) -> FailingComponent | None:
    errors = [e for e in store.errors(start=start, end=end, limit=20000) if _own(e)]
    if not errors:
        return None
    counts = Counter(str(e.service) for e in errors)
    name, n = counts.most_common(1)[0]
    first = next(e for e in errors if e.service == name)
    return FailingComponent(name=name, evidence=[first.id],
                            basis=f"service with the most error records in the window ({n})")


def _from_onset(store: EvidenceReader, a: Analysis) -> FailingComponent | None:
    """Last resort when no error record names a service (a quality regression seen only in
    metrics): the service of the record that showed the first anomaly, any kind but chat or notes."""
    for ev in store.get_many(list(a.detection.evidence)):
        if ev is not None and ev.service and not ev.flags and ev.kind in (_OWN_RECORDS | {EvidenceKind.METRIC}):
            return FailingComponent(name=str(ev.service), evidence=[ev.id],
                                    basis="service of the record that showed the first anomaly")
    return None


def failing_component(store: EvidenceReader, scope: Scope, a: Analysis, mode_evidence: dict[str, list[str]],
                      start: datetime | None, end: datetime | None) -> FailingComponent | None:
    """The component actions should target, or None when no record names one."""
    found = _from_mechanism(store, a)
    for mode in a.failure_modes:
        if found is not None:
            break
        found = _from_ids(store, mode_evidence.get(mode, []), f"service of the `{mode}` error records")
    return (found or _from_new_template(store, scope, start, end) or _from_error_counts(store, start, end)
            or _from_onset(store, a))
