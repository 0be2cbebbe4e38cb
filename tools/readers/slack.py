"""Slack workspace export: channels.json, users.json and <channel>/<YYYY-MM-DD>.json day files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import DEPTH_REASON, as_dict, id_part, make, too_deep
from tools.timeparse import from_epoch

_DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json$")
_CHANNEL_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
# Workspace-level files of an export; the reader consumes or ignores them, so ingestion skips them.
WORKSPACE_FILES = frozenset(
    (*_CHANNEL_LISTS, "users.json", "integration_logs.json", "canvases.json", "huddles.json", "file_conversations.json")
)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_MSG_HINT = re.compile(r'"type"\s*:\s*"message"[^{}]*"ts"\s*:|"ts"\s*:\s*"\d{9,10}\.\d+"')
_CHANNEL_REF = re.compile(r"<#C[A-Z0-9]+\|([^>]*)>")


def _load(path: Path) -> tuple[Any, str | None]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return None, f"unreadable: {exc.strerror}"
    if too_deep(text):
        return None, DEPTH_REASON
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc}"[:200]
    except RecursionError:
        return None, DEPTH_REASON


def _display_names(users: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    if not isinstance(users, list):
        return names
    for u in users:
        if not isinstance(u, dict) or not isinstance(u.get("id"), str):
            continue
        prof = as_dict(u.get("profile"))
        name = prof.get("display_name") or prof.get("real_name") or u.get("real_name") or u.get("name")
        if isinstance(name, str) and name:
            names[u["id"]] = name
    return names


def day_dirs(path: Path) -> list[Path]:
    try:
        return sorted(
            d for d in path.iterdir()
            if d.is_dir() and not d.is_symlink() and any(_DAY_FILE.match(f.name) for f in d.iterdir())
        )
    except OSError:
        return []


class SlackExportReader:
    name = "slack"

    def sniff_dir(self, path: Path) -> bool:
        days = day_dirs(path)
        if not days:
            return False
        if any((path / n).is_file() for n in _CHANNEL_LISTS) or (path / "users.json").is_file():
            return True
        # A partial export without the workspace lists: recognise the day files themselves.
        first = min(f for f in days[0].iterdir() if _DAY_FILE.match(f.name))
        try:
            with open(first, encoding="utf-8", errors="replace") as f:
                head = f.read(4096)
        except OSError:
            return False
        return head.lstrip().startswith("[") and bool(_MSG_HINT.search(head))

    def read_dir(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        prefix = f"{rel}/" if rel not in ("", ".") else ""
        users_path = path / "users.json"
        names: dict[str, str] = {}
        if users_path.is_file():
            data, err = _load(users_path)
            if err:
                yield Malformed(source=prefix + "users.json", reason=err)
            names = _display_names(data)
        for chan_dir in day_dirs(path):
            channel = chan_dir.name
            for day in sorted(f for f in chan_dir.iterdir() if _DAY_FILE.match(f.name)):
                src = f"{prefix}{channel}/{day.name}"
                data, err = _load(day)
                if err:
                    yield Malformed(source=src, reason=err)
                    continue
                if not isinstance(data, list):
                    yield Malformed(source=src, reason="day file is not a JSON list of messages")
                    continue
                for i, msg in enumerate(data):
                    yield self._one(msg, i, channel, src, names)

    def _one(self, msg: Any, i: int, channel: str, src: str, names: dict[str, str]) -> Evidence | Malformed:
        """One message, or a Malformed: a ragged message (a string where an object belongs)
        costs that message only, never the rest of the day or the channels after it."""
        try:
            ev = self._message(msg, channel, src, names)
        except (TypeError, AttributeError, ValueError, KeyError) as exc:
            return Malformed(source=src, locator=f"message {i}",
                             reason=f"message with an unexpected shape ({exc.__class__.__name__}: {exc})"[:200])
        if ev is None:
            return Malformed(source=src, locator=f"message {i}", reason="message without a valid ts")
        return ev

    def _message(self, msg: Any, channel: str, src: str, names: dict[str, str]) -> Evidence | None:
        if not isinstance(msg, dict):
            return None
        ts_raw = msg.get("ts")
        try:
            ts_f = float(ts_raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        ts = from_epoch(ts_f)
        if ts is None:
            return None
        ts_s = str(ts_raw)
        bot = msg.get("subtype") == "bot_message" or bool(msg.get("bot_id"))
        user_id = msg.get("user") if isinstance(msg.get("user"), str) else None
        prof = as_dict(msg.get("user_profile"))
        user = (
            (names.get(user_id) if user_id else None)
            or prof.get("display_name") or prof.get("real_name")
            or msg.get("username")
            or as_dict(msg.get("bot_profile")).get("name")
            or user_id
        )
        text = self._text(msg, names)
        attrs: dict[str, Any] = {"channel": channel, "user": user, "user_id": user_id, "bot": bot}
        if msg.get("thread_ts"):
            attrs["thread_ts"] = str(msg["thread_ts"])
            if str(msg["thread_ts"]) != ts_s:
                attrs["parent_ts"] = str(msg["thread_ts"])
        if msg.get("reply_count") is not None:
            attrs["reply_count"] = msg.get("reply_count")
        if isinstance(msg.get("replies"), list):
            attrs["replies"] = [str(r.get("ts")) for r in msg["replies"] if isinstance(r, dict)]
        if msg.get("subtype"):
            attrs["subtype"] = msg["subtype"]
        if msg.get("bot_id"):
            attrs["bot_id"] = msg["bot_id"]
        return make(
            EvidenceKind.CHAT, f"chat:{id_part(channel)}:{ts_s}", src, f"ts {ts_s}",
            ts=ts, assumed=False, service=None, level=None, text=text, attrs=attrs,
        )

    @staticmethod
    def _text(msg: dict[str, Any], names: dict[str, str]) -> str:
        parts: list[str] = []
        if isinstance(msg.get("text"), str) and msg["text"]:
            parts.append(msg["text"])
        for att in msg.get("attachments") or []:
            if isinstance(att, dict):
                for key in ("pretext", "title", "text", "fallback"):
                    v = att.get(key)
                    if isinstance(v, str) and v and v not in parts:
                        parts.append(v)
                        if key == "text":
                            break
        for f in msg.get("files") or []:
            if isinstance(f, dict) and isinstance(f.get("name"), str):
                parts.append(f"[file: {f['name']}]")
        text = "\n".join(parts)

        def mention(m: re.Match[str]) -> str:
            return "@" + (names.get(m.group(1)) or m.group(2) or m.group(1))

        text = _MENTION.sub(mention, text)
        text = _CHANNEL_REF.sub(lambda m: "#" + m.group(1), text)
        text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


READER = SlackExportReader()
