"""psych-safety: people appear by role, never by name or @handle, unless names were opted in (hard rule 10).

Names come from the caller (`names`, e.g. chat users and commit authors from the evidence); @handles are
recognised on their own. Code blocks are ignored; e-mail addresses are not handles.
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.subjects import HANDLE

RULE_ID = "psych-safety"
SUGGESTION = "Refer to people by role (e.g. 'the on-call SRE', 'the change author'), or opt in to names explicitly."


def check(ctx: Context) -> list[ValidationFinding]:
    if ctx.names_opt_in or (ctx.report is not None and ctx.report.names_opt_in):
        return []
    pats = [(n, re.compile(rf"(?<![\w@]){re.escape(n)}(?![\w])", re.IGNORECASE if n.islower() else 0))
            for n in sorted({n.strip() for n in ctx.names if n and len(n.strip()) >= 2}, key=len, reverse=True)]
    out: list[ValidationFinding] = []
    for u in ctx.doc.units():
        text = re.sub(r"`[^`]+`", " ", u.text)
        found = [m.group(0) for m in HANDLE.finditer(text)]
        found += [n for n, p in pats if p.search(text)]
        for who in dict.fromkeys(found):
            out.append(finding(RULE_ID, "error", f"Person referred to by name/handle ('{who}').", line=u.line,
                               section=u.section.title, text=who, suggestion=SUGGESTION))
    return out


RULE = Rule(RULE_ID, check, "error", "People referred to by role, not name or @handle, unless opted in.")
