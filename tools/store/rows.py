"""Evidence records to and from `evidence` rows, and the WHERE clause every query filters by."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TypedDict, Unpack

import orjson

from tools.models import Evidence, EvidenceKind, trusted_evidence
from tools.probes import user_status
from tools.store.schema import NOT_LOG

# orjson encodes a row's attrs ~7x faster than json (0.4 vs 3.3 us, about 9 s of CPU per 3M log
# lines). Dates and dataclasses go to default=str as the stdlib path would send them; what orjson
# refuses (ints past 64 bits, lone surrogates, very deep nesting) takes the stdlib path. One
# difference remains: a NaN or infinite float is stored as null (JSON has no spelling for them).
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_stdlib_encode = json.JSONEncoder(default=str, separators=(",", ":")).encode
_dumps = orjson.dumps


def _encode(value: Any) -> str:
    try:
        return _dumps(value, default=str, option=_ORJSON_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _stdlib_encode(value)


def _epoch(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _http_status(attrs: dict[str, Any], text: str = "") -> int | None:
    # Health probes and scrapes keep no status: every request count is of user traffic.
    return user_status(attrs, text)


def row_values(ev: Evidence) -> tuple[Any, ...]:
    """One evidence record as the values of an `evidence` row (COLUMNS, then status)."""
    attrs = ev.attrs
    return (
        ev.id, ev.kind.value, _epoch(ev.ts), int(ev.ts_assumed), ev.source, ev.locator, ev.service,
        ev.level, ev.text, _encode(attrs) if attrs else "{}", _encode(ev.flags) if ev.flags else "[]",
        _http_status(attrs, ev.text) if attrs else None,
    )


_KINDS = {k.value: k for k in EvidenceKind}
_orjson_loads = orjson.loads


# orjson reads an integer past 64 bits as a float; such texts (and rows the stdlib encoder wrote
# when orjson refused a value, which may hold NaN) take the stdlib parser, so attrs come back
# exactly as they were written.
_LONG_NUMBER = re.compile(r"\d{19}")


def _loads(text: str) -> Any:
    if _LONG_NUMBER.search(text) is None:
        try:
            return _orjson_loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def row_to_evidence(row: Sequence[Any]) -> Evidence:
    # Rows were validated on the way in; analysis reads tens of thousands of them.
    return trusted_evidence({
        "id": row[0], "kind": _KINDS[row[1]],
        "ts": None if row[2] is None else datetime.fromtimestamp(row[2], tz=timezone.utc),
        "ts_assumed": bool(row[3]), "source": row[4], "locator": row[5], "service": row[6],
        "level": row[7], "text": row[8], "attrs": {} if row[9] == "{}" else _loads(row[9]),
        "flags": [] if row[10] == "[]" else _loads(row[10]),
    })


def utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc)


class Filters(TypedDict, total=False):
    """What a store query may filter on; each left out (or None) does not filter."""

    kinds: Sequence[EvidenceKind | str] | None
    start: datetime | None
    end: datetime | None
    service: str | None
    levels: Sequence[str] | None
    source: str | None


def where(*, prefix: str = "", **filters: Unpack[Filters]) -> tuple[str, list[Any]]:
    """A WHERE clause (empty when nothing filters) and its parameters."""
    kinds, levels, source = filters.get("kinds"), filters.get("levels"), filters.get("source")
    start, end, service = filters.get("start"), filters.get("end"), filters.get("service")
    clauses: list[str] = []
    params: list[Any] = []
    if kinds:
        values = [k.value if isinstance(k, EvidenceKind) else k for k in kinds]
        clauses.append(f"{prefix}kind IN ({','.join('?' * len(values))})")
        params += values
        if "log" not in values:
            clauses.append(f"{prefix}{NOT_LOG}")  # lets SQLite use the partial kind index
    for cond, value in ((f"{prefix}ts >= ?", _epoch(start)), (f"{prefix}ts <= ?", _epoch(end)),
                        (f"{prefix}service = ?", service or None)):
        if value is not None:
            clauses.append(cond)
            params.append(value)
    if levels:
        clauses.append(f"{prefix}level IN ({','.join('?' * len(levels))})")
        params += list(levels)
    if source:
        clauses.append(f"{prefix}source = ?")
        params.append(source)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
