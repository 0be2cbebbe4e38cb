"""Slack export, Markdown notes and the incident manifest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from tools.models import Evidence, Malformed
from tools.readers.base import ReadContext
from tools.readers.manifest import READER as MANIFEST
from tools.readers.manifest import load_manifest
from tools.readers.notes import READER as NOTES
from tools.readers.slack import READER as SLACK

UTC = timezone.utc
DUMP = Path(__file__).resolve().parents[1] / "fixtures" / "readers" / "dump"


def split(items: list[Evidence | Malformed]) -> tuple[list[Evidence], list[Malformed]]:
    return [i for i in items if isinstance(i, Evidence)], [i for i in items if isinstance(i, Malformed)]


def test_slack_export_threads_bots_and_display_names() -> None:
    root = DUMP / "slack"
    assert SLACK.sniff_dir(root) and not SLACK.sniff_dir(DUMP / "logs")
    evs, bad = split(list(SLACK.read_dir(root, "slack", ReadContext(root=DUMP))))
    by_id = {e.id: e for e in evs}
    parent = by_id["chat:incident-ranker:1714054000.000100"]
    reply = by_id["chat:incident-ranker:1714054060.000200"]
    bot = by_id["chat:incident-ranker:1714053950.000300"]
    assert parent.attrs["user"] == "dana.o" and parent.attrs["reply_count"] == 1
    assert parent.text == "Declaring SEV2, @Sam Lee can you check the ranker rollout?"  # mention resolved
    assert reply.attrs["thread_ts"] == "1714054000.000100" and reply.attrs["parent_ts"] == "1714054000.000100"
    assert reply.text == "Rolled back to v41, see the run" and reply.source == "slack/incident-ranker/2024-04-25.json"
    assert bot.attrs["bot"] is True and "Triggered #4242" in bot.text and bot.attrs["user"] == "PagerDuty"
    assert parent.ts == datetime.fromtimestamp(1714054000.0001, tz=UTC)
    assert "chat:general:1714040000.000001" in by_id
    assert len(bad) == 1 and "ts" in bad[0].reason


def test_slack_broken_day_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "users.json").write_text("[]")
    (tmp_path / "inc" / "2024-04-25.json").write_text('[{"ts": "1714054000.1", "text": "ok"}')
    (tmp_path / "inc" / "2024-04-26.json").write_text('[{"ts": "1714140400.1", "text": "fine"}]')
    evs, bad = split(list(SLACK.read_dir(tmp_path, "", ReadContext(root=tmp_path))))
    assert [e.text for e in evs] == ["fine"] and bad[0].source == "inc/2024-04-25.json"


def window_ctx() -> ReadContext:
    m = load_manifest(DUMP / "incident.yaml")
    return ReadContext(root=DUMP, default_tz=m.tz(), window_start=m.window_start, window_end=m.window_end)


def test_notes_paragraphs_headings_and_time_of_day() -> None:
    path = DUMP / "notes" / "timeline.md"
    assert NOTES.sniff(path, path.read_text())
    evs, bad = split(list(NOTES.read(path, "notes/timeline.md", window_ctx())))
    assert not bad
    by_line = {e.id: e for e in evs}
    intro = by_line["note:notes/timeline.md:3"]
    assert intro.ts is None and intro.attrs["heading"] == "Ranker incident notes"
    paged = by_line["note:notes/timeline.md:7"]
    # "14:05 UTC" gets its date from the manifest window: dated, but marked assumed.
    assert paged.ts == datetime(2024, 4, 25, 14, 5, tzinfo=UTC) and paged.ts_assumed
    assert paged.attrs["heading"] == "Timeline"
    assert by_line["note:notes/timeline.md:8"].ts == datetime(2024, 4, 25, 14, 20, tzinfo=UTC)  # 07:20 PDT
    full = by_line["note:notes/timeline.md:9"]
    assert full.ts == datetime(2024, 4, 25, 15, 20, tzinfo=UTC) and not full.ts_assumed
    # No zone written: the manifest timezone (America/Los_Angeles) applies.
    assert by_line["note:notes/timeline.md:10"].ts == datetime(2024, 4, 25, 21, 30, tzinfo=UTC)
    # A dated heading supplies the date for the paragraphs under it.
    assert by_line["note:notes/timeline.md:14"].ts == datetime(2024, 4, 26, 9, tzinfo=UTC)
    tail = by_line["note:notes/timeline.md:16"]
    assert tail.ts is None and tail.text == "Some paragraph without any time\nspanning two lines."


def test_notes_time_of_day_without_any_date_stays_undated(tmp_path: Path) -> None:
    p = tmp_path / "n.txt"
    p.write_text("14:05 UTC paged\n\n```\ncode\n\nstill code\n```\n")
    evs, _ = split(list(NOTES.read(p, "n.txt", ReadContext(root=tmp_path))))
    assert evs[0].ts is None and evs[0].attrs["time_of_day"] == "14:05 UTC"
    assert evs[1].text == "```\ncode\n\nstill code\n```"  # a fenced block is one record


def test_manifest_fields_and_evidence() -> None:
    m = load_manifest(DUMP / "incident.yaml")
    assert m.title and m.severity == "SEV2" and m.commander == "Dana Ortiz"
    assert m.tz() == ZoneInfo("America/Los_Angeles")
    assert m.window_start == datetime(2024, 4, 25, 13, 55, tzinfo=UTC)
    assert m.window_end is not None and m.window_end - m.window_start == timedelta(minutes=95)
    assert m.services == ["ranker", "embed-gateway"] and m.opt_in_names is False and not m.problems
    evs, bad = split(list(MANIFEST.read(DUMP / "incident.yaml", "incident.yaml", ReadContext(root=DUMP))))
    assert evs[0].id == "manifest" and evs[0].attrs["severity"] == "SEV2" and not bad


def test_manifest_naive_window_uses_manifest_timezone(tmp_path: Path) -> None:
    p = tmp_path / "incident.yml"
    p.write_text('timezone: Europe/Berlin\nwindow: {start: "2024-04-25 16:00", end: "2024-04-25 17:00"}\n')
    assert load_manifest(p).window_start == datetime(2024, 4, 25, 14, tzinfo=UTC)


def test_broken_manifest_gives_messages_not_exceptions(tmp_path: Path) -> None:
    p = tmp_path / "incident.yaml"
    p.write_text("title: [unclosed\nseverity: SEV1\n")
    m = load_manifest(p)
    assert m.raw == {} and "invalid YAML" in m.problems[0]
    evs, bad = split(list(MANIFEST.read(p, "incident.yaml", ReadContext(root=tmp_path))))
    assert evs == [] and "invalid YAML" in bad[0].reason
    p.write_text("timezone: Mars/Base\nwindow: {start: yesterday}\nopt_in_names: maybe\n")
    m = load_manifest(p)
    assert m.tz() == UTC and len(m.problems) == 3
    p.write_text("- a list\n")
    assert "not a mapping" in load_manifest(p).problems[0]


def test_partial_slack_export_without_lists_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "2024-04-25.json").write_text('[{"type": "message", "user": "U1", "text": "hi", "ts": "1714054000.000100"}]')
    assert SLACK.sniff_dir(tmp_path)
    (tmp_path / "inc" / "2024-04-25.json").write_text('[{"a": 1}]')
    assert not SLACK.sniff_dir(tmp_path)
