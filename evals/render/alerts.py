"""Alertmanager webhook payloads (version "4"): one file when an alert fires, one when it resolves."""

from __future__ import annotations

import hashlib
import urllib.parse

from evals.render.common import Ctx, iso_s
from evals.scenarios.spec import Alert

ZERO = "0001-01-01T00:00:00Z"


def render(ctx: Ctx, alerts: list[Alert]) -> list[str]:
    files: list[str] = []
    for a in sorted(alerts, key=lambda a: ctx.t(a.starts)):
        labels = {"alertname": a.alertname, "job": a.job, "namespace": a.namespace,
                  "service": a.service, "severity": a.severity}
        fp = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
        ann = {"summary": a.summary, "description": a.description,
               "runbook_url": f"https://runbooks.example-ml.dev/{a.alertname.lower()}"}
        expr = urllib.parse.quote(f'ALERTS{{alertname="{a.alertname}"}}')
        states = [("firing", a.starts)] + ([("resolved", a.ends)] if a.ends else [])
        for status, at in states:
            alert = {"status": status, "labels": labels, "annotations": ann,
                     "startsAt": iso_s(ctx.t(a.starts)),
                     "endsAt": iso_s(ctx.t(a.ends)) if status == "resolved" and a.ends else ZERO,
                     "generatorURL": f"http://prometheus.{a.namespace}.svc:9090/graph?g0.expr={expr}&g0.tab=1",
                     "fingerprint": fp}
            payload = {"receiver": a.receiver, "status": status, "alerts": [alert],
                       "groupLabels": {"alertname": a.alertname}, "commonLabels": labels,
                       "commonAnnotations": ann, "externalURL": "http://alertmanager.monitoring.svc:9093",
                       "version": "4", "groupKey": f'{{}}:{{alertname="{a.alertname}"}}',
                       "truncatedAlerts": 0}
            rel = f"alertmanager/{ctx.t(at).strftime('%H%M%S')}-{a.alertname}-{status}.json"
            ctx.write_json(rel, payload)
            files.append(rel)
    return files
