"""The facilitator's parts on their own: understanding remarks, applying times, closing files."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from agent.facilitator import apply as ap
from agent.facilitator.exports import actions_csv, follow_up_ics
from agent.facilitator.model import reply_violation
from agent.facilitator.understand import understand
from agent.model import ActionItem, Report


@pytest.mark.parametrize("remark,kind,index", [
    ("Marta merged it without review, classic", "rule", None),
    ("do we owe the customer contract penalties for this?", "rule", None),
    ("row 4 is off, the page went out at 09:12", "tl_move", 4),
    ("the deploy really started at 09:01, so entry 2 is wrong", "tl_move", 2),
    ("move 7 to 2025-02-01T09:30:00Z", "tl_move", 7),
    ("entry 3 is a duplicate of 2", "tl_drop", 3),
    ("entry 5 should say: cache flushed by the runbook job", "tl_reword", 5),
    ("add 09:40 traffic shifted to the standby region", "tl_add", None),
    ("reject 2 because the flag was off in that region", "hypothesis", 2),
    ("severity should be P3 because only the batch tier was hit", "severity", None),
    ("we need to add a canary for the ranker", "fix", None),
    ("which dashboard showed the drop first?", "question", None),
    ("the runbook for this alert was last updated two years ago", "info", None),
    ("ran the eval one more time and it works now", "rule", None),
    ("please write a patch for the retry loop", "rule", None),
])
def test_remarks_are_understood(remark: str, kind: str, index: int | None) -> None:
    intent = understand(remark, "confirm_timeline")
    assert intent.kind == kind
    if index is not None:
        assert intent.index == index


def test_a_person_doing_routine_work_is_not_blame() -> None:
    assert understand("Marta merged the revert at 09:40 and traffic recovered", "confirm_draft").kind != "rule"


def test_time_of_day_resolves_on_the_rows_day_and_honours_an_offset() -> None:
    intent = understand("entry 1 is wrong, it began at 13:48+02:00", "confirm_timeline")
    when, how = ap.resolve_time(intent, date(2025, 3, 9))
    assert when == datetime(2025, 3, 9, 11, 48, tzinfo=timezone.utc) and "+02:00" in how
    bad = understand("entry 1 is wrong, it began at 27:10", "confirm_timeline")
    assert ap.resolve_time(bad, date(2025, 3, 9))[0] is None


def test_owners_are_roles_and_due_dates_lie_ahead() -> None:
    assert ap.owner_problem("Priya", [], False) is not None
    assert ap.owner_problem("Sam Okafor", ["Sam Okafor"], False) is not None
    assert ap.owner_problem("Sam Okafor", ["Sam Okafor"], True) is None
    assert ap.owner_problem("serving platform on-call lead", [], False) is None
    assert ap.due_problem("2025-01-01", date(2025, 6, 1))[0] is None
    assert ap.due_problem("2025-07-01", date(2025, 6, 1))[0] == date(2025, 7, 1)


def test_model_replies_that_break_a_rule_are_caught() -> None:
    assert reply_violation("The on-call engineer was careless and ignored the page.") is not None
    assert reply_violation("Which part of the rollout process let the config through unchecked?") is None


def _report() -> Report:
    return Report(title="Ranker, outage; day 1", postmortem_date=date(2025, 6, 1), severity="P2",
                  review_type="full", follow_up_review=date(2025, 7, 15),
                  action_items=[ActionItem(id="AI-001", action="Add a canary, with rollback; " + "x" * 120,
                                           owner="ranking on-call lead", due=date(2025, 7, 1),
                                           verification="game day rollback within 5 min")])


def test_calendar_file_is_rfc5545_shaped() -> None:
    ics = follow_up_ics(_report(), "sess-1", date(2025, 6, 1))
    lines = ics.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and "DTSTART;VALUE=DATE:20250715" in lines
    assert "DTEND;VALUE=DATE:20250716" in lines
    assert all(len(line.encode()) <= 75 for line in lines)  # folded
    assert "SUMMARY:Follow-up review: Ranker\\, outage\\; day 1" in lines


def test_actions_csv_has_one_row_per_action() -> None:
    rows = actions_csv(_report()).splitlines()
    assert rows[0].startswith("Summary,Description,Owner role,Due date")
    assert "ranking on-call lead,2025-07-01,P1,postmortem,AI-001" in actions_csv(_report())
