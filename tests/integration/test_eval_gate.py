"""Regression gate: the offline engine on the whole eval dataset must not fall below the baseline,
and must meet the targets the team committed to (issue: evals)."""

from __future__ import annotations

import pytest

from evals.run import EvalResult, gate, run_eval


@pytest.fixture(scope="module")
def result() -> EvalResult:
    return run_eval()


def test_no_regression_against_committed_baseline(result: EvalResult) -> None:
    assert gate(result) == []


def test_offline_targets(result: EvalResult) -> None:
    t = result.totals
    assert t["timeline_recall"] >= 0.9
    assert t["trigger_rank1"] >= 0.9
    assert t["severity_acc"] == 1.0 and t["review_type_acc"] == 1.0
    assert t["failure_category_recall"] >= 0.8
    assert t["trap_violations"] == 0
    assert t["validator_pass_rate"] == 1.0


def test_every_case_is_scored(result: EvalResult) -> None:
    assert len(result.cases) >= 10
    assert any(c.case == "minor-eval-flake" and c.review_type_ok for c in result.cases)
    for c in result.cases:
        assert not c.trap_violations, (c.case, c.trap_violations)
