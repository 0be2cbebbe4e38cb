"""Chat exports other than Slack's: Mattermost bulk export (JSONL), Microsoft Teams / Graph channel
and chat messages (JSON), Google Chat takeout (`messages.json`). One CHAT record per message, id
`chat:<channel>:<message id>`, attrs as for Slack (channel, user, user_id, thread_ts, bot).

Threads: a reply's `thread_ts` is its root message's id (Mattermost: the root's `create_at`, Teams:
`replyToId`, Google Chat: `topic_id`), so a thread reads back the same way whichever tool wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import from_epoch, parse_ts

MAX_MESSAGE_CHARS = 16_000
# Mattermost bulk-export line types that describe the workspace rather than say anything.
_MM_META = frozenset({"version", "scheme", "role", "team", "channel", "user", "bot", "emoji",
                      "direct_channel", "thread", "job"})
_MM_POSTS = ("post", "direct_post")
_TEAMS_KEYS = re.compile(r'"(?:createdDateTime|replyToId|channelIdentity|messageType)"\s*:')
_GCHAT_KEYS = re.compile(r'"messages"\s*:\s*\[')
_GCHAT_HINT = re.compile(r'"(?:created_date|topic_id)"\s*:')


class _HTMLText(HTMLParser):
    """Visible text of an HTML message body (Teams): tags dropped, entities decoded, block
    elements turned into line breaks. The stdlib parser never executes or fetches anything."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"})
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    p = _HTMLText()
    try:
        p.feed(html)
        p.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read so far
        pass
    lines = (" ".join(ln.split()) for ln in "".join(p.parts).split("\n"))
    return "\n".join(ln for ln in lines if ln)


class ChatExportReader:
    name = "chat"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        if common.looks_like_jsonl(head) or head.lstrip("\ufeff \t\r\n").startswith('{"type"'):
            objs = common.json_lines_objects(head)
            return bool(objs) and all(_is_mattermost(o) for o in objs)
        start = head[:8192]
        if _GCHAT_KEYS.search(start) and '"creator"' in head and _GCHAT_HINT.search(head):
            return True
        return ('"value"' in start or start.lstrip("\ufeff \t\r\n").startswith("[")) and len(
            set(_TEAMS_KEYS.findall(head))) >= 2 and '"body"' in head

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        head = common.read_head(path)
        if common.looks_like_jsonl(head) or head.lstrip("\ufeff \t\r\n").startswith('{"type"'):
            yield from _read_mattermost(path, rel, ctx)
            return
        doc, bad = common.load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        if isinstance(doc, dict) and isinstance(doc.get("messages"), list):
            yield from _read_google_chat(doc["messages"], path, rel, ctx)
        elif isinstance(doc, dict) and isinstance(doc.get("value"), list):
            yield from _read_teams(doc["value"], path, rel, ctx)
        elif isinstance(doc, list):
            yield from _read_teams(doc, path, rel, ctx)
        else:
            yield Malformed(source=rel, reason="chat export without a message list")


class _Ids:
    """Message ids unique within a file: a second message with the same id gets `-2`, `-3`, ...
    (Mattermost posts have no id of their own, and two can share a millisecond)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def make(self, channel: str, mid: str) -> str:
        base = f"chat:{common.id_part(channel)}:{common.id_part(mid)}"
        n = self._seen.get(base, 0) + 1
        self._seen[base] = n
        return base if n == 1 else f"{base}-{n}"


def _chat(eid: str, rel: str, locator: str, ts: Any, text: str, attrs: dict[str, Any]) -> Evidence:
    return common.make(EvidenceKind.CHAT, eid, rel, locator, ts=ts, assumed=False, service=None, level=None,
                text=common.clip(text, MAX_MESSAGE_CHARS), attrs=attrs)


# ---- Mattermost ------------------------------------------------------------------------------

def _is_mattermost(obj: dict[str, Any]) -> bool:
    t = obj.get("type")
    return isinstance(t, str) and (t in _MM_META or t in _MM_POSTS) and isinstance(obj.get(t), (dict, int))


def _read_mattermost(path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
    bots: set[str] = set()
    ids = _Ids()
    for item in common.iter_json_lines(path, rel, ctx):
        if isinstance(item, Malformed):
            yield item
            continue
        lineno, obj = item
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind in _MM_POSTS and isinstance(obj.get(kind), dict):
            yield from _mattermost_post(obj[kind], kind == "direct_post", bots, ids, rel, f"line {lineno}")
        elif kind in _MM_META:  # workspace description: read for bot names, carries no message
            if kind == "bot":
                name = common.as_dict(obj.get("bot")).get("username")
                if isinstance(name, str):
                    bots.add(name)
        else:
            yield Malformed(source=rel, locator=f"line {lineno}", reason=f"not a Mattermost export line (type {kind!r})")


def _mm_channel(post: dict[str, Any], direct: bool) -> str | None:
    if direct:
        members = [str(m) for m in post.get("channel_members") or [] if m]
        return "dm:" + "+".join(sorted(members)) if members else None
    ch = post.get("channel")
    return str(ch) if ch else None


def _mattermost_post(
    post: dict[str, Any], direct: bool, bots: set[str], ids: _Ids, rel: str, where: str
) -> Iterator[Evidence | Malformed]:
    channel = _mm_channel(post, direct)
    root = _mm_message(post, channel, None, bots, ids, rel, where)
    yield root
    if isinstance(root, Malformed):
        return
    for i, reply in enumerate(post.get("replies") or [], 1):
        if not isinstance(reply, dict):
            yield Malformed(source=rel, locator=f"{where} reply {i}", reason="reply is not an object")
            continue
        yield _mm_message(reply, channel, root.attrs["thread_ts"], bots, ids, rel, f"{where} reply {i}")


def _mm_message(
    msg: dict[str, Any], channel: str | None, thread: str | None, bots: set[str], ids: _Ids, rel: str,
    where: str,
) -> Evidence | Malformed:
    created = msg.get("create_at")
    ts = from_epoch(float(created)) if isinstance(created, (int, float)) and not isinstance(created, bool) else None
    if ts is None or channel is None:
        why = "without a channel" if channel is None else "without a valid create_at"
        return Malformed(source=rel, locator=where, reason=f"Mattermost post {why}")
    mid = str(created)
    props = common.as_dict(msg.get("props"))
    user = msg.get("user") if isinstance(msg.get("user"), str) else None
    bot = user in bots or str(props.get("from_bot")).lower() == "true" or str(props.get("from_webhook")).lower() == "true"
    text = str(msg.get("message") or "")
    for att in props.get("attachments") or []:  # webhook / bot attachments carry the alert text
        a = common.as_dict(att)
        text += "".join(f"\n{a[k]}" for k in ("pretext", "title", "text") if isinstance(a.get(k), str) and a[k])
    for att in msg.get("attachments") or []:
        path = common.as_dict(att).get("path")
        if path:
            text += f"\n[attachment: {Path(str(path)).name}]"
    attrs: dict[str, Any] = {"channel": channel, "user": user, "user_id": user, "bot": bot,
                             "thread_ts": thread or mid}
    if msg.get("team"):
        attrs["team"] = msg["team"]
    if thread is not None:
        attrs["parent_ts"] = thread
    elif isinstance(msg.get("replies"), list):
        attrs["reply_count"] = len(msg["replies"])
    return _chat(ids.make(channel, mid), rel, where, ts, text, attrs)


# ---- Microsoft Teams / Graph -----------------------------------------------------------------

def _read_teams(messages: list[Any], path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
    ids = _Ids()
    fallback = path.stem
    for i, msg in enumerate(messages, 1):
        yield _teams_message(msg, None, fallback, ids, rel, f"message {i}", ctx)
        replies = common.as_dict(msg).get("replies")
        for j, reply in enumerate(replies if isinstance(replies, list) else [], 1):
            yield _teams_message(reply, common.as_dict(msg).get("id"), fallback, ids, rel, f"message {i} reply {j}", ctx)


def _teams_sender(msg: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """(display name, id, bot) of a message's sender: a user, or an application (bot, connector)."""
    frm = common.as_dict(msg.get("from"))
    user = common.as_dict(frm.get("user"))
    if user:
        return user.get("displayName"), user.get("id"), False
    app = common.as_dict(frm.get("application"))
    if app:
        return app.get("displayName"), app.get("id"), True
    return None, None, False


def _teams_text(msg: dict[str, Any]) -> str:
    body = common.as_dict(msg.get("body"))
    content = str(body.get("content") or "")
    text = html_to_text(content) if str(body.get("contentType") or "").lower() == "html" else content.strip()
    if msg.get("subject"):
        text = f"{msg['subject']}\n{text}" if text else str(msg["subject"])
    for att in msg.get("attachments") or []:
        name = common.as_dict(att).get("name")
        if name:
            text += f"\n[attachment: {name}]"
    if msg.get("deletedDateTime"):
        text = "(message deleted)" + (f" {text}" if text else "")
    if not text and msg.get("messageType") and msg.get("messageType") != "message":
        detail = common.as_dict(msg.get("eventDetail")).get("@odata.type") or msg.get("messageType")
        text = f"(system event: {str(detail).rsplit('.', 1)[-1]})"
    return text


def _teams_message(
    msg: Any, parent: Any, fallback: str, ids: _Ids, rel: str, where: str, ctx: ReadContext
) -> Evidence | Malformed:
    if not isinstance(msg, dict) or not msg.get("id"):
        return Malformed(source=rel, locator=where, reason="Teams message without id")
    # No usable createdDateTime: the message has an id of its own, so it stays, undated.
    ts, assumed = parse_ts(msg.get("createdDateTime"), ctx.default_tz) or (None, False)
    ident = common.as_dict(msg.get("channelIdentity"))
    channel = str(ident.get("channelId") or msg.get("chatId") or fallback)
    user, user_id, bot = _teams_sender(msg)
    mid = str(msg["id"])
    reply_to = msg.get("replyToId") or parent
    attrs: dict[str, Any] = {"channel": channel, "user": user, "user_id": user_id, "bot": bot,
                             "thread_ts": str(reply_to) if reply_to else mid}
    if reply_to:
        attrs["parent_ts"] = str(reply_to)
    if isinstance(msg.get("replies"), list) and msg["replies"]:
        attrs["reply_count"] = len(msg["replies"])
    for key, attr in (("teamId", "team"),):
        if ident.get(key):
            attrs[attr] = ident[key]
    for key in ("messageType", "importance", "webUrl"):
        if msg.get(key):
            attrs[key] = msg[key]
    return common.make(EvidenceKind.CHAT, ids.make(channel, mid), rel, where, ts=ts, assumed=assumed,
                text=common.clip(_teams_text(msg), MAX_MESSAGE_CHARS), attrs=attrs)


# ---- Google Chat takeout ----------------------------------------------------------------------

def _gchat_channel(path: Path) -> str:
    """The space's name from `group_info.json` beside the messages, else the folder's name."""
    info = path.with_name("group_info.json")
    doc, bad = common.load_json_doc(info, info.name) if info.is_file() else (None, None)
    name = common.as_dict(doc).get("name") if bad is None else None
    return str(name) if isinstance(name, str) and name.strip() else path.parent.name or path.stem


def _read_google_chat(messages: list[Any], path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
    channel = _gchat_channel(path)
    ids = _Ids()
    for i, msg in enumerate(messages, 1):
        where = f"message {i}"
        if not isinstance(msg, dict):
            yield Malformed(source=rel, locator=where, reason="message is not an object")
            continue
        parsed = parse_ts(msg.get("created_date"), ctx.default_tz)
        creator = common.as_dict(msg.get("creator"))
        text = str(msg.get("text") or "")
        for f in msg.get("attached_files") or []:
            name = common.as_dict(f).get("export_name") or common.as_dict(f).get("original_name")
            if name:
                text += f"\n[attachment: {name}]"
        attrs: dict[str, Any] = {
            "channel": channel, "user": creator.get("name"), "user_id": creator.get("email"),
            "bot": str(creator.get("user_type") or "").lower() == "bot",
            "thread_ts": str(msg["topic_id"]) if msg.get("topic_id") else None,
        }
        if msg.get("message_id"):
            attrs["message_id"] = msg["message_id"]
        # Takeouts since 2023 give each message an id; older ones do not: its place in the file.
        mid = str(msg.get("message_id") or i)
        # No usable date: the message stays undated rather than borrowing a neighbour's time.
        ts, assumed = parsed or (None, False)
        yield common.make(EvidenceKind.CHAT, ids.make(channel, mid), rel, where, ts=ts, assumed=assumed,
                   text=common.clip(text, MAX_MESSAGE_CHARS), attrs=attrs)


READER = ChatExportReader()
