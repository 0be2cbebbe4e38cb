"""`kubectl get events -o json` output (a v1 List of core/v1 Events)."""

from __future__ import annotations

from evals.render.common import Ctx, iso_s
from evals.scenarios.spec import K8sEvent


def render(ctx: Ctx, events: list[K8sEvent], rel: str = "k8s/events.json") -> None:
    items = []
    for e in sorted(events, key=lambda e: (ctx.t(e.last), e.reason)):
        first, last = ctx.t(e.first), ctx.t(e.last)
        items.append({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{e.object_name}.{ctx.hexid(16)}", "namespace": e.namespace,
                         "uid": ctx.uuid(), "resourceVersion": str(ctx.rng.randrange(10**7, 10**8)),
                         "creationTimestamp": iso_s(first)},
            "involvedObject": {"kind": e.object_kind, "namespace": e.namespace, "name": e.object_name,
                               "uid": ctx.uuid(), "apiVersion": "v1"},
            "reason": e.reason, "message": e.message,
            "source": {"component": e.component, **({"host": e.host} if e.host else {})},
            "firstTimestamp": iso_s(first), "lastTimestamp": iso_s(last), "count": e.count,
            "type": e.type, "eventTime": None, "reportingComponent": e.component,
            "reportingInstance": e.host,
        })
    ctx.write_json(rel, {"apiVersion": "v1", "items": items, "kind": "List",
                         "metadata": {"resourceVersion": ""}})
