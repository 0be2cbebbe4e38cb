"""The `confidence` rule: "confirmed" causal claims need a cited undo then recovery, or a reproduction."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.validators import InMemoryEvidence, validate_markdown
from agent.validators.repair import repair_markdown, repair_report
from tests.validators_support import report


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


EVIDENCE = InMemoryEvidence([
    ("commit:5a1e0c3d7b21", "prod: raise gpu_memory_utilization", _t("2026-01-01T10:00:00")),
    ("chat:inc:1", "rolled back the image to the 2025-12-20 build", _t("2026-01-01T12:10:00")),
    ("commit:9e4b2f6a0c87", 'Revert "prod: raise gpu_memory_utilization" This reverts commit 5a1e0c3d7b21.',
     _t("2026-01-01T12:05:00")),
    ("alert:am:1", "HighErrorRate resolved", _t("2026-01-01T12:20:00")),
    ("alert:am:0", "HighErrorRate resolved", _t("2026-01-01T11:00:00")),
    ("note:notes.md:3", "We reproduced the OOM in staging with gpu_memory_utilization 0.95", None),
    ("note:notes.md:4", "We could not reproduce the OOM in staging", None),
])


def _doc(line: str, section: str = "### Hypotheses") -> str:
    return f"# Incident review\n\n## Technical Analysis\n\n{section}\n\n{line}\n"


def _run(md: str) -> list[str]:
    return [f.message for f in validate_markdown(md, evidence=EVIDENCE, rules=["confidence"])]


def test_confirmed_without_revert_evidence_is_flagged() -> None:
    md = _doc("- *Change `5a1e0c3d7b21` triggered the incident.* — status: **confirmed** (`commit:5a1e0c3d7b21`)")
    assert len(_run(md)) == 1


def test_rollback_to_an_older_image_is_not_proof_when_recovery_came_before_it() -> None:
    md = _doc("- *Change `5a1e0c3d7b21` triggered the incident.* — status: **confirmed** "
              "(`commit:5a1e0c3d7b21`, `chat:inc:1`, `alert:am:0`)")
    assert len(_run(md)) == 1  # the only recovery cited precedes the rollback


def test_cited_revert_then_later_recovery_passes() -> None:
    md = _doc("- **RC-1** (confirmed): Change `5a1e0c3d7b21` caused it. (`commit:5a1e0c3d7b21`, "
              "`commit:9e4b2f6a0c87`, `alert:am:1`)", section="## Root Causes & Contributing Factors")
    assert _run(md) == []


def test_reproduction_passes_and_a_failed_reproduction_does_not() -> None:
    ok = _doc("- *Raising gpu_memory_utilization caused the OOM.* — status: **confirmed** (`note:notes.md:3`)")
    bad = _doc("- *Raising gpu_memory_utilization caused the OOM.* — status: **confirmed** (`note:notes.md:4`)")
    assert _run(ok) == [] and len(_run(bad)) == 1


def test_hedged_and_observational_confirmed_are_left_alone() -> None:
    assert _run(_doc("- The trigger is to be confirmed in the review meeting.", section="### 5 Whys")) == []
    assert _run(_doc("- **CF-1** (confirmed): Users reported the problem before any alert. (`alert:am:0`)",
                     section="## Root Causes & Contributing Factors")) == []


def test_repair_downgrades_to_likely() -> None:
    md = _doc("- *Change `5a1e0c3d7b21` triggered the incident.* — status: **confirmed** (`commit:5a1e0c3d7b21`)")
    findings = validate_markdown(md, evidence=EVIDENCE, rules=["confidence"])
    fixed = repair_markdown(md, findings)
    assert "status: **likely**" in fixed and validate_markdown(fixed, evidence=EVIDENCE, rules=["confidence"]) == []
    r = report(hypotheses=[{"statement": "Change `5a1e0c3d7b21` triggered the incident.", "status": "confirmed",
                            "evidence": ["commit:5a1e0c3d7b21"]}])
    assert repair_report(r, findings).hypotheses[0].status == "likely"
