"""Degraded answers: a quality incident shows as HTTP 200s that carry a worse answer.

A fallback answer, an "I don't know", an empty retrieval, a refusal or a score far below normal
is a failed answer for the user even though the request succeeded. Request logs mark them in
fields (`fallback=true`, `answer_type=fallback`, `status=degraded`, `retrieved_docs=0`,
`score=0.12`); this module reads those marks and compares the share of marked answers in the
impact window with the share before onset, so a quality incident is not reported as
"1 request, 0% errors".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

_FLAG_KEYS = ("fallback", "is_fallback", "used_fallback", "degraded", "refused", "refusal", "abstained",
              "empty_retrieval", "no_answer")
_WORD_KEYS = ("answer_type", "response_type", "answer_status", "outcome", "result", "status", "answer_kind",
              "quality", "route", "mode")
_DEGRADED_WORD = re.compile(
    r"^(?:fallback|fall_back|fallback_answer|degraded|idk|dont_know|don't know|unknown_answer|no_answer|"
    r"no_results?|empty|empty_retrieval|refus(?:al|ed)|abstain(?:ed)?|canned|default_answer)$", re.I)
_COUNT_KEYS = ("retrieved", "retrieved_docs", "num_docs", "docs_retrieved", "hits", "num_results",
               "retrieval_hits", "context_docs", "n_docs", "results")
_SCORE_KEYS = ("score", "relevance_score", "retrieval_score", "top_score", "answer_score", "confidence",
               "similarity", "groundedness")
_ANSWER_KEYS = ("answer", "response", "output", "completion", "reply")
_IDK = re.compile(r"\bI (?:do not|don't|dont) know\b|\bI'?m not sure\b|\bI (?:can(?:no|')t|am unable to) "
                  r"(?:help|answer|find)\b|\bno relevant (?:documents?|information)\b", re.I)
MIN_DEGRADED = 5  # fewer marked answers than this is noise, not an incident
MAX_SCAN = 200_000
BASELINE_SPAN = timedelta(hours=6)


def _truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() in ("true", "yes", "1")) or v == 1


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def marks(ev: Evidence) -> tuple[bool, str | None]:
    """(whether the record is an answer with a quality mark, the mark when it is degraded).
    Scores are judged against a baseline elsewhere; this reads only the self-describing marks."""
    a = ev.attrs
    marked = False
    for k in _FLAG_KEYS:
        if k in a:
            marked = True
            if _truthy(a[k]):
                return True, f"{k}=true"
    for k in _WORD_KEYS:
        v = a.get(k)
        if isinstance(v, str) and not v.isdigit():
            if k in ("answer_type", "response_type", "answer_status", "answer_kind"):
                marked = True
            if _DEGRADED_WORD.match(v.strip()):
                return True, f"{k}={v.strip()}"
    for k in _COUNT_KEYS:
        n = _number(a.get(k))
        if n is not None:
            marked = True
            if n == 0:
                return True, f"{k}=0"
    for k in _ANSWER_KEYS:
        v = a.get(k)
        if isinstance(v, str):
            marked = True
            if _IDK.search(v[:300]):
                return True, f"{k} says it does not know"
    return marked or any(_number(a.get(k)) is not None for k in _SCORE_KEYS), None


def _score(ev: Evidence) -> tuple[str, float] | None:
    for k in _SCORE_KEYS:
        n = _number(ev.attrs.get(k))
        if n is not None:
            return k, n
    return None


@dataclass
class AnswerCount:
    """Answer records over one span, and how many of them came back degraded."""

    answers: int = 0
    degraded: int = 0

    def add(self, degraded: bool) -> None:
        self.answers += 1
        self.degraded += degraded

    @property
    def share(self) -> float:
        return self.degraded / self.answers if self.answers else 0.0


@dataclass
class Degraded:
    """Marked answers in the window against the share before onset."""

    window: AnswerCount = field(default_factory=AnswerCount)
    baseline: AnswerCount = field(default_factory=AnswerCount)  # the span before onset
    reasons: dict[str, int] = field(default_factory=dict)
    records: list[Evidence] = field(default_factory=list)  # the degraded ones, in time order
    score_floor: tuple[str, float] | None = None

    @property
    def significant(self) -> bool:
        """Enough marked answers, and clearly more than before onset."""
        before = self.baseline.share
        return self.window.degraded >= MIN_DEGRADED and self.window.share >= max(2 * before, before + 0.05)


def _score_floor(records: list[Evidence]) -> tuple[str, float] | None:
    """The 5th percentile of the baseline's scores: below it an answer scored worse than 95% of
    normal answers."""
    by_key: dict[str, list[float]] = {}
    for ev in records:
        s = _score(ev)
        if s is not None:
            by_key.setdefault(s[0], []).append(s[1])
    if not by_key:
        return None
    key, values = max(by_key.items(), key=lambda kv: len(kv[1]))
    if len(values) < 20:
        return None  # too few normal answers to say what a low score is
    values.sort()
    return key, values[len(values) // 20]


def measure(store: EvidenceReader, onset: datetime, end: datetime | None) -> Degraded:
    """Count degraded answers in [onset, end] and in the span before onset."""
    out = Degraded()
    before = [e for e in store.iter(kinds=[EvidenceKind.LOG, EvidenceKind.TRACE], start=onset - BASELINE_SPAN,
                                    end=onset) if e.ts is not None and e.ts < onset][:MAX_SCAN]
    out.score_floor = _score_floor(before)

    def judge(ev: Evidence) -> tuple[bool, str | None]:
        is_answer, why = marks(ev)
        if why is None and out.score_floor is not None:
            s = _score(ev)
            if s is not None and s[0] == out.score_floor[0] and s[1] < out.score_floor[1]:
                why = f"{s[0]} below the baseline's 5th percentile ({out.score_floor[1]:g})"
        return is_answer, why

    for ev in before:
        is_answer, why = judge(ev)
        if is_answer:
            out.baseline.add(why is not None)
    for n, ev in enumerate(store.iter(kinds=[EvidenceKind.LOG, EvidenceKind.TRACE], start=onset, end=end)):
        if n >= MAX_SCAN:
            break
        is_answer, why = judge(ev)
        if not is_answer:
            continue
        out.window.add(why is not None)
        if why is not None:
            label = why.split("=")[0] if "=" in why else why
            out.reasons[label] = out.reasons.get(label, 0) + 1
            out.records.append(ev)
    return out
