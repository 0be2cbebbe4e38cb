"""Git reader: commits with files and diffstat from a work tree and from a bundle; diffs on demand."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.git import GitReader, show_commit_diff


def _git(repo: Path, *args: str, when: str = "2024-10-08T13:22:00+02:00") -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev One", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev One", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _repo(tmp: Path) -> Path:
    repo = tmp / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "serving").mkdir()
    (repo / "serving" / "config.yaml").write_text("gpu_memory_utilization: 0.90\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "serving: initial config", when="2024-10-07T09:00:00Z")
    (repo / "serving" / "config.yaml").write_text("gpu_memory_utilization: 0.95\nmax_num_seqs: 512\n")
    (repo / "requirements.txt").write_text("vllm==0.6.2\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "serving: upgrade vllm and raise memory utilization\n\nBody line.")
    return repo


def _read(items: list[Evidence | Malformed]) -> list[Evidence]:
    assert not [i for i in items if isinstance(i, Malformed)]
    return [i for i in items if isinstance(i, Evidence)]


def test_work_tree_commits(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    reader = GitReader()
    assert reader.sniff_dir(repo)
    commits = _read(list(reader.read_dir(repo, "repo", ReadContext(root=tmp_path))))
    assert len(commits) == 2
    newest = commits[0]
    sha = _git(repo, "rev-parse", "HEAD").strip()
    assert newest.id == f"commit:{sha[:12]}" and newest.kind == EvidenceKind.COMMIT
    # 13:22 at +02:00 is 11:22 UTC.
    assert newest.ts == datetime(2024, 10, 8, 11, 22, tzinfo=timezone.utc)
    assert sorted(newest.attrs["files"]) == ["requirements.txt", "serving/config.yaml"]
    assert newest.attrs["insertions"] == 3 and newest.attrs["deletions"] == 1
    assert newest.attrs["parents"] == [commits[1].attrs["sha"]]
    assert newest.text.startswith("serving: upgrade vllm") and "Body line." in newest.text
    diff = show_commit_diff(newest.attrs["repo"], sha)
    assert "+vllm==0.6.2" in diff and "gpu_memory_utilization: 0.95" in diff
    short = show_commit_diff(newest.attrs["repo"], sha, max_chars=50)
    assert "diff cut: showing 50 of" in short


def test_bundle_is_cloned_into_the_workdir_only(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    dump = tmp_path / "dump"
    dump.mkdir()
    _git(repo, "bundle", "create", str(dump / "repo.bundle"), "--all")
    work = tmp_path / "work"
    commits = _read(list(GitReader().read_bundle(dump / "repo.bundle", "repo.bundle", ReadContext(root=dump), work)))
    assert [c.attrs["sha"] for c in commits] == _git(repo, "log", "--format=%H").split()
    assert sorted(p.name for p in dump.iterdir()) == ["repo.bundle"]
    assert any(work.rglob("HEAD"))


def test_broken_bundle_is_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "repo.bundle"
    bad.write_text("# v2 git bundle\nnot really\n")
    items = list(GitReader().read_bundle(bad, "repo.bundle", ReadContext(root=tmp_path), tmp_path / "w"))
    assert len(items) == 1 and isinstance(items[0], Malformed)
    assert "could not be cloned" in items[0].reason


def test_cap_keeps_the_newest_commits_and_shas_are_deterministic(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    commits = _read(list(GitReader(max_commits=1).read_dir(repo, "repo", ReadContext(root=tmp_path))))
    assert len(commits) == 1 and commits[0].text.startswith("serving: upgrade vllm")
    other = tmp_path / "again"
    other.mkdir()
    # Fixed author/committer dates: the same history gives the same shas, so ids are stable.
    assert _git(_repo(other), "rev-parse", "HEAD") == _git(repo, "rev-parse", "HEAD")


def test_bare_repo_is_sniffed_and_read(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    reader = GitReader()
    assert reader.sniff_dir(bare) and not reader.sniff_dir(tmp_path / "repo" / "serving")
    assert len(_read(list(reader.read_dir(bare, "bare.git", ReadContext(root=tmp_path))))) == 2


def test_diff_refuses_option_like_shas(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = show_commit_diff(repo, "--output=" + str(tmp_path / "pwned"))
    assert "not a commit sha" in out and not (tmp_path / "pwned").exists()


def test_not_a_repo_is_malformed(tmp_path: Path) -> None:
    items = list(GitReader().read_dir(tmp_path, "nothing", ReadContext(root=tmp_path)))
    assert len(items) == 1 and isinstance(items[0], Malformed)
