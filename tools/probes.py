"""Health checks, readiness/liveness probes and metrics scrapes: requests no user made.

A load balancer polling `/healthz` every few seconds, a kubelet's `kube-probe/1.29` and a
Prometheus scrape of `/metrics` fill request logs with 200s (and, in an outage, 503s). Counted as
requests they dilute an error ratio, or inflate a failure count, with traffic nobody saw; so the
store keeps no HTTP status for them and user-facing request figures never include them.
"""

from __future__ import annotations

import re
from typing import Any

from tools.models import Evidence

# The path's last segment, with or without a prefix (`/api/healthz`, `/v1/health/ready`).
_PROBE_PATH = re.compile(
    r"^/?(?:[\w.-]+/)*(?:healthz?|readyz?|readiness|livez?|liveness|ready|alive|metrics|ping|status/health)"
    r"(?:/(?:ready|live|readiness|liveness|startup))?/?(?:\?.*)?$", re.I)
_PROBE_AGENT = re.compile(r"kube-probe|elb-healthchecker|googlehc|prometheus/|health[- ]?check", re.I)
_PATH_KEYS = ("path", "url", "uri", "route", "endpoint", "request_path", "http.target", "http.route",
              "url.path", "request_uri", "target")
_AGENT_KEYS = ("user_agent", "userAgent", "ua", "http_user_agent", "user-agent", "http.user_agent",
               "user_agent.original", "agent")
# An access-log line: `"GET /healthz HTTP/1.1"` or `GET /readyz 200`.
_TEXT = re.compile(r"\b(?:GET|HEAD|POST)\s+(/\S*)", re.I)

PROBE_DEFINITION = ("health, readiness and liveness probes and metrics scrapes (`/healthz`, `/readyz`, "
                    "`/livez`, `/health`, `/metrics`, `/ping`, kube-probe user agents) excluded")


def _path_only(value: str) -> str:
    v = value.strip()
    m = re.match(r"^[a-z]+://[^/]+(/.*)?$", v, re.I)  # a full URL: keep its path
    if m:
        v = m.group(1) or "/"
    return v


def is_probe(attrs: dict[str, Any], text: str = "") -> bool:
    """Whether the record is a health/readiness/liveness probe or a metrics scrape."""
    for k in _PATH_KEYS:
        v = attrs.get(k)
        if isinstance(v, str) and v and _PROBE_PATH.match(_path_only(v)):
            return True
    for k in _AGENT_KEYS:
        v = attrs.get(k)
        if isinstance(v, str) and _PROBE_AGENT.search(v):
            return True
    if text:
        m = _TEXT.search(text[:400])
        if m and _PROBE_PATH.match(_path_only(m.group(1).strip('"'))):
            return True
        if "kube-probe" in text[:400].lower():
            return True
    return False


def user_status(attrs: dict[str, Any], text: str = "") -> int | None:
    """The record's HTTP status as a user-facing request: none for a probe or scrape. The store's
    status column holds this, so every request aggregate reads it."""
    v = attrs.get("status")
    if type(v) is int:
        code: int | None = v
    elif isinstance(v, str) and v.isdigit() and len(v) == 3:
        code = int(v)
    else:
        return None
    return None if is_probe(attrs, text) else code


def http_status(ev: Evidence) -> int | None:
    """`user_status` of one evidence record."""
    return user_status(ev.attrs, ev.text) if ev.attrs else None
