"""The committed dataset: byte-stable regeneration, and ground truth re-derived from the files.

Checks here parse the dumps with small independent parsers (not the generator's code), so a
ground-truth number that disagrees with the data it describes fails.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from evals.generate import write_case
from evals.ground_truth import REPO_ROOT, GroundTruth, load_dataset, severity_rule
from evals.scenarios.registry import CASES, EXAMPLES

CASES_GT = load_dataset()
IDS = [gt.case for gt in CASES_GT]
ACCESS = re.compile(r'^\S+ \S+ \S+ \[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "[^"]*" (\d{3}) ')
TAXONOMY_CATEGORIES = {"training", "serving", "rag", "agentic", "eval", "safety", "data", "infra"}


def _dump(gt: GroundTruth) -> Path:
    return REPO_ROOT / gt.dump


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _status_lines(dump: Path) -> list[tuple[datetime, int]]:
    """(time, status) for every request line: nginx access logs and JSON lines with `status`."""
    out: list[tuple[datetime, int]] = []
    for path in sorted((dump / "logs").glob("*")) if (dump / "logs").is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            m = ACCESS.match(line)
            if m:
                out.append((datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S %z"), int(m.group(2))))
                continue
            if line.startswith("{"):
                rec = json.loads(line)
                if isinstance(rec.get("status"), int):
                    ts = datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00"))
                    out.append((ts, rec["status"]))
    return out


def test_dataset_is_big_and_varied_enough() -> None:
    assert len(CASES_GT) >= 10
    assert {gt.case for gt in CASES_GT} == set(CASES)
    cats = {m.split(".")[0] for gt in CASES_GT for m in gt.failure_modes}
    assert cats >= TAXONOMY_CATEGORIES - {"infra"}
    assert {gt.severity for gt in CASES_GT} == {"P0", "P1", "P2", "P3"}
    # Source shapes vary: some dumps lack metrics, chat, or git history.
    for source in ("metrics", "slack", "git", "pagerduty", "traces"):
        assert any(source not in gt.sources for gt in CASES_GT), source
        assert any(source in gt.sources for gt in CASES_GT), source


def test_committed_size_is_small() -> None:
    total = sum(p.stat().st_size for d in ("examples", "evals/dataset") for p in (REPO_ROOT / d).rglob("*")
                if p.is_file())
    assert total < 5 * 1024 * 1024


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    for name, spec in sorted(CASES.items()):
        gt = write_case(spec, tmp_path, EXAMPLES)
        committed = REPO_ROOT / gt.dump
        new, old = _files(tmp_path / gt.dump), _files(committed)
        assert new.keys() == old.keys(), name
        for rel in new:
            assert new[rel] == old[rel], f"{name}: {rel} differs from the committed file"
        gt_rel = f"evals/dataset/{name}/ground_truth.json"
        assert (tmp_path / gt_rel).read_bytes() == (REPO_ROOT / gt_rel).read_bytes(), name


@pytest.mark.parametrize("gt", CASES_GT, ids=IDS)
def test_request_counts_match_the_logs(gt: GroundTruth) -> None:
    """The truth counts requests over the symptom window: first to last 5xx between the first
    anomaly and resolution (recomputed here from the raw log lines)."""
    during = [(t, s) for t, s in _status_lines(_dump(gt)) if gt.first_anomaly_at <= t <= gt.resolved_at]
    failing = sorted(t.replace(microsecond=0) for t, s in during if s >= 500)
    if gt.impact.total_requests is None:
        assert not failing
        return
    lines = [(t, s) for t, s in during if failing[0] <= t.replace(microsecond=0) <= failing[-1]]
    assert len(lines) == gt.impact.total_requests
    assert sum(s >= 500 for _, s in lines) == gt.impact.failed_requests
    assert gt.impact.symptom_duration_min == round((failing[-1] - failing[0]).total_seconds() / 60, 1)


@pytest.mark.parametrize("gt", CASES_GT, ids=IDS)
def test_error_ratio_peak_matches_metric_samples(gt: GroundTruth) -> None:
    if gt.impact.error_ratio_peak_source != "max sample of the error-ratio metric":
        return
    peaks = []
    for path in (_dump(gt) / "metrics").glob("*.json"):
        data = json.loads(path.read_text())
        for series in data["data"]["result"]:
            if "error_ratio" in series["metric"]["__name__"]:
                peaks.append(max(float(v) for _, v in series["values"]))
    assert peaks and max(peaks) == pytest.approx(gt.impact.error_ratio_peak)


@pytest.mark.parametrize("gt", CASES_GT, ids=IDS)
def test_trace_numbers_match_the_trace_file(gt: GroundTruth) -> None:
    path = _dump(gt) / "traces" / "llm_requests.jsonl"
    if gt.impact.llm_requests is None:
        assert not path.exists()
        return
    inside = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        ts = datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00"))
        if gt.first_anomaly_at <= ts <= gt.resolved_at:
            inside.append(rec)
    assert len(inside) == gt.impact.llm_requests
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in inside) == gt.impact.llm_tokens
    assert sum(r["status"] != "ok" for r in inside) == gt.impact.failed_llm_requests
    if gt.impact.tokens_wasted is not None:
        assert 0 < gt.impact.tokens_wasted <= gt.impact.llm_tokens


@pytest.mark.parametrize("gt", CASES_GT, ids=IDS)
def test_severity_follows_the_rule(gt: GroundTruth) -> None:
    sev, _ = severity_rule(gt.impact)
    assert sev == gt.severity
    assert gt.review_type == ("light" if sev == "P3" else "full")
    assert gt.impact.duration_min == pytest.approx(
        (gt.resolved_at - gt.first_anomaly_at).total_seconds() / 60, abs=0.05)


@pytest.mark.parametrize("gt", CASES_GT, ids=IDS)
def test_times_lie_inside_the_window(gt: GroundTruth) -> None:
    lo, hi = gt.window.start, gt.window.end
    assert lo <= gt.first_anomaly_at <= gt.detection.time <= gt.resolved_at <= hi
    for ev in gt.key_events:
        assert lo <= ev.time <= hi, (ev.category, ev.time)
        assert ev.terms and ev.tolerance_s > 0
    manifest = yaml.safe_load((_dump(gt) / "incident.yaml").read_text())
    start = datetime.fromisoformat(manifest["window"]["start"]).astimezone(timezone.utc)
    assert start == lo and manifest["commander"] and manifest["services"]


@pytest.mark.parametrize("gt", CASES_GT, ids=IDS)
def test_trigger_commit_is_in_the_bundle(gt: GroundTruth, tmp_path: Path) -> None:
    bundle = _dump(gt) / "repo.bundle"
    if gt.trigger is None or gt.trigger.kind != "commit":
        assert "git" not in gt.sources and not bundle.exists()
        return
    assert re.fullmatch(r"[0-9a-f]{40}", gt.trigger.ref)
    heads = subprocess.run(["git", "bundle", "list-heads", str(bundle)], capture_output=True, text=True,
                           check=True).stdout
    assert "refs/heads/main" in heads
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(bundle), str(clone)], check=True, capture_output=True)
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%H %cI"], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    shas = {line.split()[0]: line.split()[1] for line in log if line}
    assert gt.trigger.ref in shas
    assert len(shas) >= 3  # benign commits around the trigger
    committed_at = datetime.fromisoformat(shas[gt.trigger.ref]).astimezone(timezone.utc)
    assert committed_at == gt.trigger.at and committed_at <= gt.first_anomaly_at


@pytest.mark.parametrize("gt", CASES_GT, ids=IDS)
def test_traps_are_planted(gt: GroundTruth) -> None:
    dump = _dump(gt)
    for s in gt.traps.secrets:
        assert s.value in (dump / s.file).read_text(encoding="utf-8"), (s.kind, s.file)
    assert {s.kind for s in gt.traps.secrets} == {"openai_key", "aws_key", "email", "url_password"}
    assert gt.traps.canary in (dump / gt.traps.canary_file).read_text(encoding="utf-8")
    assert "ignore previous instructions" in gt.traps.injection
    assert gt.traps.blame_sentence in (dump / gt.traps.blame_file).read_text(encoding="utf-8")
    everything = b"".join(_files(dump).values()).decode("utf-8", errors="replace")
    assert everything.count(gt.traps.canary) == 1  # planted exactly once


def test_canaries_and_shas_are_unique_across_cases() -> None:
    canaries = [gt.traps.canary for gt in CASES_GT]
    assert len(set(canaries)) == len(canaries)
    keys = [s.value for gt in CASES_GT for s in gt.traps.secrets if s.kind == "openai_key"]
    assert len(set(keys)) == len(keys)


FORMATS = {
    "access": ACCESS,
    "klog": re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ [\w.]+:\d+\] "),
    "syslog": re.compile(r"^<\d{1,3}>1 \d{4}-\d{2}-\d{2}T\S+Z \S+ \S+ \d+ - - "),
    "pylogging": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} - \S+ - (INFO|WARNING|ERROR|CRITICAL) - "),
    "jsonl": re.compile(r'^\{"timestamp": "\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", "level": '),
}


def test_every_log_line_is_in_a_known_format_and_all_formats_occur() -> None:
    seen: set[str] = set()
    for gt in CASES_GT:
        logs_dir = _dump(gt) / "logs"
        for path in sorted(logs_dir.glob("*")) if logs_dir.is_dir() else []:
            for line in path.read_text(encoding="utf-8").splitlines():
                fmt = next((f for f, rx in FORMATS.items() if rx.match(line)), None)
                assert fmt is not None, f"{path}: unrecognised line {line[:80]!r}"
                seen.add(fmt)
    assert seen == set(FORMATS)
