"""Golden copies of the offline reports: the three bundled examples and every case of the own eval
dataset, drafted with a fixed 'today'. A refactor must leave them byte for byte the same; a change
that is meant to alter reports regenerates them with

    python -m tests.golden_reports --update

and the diff of tests/golden/ is then part of the review."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from agent.render import render_json
from agent.runner import run_draft
from evals.ground_truth import dump_path, load_dataset

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = ("vllm-oom-upgrade", "rag-stale-index", "minor-eval-flake")
EXAMPLE_TODAY = date(2026, 4, 27)


def cases() -> Iterator[tuple[str, Path, date]]:
    """(name, dump, today) for every report under golden control."""
    for name in EXAMPLES:
        yield f"example-{name}", ROOT / "examples" / name, EXAMPLE_TODAY
    for gt in load_dataset(ROOT / "evals" / "dataset"):
        yield f"dataset-{gt.case}", dump_path(gt), (gt.resolved_at + timedelta(days=2)).date()


def draft(dump: Path, today: date, workdir: Path) -> tuple[str, str]:
    result = run_draft(dump, base=workdir, today=today)
    return result.markdown, render_json(result.report)


def update() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pm-golden-") as tmp:
        for name, dump, today in cases():
            markdown, json_text = draft(dump, today, Path(tmp))
            (GOLDEN / f"{name}.md").write_text(markdown, encoding="utf-8")
            (GOLDEN / f"{name}.json").write_text(json_text, encoding="utf-8")
            print(f"wrote tests/golden/{name}.md and .json")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.golden_reports --update")
    update()
