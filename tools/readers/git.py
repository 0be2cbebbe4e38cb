"""Commit history from a git work tree, a bare repository, or a `git bundle` file.

One `git log --numstat` call reads every commit with its files and diffstat (GitPython's per-commit
`stats` would start one git process per commit). The diff of one commit is read on demand.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import git

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext

MAX_COMMITS = 5000
MAX_MESSAGE = 4000
_REC = "\x1e"  # record separator between commits
_FMT = _REC + "%H%x00%P%x00%an%x00%ae%x00%cI%x00%B%x00"


def _is_repo(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def _parse_numstat(block: str) -> tuple[list[str], int, int]:
    files: list[str] = []
    ins = dels = 0
    for line in block.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        a, d, name = parts
        files.append(name)
        ins += int(a) if a.isdigit() else 0  # "-" for binary files
        dels += int(d) if d.isdigit() else 0
    return files, ins, dels


class GitReader:
    name = "git"

    def __init__(self, max_commits: int = MAX_COMMITS) -> None:
        self.max_commits = max_commits

    def sniff_dir(self, path: Path) -> bool:
        return _is_repo(path)

    def read_dir(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        try:
            repo = git.Repo(str(path))
            out = repo.git.log("--all", f"--max-count={self.max_commits}", "--date-order",
                               f"--format={_FMT}", "--numstat", "--no-renames")
        except (git.GitError, OSError, ValueError) as exc:
            yield Malformed(source=rel, reason=f"not a readable git repository: {exc.__class__.__name__}")
            return
        for chunk in out.split(_REC):
            if not chunk.strip():
                continue
            fields = chunk.split("\x00")
            if len(fields) < 7:
                yield Malformed(source=rel, reason="unparseable git log record")
                continue
            sha, parents, author, email, date, message, numstat = fields[:7]
            try:
                ts = datetime.fromisoformat(date).astimezone(timezone.utc)
            except ValueError:
                yield Malformed(source=rel, locator=sha, reason=f"bad commit date {date!r}")
                continue
            files, ins, dels = _parse_numstat(numstat)
            message = message.strip()
            yield Evidence(
                id=f"commit:{sha[:12]}", kind=EvidenceKind.COMMIT, ts=ts, source=rel, locator=sha,
                text=message[:MAX_MESSAGE],
                attrs={"sha": sha, "author": author, "email": email, "files": files,
                       "insertions": ins, "deletions": dels, "parents": parents.split(),
                       "message": message[:MAX_MESSAGE], "repo": str(path.resolve())},
            )

    def read_bundle(self, bundle: Path, rel: str, ctx: ReadContext, workdir: Path) -> Iterator[Evidence | Malformed]:
        """Clone the bundle into `workdir` (never beside the dump) and read the clone."""
        target = workdir / "git" / (rel.replace("/", "__") or "bundle")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            git.Repo.clone_from(str(bundle.resolve()), str(target), bare=True)
        except (git.GitError, OSError) as exc:
            yield Malformed(source=rel, reason=f"git bundle could not be cloned: {str(exc)[:200]}")
            return
        yield from self.read_dir(target, rel, ctx)


def show_commit_diff(repo_path: str | Path, sha: str, max_chars: int = 6000) -> str:
    """The patch of one commit (stat + diff), cut at `max_chars` with a notice."""
    try:
        repo = git.Repo(str(repo_path))
        text = repo.git.show(sha, "--stat", "--patch", "--format=%H%n%an %cI%n%n%B", "--no-color")
    except (git.GitError, OSError, ValueError) as exc:
        return f"[diff unavailable: {exc.__class__.__name__}]"
    if len(text) > max_chars:
        return text[:max_chars] + f"\n[... diff cut: showing {max_chars} of {len(text)} characters]"
    return text
