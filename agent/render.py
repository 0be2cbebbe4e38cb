"""Render a Report to Markdown (canonical section order) and JSON.

Plain Python rather than a template engine: table cells need escaping, and validators report
findings by line, so the exact line layout is easier to keep stable here.
"""

from __future__ import annotations

import json
import re

from agent.model import Report, TimelineEvent, fmt_value, iso_z
from agent.offline.detection import human_duration
from agent.offline.mechanism import render as mechanism_section
from agent.offline.synthesis import short_action

STATUS_MARK = {"confirmed": "confirmed", "likely": "likely", "inconclusive": "inconclusive",
               "rejected": "rejected"}


# Markdown that text from the dump (a manifest title, a log line quoted in a finding) must never
# form: a line break could start a heading, list or link definition of its own; `![x](u)` and
# `[x](u)` make images (fetched when the report is viewed) and links; `<` opens raw HTML and
# autolinks. Written escaped, the text reads the same once rendered. `[DATA GAP]`-style markers
# are kept as they are: a bracket alone makes no link.
_MD_INLINE = (("<", "\\<"), ("![", "!\\["), ("](", "]\\("))


def inline(text: object) -> str:
    """Text from the dump, safe on one Markdown line: one line, no link, image or HTML."""
    out = " ".join(str(text).split())
    for raw, safe in _MD_INLINE:
        out = out.replace(raw, safe)
    return out


def cell(text: str) -> str:
    return inline(text).replace("|", "\\|")


def ids(evidence: list[str]) -> str:
    return ", ".join(f"`{e}`" for e in evidence) if evidence else "[DATA GAP] no source"


def some_ids(evidence: list[str], limit: int = 2) -> str:
    """The first ids of a long list: the reader needs one to check, the JSON report keeps all (the
    header says so once, so the count of the rest is all a line needs)."""
    more = len(evidence) - limit
    return ids(evidence[:limit]) + (f" (+{more} more)" if more > 0 else "")


def cited(evidence: list[str], status: str, limit: int = 2, statement: str = "") -> str:
    """Ids for a finding, less those its statement already cites: capped, except on a confirmed
    claim, whose line must carry its proof (the undo and the recovery records, or the reproduction)
    for the `confidence` rule and the reader."""
    rest = [i for i in evidence if i not in statement] or evidence[:1]
    return ids(rest) if status == "confirmed" else some_ids(rest, limit)


BRIEF_CHARS = 180
_MARKER = re.compile(r"\[(?:ASSUMPTION|DATA GAP)[^\]]*\]")
_OPEN_CLOSE = {"`": "`", "\u201c": "\u201d", '"': '"'}
_CUT_INSIDE = {"`", "\u201d"}  # closers of spans a cut may shorten (a verbatim prefix plus "…")


def _cut_points(text: str) -> tuple[int, int, str]:
    """(last clause boundary outside quotations, last word boundary, the closer of the span that
    word boundary is in, or "") in `text`; -1 where there is none."""
    closing: str | None = None
    clause = word = -1
    word_in = ""
    for i, ch in enumerate(text):
        if closing is not None:
            if ch == closing:
                closing = None
            elif ch == " ":
                word, word_in = i, closing
        elif ch in _OPEN_CLOSE:
            closing = _OPEN_CLOSE[ch]
        elif text.startswith(("; ", ". ", ", "), i):
            clause = i
        elif ch == " ":
            word, word_in = i, ""
    return clause, word, word_in


def brief(text: str, limit: int = BRIEF_CHARS) -> str:
    """Text cut near `limit`: at a clause boundary outside quotations when one is near, else at a
    word boundary; a quotation cut inside is closed after "…", so what stays of it is a verbatim
    prefix. A marker ([ASSUMPTION], [DATA GAP]) in the part that goes is kept after the cut: the
    fact it qualifies stays qualified."""
    one = " ".join(str(text).split())
    if len(one) <= limit:
        return one
    clause, word, inside = _cut_points(one[:limit])
    if clause >= limit * 2 // 3 or (clause > 0 and inside and inside not in _CUT_INSIDE):
        cut, closer = clause, ""
    elif word > 0 and (not inside or inside in _CUT_INSIDE):
        cut, closer = word, inside
    else:
        return one
    kept = one[:cut].rstrip(" ,;")
    if closer and kept.endswith(("`", "\u201c")):  # nothing of the quotation would be left
        kept, closer = kept[:-1].rstrip(" ,;:"), ""
    markers = [m for m in dict.fromkeys(_MARKER.findall(one[cut:])) if m not in kept]
    return kept + (f"…{closer}" if closer else " …") + "".join(f" {m}" for m in markers)


def _ts(e: TimelineEvent) -> str:
    return iso_z(e.timestamp) + (" [ASSUMPTION: zone]" if e.assumed else "")


# Characters a Mermaid timeline would read as syntax, written as Mermaid entity codes (`#58;`),
# which Mermaid decodes back to the character when it draws the label. Why each one:
#   `:` separates events on a line; `#` starts a comment in a period, and `#...;` is itself an
#   entity code; `;` closes one; `%` starts comments and `%%{...}%%` directives (evidence must not
#   configure the renderer); `<` `>` `&` would be read as HTML in the drawn label; a backtick run
#   could close the Markdown code fence around the diagram.
MERMAID_ESCAPES = {c: f"#{ord(c)};" for c in ":#;%<>&`"}
MERMAID_LABEL_CHARS = 48


def mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid timeline period or event, shown as written once rendered."""
    one_line = " ".join(str(text).split())
    return "".join(MERMAID_ESCAPES.get(c, c) for c in one_line)


def _short(text: str, limit: int = MERMAID_LABEL_CHARS) -> str:
    # Shortened before escaping, so an entity code is never cut in half.
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3].rstrip() + "..."


# Rows the table and the diagram share: how it started, was seen, handled and ended. Each category
# keeps its first rows (and, where the end matters, its last), so the story runs through resolution.
_KEEP_FIRST = {"trigger": 2, "anomaly": 2, "alert": 1, "page": 1, "detection": 1, "declared": 1, "ack": 1,
               "user_report": 1, "mitigation": 1, "recovery": 1, "resolution": 1}
_KEEP_LAST = {"mitigation", "recovery", "resolution"}
KEY_ROWS_MAX = 10
EVENT_CHARS = 120


def key_rows(timeline: list[TimelineEvent]) -> list[TimelineEvent]:
    """The key rows of a timeline, in time order: first rows of each key category, the last
    mitigation, recovery and resolution, then decisions while there is room."""
    picked: list[int] = []
    for cat, n in _KEEP_FIRST.items():
        picked += [i for i, e in enumerate(timeline) if e.category == cat][:n]
    picked += [max(i for i, e in enumerate(timeline) if e.category == c)
               for c in _KEEP_LAST if any(e.category == c for e in timeline)]
    chosen = sorted(set(picked))
    room = KEY_ROWS_MAX - len(chosen)
    if room > 0:
        chosen = sorted(set(chosen) | set([i for i, e in enumerate(timeline) if e.category == "decision"][:min(room, 2)]))
    if len(chosen) > KEY_ROWS_MAX:  # keep the ending: drop from the middle of the anomalies first
        ends = {i for i in chosen if timeline[i].category in _KEEP_LAST}
        rest = [i for i in chosen if i not in ends]
        chosen = sorted(ends | set(rest[: KEY_ROWS_MAX - len(ends)]))
    return [timeline[i] for i in chosen]


_SAID_IN = re.compile(r"^(?P<what>[^`:]*?)(?: in #[\w.-]+)?: `(?P<said>[^`]+)`$")


def gist(event: str) -> str:
    """What a row says, for a short label: a statement's own words rather than the channel it was
    posted in (the table row keeps both)."""
    m = _SAID_IN.match(event.strip())
    return m.group("said") if m else event


def _mermaid(timeline: list[TimelineEvent]) -> list[str]:
    """The diagram of the given rows (the caller passes the key rows the table shows)."""
    if len(timeline) < 2:
        return []
    out = ["```mermaid", "timeline", "    title Key moments (UTC)"]
    for e in timeline:
        period = mermaid_text(e.timestamp.strftime("%H:%M:%S"))
        out.append(f"    {period} : {mermaid_text(e.category + ' - ' + _short(gist(e.event)))}")
    out.append("```")
    return out


def _header(r: Report) -> list[str]:
    return [
        f"# Postmortem: {inline(r.title)}",
        "",
        f"**Incident Date**: {r.incident_date or '[DATA GAP]'}  ",
        f"**Postmortem Date**: {r.postmortem_date}  ",
        f"**Severity**: {r.severity}{' (provisional)' if r.severity_provisional else ''} ({r.review_type} review)  ",
        f"**Incident Commander**: {inline(r.commander)}  ",
        "**Postmortem Lead**: postmortem-lead (Principal AI Postmortem Lead method)  ",
        f"**Follow-up review**: {inline(r.follow_up_review or '[DATA GAP]')}",
        "",
        "> This review is blameless: it looks at systems, processes, incentives and missing controls, "
        "not at individuals. Where a list of evidence ids ends in \"(+N more)\", the JSON report has "
        "every id.",
        "",
    ] + _evidence_warning(r)


def _evidence_warning(r: Report) -> list[str]:
    """Missing evidence stated before anything concluded from the rest (severity included)."""
    if not r.severity_provisional:
        return []
    reason = r.severity_provisional_reason or "[DATA GAP] part of the evidence could not be read"
    return [f"> **Data gap — severity is provisional**: {inline(reason)}. Findings that depend on the missing "
            "evidence may change once it is read; see Data Gaps & Assumptions.", ""]


def _impact_lines(r: Report) -> list[str]:
    out = ["**Impact**", f"- Customers / users affected: {inline(r.impact.users_affected or '[DATA GAP]')}"]
    if r.impact.metrics:
        out.append("- Business / compute / quality impact:")
        for m in _key_metrics(r):
            out.append(f"  - **{inline(m.name)}: {fmt_value(m.value)} {inline(m.unit)}** — {inline(brief(m.detail, 80))} "
                       f"({some_ids(m.evidence, 1)})")
        more = len(r.impact.metrics) - len(_key_metrics(r))
        if more > 0:
            out.append(f"  - {more} more measurement(s) in the JSON report (`impact.metrics`).")
    for g in r.impact.data_gaps:
        out.append(f"- {inline(g)}")
    out.append(f"- Safety or trust exposure: {inline(r.impact.safety_exposure or _safety_line(r))}")
    return out


KEY_METRICS_MAX = 4


def _key_metrics(r: Report) -> list:  # type: ignore[type-arg]
    """One line per measured quantity: a series that peaked in several records is named once."""
    seen: set[str] = set()
    out = []
    for m in r.impact.metrics:
        if m.name not in seen:
            seen.add(m.name)
            out.append(m)
    return out[:KEY_METRICS_MAX]


def _safety_line(r: Report) -> str:
    if any(m.startswith("safety.") for m in r.failure_modes):
        return ("Safety-relevant behaviour reached users in this incident "
                f"({', '.join(f'`{m}`' for m in r.failure_modes if m.startswith('safety.'))}); the "
                "exposure per user is a [DATA GAP] until affected conversations are counted.")
    return "None found in the evidence (no safety-category failure mode was classified)."


def _summary(r: Report) -> list[str]:
    out = ["## Executive Summary", "", "**TL;DR**"]
    out += [f"- {inline(s)}" for s in r.summary]
    out.append("")
    out += _impact_lines(r)
    out += ["", "**Top 3 recommended actions**"]
    out += [f"{i}. **{a.id}** {inline(short_action(a.action))} (owner: {inline(a.owner)}, due {a.due})"
            for i, a in enumerate(r.action_items[:3], 1)] or ["1. [DATA GAP] No action could be derived."]
    return out + [""]


def _timeline(r: Report, appendix: bool = False) -> list[str]:
    rows = key_rows(r.timeline)
    out = ["## Timeline", "", "| UTC Timestamp | Event | Source / Evidence |", "|---|---|---|"]
    for e in rows:
        out.append(f"| {_ts(e)} | {cell(brief(e.event, EVENT_CHARS))} | {cell(some_ids(e.evidence, 1))} |")
    if not r.timeline:
        out.append("| [DATA GAP] | No dated evidence was found | — |")
    out.append("")
    if len(rows) < len(r.timeline):
        out += [f"Key rows: {len(rows)} of {len(r.timeline)}; the full timeline is in the JSON report "
                "(`timeline`)" + (" and the appendix." if appendix else "."), ""]
    out += _mermaid(rows)
    return out + [""]


def _detection(r: Report) -> list[str]:
    d = r.detection
    out = ["## Detection & Initial Response", ""]
    out.append(f"- **Detected by**: {inline(d.detected_by)}" + (f" — {inline(d.detection_detail)}" if d.detection_detail else ""))
    rows = [
        ("First anomaly", d.first_anomaly_at, None, ""),
        ("Detected", d.detected_at, d.time_to_detect_s, "time to detect (from first anomaly)"),
        ("Acknowledged", d.acknowledged_at, d.time_to_acknowledge_s, "time to acknowledge (from detection)"),
        ("First mitigation", d.mitigated_at, d.time_to_mitigate_s, "time to mitigate (from first anomaly)"),
        ("Resolved", d.resolved_at, d.time_to_resolve_s, "time to resolve (from first anomaly)"),
    ]
    out += ["", "| Moment | UTC Timestamp | Duration | Definition |", "|---|---|---|---|"]
    for name, ts, secs, definition in rows:
        out.append(f"| {name} | {iso_z(ts) if ts else '[DATA GAP]'} | "
                   f"{human_duration(secs) if definition else '—'} | {definition or 'onset'} |")
    out.append("")
    out.append(f"Sources: {some_ids(d.evidence, 2)}")
    for g in d.data_gaps:
        out.append(f"- {inline(g)}")
    return out + [""]


def factor_name(factor: str) -> str:
    return "non-determinism" if factor == "non_determinism" else factor.replace("_", " ")


TOP_CHANGES = 3
_POINTS = re.compile(r"\(([+-]\d+(?:\.\d+)?)\)")
_CITED = re.compile(r"\s*\([a-z]+:[^()]*\)")


def why_ranked(reasons: list[str], n: int = 2) -> str:
    """The reasons that weighed most, on one line (every reason stays in the JSON report)."""
    def points(reason: str) -> float:
        m = _POINTS.search(reason)
        return float(m.group(1)) if m else 0.0
    top = sorted(reasons, key=points, reverse=True)[:n]
    return "; ".join(brief(_CITED.sub("", r), 90) for r in top)


def _changes(r: Report) -> list[str]:
    if not r.suspected_triggers:
        return ["[DATA GAP] No commit or deploy record precedes the first anomaly."]
    out = ["| Rank | Change | Reached production (UTC) | Score | Why ranked (strongest reasons) |", "|---|---|---|---|---|"]
    for i, t in enumerate(r.suspected_triggers[:TOP_CHANGES], 1):
        out.append(f"| {i} | `{t.ref[:12]}` {cell(brief(t.summary, 80))} ({cell(some_ids(t.evidence, 1))}) | "
                   f"{iso_z(t.at) if t.at else '[DATA GAP]'} | {t.score:.2f} | {cell(why_ranked(t.reasons))} |")
    more = len(r.suspected_triggers) - TOP_CHANGES
    if more > 0:
        out += ["", f"{more} lower-ranked change(s) and every scoring reason are in the JSON report "
                "(`suspected_triggers`)."]
    return out


def _mechanism(r: Report, appendix: bool) -> list[str]:
    """The mechanism section (owned by agent/offline/mechanism.py); its settings line and per-link
    table repeat the chain and the hypotheses, so only the appendix form carries them."""
    stated_in = next((f.id for f in r.root_causes
                      if r.mechanism is not None and r.mechanism.chain and r.mechanism.chain in f.statement), "")
    return mechanism_section(r.mechanism, appendix, stated_in)


def _analysis(r: Report, appendix: bool = False) -> list[str]:
    out = ["## Technical Analysis", "", "### Change analysis", ""]
    out += _changes(r)
    out += ["", f"**Last known good**: {inline(r.last_known_good)}", "", "### Failure modes (AI taxonomy)", ""]
    out += [f"- `{m}`" for m in r.failure_modes] or ["- [DATA GAP] No failure mode matched the evidence."]
    out += ["", "### AI-native factors", ""] + _ai_table(r)
    out += ["", "### Hypotheses", ""]
    for h in r.hypotheses:
        mark = " [ASSUMPTION]" if h.assumption else ""
        out.append(f"- *{inline(h.statement)}*{mark} — status: **{h.status}** "
                   f"({cited(h.evidence, h.status, 2, h.statement)})")
    out += [""] + _mechanism(r, appendix)
    out += ["### 5 Whys", ""]
    for i, w in enumerate(r.five_whys, 1):
        out.append(f"{i}. **{inline(w.question)}** {inline(brief(w.answer, WHY_CHARS))}"
                   + (f" ({some_ids(w.evidence, 1)})" if w.evidence else ""))
    out += ["", "### Barrier analysis", "", "| Barrier | State | Note | Evidence |", "|---|---|---|---|"]
    for b in r.barriers:
        out.append(f"| {cell(b.name)} | {b.state} | {cell(_barrier_note(r, b.note))} | "
                   f"{cell(some_ids(b.evidence, 1)) if b.evidence else '—'} |")
    if r.specialists:
        out += ["", "### Limits of this analysis", ""]
        out += [f"- {inline(s)}" for s in r.specialists]
    return out + [""]


WHY_CHARS = 220
NOTE_CHARS = 110
FINDING_CHARS = 170


def _ai_table(r: Report) -> list[str]:
    """One row per factor, its finding shortened (the full finding is in the JSON report)."""
    out = ["| Factor | Applies | Finding | Evidence |", "|---|---|---|---|"]
    for item in r.ai_lens:
        out.append(f"| {factor_name(item.factor)} | {'yes' if item.applies else 'no'} | "
                   f"{cell(brief(item.finding, FINDING_CHARS))} | "
                   f"{cell(some_ids(item.evidence, 1)) if item.evidence else '—'} |")
    return out


def _barrier_note(r: Report, note: str) -> str:
    """A barrier whose note a contributing factor states in full points at that factor instead of
    repeating it (the factor is where the reader acts on it)."""
    for f in r.contributing_factors:
        if note and note in f.statement:
            return f"{brief(note, 60)} (see {f.id})"
    return brief(note, NOTE_CHARS)


def _causes(r: Report) -> list[str]:
    out = ["## Root Causes & Contributing Factors", "", "**Root causes**"]
    for f in r.root_causes:
        out.append(f"- **{f.id}** ({STATUS_MARK[f.status]}): {inline(f.statement)} "
                   f"({cited(f.evidence, f.status, 3, f.statement)})")
    out += ["", "**Contributing factors**"]
    for f in r.contributing_factors:
        out.append(f"- **{f.id}** ({STATUS_MARK[f.status]}): {inline(f.statement)}"
                   + (f" ({cited(f.evidence, 'likely', 2, f.statement)})" if f.evidence else ""))
    return out + [""]


def _lessons(r: Report) -> list[str]:
    out = ["## Lessons Learned", "", "**What went well**"]
    out += [f"- {inline(x)}" for x in r.went_well] or ["- [DATA GAP]"]
    out += ["", "**What could be improved**"]
    by_statement = {f.statement: f.id for f in r.contributing_factors}
    out += [f"- {by_statement[x]}: {inline(brief(x, 90))}" if x in by_statement else f"- {inline(x)}"
            for x in r.could_improve] or ["- [DATA GAP]"]
    return out + [""]


def _actions(r: Report) -> list[str]:
    out = ["## Action Items", "",
           "| ID | Action | Owner | Due Date | Verification Method | Addresses | Priority |",
           "|---|---|---|---|---|---|---|"]
    for a in r.action_items:
        out.append(f"| {a.id} | {cell(a.action)} | {cell(a.owner)} | {a.due} | {cell(a.verification)} | "
                   f"{', '.join(a.addresses)} | {a.priority} |")
    out += ["", f"Follow-up review of these actions: **{inline(r.follow_up_review)}**.", ""]
    return out


def _gaps(r: Report) -> list[str]:
    if not (r.data_gaps or r.assumptions):
        return []
    out = ["## Data Gaps & Assumptions", ""]
    out += [f"- {inline(g)}" for g in r.data_gaps]
    out += [f"- {inline(a)}" if a.startswith("[ASSUMPTION]") else f"- [ASSUMPTION] {inline(a)}" for a in r.assumptions]
    return out + [""]


def _appendix(r: Report) -> list[str]:
    inv = r.evidence_inventory
    out = ["## Appendix: Method", "",
           f"- Severity rule: {inline(r.severity_rationale)}",
           f"- Review depth: {inline(r.review_rationale)}"]
    if inv:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(dict(inv.get('kinds', {})).items()))
        out.append(f"- Evidence: {inv.get('records', 0)} records ({kinds}); {inv.get('malformed', 0)} "
                   f"malformed; {inv.get('untrusted', 0)} flagged as instruction-like and treated as data only.")
        red = inv.get("redactions") or {}
        if red:
            out.append("- Redacted before analysis: " + ", ".join(f"{k} x{v}" for k, v in sorted(red.items())))
    return out + [""]


def _computed_values(r: Report) -> list[str]:
    """Every derived value with how it was derived: the reader can check it, and `validate`
    accepts declared derivations when it has no JSON report beside the Markdown."""
    rows: dict[str, tuple[str, str]] = {}
    for f in r.computed_facts:
        text = str(f.get("text") or "").strip()
        if text and text not in rows:
            ev = f.get("evidence") or []
            rows[text] = (str(f.get("derivation") or ""), ids(list(ev)) if ev else "—")
    if not rows:
        return []
    out = ["## Appendix: Computed values", "", "| Value | How it was derived | Sources |", "|---|---|---|"]
    out += [f"| {cell(t)} | {cell(d)} | {cell(src)} |" for t, (d, src) in rows.items()]
    return out + [""]


def render_markdown(r: Report, appendix: bool = False) -> str:
    """The report people read; `appendix` adds the method, the full mechanism table and every
    computed value (all of them are in the JSON report either way)."""
    if r.review_type == "light":
        return render_light(r, appendix)
    parts = (_header(r) + _summary(r) + _timeline(r, appendix) + _detection(r) + _analysis(r, appendix)
             + _causes(r) + _lessons(r) + _actions(r) + _gaps(r))
    if appendix:
        parts += _appendix(r) + _full_timeline(r) + _computed_values(r)
    return "\n".join(parts).rstrip() + "\n"


def _full_timeline(r: Report) -> list[str]:
    if len(key_rows(r.timeline)) == len(r.timeline):
        return []
    out = ["## Appendix: Full timeline", "", "| UTC Timestamp | Event | Source / Evidence |", "|---|---|---|"]
    out += [f"| {_ts(e)} | {cell(e.event)} | {cell(ids(e.evidence))} |" for e in r.timeline]
    return out + [""]


def render_light(r: Report, appendix: bool = False) -> str:
    """The shorter form for minor incidents (hard rule 11)."""
    out = _header(r)
    out += ["> **Light review.** " + inline(r.review_rationale), ""]
    out += _summary(r) + _timeline(r, appendix) + _detection(r)
    out += ["## Technical Analysis", ""]
    if r.suspected_triggers:
        t = r.suspected_triggers[0]
        out.append(f"- Top suspected trigger: `{t.ref[:12]}` {inline(t.summary)} ({some_ids(t.evidence, 1)})")
    out += [f"- Failure mode: `{m}`" for m in r.failure_modes]
    out += ["", "| Factor | Applies | Finding | Evidence |", "|---|---|---|---|"]
    out += [f"| {factor_name(i.factor)} | {'yes' if i.applies else 'no'} | {cell(i.finding)} | "
            f"{cell(some_ids(i.evidence)) if i.evidence else '—'} |" for i in r.ai_lens]
    out += [""]
    out += _causes(r) + _lessons(r) + _actions(r) + _gaps(r)
    if appendix:
        out += _appendix(r) + _full_timeline(r) + _computed_values(r)
    return "\n".join(out).rstrip() + "\n"


def render_json(r: Report) -> str:
    return json.dumps(r.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
