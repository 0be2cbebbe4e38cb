"""A real git repository built with `git`, shipped as `repo.bundle`; fixed identities and dates
make every sha reproducible."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from evals.render.common import Ctx
from evals.scenarios.spec import Commit

EMAIL_DOMAIN = "example-ml.dev"


def _git(repo: Path, env: dict[str, str], *args: str) -> str:
    res = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return res.stdout.strip()


def _base_env(home: Path) -> dict[str, str]:
    # Isolate from any user/system git config so the hashes depend only on the spec.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
            "LC_ALL": "C", "TZ": "UTC"}


def build(ctx: Ctx, commits: list[Commit], bundle_rel: str = "repo.bundle") -> dict[int, str]:
    """Create the repository, write the bundle, return {index in `commits`: full sha}."""
    shas: dict[int, str] = {}
    order = sorted(range(len(commits)), key=lambda i: (commits[i].day_offset, ctx.t(commits[i].at)))
    with tempfile.TemporaryDirectory(prefix="pm-gen-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "gitconfig").write_text("")
        repo = Path(tmp) / ctx.spec.repo_name
        repo.mkdir()
        env = _base_env(home)
        _git(repo, env, "init", "-q", "-b", "main")
        for i in order:
            c = commits[i]
            for rel, content in c.files.items():
                path = repo / rel
                if content == "":
                    if path.exists():
                        path.unlink()
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
            person = ctx.spec.people[c.author]
            when = ctx.t(c.at, c.day_offset)
            date = f"{int(when.timestamp())} {person.tz_offset}"
            cenv = dict(env, GIT_AUTHOR_NAME=person.name, GIT_COMMITTER_NAME=person.name,
                        GIT_AUTHOR_EMAIL=f"{person.handle}@{EMAIL_DOMAIN}",
                        GIT_COMMITTER_EMAIL=f"{person.handle}@{EMAIL_DOMAIN}",
                        GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
            _git(repo, cenv, "add", "-A")
            _git(repo, cenv, "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty",
                 "-m", c.message)
            shas[i] = _git(repo, cenv, "rev-parse", "HEAD")
        out = ctx.out / bundle_rel
        out.parent.mkdir(parents=True, exist_ok=True)
        _git(repo, env, "-c", "pack.threads=1", "bundle", "create", "-q", str(out.resolve()), "--all")
    return shas
