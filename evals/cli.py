"""`postmortem eval`: run the generated eval dataset or a folder of answer keys, print the scores,
write JSON results, compare two results files, gate on the baseline. cli/main.py mounts `eval_app`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.table import Table

from agent.cli import engine_for, err, fail, out, settings_of

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.engine import Engine
    from evals.devset import DevsetResult
    from evals.run import EvalResult

eval_app = typer.Typer(add_completion=False)

_DATASET_COLUMNS = ("case", "tl recall", "tl prec", "trig@1", "trig@3", "detect err s", "impact", "fm recall",
                    "sev", "review", "actions", "valid", "traps")
_DEVSET_COLUMNS = ("dump", "tl recall", "trig@1", "trig@3", "sev", "review", "win start err s", "win end err s",
                   "detect err s", "fm recall", "root cause", "factors", "traps")


@eval_app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    dataset: Optional[Path] = typer.Option(None, help="Dataset directory (default: evals/dataset), or a folder of NAME.tar.gz + NAME.truth.json answer keys"),
    llm: str = typer.Option("offline", help="offline | openai"),
    model: Optional[str] = typer.Option(None, help="Model name for --llm openai (POSTMORTEM_MODEL)"),
    repeat: int = typer.Option(1, min=1, help="Runs per case; mean and spread are reported"),
    case: Optional[list[str]] = typer.Option(None, help="Only these cases (repeatable)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write results JSON here"),
    compare: Optional[list[Path]] = typer.Option(None, help="Compare two results files: --compare a.json --compare b.json"),
    gate_baseline: bool = typer.Option(False, "--gate", help="Fail (exit 1) on a regression against evals/baseline.json"),
) -> None:
    """Run the eval dataset, print per-case and total scores, write JSON results."""
    if compare:
        _compare(compare)
        return
    if llm not in ("auto", "offline", "openai"):
        fail("--llm must be offline, openai or auto")
    settings = settings_of(ctx, llm=llm)
    if model:  # the flag wins over POSTMORTEM_MODEL, for this run only
        settings = settings.with_flags(llm_config=settings.llm_config.model_copy(update={"model": model}))
    engine = engine_for(settings)
    from evals.devset import is_devset

    if dataset is not None and is_devset(dataset):
        # A folder of NAME.tar.gz + NAME.truth.json pairs (answer keys): scored by evals/devset.py.
        if gate_baseline or repeat > 1:
            fail("--gate and --repeat apply to the generated dataset, not to answer-key folders")
        _eval_devset(dataset, engine, settings, case, output)
        return
    result = _eval_dataset(dataset, engine, settings, repeat, model or "", case)
    _write(result, output)
    if gate_baseline:
        _gate(result)


def _compare(files: list[Path]) -> None:
    from evals.run import EvalResult, compare as compare_runs

    if len(files) != 2:
        fail("--compare takes exactly two results files")
    a, b = (EvalResult.model_validate_json(p.read_text(encoding="utf-8")) for p in files)
    t = Table(title=f"{files[0].name} vs {files[1].name}")
    for col in ("metric", "a", "b", "delta"):
        t.add_column(col)
    for key, x, y, dlt in compare_runs(a, b):
        t.add_row(key, _num(x), _num(y), _num(dlt))
    out.print(t)


def _eval_dataset(dataset: Optional[Path], engine: Engine, settings: Settings, repeat: int, model: str,
                  only: Optional[list[str]]) -> EvalResult:
    """Run every generated case, print the per-case table and the totals; the result."""
    from evals.ground_truth import DATASET_DIR
    from evals.run import run_eval

    def show(s) -> None:  # type: ignore[no-untyped-def]
        err.print(f"  {s.case}: recall {s.timeline_recall:.2f}, trigger@1 {_num(s.trigger_rank1)}, "
                  f"severity {'ok' if s.severity_ok else 'MISS'}, traps {len(s.trap_violations)}")

    result = run_eval(engine, dataset=dataset or DATASET_DIR, repeat=repeat, model=model, only=only,
                      on_case=show, settings=settings)
    t = Table(title=f"Eval ({result.engine}{', ' + result.model if result.model else ''})")
    for c in _DATASET_COLUMNS:
        t.add_column(c)
    for s in result.cases:
        t.add_row(s.case, _num(s.timeline_recall), _num(s.timeline_precision), _num(s.trigger_rank1),
                  _num(s.trigger_rank3), _num(s.detection_time_error_s), _num(s.impact_within_tol),
                  _num(s.failure_category_recall), "ok" if s.severity_ok else "miss",
                  "ok" if s.review_type_ok else "miss", _num(s.factors_addressed),
                  "pass" if s.validator_passed else "fail", str(len(s.trap_violations)))
    out.print(t)
    tt = Table(title="Totals (mean over cases" + (f", {repeat} repeats" if repeat > 1 else "") + ")")
    tt.add_column("metric")
    tt.add_column("value")
    tt.add_column("spread")
    for k, v in result.totals.items():
        tt.add_row(k, _num(v), _num(result.spread.get(k)) if result.spread else "")
    out.print(tt)
    return result


def _gate(result: EvalResult) -> None:
    from evals.run import gate

    failures = gate(result)
    for f in failures:
        err.print(f"[red]regression:[/] {f}")
    if failures:
        raise typer.Exit(1)
    err.print("[green]no regression against evals/baseline.json[/]")


def _eval_devset(dataset: Path, engine: Engine, settings: Settings, only: Optional[list[str]],
                 output: Optional[Path]) -> None:
    """Draft every archive of an answer-key folder, print a per-dump table and the means."""
    from evals.devset import run_devset

    def show(s) -> None:  # type: ignore[no-untyped-def]
        err.print(f"  {s.dump}: recall {_num(s.timeline_recall)}, trigger@1 {_num(s.trigger_rank1)}, "
                  f"traps {len(s.trap_violations)}" + (f", draft failed: {s.error}" if s.error else ""))

    result = run_devset(dataset, engine, only=only, on_dump=show, settings=settings)
    _print_devset(dataset, result)
    _write(result, output)


def _print_devset(dataset: Path, result: DevsetResult) -> None:
    t = Table(title=f"Answer-key eval ({result.engine}): {dataset}")
    for c in _DEVSET_COLUMNS:
        t.add_column(c)
    for s in result.dumps:
        t.add_row(s.dump, f"{_num(s.timeline_recall)} ({s.events_found}/{s.events_total})",
                  _num(s.trigger_rank1), _num(s.trigger_rank3), _ok(s.severity_ok), _ok(s.review_type_ok),
                  _num(s.window_start_error_s), _num(s.window_end_error_s), _num(s.detection_time_error_s),
                  _num(s.failure_mode_recall), _num(s.root_cause_hit), _num(s.factor_recall),
                  str(len(s.trap_violations)) if not s.error else "draft failed")
    out.print(t)
    tt = Table(title="Means over dumps")
    tt.add_column("metric")
    tt.add_column("value")
    for k, v in result.totals.items():
        tt.add_row(k, _num(v))
    out.print(tt)
    for s in result.dumps:
        for v in s.trap_violations:
            err.print(f"[red]trap:[/] {s.dump}: {v}")


def _write(result: EvalResult | DevsetResult, output: Optional[Path]) -> None:
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        err.print(f"results written to {output}")


def _ok(v: bool | None) -> str:
    return "-" if v is None else ("ok" if v else "miss")


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)
