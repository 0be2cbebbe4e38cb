"""structure: the canonical report shape (seed formatting rules).

Errors: a canonical section missing (full review) or out of order; timeline rows without a UTC
timestamp or a source. Warnings: the summary lacks impact or the top 3 actions; a hypothesis written
outside italics; missing Severity header. A light review needs only summary, timeline, root causes
and action items.
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.markdown import (
    CANONICAL_ORDER,
    CANONICAL_TITLES,
    Section,
    is_marked,
    tables,
)
from agent.validators.patterns import ACTION_ID, EVIDENCE_ID, ISO_TS, TIME_ONLY
from agent.validators.rules.light_review import review_type, severity_of

RULE_ID = "structure"
_LIGHT_REQUIRED = ["summary", "timeline", "root_causes", "action_items"]
_HYPOTHESIS = re.compile(r"^\W*(?:hypothesis|h\d+)\b\s*[:.-]|\bwe hypothesi[sz]e\b", re.IGNORECASE)
_SOURCE_COL = re.compile(r"source|evidence|ref", re.IGNORECASE)
_TIME_COL = re.compile(r"time|utc|when", re.IGNORECASE)


def _summary_checks(ctx: Context) -> list[ValidationFinding]:
    secs = ctx.doc.sections_of("summary")
    if not secs:
        return []
    text = "\n".join(ctx.doc.section_text(s) for s in secs)
    out = []
    if not re.search(r"\bimpact\b", text, re.IGNORECASE):
        out.append(finding(RULE_ID, "warning", "Executive Summary does not state the impact.", line=secs[0].start,
                           section=secs[0].title, suggestion="Add an **Impact** block to the summary."))
    n_actions = len(set(ACTION_ID.findall(text)))
    listed = re.search(r"(?:top|key|recommended)[^\n]{0,30}actions?", text, re.IGNORECASE)
    if n_actions < 3 and not listed:
        out.append(finding(RULE_ID, "warning", "Executive Summary does not list the top 3 recommended actions.",
                           line=secs[0].start, section=secs[0].title,
                           suggestion="Add 'Top actions:' with the three highest-leverage action items (by id)."))
    return out


# A timeline row as the checks see it: line, time cell, source cell, the row as text.
_Row = tuple[int, str, str, str]


def _table_rows(tbls: list[list[tuple[int, list[str]]]]) -> list[_Row]:
    """Rows of timeline tables, reading the time and source columns from each table's header."""
    rows: list[_Row] = []
    for tbl in tbls:
        header = tbl[0][1]
        ti = next((i for i, h in enumerate(header) if _TIME_COL.search(h)), 0)
        si = next((i for i, h in enumerate(header) if _SOURCE_COL.search(h)), None)
        for line, cells in tbl[1:]:
            tcell = cells[ti] if ti < len(cells) else ""
            scell = cells[si] if si is not None and si < len(cells) else ""
            rows.append((line, tcell, scell, " | ".join(cells)))
    return rows


def _list_rows(ctx: Context, sec: Section) -> list[_Row]:
    """A timeline written as a list: each item is its own time cell; its source is a cited id or
    the word "source"."""
    rows: list[_Row] = []
    for n, t in ctx.doc.prose_lines(sec):
        if re.match(r"^\s*(?:[-*+]|\d+[.)])\s+", t):
            ev = EVIDENCE_ID.search(t)
            rows.append((n, t, ev.group(0) if ev else ("source" if re.search(r"\bsource\b", t, re.IGNORECASE) else ""), t))
    return rows


def _row_checks(sec: Section, row: _Row) -> list[ValidationFinding]:
    line, tcell, scell, raw = row
    out: list[ValidationFinding] = []
    has_utc = bool(ISO_TS.search(tcell)) and bool(re.search(r"Z\b|UTC|\+00:?00", tcell)) or (
        bool(TIME_ONLY.search(tcell)) and "UTC" in (tcell + " " + sec.title))
    if not has_utc and not is_marked(tcell):
        out.append(finding(RULE_ID, "error", "Timeline entry without a precise UTC timestamp.", line=line,
                           section=sec.title, text=raw,
                           suggestion="Use 'YYYY-MM-DD HH:MM:SS UTC' (or mark [DATA GAP])."))
    if not scell.strip() or scell.strip() in {"-", "–", "—", "?"}:
        out.append(finding(RULE_ID, "error", "Timeline entry without a source.", line=line, section=sec.title,
                           text=raw, suggestion="Cite the record (e.g. `log:app.jsonl:42`) or write [DATA GAP]."))
    return out


def _timeline_checks(ctx: Context) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    for sec in ctx.doc.sections_of("timeline"):
        tbls = tables(ctx.doc, sec)
        rows = _table_rows(tbls) if tbls else _list_rows(ctx, sec)
        if not rows:
            out.append(finding(RULE_ID, "error", "Timeline has no entries.", line=sec.start, section=sec.title,
                               suggestion="Add a table: UTC Timestamp | Event | Source / Evidence."))
        for row in rows:
            out += _row_checks(sec, row)
    return out


def _section_checks(ctx: Context) -> list[ValidationFinding]:
    """Canonical sections present (all of them, or the light-review four) and in order."""
    top = ctx.doc.top_sections() or [s for s in ctx.doc.sections if s.level > 0]
    seen: list[tuple[str, int, str]] = []  # first section of each canonical kind: kind, line, title
    for s in top:
        if s.kind in CANONICAL_ORDER and all(k != s.kind for k, _, _ in seen):
            seen.append((s.kind, s.start, s.title))
    return _presence_checks([k for k, _, _ in seen], review_type(ctx) == "light") + _order_checks(seen)


def _presence_checks(kinds: list[str], light: bool) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    required = _LIGHT_REQUIRED if light else CANONICAL_ORDER
    for k in required:
        if k not in kinds:
            out.append(finding(RULE_ID, "error", f"Missing section: {CANONICAL_TITLES[k]}.",
                               suggestion=f"Add '## {CANONICAL_TITLES[k]}' in canonical order."))
    for k in CANONICAL_ORDER:
        if k not in required and k not in kinds:
            out.append(finding(RULE_ID, "warning", f"Light review without a {CANONICAL_TITLES[k]} section.",
                               suggestion="Optional for a light review; add it if there is material."))
    return out


def _order_checks(seen: list[tuple[str, int, str]]) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    order = [CANONICAL_ORDER.index(k) for k, _, _ in seen]
    for i in range(1, len(order)):
        if order[i] < order[i - 1]:
            _, line, title = seen[i]
            out.append(finding(RULE_ID, "error", f"Section '{title}' is out of canonical order.", line=line,
                               section=title, suggestion="Order: " + " → ".join(CANONICAL_TITLES[c] for c in CANONICAL_ORDER)))
    if seen and seen[0][0] != "summary":
        out.append(finding(RULE_ID, "error", "The report does not open with a TL;DR / Executive Summary.",
                           suggestion="Start with '## Executive Summary' (impact + top 3 actions)."))
    return out


def _hypothesis_checks(ctx: Context) -> list[ValidationFinding]:
    return [finding(RULE_ID, "warning", "Working hypothesis not in italics.", line=u.line,
                    section=u.section.title, text=u.text, suggestion="Write hypotheses in *italics*.")
            for u in ctx.doc.units()
            if _HYPOTHESIS.search(u.plain) and not re.search(r"(?<!\*)\*(?!\*)[^*]+\*|(?<!_)_(?!_)[^_]+_", u.text)]


def check(ctx: Context) -> list[ValidationFinding]:
    out = _section_checks(ctx)
    if severity_of(ctx) is None:
        out.append(finding(RULE_ID, "warning", "No '**Severity**: P0-P3' header.", suggestion="Add the severity."))
    return out + _summary_checks(ctx) + _timeline_checks(ctx) + _hypothesis_checks(ctx)


RULE = Rule(RULE_ID, check, "error", "Canonical sections in order, summary with impact and top actions, UTC-sourced timeline.")
