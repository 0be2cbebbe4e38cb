"""One model for everything that changes a running system, built from every kind of evidence.

A commit is not a trigger until it reaches production; a flag flip, a sync, a rollout, a data job
or an infra change can be one without any commit. Each `Change` records when it was authored, when
it reached production and which record shows that, so the ranking (agent/offline/changes.py) times
every candidate by the same clock.

Sources, all read from the evidence store (never from files):
  COMMIT records  committer date (when the commit landed), `authored_at`, PR numbers, parents
  CHANGE records  flag / config / deploy / sync / rollout / prompt / model / data_job / infra audit
  k8s events      a new ReplicaSet scaled up, a new image tag pulled
  log lines       Argo CD / Flux / Helm / kubectl deploy and sync lines, Airflow / Dagster / Prefect runs
  chat and notes  a bot or a person announcing a deploy that names a version, a PR or a sha
Deploy-like changes are then linked to the commit they ship (sha prefix, PR number, version), so the
commit's `reached_production_at` is the deploy time and the deploy record is cited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from agent.vocabulary import vocabulary
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

ChangeKind = Literal["commit", "deploy", "sync", "rollout", "flag", "config", "prompt", "model",
                     "data_job", "infra"]
CHANGE_KINDS: tuple[str, ...] = ("commit", "deploy", "sync", "rollout", "flag", "config", "prompt",
                                 "model", "data_job", "infra")

SHA = re.compile(r"\b[0-9a-f]{7,40}\b")
PR = re.compile(r"(?:\bPR\s*#?|pull request #|\(#|(?<![\w&])#|merge request [\w./-]*!)(\d{1,7})\b", re.I)
VERSION = re.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)?(?:[-.+]?(?:post|rc|alpha|beta|dev|r)\d*)?\b|"
                     r"(?<=[:@])[\w][\w.-]{0,40}\d[\w.-]*")
# Reverts, rollbacks, deploy announcements, flag gates: agent/vocabulary/changes.yaml.
_WORDS = vocabulary("changes")


class Change(BaseModel):
    """Anything that changed the system, with the record that shows when it reached production."""

    kind: ChangeKind
    ref: str  # full commit sha, flag key, app@revision, dag/run id, replica set, ...
    summary: str
    touched: list[str] = Field(default_factory=list)  # files, keys, services, models, versions, flags
    authored_at: datetime | None = None
    landed_at: datetime | None = None  # commit: committer date (merge or squash time)
    reached_production_at: datetime | None = None
    production_evidence: str | None = None  # id of the record showing the production time
    production_basis: str = ""  # how reached_production_at is known, said in the reasons
    evidence: list[str] = Field(default_factory=list)
    prs: list[str] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    shas: list[str] = Field(default_factory=list)  # shas a deploy/sync names
    action: str = ""  # as exported: enabled, disabled, synced, rolled_back, ...
    environment: str = ""
    reverts: list[str] = Field(default_factory=list)  # refs / PR numbers / subjects it undoes
    gates: list[str] = Field(default_factory=list)  # flag keys a commit says it ships behind
    text: str = ""  # what overlap and mentions are matched on (message, files, target, values)


def _clip(text: str, n: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:n]


def versions_in(text: str) -> list[str]:
    return sorted({m.group(0).lstrip("v") for m in VERSION.finditer(text) if len(m.group(0)) >= 3})


# ---- commits -------------------------------------------------------------------------------

def _iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def commit_change(ev: Evidence) -> Change:
    sha = str(ev.attrs.get("sha") or ev.id.split(":", 1)[-1])
    message = str(ev.attrs.get("message") or ev.text)
    files = [str(f) for f in ev.attrs.get("files") or []]
    prs = [str(p) for p in ev.attrs.get("prs") or []] or sorted(set(PR.findall(_clip(message, 400))))
    reverts = [m.group(1) for m in _WORDS.revert_quoted.finditer(message)]
    reverts += [m.group(1) for m in _WORDS.revert.finditer(message) if m.group(1)]
    if _WORDS.revert.search(message) and not reverts:
        reverts.append(_clip(message))
    return Change(
        kind="commit", ref=sha, summary=_clip(ev.text) or sha, touched=files,
        authored_at=_iso(ev.attrs.get("authored_at")), landed_at=ev.ts,
        reached_production_at=ev.ts, production_evidence=ev.id,
        production_basis="commit time (no deploy record names it)", evidence=[ev.id], prs=prs,
        versions=versions_in(message), reverts=reverts, text=message + " " + " ".join(files),
        gates=sorted({m.group(1) for m in _WORDS.flag_gate.finditer(message)} - {"flag", "feature", "the"}),
    )


# ---- CHANGE records (flag / config / deploy audit logs) -------------------------------------

def _kind_of(change_type: str) -> ChangeKind:
    t = change_type.lower()
    return t if t in CHANGE_KINDS and t != "commit" else "config"  # type: ignore[return-value]


def audit_change(ev: Evidence) -> Change | None:
    a = ev.attrs
    env = str(a.get("environment") or "")
    if env and _WORDS.non_prod.search(env) and not re.search(r"prod", env, re.I):
        return None  # a staging flip never reached the users the incident hurt
    target = str(a.get("target") or "")
    version = str(a.get("version") or "")
    ref = f"{target}@{version}" if target and version else (target or version or ev.id)
    before, after = str(a.get("before") or ""), str(a.get("after") or "")
    action = str(a.get("action") or "")
    text = " ".join(x for x in (ev.text, target, version, action, after) if x)
    return Change(
        kind=_kind_of(str(a.get("change_type") or "")), ref=ref, summary=_clip(ev.text) or ref,
        touched=[x for x in (target, version, ev.service or "") if x],
        reached_production_at=ev.ts, production_evidence=ev.id,
        production_basis=f"{a.get('change_type') or 'change'} audit record", evidence=[ev.id],
        versions=versions_in(f"{version} {after}"), shas=SHA.findall(f"{version} {ev.text}".lower()),
        prs=sorted(set(PR.findall(ev.text))), action=action, environment=env,
        reverts=[target] if target and (_WORDS.undo_actions.search(action) or _ramped_to_zero(a)) else [],
        text=text + " " + before,
    )


def _rollout_pct(value: object) -> float | None:
    """The rollout percentage of a flag strategy as exported (Unleash `parameters.rollout`,
    a plain `rollout` / `percentage` field), None when the record has none."""
    if not isinstance(value, dict):
        return None
    params = value.get("parameters") if isinstance(value.get("parameters"), dict) else value
    for key in ("rollout", "percentage", "rolloutPercentage"):
        try:
            return float(params[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _ramped_to_zero(attrs: dict[str, object]) -> bool:
    """A rollout turned down to 0%: the flag still exists but serves nobody, an undo."""
    before, after = _rollout_pct(attrs.get("before")), _rollout_pct(attrs.get("after"))
    return after == 0 and (before or 0) > 0


# ---- Kubernetes events ----------------------------------------------------------------------

_SCALED_UP = re.compile(r"Scaled up replica set (\S+?)(?:-([0-9a-z]{5,10}))? ", re.I)
_PULLED = re.compile(r'image "?([^\s":@]+(?::\d+)?[^\s":@]*)[:@]([\w.-]+)"?', re.I)


def k8s_changes(events: Iterable[Evidence]) -> list[Change]:
    """A replica set or image tag that replaces an earlier one of the same workload: a rollout."""
    seen_rs: dict[str, set[str]] = {}
    seen_tag: dict[str, set[str]] = {}
    out: list[Change] = []
    for ev in events:
        reason = str(ev.attrs.get("reason") or "")
        if reason == "ScalingReplicaSet" and (m := _SCALED_UP.search(ev.text + " ")):
            deploy, rs_hash = m.group(1), m.group(2) or ""
            earlier = seen_rs.setdefault(deploy, set())
            if earlier and rs_hash not in earlier:
                out.append(_rollout(ev, f"{deploy}-{rs_hash}", [deploy, rs_hash], []))
            earlier.add(rs_hash)
        elif reason == "Pulled" and (m := _PULLED.search(ev.text)):
            image, tag = m.group(1), m.group(2)
            earlier = seen_tag.setdefault(image, set())
            if earlier and tag not in earlier:
                out.append(_rollout(ev, f"{image}:{tag}", [image, tag], [tag.lstrip("v")]))
            earlier.add(tag)
    return out


def _rollout(ev: Evidence, ref: str, touched: list[str], versions: list[str]) -> Change:
    return Change(kind="rollout", ref=ref, summary=_clip(ev.text), touched=touched + [str(ev.attrs.get("object_name") or "")],
                  reached_production_at=ev.ts, production_evidence=ev.id,
                  production_basis="Kubernetes rollout event", evidence=[ev.id], versions=versions,
                  shas=SHA.findall(ev.text.lower()), text=ev.text)


# ---- deploy / sync / data-job log lines ------------------------------------------------------

# (kind, pattern) in order; the first that matches a log line decides. Each names the public wording
# of the tool: Argo CD application controller, Flux kustomize/helm controllers, Helm CLI, kubectl,
# Airflow task/DAG runs, Dagster and Prefect run status.
LOG_PATTERNS: tuple[tuple[ChangeKind, re.Pattern[str]], ...] = (
    ("sync", re.compile(r"sync operation to (\S+) succeeded|sync(?:ed)? (?:to|revision) '?([0-9a-f]{7,40})", re.I)),
    ("sync", re.compile(r"reconciliation finished.*?revision[: ]+\S*?([0-9a-f]{7,40})|applied revision[: ]+\S*?([0-9a-f]{7,40})", re.I)),
    ("deploy", re.compile(r"(?:helm )?upgrade succeeded|release \"?[\w.-]+\"? has been upgraded|upgrade complete", re.I)),
    ("rollout", re.compile(r"successfully rolled out|deployment\S* \S+ rolled out|rollout (?:complete|finished)", re.I)),
    ("data_job", re.compile(r"marking task as success|dagrun finished.*state=success|run_success|"
                            r"finished in state completed|pipeline run (?:succeeded|completed)", re.I)),
    ("deploy", re.compile(r"\b(?:deployed|deployment (?:succeeded|completed|finished)|released|promoted)\b.*"
                          r"(?:\bv?\d+\.\d+|[0-9a-f]{7,40}|#\d+)", re.I)),
)
LOG_FTS = ("sync OR synced OR reconciliation OR upgrade OR upgraded OR rolled OR rollout OR deployed "
           "OR deployment OR released OR promoted OR success OR succeeded OR completed OR run_success")
_KV = re.compile(r"\b(application|app|dag_id|task_id|run_id|release|job|pipeline|deployment|"
                 r"helmrelease|kustomization|revision|name)[=:]\s*\"?([^\s\",]+)", re.I)


def log_change(ev: Evidence) -> Change | None:
    if ev.level in ("error", "critical") or ev.flags:
        return None
    for kind, pat in LOG_PATTERNS:
        if pat.search(ev.text):
            return _log_change(ev, kind)
    return None


def _log_change(ev: Evidence, kind: ChangeKind) -> Change:
    kv = {k.lower(): v for k, v in _KV.findall(ev.text)}
    kv.update({k: str(v) for k, v in ev.attrs.items() if k in ("application", "app", "dag_id", "task_id", "run_id",
                                                                 "release", "job", "revision")})
    what = kv.get("application") or kv.get("app") or kv.get("dag_id") or kv.get("release") or kv.get("job") \
        or kv.get("pipeline") or kv.get("deployment") or ev.service or ""
    shas = sorted(set(SHA.findall(ev.text.lower())))
    run = kv.get("run_id") or (shas[0] if shas else "") or kv.get("revision", "")
    ref = f"{what}@{run}" if what and run else (what or run or ev.id)
    undoes = (shas + [what]) if _WORDS.rollback.search(ev.text) else []
    return Change(
        kind=kind, ref=ref, summary=_clip(ev.text), reverts=[x for x in undoes if x],
        touched=[x for x in (what, kv.get("task_id", ""), ev.service or "") if x],
        reached_production_at=ev.ts, production_evidence=ev.id,
        production_basis=f"{kind.replace('_', ' ')} log line", evidence=[ev.id], shas=shas,
        versions=versions_in(ev.text), prs=sorted(set(PR.findall(ev.text))), text=ev.text,
    )


def _dedupe_runs(changes: list[Change]) -> list[Change]:
    """One change per ref: several lines of one sync or one job run (each task, each retry) are the
    same change; the first success line dates it, the others are cited."""
    by_ref: dict[str, Change] = {}
    for c in changes:
        key = f"{c.kind}:{c.ref}"
        if key in by_ref:
            kept = by_ref[key]
            if len(kept.evidence) < 4:
                kept.evidence.append(c.evidence[0])
            kept.touched = sorted(set(kept.touched) | set(c.touched))
        else:
            by_ref[key] = c
    return list(by_ref.values())


# ---- announcements in chat and notes ----------------------------------------------------------

def announcement(ev: Evidence) -> Change | None:
    """"deployed v2.3.1 / #41 / abc1234 to prod" said by a bot or a person (not a proposal)."""
    if ev.flags or not _WORDS.announce.search(ev.text) or _WORDS.proposal.search(ev.text):
        return None
    prs = sorted(set(PR.findall(ev.text)))
    shas = sorted(set(SHA.findall(ev.text.lower())))
    versions = versions_in(ev.text)
    if not (prs or shas or versions):
        return None
    if _WORDS.non_prod.search(ev.text) and not re.search(r"\bprod", ev.text, re.I):
        return None
    ref = next(iter(shas), "") or (f"#{prs[0]}" if prs else versions[0])
    who = "bot" if ev.attrs.get("bot") else "responder"
    undoes = shas + [f"#{p}" for p in prs] + versions if _WORDS.rollback.search(ev.text) else []
    return Change(kind="deploy", ref=ref, reverts=undoes, summary=_clip(ev.text), reached_production_at=ev.ts,
                  production_evidence=ev.id, production_basis=f"deploy announced in chat/notes ({who})",
                  evidence=[ev.id], prs=prs, shas=shas, versions=versions, text=ev.text)


# ---- collection and linking ------------------------------------------------------------------

def collect_changes(store: EvidenceReader, start: datetime, end: datetime) -> list[Change]:
    """Every change in [start, end], deploy-like ones folded into the commits they ship."""
    commits = [commit_change(ev) for ev in store.iter(kinds=[EvidenceKind.COMMIT], start=start, end=end)]
    others: list[Change] = []
    for ev in store.iter(kinds=[EvidenceKind.CHANGE], start=start, end=end):
        c = audit_change(ev)
        if c is not None:
            others.append(c)
    others += k8s_changes(store.iter(kinds=[EvidenceKind.K8S_EVENT], start=start, end=end))
    logs = store.match(LOG_FTS, kinds=[EvidenceKind.LOG], start=start, end=end, limit=5000)
    others += _dedupe_runs([c for c in (log_change(ev) for ev in logs) if c is not None])
    for ev in store.iter(kinds=[EvidenceKind.CHAT, EvidenceKind.NOTE], start=start, end=end, dated_only=True):
        c = announcement(ev)
        if c is not None:
            others.append(c)
    return commits + link(commits, others)


def _ships(deploy: Change, commit: Change) -> bool:
    if any(commit.ref.startswith(s) for s in deploy.shas):
        return True
    if set(deploy.prs) & set(commit.prs):
        return True
    # A version is specific enough only when it has at least two dots or a suffix ("0.6.4.post1").
    strong = [v for v in deploy.versions if v.count(".") >= 2 or re.search(r"[a-z]", v)]
    return any(v in commit.versions for v in strong)


def link(commits: list[Change], others: list[Change]) -> list[Change]:
    """Fold each deploy-like change into the commit it ships (first deploy at or after the commit
    landed); return the ones that name no commit, which stay candidates of their own."""
    unlinked: list[Change] = []
    for d in sorted(others, key=lambda c: (c.reached_production_at is None, c.reached_production_at or 0)):
        # A rollback names the change it undoes: it is revert evidence, never that change's deploy.
        target = None if d.reverts else next((c for c in commits if _ships(d, c) and _not_before(d, c)), None)
        gated = None if d.reverts or d.kind != "flag" else next(
            (c for c in commits if d.ref in c.gates and _not_before(d, c)), None)
        if gated is not None:
            _fold_flag(gated, d)
        elif target is None:
            unlinked.append(d)
        else:
            _fold(target, d)
    return unlinked


def _fold_flag(commit: Change, flag: Change) -> None:
    """A commit shipped behind a flag reaches production when the flag first exposes users to it
    in production; every later step of the ramp is cited as its production evidence."""
    exposes = bool(_WORDS.expose.search(flag.action or flag.text))
    first = commit.production_evidence == (commit.evidence[0] if commit.evidence else None)
    if first and exposes and flag.reached_production_at is not None:
        commit.reached_production_at = flag.reached_production_at
        commit.production_evidence = flag.production_evidence
        commit.production_basis = f"flag `{flag.ref}` {flag.action or 'changed'} in production"
    for i in flag.evidence:
        if i not in commit.evidence and len(commit.evidence) < 8:
            commit.evidence.append(i)


def _not_before(deploy: Change, commit: Change) -> bool:
    if deploy.reached_production_at is None or commit.landed_at is None:
        return True
    return deploy.reached_production_at >= commit.landed_at - timedelta(minutes=1)


def _fold(commit: Change, deploy: Change) -> None:
    first_deploy = commit.production_evidence == (commit.evidence[0] if commit.evidence else None)
    if first_deploy and deploy.reached_production_at is not None:
        commit.reached_production_at = deploy.reached_production_at
        commit.production_evidence = deploy.production_evidence
        commit.production_basis = deploy.production_basis
        commit.touched = sorted(set(commit.touched) | set(deploy.touched))
    for i in deploy.evidence:
        if i not in commit.evidence and len(commit.evidence) < 6:
            commit.evidence.append(i)
