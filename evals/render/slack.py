"""A Slack workspace export: users.json, channels.json and <channel>/<YYYY-MM-DD>.json."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from evals.render.common import Ctx
from evals.scenarios.spec import ChatMessage

TEAM = "T04ML7R2Q"


def channel_name(ctx: Ctx, key: str) -> str:
    return f"inc-{ctx.spec.date.replace('-', '')}-{ctx.spec.name}"[:80] if key == "incident" else key


def render(ctx: Ctx, chat: list[ChatMessage]) -> dict[str, str]:
    """Write the export; return {message key: "<channel>/<file>"} for planted messages."""
    spec = ctx.spec
    uid = {k: ctx.ident("U0", 9) for k in spec.people}
    bots: dict[str, str] = {}
    users = [{"id": uid[k], "team_id": TEAM, "name": p.handle, "deleted": False, "real_name": p.name,
              "tz": "Etc/UTC", "is_bot": False,
              "profile": {"title": p.title, "real_name": p.name, "display_name": p.handle}}
             for k, p in spec.people.items()]
    msgs = sorted(chat, key=lambda m: ctx.t(m.at))
    ts_of: dict[int, str] = {}
    used: set[str] = set()
    for i, m in enumerate(msgs):
        base = int(ctx.t(m.at).timestamp())
        ts = f"{base}.{ctx.rng.randrange(100, 999999):06d}"
        while ts in used:
            ts = f"{base}.{ctx.rng.randrange(100, 999999):06d}"
        used.add(ts)
        ts_of[i] = ts
    key_index = {m.key: i for i, m in enumerate(msgs) if m.key}
    records: dict[str, list[dict[str, object]]] = defaultdict(list)
    where: dict[str, str] = {}
    for i, m in enumerate(msgs):
        ch = channel_name(ctx, m.channel)
        rec: dict[str, object]
        if m.user.startswith("bot:"):
            name = m.user[4:]
            bots.setdefault(name, ctx.ident("B0", 9))
            rec = {"type": "message", "subtype": "bot_message", "text": m.text, "ts": ts_of[i],
                   "bot_id": bots[name], "username": name}
        else:
            p = spec.people[m.user]
            rec = {"client_msg_id": ctx.uuid(), "type": "message", "text": m.text, "user": uid[m.user],
                   "ts": ts_of[i], "team": TEAM,
                   "user_profile": {"real_name": p.name, "display_name": p.handle, "name": p.handle}}
        if m.reply_to:
            parent = key_index[m.reply_to]
            rec["thread_ts"] = ts_of[parent]
            rec["parent_user_id"] = uid.get(msgs[parent].user, "")
        replies = [j for j, r in enumerate(msgs) if r.reply_to and r.reply_to == m.key]
        if m.key and replies:
            rec["thread_ts"] = ts_of[i]
            rec["reply_count"] = len(replies)
            rec["reply_users"] = sorted({uid[msgs[j].user] for j in replies if not msgs[j].user.startswith("bot:")})
            rec["reply_users_count"] = len(rec["reply_users"])  # type: ignore[arg-type]
            rec["latest_reply"] = ts_of[replies[-1]]
            rec["replies"] = [{"user": uid.get(msgs[j].user, ""), "ts": ts_of[j]} for j in replies]
        day = ctx.t(m.at).strftime("%Y-%m-%d")
        records[f"{ch}/{day}.json"].append(rec)
        if m.key:
            where[m.key] = f"slack/{ch}/{day}.json"
    for rel, recs in sorted(records.items()):
        ctx.write_json(f"slack/{rel}", recs)
    created = int((ctx.t(msgs[0].at) - timedelta(minutes=2)).timestamp()) if msgs else 0
    members = sorted(uid.values())
    channels = []
    for ch_key in sorted({m.channel for m in msgs}):
        name = channel_name(ctx, ch_key)
        purpose = spec.channels.get(ch_key, f"Incident channel: {spec.title}")
        channels.append({"id": ctx.ident("C0", 9), "name": name, "created": created,
                         "creator": members[0], "is_archived": False, "is_general": False,
                         "members": members,
                         "topic": {"value": "", "creator": "", "last_set": 0},
                         "purpose": {"value": purpose, "creator": members[0], "last_set": created}})
    ctx.write_json("slack/channels.json", channels)
    ctx.write_json("slack/users.json", users)
    return where
