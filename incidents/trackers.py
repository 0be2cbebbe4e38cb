"""Actions out to issue trackers in their own import formats, and their status read back.

Each exported issue carries a marker `[PM-<incident>/<key>]` at the start of its title: the one thing
every tracker keeps verbatim through an import and shows again in its export, so reading a
tracker's export back can find the action again without any id mapping file.

Formats (the columns each tracker's importer documents):
- GitHub Issues: one JSON body per issue for `POST /repos/{owner}/{repo}/issues` (`title`, `body`,
  `labels`) and a `gh issue create` script; status comes back from `gh issue list --state all
  --json number,title,state,stateReason`.
- Jira: CSV for the CSV importer. `Summary` is the one required column; `Issue Type`, `Description`,
  `Priority` (Highest..Lowest), `Due Date` (written `yyyy-MM-dd`: set that date format in the
  import wizard) and `Labels` (no spaces) are mapped by header name. Status comes back from Jira's
  CSV export (`Summary`, `Issue key`, `Status`).
- Linear: CSV with the headers of Linear's own CSV export, which its importer reads back (`Title`,
  `Description`, `Priority`, `Status`, `Labels`, `Due Date`); status comes back from that export
  (`ID`, `Title`, `Status`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from incidents.actions import ActionView
from incidents.models import ActionStatus

Tracker = Literal["github", "jira", "linear"]
TRACKERS: tuple[Tracker, ...] = ("github", "jira", "linear")
LABEL = "postmortem-action"

_MARKER = re.compile(r"\[PM-(\d+)/(AI-\d+)\]", re.IGNORECASE)
_JIRA_PRIORITY = {"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}
_LINEAR_PRIORITY = {"P0": "Urgent", "P1": "High", "P2": "Medium", "P3": "Low"}
# Tracker status words -> our status. Matched on the lower-cased status; anything else is "open".
_STATUS_WORDS: tuple[tuple[tuple[str, ...], ActionStatus], ...] = (
    (("won't do", "wont do", "won't fix", "canceled", "cancelled", "not planned", "duplicate"),
     ActionStatus.wont_do),
    (("done", "closed", "resolved", "completed", "complete"), ActionStatus.done),
    (("in progress", "in review", "started", "doing"), ActionStatus.in_progress),
)


class StatusUpdate(BaseModel):
    """One action's status as a tracker's export shows it."""

    incident_id: int
    key: str
    status: ActionStatus
    tracker_ref: str | None = None
    tracker_status: str


def marker(a: ActionView) -> str:
    return f"[PM-{a.incident_id}/{a.key}]"


def title(a: ActionView, limit: int = 240) -> str:
    text = " ".join(a.action.split())
    head = f"{marker(a)} "
    return head + (text if len(head) + len(text) <= limit else text[: limit - len(head) - 1] + "…")


def description(a: ActionView) -> str:
    lines = [a.action, "", f"From incident {a.incident_id}: {a.incident_title}",
             f"Owner (role): {a.owner or 'not set'}", f"Due: {a.due.isoformat() if a.due else 'not set'}",
             f"Verification: {a.verification or 'not set'}"]
    if a.addresses:
        lines.append(f"Addresses: {', '.join(a.addresses)}")
    return "\n".join(lines)


def github_payloads(actions: Iterable[ActionView]) -> list[dict[str, object]]:
    return [{"title": title(a), "body": description(a), "labels": [LABEL] + ([a.priority] if a.priority else [])}
            for a in actions]


def gh_script(actions: Iterable[ActionView]) -> str:
    """A shell script that creates each issue with `gh`; every value is shell-quoted (action text is
    derived from evidence, so it is untrusted)."""
    out = ["#!/bin/sh", "# Creates one GitHub issue per postmortem action. Usage: sh create-issues.sh OWNER/REPO",
           'set -eu', 'repo="${1:?usage: sh create-issues.sh OWNER/REPO}"',
           f"gh label create {LABEL} --repo \"$repo\" --force >/dev/null 2>&1 || true"]
    for a in actions:
        out.append(f"gh issue create --repo \"$repo\" --title {shlex.quote(title(a))} "
                   f"--body {shlex.quote(description(a))} --label {LABEL}")
    return "\n".join(out) + "\n"


def _csv(header: tuple[str, ...], rows: Iterable[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


JIRA_COLUMNS = ("Summary", "Issue Type", "Description", "Priority", "Due Date", "Labels")
LINEAR_COLUMNS = ("Title", "Description", "Priority", "Status", "Labels", "Due Date")


def jira_csv(actions: Iterable[ActionView]) -> str:
    return _csv(JIRA_COLUMNS, ([title(a), "Task", description(a), _JIRA_PRIORITY.get(a.priority or "", "Medium"),
                                a.due.isoformat() if a.due else "", LABEL] for a in actions))


def linear_csv(actions: Iterable[ActionView]) -> str:
    return _csv(LINEAR_COLUMNS, ([title(a), description(a), _LINEAR_PRIORITY.get(a.priority or "", "Medium"),
                                  "Todo", LABEL, a.due.isoformat() if a.due else ""] for a in actions))


def export(tracker: Tracker, actions: list[ActionView]) -> dict[str, str]:
    """File name -> content for one tracker."""
    if tracker == "github":
        return {"github-issues.json": json.dumps(github_payloads(actions), indent=2, ensure_ascii=False) + "\n",
                "create-issues.sh": gh_script(actions)}
    if tracker == "jira":
        return {"jira-import.csv": jira_csv(actions)}
    return {"linear-import.csv": linear_csv(actions)}


def status_of(tracker_status: str, state_reason: str = "") -> ActionStatus:
    words = f"{tracker_status} {state_reason}".lower().replace("_", " ")
    for needles, status in _STATUS_WORDS:
        if any(n in words for n in needles):
            return status
    return ActionStatus.open


def _update(text: str, status: str, ref: str | None, reason: str = "") -> StatusUpdate | None:
    m = _MARKER.search(text or "")
    if not m:
        return None
    return StatusUpdate(incident_id=int(m.group(1)), key=m.group(2).upper(), status=status_of(status, reason),
                        tracker_ref=ref or None, tracker_status=status)


def read_back(tracker: Tracker, text: str) -> list[StatusUpdate]:
    """Status updates from a tracker's export; rows without our marker are not ours and are skipped."""
    if tracker == "github":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not the JSON of `gh issue list --json number,title,state,stateReason`: {exc}") from exc
        if not isinstance(items, list):
            raise ValueError("expected a JSON list, as `gh issue list --json ...` prints")
        found = (_update(str(i.get("title", "")), str(i.get("state", "")),
                         f"#{i['number']}" if "number" in i else None, str(i.get("stateReason") or ""))
                 for i in items if isinstance(i, dict))
    else:
        rows = csv.DictReader(io.StringIO(text))
        title_col, ref_col = ("Summary", "Issue key") if tracker == "jira" else ("Title", "ID")
        if rows.fieldnames is None or title_col not in rows.fieldnames or "Status" not in rows.fieldnames:
            raise ValueError(f"a {tracker} export needs the columns {title_col!r} and 'Status'")
        found = (_update(r.get(title_col) or "", r.get("Status") or "", r.get(ref_col)) for r in rows)
    return [u for u in found if u is not None]
