"""A warning-level alert relayed to chat is a notice, not detection, also when the quoted chat line
shows its code spans as "… warning …" (regression: an hour-early warning became the detection)."""

from __future__ import annotations

from datetime import datetime, timezone

from agent.model import TimelineEvent
from agent.offline.detection import is_weak

AT = datetime(2024, 12, 31, 22, 5, tzinfo=timezone.utc)


def _alert(text: str) -> TimelineEvent:
    return TimelineEvent(timestamp=AT, event=text, evidence=["chat:alerts:1"], category="alert")


def test_warning_alert_quoted_from_chat_is_weak() -> None:
    assert is_weak(_alert("Alert notification in #alerts: `[FIRING:1] KubeMemoryOvercommit - … warning …`"))
    assert is_weak(_alert("Alert `DiskFilling` fires (severity warning)"))


def test_critical_alert_is_not_weak() -> None:
    assert not is_weak(_alert("Alert `Gateway5xxHigh` fires (severity critical); PagerDuty incident triggered"))
    assert not is_weak(_alert("Alert notification in #alerts: `[FIRING:1] Gateway5xxHigh - … critical …`"))
