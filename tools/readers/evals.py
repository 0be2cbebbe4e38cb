"""Eval and probe results as EVAL records (`eval:<rel>:<index>`, index from 1 in file order).

Shapes:
  lm-evaluation-harness  results_*.json: {"results": {task: {"acc,none": ..}}, "n-samples", "config",
                         "date" (epoch s), ...} -> one record per task; samples_<task>_*.jsonl lines
                         ({"doc_id", "target", "resps", "filtered_resps", "metrics": [..], <metric>: ..})
                         -> one record per sample.
  promptfoo              `promptfoo eval -o out.json`: {"evalId", "results": {"timestamp", "results": [..],
                         "stats": {..}}} -> one run record from stats, then one per result.
  generic                per-sample JSON Lines / JSON lists with pass/fail or score fields; run summaries
                         with a `metrics`/`scores` mapping (one record) or a list of suites (one record each).
attrs: suite, run, sample_id, metric, score (float), passed (bool), model, plus metrics/extra fields.
Times come from the file (run or sample timestamps); a file without one gives undated records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import parse_ts

SNIPPET = 300
MAX_METRICS = 40
# Numbers below this (2000-01-01) are not wall-clock epochs: lm-eval's start_time/end_time are
# perf-counter readings, and a stray small number must never become a 1970 date.
_MIN_EPOCH = 946_684_800
_TS_KEYS = ("timestamp", "generated_at", "created_at", "createdAt", "completed_at", "finished_at",
            "evaluated_at", "evaluationCreatedAt", "date", "time", "run_date", "started_at", "ts")
_ID_KEYS = ("sample_id", "doc_id", "probe_id", "case_id", "test_id", "example_id", "question_id", "item_id",
            "prompt_id", "instance_id", "task_id", "id", "idx", "index", "uid")
_SPECIFIC_ID_KEYS = _ID_KEYS[:11]  # the ones naming an eval item (not a bare `id`)
_PASS_KEYS = ("passed", "pass", "success", "correct", "is_correct", "ok", "resolved", "is_pass")
_SCORE_KEYS = ("score", "accuracy", "acc", "exact_match", "em", "f1", "reward", "rating", "win_rate",
               "pass_rate", "value")
_LABEL_KEYS = ("verdict", "judgement", "judgment", "outcome", "result", "label", "grade")
_LABEL_VALUES = {"pass": True, "passed": True, "correct": True, "success": True, "ok": True, "true": True,
                 "yes": True, "fail": False, "failed": False, "incorrect": False, "wrong": False,
                 "error": False, "false": False, "no": False, "failure": False}
# Words in a boolean field's name that say which way it points (checked as whole name tokens).
_NEGATIVE = {"fail", "failed", "failure", "error", "incorrect", "wrong", "violation", "violated", "unsafe",
             "harmful", "hallucinated", "hallucination", "flagged", "jailbroken", "leaked", "toxic", "regressed"}
_POSITIVE = {"pass", "passed", "success", "successful", "correct", "ok", "safe", "match", "matched",
             "accurate", "valid", "resolved"}
_LOG_KEYS = ("level", "severity", "levelname", "msg", "message")
_MODEL_KEYS = ("model", "model_name", "model_id", "candidate", "provider")
_SUITE_KEYS = ("suite", "task", "benchmark", "eval", "eval_name", "dataset", "suite_name", "task_name")
_SUITE_LISTS = ("suites", "tasks", "benchmarks", "evals", "evaluations")
_SAMPLE_LISTS = ("samples", "results", "items", "examples", "records", "data", "predictions")
_COUNT_KEYS = {"n", "count", "total", "num_samples", "samples", "size", "n_samples", "support"}
_LM_EVAL_HEAD = (re.compile(r'"results"\s*:\s*\{'), re.compile(r',none"\s*:|_stderr,'))
_PROMPTFOO_HEAD = re.compile(r'"evalId"\s*:|"gradingResult"\s*:')
_LM_SAMPLES_NAME = re.compile(r"samples_(.+?)_\d{4}-\d{2}-\d{2}T")
_DATE_TAIL = re.compile(r"[-_.]?\d{4}-?\d{2}-?\d{2}.*$")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if f == f and abs(f) != float("inf") else None


def file_time(value: Any, ctx: ReadContext) -> tuple[datetime, bool] | None:
    """A timestamp stated in the file, refusing numbers too small to be wall-clock epochs."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value < _MIN_EPOCH):
        return None
    parsed = parse_ts(value, ctx.default_tz)
    if parsed is None or parsed[0] < datetime(2000, 1, 1, tzinfo=timezone.utc):
        return None
    return parsed


def _record_time(rec: dict[str, Any], ctx: ReadContext) -> tuple[datetime, bool] | None:
    for k in _TS_KEYS:
        if k in rec:
            parsed = file_time(rec[k], ctx)
            if parsed is not None:
                return parsed
    return None


def _name_tokens(key: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", key).lower()))


def outcome(rec: dict[str, Any]) -> tuple[str, Any, bool | None] | None:
    """(field, raw value, passed) of a sample's verdict; passed None when the polarity is unknown."""
    for k in _PASS_KEYS:
        if isinstance(rec.get(k), bool):
            return k, rec[k], rec[k]
    for k in _LABEL_KEYS:
        v = rec.get(k)
        if isinstance(v, str) and v.strip().lower() in _LABEL_VALUES:
            return k, v, _LABEL_VALUES[v.strip().lower()]
    for k, v in rec.items():
        if isinstance(v, bool):
            tokens = _name_tokens(k)
            if tokens & _NEGATIVE:
                return k, v, not v
            if tokens & _POSITIVE:
                return k, v, v
    for k in _SCORE_KEYS:
        if _num(rec.get(k)) is not None:
            return k, rec[k], None
    return None


def is_lm_eval_sample(obj: dict[str, Any]) -> bool:
    return "doc_id" in obj and ("resps" in obj or "filtered_resps" in obj)


def is_sample(obj: dict[str, Any]) -> bool:
    """A per-sample eval result: an item id or input, a verdict, and nothing that marks a log line.
    A verdict read only from a boolean field's name (e.g. `agreed_with_incorrect_claim`) also needs
    an item-specific id (`probe_id`, not a bare `id`) or a model/judge field, so that a ticket or chat
    record carrying a `flagged` boolean is not taken for an eval sample."""
    if is_lm_eval_sample(obj):
        return True
    if any(k in obj for k in _LOG_KEYS):
        return False
    has_item = any(k in obj for k in _ID_KEYS) or any(
        k in obj for k in ("prompt", "question", "input", "target", "expected", "reference"))
    found = outcome(obj) if has_item else None
    if found is None:
        return False
    if found[0] in _PASS_KEYS or found[0] in _LABEL_KEYS or found[0] in _SCORE_KEYS:
        return True
    specific_id = any(k in obj for k in _SPECIFIC_ID_KEYS)
    return specific_id or any(k in obj for k in ("model", "judge", "grader", "evaluator"))


def _numeric_metrics(d: dict[str, Any]) -> dict[str, float]:
    out = {str(k): f for k, v in d.items() if (f := _num(v)) is not None}
    return dict(list(out.items())[:MAX_METRICS])


def _primary(metrics: dict[str, float]) -> tuple[str, float] | None:
    """The headline metric: a known score name first, else the first non-count, non-stderr number."""
    for want in _SCORE_KEYS:
        for k, v in metrics.items():
            if k == want or k.split(",")[0] == want:
                return k, v
    for k, v in metrics.items():
        if "stderr" not in k and k.lower() not in _COUNT_KEYS and not k.lower().startswith(("num_", "n_")):
            return k, v
    return None


def doc_kind(doc: Any) -> str | None:
    if isinstance(doc, dict):
        results = doc.get("results")
        if isinstance(results, dict) and isinstance(results.get("results"), list):
            return "promptfoo"
        if isinstance(results, dict) and _looks_lm_eval(doc, results):
            return "lm_eval"
        if any(isinstance(doc.get(k), list) and doc[k] and isinstance(doc[k][0], dict) and _is_suite(doc[k][0])
               for k in _SUITE_LISTS):
            return "suites"
        if any(isinstance(doc.get(k), dict) and _numeric_metrics(doc[k]) for k in ("metrics", "scores")):
            return "summary"
    items = common.doc_items(doc, _SAMPLE_LISTS)
    if items and isinstance(items[0], dict) and is_sample(items[0]):
        return "samples"
    return None


def _looks_lm_eval(doc: dict[str, Any], results: dict[str, Any]) -> bool:
    if any(k in doc for k in ("versions", "n-shot", "n-samples", "configs", "higher_is_better")):
        return True
    first = next(iter(results.values()), None)
    return isinstance(first, dict) and any("," in str(k) for k in first)


def _is_suite(item: dict[str, Any]) -> bool:
    named = any(isinstance(item.get(k), str) for k in ("name", *_SUITE_KEYS))
    return named and (outcome(item) is not None or bool(_numeric_metrics(item)))


class EvalResultsReader(common.JsonExportReader, name="eval", sample_lines=5):
    def judge(self, sample: common.JsonSample) -> bool:
        if sample.lines is not None:
            return sum(1 for o in sample.lines if is_sample(o)) * 2 > len(sample.lines)
        if sample.doc is not None:
            return doc_kind(sample.doc) is not None
        # Bigger than the sniff window: lm-eval metric keys ("acc,none") or promptfoo's own keys.
        s = sample.text
        return all(p.search(s) for p in _LM_EVAL_HEAD) or _PROMPTFOO_HEAD.search(s) is not None

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        with open(path, "rb") as f:
            head = f.read(65536).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        out = _Out(rel, ctx)
        if common.one_entry_per_line(head):
            yield from _read_lines(path, rel, ctx, out)
            return
        doc, bad = common.load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        kind = doc_kind(doc)
        reader = _DOC_READERS.get(kind or "")
        if reader is None:
            yield Malformed(source=rel, reason="no eval results found in the document")
            return
        yield from reader(doc, out)


class _Out:
    """Numbers records of one file and builds their Evidence."""

    def __init__(self, rel: str, ctx: ReadContext) -> None:
        self.rel, self.rid, self.ctx, self.n = rel, common.id_part(rel), ctx, 0
        # A samples file names its suite: lm-eval's samples_<task>_<date>, or any name minus its date.
        stem = rel.rsplit("/", 1)[-1].split(".")[0]
        m = _LM_SAMPLES_NAME.match(stem)
        self.file_suite = m.group(1) if m else (_DATE_TAIL.sub("", stem) or None)

    def emit(self, attrs: dict[str, Any], text: str, locator: str,
             when: tuple[datetime, bool] | None, *, dated_by_run: bool = False) -> Evidence:
        self.n += 1
        attrs = {k: v for k, v in attrs.items() if v is not None and v != ""}
        if dated_by_run and when is not None:
            attrs["ts_source"] = "run"  # the sample carries no time of its own; its run's is used
        failed = attrs.get("passed") is False
        return common.make(
            EvidenceKind.EVAL, f"eval:{self.rid}:{self.n}", self.rel, locator,
            ts=when[0] if when else None, assumed=(when[1] or dated_by_run) if when else False,
            level="warning" if failed else "info", text=text, attrs=attrs,
        )


def _verdict(passed: Any) -> str:
    return "PASS" if passed is True else "FAIL" if passed is False else "n/a"


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _eval_text(a: dict[str, Any], extra: str = "") -> str:
    head = "eval"
    for key in ("suite", "run", "sample_id", "model"):
        if a.get(key) is not None:
            head += f" {key}={a[key]}"
    if a.get("metric") is not None:
        shown = a["score"] if a.get("score") is not None else a.get("value")
        head += f" {a['metric']}={_fmt(shown)}"
    head += f" {_verdict(a.get('passed'))}"
    return head + (f" | {extra}" if extra else "")


def _snippets(rec: dict[str, Any]) -> str:
    """Short input and output text of a sample, found by what its keys are called."""
    parts = []
    for label, words in (("input", ("prompt", "question", "input", "claim", "query")),
                         ("output", ("response", "output", "completion", "answer", "prediction", "resps")),
                         ("expected", ("target", "expected", "reference", "gold")),
                         ("reason", ("reason", "explanation", "rationale"))):
        key = next((k for k in rec if any(w in k.lower() for w in words) and _is_content(k, rec[k])), None)
        if key is not None:
            v = rec[key]
            parts.append(f"{label}: {common.clip(v if isinstance(v, str) else json.dumps(v, default=str), SNIPPET)}")
    return " | ".join(parts)


def _is_content(key: str, value: Any) -> bool:
    """Text worth quoting: not empty, not a number, not an id or version field."""
    if value in (None, "") or isinstance(value, (bool, int, float)):
        return False
    return not key.lower().endswith(("id", "version", "hash", "_idx", "_index"))


def _model_of(rec: dict[str, Any]) -> str | None:
    for k in _MODEL_KEYS:
        v = rec.get(k)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, dict) and (v.get("id") or v.get("label")):
            return str(v.get("id") or v.get("label"))
    return None


def _suite_of(rec: dict[str, Any]) -> str | None:
    return next((str(rec[k]) for k in _SUITE_KEYS if isinstance(rec.get(k), str) and rec[k]), None)


def _sample(rec: dict[str, Any], out: _Out, locator: str, run: dict[str, Any],
            run_time: tuple[datetime, bool] | None) -> Evidence:
    if is_lm_eval_sample(rec):
        return _lm_sample(rec, out, locator)
    found = outcome(rec)
    field, raw, passed = found if found else (None, None, None)
    sid = next((rec[k] for k in _ID_KEYS if rec.get(k) not in (None, "")), None)
    score = next((f for k in _SCORE_KEYS if (f := _num(rec.get(k))) is not None), None)
    attrs = {"suite": _suite_of(rec) or run.get("suite") or out.file_suite, "run": run.get("run"),
             "sample_id": str(sid) if sid is not None else None, "metric": field, "score": score,
             "passed": passed, "model": _model_of(rec) or run.get("model"), "value": raw if score is None else None}
    own = _record_time(rec, out.ctx)
    return out.emit(attrs, _eval_text(attrs, _snippets(rec)), locator, own or run_time,
                    dated_by_run=own is None)


def _lm_sample(rec: dict[str, Any], out: _Out, locator: str) -> Evidence:
    names = [str(m) for m in rec.get("metrics") or [] if _num(rec.get(m)) is not None]
    metrics = {m: _num(rec[m]) for m in names}
    metric = names[0] if names else None
    score = metrics.get(metric) if metric else None
    attrs = {"suite": out.file_suite, "sample_id": str(rec.get("doc_id")), "metric": metric, "score": score,
             "passed": (score == 1.0) if score in (0.0, 1.0) else None, "metrics": metrics or None,
             "filter": rec.get("filter")}
    resp = rec.get("filtered_resps") or rec.get("resps")
    extra = f"expected: {common.clip(str(rec.get('target')), SNIPPET)} | output: {common.clip(json.dumps(resp, default=str), SNIPPET)}"
    return out.emit(attrs, _eval_text(attrs, extra), locator, _record_time(rec, out.ctx))


def _read_lines(path: Path, rel: str, ctx: ReadContext, out: _Out) -> Iterator[Evidence | Malformed]:
    for item in common.iter_json_lines(path, rel, ctx):
        if isinstance(item, Malformed):
            yield item
            continue
        lineno, rec = item
        if not isinstance(rec, dict) or not is_sample(rec):
            yield Malformed(source=rel, locator=f"line {lineno}", reason="not an eval sample (no verdict or score)")
            continue
        yield _sample(rec, out, f"line {lineno}", {}, None)


def _run_info(doc: dict[str, Any], ctx: ReadContext) -> tuple[dict[str, Any], tuple[datetime, bool] | None]:
    run = {"run": next((str(doc[k]) for k in ("run", "run_id", "evalId", "eval_id", "id") if doc.get(k)), None),
           "model": _model_of(doc), "suite": _suite_of(doc)}
    return run, _record_time(doc, ctx)


def _read_samples_doc(doc: Any, out: _Out) -> Iterator[Evidence | Malformed]:
    run, when = _run_info(doc, out.ctx) if isinstance(doc, dict) else ({}, None)
    for i, rec in enumerate(common.doc_items(doc, _SAMPLE_LISTS) or [], 1):
        if isinstance(rec, dict) and is_sample(rec):
            yield _sample(rec, out, f"sample {i}", run, when)
        else:
            yield Malformed(source=out.rel, locator=f"sample {i}", reason="not an eval sample (no verdict or score)")


def _summary_passed(doc: dict[str, Any]) -> bool | None:
    found = outcome({k: v for k, v in doc.items() if k in _PASS_KEYS or k in _LABEL_KEYS})
    if found:
        return found[2]
    decision = doc.get("decision") or doc.get("status")
    word = str(decision).strip().split()[0].lower() if decision else ""
    return _LABEL_VALUES.get(word)


def _read_summary(doc: dict[str, Any], out: _Out) -> Iterator[Evidence | Malformed]:
    run, when = _run_info(doc, out.ctx)
    metrics = _numeric_metrics(common.as_dict(doc.get("metrics")) or common.as_dict(doc.get("scores")))
    top = _primary(metrics)
    attrs = {**run, "metric": top[0] if top else None, "score": top[1] if top else None,
             "passed": _summary_passed(doc), "metrics": metrics}
    yield out.emit(attrs, _eval_text(attrs, _metrics_text(metrics)), "summary", when)


def _metrics_text(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in list(metrics.items())[:12])


def _read_suites(doc: dict[str, Any], out: _Out) -> Iterator[Evidence | Malformed]:
    run, when = _run_info(doc, out.ctx)
    key = next(k for k in _SUITE_LISTS if isinstance(doc.get(k), list))
    run_extra = {k: doc[k] for k in ("baseline", "decision") if isinstance(doc.get(k), (str, int, float))}
    for i, item in enumerate(doc[key], 1):
        if not isinstance(item, dict):
            yield Malformed(source=out.rel, locator=f"{key} {i}", reason="suite entry is not an object")
            continue
        metrics = _numeric_metrics(item)
        top = _primary(metrics)
        found = outcome({k: v for k, v in item.items() if k in _PASS_KEYS or k in _LABEL_KEYS})
        attrs = {**run, "suite": item.get("name") or _suite_of(item), "model": _model_of(item) or run["model"],
                 "metric": top[0] if top else None, "score": top[1] if top else None,
                 "passed": found[2] if found else None, "metrics": metrics, "run_info": run_extra or None,
                 **{k: item[k] for k in ("gate", "note", "judge") if isinstance(item.get(k), str)}}
        extra = _metrics_text(metrics)
        for k in ("gate", "note"):
            if isinstance(item.get(k), str):
                extra += f" | {k}: {common.clip(item[k], SNIPPET)}"
        yield out.emit(attrs, _eval_text(attrs, extra), f"{key} {i}", when)


def _read_lm_eval(doc: dict[str, Any], out: _Out) -> Iterator[Evidence | Malformed]:
    when = file_time(doc.get("date"), out.ctx)
    cfg = common.as_dict(doc.get("config"))
    args = str(cfg.get("model_args") or "")
    m = re.search(r"(?:pretrained|model|engine)=([^,\s]+)", args)
    model = doc.get("model_name") or (m.group(1) if m else None) or cfg.get("model")
    n_samples = common.as_dict(doc.get("n-samples"))
    for task, res in common.as_dict(doc.get("results")).items():
        if not isinstance(res, dict):
            yield Malformed(source=out.rel, locator=f"results {task}", reason="task results are not an object")
            continue
        metrics = _numeric_metrics(res)
        top = _primary(metrics)
        attrs = {"suite": str(task), "model": str(model) if model else None, "metric": top[0] if top else None,
                 "score": top[1] if top else None, "metrics": metrics, "alias": res.get("alias"),
                 "n_samples": common.as_dict(n_samples.get(task)).get("effective"), "run": doc.get("git_hash")}
        yield out.emit(attrs, _eval_text(attrs, _metrics_text(metrics)), f"results {task}", when)


def _read_promptfoo(doc: dict[str, Any], out: _Out) -> Iterator[Evidence | Malformed]:
    res = common.as_dict(doc.get("results"))
    meta = common.as_dict(doc.get("metadata"))
    when = (file_time(res.get("timestamp"), out.ctx) or file_time(meta.get("evaluationCreatedAt"), out.ctx)
            or file_time(doc.get("createdAt") or doc.get("timestamp"), out.ctx))
    suite = common.as_dict(doc.get("config")).get("description")
    run = {"run": doc.get("evalId") or doc.get("id"), "suite": suite if isinstance(suite, str) else None}
    stats = common.as_dict(res.get("stats"))
    if stats:
        yield _promptfoo_stats(stats, run, out, when)
    for i, r in enumerate(res.get("results") or [], 1):
        if not isinstance(r, dict):
            yield Malformed(source=out.rel, locator=f"result {i}", reason="result is not an object")
            continue
        yield _promptfoo_result(r, i, run, out, when)


def _promptfoo_stats(stats: dict[str, Any], run: dict[str, Any], out: _Out,
                     when: tuple[datetime, bool] | None) -> Evidence:
    ok, bad, err = (int(_num(stats.get(k)) or 0) for k in ("successes", "failures", "errors"))
    total = ok + bad + err
    attrs = {**run, "metric": "pass_rate", "score": ok / total if total else None,
             "passed": (bad + err == 0) if total else None,
             "metrics": {"successes": ok, "failures": bad, "errors": err}}
    return out.emit(attrs, _eval_text(attrs, f"{ok} passed, {bad} failed, {err} errors"), "stats", when)


def _promptfoo_result(r: dict[str, Any], i: int, run: dict[str, Any], out: _Out,
                      when: tuple[datetime, bool] | None) -> Evidence:
    grading = common.as_dict(r.get("gradingResult"))
    prov = r.get("provider")
    model = common.as_dict(prov).get("id") or common.as_dict(prov).get("label") if isinstance(prov, dict) else prov
    sid = r.get("id") or f"test{r.get('testIdx', i)}-prompt{r.get('promptIdx', 0)}"
    passed = r.get("success") if isinstance(r.get("success"), bool) else grading.get("pass")
    attrs = {**run, "sample_id": str(sid), "metric": "score", "score": _num(r.get("score", grading.get("score"))),
             "passed": passed if isinstance(passed, bool) else None, "model": str(model) if model else None,
             "latency_ms": _num(r.get("latencyMs")), "named_scores": common.as_dict(r.get("namedScores")) or None,
             "error": common.clip(str(r["error"]), 1000) if r.get("error") else None}
    prompt = common.as_dict(r.get("prompt")).get("raw") if isinstance(r.get("prompt"), dict) else r.get("prompt")
    output = common.as_dict(r.get("response")).get("output")
    parts = [f"reason: {common.clip(str(grading['reason']), SNIPPET)}" if grading.get("reason") else "",
             f"vars: {common.clip(json.dumps(r['vars'], default=str), SNIPPET)}" if r.get("vars") else "",
             f"input: {common.clip(str(prompt), SNIPPET)}" if prompt else "",
             f"output: {common.clip(output if isinstance(output, str) else json.dumps(output, default=str), SNIPPET)}"
             if output is not None else ""]
    return out.emit(attrs, _eval_text(attrs, " | ".join(p for p in parts if p)), f"result {i}", when,
                    dated_by_run=True)


_DOC_READERS = {"promptfoo": _read_promptfoo, "lm_eval": _read_lm_eval, "suites": _read_suites,
                "summary": _read_summary, "samples": _read_samples_doc}

READER = EvalResultsReader()
