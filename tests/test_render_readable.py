"""The report people read (issue 18 item 8): size, title, key timeline rows through resolution in
both the table and the diagram, no validator banner, appendix only on request."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agent.model.component import FailingComponent
from agent.model import Analysis, Report, Scope, TimelineEvent, TriggerCandidate, ValidationFinding
from agent.model.report import Validation
from agent.offline.title import compose, incident_title, is_placeholder
from agent.render import key_rows, render_markdown
from agent.runner import run_draft

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Bytes of Markdown a bundled example may take. The target is 6-10 KB; the mechanism section
# (competing hypotheses) and the action table keep the larger examples above it for now.
SIZE_BUDGET = 24_000


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Report, str]]:
    base = tmp_path_factory.mktemp("wd")
    out = {}
    for name in ("minor-eval-flake", "rag-stale-index", "vllm-oom-upgrade"):
        res = run_draft(EXAMPLES / name, base=base, today=date(2026, 4, 27))
        out[name] = (res.report, res.markdown)
    return out


def test_bundled_examples_fit_the_size_budget(reports: dict[str, tuple[Report, str]]) -> None:
    for name, (_, md) in reports.items():
        assert len(md.encode()) <= SIZE_BUDGET, (name, len(md.encode()))


def test_appendix_only_with_the_flag(reports: dict[str, tuple[Report, str]]) -> None:
    report, md = reports["vllm-oom-upgrade"]
    assert "## Appendix" not in md
    full = render_markdown(report, appendix=True)
    assert "## Appendix: Computed values" in full and len(full) > len(md)


def test_no_validation_banner_even_with_errors(reports: dict[str, tuple[Report, str]]) -> None:
    report, _ = reports["rag-stale-index"]
    broken = report.model_copy(update={"validation": Validation(passed=False, findings=[
        ValidationFinding(rule="no-blame", severity="error", message="blame", line=3)])})
    md = render_markdown(broken)
    assert "Unresolved validation" not in md and "`no-blame`" not in md


def _mermaid_rows(md: str) -> list[str]:
    block = md.split("```mermaid", 1)[1].split("```", 1)[0]
    return [ln.split(":", 1)[0].strip() for ln in block.splitlines()[3:] if ln.strip()]


def test_mermaid_shows_the_key_timeline_rows_through_resolution(reports: dict[str, tuple[Report, str]]) -> None:
    for name, (report, md) in reports.items():
        rows = key_rows(report.timeline)
        table = md.split("## Timeline", 1)[1].split("```mermaid", 1)[0]
        table_times = re.findall(r"^\| (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", table, re.M)
        periods = [p.replace("#58;", ":") for p in _mermaid_rows(md)]
        assert [t[11:19] for t in table_times] == periods == [e.timestamp.strftime("%H:%M:%S") for e in rows], name
        last_end = max(e.timestamp for e in report.timeline if e.category in ("recovery", "resolution"))
        assert rows[-1].timestamp == last_end, name  # the diagram is not cut at the alert


def _event(minute: int, category: str) -> TimelineEvent:
    return TimelineEvent(timestamp=datetime(2026, 1, 1, 10, tzinfo=UTC) + timedelta(minutes=minute),
                         event=f"{category} {minute}", category=category, evidence=[f"log:x:{minute}"])


def test_key_rows_keep_the_ending_of_a_long_timeline() -> None:
    tl = [_event(0, "trigger")] + [_event(i, "anomaly") for i in range(1, 30)] + [
        _event(30, "alert"), _event(31, "mitigation"), _event(40, "mitigation"), _event(50, "recovery"),
        _event(60, "resolution")]
    rows = key_rows(tl)
    assert len(rows) < len(tl)
    assert [e.category for e in rows][-3:] == ["mitigation", "recovery", "resolution"]
    assert sum(e.category == "anomaly" for e in rows) == 2


def test_title_names_symptom_component_and_change() -> None:
    a = Analysis(failure_modes=["serving.oom"],
                 failing_component=FailingComponent(name="vllm-inference", basis="first error"),
                 suspected_triggers=[TriggerCandidate(ref="abc1234", summary="serving: upgrade vllm 0.5.5 -> 0.6.2, raise util")])
    title = compose(Scope(title="Incident review of dump"), a)
    assert title == "vllm-inference: out-of-memory in the serving engine after “serving: upgrade vllm 0.5.5 -> 0.6.2”"
    for placeholder in ("Incident review of dump", "rag-reindex.tar.gz", "inc-2024-10-08", ""):
        assert is_placeholder(placeholder)
        assert incident_title(Scope(title=placeholder), a) == title
    assert incident_title(Scope(title="Chat down after upgrade"), a) == "Chat down after upgrade"


def test_bundled_titles_are_never_placeholders(reports: dict[str, tuple[Report, str]]) -> None:
    for name, (report, md) in reports.items():
        assert not is_placeholder(report.title) and name not in report.title
        assert md.startswith(f"# Postmortem: {report.title}")
