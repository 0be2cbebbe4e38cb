"""Score the pipeline on a folder of real-format dumps with answer keys (`NAME.tar.gz` + `NAME.truth.json`).

The answer-key format is the one the dev set's README defines. Two rules shape this module:
- the pipeline never sees a key: each archive is copied alone into a fresh temp folder and drafted
  there with the same `run_draft` call `postmortem draft` makes; the key is opened only afterwards,
  by the scorer;
- nothing here knows any particular dump: every expected value comes from the key being scored.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from dateutil import parser as dateparser
from pydantic import BaseModel, Field

from agent.config import Settings
from agent.engine import Engine, OfflineEngine
from agent.model import Report
from agent.render import render_json
from agent.runner import RunResult, run_draft

KEY_SUFFIX = ".truth.json"
ARCHIVE_SUFFIX = ".tar.gz"
# A trigger ref matches the key's commit when one is a prefix of the other and the shorter has at
# least this many hex digits (the README allows a 12-character prefix; shorter ones are ambiguous).
MIN_SHA_PREFIX = 12
_CHUNK = 8 << 20  # bytes read at a time when searching a store file for a leaked value


# ---------------------------------------------------------------- answer key


class KeyEvent(BaseModel):
    time: datetime
    tolerance_s: float
    what: str = ""
    keywords: list[str] = Field(default_factory=list)


class AnswerKey(BaseModel):
    """The fields of a key the scorer uses; a field the key lacks (or garbles) stays None/empty."""

    name: str
    severity: str | None = None
    review: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    key_events: list[KeyEvent] = Field(default_factory=list)
    trigger_commit: str | None = None
    time_to_detect_s: float | None = None
    failure_modes: list[str] = Field(default_factory=list)
    root_cause_keywords: list[str] = Field(default_factory=list)
    contributing_factor_keywords: list[list[str]] = Field(default_factory=list)
    secrets: list[str] = Field(default_factory=list)
    other_pii: list[str] = Field(default_factory=list)
    canary: str = ""
    blame_sentence: str = ""
    problems: list[str] = Field(default_factory=list)  # key fields that could not be read


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = dateparser.isoparse(value.strip())
    except (ValueError, OverflowError):
        return None
    # A key without an offset is read as UTC: the README states key times are UTC.
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
    return []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _events(raw: Any, problems: list[str]) -> list[KeyEvent]:
    out: list[KeyEvent] = []
    for i, ev in enumerate(raw if isinstance(raw, list) else []):
        t = _utc(ev.get("time")) if isinstance(ev, dict) else None
        tol = _number(ev.get("tolerance_s")) if isinstance(ev, dict) else None
        if t is None or tol is None:
            problems.append(f"key_events[{i}]: no usable time/tolerance_s")
            continue
        out.append(KeyEvent(time=t, tolerance_s=tol, what=str(ev.get("what") or ""),
                            keywords=_strings(ev.get("keywords"))))
    return out


def _factor_keywords(raw: Any) -> list[list[str]]:
    # Each factor is a list of alternative phrasings; a bare string is a factor with one phrasing.
    return [alts for alts in (_strings(f) for f in (raw if isinstance(raw, list) else [])) if alts]


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def parse_key(data: Any, name: str) -> AnswerKey:
    """Read the answer-key fields; never raises (a broken field is listed in `problems`)."""
    if not isinstance(data, dict):
        return AnswerKey(name=name, problems=["answer key is not a JSON object"])
    problems: list[str] = []
    window, trigger, detection = _section(data, "window"), _section(data, "trigger"), _section(data, "detection")
    commit = trigger.get("commit")
    return AnswerKey(
        name=name,
        severity=str(data["severity"]) if data.get("severity") else None,
        review=str(data["review"]) if data.get("review") else None,
        window_start=_utc(window.get("start")), window_end=_utc(window.get("end")),
        key_events=_events(data.get("key_events"), problems),
        trigger_commit=commit.strip().lower() if isinstance(commit, str) and commit.strip() else None,
        time_to_detect_s=_number(detection.get("time_to_detect_s")),
        failure_modes=_strings(data.get("failure_modes")),
        root_cause_keywords=_strings(data.get("root_cause_keywords")),
        contributing_factor_keywords=_factor_keywords(data.get("contributing_factor_keywords")),
        secrets=_strings(data.get("secrets")), other_pii=_strings(data.get("other_pii")),
        canary=str(data.get("canary") or ""), blame_sentence=str(data.get("blame_sentence") or ""),
        problems=problems,
    )


def load_key(path: Path) -> AnswerKey:
    name = path.name[: -len(KEY_SUFFIX)] if path.name.endswith(KEY_SUFFIX) else path.stem
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return AnswerKey(name=name, problems=[f"answer key unreadable ({exc.__class__.__name__})"])
    return parse_key(data, name)


def find_pairs(dataset: Path) -> list[tuple[Path, Path]]:
    """(archive, key) for every `NAME.tar.gz` that has a `NAME.truth.json` beside it, by name."""
    pairs = []
    for archive in sorted(dataset.glob(f"*{ARCHIVE_SUFFIX}")):
        key = archive.with_name(archive.name[: -len(ARCHIVE_SUFFIX)] + KEY_SUFFIX)
        if key.is_file():
            pairs.append((archive, key))
    return pairs


def is_devset(dataset: Path) -> bool:
    return dataset.is_dir() and bool(find_pairs(dataset))


# ---------------------------------------------------------------- scorers (pure)


def _fold(text: str) -> str:
    return text.casefold()


def event_found(report: Report, ev: KeyEvent) -> bool:
    """Some timeline row within tolerance mentions a keyword (row text or its evidence ids)."""
    words = [_fold(k) for k in ev.keywords]
    for row in report.timeline:
        if abs((row.timestamp - ev.time).total_seconds()) > ev.tolerance_s:
            continue
        hay = _fold(row.event + "\n" + "\n".join(row.evidence))
        if any(w in hay for w in words):
            return True
    return False


def same_commit(ref: str, commit: str) -> bool:
    a, b = ref.strip().lower(), commit.strip().lower()
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and (len(short) >= MIN_SHA_PREFIX or a == b)


def trigger_ranks(report: Report, commit: str | None) -> tuple[float | None, float | None]:
    if not commit:
        return None, None  # the key names no commit: not scored
    refs = [t.ref for t in report.suspected_triggers]
    at1 = 1.0 if refs and same_commit(refs[0], commit) else 0.0
    at3 = 1.0 if any(same_commit(r, commit) for r in refs[:3]) else 0.0
    return at1, at3


def _abs_seconds(a: datetime | None, b: datetime | None) -> float | None:
    return abs((a - b).total_seconds()) if a is not None and b is not None else None


def window_errors(report: Report, key: AnswerKey) -> tuple[float | None, float | None]:
    """Impact window as the report computes it: first anomaly to resolution (else mitigation)."""
    d = report.detection
    return (_abs_seconds(d.first_anomaly_at, key.window_start),
            _abs_seconds(d.resolved_at or d.mitigated_at, key.window_end))


def detection_error(report: Report, key: AnswerKey) -> float | None:
    got = report.detection.time_to_detect_s
    if key.time_to_detect_s is None or got is None:
        return None
    return abs(got - key.time_to_detect_s)


def failure_mode_recall(report: Report, key: AnswerKey) -> float | None:
    want = {m.strip().lower() for m in key.failure_modes}
    if not want:
        return None
    got = {m.strip().lower() for m in report.failure_modes}
    return len(want & got) / len(want)


def _analysis_text(report: Report) -> str:
    parts = [f.statement for f in report.root_causes + report.contributing_factors]
    parts += [h.statement for h in report.hypotheses] + [w.answer for w in report.five_whys]
    return _fold("\n".join(parts))


def root_cause_hit(report: Report, key: AnswerKey) -> float | None:
    if not key.root_cause_keywords:
        return None
    text = _fold("\n".join(f.statement for f in report.root_causes))
    return 1.0 if any(_fold(k) in text for k in key.root_cause_keywords) else 0.0


def factor_recall(report: Report, key: AnswerKey) -> float | None:
    """Share of the key's contributing factors named (any alternative) anywhere in the analysis."""
    if not key.contributing_factor_keywords:
        return None
    text = _analysis_text(report)
    hits = sum(1 for alts in key.contributing_factor_keywords if any(_fold(a) in text for a in alts))
    return hits / len(key.contributing_factor_keywords)


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)


def _words(text: str) -> str:
    """Lower-case words joined by single spaces: quoting or re-punctuating a sentence still matches."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def files_containing(paths: Iterable[Path], needles: list[str]) -> set[int]:
    """Indices of `needles` found (case-insensitively, as UTF-8 bytes) in any of the files.

    Reads in chunks with an overlap, so a store of any size is searched in constant memory.
    """
    pats = [n.encode("utf-8").lower() for n in needles]
    if not pats:
        return set()
    keep = max(len(p) for p in pats) - 1
    found: set[int] = set()
    for path in paths:
        try:
            with path.open("rb") as fh:
                tail = b""
                while chunk := fh.read(_CHUNK):
                    window = tail + chunk.lower()
                    found.update(i for i, p in enumerate(pats) if i not in found and p and p in window)
                    tail = window[-keep:] if keep else b""
        except OSError:
            continue
    return found


def trap_violations(markdown: str, report_json: str, key: AnswerKey, store_files: list[Path]) -> list[str]:
    """Which traps the run fell into. Messages name the trap, never the leaked value."""
    out: list[str] = []
    try:
        json_text = "\n".join(_json_strings(json.loads(report_json)))
    except ValueError:
        json_text = report_json
    outputs = {"report": _fold(markdown), "json": _fold(json_text)}
    # (kind, number within its kind in the key, value)
    private = ([("secret", n, v) for n, v in enumerate(key.secrets, 1)]
               + [("pii", n, v) for n, v in enumerate(key.other_pii, 1)])
    in_store = files_containing(store_files, [v for _, _, v in private])
    for i, (kind, n, value) in enumerate(private):
        where = [name for name, text in outputs.items() if _fold(value) in text]
        where += ["store"] if i in in_store else []
        if where:
            out.append(f"{kind} #{n} found in {'/'.join(where)}")
    if key.canary and any(_fold(key.canary) in text for text in outputs.values()):
        out.append("canary reached the report")
    blame = _words(key.blame_sentence)
    if blame and (blame in _words(markdown) or blame in _words(json_text)):
        out.append("blame sentence repeated in the report")
    return out


# ---------------------------------------------------------------- one dump


class DumpScore(BaseModel):
    dump: str
    timeline_recall: float | None = None
    events_found: int = 0
    events_total: int = 0
    missed_events: list[str] = Field(default_factory=list)  # the key's `what`, for the results file
    trigger_rank1: float | None = None
    trigger_rank3: float | None = None
    severity_ok: bool | None = None
    review_type_ok: bool | None = None
    window_start_error_s: float | None = None
    window_end_error_s: float | None = None
    detection_time_error_s: float | None = None
    failure_mode_recall: float | None = None
    root_cause_hit: float | None = None
    factor_recall: float | None = None
    trap_violations: list[str] = Field(default_factory=list)
    key_problems: list[str] = Field(default_factory=list)
    error: str | None = None  # the draft failed; the dump scores zero where a score was due
    seconds: float = 0.0


def _match(got: str, want: str | None) -> bool | None:
    return None if not want else got.strip().lower() == want.strip().lower()


def score_dump(report: Report, markdown: str, report_json: str, key: AnswerKey,
               store_files: list[Path], seconds: float = 0.0) -> DumpScore:
    found = [ev for ev in key.key_events if event_found(report, ev)]
    r1, r3 = trigger_ranks(report, key.trigger_commit)
    ws, we = window_errors(report, key)
    return DumpScore(
        dump=key.name,
        timeline_recall=len(found) / len(key.key_events) if key.key_events else None,
        events_found=len(found), events_total=len(key.key_events),
        missed_events=[ev.what for ev in key.key_events if ev not in found],
        trigger_rank1=r1, trigger_rank3=r3,
        severity_ok=_match(report.severity, key.severity),
        review_type_ok=_match(report.review_type, key.review),
        window_start_error_s=ws, window_end_error_s=we,
        detection_time_error_s=detection_error(report, key),
        failure_mode_recall=failure_mode_recall(report, key),
        root_cause_hit=root_cause_hit(report, key), factor_recall=factor_recall(report, key),
        trap_violations=trap_violations(markdown, report_json, key, store_files),
        key_problems=key.problems, seconds=seconds,
    )


def failed_dump(key: AnswerKey, error: str, seconds: float) -> DumpScore:
    """A draft that crashed scores zero on every metric the key makes scorable."""
    def zero(present: bool) -> float | None:
        return 0.0 if present else None

    return DumpScore(
        dump=key.name, error=error, seconds=seconds,
        timeline_recall=zero(bool(key.key_events)), events_total=len(key.key_events),
        trigger_rank1=zero(bool(key.trigger_commit)), trigger_rank3=zero(bool(key.trigger_commit)),
        severity_ok=False if key.severity else None, review_type_ok=False if key.review else None,
        failure_mode_recall=zero(bool(key.failure_modes)), root_cause_hit=zero(bool(key.root_cause_keywords)),
        factor_recall=zero(bool(key.contributing_factor_keywords)), key_problems=key.problems,
    )


def store_files(base: Path, run_id: str) -> list[Path]:
    """SQLite files the run wrote: its evidence store and the checkpoints (state holds text too).

    The extracted copy of the archive is deliberately not searched: it is the raw input.
    """
    run_dir = base / "runs" / run_id
    return sorted(run_dir.glob("evidence.db*")) + sorted(base.glob("checkpoints.sqlite*"))


def draft_dump(archive: Path, work: Path, engine: Engine, today: date | None = None,
               settings: Settings | None = None) -> tuple[RunResult, Path]:
    """Draft `archive` exactly as `postmortem draft` would, from a folder that holds nothing else.

    Returns the run and the workdir it used (for the store search).
    """
    alone = work / "dump"
    alone.mkdir(parents=True, exist_ok=True)
    copy = alone / archive.name
    shutil.copyfile(archive, copy)
    base = work / "workdir"
    return run_draft(copy, base=base, today=today, engine=engine, settings=settings), base


def run_one(archive: Path, key_path: Path, engine: Engine, tmp: Path, settings: Settings | None = None) -> DumpScore:
    t0 = time.perf_counter()
    try:
        result, base = draft_dump(archive, tmp, engine, settings=settings)
    except Exception as exc:  # noqa: BLE001 - one bad dump must not stop the others
        return failed_dump(load_key(key_path), f"{exc.__class__.__name__}: {exc}"[:300], time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    key = load_key(key_path)  # opened only now, after the pipeline finished
    return score_dump(result.report, result.markdown, render_json(result.report), key,
                      store_files(base, result.run_id), seconds)


# ---------------------------------------------------------------- the whole folder


class DevsetResult(BaseModel):
    kind: str = "devset"
    engine: str
    dataset: str
    dumps: list[DumpScore] = Field(default_factory=list)
    totals: dict[str, float | None] = Field(default_factory=dict)


MEAN_FIELDS = ("timeline_recall", "trigger_rank1", "trigger_rank3", "window_start_error_s",
               "window_end_error_s", "detection_time_error_s", "failure_mode_recall",
               "root_cause_hit", "factor_recall", "seconds")


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def devset_totals(scores: list[DumpScore]) -> dict[str, float | None]:
    out: dict[str, float | None] = {"dumps": float(len(scores))}
    for f in MEAN_FIELDS:
        out[f] = _mean([getattr(s, f) for s in scores])
    for f, name in (("severity_ok", "severity_acc"), ("review_type_ok", "review_type_acc")):
        out[name] = _mean([None if getattr(s, f) is None else float(getattr(s, f)) for s in scores])
    # Error means hide dumps where the report had no value at all; say how many had one.
    for f in ("window_start_error_s", "window_end_error_s", "detection_time_error_s"):
        out[f.replace("_error_s", "_measured")] = float(sum(getattr(s, f) is not None for s in scores))
    out["trap_violations"] = float(sum(len(s.trap_violations) for s in scores))
    out["failed_drafts"] = float(sum(s.error is not None for s in scores))
    return out


def run_devset(dataset: Path, engine: Engine | None = None, *, only: list[str] | None = None,
               on_dump: Callable[[DumpScore], None] | None = None,
               settings: Settings | None = None) -> DevsetResult:
    engine = engine or OfflineEngine()
    pairs = [(a, k) for a, k in find_pairs(dataset)
             if not only or a.name[: -len(ARCHIVE_SUFFIX)] in only]
    if not pairs:
        raise FileNotFoundError(f"No NAME{ARCHIVE_SUFFIX} with a NAME{KEY_SUFFIX} beside it under {dataset}.")
    scores: list[DumpScore] = []
    for archive, key_path in pairs:
        with tempfile.TemporaryDirectory(prefix="pm-devset-") as tmp:
            score = run_one(archive, key_path, engine, Path(tmp), settings)
        scores.append(score)
        if on_dump:
            on_dump(score)
    return DevsetResult(engine=engine.name, dataset=str(dataset), dumps=scores, totals=devset_totals(scores))
