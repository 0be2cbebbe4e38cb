"""User reports as a signal: a topic rising against its own baseline, never one ticket.

Support queues are never empty: billing, password-reset and log-in tickets arrive every day whatever
the incident. One report, or the queue's usual traffic, says nothing about an onset. What does is a
TOPIC (same tags, else the same subject once numbers and ids are folded) that suddenly arrives
much faster than it did before. Each topic's rate is compared with its own history in the same
export; the first report of the rise is the signal's onset. A chat message that relays a user
report is one report: it counts when several arrive together, like tickets of one topic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from tools.models import Evidence

# A rise is judged over this window: user traffic is diurnal and reports arrive in bursts over a
# school day or a working shift, so half a day holds one burst without spanning two.
GROUP_WINDOW_S = 12 * 3600.0
# Reports of one topic needed in GROUP_WINDOW_S: three independent people; two can be one
# customer writing twice.
MIN_GROUP = 3
# A topic's own baseline must cover at least a full daily cycle before the rise; a topic seen
# only in the export's first hours has no baseline ("tonight" reports cluster every evening).
MIN_BASELINE_S = 24 * 3600.0
# The rise must be this many times the topic's usual count per window. A Poisson count whose
# mean is a quarter of the group size reaches the group size a few times in a hundred windows,
# so a queue's ordinary fluctuation rarely passes; a topic that was silent passes at MIN_GROUP.
RISE_FACTOR = 4.0


class TopicRise:
    """The first report of a rise, the reports that make it, and how it compares."""

    def __init__(self, topic: str, reports: list[Evidence], usual_per_window: float) -> None:
        self.topic = topic
        self.reports = reports
        self.usual_per_window = usual_per_window

    @property
    def onset(self) -> datetime:
        assert self.reports[0].ts is not None
        return self.reports[0].ts


def ticket_topic(ev: Evidence, fold: Callable[[str], str]) -> str:
    """Tags when the ticket has them (the support team's own grouping), else its folded subject."""
    tags = ev.attrs.get("tags")
    if isinstance(tags, list) and tags:
        return "tags: " + ", ".join(sorted(str(t) for t in tags))
    subject = str(ev.attrs.get("subject") or ev.text.split("\n", 1)[0])
    return "subject: " + fold(subject)


def is_ticket_itself(ev: Evidence) -> bool:
    """A ticket, not one of its comments, audits or field changes (each has its own id suffix)."""
    return ev.id.count(":") <= 2 or "subject" in ev.attrs


def topic_rises(reports: Iterable[Evidence], topic_of: Callable[[Evidence], str]) -> list[TopicRise]:
    """Every topic's first rise against its own baseline, earliest first."""
    dated = sorted((r for r in reports if r.ts is not None), key=lambda r: r.ts)  # type: ignore[arg-type,return-value]
    if not dated:
        return []
    export_start = dated[0].ts.timestamp()  # type: ignore[union-attr]
    by_topic: dict[str, list[Evidence]] = defaultdict(list)
    for r in dated:
        by_topic[topic_of(r)].append(r)
    out = [rise for topic, rows in by_topic.items()
           if (rise := _first_rise(topic, rows, export_start)) is not None]
    return sorted(out, key=lambda r: r.onset)


def _first_rise(topic: str, rows: list[Evidence], export_start: float) -> TopicRise | None:
    times = [r.ts.timestamp() for r in rows]  # type: ignore[union-attr]
    for i, t0 in enumerate(times):
        group = [j for j in range(i, len(times)) if times[j] - t0 <= GROUP_WINDOW_S]
        observed = t0 - export_start
        if len(group) < MIN_GROUP or observed < MIN_BASELINE_S:
            continue
        usual = i * GROUP_WINDOW_S / observed  # this topic's reports per window before t0
        if len(group) >= RISE_FACTOR * usual:
            return TopicRise(topic, [rows[j] for j in group], usual)
    return None
