"""Feature-flag and config audit logs as CHANGE records.

Shapes (as their public APIs return them, whole documents or one entry per line):
  LaunchDarkly  GET /api/v2/auditlog: {"items": [{"_id", "date" (epoch ms), "kind", "name", "title",
                "description", "member": {...}, "accesses": [{"action", "resource"}], ...}]}
  Unleash       event log: {"events": [{"id", "type", "createdAt", "createdBy", "featureName",
                "environment", "project", "data", "preData", ...}]}
  Flagsmith     GET /api/v1/audit/: {"results": [{"id", "created_date", "log", "author": {...},
                "environment": {...}, "related_object_type", ...}]}
Each entry becomes `change:<rel>:<index>` (index from 1, file order) with attrs change_type,
target, action, actor, environment, before, after (bounded) and a one-line human summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import parse_ts

MAX_VALUE_CHARS = 2000  # before/after kept whole up to this many characters of JSON, else clipped
MAX_DIFFS = 4  # changed fields named in the one-line summary
_LIST_KEYS = ("items", "events", "results", "auditLogs", "entries", "data")

_LD_HEAD = (re.compile(r'"accesses"\s*:\s*\['), re.compile(r'"date"\s*:\s*\d'))
_UNLEASH_HEAD = (re.compile(r'"createdAt"\s*:'), re.compile(r'"createdBy"\s*:'),
                 re.compile(r'"type"\s*:\s*"[a-z]+(-[a-z]+)+"'))
_FLAGSMITH_HEAD = (re.compile(r'"created_date"\s*:'), re.compile(r'"log"\s*:\s*"'),
                   re.compile(r'"related_object_type"\s*:|"author"\s*:'))

_VERBS = {
    "enabled": "enabled", "disabled": "disabled", "created": "created", "create": "created",
    "deleted": "deleted", "delete": "deleted", "archived": "archived", "archive": "archived",
    "revived": "revived", "update": "updated", "updated": "updated", "change": "updated",
    "changed": "updated", "add": "added", "added": "added", "remove": "removed", "removed": "removed",
    "imported": "imported", "import": "imported", "tagged": "tagged", "untagged": "untagged",
}


def is_launchdarkly(item: dict[str, Any]) -> bool:
    return isinstance(item.get("accesses"), list) or ("_id" in item and "date" in item and "kind" in item)


def is_unleash(item: dict[str, Any]) -> bool:
    return "type" in item and "createdAt" in item and ("featureName" in item or "createdBy" in item)


def is_flagsmith(item: dict[str, Any]) -> bool:
    return "created_date" in item and "log" in item


_SHAPES: tuple[Callable[[dict[str, Any]], bool], ...] = (is_launchdarkly, is_unleash, is_flagsmith)


def iter_entries(path: Path, rel: str, ctx: ReadContext, head: str,
                 list_keys: tuple[str, ...] = _LIST_KEYS) -> Iterator[tuple[str, Any, Any] | Malformed]:
    """(locator, entry, whole document or None) for a JSON document or a JSON Lines file."""
    if common.one_entry_per_line(head):
        for item in common.iter_json_lines(path, rel, ctx):
            if isinstance(item, Malformed):
                yield item
            else:
                yield f"line {item[0]}", item[1], None
        return
    doc, bad = common.load_json_doc(path, rel)
    if bad is not None:
        yield bad
        return
    items = common.doc_items(doc, list_keys)
    if items is None:
        items = [doc] if isinstance(doc, dict) else []  # a file holding a single entry
    if not items:
        yield Malformed(source=rel, reason="no entries found in the document")
        return
    for i, entry in enumerate(items, 1):
        yield f"entry {i}", entry, doc


def _head_matches(head: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return all(p.search(head) for p in patterns)


class FlagAuditReader(common.JsonExportReader, name="flags", sample_lines=3):
    def judge(self, sample: common.JsonSample) -> bool:
        entries = sample.lines if sample.lines is not None else common.doc_items(sample.doc, _LIST_KEYS)
        if entries:
            first = entries[0]
            return isinstance(first, dict) and any(shape(first) for shape in _SHAPES)
        # A document bigger than the sniff window: judge by the keys of its first entries.
        return any(_head_matches(sample.text, pats) for pats in (_LD_HEAD, _UNLEASH_HEAD, _FLAGSMITH_HEAD))

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        with open(path, "rb") as f:
            head = f.read(65536).decode("utf-8", errors="replace")
        rid = common.id_part(rel)
        index = 0
        for item in iter_entries(path, rel, ctx, head):
            if isinstance(item, Malformed):
                yield item
                continue
            locator, entry, _doc = item
            fields = _fields(entry) if isinstance(entry, dict) else None
            if fields is None:
                yield Malformed(source=rel, locator=locator, reason="not a recognised flag audit entry")
                continue
            index += 1
            yield _evidence(fields, rel, rid, index, locator, ctx)


def _fields(entry: dict[str, Any]) -> dict[str, Any] | None:
    if is_unleash(entry):
        return _unleash(entry)
    if is_launchdarkly(entry):
        return _launchdarkly(entry)
    if is_flagsmith(entry):
        return _flagsmith(entry)
    return None


def bounded(value: Any) -> Any:
    """A before/after value kept as JSON when small, else its clipped JSON text."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= MAX_VALUE_CHARS:
        return value
    return common.clip(text, MAX_VALUE_CHARS)


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    if isinstance(value, dict) and depth < 4:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1))
        return out
    return {prefix: value}


def changed_leaves(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """(last key, shown before, shown after) for every leaf field that differs, in field order."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    a, b = _flatten(before), _flatten(after)
    return [(key.rsplit(".", 1)[-1], _show(a.get(key)), _show(b.get(key)))
            for key in dict.fromkeys([*a, *b]) if a.get(key) != b.get(key)]


def diff_summary(before: Any, after: Any) -> str:
    """'rollout 10 → 50' style list of changed leaf fields (named by their last key)."""
    changes = [f"{key} {old} → {new}" for key, old, new in changed_leaves(before, after)]
    more = f" (+{len(changes) - MAX_DIFFS} more)" if len(changes) > MAX_DIFFS else ""
    return ", ".join(changes[:MAX_DIFFS]) + more


def _show(v: Any) -> str:
    if v is None:
        return "none"
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return common.clip(s, 60)


def _verb(word: str) -> str | None:
    return _VERBS.get(word.lower())


def _unleash(e: dict[str, Any]) -> dict[str, Any]:
    etype = str(e.get("type") or "")
    parts = etype.split("-")
    subject_tokens = parts[1:-1] if parts and parts[0] == "feature" else parts[:-1]
    subject = " ".join(t for t in subject_tokens if t != "environment")
    action = _verb(parts[-1]) or etype
    data, pre = e.get("data"), e.get("preData")
    detail = common.as_dict(data).get("name") or common.as_dict(pre).get("name")
    is_flag = etype.startswith("feature") or bool(e.get("featureName"))
    return {
        "ts": e.get("createdAt"), "change_type": "flag" if is_flag else "config",
        "target": e.get("featureName") or common.as_dict(data).get("name"), "action": action, "raw_action": etype,
        "actor": e.get("createdBy"), "environment": e.get("environment"), "project": e.get("project"),
        "before": pre, "after": data, "subject": f"{subject} {detail}".strip() if subject else "",
        "event_id": e.get("id"), "source_format": "unleash", "tags": e.get("tags") or None,
    }


_LD_ENV = re.compile(r"(?:^|:)env/([^:;/]+)")
_LD_FLAG = re.compile(r"(?:^|:)flag/([^:;/]+)")
_LD_ON = re.compile(r"\bturned (on|off)\b", re.I)


def _ld_actor(e: dict[str, Any]) -> str | None:
    member = common.as_dict(e.get("member"))
    name = " ".join(str(member[k]) for k in ("firstName", "lastName") if member.get(k))
    for who in (name, member.get("email"), common.as_dict(e.get("token")).get("name"),
                common.as_dict(e.get("app")).get("name"), common.as_dict(e.get("subject")).get("name")):
        if who:
            return str(who)
    return None


def _ld_action(e: dict[str, Any], actions: list[str]) -> str:
    words = " ".join(str(e.get(k) or "") for k in ("title", "shortDescription", "description", "titleVerb"))
    m = _LD_ON.search(words)
    if m:
        return "enabled" if m.group(1).lower() == "on" else "disabled"
    first = actions[0] if actions else ""
    low = first.lower()
    if low == "updateon":
        return "toggled"
    for prefix, verb in (("create", "created"), ("delete", "deleted"), ("updateglobalarchived", "archived"),
                         ("archive", "archived"), ("update", "updated"), ("copy", "copied")):
        if low.startswith(prefix):
            return verb
    return first or "updated"


def _launchdarkly(e: dict[str, Any]) -> dict[str, Any]:
    actions: list[str] = []
    env = flag = None
    for access in e.get("accesses") or []:
        a = common.as_dict(access)
        if a.get("action"):
            actions.append(str(a["action"]))
        res = str(a.get("resource") or "")
        env = env or (m.group(1) if (m := _LD_ENV.search(res)) else None)
        flag = flag or (m.group(1) if (m := _LD_FLAG.search(res)) else None)
    kind = str(e.get("kind") or "")
    current = common.as_dict(e.get("currentVersion"))
    return {
        "ts": e.get("date"), "change_type": "flag" if kind == "flag" or flag else "config",
        "target": flag or e.get("name"), "action": _ld_action(e, actions), "raw_action": ",".join(actions) or None,
        "actor": _ld_actor(e), "environment": env, "before": e.get("previousVersion"),
        "after": e.get("currentVersion"), "version": current.get("version"), "comment": e.get("comment"),
        "subject": "", "event_id": e.get("_id"), "source_format": "launchdarkly",
        "title": common.clip(str(e.get("title") or e.get("shortDescription") or e.get("description") or ""), 300) or None,
    }


_FS_TARGET = (re.compile(r"\bfor feature:?\s*['\"]?([^\s'\"]+)"), re.compile(r"\bfeature\s+['\"]([^'\"]+)['\"]"),
              re.compile(r":\s*['\"]?([^\s'\"]+)['\"]?\s*$"))
_FS_VERB = re.compile(r"\b(created|updated|deleted|enabled|disabled|removed|added)\b", re.I)


def _flagsmith(e: dict[str, Any]) -> dict[str, Any]:
    log = str(e.get("log") or "")
    target = next((m.group(1) for p in _FS_TARGET if (m := p.search(log))), None)
    verb = _FS_VERB.search(log)
    author = common.as_dict(e.get("author"))
    name = " ".join(str(author[k]) for k in ("first_name", "last_name") if author.get(k))
    env = e.get("environment")
    env_name = common.as_dict(env).get("name") if isinstance(env, dict) else env
    rtype = str(e.get("related_object_type") or "")
    return {
        "ts": e.get("created_date"), "change_type": "flag" if rtype.startswith("FEATURE") or "feature" in log.lower()
        else "config", "target": target, "action": verb.group(1).lower() if verb else "updated",
        "raw_action": rtype or None, "actor": name or author.get("email") or author.get("username"),
        "environment": env_name, "project": common.as_dict(e.get("project")).get("name"), "before": None, "after": None,
        "subject": "", "event_id": e.get("id"), "source_format": "flagsmith", "title": common.clip(log, 300) or None,
    }


def _summary(f: dict[str, Any]) -> str:
    what = "flag" if f["change_type"] == "flag" else "config"
    text = f"{what} {f.get('target') or '?'}"
    if f.get("subject"):
        text += f": {f['subject']}"
    text += f" {f['action']}"
    if f.get("environment"):
        text += f" in {f['environment']}"
    if f.get("actor"):
        text += f" by {f['actor']}"
    diff = diff_summary(f.get("before"), f.get("after"))
    if diff:
        text += f" ({diff})"
    if f.get("title"):
        text += f" | {f['title']}"
    if f.get("comment"):
        text += f" | comment: {common.clip(str(f['comment']), 300)}"
    return text


def _evidence(f: dict[str, Any], rel: str, rid: str, index: int, locator: str, ctx: ReadContext) -> Evidence:
    parsed = parse_ts(f.get("ts"), ctx.default_tz)
    attrs = {k: v for k, v in f.items() if k not in ("ts", "subject") and v is not None and v != ""}
    for key in ("before", "after"):
        if key in attrs:
            attrs[key] = bounded(attrs[key])
    if f.get("subject"):
        attrs["detail"] = f["subject"]
    return common.make(
        EvidenceKind.CHANGE, f"change:{rid}:{index}", rel, locator,
        ts=parsed[0] if parsed else None, assumed=parsed[1] if parsed else False,
        level="info", text=_summary(f), attrs=attrs,
    )


READER = FlagAuditReader()
