"""Mechanism chains: from the top-ranked trigger's diff to the signals it moved.

"Change X introduced conditions for Y" is where a weak review stops. The evidence usually holds the
mechanism: the diff names the settings (`gpuMemoryUtilization: 0.90 -> 0.95`), a metric whose name
relates to the setting moved after the change reached production, and an error template whose words
relate to it (`Tried to allocate 1.96 GiB ... 1.02 GiB free`). This module extracts the concrete
changes, links each to the signals that relate to it, and states the chain change -> signal ->
symptom with every link cited. A link needs a stated basis (shared terms after splitting
snake/camel/dot names, or a named relation from RELATIONS) and a record on each end; nothing is
linked on proximity alone. A change that bundles several settings yields one hypothesis per setting,
each with the test that would separate it from the others.
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timedelta
from typing import NamedTuple

from agent.model import (
    Mechanism,
    MechanismLink,
    SettingChange,
    SettingHypothesis,
    TriggerCandidate,
    fmt_value,
)
from agent.model.window import IncidentWindow, WindowSignal
from agent.offline import templates
from tools.models import Evidence, EvidenceKind
from tools.readers.git import show_commit_diff
from tools.store.reader import EvidenceReader

MAX_DIFF_CHARS = 40_000
MAX_SETTINGS = 8
MAX_LINKS_PER_SETTING = 3
# Before the change, the series' level is read over this span; after it, up to the onset.
BASELINE_SPAN = timedelta(hours=2)
MIN_SHIFT = 0.03  # a median moving by less than 3% of its level is noise, not a mechanism

_CONFIG_FILE = re.compile(r"\.(ya?ml|json|toml|ini|cfg|conf|env|properties|tfvars)$|(^|/)\.env|"
                          r"(^|/)(requirements[\w.-]*\.txt|constraints[\w.-]*\.txt|Dockerfile[\w.-]*|"
                          r"Containerfile|Chart\.yaml|values[\w.-]*\.ya?ml|pyproject\.toml)$", re.I)
_FLAG_FILE = re.compile(r"\.(sh|ya?ml|json|toml)$|(^|/)(Dockerfile|Containerfile|Makefile|Procfile)[\w.-]*$", re.I)
_YAML = re.compile(r"^(\s*)(?:-\s+)?([A-Za-z_][\w.-]*)\s*:\s*(.*?)\s*(?:#.*)?$")
_JSON = re.compile(r'^(\s*)"([^"]{1,80})"\s*:\s*("[^"]*"|[\w.+-]+)\s*,?\s*$')
_ASSIGN = re.compile(r"^(\s*)(?:export\s+)?([A-Za-z_][\w.-]*)\s*=\s*(.+?)\s*$")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][\w.\-\[\],]*)\s*(==|===|~=|>=)\s*([\w.+!-]+)")
_FROM_IMAGE = re.compile(r"^\s*FROM\s+([\w./-]+):([\w.+-]+)", re.I)
_FLAG = re.compile(r"(?<![\w-])--([a-z][\w-]*)(?:=|\s+)(?!--)([^\s\"',\]]+)")
# "gpu_memory_utilization 0.90 -> 0.95", "max_num_seqs: 256 => 384", "timeout from 30s to 5s"
_MESSAGE_CHANGE = re.compile(
    r"(?<![\w.-])([A-Za-z_][\w.-]{2,60})\s*[:=]?\s*(?:from\s+)?([\w.%+-]{1,40})\s*(?:->|→|=>|\bto\b)\s*([\w.%+-]{1,40})")
_VERSION_KEYS = {"tag", "version", "appversion", "image", "imagetag", "chart"}
_FLAG_KEYS = re.compile(r"enabled?$|rollout|percentage|ramp|feature", re.I)
_GENERIC_LEAF = {"tag", "version", "value", "name", "enabled", "enable", "image", "repository", "size"}
_QUANTITY = re.compile(r"\d+(?:\.\d+)?\s?(?:GiB|MiB|KiB|TiB|GB|MB|KB|ms|tokens)\b")

# Words too generic to relate a setting to a signal on their own.
GENERIC = {"max", "min", "num", "number", "enable", "enabled", "size", "count", "total", "value", "values",
           "per", "default", "use", "true", "false", "prod", "production", "staging", "config", "engine",
           "server", "service", "app", "mode", "type", "name", "level", "limit", "limits", "target", "spec",
           "the", "and", "for", "with", "image", "tag", "version", "dcgm", "fi", "dev", "vllm", "kube"}


class Relation(NamedTuple):
    """A well-known relation between a kind of setting and kinds of signal."""

    name: str
    setting_words: frozenset[str]
    signal_words: frozenset[str]


RELATIONS: tuple[Relation, ...] = (
    Relation("memory settings move memory use",
             frozenset({"memory", "mem", "kv", "cache", "swap", "heap", "blocks", "vram", "gpu_memory"}),
             frozenset({"memory", "mem", "fb", "vram", "oom", "allocate", "alloc", "bytes", "mib", "gib", "free",
                        "used", "cache", "kv", "heap", "oomkilled", "evicted"})),
    Relation("batch and concurrency settings move queueing, latency and memory",
             frozenset({"batch", "batched", "seqs", "seq", "sequences", "concurrency", "concurrent", "parallel",
                        "inflight", "workers"}),
             frozenset({"queue", "queued", "waiting", "running", "pending", "latency", "duration", "memory", "oom",
                        "allocate", "preempt", "preempted", "preemption", "kv", "cache", "fb", "throughput"})),
    Relation("context and sequence length move memory per request",
             frozenset({"len", "length", "context", "ctx", "window"}),
             frozenset({"memory", "oom", "allocate", "fb", "kv", "cache", "prompt", "latency"})),
    Relation("timeouts bound latency",
             frozenset({"timeout", "timeouts", "deadline", "ttl"}),
             frozenset({"latency", "duration", "timeout", "timed", "deadline", "p99", "p95", "seconds", "504"})),
    Relation("replica and worker counts move capacity",
             frozenset({"replica", "replicas", "replicacount", "instances", "autoscaling", "hpa"}),
             frozenset({"ready", "replicas", "available", "capacity", "queue", "unavailable", "5xx", "503"})),
    Relation("retry settings move request volume",
             frozenset({"retry", "retries", "backoff", "attempts"}),
             frozenset({"retry", "retries", "429", "requests", "attempt", "attempts"})),
    Relation("rate limits and quotas move throttling",
             frozenset({"ratelimit", "qps", "rps", "quota", "throttle"}),
             frozenset({"429", "throttled", "throttle", "rate", "quota", "limited"})),
)


def words(name: str) -> set[str]:
    """Lower-case words of an identifier: snake_case, camelCase, dotted and dashed names split."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if len(w) >= 2}


# ---- extraction ------------------------------------------------------------------------------

def diff_text(ev: Evidence) -> str:
    """The patch of a commit record, or "" when the repository is not readable any more."""
    repo, sha = ev.attrs.get("repo"), str(ev.attrs.get("sha") or ev.locator)
    if not repo:
        return ""
    text = show_commit_diff(str(repo), sha, max_chars=MAX_DIFF_CHARS)
    return "" if text.startswith("[diff unavailable") else text


def settings_from_diff(diff: str, evidence_id: str) -> list[SettingChange]:
    """Settings whose line was removed with one value and added with another, per file."""
    removed: dict[tuple[str, str], tuple[str, str]] = {}
    added: dict[tuple[str, str], tuple[str, str]] = {}
    path = ""
    stack: list[tuple[int, str]] = []  # YAML parents of the current line, from the hunk's context
    for raw in diff.splitlines():
        if raw.startswith("+++ "):
            path = raw[6:] if raw.startswith("+++ b/") else raw[4:]
            stack = []
            continue
        if raw.startswith(("--- ", "diff --git", "index ")):
            continue
        if raw.startswith("@@"):
            stack = []
            continue
        if not raw[:1] in ("+", "-", " ") or not _CONFIG_OR_FLAGS(path):
            continue
        sign, body = raw[:1], raw[1:]
        for kind, key, value in _parse_line(path, body, stack):
            target = removed if sign == "-" else added if sign == "+" else None
            if target is not None:
                target.setdefault((path, key), (value, kind))
    out: list[SettingChange] = []
    for (p, key), (new, kind) in added.items():
        old = removed.get((p, key))
        if old is None or old[0] == new:
            continue
        out.append(SettingChange(key=key, old=old[0], new=new, kind=kind, path=p, evidence=[evidence_id]))
    return out


def _CONFIG_OR_FLAGS(path: str) -> bool:  # noqa: N802 - reads as the predicate it is
    return bool(_CONFIG_FILE.search(path) or _FLAG_FILE.search(path))


def _parse_line(path: str, body: str, stack: list[tuple[int, str]]) -> list[tuple[str, str, str]]:
    """(kind, key, value) of one diff line; YAML keys carry their parent when the leaf is generic."""
    out: list[tuple[str, str, str]] = []
    for m in _FLAG.finditer(body):
        out.append(("setting", f"--{m.group(1)}", m.group(2)))
    if not _CONFIG_FILE.search(path):
        return out
    if m := _REQUIREMENT.match(body):
        return out + [("version", m.group(1), m.group(3))]
    if m := _FROM_IMAGE.match(body):
        return out + [("version", m.group(1), m.group(2))]
    if m := _JSON.match(body):
        return out + [(_kind(m.group(2), m.group(3)), m.group(2), m.group(3).strip('"'))]
    if re.search(r"\.ya?ml$", path, re.I) and (m := _YAML.match(body)):
        indent, key, value = len(m.group(1)), m.group(2), m.group(3).strip().strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        if not value:
            stack.append((indent, key))
            return out
        shown = f"{parent}.{key}" if parent and key.lower() in _GENERIC_LEAF else key
        return out + [(_kind(shown, value), shown, value)]
    if not out and (m := _ASSIGN.match(body)) and not re.search(r"\.ya?ml$", path, re.I):
        return [(_kind(m.group(2), m.group(3)), m.group(2), m.group(3).strip().strip("'\""))]
    return out


def _kind(key: str, value: str) -> str:
    leaf = key.split(".")[-1].replace("_", "").replace("-", "").lower()
    if leaf in _VERSION_KEYS or re.fullmatch(r"v?\d+\.\d+[\w.+-]*", value.strip('"')) and "version" in key.lower():
        return "version"
    return "flag" if _FLAG_KEYS.search(key) else "setting"


def settings_from_message(message: str, evidence_id: str) -> list[SettingChange]:
    """"key old -> new" lines of a commit message, used when the diff itself is not readable."""
    out: list[SettingChange] = []
    for m in _MESSAGE_CHANGE.finditer(message):
        key, old, new = m.group(1), m.group(2), m.group(3)
        if old == new or not re.search(r"\d", old + new) or not re.search(r"[_.A-Z]|[a-z]{4,}", key):
            continue
        out.append(SettingChange(key=key, old=old, new=new, kind=_kind(key, new), evidence=[evidence_id]))
    return out


def settings_from_record(ev: Evidence) -> list[SettingChange]:
    """A flag or config audit record's before/after (a flag ramp is a change of its rollout)."""
    a = ev.attrs
    before, after, target = _plain(a.get("before")), _plain(a.get("after")), str(a.get("target") or "")
    if not target or before == after or not (before or after):
        return []
    kind = "flag" if str(a.get("change_type") or "").lower() == "flag" else "setting"
    return [SettingChange(key=target, old=before or "(unset)", new=after or "(unset)", kind=kind,  # type: ignore[arg-type]
                          evidence=[ev.id])]


def _plain(value: object) -> str:
    if isinstance(value, dict):
        params = value.get("parameters") if isinstance(value.get("parameters"), dict) else value
        for k in ("rollout", "percentage", "rolloutPercentage", "enabled", "value"):
            if k in params:  # type: ignore[operator]
                return f"{k} {params[k]}"  # type: ignore[index]
        return ""
    return "" if value is None else str(value)[:60]


def extract_settings(store: EvidenceReader, top: TriggerCandidate) -> list[SettingChange]:
    """The concrete changes of the top-ranked trigger, from its diff, message or audit record."""
    ev = store.get(top.evidence[0]) if top.evidence else None
    if ev is None:
        return []
    if ev.kind == EvidenceKind.COMMIT:
        found = settings_from_diff(diff_text(ev), ev.id)
        if not found:
            found = settings_from_message(str(ev.attrs.get("message") or ev.text), ev.id)
    else:
        found = settings_from_record(ev)
    unique: dict[tuple[str, str, str], SettingChange] = {}
    for s in found:
        # A version bump written in two files (chart appVersion, image tag) is one change.
        key = "" if s.kind == "version" else s.key
        unique.setdefault((key, s.old.lstrip("v"), s.new.lstrip("v")), s)
    return list(unique.values())[:MAX_SETTINGS]


# ---- linking ---------------------------------------------------------------------------------

def relation(setting: SettingChange, signal_words: set[str]) -> str:
    """Why a setting and a signal are related ("" when they are not): shared words, else a relation."""
    key_words = words(setting.key) - GENERIC
    shared = sorted((key_words & signal_words) - GENERIC)
    if shared:
        return "shares " + ", ".join(f"`{w}`" for w in shared)
    for r in RELATIONS:
        if key_words & r.setting_words and signal_words & r.signal_words:
            return r.name
    return ""


class _Shift(NamedTuple):
    before: float
    after: float
    evidence: str  # the series with the most samples after the change


def _samples(ev: Evidence) -> list[tuple[float, float]]:
    out = []
    for pair in ev.attrs.get("samples") or []:
        try:
            out.append((float(pair[0]), float(pair[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return out


def _shift(series: list[Evidence], at: datetime, until: datetime) -> _Shift | None:
    """How far a metric's median moved from before the change to after it (up to the onset),
    pooled over every series of the name: a rollout replaces pods, so no one series spans both."""
    lo, t0, t1 = (at - BASELINE_SPAN).timestamp(), at.timestamp(), until.timestamp()
    before: list[float] = []
    after: list[float] = []
    cited, most = "", 0
    for ev in series:
        s = _samples(ev)
        before += [v for t, v in s if lo <= t < t0]
        mine = [v for t, v in s if t0 < t <= t1]
        after += mine
        if len(mine) > most:
            cited, most = ev.id, len(mine)
    if len(before) < 3 or len(after) < 3:
        return None
    b, a = statistics.median(before), statistics.median(after)
    rel = (a - b) / abs(b) if b else (1.0 if a else 0.0)
    return _Shift(b, a, cited) if abs(rel) >= MIN_SHIFT else None


def metric_links(store: EvidenceReader, settings: list[SettingChange], at: datetime | None,
                 onset: datetime | None, window: IncidentWindow | None) -> list[MechanismLink]:
    """Each setting linked to the metric series that relate to it and moved: across the change
    (median before it vs after it, up to the onset) or, failing that, as a window signal."""
    moved_in_window = {s.name: s for s in (window.signals if window else [])
                       if s.family.startswith("metric:") and s.evidence and s.baseline is not None
                       and s.peak is not None}
    out: list[MechanismLink] = []
    for name, series in sorted(_series_by_name(store).items()):
        sig_words = words(name) | words(str(series[0].attrs.get("unit") or ""))
        related = [(s, why) for s, why in ((s, relation(s, sig_words)) for s in settings) if why]
        if not related:
            continue
        moved = _movement(name, series, at, onset, moved_in_window.get(name))
        if moved is None:
            continue  # related by name, but it did not move: no link
        detail, ids = moved
        for s, why in related:
            out.append(MechanismLink(key=s.key, signal=name, signal_kind="metric", basis=why, detail=detail,
                                     evidence=s.evidence[:1] + ids))
    return out


def _series_by_name(store: EvidenceReader) -> dict[str, list[Evidence]]:
    by_name: dict[str, list[Evidence]] = {}
    for ev in store.iter(kinds=[EvidenceKind.METRIC]):
        name = str(ev.attrs.get("name") or "")
        if name and not ev.flags:
            by_name.setdefault(name, []).append(ev)
    return by_name


def _movement(name: str, series: list[Evidence], at: datetime | None, onset: datetime | None,
              signal: WindowSignal | None) -> tuple[str, list[str]] | None:
    """How the series moved (the sentence and the record it cites): across the change first, else
    as a signal of the incident window; None when it did not move."""
    shift = _shift(series, at, onset) if at is not None and onset is not None and onset > at else None
    if shift is not None:
        verb = "rose" if shift.after > shift.before else "fell"
        return (f"`{name}` {verb} from a median of {fmt_value(round(shift.before, 2))} in the "
                f"{int(BASELINE_SPAN.total_seconds() // 3600)} h before the change to "
                f"{fmt_value(round(shift.after, 2))} between the change and the onset "
                f"({len(series)} series pooled)", [shift.evidence])
    if signal is None or signal.baseline is None or signal.peak is None:
        return None
    verb = "rose" if signal.peak > signal.baseline else "fell"
    return (f"`{name}` {verb} from a baseline of {fmt_value(round(signal.baseline, 2))} to "
            f"{fmt_value(round(signal.peak, 2))} after the onset", signal.evidence[:1])


def error_links(store: EvidenceReader, settings: list[SettingChange], start: datetime | None,
                end: datetime | None) -> list[MechanismLink]:
    """Each setting linked to the error templates of the window whose words relate to it."""
    if start is None:
        return []
    records = store.errors(start=start, end=end, limit=2000)
    out: list[MechanismLink] = []
    per_key: dict[str, int] = {}
    for t in templates.mine(records)[:12]:
        sample = templates.message(t.first)
        sig_words = words(t.template.replace("<*>", " "))
        quantities = _QUANTITY.findall(sample)
        for s in settings:
            why = relation(s, sig_words)
            if not why or per_key.get(s.key, 0) >= 2:
                continue
            per_key[s.key] = per_key.get(s.key, 0) + 1
            carries = f"; the line carries {', '.join(quantities[:3])}" if quantities else ""
            shown = sample if len(sample) <= 140 else sample[:140].rsplit(" ", 1)[0]  # whole words stay verbatim
            out.append(MechanismLink(
                key=s.key, signal=t.template[:160], signal_kind="error", basis=why,
                detail=f"`{shown}` x {t.count} (one message template){carries}",
                evidence=s.evidence[:1] + [t.first.id]))
    return out


# ---- hypotheses and the chain ------------------------------------------------------------------

def _direction(s: SettingChange) -> str:
    try:
        old, new = float(s.old.rstrip("%")), float(s.new.rstrip("%"))
    except ValueError:
        return "changing"
    return "raising" if new > old else "lowering"


def _setting_text(s: SettingChange) -> str:
    where = f" in `{s.path}`" if s.path else ""
    return f"`{s.key}` from `{s.old}` to `{s.new}`{where}"


def separating_test(setting: str, value: str, others: bool) -> str:
    """The test that separates one setting's hypothesis from the others of the same change; with
    ("that setting", "its new value") it is the one sentence the report states for all of them."""
    return (f"In staging, replay the recorded load of the incident window with only {setting} at {value} "
            f"(every other setting as before the change){', then revert it alone' if others else ''}: "
            f"the symptom recurring with it alone{' and not with the others' if others else ''} "
            "separates this hypothesis.")


def hypotheses(settings: list[SettingChange], links: list[MechanismLink]) -> list[SettingHypothesis]:
    """One hypothesis per setting of the change: what it would explain, and the test that separates it."""
    out: list[SettingHypothesis] = []
    linked = {ln.key for ln in links}
    others = len(settings) > 1
    for s in settings:
        mine = [ln for ln in links if ln.key == s.key][:MAX_LINKS_PER_SETTING]
        shown = [ln for kind in ("metric", "error") for ln in mine if ln.signal_kind == kind][:1] + \
            [ln for ln in mine if ln.signal_kind == "error"][:1]
        explained = "; ".join(dict.fromkeys(ln.detail for ln in shown))
        if mine:
            statement = (f"{_direction(s).capitalize()} {_setting_text(s)} produced the symptoms: "
                         f"{explained}.")
        else:
            statement = (f"{_direction(s).capitalize()} {_setting_text(s)} contributed; no signal related "
                         f"to `{s.key}` moved in the evidence.")
        test = separating_test(f"`{s.key}`", f"`{s.new}`", others)
        status = "likely" if mine and len(linked) == 1 else "inconclusive"
        ids = list(dict.fromkeys(i for ln in mine for i in ln.evidence)) or s.evidence[:1]
        out.append(SettingHypothesis(key=s.key, statement=statement, status=status, test=test, evidence=ids))
    return out


def chain(top: TriggerCandidate, settings: list[SettingChange], links: list[MechanismLink]) -> tuple[str, list[str]]:
    """change -> signal -> symptom, each link cited; ("", []) when no setting is linked."""
    if not links:
        return "", []
    keys = [s for s in settings if any(ln.key == s.key for ln in links)]
    metric = next((ln for ln in links if ln.signal_kind == "metric"), None)
    error = next((ln for ln in links if ln.signal_kind == "error"), None)
    ids = list(dict.fromkeys(top.evidence[:1] + [i for ln in (metric, error) if ln for i in ln.evidence[1:]]))
    parts = [f"Change `{top.ref[:12]}` set " + ", ".join(_setting_text(s) for s in keys) + f" ({top.evidence[0]})"]
    if metric is not None:
        parts.append(f"after it, {metric.detail} ({', '.join(metric.evidence[1:])}; {metric.basis})")
    if error is not None:
        parts.append(f"then the symptom: {error.detail} ({', '.join(error.evidence[1:])}; {error.basis})")
    return "; ".join(parts) + ".", ids


def build(store: EvidenceReader, top: TriggerCandidate | None, window: IncidentWindow | None,
          onset: datetime | None, end: datetime | None) -> Mechanism | None:
    """The mechanism of the top-ranked trigger, or None when its records name no concrete setting."""
    if top is None:
        return None
    settings = extract_settings(store, top)
    if not settings:
        return None
    start = (onset - timedelta(minutes=5)) if onset is not None else None
    links = metric_links(store, settings, top.at, onset, window) + error_links(store, settings, start, end)
    text, ids = chain(top, settings, links)
    return Mechanism(change_ref=top.ref, settings=settings, links=links, hypotheses=hypotheses(settings, links),
                     chain=text, evidence=ids)


def computed_facts(m: Mechanism | None) -> list[dict[str, object]]:
    """The numbers the mechanism derived (medians, baselines, peaks), registered as computed."""
    if m is None:
        return []
    facts: list[dict[str, object]] = []
    for ln in m.links:
        if ln.signal_kind != "metric":
            continue
        for num in re.findall(r"(?:median of|to|baseline of) ([\d,]+(?:\.\d+)?)", ln.detail):
            facts.append({"text": num, "derivation": f"median/peak of samples in {', '.join(ln.evidence[1:])}"})
    return facts


# ---- rendering -------------------------------------------------------------------------------

def render(m: Mechanism | None, appendix: bool = False, stated_in: str = "") -> list[str]:
    """The "Mechanism" subsection of the Technical Analysis ([] when there is no mechanism).

    The chain is stated once; each setting's hypothesis names what it would explain only where that
    differs from the chain, and the separating test, the same for every setting, is said once.
    `appendix` adds the settings line and the per-link table; `stated_in` names the root cause
    that states the chain word for word, so it is not said twice."""
    if m is None:
        return []

    def ids(evidence: list[str], limit: int = 0) -> str:
        shown = evidence[:limit] if limit else evidence
        more = len(evidence) - len(shown)
        return ", ".join(f"`{i}`" for i in shown) + (f" (+{more} more)" if more > 0 else "")

    out = ["### Mechanism", ""]
    if appendix or not m.hypotheses:
        out += ["Settings the change made: " + "; ".join(
            f"{_setting_text(s)} ({s.kind}, {ids(s.evidence)})" for s in m.settings) + ".", ""]
    if m.chain and stated_in and not appendix:
        out += [f"**Chain**: stated in full in {stated_in} (Root Causes & Contributing Factors): the change's "
                "settings, the signal that moved after it, then the symptom, each cited.", ""]
    elif m.chain:
        out += [f"**Chain**: {m.chain}", ""]
    else:
        out += ["[DATA GAP] No metric or error template in the evidence relates to these settings by name "
                "or by a known relation, so the link from the change to the symptom is not shown. "
                "Needed: the series of the resources these settings control.", ""]
    if appendix and m.links:
        out += ["| Setting | Signal | Related because | What it did | Evidence |", "|---|---|---|---|---|"]
        for ln in m.links:
            out.append(f"| `{ln.key}` | {ln.signal_kind} | {_cell(ln.basis)} | {_cell(ln.detail)} | {ids(ln.evidence)} |")
        out.append("")
    if len(m.hypotheses) > 1:
        out += ["Each setting is a competing hypothesis:", ""]
    for h in m.hypotheses:
        out.append(f"- *{_short_statement(h, m.chain, stated_in or 'above')}* — status: **{h.status}** "
                   f"({ids(h.evidence, 2)})")
    if len(m.hypotheses) > 1:
        out += ["", "Test for each: " + separating_test("that setting", "its new value", True)]
    elif m.hypotheses:
        out += ["", f"Test: {m.hypotheses[0].test}"]
    return out + [""]


_EXPLAINS = " produced the symptoms: "


def _short_statement(h: SettingHypothesis, chain_text: str, where: str) -> str:
    """A hypothesis without the signals it explains when the chain already states each of them."""
    head, sep, explained = h.statement.partition(_EXPLAINS)
    details = [d.strip() for d in explained.rstrip(".").split("; ") if d.strip()]
    if sep and details and all(d in chain_text for d in details):
        return f"{head} produced the symptoms of the chain ({where})."
    return h.statement


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
