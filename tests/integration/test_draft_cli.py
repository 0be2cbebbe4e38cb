"""End-to-end: the CLI on the bundled examples, crash + resume, strict mode, and validate."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.runner import run_draft
from agent.render import render_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATE = "2026-04-27"


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_crash_between_stages_resumes_without_redoing_work(tmp_path: Path) -> None:
    dump = EXAMPLES / "minor-eval-flake"
    crashed = _cli("draft", str(dump), "--workdir", str(tmp_path / "w"), "--date", DATE,
                   "-o", str(tmp_path / "never.md"), cwd=tmp_path,
                   env={"POSTMORTEM_FAULT_BEFORE_STAGE": "analysis"})
    assert crashed.returncode == 70, crashed.stderr
    assert not (tmp_path / "never.md").exists()
    run_id = re.search(r"--resume (\S+)\)", crashed.stderr).group(1)  # type: ignore[union-attr]
    assert "timeline" in crashed.stderr and "analysis" not in crashed.stderr.split("timeline")[-1]

    resumed = _cli("draft", "--resume", run_id, "--workdir", str(tmp_path / "w"),
                   "-o", str(tmp_path / "resumed.md"), "--json", str(tmp_path / "resumed.json"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    # Finished stages are not run again.
    assert "scoping" not in resumed.stderr and "data collection" not in resumed.stderr
    assert "analysis" in resumed.stderr

    straight = run_draft(dump, base=tmp_path / "straight", today=__import__("datetime").date.fromisoformat(DATE))
    assert (tmp_path / "resumed.md").read_text() == straight.markdown
    assert json.loads((tmp_path / "resumed.json").read_text()) == json.loads(render_json(straight.report))


def test_resume_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    r = _cli("draft", "--resume", "nope-123", "--workdir", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 1
    assert "No run with id 'nope-123'" in r.stderr


def test_missing_dump_is_a_clear_error(tmp_path: Path) -> None:
    r = _cli("draft", str(tmp_path / "missing"), "--workdir", str(tmp_path / "wd"), cwd=tmp_path)
    assert r.returncode == 1
    assert "not found" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "wd").exists()  # no run folder for a dump that is not there


def test_ingest_json_inventory(tmp_path: Path) -> None:
    r = _cli("ingest", str(EXAMPLES / "vllm-oom-upgrade"), "--json", "--workdir", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    inv = json.loads(r.stdout)
    kinds = inv["kinds"]
    for k in ("log", "commit", "chat", "page", "alert", "metric", "k8s_event", "note"):
        assert kinds.get(k, 0) > 0, k
    assert inv["total_malformed"] == 0
    assert inv["redactions"], "the example plants secrets; they must be counted"
    assert inv["untrusted"], "the example plants an injected instruction"
    assert any("trace" in g.lower() for g in inv["data_gaps"])  # no LLM traces in this dump
    # Nothing outside the chosen workdir.
    assert not (EXAMPLES / "vllm-oom-upgrade" / ".postmortem").exists()


def test_validate_cli_exit_codes(tmp_path: Path) -> None:
    good = _cli("draft", str(EXAMPLES / "minor-eval-flake"), "--workdir", str(tmp_path / "w"), "--date", DATE,
                "-o", str(tmp_path / "r.md"), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    ok = _cli("validate", str(tmp_path / "r.md"), "--evidence", str(EXAMPLES / "minor-eval-flake"),
              "--workdir", str(tmp_path / "v"), "--format", "json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    assert all(f["severity"] != "error" for f in json.loads(ok.stdout))

    bad = tmp_path / "bad.md"
    bad.write_text((tmp_path / "r.md").read_text() + "\n\nThe outage was caused by human error: the on-call engineer forgot to check the canary.\n")
    res = _cli("validate", str(bad), "--format", "json", cwd=tmp_path)
    assert res.returncode == 1
    rules = {f["rule"] for f in json.loads(res.stdout)}
    assert "no-blame" in rules

    empty = tmp_path / "empty.md"
    empty.write_text("")
    assert _cli("validate", str(empty), cwd=tmp_path).returncode == 2


@pytest.mark.parametrize("name", ["vllm-oom-upgrade", "rag-stale-index", "minor-eval-flake"])
def test_examples_pass_every_validator_and_leak_nothing(name: str, tmp_path: Path) -> None:
    from datetime import date

    from evals.ground_truth import load_ground_truth

    gt = load_ground_truth(ROOT / "evals" / "dataset" / name / "ground_truth.json")
    res = run_draft(EXAMPLES / name, base=tmp_path, today=date.fromisoformat(DATE))
    assert res.report.validation.passed, [f.message for f in res.report.validation.findings if f.severity == "error"]
    text = res.markdown + render_json(res.report)
    for s in gt.traps.secrets:
        assert s.value not in text
    assert gt.traps.canary.lower() not in text.lower()
    assert gt.traps.blame_sentence.rstrip(".").lower() not in res.markdown.lower()
    assert res.completed[-1] == "close" and res.tracker_export

