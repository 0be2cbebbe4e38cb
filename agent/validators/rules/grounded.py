"""grounded: every fact-shaped token must come from the evidence (hard rule 1, "never fabricate").

Checked tokens and why their severities differ:
- cited evidence ids that do not resolve -> error: a citation to nothing is a fabricated source.
- UTC timestamps absent from the evidence (to the stated precision; HH:MM:00 counts as minute
  precision) -> error: timelines are the spine
  of a postmortem and a wrong time silently reorders cause and effect.
- quoted log lines (inline code or quotes that look like log output) not found verbatim -> error:
  a quotation claims to be verbatim.
- numbers with units, commit shas and named metrics -> warning: durations, rates and ratios are
  legitimately derived rather than copied, short shas may be abbreviated differently, and metric
  names are often written without their exporter prefix; a human should look, emission need not stop.
Anything in a sentence/table row carrying [ASSUMPTION] or [DATA GAP], or listed in
`report.computed_facts`, is accepted. Without an evidence lookup the rule reports nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.markdown import Unit, is_marked, metadata, tables
from agent.validators.patterns import DATE, EVIDENCE_ID, ISO_TS, QUANTITY, TIME_ONLY

RULE_ID = "grounded"
MARK = "Mark it [ASSUMPTION] (or [DATA GAP] with what would close it), cite the record it came from, or register it as a computed fact."
_INLINE_CODE = re.compile(r"`([^`]+)`")
_QUOTED = re.compile(r"\"([^\"]{12,})\"|“([^”]{12,})”")
_LOGISH = re.compile(
    r"\b(?:ERROR|WARN(?:ING)?|INFO|CRITICAL|FATAL|DEBUG|Traceback|Exception|OOM|OutOfMemory\w*|CUDA|panic|"
    r"killed|timed out|timeout)\b|\bstatus[=:]\s?\d{3}\b|\bHTTP/\d|\berror:|\w+=\S+\s+\w+=\S+"
)
_METRIC = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*_(?:total|seconds|bucket|count|sum|ratio|bytes|ms|rate|usd))(\{.*\})?$")
_SHA = re.compile(r"(?<![\w:/.-])([0-9a-f]{7,40})(?![\w-])")
_ITALIC = re.compile(r"(?<!\*)\*(?!\*)[^*]+\*(?!\*)")


COMPUTED_SECTION = "appendix: computed values"


def _declared(ctx: Context) -> list[str]:
    """Values a report declares as derived, with their derivation, in an "Appendix: Computed
    values" table (first column). Our renderer writes one; any team may use the convention."""
    out: list[str] = []
    for sec in ctx.doc.sections:
        if sec.title.strip().lower().startswith(COMPUTED_SECTION):
            for table in tables(ctx.doc, sec):
                out += [cells[0].replace(",", "").lower() for _, cells in table[1:] if cells]
    return out


def _computed(ctx: Context) -> tuple[list[str], list[float]]:
    texts: list[str] = _declared(ctx)
    values: list[float] = []
    for f in ctx.report.computed_facts if ctx.report else []:
        if isinstance(f, dict):
            if f.get("text") is not None:
                texts.append(str(f["text"]).replace(",", "").lower())
            try:
                values.append(float(f["value"]))
            except (KeyError, TypeError, ValueError):
                pass
    return texts, values


def _incident_date(ctx: Context) -> date | None:
    if ctx.report and ctx.report.incident_date:
        return ctx.report.incident_date
    m = DATE.search(metadata(ctx.doc).get("incident date", ""))
    if m:
        try:
            return date.fromisoformat(m.group(0))
        except ValueError:
            return None
    return None


def _ts_found(ctx: Context, d: date, hh: str, mm: str, ss: str | None) -> bool:
    assert ctx.evidence is not None
    try:
        base = datetime(d.year, d.month, d.day, int(hh), int(mm), tzinfo=UTC)
    except ValueError:
        return False
    # ":00" seconds usually means "to the minute" (renderers pad), so it gets the minute window.
    if ss is not None and ss != "00":
        return ctx.evidence.has_timestamp(base + timedelta(seconds=int(ss)), 1.0)
    return ctx.evidence.has_timestamp(base + timedelta(seconds=30), 30.5)


def check(ctx: Context) -> list[ValidationFinding]:
    if ctx.evidence is None:
        return []
    ev = ctx.evidence
    out: list[ValidationFinding] = []
    facts, fact_values = _computed(ctx)
    day = _incident_date(ctx)

    def add(u: Unit, sev: str, msg: str, token: str) -> None:
        out.append(finding(RULE_ID, sev, msg, line=u.line, section=u.section.title, text=token, suggestion=MARK))  # type: ignore[arg-type]

    def is_fact(token: str) -> bool:
        t = token.replace(",", "").lower().strip()
        return any(t and t in f for f in facts)

    for u in ctx.doc.units():
        raw = u.text
        if is_marked(raw):
            continue
        # Evidence ids.
        ids = set()
        for m in EVIDENCE_ID.finditer(raw):
            eid = m.group(0).rstrip(".:")
            ids.add(eid)
            if not ev.exists(eid):
                add(u, "error", f"Cited evidence id `{eid}` does not resolve to any record.", eid)
        scrubbed = EVIDENCE_ID.sub(" ", raw)
        # Timestamps.
        iso_spans: list[tuple[int, int]] = []
        for m in ISO_TS.finditer(scrubbed):
            iso_spans.append(m.span())
            if is_fact(m.group(0)):
                continue
            try:
                d = date.fromisoformat(m.group(1))
            except ValueError:
                add(u, "error", f"Timestamp `{m.group(0)}` is not a valid date.", m.group(0))
                continue
            if not _ts_found(ctx, d, m.group(2), m.group(3), m.group(4)):
                add(u, "error", f"Timestamp `{m.group(0).strip()}` matches no evidence record.", m.group(0).strip())
        if "UTC" in scrubbed or re.search(r"\d{2}:\d{2}Z", scrubbed):
            for m in TIME_ONLY.finditer(scrubbed):
                if any(a <= m.start() < b for a, b in iso_spans) or is_fact(m.group(0)):
                    continue
                if day is None:
                    add(u, "warning", f"Time `{m.group(0)}` has no date and the incident date is unknown.", m.group(0))
                    continue
                if not any(_ts_found(ctx, dd, m.group(1), m.group(2), m.group(3)) for dd in (day, day + timedelta(days=1))):
                    add(u, "error", f"Time `{m.group(0)} UTC` matches no evidence record on {day.isoformat()}.", m.group(0))
        codes = [c.group(1) for c in _INLINE_CODE.finditer(scrubbed)]
        quotes = [q.group(1) or q.group(2) for q in _QUOTED.finditer(scrubbed)]
        # Quoted log lines.
        for q in codes + quotes:
            q = q.replace("\\|", "|")  # Markdown table cells escape pipes
            if len(q) >= 12 and _LOGISH.search(q):
                frags = [f.strip() for f in re.split(r"\.\.\.|…", q) if len(f.strip()) >= 8]
                if frags and not any(ev.contains_text(f) for f in frags):
                    add(u, "error", f"Quoted log text `{q[:80]}` is not found verbatim in the evidence.", q)
        # Named metrics.
        for c in codes:
            mm = _METRIC.match(c.strip())
            if mm and not ev.contains_text(mm.group(1)):
                add(u, "warning", f"Metric `{mm.group(1)}` does not appear in the evidence.", mm.group(1))
        # Commit shas outside evidence ids.
        no_code = _INLINE_CODE.sub(lambda m: " " + m.group(1) + " ", scrubbed)
        for m in _SHA.finditer(no_code):
            sha = m.group(1)
            if not (re.search(r"\d", sha) and re.search(r"[a-f]", sha)):
                continue
            if _sha_known(ctx, sha):
                continue
            add(u, "warning", f"Commit-like hash `{sha}` is not in the commit history provided.", sha)
        # Numbers with units (not in action items: those are targets, not observations).
        if u.section.kind == "action_items":
            continue
        italic_free = _ITALIC.sub(" ", no_code)  # italics are hypotheses, already flagged as unverified
        italic_free = ISO_TS.sub(" ", italic_free)
        italic_free = TIME_ONLY.sub(" ", italic_free)
        italic_free = _SHA.sub(" ", italic_free)
        for m in QUANTITY.finditer(italic_free):
            num, unit = m.group(1), m.group(2)
            if not unit:
                continue
            if _number_ok(ctx, num, unit, is_fact, fact_values):
                continue
            add(u, "warning", f"Quantity `{m.group(0).strip()}` is not found in the evidence or the computed facts.", m.group(0).strip())
    return out


def _sha_known(ctx: Context, sha: str) -> bool:
    ev = ctx.evidence
    assert ev is not None
    prefix_fn = getattr(ev, "has_id_prefix", None)
    if prefix_fn is not None and prefix_fn("commit:" + sha[:12]):
        return True
    return ev.exists("commit:" + sha[:12]) or ev.contains_text(sha)


def _number_ok(ctx: Context, num: str, unit: str, is_fact, fact_values: list[float]) -> bool:  # type: ignore[no-untyped-def]
    ev = ctx.evidence
    assert ev is not None
    clean = num.replace("$", "").replace(" ", "")
    variants = [f"{clean}{unit}", f"{clean} {unit}", f"{num}{unit}", f"{num} {unit}"]
    if any(is_fact(v) for v in variants) or is_fact(clean):
        return True
    try:
        val = float(clean.replace(",", "").rstrip("kKmM"))
    except ValueError:
        val = None
    if val is not None and any(abs(val - v) < 1e-9 for v in fact_values):
        return True
    if any(ev.contains_text(v) for v in variants):
        return True
    digits = re.sub(r"\D", "", clean)
    return (len(digits) >= 3 or "." in clean) and ev.contains_text(clean)


RULE = Rule(
    id=RULE_ID,
    check=check,
    severity="error",
    description="Timestamps, numbers, shas, quoted log lines, metrics and cited evidence ids exist in the evidence.",
    needs_evidence=True,
)
