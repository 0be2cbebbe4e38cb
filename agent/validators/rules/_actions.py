"""Reads the Action Items table (or list) into rows shared by `actionable` and `no-premature-fix`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.validators.markdown import Document, tables
from agent.validators.patterns import ACTION_ID


@dataclass
class ActionRow:
    line: int
    raw: str
    cells: dict[str, str] = field(default_factory=dict)  # id, action, owner, due, verification, addresses

    def get(self, key: str) -> str:
        return self.cells.get(key, "").strip()


_COLS = {
    "id": re.compile(r"^(?:id|#|ref)$", re.IGNORECASE),
    "action": re.compile(r"action|what|task", re.IGNORECASE),
    "owner": re.compile(r"owner|who|assignee", re.IGNORECASE),
    "due": re.compile(r"due|deadline|date|when", re.IGNORECASE),
    "verification": re.compile(r"verif|success|how (?:we|will)|measure|criteria", re.IGNORECASE),
    "addresses": re.compile(r"address|root cause|cause|factor|links?|rc", re.IGNORECASE),
}
_FIELD = re.compile(r"\b(owner|due(?: date)?|verification(?: method)?|addresses)\s*[:=]\s*([^;|]+)", re.IGNORECASE)


def action_rows(doc: Document) -> list[ActionRow]:
    rows: list[ActionRow] = []
    for sec in doc.sections_of("action_items"):
        for tbl in tables(doc, sec):
            header = tbl[0][1]
            mapping: dict[int, str] = {}
            for i, h in enumerate(header):
                for key, pat in _COLS.items():
                    if key not in mapping.values() and pat.search(h):
                        mapping[i] = key
                        break
            if "action" not in mapping.values():
                continue
            for line, cells in tbl[1:]:
                row = ActionRow(line, " | ".join(cells))
                for i, c in enumerate(cells):
                    if i in mapping:
                        row.cells[mapping[i]] = c
                rows.append(row)
        if rows:
            continue
        # List form: "- AI-001: do X. Owner: ...; Due: ...; Verification: ...".
        for n, t in doc.prose_lines(sec):
            if not re.match(r"^\s*(?:[-*+]|\d+[.)])\s+", t):
                continue
            row = ActionRow(n, t.strip())
            idm = ACTION_ID.search(t)
            row.cells["id"] = idm.group(0) if idm else ""
            row.cells["action"] = _FIELD.split(t)[0]
            for key, val in _FIELD.findall(t):
                k = key.lower().split()[0]
                row.cells[k] = val.strip()
            rows.append(row)
    return rows
