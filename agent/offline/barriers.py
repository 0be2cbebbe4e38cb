"""Precursors and barriers: what could have stopped the incident, and what the evidence says
happened to it.

- precursor: a saturation series (memory, utilisation, cache usage) at >= SATURATION of its
  capacity, or a queue/latency series at >= FAR_ABOVE times its baseline, for SUSTAIN before the
  onset with no alert or page in that time;
- safeguard: a canary, gate, check, alert or test the evidence says was disabled, skipped,
  bypassed, overridden or excepted (a freeze exception) before the onset;
- environment: a stated difference between pre-production and production (GPU type, context
  length, data size, traffic).

Each is a Barrier row with its state and evidence; contributing factors are built from the rows
that failed, were bypassed, or (precursors) had no alert. Store access goes through `_metrics`,
`_statements` and `_alarms` only (tools/store.py is being split into a package).
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timedelta, timezone

from agent.model import Barrier, Detection, Finding
from agent.offline import detection as det
from agent.offline.gaps import quote, sentences
from agent.vocabulary import vocabulary
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

# Share of capacity. 0.95, not 0.90: engines that preallocate (vLLM's gpu_memory_utilization 0.90
# default) sit at ~91% by design, which is no precursor.
SATURATION = 0.95
FAR_ABOVE = 3.0  # times the baseline median
SUSTAIN = timedelta(minutes=15)
MIN_POINTS = 3
ALERT_LAG = timedelta(minutes=15)  # later than this after onset, alerting lagged
SAFEGUARD_LOOKBACK = timedelta(days=90)
STATEMENT_KINDS = [EvidenceKind.COMMIT, EvidenceKind.CHAT, EvidenceKind.NOTE, EvidenceKind.TICKET,
                   EvidenceKind.CHANGE]


# --- Store access ----------------------------------------------------------------------------

def _metrics(store: EvidenceReader) -> list[Evidence]:
    return list(store.iter(kinds=[EvidenceKind.METRIC]))


def _statements(store: EvidenceReader, fts: str, end: datetime | None) -> list[Evidence]:
    """Human-written records matching `fts`: dated before `end` (within the lookback) or undated."""
    start = end - SAFEGUARD_LOOKBACK if end is not None else None
    dated = store.match(fts, kinds=STATEMENT_KINDS, start=start, end=end, limit=300)
    undated = [e for e in store.match(fts, kinds=STATEMENT_KINDS, limit=300) if e.ts is None]
    unique = {e.id: e for e in dated + undated if not e.flags}  # with no end, `dated` holds the undated too
    return list(unique.values())


def _alarms(store: EvidenceReader, start: datetime, end: datetime) -> list[Evidence]:
    return list(store.iter(kinds=[EvidenceKind.ALERT, EvidenceKind.PAGE], start=start, end=end))


# --- (a) precursors --------------------------------------------------------------------------

SATURATION_NAME = re.compile(r"mem|fb_used|util|usage|saturation|kv_cache|cache_usage|disk|fill", re.I)
QUEUE_NAME = re.compile(r"queue|pending|waiting|backlog|latency|p99|p95|lag", re.I)
FRACTION_NAME = re.compile(r"ratio|util|usage|perc|percent|pct|saturation|fraction", re.I)
# Unit of a series by its name; DCGM framebuffer gauges are MiB by the exporter's definition.
UNIT_MIB = {"bytes": 1 / 2**20, "kib": 1 / 1024, "mib": 1.0, "mb": 1.0, "gib": 1024.0, "gb": 1024.0}
CAPACITY_IN_LABEL = re.compile(r"(\d{2,4})\s*G(?:i)?B\b", re.I)


def _name(ev: Evidence) -> str:
    return str(ev.attrs.get("name") or ev.text.split("{")[0])


def _points(ev: Evidence) -> list[tuple[float, float]]:
    pts = []
    for s in ev.attrs.get("samples") or []:
        try:
            t, v = float(s[0]), float(s[1])
        except (TypeError, ValueError, IndexError):
            continue
        if v == v:
            pts.append((t, v))
    return sorted(pts)


def _unit_mib(name: str) -> float | None:
    n = name.lower()
    if n.startswith("dcgm_fi_dev_fb_"):
        return 1.0
    return next((f for suffix, f in UNIT_MIB.items() if n.endswith("_" + suffix)), None)


def _capacity(ev: Evidence, pts: list[tuple[float, float]], free: dict[tuple[str, str], Evidence]) -> tuple[float, str] | None:
    """(capacity in the series' unit, how it is known). A series' own maximum is never used: a
    flat series would always sit at 100% of it."""
    name = _name(ev)
    labels = ev.attrs.get("labels") or {}
    twin = free.get((re.sub(r"used", "free", name, flags=re.I), _label_key(labels)))
    if twin is not None and re.search(r"used", name, re.I):
        tp = dict(_points(twin))
        sums = [v + tp[t] for t, v in pts if t in tp]
        if sums:
            return max(sums), f"used + free (`{twin.id}`)"
    peak = max(v for _, v in pts)
    if FRACTION_NAME.search(name) and peak <= 1.0:
        return 1.0, "a 0-1 ratio"
    if re.search(r"perc|percent|pct", name, re.I) and peak <= 100.0:
        return 100.0, "a percentage"
    unit = _unit_mib(name)
    label_text = " ".join(str(v) for v in labels.values())
    m = CAPACITY_IN_LABEL.search(label_text)
    if unit is not None and m:
        return float(m.group(1)) * 1024.0 / unit, f"{m.group(0)} in the series labels"
    return None


def _label_key(labels: dict[str, object]) -> str:
    return repr(sorted((k, str(v)) for k, v in labels.items()))


def _run_before(pts: list[tuple[float, float]], onset: float, hot: float) -> list[tuple[float, float]]:
    """The unbroken run of points >= `hot` that lasts up to the onset (empty if the last
    pre-onset point is below it)."""
    before = [p for p in pts if p[0] < onset]
    if not before or onset - before[-1][0] > max(2 * _step(pts), 300.0):
        return []  # the series stopped well before the onset: it says nothing about the run-up
    run: list[tuple[float, float]] = []
    for p in reversed(before):
        if p[1] < hot:
            break
        run.append(p)
    return list(reversed(run))


def _step(pts: list[tuple[float, float]]) -> float:
    gaps = [b[0] - a[0] for a, b in zip(pts, pts[1:]) if b[0] > a[0]]
    return statistics.median(gaps) if gaps else 60.0


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


class _Hot:
    """One series' pre-onset run, before it is grouped by metric name."""

    def __init__(self, ev: Evidence, run: list[tuple[float, float]], share: float, how: str) -> None:
        self.ev, self.run, self.share, self.how = ev, run, share, how
        self.since = _utc(run[0][0])


def precursors(store: EvidenceReader, onset: datetime | None) -> tuple[list[Barrier], list[dict[str, object]]]:
    """Precursor barriers (one per metric name) and the computed facts their notes quote."""
    if onset is None:
        return [], []
    metrics = _metrics(store)
    free = {(_name(e), _label_key(e.attrs.get("labels") or {})): e for e in metrics if re.search(r"free", _name(e), re.I)}
    hot: dict[str, list[_Hot]] = {}
    for ev in metrics:
        h = _saturated(ev, onset, free) or _far_above(ev, onset)
        if h is not None:
            hot.setdefault(_name(ev), []).append(h)
    out: list[Barrier] = []
    facts: list[dict[str, object]] = []
    for name, runs in hot.items():
        since = min(h.since for h in runs)
        if _alarms(store, since, onset):
            continue  # an alert fired while it was hot: the alerting row covers it
        b, f = _precursor_row(name, runs, since, onset)
        out.append(b)
        facts += f
    return out, facts


def _saturated(ev: Evidence, onset: datetime, free: dict[tuple[str, str], Evidence]) -> _Hot | None:
    name = _name(ev)
    if not SATURATION_NAME.search(name) or re.search(r"free", name, re.I):
        return None
    pts = _points(ev)
    cap = _capacity(ev, pts, free) if pts else None
    if cap is None or cap[0] <= 0:
        return None
    run = _run_before(pts, onset.timestamp(), SATURATION * cap[0])
    if not _sustained(run):
        return None
    return _Hot(ev, run, max(v for _, v in run) / cap[0], f"of capacity ({cap[1]})")


def _far_above(ev: Evidence, onset: datetime) -> _Hot | None:
    if not QUEUE_NAME.search(_name(ev)):
        return None
    pts = [p for p in _points(ev) if p[0] < onset.timestamp()]
    base_pts = pts[: max(len(pts) // 3, 1)]
    base = statistics.median(v for _, v in base_pts) if base_pts else 0.0
    if base <= 0:
        return None
    run = _run_before(pts, onset.timestamp(), FAR_ABOVE * base)
    if not _sustained(run) or run[0] == pts[0]:
        return None
    return _Hot(ev, run, max(v for _, v in run) / base, f"times its baseline median {base:g}")


def _sustained(run: list[tuple[float, float]]) -> bool:
    return len(run) >= MIN_POINTS and run[-1][0] - run[0][0] >= SUSTAIN.total_seconds()


def _precursor_row(name: str, runs: list[_Hot], since: datetime, onset: datetime) -> tuple[Barrier, list[dict[str, object]]]:
    top = max(runs, key=lambda h: h.share)
    lasted = det.human_duration((onset - since).total_seconds())
    saturation = top.how.startswith("of capacity")
    share = f"{top.share * 100:.1f}%" if saturation else f"{top.share:.1f}x"
    ids = [h.ev.id for h in sorted(runs, key=lambda h: h.since)][:3]
    note = (f"`{name}` was at up to {share} {top.how} from {since:%Y-%m-%d %H:%M} UTC until the first "
            f"anomaly ({lasted}, {len(runs)} series); no alert or page fired in that time.")
    facts: list[dict[str, object]] = [
        {"text": share, "value": top.share, "derivation": f"peak of `{name}` before onset {top.how}",
         "evidence": ids[:1]},
        {"text": lasted, "value": (onset - since).total_seconds(),
         "derivation": f"onset minus the start of `{name}`'s pre-onset run", "evidence": ids[:1]},
    ]
    label = "saturation" if saturation else "rise above baseline"
    return Barrier(name=f"Alert on `{name}` {label}", state="missing", kind="precursor", since=since,
                   note=note, evidence=ids), facts


# --- (b) disabled or bypassed safeguards -----------------------------------------------------

# Label and pattern of each safeguard, in order: the first that a sentence names is the one bypassed.
SAFEGUARDS = vocabulary("safeguards").items()
BYPASS = re.compile(
    r"\bdisabl\w*|\bskip(?:ped|ping|s)?\b|\bbypass\w*|\bturn(?:ed)? off\b|\bswitch(?:ed)? off\b|"
    r"\btemporarily off\b|\bmade optional\b|\boptional\b|\bfreeze exception\b|\bexception to the freeze\b|"
    r"--no-verify|--force\b|\bforce[- ]?(?:merged?|pushed?|deploy\w*)\b|\boverrid\w*|\bsilenc\w*|\bmuted?\b|"
    r"\bcommented out\b|\ballow_failure\b|continue-on-error", re.I)
RESTORE = re.compile(r"\bre-?enabl\w*|\benabled again\b|\bturn\w* back on\b|\brestor\w*", re.I)
SAFEGUARD_FTS = ("disable* OR skip* OR bypass* OR off OR optional OR exception OR verify OR force* OR "
                 "overrid* OR silenc* OR mute* OR commented OR allow_failure")


def _safeguard_of(sentence: str) -> str | None:
    return next((label for label, pat in SAFEGUARDS if pat.search(sentence)), None)


def safeguards(store: EvidenceReader, onset: datetime | None) -> list[Barrier]:
    """One bypassed barrier per safeguard the evidence says was disabled or bypassed before the
    onset, unless a later record before the onset says it was turned back on."""
    found: dict[str, list[tuple[Evidence, str]]] = {}
    restored: dict[str, datetime] = {}
    for ev in _statements(store, SAFEGUARD_FTS + " OR enable* OR restor*", onset):
        for s in sentences(ev.text):
            label = _safeguard_of(s)
            if label is None:
                continue
            if RESTORE.search(s) and ev.ts is not None:
                restored[label] = max(restored.get(label, ev.ts), ev.ts)
            elif BYPASS.search(s):
                found.setdefault(label, []).append((ev, s))
                break
    out = []
    for label, hits in found.items():
        dated = sorted((ev.ts for ev, _ in hits if ev.ts is not None))
        since = dated[0] if dated else None
        if since is not None and label in restored and restored[label] > since:
            continue
        hits.sort(key=lambda h: (h[0].ts is None, h[0].ts or since))
        ev, s = hits[0]
        when = f", {ev.ts:%Y-%m-%d}" if ev.ts is not None else ""
        more = f"; also stated in {len(hits) - 1} other record(s)" if len(hits) > 1 else ""
        out.append(Barrier(name=label, state="bypassed", kind="safeguard", since=since,
                           note=f"\u201c{quote(s)}\u201d (`{ev.id}`{when}){more}.",
                           evidence=list(dict.fromkeys(h[0].id for h in hits))[:3]))
    return out


# --- (c) staging vs production ---------------------------------------------------------------

PRE_PROD_ENV = re.compile(r"\b(staging|pre-?prod\w*|qa env\w*|test cluster)\b", re.I)
DIFFERENCE = re.compile(
    r"\b(?:A100|H100|H200|A10G?|L40S?|L4|T4|V100|MI\d{3}|\d+\s*Gi?B?\b|\d+k\b|context|max_model_len|"
    r"synthetic|short prompts|traffic|qps|rps|sample|subset|rows|smaller|fewer|differ\w*|unlike)", re.I)
GPU_MODEL = re.compile(r"\b(?:NVIDIA[- ])?(?:A100|H100|H200|A10G?|L40S?|L4|T4|V100|MI\d{3})\b[\w -]*", re.I)


def environments(store: EvidenceReader) -> list[Barrier]:
    """Statements that pre-production differs from production, with production's GPU model from
    the metric labels when the statement names another."""
    hits: list[tuple[Evidence, str]] = []
    for ev in _statements(store, "staging OR preprod OR pre OR qa", None):
        s = next((s for s in sentences(ev.text) if PRE_PROD_ENV.search(s) and DIFFERENCE.search(s)
                  and _states_difference(s)), None)
        if s is not None:
            hits.append((ev, s))
    if not hits:
        return []
    ev, s = hits[0]
    note = f"\u201c{quote(s)}\u201d (`{ev.id}`)"
    ids = [h[0].id for h in hits[:2]]
    prod = _production_gpu(store)
    staged = GPU_MODEL.search(s)
    if prod is not None and staged is not None and staged.group(0).split()[-1].lower() not in prod[0].lower():
        note += f"; production series run on {prod[0]} (`{prod[1]}`)"
        ids.append(prod[1])
    return [Barrier(name="Pre-production test matches production", state="failed", kind="environment",
                    note=note + ".", evidence=ids)]


def _states_difference(sentence: str) -> bool:
    """A hardware/context/traffic term in a sentence that is not a plain deploy note: a GPU or
    size token, a comparison word, or a judgement about staging."""
    return bool(re.search(r"A100|H100|H200|A10G?|L40S?|\bL4\b|\bT4\b|V100|MI\d{3}|\d+k\b|context|synthetic|"
                          r"short prompts|differ|unlike|smaller|fewer|useless|not representative|doesn.t match",
                          sentence, re.I))


def _production_gpu(store: EvidenceReader) -> tuple[str, str] | None:
    for ev in _metrics(store):
        for key, value in (ev.attrs.get("labels") or {}).items():
            if re.search(r"model|product", str(key), re.I) and GPU_MODEL.search(str(value)):
                return str(value), ev.id
    return None


# --- alerting and factors ----------------------------------------------------------------------

def alerting(d: Detection, user_report_at: datetime | None = None) -> tuple[Barrier | None, Finding | None]:
    """The alerting barrier. It failed when users reported before any alert, or when the alert
    came more than ALERT_LAG after the onset; it held otherwise, and then no lag factor exists."""
    if d.detected_by == "user report":
        return (Barrier(name="Automated alerting", state="failed", evidence=d.evidence[:2],
                        note="Users reported the problem before any alert or page."),
                Finding(status="confirmed", evidence=d.evidence[:2],
                        statement=("No automated alert covered the symptom: detection depended on a user "
                                   f"report, {det.human_duration(d.time_to_detect_s)} after the first anomaly.")))
    if d.detected_at is None:
        return None, None
    lag = d.time_to_detect_s or 0.0
    after_users = user_report_at is not None and user_report_at < d.detected_at
    slow = lag > ALERT_LAG.total_seconds() or after_users
    barrier = Barrier(name="Automated alerting", state="failed" if slow else "held", evidence=d.evidence[:2],
                      note=f"Detected by {d.detected_by} after {det.human_duration(d.time_to_detect_s)}.")
    if not slow:
        return barrier, None
    why = "after users had already reported it" if after_users else "the alert condition tolerated the anomaly"
    return barrier, Finding(
        status="confirmed", evidence=d.evidence[:2],
        statement=f"Alerting lagged the symptom by {det.human_duration(d.time_to_detect_s)}: {why}.")


def factors(barriers: list[Barrier]) -> list[Finding]:
    """Contributing factors from barriers that failed, were bypassed, or (precursors) had no alert."""
    out = []
    for b in barriers:
        if b.kind == "safeguard" and b.state == "bypassed":
            text = f"The {b.name.lower()} safeguard was bypassed before the incident: {b.note}"
        elif b.kind == "precursor" and b.state == "missing":
            text = f"A precursor went unalerted: {b.note}"
        elif b.kind == "environment" and b.state == "failed":
            text = f"Pre-production testing did not represent production: {b.note}"
        else:
            continue
        out.append(Finding(status="confirmed" if b.evidence else "inconclusive", evidence=b.evidence[:2],
                           statement=text))
    return out


def covers_rollout(barriers: list[Barrier]) -> bool:
    """A canary/staged-rollout safeguard row replaces the generic rollout row and its gap."""
    return any(b.kind == "safeguard" and b.name.startswith("Canary") for b in barriers)
