"""Support-ticket exports: Zendesk (API / export JSON, NDJSON) and Jira (REST search JSON, CSV).

What becomes a record, and when:
- A ticket (Zendesk ticket, Jira issue) is one TICKET record at its *creation* time, id
  `ticket:<rel>:<ticket id>`. `updated_at` is kept as an attr only: it is the time of the last
  change of any kind, not an event anybody could describe.
- Comments, Zendesk audits and Jira changelog entries that carry their own time are records of
  their own (`ticket:<rel>:<ticket id>:comment:<id>`, `...:audit:<id>`, `...:change:<id>`): "still
  failing for us at 14:05" is a timeline fact, and folding it into the ticket would lose its time.
  Each carries the ticket's id, subject and status so it reads on its own.
- A ticket without a usable creation time stays undated (never guessed).
Requester names and emails go into text and attrs as exported; the ingest filter redacts them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import parse_ts

MAX_BODY_CHARS = 8000  # a ticket body is quoted, not archived: keep records bounded
# Keys that only a Zendesk ticket / comment / audit carries together with a creation time.
_ZD_TICKET_KEYS = ("requester_id", "submitter_id", "via", "subject", "raw_subject", "assignee_id")
_ZD_DOC = re.compile(r'"(?:tickets|ticket|audits|comments)"\s*:\s*[\[{]')
_ZD_HINT = re.compile(r'"(?:requester_id|submitter_id|author_id|ticket_id|raw_subject)"\s*:')
_JIRA_DOC = re.compile(r'"issues"\s*:\s*\[|^\s*\{\s*"expand"\s*:')
_JIRA_HINT = re.compile(r'"key"\s*:\s*"[A-Z][A-Z0-9_]*-\d+"')
_JIRA_CSV_COLUMNS = ("Issue key", "Summary", "Created")
# Jira's CSV export writes dates in the exporting user's format; these are its defaults.
_JIRA_CSV_DATES = ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%Y-%m-%d %H:%M", "%d/%b/%y %H:%M")


def _ts(value: Any, ctx: ReadContext) -> tuple[datetime | None, bool]:
    # Both tools export times as strings; a bare number here is not a time anybody stated.
    parsed = parse_ts(value, ctx.default_tz) if isinstance(value, str) else None
    return (None, False) if parsed is None else parsed


def _scalar_id(value: Any) -> str | None:
    """An exported id (number or string); anything else cannot name a record."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        return None
    return str(value).strip()


def _name(ref: Any) -> str | None:
    """A person as exported: an object's display name (email beside it), or a bare string."""
    if isinstance(ref, str) and ref.strip():
        return ref.strip()
    d = common.as_dict(ref)
    name = d.get("displayName") or d.get("name") or d.get("display_name")
    email = d.get("emailAddress") or d.get("email")
    if name and email and email != name:
        return f"{name} <{email}>"
    v = name or email
    return str(v) if v else None


def _label(ref: Any) -> str | None:
    """A Jira status / priority / type object, or a plain value."""
    if isinstance(ref, dict):
        v = ref.get("name") or ref.get("value")
        return str(v) if v else None
    return str(ref) if isinstance(ref, (str, int)) and str(ref) else None


def adf_text(node: Any) -> str:
    """Plain text of a Jira description/comment: a string (API v2) or an Atlassian Document (v3)."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(adf_text(n) for n in node)
    d = common.as_dict(node)
    if d.get("type") == "text":
        return str(d.get("text") or "")
    if d.get("type") == "hardBreak":
        return "\n"
    if d.get("type") == "mention":
        return str(common.as_dict(d.get("attrs")).get("text") or "")
    inner = adf_text(d.get("content") or [])
    block = d.get("type") in ("paragraph", "heading", "listItem", "codeBlock", "blockquote", "rule")
    return inner + "\n" if block and inner else inner


class TicketReader:
    name = "ticket"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        if _looks_like_jira_csv(head):
            return True
        if common.looks_like_jsonl(head):
            objs = common.json_lines_objects(head)
            return sum(1 for o in objs if _is_zendesk_ticket(o) or _is_jira_issue(o)) * 2 >= len(objs)
        start = head[:8192]
        if _ZD_DOC.search(start) and _ZD_HINT.search(head):
            return True
        if _JIRA_DOC.search(start) and _JIRA_HINT.search(head) and '"fields"' in head:
            return True
        # A bare JSON array of Zendesk tickets.
        return start.lstrip("\ufeff \t\r\n").startswith("[") and sum(
            1 for k in _ZD_TICKET_KEYS if f'"{k}"' in start) >= 3 and '"created_at"' in start

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        if path.suffix.lower() == ".csv" or _looks_like_jira_csv(common.read_head(path)):
            yield from _read_jira_csv(path, rel, ctx)
            return
        if common.looks_like_jsonl(common.read_head(path)):
            yield from self._read_ndjson(path, rel, ctx)
            return
        doc, bad = common.load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        yield from self._read_doc(doc, rel, ctx)

    def _read_ndjson(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        for item in common.iter_json_lines(path, rel, ctx):
            if isinstance(item, Malformed):
                yield item
                continue
            lineno, obj = item
            where = f"line {lineno}"
            if _is_jira_issue(obj):
                yield from _jira_issue(obj, rel, ctx, where)
            elif isinstance(obj, dict) and obj.get("id") is not None:
                yield from _zendesk_ticket(obj, rel, ctx, where, {})
            else:
                yield Malformed(source=rel, locator=where, reason="not a ticket: no id")

    def _read_doc(self, doc: Any, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        if isinstance(doc, list):
            doc = {"tickets": doc}
        if not isinstance(doc, dict):
            yield Malformed(source=rel, reason="ticket export is not a JSON object or array")
            return
        if isinstance(doc.get("issues"), list) or _is_jira_issue(doc):
            issues = doc["issues"] if isinstance(doc.get("issues"), list) else [doc]
            for i, issue in enumerate(issues, 1):
                yield from _jira_issue(issue, rel, ctx, f"issue {i}")
            return
        users = _zendesk_users(doc.get("users"))
        tickets = list(doc.get("tickets") or []) if isinstance(doc.get("tickets"), list) else []
        if isinstance(doc.get("ticket"), dict):
            tickets.insert(0, doc["ticket"])
        for i, t in enumerate(tickets, 1):
            yield from _zendesk_ticket(t, rel, ctx, f"ticket {i}", users)
        if isinstance(doc.get("audits"), list):
            for i, audit in enumerate(doc["audits"], 1):
                yield _zendesk_audit(audit, rel, ctx, f"audit {i}", users)
        if isinstance(doc.get("comments"), list):
            owner = _single_ticket_id(doc)
            for i, c in enumerate(doc["comments"], 1):
                yield _zendesk_comment(c, owner, {}, rel, ctx, f"comment {i}", users)


def _is_zendesk_ticket(obj: Any) -> bool:
    return isinstance(obj, dict) and "created_at" in obj and sum(1 for k in _ZD_TICKET_KEYS if k in obj) >= 2


def _is_jira_issue(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("key"), str) and isinstance(obj.get("fields"), dict)


def _single_ticket_id(doc: dict[str, Any]) -> str | None:
    """The ticket a bare comment list belongs to, when the document itself says so."""
    t = doc.get("ticket")
    if isinstance(t, dict) and t.get("id") is not None:
        return str(t["id"])
    return str(doc["ticket_id"]) if doc.get("ticket_id") is not None else None


def _zendesk_users(users: Any) -> dict[str, str]:
    """Sideloaded users (`?include=users`): id -> "name <email>" as exported."""
    out: dict[str, str] = {}
    for u in users if isinstance(users, list) else []:
        if isinstance(u, dict) and u.get("id") is not None:
            name = _name(u)
            if name:
                out[str(u["id"])] = name
    return out


def _person(obj: dict[str, Any], key: str, users: dict[str, str]) -> str | None:
    """`requester` / `author` as an object or a name, else the sideloaded user behind `<key>_id`."""
    direct = _name(obj.get(key))
    if direct:
        return direct
    pid = obj.get(f"{key}_id")
    return users.get(str(pid)) if pid is not None else None


def _zendesk_ticket(
    t: Any, rel: str, ctx: ReadContext, where: str, users: dict[str, str]
) -> Iterator[Evidence | Malformed]:
    tid = _scalar_id(t.get("id")) if isinstance(t, dict) else None
    if tid is None or not isinstance(t, dict):
        yield Malformed(source=rel, locator=where, reason="ticket without id")
        return
    ts, assumed = _ts(t.get("created_at"), ctx)
    subject = str(t.get("subject") or t.get("raw_subject") or "")
    tags = [str(x) for x in t.get("tags") or [] if isinstance(x, (str, int))]
    attrs: dict[str, Any] = {
        "ticket_id": tid, "status": t.get("status"), "priority": t.get("priority"),
        "requester": _person(t, "requester", users), "subject": subject, "tags": tags,
        "created_at": t.get("created_at"), "updated_at": t.get("updated_at"), "system": "zendesk",
    }
    for key in ("requester_id", "assignee_id", "type", "organization_id", "group_id"):
        if t.get(key) is not None:
            attrs[key] = t[key]
    channel = common.as_dict(t.get("via")).get("channel")
    if channel:
        attrs["via"] = channel
    body = common.clip(str(t.get("description") or ""), MAX_BODY_CHARS)
    text = _ticket_text("Zendesk ticket #" + tid, attrs, body)
    yield common.make(EvidenceKind.TICKET, f"ticket:{common.id_part(rel)}:{common.id_part(tid)}", rel, f"ticket {tid}",
               ts=ts, assumed=assumed, text=text, attrs=attrs)
    comments = t.get("comments")
    for i, c in enumerate(comments if isinstance(comments, list) else [], 1):
        yield _zendesk_comment(c, tid, attrs, rel, ctx, f"{where} comment {i}", users)


def _ticket_text(title: str, attrs: dict[str, Any], body: str) -> str:
    state = ", ".join(str(attrs[k]) for k in ("status", "priority") if attrs.get(k))
    text = f"{title}{' [' + state + ']' if state else ''}: {attrs.get('subject') or '(no subject)'}"
    if body and body.strip() != str(attrs.get("subject") or "").strip():
        text += "\n" + body
    extra = []
    if attrs.get("requester"):
        extra.append(f"requester: {attrs['requester']}")
    if attrs.get("tags"):
        extra.append("tags: " + ", ".join(attrs["tags"]))
    if attrs.get("via"):
        extra.append(f"via {attrs['via']}")
    return text + (f"\n({'; '.join(extra)})" if extra else "")


def _zendesk_comment(
    c: Any, tid: str | None, ticket: dict[str, Any], rel: str, ctx: ReadContext, where: str,
    users: dict[str, str],
) -> Evidence | Malformed:
    cid = _scalar_id(c.get("id")) if isinstance(c, dict) else None
    if cid is None or not isinstance(c, dict):
        return Malformed(source=rel, locator=where, reason="ticket comment without id")
    tid = tid or _scalar_id(c.get("ticket_id"))
    ts, assumed = _ts(c.get("created_at"), ctx)
    author = _person(c, "author", users)
    body = common.clip(str(c.get("plain_body") or c.get("body") or ""), MAX_BODY_CHARS)
    attrs = _child_attrs(ticket, tid, "comment", author)
    attrs.update({"comment_id": cid, "public": c.get("public"), "created_at": c.get("created_at")})
    if c.get("author_id") is not None:
        attrs["author_id"] = c["author_id"]
    label = "private note" if c.get("public") is False else "comment"
    text = f"Zendesk ticket #{tid or '?'} {label} by {author or 'unknown'}: {body}"
    owner = common.id_part(tid) if tid else "unknown"
    return common.make(EvidenceKind.TICKET, f"ticket:{common.id_part(rel)}:{owner}:comment:{common.id_part(cid)}", rel,
                f"comment {cid}", ts=ts, assumed=assumed, text=text, attrs=attrs)


def _child_attrs(ticket: dict[str, Any], tid: str | None, entry: str, author: str | None) -> dict[str, Any]:
    """Attrs of a comment / audit / change: the ticket's own, so the record reads on its own."""
    attrs = {k: ticket.get(k) for k in ("status", "priority", "subject", "tags", "requester", "system")
             if ticket.get(k) is not None}
    attrs.update({"ticket_id": tid, "entry_type": entry, "author": author})
    return attrs


def _zendesk_audit(
    audit: Any, rel: str, ctx: ReadContext, where: str, users: dict[str, str]
) -> Evidence | Malformed:
    """One audit (a comment and/or field changes made together) as one record."""
    aid = _scalar_id(audit.get("id")) if isinstance(audit, dict) else None
    if aid is None or not isinstance(audit, dict):
        return Malformed(source=rel, locator=where, reason="ticket audit without id")
    tid = _scalar_id(audit.get("ticket_id"))
    ts, assumed = _ts(audit.get("created_at"), ctx)
    author = _person(audit, "author", users)
    parts: list[str] = []
    changes: list[dict[str, Any]] = []
    for ev in audit.get("events") or []:
        e = common.as_dict(ev)
        if e.get("type") == "Comment" and (e.get("plain_body") or e.get("body")):
            parts.append(common.clip(str(e.get("plain_body") or e.get("body")), MAX_BODY_CHARS))
        elif e.get("type") in ("Change", "Create") and e.get("field_name"):
            changes.append({"field": e["field_name"], "from": e.get("previous_value"), "to": e.get("value")})
            parts.append(f"{e['field_name']}: {e.get('previous_value') or '-'} -> {e.get('value')}")
    attrs = _child_attrs({"system": "zendesk"}, tid, "audit", author)
    attrs.update({"audit_id": aid, "changes": changes, "created_at": audit.get("created_at")})
    text = f"Zendesk ticket #{tid or '?'} update by {author or 'unknown'}: " + ("; ".join(parts) or "(no events)")
    owner = common.id_part(tid) if tid else "unknown"
    return common.make(EvidenceKind.TICKET, f"ticket:{common.id_part(rel)}:{owner}:audit:{common.id_part(aid)}", rel,
                f"audit {aid}", ts=ts, assumed=assumed, text=text, attrs=attrs)


def _jira_issue(issue: Any, rel: str, ctx: ReadContext, where: str) -> Iterator[Evidence | Malformed]:
    if not _is_jira_issue(issue):
        yield Malformed(source=rel, locator=where, reason="Jira issue without key or fields")
        return
    key = str(issue["key"])
    f = issue["fields"]
    ts, assumed = _ts(f.get("created"), ctx)
    components = [c for c in (_label(x) for x in f.get("components") or []) if c]
    attrs: dict[str, Any] = {
        "ticket_id": key, "status": _label(f.get("status")), "priority": _label(f.get("priority")),
        "requester": _name(f.get("reporter")), "subject": str(f.get("summary") or ""),
        "tags": [str(x) for x in f.get("labels") or [] if isinstance(x, (str, int))],
        "created_at": f.get("created"), "updated_at": f.get("updated"), "system": "jira",
        "issue_type": _label(f.get("issuetype")), "assignee": _name(f.get("assignee")),
        "project": _label(f.get("project")) or common.as_dict(f.get("project")).get("key"),
        "resolution": _label(f.get("resolution")), "resolved_at": f.get("resolutiondate"),
        "components": components,
    }
    attrs = {k: v for k, v in attrs.items() if v not in (None, [], "") or k in ("status", "priority", "subject")}
    body = common.clip(adf_text(f.get("description") or "").strip(), MAX_BODY_CHARS)
    yield common.make(EvidenceKind.TICKET, f"ticket:{common.id_part(rel)}:{common.id_part(key)}", rel, f"issue {key}",
               ts=ts, assumed=assumed, service=components[0] if components else None,
               text=_ticket_text("Jira " + key, attrs, body), attrs=attrs)
    comments = common.as_dict(f.get("comment")).get("comments")
    for i, c in enumerate(comments if isinstance(comments, list) else [], 1):
        yield _jira_comment(c, key, attrs, rel, ctx, f"{where} comment {i}")
    histories = common.as_dict(issue.get("changelog")).get("histories")
    for i, h in enumerate(histories if isinstance(histories, list) else [], 1):
        yield _jira_change(h, key, attrs, rel, ctx, f"{where} change {i}")


def _jira_comment(
    c: Any, key: str, issue: dict[str, Any], rel: str, ctx: ReadContext, where: str
) -> Evidence | Malformed:
    if not isinstance(c, dict) or c.get("id") is None:
        return Malformed(source=rel, locator=where, reason="Jira comment without id")
    body = common.clip(adf_text(c.get("body") or "").strip(), MAX_BODY_CHARS)
    return _jira_entry(c, "comment", "comment by", body, {}, key, issue, rel, ctx)


def _jira_change(
    h: Any, key: str, issue: dict[str, Any], rel: str, ctx: ReadContext, where: str
) -> Evidence | Malformed:
    if not isinstance(h, dict) or h.get("id") is None:
        return Malformed(source=rel, locator=where, reason="Jira changelog entry without id")
    changes = [{"field": common.as_dict(it).get("field"), "from": common.as_dict(it).get("fromString"),
                "to": common.as_dict(it).get("toString")} for it in h.get("items") or [] if common.as_dict(it).get("field")]
    said = "; ".join(f"{c['field']}: {c['from'] or '-'} -> {c['to'] or '-'}" for c in changes)
    return _jira_entry(h, "change", "changed by", said or "(no fields)", {"changes": changes}, key, issue, rel, ctx)


def _jira_entry(
    entry: dict[str, Any], kind: str, verb: str, said: str, extra: dict[str, Any],
    key: str, issue: dict[str, Any], rel: str, ctx: ReadContext,
) -> Evidence:
    """A comment or changelog entry (`kind`) of a Jira issue as a record of its own; `said` is
    what it says, `extra` the attrs only that kind has."""
    eid = str(entry["id"])
    ts, assumed = _ts(entry.get("created"), ctx)
    author = _name(entry.get("author"))
    attrs = _child_attrs(issue, key, kind, author)
    attrs.update({f"{kind}_id": eid, **extra, "created_at": entry.get("created")})
    return common.make(EvidenceKind.TICKET, f"ticket:{common.id_part(rel)}:{common.id_part(key)}:{kind}:{common.id_part(eid)}", rel,
                f"{kind} {eid}", ts=ts, assumed=assumed, service=_first(issue.get("components")),
                text=f"Jira {key} {verb} {author or 'unknown'}: {said}", attrs=attrs)


def _first(values: Any) -> str | None:
    return values[0] if isinstance(values, list) and values else None


# ---- Jira CSV export ---------------------------------------------------------------------------

def _looks_like_jira_csv(head: str) -> bool:
    first = head.lstrip("\ufeff").split("\n", 1)[0]
    return all(c in first for c in _JIRA_CSV_COLUMNS) and "," in first


def _csv_ts(value: str, ctx: ReadContext) -> tuple[datetime | None, bool]:
    ts, assumed = _ts(value, ctx)
    if ts is not None or not value.strip():
        return ts, assumed
    for fmt in _JIRA_CSV_DATES:
        try:
            naive = datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        # The export gives no zone: the dump's default zone applies, and the record says so.
        return naive.replace(tzinfo=ctx.default_tz).astimezone(timezone.utc), True
    return None, False


def _read_jira_csv(path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
    try:
        if path.stat().st_size > common.MAX_JSON_DOC_BYTES:
            yield Malformed(source=rel, reason="CSV export too large")
            return
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        yield Malformed(source=rel, reason=f"unreadable: {exc.strerror}")
        return
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows)
    except (StopIteration, csv.Error):
        yield Malformed(source=rel, reason="empty CSV export")
        return
    while True:
        start = rows.line_num + 1  # a quoted cell may span lines: locate a row by its first line
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Malformed(source=rel, locator=f"line {start}", reason=f"bad CSV row: {exc}"[:200])
            continue
        if any(cell.strip() for cell in row):
            yield from _csv_issue(header, row, rel, ctx, f"line {start}")


def _csv_issue(header: list[str], row: list[str], rel: str, ctx: ReadContext, where: str) -> Iterator[Evidence | Malformed]:
    """One CSV row as a Jira issue (repeated columns such as Labels and Comment become lists)."""
    cols: dict[str, list[str]] = {}
    for name, cell in zip(header, row):
        if cell.strip():
            cols.setdefault(name.strip(), []).append(cell)
    key = (cols.get("Issue key") or [""])[0].strip()
    if not key:
        yield Malformed(source=rel, locator=where, reason="Jira CSV row without an issue key")
        return
    one = lambda name: (cols.get(name) or [None])[0]  # noqa: E731
    fields: dict[str, Any] = {
        "summary": one("Summary"), "description": one("Description"), "status": one("Status"),
        "priority": one("Priority"), "reporter": one("Reporter"), "assignee": one("Assignee"),
        "labels": cols.get("Labels") or [], "issuetype": one("Issue Type"), "updated": one("Updated"),
        "project": one("Project key") or one("Project name"), "resolution": one("Resolution"),
        "components": cols.get("Component/s") or [],
    }
    ts, assumed = _csv_ts(one("Created") or "", ctx)
    issue = {"key": key, "fields": {k: v for k, v in fields.items() if v not in (None, [])}}
    for item in _jira_issue(issue, rel, ctx, where):
        if isinstance(item, Evidence) and item.locator == f"issue {key}":
            item.ts, item.ts_assumed = ts, assumed
            item.attrs["created_at"] = one("Created")
        yield item
    for i, cell in enumerate(cols.get("Comment") or [], 1):
        yield _csv_comment(cell, i, key, rel, ctx)


def _csv_comment(cell: str, i: int, key: str, rel: str, ctx: ReadContext) -> Evidence:
    """A CSV comment cell: "<date>;<author>;<body>" (the body may itself hold semicolons)."""
    parts = cell.split(";", 2)
    ts, assumed, author, body = None, False, None, cell
    if len(parts) == 3:
        ts, assumed = _csv_ts(parts[0], ctx)
        if ts is not None:
            author, body = parts[1].strip() or None, parts[2]
    attrs = {"ticket_id": key, "entry_type": "comment", "author": author, "system": "jira", "comment_index": i}
    return common.make(EvidenceKind.TICKET, f"ticket:{common.id_part(rel)}:{common.id_part(key)}:comment:{i}", rel,
                f"comment {i} of {key}", ts=ts, assumed=assumed, attrs=attrs,
                text=f"Jira {key} comment by {author or 'unknown'}: {common.clip(body.strip(), MAX_BODY_CHARS)}")


READER = TicketReader()
