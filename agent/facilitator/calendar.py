"""The follow-up review as an RFC 5545 calendar event: the one writer of `.ics` files.

Chat closing and `postmortem follow-up` both call it. The icalendar package does the escaping,
line folding and CRLF endings; DTSTAMP is passed in so the same review writes the same bytes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from icalendar import Calendar, Event

PRODID = "-//postmortem-lead//follow-up review//EN"


def review_ics(title: str, day: date, uid: str, stamp: date, description: str) -> bytes:
    """An all-day event on `day` titled after the incident, with `description` as its body."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", datetime.combine(stamp, time(0, 0), tzinfo=timezone.utc))
    ev.add("dtstart", day)
    ev.add("dtend", day + timedelta(days=1))
    ev.add("summary", f"Follow-up review: {title}")
    ev.add("description", description)
    cal.add_component(ev)
    return cal.to_ical()
