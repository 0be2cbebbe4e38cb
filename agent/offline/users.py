"""Distinct users (and tenants) among the failing user-facing records.

Request logs name who made a request in many ways: `user`, `user_id`, `uid`, `customer_id`,
`account`, `student_id` in JSON attributes, or `user=u-17` in a text line; tenants as `tenant`,
`tenant_id`, `org`, `workspace_id`. The count is taken over the records that failed for a user
(HTTP 5xx that were not probes, or degraded answers) in the impact window; the gap is written
only when no request record carries such a field at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.vocabulary import vocabulary
from tools.models import Evidence

# User, tenant and session attribute names, and `key=value` pairs in text: agent/vocabulary/users.yaml.
_WORDS = vocabulary("users")
_EMPTY = {"", "-", "none", "null", "nil", "anonymous", "unknown", "n/a"}


def ids_of(ev: Evidence) -> dict[str, tuple[str, str]]:
    """{"user"|"tenant"|"session": (field name, value)} for the first such field of each kind."""
    found: dict[str, tuple[str, str]] = {}
    pairs: list[tuple[str, object]] = list(ev.attrs.items())
    pairs += [(m.group(1), m.group(2)) for m in _WORDS.pair.finditer(ev.text[:600])]
    for key, value in pairs:
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        v = str(value).strip()
        if v.lower() in _EMPTY:
            continue
        for what, pat in (("user", _WORDS.user_key), ("tenant", _WORDS.tenant_key), ("session", _WORDS.session_key)):
            if what not in found and pat.match(str(key)):
                found[what] = (str(key), v)
    return found


@dataclass
class Affected:
    """Distinct ids among the failing records, by kind, with the field each was read from."""

    records: int = 0
    ids: dict[str, set[str]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)

    def count(self, what: str) -> int:
        return len(self.ids.get(what, ()))


def count(failing: Iterable[Evidence]) -> Affected:
    """Distinct ids among the failing records; evidence = the first and last record with one."""
    out = Affected()
    first = last = ""
    for ev in failing:
        out.records += 1
        got = ids_of(ev)
        for what, (key, value) in got.items():
            out.ids.setdefault(what, set()).add(value)
            out.keys.setdefault(what, key)
        if got:
            first, last = first or ev.id, ev.id
    out.evidence = list(dict.fromkeys(i for i in (first, last) if i))
    return out


def carries_ids(records: Iterable[Evidence]) -> str | None:
    """The first user/tenant/session field name any of these records carries, else None."""
    for ev in records:
        got = ids_of(ev)
        for what in ("user", "tenant", "session"):
            if what in got:
                return got[what][0]
    return None


def statement(a: Affected, failing_what: str) -> str | None:
    """The users-affected sentence, or None when no failing record carries an id."""
    if a.count("user"):
        users = f"{a.count('user')} distinct users (`{a.keys['user']}`)"
    elif a.count("session"):
        users = (f"{a.count('session')} distinct sessions (`{a.keys['session']}`; the records carry no "
                 "user id, so a user with several sessions counts more than once)")
    else:
        users = ""
    tenants = f"{a.count('tenant')} distinct tenants (`{a.keys['tenant']}`)" if a.count("tenant") else ""
    if not users and not tenants:
        return None
    said = " across ".join(x for x in (users, tenants) if x)
    return f"{said} among {a.records} {failing_what} ({', '.join(a.evidence)})."
