"""The follow-up review: a calendar event for it and the checklist it walks through.

The seeds ask for a review 30-90 days after the incident that checks each action was done and that
it works. The event is written with the icalendar package (escaping, folding and line endings are
its job, not ours); DTSTAMP is given by the caller so the same review writes the same bytes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from icalendar import Calendar, Event
from pydantic import BaseModel

PRODID = "-//postmortem-lead//follow-up review//EN"


class ReviewItem(BaseModel):
    key: str
    action: str
    owner: str | None = None
    due: date | None = None
    verification: str = ""
    status: str = "open"


def checklist(items: list[ReviewItem]) -> list[str]:
    """One line per action: what to check and how, as the review meeting reads it."""
    out = []
    for i in items:
        due = i.due.isoformat() if i.due else "no due date"
        out.append(f"{i.key} [{i.status}] {i.action} (owner: {i.owner or 'not set'}, due {due}); "
                   f"verify: {i.verification or 'no verification method recorded'}")
    return out


def review_ics(title: str, day: date, uid: str, stamp: date, items: list[ReviewItem]) -> bytes:
    """An all-day event on `day` whose description is the checklist."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", datetime.combine(stamp, time(0, 0), tzinfo=timezone.utc))
    ev.add("dtstart", day)
    ev.add("summary", f"Follow-up review: {title}")
    ev.add("description", "\n".join(["Check each action is done and verified:", *checklist(items)]))
    cal.add_component(ev)
    return cal.to_ical()
