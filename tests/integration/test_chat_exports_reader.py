"""Chat exports beyond Slack: Mattermost bulk export, Microsoft Teams (Graph), Google Chat takeout."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import HEAD_BYTES, ReadContext
from tools.readers.chat_exports import READER as CHAT
from tools.readers.chat_exports import html_to_text
from tools.readers.registry import pick_reader

UTC = timezone.utc
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "chat_exports"


def read(name: str) -> tuple[dict[str, Evidence], list[Malformed]]:
    path = FIX / name
    head = path.read_bytes()[:HEAD_BYTES].decode("utf-8", "replace")
    assert pick_reader(path, head) is CHAT, f"{name} not recognised as a chat export"
    out = list(CHAT.read(path, f"chat/{name}", ReadContext(root=FIX)))
    evs = [o for o in out if isinstance(o, Evidence)]
    assert all(e.kind is EvidenceKind.CHAT for e in evs)
    assert len({e.id for e in evs}) == len(evs), "ids must be unique"
    return {e.id: e for e in evs}, [o for o in out if isinstance(o, Malformed)]


def test_mattermost_posts_replies_direct_messages_and_bots() -> None:
    by_id, bad = read("mattermost_export.jsonl")
    root = by_id["chat:incident-42:1739196060123"]
    assert root.ts == datetime.fromtimestamp(1739196060.123, tz=UTC)
    assert root.attrs["user"] == "rsato" and root.attrs["reply_count"] == 2 and root.attrs["team"] == "ml-platform"
    reply = by_id["chat:incident-42:1739196300000"]
    assert reply.text == "I paused the reindex." and reply.attrs["thread_ts"] == "1739196060123"
    assert reply.attrs["parent_ts"] == "1739196060123" and reply.attrs["bot"] is False
    # Posts have no id of their own: a second post in the same millisecond still gets a distinct one.
    assert by_id["chat:incident-42:1739196060123-2"].text == "same millisecond as the one above"
    assert by_id["chat:incident-42:1739196000000"].attrs["bot"] is True
    dm = by_id["chat:dm:mkhan+rsato:1739196120000"]
    assert dm.attrs["channel"] == "dm:mkhan+rsato" and dm.text == "can you take comms?"
    assert len(by_id) == 6
    # Untimed post, unknown line type and a cut line: each reported, none stops the file.
    assert [m.locator for m in bad] == ["line 10", "line 11", "line 12"]
    assert "create_at" in bad[0].reason and "'mystery'" in bad[1].reason and "invalid JSON" in bad[2].reason


def test_teams_graph_messages_html_replies_and_apps() -> None:
    by_id, bad = read("teams_channel_messages.json")
    root = by_id["chat:19:abc@thread.tacv2:1739200000001"]
    assert root.ts == datetime(2025, 2, 10, 15, 6, 40, 1000, tzinfo=UTC)
    assert root.attrs["user"] == "Priya Nair" and root.attrs["user_id"] == "aad-user-1"
    assert root.attrs["bot"] is False and root.attrs["reply_count"] == 1
    # HTML body to text: entities decoded, paragraphs kept apart, mentions kept, script dropped.
    assert root.text == "Eval regression\nToxicity eval dropped to 0.71 & the canary is still live.\nPing Jon Ek"
    reply = by_id["chat:19:abc@thread.tacv2:1739200060002"]
    assert reply.attrs["bot"] is True and reply.attrs["user"] == "Deploy Bot"
    assert reply.attrs["thread_ts"] == "1739200000001" and reply.text == "Canary rolled back to v41."
    undated = by_id["chat:19:abc@thread.tacv2:1739200120003"]
    assert undated.ts is None and undated.text == "undated but kept"
    assert len(bad) == 1 and bad[0].locator == "message 3" and "without id" in bad[0].reason


def test_google_chat_takeout_space_name_threads_and_bots() -> None:
    by_id, bad = read("gchat_space/messages.json")
    first = by_id["chat:search%20quality%20war%20room:SPACE1/tPq1/tPq1"]
    assert first.attrs["channel"] == "search quality war room"  # from group_info.json beside it
    assert first.ts == datetime(2025, 2, 10, 15, 9, 51, tzinfo=UTC) and not first.ts_assumed
    assert first.attrs["user"] == "Sam Obi" and first.attrs["thread_ts"] == "tPq1"
    bot = by_id["chat:search%20quality%20war%20room:SPACE1/tPq1/x9"]
    assert bot.attrs["bot"] is True and bot.ts == datetime(2025, 2, 10, 15, 12, tzinfo=UTC)  # narrow NBSP before PM
    assert "[attachment: File-diff.txt]" in bot.text
    undated = by_id["chat:search%20quality%20war%20room:3"]  # older takeouts: no message_id, place in file
    assert undated.ts is None and undated.text == "an undated message"
    assert len(bad) == 1 and bad[0].locator == "message 4"


def test_google_chat_without_group_info_uses_the_folder(tmp_path: Path) -> None:
    space = tmp_path / "Space AAAA1234"
    space.mkdir()
    shutil.copy(FIX / "gchat_space" / "messages.json", space / "messages.json")
    out = [o for o in CHAT.read(space / "messages.json", "m.json", ReadContext(root=tmp_path)) if isinstance(o, Evidence)]
    assert {e.attrs["channel"] for e in out} == {"Space AAAA1234"}


def test_html_to_text_is_safe_on_hostile_markup() -> None:
    assert html_to_text("<p>a &lt;b&gt; c</p><style>p{}</style><img alt='chart'>") == "a <b> c\nchart"
    assert html_to_text("<div><p>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("<<<>>>&&&") == "<<<>>>&&&"


def test_chat_sniffing_leaves_logs_and_slack_days_alone(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text('{"type": "request", "ts": "2025-01-01T00:00:00Z", "msg": "ok"}\n' * 3)
    slack_day = tmp_path / "2025-01-01.json"
    slack_day.write_text('[{"type": "message", "ts": "1735689600.000100", "user": "U1", "text": "hi"}]')
    assert not CHAT.sniff(log, log.read_text()) and not CHAT.sniff(slack_day, slack_day.read_text())


def test_chat_exports_ingested_together(tmp_path: Path) -> None:
    from agent.validators.people import people
    from tools.ingest import ingest
    from tools.store.writer import StoreWriter

    dump = tmp_path / "dump"
    shutil.copytree(FIX, dump / "chat")
    writer = StoreWriter.create(tmp_path / "e.db")
    inv = ingest(dump, writer, workdir=tmp_path / "w")
    store = writer.reader()
    assert inv.kinds.get("chat") == 6 + 3 + 3
    found, total = store.search("reindex", kinds=[EvidenceKind.CHAT])
    assert total == 2 and {e.attrs["user"] for e in found} == {"rsato", "mkhan"}
    named = people(store)
    assert "Priya Nair" in named and "Deploy Bot" not in named
