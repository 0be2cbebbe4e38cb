"""What the agent's commands show on the terminal: progress bars, the inventory table, the stage
clock of a draft, validation findings. Kept apart from agent/cli.py so the commands there only parse
flags and call the layers below.

Text from the dump (paths, notes, finding text) is printed as plain text, never read as Rich markup.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from agent.state import STAGES

if TYPE_CHECKING:
    from agent.model import ValidationFinding
    from agent.runner import RunResult
    from tools.models import Inventory, SourceReport

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def fail(message: str, code: int = 2) -> None:
    """One red line on stderr and the exit code; never a traceback."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


class ExportProgress:
    """Records written by `export`, on stderr while it is a terminal."""

    def __init__(self) -> None:
        self._p = Progress(TextColumn("[bold]export"), BarColumn(), TextColumn("{task.completed}/{task.total} records"),
                           console=err, disable=not err.is_terminal, transient=True)
        self._task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._p.__enter__()
        self._task = self._p.add_task("", total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        self._p.update(self._task, completed=done, total=total or None)

    def __exit__(self, *exc: object) -> None:
        self._p.__exit__(*exc)  # type: ignore[arg-type]


class IngestProgress:
    """Bytes of the dump read so far and the file being read, on stderr while it is a terminal."""

    def __init__(self, disabled: bool) -> None:
        self._p = Progress(TextColumn("[bold]ingest"), BarColumn(), DownloadColumn(),
                           TextColumn("{task.description}", markup=False), TimeRemainingColumn(),
                           console=err, disable=disabled or not err.is_terminal, transient=True)
        self._task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._p.__enter__()
        self._task = self._p.add_task("", total=None)
        return self

    def __call__(self, done: int, total: int, current: str) -> None:
        self._p.update(self._task, completed=done, total=total or None, description=current[-40:])

    def __exit__(self, *exc: object) -> None:
        self._p.__exit__(*exc)  # type: ignore[arg-type]


class StageClock:
    """The `on_stage` callback of a draft: each stage's number when it starts and its wall time
    when it ends, so a slow dump shows where the time goes."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def __call__(self, stage: str, phase: str) -> None:
        if phase == "start":
            self._started[stage] = time.perf_counter()
            base = stage.replace("light_", "")
            idx = STAGES.index(base) + 1 if base in STAGES else 0
            err.print(f"[cyan]stage {idx}/7[/] {stage.replace('_', ' ')} ...")
        elif stage in self._started:
            elapsed = time.perf_counter() - self._started.pop(stage)
            err.print(f"          {stage.replace('_', ' ')} done in {elapsed:.1f} s")


def coverage_phrase(inv: Inventory) -> str:
    from tools.ingest import human_bytes

    if inv.coverage is None:
        return "; no text in the dump"
    return (f"; {inv.coverage:.1%} of the dump's text became evidence "
            f"({human_bytes(inv.covered_bytes)} of {human_bytes(inv.text_bytes)})")


def _covered_cell(s: SourceReport) -> str:
    """Share of a source's bytes that became evidence; binary skips are outside the measure."""
    if s.binary:
        return "binary"
    if not s.bytes:
        return "-"
    return f"{s.bytes_covered / s.bytes:.0%}"


def print_inventory(inv: Inventory) -> None:
    # Paths and notes come from the dump: shown as plain text, never read as Rich markup
    # (a file named `[/bold]` raised MarkupError, one named `[red]x` recoloured the table).
    t = Table(title=Text(f"Inventory of {inv.dump}"))
    for col in ("source", "kind", "records", "malformed", "lines", "cont.", "undated", "bytes", "covered",
                "first (UTC)", "last (UTC)", "note"):
        t.add_column(col)
    for s in inv.sources + inv.skipped:
        t.add_row(Text(s.path), Text(s.kind), str(s.records), str(s.malformed), str(s.lines or "-"),
                  str(s.continuation_lines or "-"), str(s.undated_lines or "-"), str(s.bytes),
                  _covered_cell(s),
                  s.first_ts.strftime("%Y-%m-%d %H:%M:%S") if s.first_ts else "-",
                  s.last_ts.strftime("%Y-%m-%d %H:%M:%S") if s.last_ts else "-", Text(s.note))
    out.print(t)
    span = (f"{inv.first_ts:%Y-%m-%d %H:%M:%S} to {inv.last_ts:%Y-%m-%d %H:%M:%S} UTC"
            if inv.first_ts and inv.last_ts else "no dated records")
    out.print(f"[bold]{inv.total_records}[/] records, [bold]{inv.total_malformed}[/] malformed; span {span}")
    out.print(f"Coverage: {inv.total_lines} lines read ({inv.total_continuation_lines} continuation, "
              f"{inv.total_undated_lines} undated){coverage_phrase(inv)}")
    out.print("Evidence kinds: " + (", ".join(f"{k} {v}" for k, v in sorted(inv.kinds.items())) or "none"))
    out.print("Redactions: " + (", ".join(f"{k} {v}" for k, v in sorted(inv.redactions.items())) or "none"))
    out.print(f"Flagged as instruction-like (treated as data only): {len(inv.untrusted)}"
              + (f" — {', '.join(inv.untrusted[:5])}" if inv.untrusted else ""), markup=False)
    for g in inv.data_gaps:
        out.print(f"[yellow]data gap:[/] {escape(g)}")


def print_draft_summary(result: RunResult, output: Path | None) -> None:
    """The closing lines of `draft` on stderr: unresolved findings (they go to the terminal and the
    JSON report, never into the report people read), then severity, review type and validation."""
    v = result.report.validation
    for f in v.findings:
        if f.severity == "error":
            err.print(f"[red]unresolved[/] {escape(f.rule)} (line {f.line or '?'}): {escape(f.message)}")
    err.print(f"[green]run {escape(result.run_id)}[/]: {result.report.severity}, {result.report.review_type} review, "
              f"validation {'passed' if v.passed else 'FAILED'} "
              f"({len(v.findings)} finding(s), {v.repair_rounds} repair round(s))"
              + (f"; report written to {escape(str(output))}" if output else ""))


def print_findings(report: Path, findings: list[ValidationFinding]) -> None:
    """`validate --format text`: one line a finding with its suggestion, then the counts."""
    errors = sum(1 for f in findings if f.severity == "error")
    for f in findings:
        colour = "red" if f.severity == "error" else "yellow"
        where = f"{report}:{f.line or '?'} [{f.rule}] {f.message}"
        out.print(f"[{colour}]{f.severity}[/] {escape(where)}")
        if f.suggestion:
            out.print(f"    suggestion: {f.suggestion}", markup=False)
    out.print(f"{errors} error(s), {len(findings) - errors} warning(s)")


def findings_json(findings: list[ValidationFinding]) -> str:
    """`validate --format json`: the findings as a JSON list, for scripts."""
    return json.dumps([{"rule": f.rule, "severity": f.severity, "line": f.line, "text": f.text,
                        "message": f.message, "suggestion": f.suggestion} for f in findings], indent=2)
