"""Shared helpers for the validator tests: the good fixture and its in-memory evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from agent.model import Report
from agent.validators import InMemoryEvidence

FIXTURE = Path(__file__).parent / "fixtures" / "good_postmortem.md"


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def good_md() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def evidence() -> InMemoryEvidence:
    return InMemoryEvidence(
        [
            ("commit:4f2a9c1d8e7b", "4f2a9c1d8e7b0a11 reindex: swap alias after first shard", _t("2024-05-14T08:55:10")),
            ("log:logs/reindex.jsonl:118", "WARN alias swapped with 1/8 shards complete; snapshot age 6 days",
             _t("2024-05-14T09:02:03")),
            ("chat:support:1715679600.000100", "customer says refund terms are outdated", _t("2024-05-14T09:40:00")),
            ("pd:PX9K2Q:R7", "acknowledged quality score drop", _t("2024-05-14T09:52:30")),
            ("log:logs/reindex.jsonl:131", "alias kb-current reverted to kb-2024-05-13-full", _t("2024-05-14T10:31:40")),
            ("chat:incident:1715683620.000200", "resolved", _t("2024-05-14T10:47:00")),
            ("trace:traces/assistant.jsonl:1", "8,300 conversations cited policy v3", None),
            ("metric:metrics/quality.json:0", "answer_quality_score 0.82 -> 0.61", None),
            ("note:notes/release.md:4", "release gate uses fixture index", None),
        ]
    )


def report(**kw: object) -> Report:
    """The structured side of the fixture: the durations it states are computed facts."""
    base: dict[str, object] = dict(
        title="Support assistant served answers from a stale retrieval index",
        incident_date=date(2024, 5, 14),
        postmortem_date=date(2024, 5, 21),
        severity="P1",
        review_type="full",
        computed_facts=[
            {"text": "1h 45m", "value": 6300.0, "derivation": "time_to_resolve_s"},
            {"text": "38 minutes", "value": 2277.0, "derivation": "time_to_detect_s"},
        ],
    )
    base.update(kw)
    return Report.model_validate(base)
