"""Retries apart from user-facing failures: a request a client or gateway retried shows up as
several records, and only the last attempt is what the user saw.

A record with an HTTP status is a retry when its attempt field says it is not the first
attempt, when the same request id appears again after it (the id's last record is the outcome),
or when its own text says it is retrying. Without any such marker there is nothing to separate
and the caller counts every failure as user-facing, saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tools.models import Evidence, EvidenceKind
from tools.probes import http_status
from tools.store.reader import EvidenceReader

# Above this many records with a status the scan would cost seconds; aggregates stand instead.
MAX_SCAN = 200_000
RETRY_SLACK = timedelta(minutes=5)
_ATTEMPT_KEYS = ("attempt", "attempt_number", "retry_attempt", "x-retry-attempt", "x_retry_attempt")
_RETRY_COUNT_KEYS = ("retry", "retries", "retry_count", "is_retry", "x-retry-count")
_REQUEST_ID_KEYS = ("request_id", "requestId", "req_id", "x-request-id", "x_request_id", "request-id")
_RETRY_TEXT = re.compile(r"\bretrying\b|\bretry attempt\b|\battempt \d+ of \d+\b", re.IGNORECASE)


@dataclass
class RetrySplit:
    """User-facing requests and failures once retries are set apart, and how that was decided."""

    user_total: int = 0
    user_failed: int = 0
    retry_failed: int = 0
    retries: int = 0
    markers: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # first retry record, first user-facing failure

    @property
    def definition(self) -> str:
        return (f"a record is a retry when {' or '.join(self.markers)}; {self.retries} of the records "
                f"with a status were retries, of which {self.retry_failed} failed")


def _status(ev: Evidence) -> int | None:
    return http_status(ev)  # a health probe or scrape is not a request anyone retried


def _number(v: Any) -> int | None:
    if isinstance(v, bool):
        return int(v)
    try:
        return int(str(v).strip())
    except ValueError:
        return None


def _marked_retry(ev: Evidence) -> str | None:
    """Which of the record's own fields or words mark it as a retry, or None."""
    for k in _ATTEMPT_KEYS:
        n = _number(ev.attrs.get(k)) if k in ev.attrs else None
        if n is not None and n > 1:
            return "its attempt field is above 1"
    for k in _RETRY_COUNT_KEYS:
        n = _number(ev.attrs.get(k)) if k in ev.attrs else None
        if n is not None and n > 0:
            return "its retry field is set"
    if _RETRY_TEXT.search(ev.text):
        return "its text says it is retrying"
    return None


def _request_id(ev: Evidence) -> str | None:
    for k in _REQUEST_ID_KEYS:
        v = ev.attrs.get(k)
        if isinstance(v, str | int) and str(v).strip():
            return str(v)
    return None


def separate(store: EvidenceReader, start: datetime, end: datetime | None, total: int) -> RetrySplit | None:
    """Split the records with an HTTP status in [start, end] into user-facing requests and
    retries; None when no record carries a retry marker (or the window is too large to scan)."""
    if total > MAX_SCAN:
        return None
    # A retry that succeeded just after the last failure still makes that failure a retry: ids are
    # followed a little past the window's end, counts stay inside it.
    later = end + RETRY_SLACK if end is not None else None
    seen = [e for e in store.iter(kinds=[EvidenceKind.LOG], start=start, end=later) if _status(e) is not None]
    rows = [e for e in seen if end is None or (e.ts is not None and e.ts <= end)]
    last_of: dict[str, int] = {}
    for i, ev in enumerate(seen):
        rid = _request_id(ev)
        if rid is not None:
            last_of[rid] = i
    split = RetrySplit()
    first_user_failure: str | None = None
    for i, ev in enumerate(rows):
        failed = (_status(ev) or 0) >= 500
        rid = _request_id(ev)
        why = ("its request id appears again later (the id's last record is the user-facing outcome)"
               if rid is not None and last_of[rid] != i else _marked_retry(ev))
        if why is None:
            split.user_total += 1
            split.user_failed += failed
            if failed and first_user_failure is None:
                first_user_failure = ev.id
            continue
        split.retries += 1
        split.retry_failed += failed
        if why not in split.markers:
            split.markers.append(why)
            split.evidence.append(ev.id)  # the first record of each kind of retry
    if not split.retries:
        return None
    split.evidence = split.evidence[:2] + ([first_user_failure] if first_user_failure else [])
    return split
