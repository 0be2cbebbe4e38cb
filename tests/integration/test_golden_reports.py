"""Reports stay byte for byte the same unless a change means to alter them (see
tests/golden_reports.py for how to regenerate the copies after a deliberate change)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.golden_reports import GOLDEN, cases, draft

CASES = list(cases())


@pytest.mark.parametrize(("name", "dump", "today"), CASES, ids=[c[0] for c in CASES])
def test_report_matches_golden_copy(name: str, dump: Path, today: date, tmp_path: Path) -> None:
    markdown, json_text = draft(dump, today, tmp_path)
    assert markdown == (GOLDEN / f"{name}.md").read_text(encoding="utf-8"), (
        f"{name}.md changed; if intended, run `python -m tests.golden_reports --update` and review the diff")
    assert json_text == (GOLDEN / f"{name}.json").read_text(encoding="utf-8"), f"{name}.json changed"
