"""Alertmanager webhook payloads (version "4"): one object, a JSON array of them, or JSON Lines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import parse_ts

# Alertmanager writes Go's zero time for "not set".
_UNSET_PREFIX = "0001-01-01"
_SNIFF_ALERTS = re.compile(r'"alerts"\s*:\s*\[')
_SNIFF_AM = re.compile(r'"(startsAt|groupKey|receiver|fingerprint)"\s*:')


def _when(value: Any, ctx: ReadContext) -> tuple[Any, bool] | None:
    if not value or str(value).startswith(_UNSET_PREFIX):
        return None
    return parse_ts(value, ctx.default_tz)


class AlertmanagerReader:
    name = "alertmanager"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        if not (_SNIFF_ALERTS.search(head) and len(_SNIFF_AM.findall(head[:16384])) >= 2):
            return False
        objs = common.json_lines_objects(head, 2)
        # JSON Lines of payloads: each line must itself be a payload (not, say, a trace quoting one).
        return len(objs) < 2 or all("alerts" in o for o in objs)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        stripped = ""
        with open(path, "rb") as f:
            stripped = f.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        is_lines = False
        if stripped.startswith("{"):
            first = stripped.split("\n", 1)[0]
            try:
                common.loads_bounded(first)
                is_lines = True  # a complete object on the first line: JSON Lines
            except json.JSONDecodeError:
                # A first line nested too deep is one bad line of a JSON Lines file: read as
                # lines, it costs that line; read as one document, it would cost every alert.
                is_lines = common.too_deep(first)
        if is_lines:
            for item in common.iter_json_lines(path, rel, ctx):
                if isinstance(item, Malformed):
                    yield item
                    continue
                lineno, payload = item
                yield from self._payload(payload, lineno - 1, rel, ctx)
            return
        doc, bad = common.load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        payloads = doc if isinstance(doc, list) else [doc]
        for i, payload in enumerate(payloads):
            yield from self._payload(payload, i, rel, ctx)

    def _payload(self, payload: Any, pi: int, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
            yield Malformed(source=rel, locator=f"payload {pi}", reason="not an Alertmanager payload (no alerts list)")
            return
        common_labels = common.as_dict(payload.get("commonLabels"))
        for ai, alert in enumerate(payload["alerts"]):
            yield self._alert(alert, payload, common_labels, pi, ai, rel, ctx)

    def _alert(self, alert: Any, payload: dict[str, Any], common_labels: dict[str, Any], pi: int, ai: int, rel: str,
               ctx: ReadContext) -> Evidence | Malformed:
        loc = f"payload {pi} alert {ai}"
        if not isinstance(alert, dict):
            return Malformed(source=rel, locator=loc, reason="alert is not an object")
        labels = common.as_dict(alert.get("labels"))
        labels = {**common_labels, **labels}
        ann = common.as_dict(alert.get("annotations"))
        status = str(alert.get("status") or payload.get("status") or "firing")
        starts = _when(alert.get("startsAt"), ctx)
        ends = _when(alert.get("endsAt"), ctx)
        # A resolved alert happened when it ended; a firing one when it started.
        when = (ends or starts) if status == "resolved" else (starts or ends)
        if when is None:
            return Malformed(source=rel, locator=loc, reason="alert without a valid startsAt/endsAt")
        name = str(labels.get("alertname") or "alert")
        attrs: dict[str, Any] = {
            "alertname": name, "status": status, "labels": labels, "annotations": ann,
            "starts_at": starts[0].isoformat() if starts else None,
            "ends_at": ends[0].isoformat() if ends else None,
            "receiver": payload.get("receiver"),
        }
        if alert.get("fingerprint"):
            attrs["fingerprint"] = alert["fingerprint"]
        if alert.get("generatorURL"):
            attrs["generator_url"] = alert["generatorURL"]
        level = "info" if status == "resolved" else (common.norm_level(labels.get("severity")) or "warning")
        service = labels.get("service") or labels.get("job") or labels.get("app")
        return common.make(
            EvidenceKind.ALERT, f"alert:{common.id_part(rel)}:{pi}:{ai}", rel, loc,
            ts=when[0], assumed=when[1], service=str(service) if service else None,
            level=level, text=common.clip(_text(status, name, labels, ann), 4000), attrs=attrs,
        )


def _text(status: str, name: str, labels: dict[str, Any], ann: dict[str, Any]) -> str:
    """`[FIRING] name: summary {label=value, ...} — description`, each part only when present."""
    summary = ann.get("summary") or ann.get("description") or ann.get("message") or ""
    shown = {k: v for k, v in labels.items() if k != "alertname"}
    text = f"[{status.upper()}] {name}: {summary}".rstrip(": ")
    if shown:
        text += " {" + ", ".join(f"{k}={v}" for k, v in shown.items()) + "}"
    desc = ann.get("description")
    if desc and desc != summary:
        text += f" — {desc}"
    return text


READER = AlertmanagerReader()
