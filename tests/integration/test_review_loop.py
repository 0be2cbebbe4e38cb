"""The review stage: violating drafts loop back to synthesis for repair; what cannot be repaired is
emitted with its findings listed at the top, or fails in strict mode — never silently."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from agent.config import Settings
from agent.engine import OfflineEngine
from agent.model import Analysis, Report, Scope, ValidationFinding
from agent.runner import RunError, run_draft
from tools.models import Inventory
from tools.store.reader import EvidenceReader

DUMP = Path(__file__).resolve().parents[2] / "examples" / "vllm-oom-upgrade"
TODAY = date(2026, 4, 27)
BLAME = "The outage happened because the on-call engineer was careless and forgot to check the canary."
INVENTED = "At 2019-01-01T03:04:05Z the cluster lost 9999 GPUs."


class BlamingEngine(OfflineEngine):
    """Synthesis writes blame language; repair is the real offline repair."""

    def synthesis(self, scope: Scope, inventory: Inventory | None, timeline, analysis: Analysis,  # type: ignore[no-untyped-def]
                  today: date, names_opt_in: bool, store: EvidenceReader | None = None) -> Report:
        report = super().synthesis(scope, inventory, timeline, analysis, today, names_opt_in, store)
        report.summary.append(BLAME)
        return report


class StubbornEngine(BlamingEngine):
    """Writes an invented timestamp and never repairs anything."""

    def synthesis(self, *args, **kwargs) -> Report:  # type: ignore[no-untyped-def]
        report = super().synthesis(*args, **kwargs)
        report.summary.append(INVENTED)
        return report

    def repair(self, report: Report, findings: list[ValidationFinding], store: EvidenceReader) -> Report:
        return report.model_copy(deep=True)


def test_blame_is_caught_and_repaired_by_the_loop(tmp_path: Path) -> None:
    res = run_draft(DUMP, base=tmp_path, today=TODAY, engine=BlamingEngine())
    v = res.report.validation
    assert v.passed
    assert v.repair_rounds >= 1
    assert res.completed.count("review") == v.repair_rounds + 1
    assert "careless" not in res.markdown and "forgot to check" not in res.markdown
    assert not any(f.rule == "no-blame" for f in v.findings)


def test_unrepairable_report_is_emitted_with_findings_kept_out_of_the_markdown(tmp_path: Path) -> None:
    res = run_draft(DUMP, base=tmp_path, today=TODAY, engine=StubbornEngine(),
                    settings=Settings(max_repairs=2))
    v = res.report.validation
    assert not v.passed and v.repair_rounds == 2
    rules = {f.rule for f in v.findings if f.severity == "error"}
    assert {"no-blame", "grounded"} <= rules
    # Findings stay in the JSON report and on stderr, never in the report people read.
    assert "Unresolved validation findings" not in res.markdown
    assert res.completed.count("review") == 3  # first review + two repair rounds


def test_strict_mode_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"Strict mode: the report still breaks \d+ rule"):
        run_draft(DUMP, base=tmp_path, today=TODAY, engine=StubbornEngine(),
                  settings=Settings(max_repairs=1, strict=True))
