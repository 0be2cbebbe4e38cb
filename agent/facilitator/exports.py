"""What closing a review produces, in one named folder.

- postmortem.md / postmortem.json: the final report (the JSON is the Report plus the review discussion).
- actions.csv: one row per action item, columns most trackers' CSV import maps directly (Jira, Linear
  and GitHub-project importers all take a title, description, due date, priority and labels).
- actions.json: the same items as the graph's tracker export (for scripts and APIs).
- follow-up-review.ics: an all-day RFC 5545 event on the follow-up review date, listing the actions.

The .ics comes from agent/facilitator/calendar.py (icalendar). Every file is rewritten whole, so `/export` may run any number of times.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from agent.facilitator.calendar import review_ics
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


def follow_up_ics(report: Report, uid: str, stamp: date) -> str:
    """An all-day event on the follow-up review date. DTSTAMP is the postmortem date (the file is
    reproducible: the same session writes the same bytes)."""
    assert report.follow_up_review is not None
    actions = "\n".join(f"{a.id} ({a.owner}, due {a.due}): {a.action}" for a in report.action_items)
    return review_ics(report.title, report.follow_up_review, f"{uid}@postmortem-lead", stamp,
                      f"Check each action item's verification.\n{actions}").decode("utf-8")


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
