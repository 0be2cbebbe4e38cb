"""Security and data incidents measured in who and what was exposed: users, records, requests.

Minutes of downtime say nothing about a data exfiltration or an injected instruction served to
users (the service stayed up). The affected records are those in the window that show the
exposure: records matching the classified security mode, records the ingest flagged as
instruction-like, and records that repeat an indicator (a URL) found in those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from agent.offline import taxonomy
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

# Failure modes whose harm is exposure, not unavailability.
SECURITY_MODES = {"rag.context_poisoning", "agentic.destructive_tool_call"}
EXPOSURE = re.compile(
    r"exfiltrat\w*|data (?:leak\w*|breach\w*|exposure)|leak(?:ed|ing)? (?:customer|user|personal|pii|data|"
    r"records?|credentials?)|pii (?:exposure|leak\w*|exposed)|exposed (?:customer|user|personal) (?:data|records?|"
    r"information)|prompt injection|injected (?:instruction|content|prompt)", re.IGNORECASE)
_EXPOSURE_FTS = "exfiltrat* OR leak* OR breach* OR pii OR exposed OR exposure OR injection OR injected"
# URLs as written or defanged (hxxps://host[.]tld), the usual indicator that travels with injected content.
_URL = re.compile(r"\bh(?:tt|xx)ps?://[^\s\"'<>)\]]+(?:\[\.\][^\s\"'<>)\]]+)*", re.IGNORECASE)
_USER_KEYS = ("user_id", "userId", "user", "uid", "customer_id", "account_id", "tenant_id", "tenant")
_REQUEST_KEYS = ("request_id", "requestId", "req_id", "x-request-id", "trace_id", "conversation_id")
MAX_SCAN = 200_000


@dataclass
class Exposure:
    """What the evidence shows was exposed, with the records at both ends."""

    records: int = 0
    requests: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    user_key: str = ""
    first: Evidence | None = None
    last: Evidence | None = None
    basis: list[str] = field(default_factory=list)

    @property
    def evidence(self) -> list[str]:
        return list(dict.fromkeys(e.id for e in (self.first, self.last) if e is not None))


def security_modes(modes: list[str]) -> list[str]:
    return [m for m in modes if m.startswith("safety.") or m in SECURITY_MODES]


def exposure_records(store: EvidenceReader, start: datetime | None, end: datetime | None) -> list[Evidence]:
    """Records in the window that say data leaked, was exfiltrated or content was injected."""
    return [e for e in store.match(_EXPOSURE_FTS, start=start, end=end, limit=200)
            if not e.flags and EXPOSURE.search(e.text)]


def _first_value(ev: Evidence, keys: tuple[str, ...]) -> tuple[str, str] | None:
    for k in keys:
        v = ev.attrs.get(k)
        if isinstance(v, str | int) and not isinstance(v, bool) and str(v).strip():
            return k, str(v)
    return None


def measure(store: EvidenceReader, modes: list[str], seeds: list[Evidence], start: datetime | None,
            end: datetime | None) -> Exposure:
    """Count the records, requests and users that show the exposure in [start, end]."""
    patterns = [taxonomy.MODES[m].pattern for m in modes if m in taxonomy.MODES]
    indicators = {u.lower() for ev in seeds for u in _URL.findall(ev.text)}
    out = Exposure()
    if indicators:
        out.basis.append(f"repeats an indicator found in the exposure records ({len(indicators)} URL(s))")
    if patterns:
        out.basis.append(f"matches the classified mode ({', '.join(modes)})")
    out.basis.append("says data leaked or content was injected, or was flagged instruction-like at ingest")
    kinds = [EvidenceKind.TRACE, EvidenceKind.LOG, EvidenceKind.TICKET]
    for n, ev in enumerate(store.iter(kinds=kinds, start=start, end=end)):
        if n >= MAX_SCAN:
            break
        low = ev.text.lower()
        if not (ev.flags or any(i in low for i in indicators) or EXPOSURE.search(ev.text)
                or any(p.search(ev.text) for p in patterns)):
            continue
        out.records += 1
        out.first = out.first or ev
        out.last = ev
        req = _first_value(ev, _REQUEST_KEYS)
        out.requests.add(req[1] if req else ev.id)
        user = _first_value(ev, _USER_KEYS)
        if user is not None:
            out.users.add(user[1])
            out.user_key = out.user_key or user[0]
    return out
