"""Run the eval dataset through the draft pipeline, score it, compare runs, gate on a baseline."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from agent.config import Settings
from agent.engine import Engine, OfflineEngine
from agent.render import render_json
from agent.runner import run_draft
from evals.ground_truth import DATASET_DIR, GroundTruth, dump_path, load_dataset
from evals.scoring import CaseScore, score_case, totals

BASELINE = Path(__file__).resolve().parent / "baseline.json"
# Metrics where lower is better; every other gated metric must not drop below the baseline.
LOWER_IS_BETTER = {"detection_time_error_s", "trap_violations", "seconds_mean"}
NOT_GATED = {"seconds_mean", "cases", "detection_time_error_s"}
GATE_SLACK = 1e-9


class EvalResult(BaseModel):
    engine: str
    model: str = ""
    prompt_version: str = ""
    repeat: int = 1
    cases: list[CaseScore] = Field(default_factory=list)
    totals: dict[str, float | None] = Field(default_factory=dict)
    spread: dict[str, float] = Field(default_factory=dict)  # stdev of totals across repeats


def run_case(gt: GroundTruth, engine: Engine, workdir: Path, settings: Settings | None = None) -> CaseScore:
    today = (gt.resolved_at + timedelta(days=2)).date()
    t0 = time.perf_counter()
    result = run_draft(dump_path(gt), base=workdir, today=today, engine=engine, settings=settings)
    seconds = time.perf_counter() - t0
    return score_case(result.report, result.markdown, render_json(result.report), gt, seconds)


def run_eval(
    engine: Engine | None = None,
    *,
    dataset: Path = DATASET_DIR,
    repeat: int = 1,
    model: str = "",
    only: list[str] | None = None,
    on_case: Callable[[CaseScore], None] | None = None,
    settings: Settings | None = None,
) -> EvalResult:
    engine = engine or OfflineEngine()
    cases = [gt for gt in load_dataset(dataset) if not only or gt.case in only]
    if not cases:
        raise FileNotFoundError(f"No cases (*/ground_truth.json) under {dataset}.")
    runs: list[list[CaseScore]] = []
    with tempfile.TemporaryDirectory(prefix="pm-eval-") as tmp:
        for r in range(repeat):
            scores = []
            for gt in cases:
                s = run_case(gt, engine, Path(tmp) / f"r{r}", settings)
                scores.append(s)
                if on_case:
                    on_case(s)
            runs.append(scores)
    per_run = [totals(s) for s in runs]
    mean_totals: dict[str, float | None] = {}
    spread: dict[str, float] = {}
    for key in per_run[0]:
        vals = [t[key] for t in per_run if t[key] is not None]
        mean_totals[key] = statistics.fmean(vals) if vals else None
        if len(vals) > 1:
            spread[key] = statistics.pstdev(vals)
    import prompts

    return EvalResult(engine=engine.name, model=model,
                      prompt_version=str(getattr(prompts, "PROMPT_SET_VERSION", "")),
                      repeat=repeat, cases=runs[-1], totals=mean_totals, spread=spread)


def gate(result: EvalResult, baseline_path: Path = BASELINE) -> list[str]:
    """Regressions against the committed baseline (empty list = pass)."""
    base = json.loads(baseline_path.read_text(encoding="utf-8"))["totals"]
    failures = []
    for key, want in base.items():
        if key in NOT_GATED or want is None:
            continue
        got = result.totals.get(key)
        if got is None:
            failures.append(f"{key}: missing (baseline {want})")
        elif key in LOWER_IS_BETTER and got > want + GATE_SLACK:
            failures.append(f"{key}: {got:.3f} > baseline {want:.3f}")
        elif key not in LOWER_IS_BETTER and got < want - GATE_SLACK:
            failures.append(f"{key}: {got:.3f} < baseline {want:.3f}")
    return failures


def compare(a: EvalResult, b: EvalResult) -> list[tuple[str, float | None, float | None, float | None]]:
    rows = []
    for key in a.totals:
        x, y = a.totals.get(key), b.totals.get(key)
        rows.append((key, x, y, (y - x) if x is not None and y is not None else None))
    return rows
