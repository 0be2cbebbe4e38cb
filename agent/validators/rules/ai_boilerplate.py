"""ai-boilerplate: an AI-native finding must say something about THIS incident.

A factor row that could be pasted into any report ("Eval-related records exist; whether the change
passed an eval gate ... must be confirmed") reads as analysis and tells the reader nothing. Two checks,
on the report's `ai_lens` (or, for a Markdown-only review, the rows of an "AI-native factors" table):
- the finding is one of the generic sentences this engine used to write -> error;
- a finding that says the factor applies cites no record, or names nothing concrete from the evidence
  (a `code` span, a number, a quoted string) -> warning.
A finding that states the factor does not apply or is unknown, with a [DATA GAP], is specific enough:
saying plainly that the evidence is silent is the honest answer.
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.markdown import tables

RULE_ID = "ai-boilerplate"

# Sentences this engine wrote whatever the evidence (kept so they can never come back).
GENERIC = (
    "eval-related records exist; whether the change passed an eval gate",
    "llm request trace(s) are available for prompt archaeology",
    "observations here come from this incident's runs only",
    "the failure path shown by the evidence is deterministic infrastructure or data behaviour",
    "data or index state is part of this incident",
    "provenance of the affected data should be traced to its producing job",
    "prompt or template changes near the incident should be diffed against the last good version",
    "commit(s) landed in the 7 days before the first anomaly; the top candidate landed",
)
_CONCRETE = re.compile(r"`[^`]+`|\d|[\u201c\"][^\u201d\"]{3,}[\u201d\"]")
_CITED = re.compile(r"`[a-z_]+:[^`\s]+`")
_HONEST_NO = re.compile(r"\[DATA GAP\]|\bdoes not apply\b|\bnot a factor\b|\bunknown\b", re.IGNORECASE)


def generic_phrase(text: str) -> str | None:
    low = " ".join(text.lower().split())
    return next((g for g in GENERIC if g in low), None)


def _items(ctx: Context) -> list[tuple[str, str, bool, bool, int | None]]:
    """(factor, finding, applies, cites a record, line) per AI-native finding."""
    if ctx.report is not None and ctx.report.ai_lens:
        return [(i.factor, i.finding, i.applies, bool(i.evidence), None) for i in ctx.report.ai_lens]
    out: list[tuple[str, str, bool, bool, int | None]] = []
    for sec in ctx.doc.sections:
        for tbl in tables(ctx.doc, sec):
            header = [h.lower() for h in tbl[0][1]]
            if "factor" not in header or "finding" not in header:
                continue
            fi, ai = header.index("finding"), header.index("applies") if "applies" in header else None
            for line, cells in tbl[1:]:
                text = cells[fi] if fi < len(cells) else ""
                applies = ai is None or (ai < len(cells) and cells[ai].strip().lower() != "no")
                out.append((cells[0], text, applies, bool(_CITED.search(" | ".join(cells))), line))
    return out


def check(ctx: Context) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    for factor, text, applies, cited, line in _items(ctx):
        phrase = generic_phrase(text)
        if phrase is not None:
            out.append(finding(RULE_ID, "error", f"AI-native factor '{factor}' is boilerplate (\u201c{phrase}\u201d).",
                               line=line, text=text, suggestion="State what this incident's records show for "
                               "the factor (cite them), or that it does not apply / is unknown and which export would tell."))
        elif applies and not _HONEST_NO.search(text) and not (cited and _CONCRETE.search(text)):
            out.append(finding(RULE_ID, "warning", f"AI-native factor '{factor}' names nothing concrete from the "
                               "evidence.", line=line, text=text,
                               suggestion="Cite at least one record and quote a value or name from it."))
    return out


RULE = Rule(RULE_ID, check, "error", "AI-native findings state this incident's evidence, not generic text.")
