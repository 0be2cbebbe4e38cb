"""`kubectl get events -o json` output ({"kind": "List"|"EventList", "items": [...]})."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import parse_ts

_SNIFF_KIND = re.compile(r'"kind"\s*:\s*"(List|EventList|Event)"')
_SNIFF_EVENT = re.compile(r'"involvedObject"\s*:')


class K8sEventsReader:
    name = "k8s_events"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        return bool(_SNIFF_KIND.search(head)) and bool(_SNIFF_EVENT.search(head)) and not common.looks_like_jsonl(head)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        doc, bad = common.load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            items = doc["items"]
        elif isinstance(doc, dict) and doc.get("kind") == "Event":
            items = [doc]
        elif isinstance(doc, list):
            items = doc
        else:
            yield Malformed(source=rel, reason="not a Kubernetes event list")
            return
        rid = common.id_part(rel)
        for i, item in enumerate(items):
            yield self._event(item, i, rel, rid, ctx)

    def _event(self, ev: Any, i: int, rel: str, rid: str, ctx: ReadContext) -> Evidence | Malformed:
        if not isinstance(ev, dict):
            return Malformed(source=rel, locator=f"item {i}", reason="event is not an object")
        meta = common.as_dict(ev.get("metadata"))
        obj = ev.get("involvedObject") or ev.get("regarding") or {}
        if not isinstance(obj, dict):
            obj = {}
        first, last, when = _times(ev, meta, ctx.default_tz)
        if when is None:
            return Malformed(source=rel, locator=f"item {i}", reason="event without any timestamp")
        reason = ev.get("reason")
        etype = ev.get("type")
        kind, name = obj.get("kind"), obj.get("name")
        namespace = obj.get("namespace") or meta.get("namespace")
        count = ev.get("count") or ev.get("deprecatedCount") or (ev.get("series") or {}).get("count")
        message = str(ev.get("message") or ev.get("note") or "")
        text = _text(etype, reason, kind, name, namespace, message, count)
        attrs: dict[str, Any] = {
            "reason": reason, "type": etype, "object_kind": kind, "object_name": name,
            "namespace": namespace, "count": count,
            "first_ts": first[0].isoformat() if first else None,
            "last_ts": last[0].isoformat() if last else None,
        }
        component = common.as_dict(ev.get("source")).get("component") or ev.get("reportingComponent")
        if component:
            attrs["component"] = component
        uid = meta.get("uid")
        return common.make(
            EvidenceKind.K8S_EVENT, f"k8s:{rid}:{uid or i}", rel, f"item {i}", ts=when[0], assumed=when[1],
            service=_service(name, ctx.services), level="warning" if etype == "Warning" else "info",
            text=text.replace("  ", " "), attrs=attrs,
        )


_Parsed = tuple[datetime, bool] | None


def _times(ev: dict[str, Any], meta: dict[str, Any], tz: tzinfo) -> tuple[_Parsed, _Parsed, _Parsed]:
    """(first, last, when): the event happened at its last sighting, else when it was recorded."""
    first = parse_ts(ev.get("firstTimestamp") or ev.get("deprecatedFirstTimestamp"), tz)
    last = parse_ts(ev.get("lastTimestamp") or ev.get("deprecatedLastTimestamp"), tz)
    when = last or parse_ts(ev.get("eventTime"), tz) or first or parse_ts(meta.get("creationTimestamp"), tz)
    return first, last, when


def _text(etype: Any, reason: Any, kind: Any, name: Any, namespace: Any, message: str, count: Any) -> str:
    text = f"{etype or 'Event'} {reason or ''} {str(kind or '').lower()}/{name or '?'}"
    if namespace:
        text += f" ({namespace})"
    text += f": {common.clip(message, 2000)}"
    if count and count != 1:
        text += f" (x{count})"
    return text


def _service(name: Any, services: list[str]) -> str | None:
    """The longest manifest service the object's name starts with, else the name itself."""
    if not isinstance(name, str):
        return None
    return next((s for s in sorted(services, key=len, reverse=True) if name.startswith(s)), name)


READER = K8sEventsReader()
