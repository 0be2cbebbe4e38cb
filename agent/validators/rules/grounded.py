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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from agent.model import ValidationFinding
from agent.validators.base import Context, EvidenceLookup, Rule, finding
from agent.validators.markdown import Unit, is_marked, metadata, tables
from agent.validators.patterns import DATE, EVIDENCE_ID, ISO_TS, QUANTITY, TIME_ONLY
from agent.vocabulary import vocabulary

RULE_ID = "grounded"
# Words that make a quote look like a log line (so it must cite its record).
_WORDS = vocabulary("grounded")
MARK = "Mark it [ASSUMPTION] (or [DATA GAP] with what would close it), cite the record it came from, or register it as a computed fact."
_INLINE_CODE = re.compile(r"`([^`]+)`")
_QUOTED = re.compile(r"\"([^\"]{12,})\"|“([^”]{12,})”")
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


@dataclass
class _Scan:
    """One report's scan: what counts as a computed fact, the incident date, and the findings so far."""

    ctx: Context
    facts: list[str]
    fact_values: list[float]
    day: date | None
    out: list[ValidationFinding] = field(default_factory=list)

    @property
    def ev(self) -> EvidenceLookup:
        assert self.ctx.evidence is not None
        return self.ctx.evidence

    def add(self, u: Unit, sev: str, msg: str, token: str) -> None:
        self.out.append(finding(RULE_ID, sev, msg, line=u.line, section=u.section.title, text=token, suggestion=MARK))  # type: ignore[arg-type]

    def is_fact(self, token: str) -> bool:
        t = token.replace(",", "").lower().strip()
        return any(t and t in f for f in self.facts)


def check(ctx: Context) -> list[ValidationFinding]:
    if ctx.evidence is None:
        return []
    facts, fact_values = _computed(ctx)
    s = _Scan(ctx, facts, fact_values, _incident_date(ctx))
    for u in ctx.doc.units():
        raw = u.text
        if is_marked(raw):
            continue
        _check_ids(s, u, raw)
        scrubbed = EVIDENCE_ID.sub(" ", raw)
        iso_spans = _check_timestamps(s, u, scrubbed)
        _check_times(s, u, scrubbed, iso_spans)
        codes = [c.group(1) for c in _INLINE_CODE.finditer(scrubbed)]
        quotes = [q.group(1) or q.group(2) for q in _QUOTED.finditer(scrubbed)]
        _check_quoted_logs(s, u, codes + quotes)
        _check_metrics(s, u, codes)
        no_code = _INLINE_CODE.sub(lambda m: " " + m.group(1) + " ", scrubbed)
        _check_shas(s, u, no_code)
        # Numbers with units (not in action items: those are targets, not observations).
        if u.section.kind != "action_items":
            _check_quantities(s, u, no_code)
    return s.out


def _check_ids(s: _Scan, u: Unit, raw: str) -> None:
    for m in EVIDENCE_ID.finditer(raw):
        eid = m.group(0).rstrip(".:")
        if not s.ev.exists(eid):
            s.add(u, "error", f"Cited evidence id `{eid}` does not resolve to any record.", eid)


def _check_timestamps(s: _Scan, u: Unit, text: str) -> list[tuple[int, int]]:
    """Full UTC timestamps; returns their spans so the time-only check skips them."""
    iso_spans: list[tuple[int, int]] = []
    for m in ISO_TS.finditer(text):
        iso_spans.append(m.span())
        if s.is_fact(m.group(0)):
            continue
        try:
            d = date.fromisoformat(m.group(1))
        except ValueError:
            s.add(u, "error", f"Timestamp `{m.group(0)}` is not a valid date.", m.group(0))
            continue
        if not _ts_found(s.ctx, d, m.group(2), m.group(3), m.group(4)):
            s.add(u, "error", f"Timestamp `{m.group(0).strip()}` matches no evidence record.", m.group(0).strip())
    return iso_spans


def _check_times(s: _Scan, u: Unit, text: str, iso_spans: list[tuple[int, int]]) -> None:
    """Times without a date, in a unit that says it speaks UTC: on the incident day or the next."""
    if "UTC" not in text and not re.search(r"\d{2}:\d{2}Z", text):
        return
    day = s.day
    for m in TIME_ONLY.finditer(text):
        if any(a <= m.start() < b for a, b in iso_spans) or s.is_fact(m.group(0)):
            continue
        if day is None:
            s.add(u, "warning", f"Time `{m.group(0)}` has no date and the incident date is unknown.", m.group(0))
            continue
        if not any(_ts_found(s.ctx, dd, m.group(1), m.group(2), m.group(3)) for dd in (day, day + timedelta(days=1))):
            s.add(u, "error", f"Time `{m.group(0)} UTC` matches no evidence record on {day.isoformat()}.", m.group(0))


def _check_quoted_logs(s: _Scan, u: Unit, quoted: list[str]) -> None:
    for q in quoted:
        q = q.replace("\\|", "|")  # Markdown table cells escape pipes
        if len(q) >= 12 and _WORDS.logish.search(q):
            frags = [f.strip() for f in re.split(r"\.\.\.|…", q) if len(f.strip()) >= 8]
            if frags and not any(s.ev.contains_text(f) for f in frags):
                s.add(u, "error", f"Quoted log text `{q[:80]}` is not found verbatim in the evidence.", q)


def _check_metrics(s: _Scan, u: Unit, codes: list[str]) -> None:
    for c in codes:
        mm = _METRIC.match(c.strip())
        if mm and not s.ev.contains_text(mm.group(1)):
            s.add(u, "warning", f"Metric `{mm.group(1)}` does not appear in the evidence.", mm.group(1))


def _check_shas(s: _Scan, u: Unit, text: str) -> None:
    """Commit shas outside evidence ids."""
    for m in _SHA.finditer(text):
        sha = m.group(1)
        if not (re.search(r"\d", sha) and re.search(r"[a-f]", sha)):
            continue
        if not _sha_known(s.ctx, sha):
            s.add(u, "warning", f"Commit-like hash `{sha}` is not in the commit history provided.", sha)


def _check_quantities(s: _Scan, u: Unit, text: str) -> None:
    italic_free = _ITALIC.sub(" ", text)  # italics are hypotheses, already flagged as unverified
    italic_free = ISO_TS.sub(" ", italic_free)
    italic_free = TIME_ONLY.sub(" ", italic_free)
    italic_free = _SHA.sub(" ", italic_free)
    for m in QUANTITY.finditer(italic_free):
        num, unit = m.group(1), m.group(2)
        if unit and not _number_ok(s.ctx, num, unit, s.is_fact, s.fact_values):
            s.add(u, "warning", f"Quantity `{m.group(0).strip()}` is not found in the evidence or the computed facts.",
                  m.group(0).strip())


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
