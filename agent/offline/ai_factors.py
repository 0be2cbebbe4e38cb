"""AI-native factors, each stating what THIS incident's evidence shows (hard rule 4).

The six factors the method names are answered through the questions an AI incident lead asks:
- prompts: prompt or context length (token counts in traces, prompt sizes in logs), failing vs not;
- non_determinism: sampling (temperature, top_p in traces or the change's diff) and batch mix /
  concurrency (running or batch counts in engine logs) near the failure;
- data: retrieved content (retrieval traces, instructions flagged as injected by tools/untrusted.py)
  and the data or index version in use;
- evals: an eval record dated BEFORE the change reached production is a gate and is cited; one made
  after the first symptom is not a gate; otherwise what the change's own records say was tested;
- opacity: which series measure the failing condition itself;
- rapid_iteration: model, engine or data versions the change moved, and the pace of change.

When the evidence says nothing on a factor, the finding says so and names the export that would tell.
Every number, name and id comes from a record, cited.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.model import AILensItem, Analysis
from agent.offline import gaps
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

MAX_SCAN = 5000  # records per kind read for a factor; enough to see the window's values
# Engine log fields for requests in flight / in a batch (vLLM, TGI, Triton style).
_CONCURRENCY = re.compile(r"\b(Running|num_running(?:_reqs)?|batch[_ ]size|running requests|Pending)\s*[:=]\s*(\d+)",
                          re.IGNORECASE)
_PROMPT_SIZE = re.compile(r"\b(prompt[_ ]tokens|prompt[_ ]len(?:gth)?|input[_ ]tokens|num_prompt_tokens)\s*[:=]\s*(\d+)",
                          re.IGNORECASE)
_SAMPLING = re.compile(r"\b(temperature|top_p|top_k)\b\s*[:=]\s*([0-9.]+)", re.IGNORECASE)
_FAILED = re.compile(r"error|fail|timeout|5\d\d", re.IGNORECASE)


@dataclass(frozen=True)
class _Window:
    start: datetime | None
    end: datetime | None
    changed_at: datetime | None  # when the top change reached production
    onset: datetime | None


def build(a: Analysis, store: EvidenceReader, start: datetime | None, end: datetime | None) -> list[AILensItem]:
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    onset = a.window.onset if a.window is not None and a.window.onset is not None else a.detection.first_anomaly_at
    w = _Window(start, end, top.at if top is not None else None, onset)
    traces = list(store.iter(kinds=[EvidenceKind.TRACE], start=start, end=end))[:MAX_SCAN]
    # Only log lines that can carry a size or a count: the window may hold millions of lines.
    logs = store.match("running OR reqs OR batch_size OR num_running OR prompt_tokens OR prompt_len OR input_tokens",
                       kinds=[EvidenceKind.LOG], start=start, end=end, limit=MAX_SCAN)
    return [
        data_factor(a, store, traces, w),
        evals_factor(a, store, w),
        prompts_factor(traces, logs),
        non_determinism_factor(a, traces, logs),
        opacity_factor(a, store),
        rapid_iteration_factor(a, store, traces, w),
    ]


def _cite(ids: Iterable[str], n: int = 2) -> list[str]:
    out: list[str] = []
    for i in ids:
        if i not in out:
            out.append(i)
    return out[:n]


def _num(v: object) -> float | None:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:g}"


def _trace_failed(e: Evidence) -> bool:
    status = str(e.attrs.get("status") or e.attrs.get("level") or e.level or "")
    return bool(_FAILED.search(status)) or e.level in ("error", "critical")


# --- prompt / context length -------------------------------------------------------------------

def prompts_factor(traces: list[Evidence], logs: list[Evidence]) -> AILensItem:
    sized = [(e, v) for e in traces if (v := _num(e.attrs.get("prompt_tokens"))) is not None]
    if sized:
        failing = [(e, v) for e, v in sized if _trace_failed(e)]
        ok = [(e, v) for e, v in sized if not _trace_failed(e)]
        longest = max(sized, key=lambda p: p[1])
        text = (f"Prompt length: {len(sized)} traced request(s) in the window carry `prompt_tokens`, median "
                f"{_fmt(statistics.median(v for _, v in sized))}, longest {_fmt(longest[1])} (`{longest[0].id}`).")
        ids = [longest[0].id]
        if failing and ok:
            fm, om = statistics.median(v for _, v in failing), statistics.median(v for _, v in ok)
            worst = max(failing, key=lambda p: p[1])
            text += (f" Failing requests: median {_fmt(fm)} tokens ({len(failing)}) vs {_fmt(om)} for the others "
                     f"({len(ok)}); " + ("long prompts are over-represented among the failures."
                                         if fm > om * 1.2 else "the failures are not the long prompts."))
            ids = [worst[0].id] + ids
        return AILensItem(factor="prompts", applies=True, finding=text, evidence=_cite(ids))
    logged = [(e, float(m.group(2)), m.group(1)) for e in logs for m in [_PROMPT_SIZE.search(e.text)] if m]
    if logged:
        e, v, key = max(logged, key=lambda p: p[1])
        return AILensItem(factor="prompts", applies=True, evidence=[e.id], finding=(
            f"Prompt length: {len(logged)} log record(s) state `{key}`; the largest is {_fmt(v)} (`{e.id}`). "
            "Whether the failing requests were the long ones is not shown per request [DATA GAP]. Needed: "
            "request traces with prompt token counts for the incident window."))
    return AILensItem(factor="prompts", applies=False, evidence=[], finding=(
        "Unknown: no trace or log in the window states a prompt or context length, so whether long prompts "
        "drove the failure cannot be told [DATA GAP]. Needed: request traces (or engine request logs) with "
        "prompt token counts for the incident window."))


# --- sampling and batch mix ------------------------------------------------------------------------

def non_determinism_factor(a: Analysis, traces: list[Evidence], logs: list[Evidence]) -> AILensItem:
    parts: list[str] = []
    ids: list[str] = []
    temps: dict[str, str] = {}
    for e in traces:
        for key in ("temperature", "top_p"):
            v = _num(e.attrs.get(key))
            if v is not None and f"{key}={_fmt(v)}" not in temps:
                temps[f"{key}={_fmt(v)}"] = e.id
    if temps:
        parts.append("Sampling in the traces: " + ", ".join(f"`{k}`" for k in list(temps)[:4])
                     + f" (`{next(iter(temps.values()))}`).")
        ids.append(next(iter(temps.values())))
    for s in (a.mechanism.settings if a.mechanism is not None else []):
        if _SAMPLING.search(f"{s.key}=0") and s.evidence:
            parts.append(f"The change moved `{s.key}` from `{s.old}` to `{s.new}` (`{s.evidence[0]}`).")
            ids.append(s.evidence[0])
    running = [(e, int(m.group(2)), m.group(1)) for e in logs for m in _CONCURRENCY.finditer(e.text)
               if m.group(1).lower() != "pending"]
    if running:
        e, v, key = max(running, key=lambda p: p[1])
        said = next(m.group(0) for m in _CONCURRENCY.finditer(e.text) if int(m.group(2)) == v)
        parts.append(f"Batch mix / concurrency: the highest in-flight count the engine logged in the window is "
                     f"`{said}` (`{e.id}`); the failing requests shared the engine with the rest of their batch, "
                     "so whether one fails depends on the batch mix, not on one prompt.")
        ids.append(e.id)
    for s in (a.mechanism.settings if a.mechanism is not None else []):
        if re.search(r"num_seqs|batch|concurren|max_running", s.key, re.IGNORECASE) and s.evidence:
            parts.append(f"The change raised the batch limit `{s.key}` from `{s.old}` to `{s.new}` (`{s.evidence[0]}`).")
            ids.append(s.evidence[0])
            break
    if not parts:
        return AILensItem(factor="non_determinism", applies=False, evidence=[], finding=(
            "Unknown: no trace or log in the window records sampling settings (temperature, top_p) or "
            "requests in flight, so run-to-run and batch-to-batch variation cannot be judged [DATA GAP]. "
            "Needed: request traces with sampling parameters, or engine logs with running-request counts."))
    return AILensItem(factor="non_determinism", applies=True, finding=" ".join(parts), evidence=_cite(ids, 3))


# --- retrieved content and data / index versions -----------------------------------------------------

_DATA_VERSION_KEYS = ("embedding_model", "index", "index_version", "dataset", "dataset_version", "collection")


def data_factor(a: Analysis, store: EvidenceReader, traces: list[Evidence], w: _Window) -> AILensItem:
    parts: list[str] = []
    ids: list[str] = []
    injected = [e for e in store.iter(start=w.start, end=w.end) if "untrusted-instruction" in e.flags][:MAX_SCAN]
    in_traces = [e for e in injected if e.kind == EvidenceKind.TRACE]
    if in_traces:
        parts.append(f"{len(injected)} record(s) in the window carry instruction-like text flagged as "
                     f"untrusted (first `{injected[0].id}`)"
                     + (f", {len(in_traces)} of them in model request traces: retrieved or user content "
                        "reached the prompt as an instruction." if in_traces else "."))
        ids.append((in_traces or injected)[0].id)
    versions: dict[str, tuple[str, str]] = {}
    for e in traces:
        for key in _DATA_VERSION_KEYS:
            v = e.attrs.get(key)
            if isinstance(v, (str, int)) and str(v) and key not in versions:
                versions[key] = (str(v), e.id)
    if versions:
        parts.append("Data in use per the traces: " + ", ".join(f"`{k}` = `{v}` (`{i}`)" for k, (v, i) in versions.items()) + ".")
        ids += [i for _, i in versions.values()]
    rag = [m for m in a.failure_modes if m.split(".")[0] in ("rag", "data", "training")]
    if rag and not parts:
        parts.append(f"The failure mode is a data one (`{rag[0]}`), but no record names the index or dataset "
                     "version in use [DATA GAP]. Needed: the index build log or retrieval traces with the "
                     "collection and embedding model.")
    if not parts:
        return AILensItem(factor="data", applies=False, evidence=[], finding=(
            "Does not apply as far as the evidence shows: no retrieval record, injected instruction, or "
            "dataset or index version appears in the window, and the failure mode is not a data one."))
    return AILensItem(factor="data", applies=True, finding=" ".join(parts), evidence=_cite(ids, 3))


# --- eval coverage of the failing condition -------------------------------------------------------------

def evals_factor(a: Analysis, store: EvidenceReader, w: _Window) -> AILensItem:
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    gate_until = w.changed_at or w.onset
    records = [e for e in store.iter(kinds=[EvidenceKind.EVAL]) if not e.flags][:MAX_SCAN]
    before = [e for e in records if e.ts is not None and gate_until is not None and e.ts <= gate_until]
    after = [e for e in records if e.ts is not None and w.onset is not None and e.ts >= w.onset]
    tested, tested_ids, gap = gaps.testing_statement(store, top, w.onset)
    parts: list[str] = []
    ids: list[str] = []
    if before:
        last = before[-1]
        parts.append(f"Eval before the change: {len(before)} eval record(s) precede it; the last is "
                     f"`{last.id}` ({last.ts:%Y-%m-%d %H:%M} UTC): \u201c{_quote(last.text)}\u201d. Whether it "
                     "exercised the condition that failed is not stated in it.")
        ids.append(last.id)
    if after:
        parts.append(f"{len(after)} eval record(s) (first `{after[0].id}`) date from after the first symptom: "
                     "they are part of the response, not a gate the change passed.")
        ids.append(after[0].id)
    if not gap:
        parts.append(tested)
        ids += tested_ids
    if not parts:
        return AILensItem(factor="evals", applies=True, evidence=[], finding=gaps.eval_gap_text())
    if not before:
        parts.append("No eval record dated before the change tests the failing condition [DATA GAP].")
    return AILensItem(factor="evals", applies=True, finding=" ".join(parts), evidence=_cite(ids, 3))


def _quote(text: str, limit: int = 80) -> str:
    one = " ".join(text.replace("`", " … ").split())  # "…", not "'": fragments stay verbatim
    return one if len(one) <= limit else one[: limit - 3].rstrip() + "..."


# --- opacity ---------------------------------------------------------------------------------------

_QUALITY = ("score", "quality", "accuracy", "eval", "refusal", "feedback", "thumbs", "freshness", "age")


def opacity_factor(a: Analysis, store: EvidenceReader) -> AILensItem:
    series = [(str(e.attrs.get("name") or ""), e.id) for e in store.iter(kinds=[EvidenceKind.METRIC])][:MAX_SCAN]
    quality = [(n, i) for n, i in series if any(q in n.lower() for q in _QUALITY)]
    behaviour = any(m.split(".")[0] in ("rag", "safety", "eval") for m in a.failure_modes)
    if quality:
        n, i = quality[0]
        return AILensItem(factor="opacity", applies=True, evidence=[i], finding=(
            f"Output quality is measured: `{n}` (`{i}`)"
            + (f" and {len(quality) - 1} other quality series." if len(quality) > 1 else ".")))
    if behaviour:
        return AILensItem(factor="opacity", applies=True, evidence=[i for _, i in series[:1]], finding=(
            f"The failure is in model output (`{a.failure_modes[0]}`), yet none of the {len(series)} metric "
            "series measures output quality [DATA GAP]: only users or a manual check could see it."))
    return AILensItem(factor="opacity", applies=False, evidence=[i for _, i in series[:1]], finding=(
        f"Not a factor here: the failure was visible in infrastructure signals ({len(series)} metric series"
        + (f", e.g. `{series[0][0]}`" if series else "") + "); no model-output judgement was needed to see it."))


# --- model / engine / data versions and pace of change -------------------------------------------------

def rapid_iteration_factor(a: Analysis, store: EvidenceReader, traces: list[Evidence], w: _Window) -> AILensItem:
    parts: list[str] = []
    ids: list[str] = []
    versions = [s for s in (a.mechanism.settings if a.mechanism is not None else []) if s.kind == "version"]
    if versions:
        parts.append("The change moved versions: " + ", ".join(
            f"`{s.key}` `{s.old}` -> `{s.new}`" for s in versions[:3]) + f" (`{versions[0].evidence[0]}`)."
            if versions[0].evidence else "")
        ids += versions[0].evidence[:1]
    models: dict[str, str] = {}
    for e in traces:
        m = e.attrs.get("model")
        if isinstance(m, str) and m and m not in models:
            models[m] = e.id
    if len(models) > 1:
        parts.append("Traces show more than one model in the window: " + ", ".join(
            f"`{m}` (`{i}`)" for m, i in list(models.items())[:3]) + ".")
        ids += list(models.values())[:2]
    elif models:
        m, i = next(iter(models.items()))
        parts.append(f"One model served the window: `{m}` (`{i}`).")
        ids.append(i)
    if w.onset is not None:
        week = list(store.iter(kinds=[EvidenceKind.COMMIT], start=w.onset - timedelta(days=7), end=w.onset))
        if week:
            parts.append(f"{len(week)} commit(s) landed in the 7 days before the first symptom.")
            ids.append(week[-1].id)
    if not parts:
        return AILensItem(factor="rapid_iteration", applies=False, evidence=[], finding=(
            "Unknown: no commit history, model name or version change covers the week before the incident "
            "[DATA GAP]. Needed: the repository or deploy log, and traces naming the model."))
    return AILensItem(factor="rapid_iteration", applies=True, finding=" ".join(p for p in parts if p),
                      evidence=_cite(ids, 3))
