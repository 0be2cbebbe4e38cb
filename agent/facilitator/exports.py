"""What closing a review produces, in one named folder.

- postmortem.md / postmortem.json: the final report (the JSON is the Report plus the review discussion).
- actions.csv: one row per action item, columns most trackers' CSV import maps directly (Jira, Linear
  and GitHub-project importers all take a title, description, due date, priority and labels).
- actions.json: the same items as the graph's tracker export (for scripts and APIs).
- follow-up-review.ics: an all-day RFC 5545 event on the follow-up review date, listing the actions.

Written with the standard library only (csv, json); the .ics is a handful of fixed lines, so no
calendar library is needed. Every file is rewritten whole, so `/export` may run any number of times.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from agent.model import Report
from agent.render import render_json

CSV_COLUMNS = ("Summary", "Description", "Owner role", "Due date", "Priority", "Labels", "External ID")


def actions_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for a in report.action_items:
        desc = f"{a.action}\n\nVerification: {a.verification}\nAddresses: {', '.join(a.addresses) or '-'}"
        w.writerow([a.action[:250], desc, a.owner, a.due.isoformat(), a.priority, "postmortem", a.id])
    return buf.getvalue()


def _ics_text(value: str) -> str:
    """RFC 5545 TEXT escaping (backslash, semicolon, comma, newline)."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Lines longer than 75 octets are folded with CRLF + space (RFC 5545 3.1)."""
    out, raw = [], line.encode("utf-8")
    while len(raw) > 75:
        cut = 75 if not out else 74
        while cut > 0 and (raw[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        out.append(raw[:cut].decode("utf-8"))
        raw = raw[cut:]
    out.append(raw.decode("utf-8"))
    return [out[0]] + [" " + part for part in out[1:]]


def follow_up_ics(report: Report, uid: str, stamp: date) -> str:
    """An all-day event on the follow-up review date. DTSTAMP is the postmortem date (the file is
    reproducible: the same session writes the same bytes)."""
    assert report.follow_up_review is not None
    day = report.follow_up_review
    actions = "\n".join(f"{a.id} ({a.owner}, due {a.due}): {a.action}" for a in report.action_items)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//postmortem-lead//chat//EN", "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT", f"UID:{uid}@postmortem-lead", f"DTSTAMP:{stamp:%Y%m%d}T000000Z",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{date.fromordinal(day.toordinal() + 1):%Y%m%d}",
        "SUMMARY:" + _ics_text(f"Follow-up review: {report.title}"),
        "DESCRIPTION:" + _ics_text(f"Check each action item's verification.\n{actions}"),
        "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(part for line in lines for part in _fold(line)) + "\r\n"


def write_outputs(folder: Path, report: Report, markdown: str, tracker: list[dict[str, Any]],
                  discussion: dict[str, Any], uid: str) -> list[Path]:
    """Write every closing file into `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads(render_json(report))
    data["review_discussion"] = discussion
    files = {
        "postmortem.md": markdown,
        "postmortem.json": json.dumps(data, indent=2) + "\n",
        "actions.csv": actions_csv(report),
        "actions.json": json.dumps(tracker, indent=2) + "\n",
    }
    if report.follow_up_review is not None:
        files["follow-up-review.ics"] = follow_up_ics(report, uid, report.postmortem_date)
    written = []
    for name, text in files.items():
        path = folder / name
        # newline="" keeps the .ics CRLF line ends exactly as RFC 5545 wants them.
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        written.append(path)
    return written
