"""actions: no action ships with a template leftover or an empty target.

Catches what a template or a model leaves behind when a value was missing: a bare `series`,
`{svc}`, `<service>`, "TBD", a lone "X", or a target as generic as "the system". "Close the
evidence gaps" may be an action, but never one of the first three.
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.rules._actions import action_rows

RULE_ID = "actions"
_LEFTOVER = re.compile(
    r"`(?:series|metric|signal|service|svc|name|value|component|x)`|\{[^{}]*\}|<[a-z_ -]{1,30}>|"
    r"\bTBD\b|\bTODO\b|\bXXX\b|(?<![\w'-])X(?![\w'-])|\[(?:service|component|metric|name)\]",
    re.IGNORECASE)
_GENERIC = re.compile(
    r"\b(?:for|on|to|of|in) (?:the )?(?:system|service|services|component|platform|application|app|"
    r"affected service|stack)\b(?![-\w`])", re.IGNORECASE)
_GAPS = re.compile(r"\bclose the (?:evidence|data) gaps?\b", re.IGNORECASE)
SUGGESTION = ("Fill every placeholder from the evidence (the series name, the failing service) and aim the "
              "action at the named component in the failure path; drop it if the evidence has no value.")


def check(ctx: Context) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    secs = ctx.doc.sections_of("action_items")
    title = secs[0].title if secs else ""
    for n, row in enumerate(action_rows(ctx.doc)):
        ref = row.get("id") or row.get("action")[:40]
        text = " ".join(row.get(k) for k in ("action", "owner", "verification"))
        for pat, what in ((_LEFTOVER, "template leftover"), (_GENERIC, "generic target")):
            m = pat.search(text.replace("\\<", "<"))
            if m:
                out.append(finding(RULE_ID, "error", f"{ref}: {what} '{m.group(0)}' in the action.",
                                   line=row.line, section=title, text=row.raw, suggestion=SUGGESTION))
        if n < 3 and _GAPS.search(row.get("action")):
            out.append(finding(RULE_ID, "error", f"{ref}: 'close the evidence gaps' is not a top-3 action; "
                               "list it last, after the actions on causes and barriers.",
                               line=row.line, section=title, text=row.raw, suggestion=SUGGESTION))
    return out


RULE = Rule(RULE_ID, check, "error", "Actions carry no placeholder or generic target; evidence gaps are not top-3.")
