"""Mechanism chains and grounded confidence on small stores built here (a real git repo for the diff).

Expected values come from the records and the diff each test writes.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import TriggerCandidate
from agent.offline import confidence, mechanism
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

CHANGE_AT = datetime(2026, 5, 2, 10, 0, tzinfo=timezone.utc)
ONSET = CHANGE_AT + timedelta(minutes=90)
BEFORE = "engine:\n  gpuMemoryUtilization: 0.90\n  maxNumSeqs: 256\n  logLevel: info\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@x", "HOME": str(repo), "PATH": "/usr/bin:/bin"}).stdout


def _repo(tmp_path: Path, after: str) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "values.yaml").write_text(BEFORE)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    (repo / "values.yaml").write_text(after)
    _git(repo, "commit", "-q", "-am", "prod: engine settings")
    return repo, _git(repo, "rev-parse", "HEAD").strip()


def _series(name: str, before: float, after: float, n: int = 0) -> Evidence:
    start = CHANGE_AT - timedelta(hours=1)
    samples = [[(start + timedelta(minutes=5 * i)).timestamp(), before if start + timedelta(minutes=5 * i) < CHANGE_AT
                else after] for i in range(36)]
    return Evidence(id=f"metric:metrics/{name}.json:{n}", kind=EvidenceKind.METRIC, ts=start, source=f"metrics/{name}.json",
                    text=f"{name}: {len(samples)} samples", attrs={"name": name, "samples": samples})


def _errors() -> list[Evidence]:
    return [Evidence(id=f"log:vllm.log:{i}", kind=EvidenceKind.LOG, ts=ONSET + timedelta(seconds=30 * i),
                     source="vllm.log", level="error", service="vllm",
                     text="torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. 1.02 GiB free")
            for i in range(6)]


def _store(tmp_path: Path, records: list[Evidence]) -> EvidenceReader:
    s = StoreWriter.create(tmp_path / "e.db")
    s.add_many(records)
    s.finalize()
    return s.reader()


def _commit(repo: Path, sha: str, message: str = "prod: engine settings") -> Evidence:
    return Evidence(id=f"commit:{sha[:12]}", kind=EvidenceKind.COMMIT, ts=CHANGE_AT, source="repo", locator=sha,
                    text=message, attrs={"sha": sha, "repo": str(repo), "message": message,
                                         "files": ["values.yaml"], "parents": []})


def _top(sha: str, score: float = 3.0) -> TriggerCandidate:
    return TriggerCandidate(ref=sha, summary="prod: engine settings", evidence=[f"commit:{sha[:12]}"],
                            at=CHANGE_AT, score=score)


def test_two_settings_give_two_hypotheses_with_cited_links(tmp_path: Path) -> None:
    repo, sha = _repo(tmp_path, BEFORE.replace("0.90", "0.95").replace("256", "384"))
    store = _store(tmp_path, [_commit(repo, sha), _series("gpu_memory_used_bytes", 70.0, 78.0)] + _errors())
    m = mechanism.build(store, _top(sha), None, ONSET, ONSET + timedelta(hours=1))
    assert m is not None
    assert [(s.key, s.old, s.new) for s in m.settings] == [("gpuMemoryUtilization", "0.90", "0.95"),
                                                           ("maxNumSeqs", "256", "384")]
    assert [h.key for h in m.hypotheses] == ["gpuMemoryUtilization", "maxNumSeqs"]
    assert m.hypotheses[0].statement.startswith("Raising `gpuMemoryUtilization` from `0.90` to `0.95`")
    assert "only `maxNumSeqs` at `384`" in m.hypotheses[1].test
    metric = [ln for ln in m.links if ln.signal_kind == "metric"]
    assert {ln.key for ln in metric} == {"gpuMemoryUtilization", "maxNumSeqs"}
    for ln in m.links:  # every link cites the change and the signal
        assert ln.evidence[0] == f"commit:{sha[:12]}" and len(ln.evidence) == 2
    assert metric[0].evidence[1] == "metric:metrics/gpu_memory_used_bytes.json:0"
    assert "from a median of 70 " in metric[0].detail and "to 78 " in metric[0].detail
    err = next(ln for ln in m.links if ln.signal_kind == "error")
    assert "1.96 GiB" in err.detail and err.evidence[1].startswith("log:vllm.log:")
    assert m.chain.startswith(f"Change `{sha[:12]}` set `gpuMemoryUtilization` from `0.90` to `0.95`")
    assert "metric:metrics/gpu_memory_used_bytes.json:0" in m.chain and "log:vllm.log:" in m.chain


def test_no_link_without_shared_evidence(tmp_path: Path) -> None:
    # logLevel shares no word and no known relation with a memory series or an OOM line; a memory
    # setting whose series did not move gets no metric link either.
    repo, sha = _repo(tmp_path, BEFORE.replace("info", "debug"))
    store = _store(tmp_path, [_commit(repo, sha), _series("gpu_memory_used_bytes", 70.0, 78.0)] + _errors())
    m = mechanism.build(store, _top(sha), None, ONSET, ONSET + timedelta(hours=1))
    assert m is not None and [s.key for s in m.settings] == ["logLevel"]
    assert m.links == [] and m.chain == "" and m.evidence == []
    assert "no signal related to `logLevel` moved" in m.hypotheses[0].statement

    (tmp_path / "b").mkdir()
    repo2, sha2 = _repo(tmp_path / "b", BEFORE.replace("0.90", "0.95"))
    flat = _store(tmp_path / "b", [_commit(repo2, sha2), _series("gpu_memory_used_bytes", 70.0, 70.0)])
    m2 = mechanism.build(flat, _top(sha2), None, ONSET, ONSET + timedelta(hours=1))
    assert m2 is not None and m2.links == []


def test_settings_from_message_when_the_diff_is_unreadable(tmp_path: Path) -> None:
    ev = Evidence(id="commit:abcdef123456", kind=EvidenceKind.COMMIT, ts=CHANGE_AT, source="repo",
                  locator="abcdef1234567890", text="x",
                  attrs={"sha": "abcdef1234567890", "repo": str(tmp_path / "gone"),
                         "message": "tune\n* request_timeout_s 30 -> 5\n* docs: see the runbook"})
    store = _store(tmp_path, [ev])
    got = mechanism.extract_settings(store, TriggerCandidate(ref="abcdef1234567890", summary="tune",
                                                             evidence=[ev.id], at=CHANGE_AT))
    assert [(s.key, s.old, s.new) for s in got] == [("request_timeout_s", "30", "5")]


def _recovered(ts: datetime) -> Evidence:
    return Evidence(id="alert:am.json:9:0", kind=EvidenceKind.ALERT, ts=ts, source="am.json",
                    text="HighErrorRate resolved", attrs={"alertname": "HighErrorRate", "status": "resolved"})


def test_rollback_to_an_older_image_does_not_confirm_an_unrelated_commit(tmp_path: Path) -> None:
    repo, sha = _repo(tmp_path, BEFORE.replace("0.90", "0.95"))
    rollback = Evidence(id="chat:inc:1", kind=EvidenceKind.CHAT, ts=ONSET + timedelta(minutes=10), source="slack",
                        text="rolled back the serving image to the 2026-04-28 build in prod",
                        attrs={"channel": "inc"})
    store = _store(tmp_path, [_commit(repo, sha), rollback, _recovered(ONSET + timedelta(minutes=20))] + _errors())
    proof = confidence.ground(store, _top(sha), ONSET, ONSET + timedelta(hours=1), None)
    assert proof.status == "likely" and proof.evidence == []
    assert "What would confirm it" in proof.to_confirm


def test_revert_of_that_commit_then_recovery_confirms(tmp_path: Path) -> None:
    repo, sha = _repo(tmp_path, BEFORE.replace("0.90", "0.95"))
    revert_sha = "f" * 40
    revert = Evidence(id=f"commit:{revert_sha[:12]}", kind=EvidenceKind.COMMIT, ts=ONSET + timedelta(minutes=10),
                      source="repo", locator=revert_sha, text='Revert "prod: engine settings"',
                      attrs={"sha": revert_sha, "message": f'Revert "prod: engine settings"\n\nThis reverts commit {sha}.',
                             "files": ["values.yaml"], "parents": [sha]})
    store = _store(tmp_path, [_commit(repo, sha), revert, _recovered(ONSET + timedelta(minutes=20))] + _errors())
    proof = confidence.ground(store, _top(sha), ONSET, ONSET + timedelta(hours=1), None)
    assert proof.status == "confirmed"
    assert proof.evidence == [f"commit:{revert_sha[:12]}", "alert:am.json:9:0"]


def test_render_shows_the_mechanism_subsection(tmp_path: Path) -> None:
    repo, sha = _repo(tmp_path, BEFORE.replace("0.90", "0.95").replace("256", "384"))
    store = _store(tmp_path, [_commit(repo, sha), _series("gpu_memory_used_bytes", 70.0, 78.0)] + _errors())
    lines = mechanism.render(mechanism.build(store, _top(sha), None, ONSET, ONSET + timedelta(hours=1)))
    assert lines[0] == "### Mechanism"
    assert any(line.startswith("**Chain**: ") for line in lines)
    assert sum(1 for line in lines if line.startswith("- *")) == 2
    assert mechanism.render(None) == []
