"""The follow-up review: a calendar event for it and the checklist it walks through.

The seeds ask for a review 30-90 days after the incident that checks each action was done and that
it works. The event is written by agent/facilitator/calendar.py, the one .ics writer (icalendar).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from agent.facilitator.calendar import review_ics as calendar_event


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
    return calendar_event(title, day, uid, stamp, "\n".join(["Check each action is done and verified:",
                                                            *checklist(items)]))
