"""Document-level rules, exercised by mutating a good postmortem one violation at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.validators import RULES, has_errors, validate_markdown
from tests.validators_support import evidence, good_md, report


def run(md: str, rule: str, **kw: object) -> list:
    kw.setdefault("evidence", evidence())
    kw.setdefault("report", report())
    return validate_markdown(md, rules={rule}, **kw)  # type: ignore[arg-type]


def test_good_postmortem_passes_every_rule() -> None:
    findings = validate_markdown(good_md(), evidence=evidence(), report=report(), names=("Priya", "Marco"))
    assert findings == [], [(f.rule, f.line, f.message) for f in findings]


def test_good_postmortem_without_report_only_warns_on_derived_durations() -> None:
    findings = validate_markdown(good_md(), evidence=evidence())
    assert not has_errors(findings)
    assert {(f.rule, f.text) for f in findings} == {("grounded", "1h"), ("grounded", "38 minutes")}


def test_registry_is_complete() -> None:
    assert set(RULES) == {
        "no-blame", "no-counterfactual", "grounded", "quantified-impact", "actionable", "actions", "no-premature-fix",
        "ai-native-depth", "ai-boilerplate", "stochasticity", "scope", "no-production-code", "structure", "light-review",
        "own-limits", "psych-safety", "confidence",
    }
    with pytest.raises(ValueError):
        validate_markdown("", rules={"nope"})


def test_grounded_timestamp_not_in_evidence_is_error() -> None:
    md = good_md().replace("2024-05-14 09:40:00 UTC", "2024-05-14 09:41:00 UTC")
    f = run(md, "grounded")
    assert [(x.severity, x.text) for x in f] == [("error", "2024-05-14 09:41:00 UTC")]


def test_grounded_accepts_marked_and_flags_bad_ids_and_quotes() -> None:
    md = good_md().replace("(log:logs/reindex.jsonl:118). Retrieval", "(log:logs/reindex.jsonl:999). Retrieval")
    f = run(md, "grounded")
    assert any(x.severity == "error" and "log:logs/reindex.jsonl:999" in x.message for x in f)
    md2 = good_md().replace("`WARN alias swapped with 1/8 shards complete`", "`ERROR alias swap aborted by operator`")
    assert any("Quoted log text" in x.message for x in run(md2, "grounded"))
    marked = good_md().replace(
        "| First user report of outdated refund terms in the support channel |",
        "| First user report of outdated refund terms [ASSUMPTION] |",
    ).replace("2024-05-14 09:40:00 UTC", "2024-05-14 09:44:00 UTC")
    assert run(marked, "grounded") == []


def test_grounded_time_only_uses_incident_date_and_store_method(tmp_path: Path) -> None:
    from tools.models import Evidence, EvidenceKind
    from tools.store.writer import StoreWriter

    writer = StoreWriter.create(tmp_path / "e.db")
    ts = datetime(2024, 5, 14, 9, 52, 30, tzinfo=UTC)
    writer.add_many([Evidence(id="pd:P1:R1", kind=EvidenceKind.PAGE, ts=ts, source="pd.json", text="ack")])
    writer.finalize()
    st = writer.reader()
    assert st.has_timestamp(ts) and not st.has_timestamp(ts.replace(second=40), 5)
    assert st.has_id_prefix("pd:P1") and not st.has_id_prefix("pd:P2")
    md = "# T\n\n**Incident Date**: 2024-05-14\n\n## Detection\n\nThe page was acknowledged at 09:52 UTC; recovery at 10:12 UTC.\n"
    f = validate_markdown(md, evidence=st, rules={"grounded"})
    assert [x.text for x in f] == ["10:12"]
    st.close()


def test_quantified_impact() -> None:
    md = good_md()
    start = md.index("## Executive Summary")
    end = md.index("**Top 3 actions**")
    f = run(md[:start] + "## Executive Summary\n\n**Impact**\n- Some users were affected.\n\n" + md[end:],
            "quantified-impact")
    assert [x.severity for x in f if "not quantified" in x.message] == ["error"]
    assert {x.message for x in f if x.severity == "warning"} >= {"Impact does not mention safety / trust."}


@pytest.mark.parametrize(
    "old,new,expect",
    [
        ("| Retrieval platform lead | 2024-06-15 |", "| TBD | 2024-06-15 |", "no owner"),
        ("| Retrieval platform lead | 2024-06-15 |", "| Retrieval platform lead | soon |", "no due date"),
        ("Make the reindex job swap the alias only after all shards report complete", "Be more careful with reindexing", "vague"),
        ("Make the reindex job swap the alias only after all shards report complete", "Investigate the reindex job", "open-ended"),
        ("A seeded stale-index build fails the gate in CI", "", "no verification"),
    ],
)
def test_actionable(old: str, new: str, expect: str) -> None:
    md = good_md().replace(old, new)
    f = run(md, "actionable")
    assert len(f) == 1 and expect in f[0].message and f[0].severity == "error"


def test_actionable_weak_verification_is_warning() -> None:
    md = good_md().replace("A seeded stale-index build fails the gate in CI", "Team agrees it is better")
    f = run(md, "actionable")
    assert [x.severity for x in f] == ["warning"]


def test_no_premature_fix() -> None:
    md = good_md().replace("| CF-2 |\n", "| |\n").replace("| RC-1 |\n", "| RC-9 |\n")
    msgs = [x.message for x in run(md, "no-premature-fix")]
    assert any("AI-003: does not reference" in m for m in msgs)
    assert any("RC-9" in m for m in msgs)
    a, rc = good_md().index("## Action Items"), good_md().index("## Root Causes")
    tail = good_md()[a:]
    moved = good_md()[:rc] + tail + "\n" + good_md()[rc:a]
    assert any("before Root Causes" in x.message for x in run(moved, "no-premature-fix"))


def test_ai_native_depth() -> None:
    md = good_md().replace(
        "- **Opacity**: responders could not see which index version served an answer, because traces do not record the alias target (trace:traces/assistant.jsonl:1).\n",
        "",
    )
    f = run(md, "ai-native-depth")
    assert [(x.severity, "opacity" in x.message) for x in f] == [("error", True)]
    light = run(md, "ai-native-depth", report=report(review_type="light", severity="P3", review_rationale="minor"))
    assert [x.severity for x in light] == ["warning"]


@pytest.mark.parametrize(
    "block,bad",
    [
        ("```python\ndef fix():\n    return 1\n```", True),
        ("```\nimport os\nos.remove('x')\n```", True),
        ("```bash\nkubectl delete pod api-0\n```", True),
        ("```sql\nDELETE FROM aliases WHERE id = 3;\n```", True),
        ("```bash\nkubectl get pods -n serving | grep api\n```", False),
        ("```promql\nsum(rate(http_requests_total{code=~\"5..\"}[5m]))\n```", False),
        ("```mermaid\ngraph TD; A-->B\n```", False),
    ],
)
def test_no_production_code(block: str, bad: bool) -> None:
    md = good_md() + "\n" + block + "\n"
    assert bool(run(md, "no-production-code")) is bad


def test_structure() -> None:
    md = good_md()
    assert run(md, "structure") == []
    no_lessons = md.replace("## Lessons Learned", "### Notes")
    assert any("Missing section: Lessons Learned" in x.message for x in run(no_lessons, "structure"))
    swapped = md.replace("## Timeline", "## TEMP").replace("## Detection & Initial Response", "## Timeline").replace(
        "## TEMP", "## Detection & Initial Response")
    assert any("out of canonical order" in x.message for x in run(swapped, "structure"))
    no_src = md.replace("| log:logs/reindex.jsonl:131 |", "| |")
    assert [x.message for x in run(no_src, "structure")] == ["Timeline entry without a source."]
    no_ts = md.replace("| 2024-05-14 10:47:00 UTC |", "| later |")
    assert [x.message for x in run(no_ts, "structure")] == ["Timeline entry without a precise UTC timestamp."]
    plain_h = md.replace("*Hypothesis: the reranker", "Hypothesis: the reranker").replace("fresh index.*", "fresh index.")
    assert [x.message for x in run(plain_h, "structure")] == ["Working hypothesis not in italics."]


def test_light_review() -> None:
    md = good_md()
    assert run(md, "light-review", report=None) == []
    assert [x.severity for x in run(md.replace("**Review type**: full", "**Review type**: light"), "light-review",
                                    report=None)] == ["error", "error"]  # P1 light, and no rationale
    p3 = md.replace("**Severity**: P1", "**Severity**: P3")
    assert [x.severity for x in run(p3, "light-review", report=None)] == ["warning"]
    p3_light = p3.replace("**Review type**: full", "**Review type**: light\n**Review rationale**: one tenant, 4 minutes")
    assert run(p3_light, "light-review", report=None) == []


def test_own_limits() -> None:
    md = good_md().replace("Retrieval then", "A silent data corruption on one GPU is suspected. Retrieval then")
    f = run(md, "own-limits")
    assert len(f) == 1 and "silent data corruption" in f[0].message
    ok = md.replace("is suspected.", "is suspected; this is outside the review's expertise and needs the accelerator vendor support team.")
    assert run(ok, "own-limits") == []
    assert run(md, "own-limits", report=report(specialists=["accelerator vendor"])) == []
    routine = good_md().replace("Retrieval then", "Two nodes logged corrected ECC errors. Retrieval then")
    assert run(routine, "own-limits") == []


def test_psych_safety() -> None:
    md = good_md().replace("On-call SRE acknowledges", "Priya (@pkumar) acknowledges")
    f = run(md, "psych-safety", names=("Priya",))
    assert sorted(x.text for x in f) == ["@pkumar", "Priya"]
    assert run(md, "psych-safety", names=("Priya",), names_opt_in=True) == []
    email = good_md().replace("No personal data was involved.", "Contact oncall@example.com.")
    assert run(email, "psych-safety") == []


def test_bad_input_never_raises() -> None:
    for md in ("", "no headings at all", "```\nunterminated", "| a | b |\n|---|---|\n| 1 |", "## Action Items\n| x |"):
        findings = validate_markdown(md, evidence=evidence())
        assert isinstance(findings, list)


def test_rendered_finding_list_is_not_revalidated() -> None:
    echo = "> - `stochasticity` (line 13): Absolute claim about model behaviour ('reliably') from a stochastic system.\n"
    md = good_md().replace("## Executive Summary\n", echo + "\n## Executive Summary\n")
    assert run(md, "stochasticity") == []
    assert run(md.replace(echo, "> The model reliably refuses.\n"), "stochasticity")


def test_zero_seconds_means_minute_precision() -> None:
    md = good_md().replace("2024-05-14 09:40:00 UTC", "2024-05-14T09:40:00Z")
    assert run(md, "grounded") == []
    # 09:40:20 is no record: a precise second must match to the second.
    assert run(good_md().replace("2024-05-14 09:40:00 UTC", "2024-05-14 09:40:20 UTC"), "grounded")


def test_light_review_rationale_in_prose() -> None:
    md = good_md().replace("**Severity**: P1", "**Severity**: P3 (light review)").replace("**Review type**: full\n", "")
    assert [x.message for x in run(md, "light-review", report=None)] == ["Light review without a rationale."]
    with_reason = md.replace("## Executive Summary", "> Light review: the incident is minor, with no customer impact and a short window.\n\n## Executive Summary")
    assert run(with_reason, "light-review", report=None) == []
