"""Support-ticket exports (Zendesk JSON / NDJSON / audits, Jira REST JSON and CSV) as TICKET records."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import HEAD_BYTES, ReadContext
from tools.readers.registry import pick_reader
from tools.readers.tickets import READER as TICKETS
from tools.readers.tickets import adf_text

UTC = timezone.utc
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "tickets"


def read(name: str, ctx: ReadContext | None = None) -> tuple[dict[str, Evidence], list[Malformed]]:
    path = FIX / name
    head = path.read_bytes()[:HEAD_BYTES].decode("utf-8", "replace")
    assert pick_reader(path, head) is TICKETS, f"{name} not recognised as a ticket export"
    out = list(TICKETS.read(path, f"support/{name}", ctx or ReadContext(root=FIX)))
    evs = [o for o in out if isinstance(o, Evidence)]
    assert all(e.kind is EvidenceKind.TICKET for e in evs)
    assert len({e.id for e in evs}) == len(evs), "ids must be unique"
    return {e.id: e for e in evs}, [o for o in out if isinstance(o, Malformed)]


def test_zendesk_search_result_with_sideloaded_users_and_comments() -> None:
    by_id, bad = read("zendesk_search.json")
    t = by_id["ticket:support/zendesk_search.json:501"]
    assert t.ts == datetime(2025, 2, 10, 14, 2, 11, tzinfo=UTC) and not t.ts_assumed
    a = t.attrs
    assert (a["ticket_id"], a["status"], a["priority"]) == ("501", "open", "urgent")
    assert a["requester"] == "Dana Reyes <dana.reyes@example.org>"  # resolved from `users`, as exported
    assert a["tags"] == ["truncation", "assistant"] and a["updated_at"] == "2025-02-10T16:40:00Z"
    assert "cut off mid-sentence" in t.text and "every long answer stops" in t.text and "via web" in t.text
    # Comments keep their own time: the customer's "still happening" is a timeline fact.
    c1 = by_id["ticket:support/zendesk_search.json:501:comment:70001"]
    c2 = by_id["ticket:support/zendesk_search.json:501:comment:70002"]
    assert c1.ts == datetime(2025, 2, 10, 14, 30, 5, tzinfo=UTC) and "Still happening at 14:30" in c1.text
    assert c1.attrs["ticket_id"] == "501" and c1.attrs["subject"] == a["subject"]
    assert c2.attrs["author"] == "Support Agent Kim <kim@example.com>" and "private note" in c2.text
    # A creation time that is not a time leaves the ticket undated, never guessed.
    undated = by_id["ticket:support/zendesk_search.json:502"]
    assert undated.ts is None and undated.attrs["created_at"] == "not a date"
    assert undated.text.count("Login slow") == 1  # a description equal to the subject is not repeated
    assert len(by_id) == 4 and len(bad) == 1 and "without id" in bad[0].reason


def test_zendesk_ndjson_export_keeps_going_past_bad_lines() -> None:
    by_id, bad = read("zendesk_export.ndjson")
    assert sorted(by_id) == ["ticket:support/zendesk_export.ndjson:601", "ticket:support/zendesk_export.ndjson:602"]
    t = by_id["ticket:support/zendesk_export.ndjson:601"]
    assert t.attrs["requester"] == "Lee Park <lee@example.net>" and t.attrs["tags"] == ["rag"]
    assert t.attrs["via"] == "api"
    assert by_id["ticket:support/zendesk_export.ndjson:602"].attrs["requester"] is None  # only an id: no name made up
    assert [m.locator for m in bad] == ["line 3", "line 4"]
    assert "invalid JSON" in bad[0].reason and "no id" in bad[1].reason


def test_zendesk_audits_are_updates_with_their_changes() -> None:
    by_id, bad = read("zendesk_audits.json")
    assert not bad
    audit = by_id["ticket:support/zendesk_audits.json:501:audit:8801"]
    assert audit.ts == datetime(2025, 2, 10, 16, 40, tzinfo=UTC)
    assert audit.attrs["changes"] == [{"field": "status", "from": "open", "to": "solved"}]
    assert "Fixed by the rollback" in audit.text and "status: open -> solved" in audit.text
    assert audit.attrs["author"] == "Support Agent Kim <kim@example.com>"


def test_jira_search_result_issue_comments_and_changelog() -> None:
    by_id, bad = read("jira_search.json")
    issue = by_id["ticket:support/jira_search.json:SUP-17"]
    assert issue.ts == datetime(2025, 2, 12, 8, 15, 30, tzinfo=UTC)  # +0100 converted
    a = issue.attrs
    assert (a["status"], a["priority"], a["issue_type"]) == ("In Progress", "Highest", "Bug")
    assert a["requester"] == "Ana Ortiz <ana.ortiz@example.org>" and a["tags"] == ["customer-impact", "llm"]
    assert issue.service == "chat-gateway"  # the issue's component names what is affected
    # An Atlassian Document description reads as plain text, paragraph by paragraph.
    assert "over 4k tokens get a 502.\nStarted after the gateway upgrade." in issue.text
    comment = by_id["ticket:support/jira_search.json:SUP-17:comment:20001"]
    assert comment.ts == datetime(2025, 2, 12, 8, 40, tzinfo=UTC) and "GatewayErrorsHigh" in comment.text
    change = by_id["ticket:support/jira_search.json:SUP-17:change:30001"]
    assert change.ts == datetime(2025, 2, 12, 9, 2, tzinfo=UTC)
    assert "status: Open -> In Progress" in change.text and change.attrs["author"] == "Ana Ortiz"
    assert len(bad) == 1 and bad[0].locator == "issue 2" and "without key or fields" in bad[0].reason


def test_jira_csv_export_zone_assumed_and_comment_cells() -> None:
    by_id, bad = read("jira_export.csv")
    issue = by_id["ticket:support/jira_export.csv:SUP-21"]
    # The CSV gives no zone: the dump's default applies and the record says it was assumed.
    assert issue.ts == datetime(2025, 2, 12, 15, 4, tzinfo=UTC) and issue.ts_assumed
    assert issue.attrs["tags"] == ["pricing", "rag"] and issue.attrs["status"] == "Open"
    assert "price list;\nseen by two customers" in issue.text  # quoted multi-line cell kept whole
    comment = by_id["ticket:support/jira_export.csv:SUP-21:comment:1"]
    assert comment.ts == datetime(2025, 2, 12, 15, 30, tzinfo=UTC)
    assert comment.text.endswith("Confirmed; index is stale") and comment.attrs["author"] == "5b10a"
    assert len(bad) == 1 and bad[0].locator == "line 4" and "issue key" in bad[0].reason


def test_ticket_sniffing_leaves_other_json_alone(tmp_path: Path) -> None:
    # JSON logs and unrelated documents that merely mention a subject or an issue list stay with
    # their own readers.
    log = tmp_path / "app.jsonl"
    log.write_text('{"ts": "2025-01-01T00:00:00Z", "level": "error", "msg": "subject missing", "status": 500}\n' * 3)
    other = tmp_path / "issues.json"
    other.write_text('{"issues": [{"title": "lint warnings", "count": 3}]}')
    for p in (log, other):
        assert not TICKETS.sniff(p, p.read_text())


def test_broken_and_truncated_exports_cost_only_themselves(tmp_path: Path) -> None:
    src = FIX / "zendesk_search.json"
    cut = tmp_path / "cut.json"
    cut.write_bytes(src.read_bytes()[:600])
    out = list(TICKETS.read(cut, "cut.json", ReadContext(root=tmp_path)))
    assert len(out) == 1 and isinstance(out[0], Malformed) and "truncated JSON" in out[0].reason
    weird = tmp_path / "weird.json"
    weird.write_text('{"tickets": [1, null, {"id": {"x": 1}}, {"id": 7, "created_at": 5, "tags": "no", "via": "x",'
                     ' "comments": [null]}], "audits": ["a"], "users": "nobody"}')
    out = list(TICKETS.read(weird, "weird.json", ReadContext(root=tmp_path)))
    assert sum(isinstance(o, Malformed) for o in out) == 5  # three bad tickets, a bad comment, a bad audit
    kept = [o for o in out if isinstance(o, Evidence)]
    assert [e.id for e in kept] == ["ticket:weird.json:7"] and kept[0].ts is None  # a bare 5 is no time


def test_adf_text_handles_marks_lists_and_breaks() -> None:
    doc = {"type": "doc", "content": [
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "two"}, {"type": "hardBreak"}, {"type": "mention", "attrs": {"text": "@ops"}}]}]},
        ]},
    ]}
    assert [ln for ln in adf_text(doc).splitlines() if ln] == ["one", "two", "@ops"]
    assert adf_text("plain v2 body") == "plain v2 body" and adf_text(None) == ""


def test_tickets_ingested_searchable_and_redacted(tmp_path: Path) -> None:
    from tools.ingest import ingest
    from tools.store.writer import StoreWriter

    dump = tmp_path / "dump"
    (dump / "support").mkdir(parents=True)
    for name in ("zendesk_search.json", "jira_search.json"):
        shutil.copy(FIX / name, dump / "support" / name)
    writer = StoreWriter.create(tmp_path / "e.db")
    inv = ingest(dump, writer, workdir=tmp_path / "w")
    store = writer.reader()
    assert inv.kinds.get("ticket") == 7  # 2 tickets + 2 comments; issue, comment, change
    found, total = store.search("ticket cut off")
    assert total == 1 and found[0].id == "ticket:support/zendesk_search.json:501"
    # Emails go through the ingest filter like any other evidence: not stored as exported.
    assert "dana.reyes@example.org" not in found[0].text and "dana.reyes@example.org" not in str(found[0].attrs)
