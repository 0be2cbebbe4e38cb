"""Deterministic repair: rewrites wording so the rules pass, never adds facts, leaves good text alone."""

from __future__ import annotations

import re
from datetime import UTC

from agent.model import ActionItem, Finding, Report
from agent.validators import validate_markdown
from agent.validators.repair import repair_markdown, repair_report, rewrite_text
from evals.score_corpus import RULES, load
from tests.validators_support import evidence, good_md, report

PROSE = {"no-blame", "no-counterfactual", "stochasticity", "scope", "psych-safety"}
BAD = """# Postmortem: bad

## Technical Analysis

The outage was caused by human error. Priya forgot to bump the tokenizer version.
In hindsight, the spike in training loss was obviously a data problem.
The model always refuses prompts that mention competitor names.
The company is liable for the leaked customer data under GDPR.
@jdoe failed to run the regression suite before merging.

```bash
# human error in hindsight: code is never rewritten
kubectl get pods
```
"""


def _numbers(s: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", s))


def test_repair_markdown_clears_prose_findings_and_keeps_code() -> None:
    before = validate_markdown(BAD, names=("Priya",), rules=PROSE)
    assert {f.rule for f in before} == PROSE - set()
    fixed = repair_markdown(BAD, before, names=("Priya",))
    assert validate_markdown(fixed, names=("Priya",), rules=PROSE) == []
    assert "# human error in hindsight: code is never rewritten" in fixed
    assert "Priya" not in fixed and "@jdoe" not in fixed
    assert _numbers(fixed) <= _numbers(BAD)  # no invented numbers


def test_repair_leaves_acceptable_corpus_sentences_unchanged() -> None:
    items, _ = load()
    for it in items:
        if not it.labels:
            assert rewrite_text(it.text, PROSE - {"psych-safety"}, names=it.names) == it.text


def test_repair_fixes_most_corpus_positives() -> None:
    items, _ = load()
    pos = [i for i in items if i.labels]
    fixed = 0
    for it in pos:
        out = rewrite_text(it.text, set(it.labels) | {"psych-safety"}, names=it.names)
        assert _numbers(out) <= _numbers(it.text), (it.text, out)
        fixed += not any(RULES[r](out, it.section, tuple(it.names)) for r in RULES)
    assert fixed / len(pos) >= 0.9


def test_repair_marks_ungrounded_timestamp() -> None:
    md = good_md().replace("2024-05-14 09:40:00 UTC", "2024-05-14 09:41:00 UTC")
    f = validate_markdown(md, evidence=evidence(), report=report(), rules={"grounded"})
    assert f
    fixed = repair_markdown(md, f)
    assert "2024-05-14 09:41:00 UTC [ASSUMPTION]" in fixed
    assert validate_markdown(fixed, evidence=evidence(), report=report(), rules={"grounded"}) == []


def test_repair_report_rewrites_fields_not_ids() -> None:
    rep = Report.model_validate(
        report().model_dump()
        | {
            "summary": ["Marco failed to update the rate limit.", "The reward model always prefers longer answers."],
            "root_causes": [Finding(id="RC-1", statement="In hindsight, the alias swap was obviously unsafe.",
                                    evidence=["commit:4f2a9c1d8e7b"]).model_dump()],
            "action_items": [ActionItem(id="AI-001", action="Gate alias swaps on shard completion", owner="Marco",
                                        due="2024-06-15", verification="A game day pages within 10 minutes",
                                        addresses=["RC-1"]).model_dump()],
        }
    )
    f = validate_markdown("\n".join(rep.summary + [rep.root_causes[0].statement]), names=("Marco",), rules=PROSE)
    out = repair_report(rep, f, names=("Marco",), roles={"Marco": "the rate-limit owner"})
    assert out.summary[0] == "The process did not prompt anyone to update the rate limit."
    assert "in this run" in out.summary[1] and "always" not in out.summary[1]
    assert "hindsight" not in out.root_causes[0].statement.lower()
    assert out.root_causes[0].id == "RC-1" and out.root_causes[0].evidence == ["commit:4f2a9c1d8e7b"]
    assert out.action_items[0].owner == "the rate-limit owner"
    assert rep.summary[0].startswith("Marco")  # the input is not mutated


def test_repair_report_never_edits_datetime_fields() -> None:
    from datetime import datetime

    from agent.model import TimelineEvent

    ts = datetime(2024, 5, 14, 9, 41, tzinfo=UTC)
    rep = report(timeline=[TimelineEvent(timestamp=ts, event="First user report", evidence=["chat:x:1"])])
    f = validate_markdown("| 2024-05-14 09:41:00 UTC | First user report | chat:support:1715679600.000100 |",
                          evidence=evidence(), report=rep, rules={"grounded"})
    assert [x.text for x in f] == ["2024-05-14 09:41:00 UTC"]
    out = repair_report(rep, f)
    assert out.timeline[0].timestamp == ts
    assert out.timeline[0].event == "[ASSUMPTION] First user report"
