"""Commit history from a git work tree, a bare repository, or a `git bundle` file.

One `git log --numstat` call reads every commit with its files and diffstat (GitPython's per-commit
`stats` would start one git process per commit). The diff of one commit is read on demand.
"""

from __future__ import annotations

import codecs
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import git

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext

MAX_COMMITS = 5000
MAX_MESSAGE = 4000
MAX_FILES = 500  # a vendoring commit can touch 50k files; the count is kept in files_total
_SHA = re.compile(r"[0-9a-fA-F]{4,40}")
_REC = "\x1e"  # record separator between commits
# Committer date (%cI) is when the commit landed on its branch (a merge, a rebase, a squash);
# the author date (%aI) can be days older and is kept apart as `authored_at`.
_FMT = _REC + "%H%x00%P%x00%an%x00%ae%x00%cI%x00%B%x00%aI%x00"
# Pull/merge request numbers as forges write them in merge and squash subjects:
# "Merge pull request #12 from ...", "Subject (#12)", "See merge request group/repo!34".
_PR = re.compile(r"(?:pull request #|\(#|merge request [\w./-]*!)(\d{1,7})\b")


def _is_repo(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def _records(stream: IO[bytes]) -> Iterator[str]:
    """Split `git log` output into commit records as it arrives."""
    pending = ""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # blocks split characters
    while True:
        block = stream.read(1 << 16)
        if not block:
            pending += decoder.decode(b"", final=True)
            break
        pending += decoder.decode(block)
        *done, pending = pending.split(_REC)
        for rec in done:
            if rec.strip():
                yield rec
    if pending.strip():
        yield pending


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
            repo_path = str(Path(repo.git_dir if repo.bare else repo.working_tree_dir or path).resolve())
            # Streamed from the git process: thousands of commits never sit in memory at once.
            proc = repo.git.log("--all", f"--max-count={self.max_commits}", "--date-order",
                                f"--format={_FMT}", "--numstat", "--no-renames", as_process=True)
        except (git.GitError, OSError, ValueError) as exc:
            yield Malformed(source=rel, reason=f"not a readable git repository: {exc.__class__.__name__}")
            return
        failed: str | None = None
        try:
            for chunk in _records(proc.stdout):
                yield from self._commit(chunk, rel, repo_path)
            try:
                proc.wait()
            except git.GitCommandError as exc:  # an empty repository has no commits to log
                if "does not have any commits" not in str(exc):
                    failed = str(exc)[:200]
        finally:
            proc.stdout.close()
        if failed:
            yield Malformed(source=rel, reason=f"git log failed: {failed}")

    def _commit(self, chunk: str, rel: str, repo_path: str) -> Iterator[Evidence | Malformed]:
        fields = chunk.split("\x00")
        if len(fields) < 8:
            yield Malformed(source=rel, reason="unparseable git log record")
            return
        sha, parents, author, email, date, message, authored, numstat = fields[:8]
        try:
            ts = datetime.fromisoformat(date).astimezone(timezone.utc)
        except ValueError:
            yield Malformed(source=rel, locator=sha, reason=f"bad commit date {date!r}")
            return
        files, ins, dels = _parse_numstat(numstat)
        message = message.strip()
        extra: dict[str, object] = {"prs": sorted(set(_PR.findall(message)), key=int)}
        try:
            extra["authored_at"] = datetime.fromisoformat(authored).astimezone(timezone.utc).isoformat()
        except ValueError:
            pass  # the committer date still dates the commit; an odd author date is just not shown
        yield Evidence(
            id=f"commit:{sha[:12]}", kind=EvidenceKind.COMMIT, ts=ts, source=rel, locator=sha,
            text=message[:MAX_MESSAGE],
            attrs={"sha": sha, "author": author, "email": email, "files": files[:MAX_FILES],
                   "files_total": len(files), "insertions": ins, "deletions": dels,
                   "parents": parents.split(), "message": message[:MAX_MESSAGE], "repo": repo_path,
                   **extra},
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
    # The sha may come from a model's tool call: only hex, so it can never be read as an option.
    if not _SHA.fullmatch(sha or ""):
        return f"[diff unavailable: {sha!r} is not a commit sha (4-40 hex digits)]"
    try:
        repo = git.Repo(str(repo_path))
        text = repo.git.show(sha, "--stat", "--patch", "--format=%H%n%an %cI%n%n%B", "--no-color")
    except (git.GitError, OSError, ValueError) as exc:
        return f"[diff unavailable: {exc.__class__.__name__}]"
    if len(text) > max_chars:
        return text[:max_chars] + f"\n[... diff cut: showing {max_chars} of {len(text)} characters]"
    return text
