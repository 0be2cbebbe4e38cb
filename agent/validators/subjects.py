"""A tiny deterministic subject classifier: is the noun phrase before a verb a person or a system?

Blame is about *who* is the grammatical agent of a fault, so "the alert failed to fire" is fine while
"the on-call engineer failed to escalate" is not. We find the clause that ends at the verb, strip
adverbs and post-modifiers ("on call", "responsible"), and classify its head noun.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Literal

SubjectClass = Literal["person", "system", "unknown"]

PERSON_PRONOUNS = frozenset(
    ["he", "she", "they", "someone", "somebody", "whoever", "anyone", "anybody", "nobody", "everyone", "him", "her", "them"]
)
# Nouns that name people or roles held by people.
PERSON_NOUNS = frozenset(
    ["engineer", "engineers", "operator", "operators", "on-call", "oncall", "on-caller", "sre", "sres", "developer", "developers", "dev", "devs", "intern", "interns", "researcher", "researchers", "scientist", "scientists", "reviewer", "reviewers", "approver", "approvers", "manager", "managers", "lead", "leads", "owner", "owners", "dba", "dbas", "admin", "admins", "administrator", "administrators", "contractor", "contractors", "annotator", "annotators", "labeler", "labelers", "labeller", "labellers", "responder", "responders", "analyst", "analysts", "hire", "hires", "employee", "employees", "staff", "person", "people", "individual", "individuals", "author", "authors", "committer", "committers", "maintainer", "maintainers", "commander", "ic", "architect", "architects", "tester", "testers", "designer", "designers", "specialist", "specialists", "expert", "experts", "teammate", "teammates", "colleague", "colleagues", "newcomer", "newcomers", "junior", "seniors", "senior", "human", "humans", "user-who", "member", "members", "worker", "workers"]
)
# Heads that are clearly not people even though they sit next to role words ("operator dashboard").
SYSTEM_NOUNS = frozenset(
    ["alert", "alerts", "job", "jobs", "pipeline", "pipelines", "model", "models", "service", "services", "system", "systems", "check", "checks", "script", "scripts", "gate", "gates", "monitor", "monitors", "dashboard", "dashboards", "cluster", "clusters", "node", "nodes", "pod", "pods", "scheduler", "autoscaler", "deploy", "deployment", "deployments", "rollout", "release", "build", "builds", "test", "tests", "suite", "config", "configuration", "cache", "index", "retriever", "reranker", "router", "loop", "handler", "handling", "server", "servers", "api", "endpoint", "endpoints", "queue", "worker-pool", "trainer", "runbook", "checklist", "process", "tool", "tools", "guide", "policy", "rule", "rules", "query", "detector", "validator", "probe", "canary", "harness", "agent", "agents", "kubernetes", "database", "db", "proxy", "gateway", "tokenizer", "classifier", "judge", "grader", "evaluator", "exporter", "controller", "operator-framework", "webhook", "bot", "alias", "flag", "flags", "limiter", "balancer", "step", "migration", "backfill", "sweep", "run", "runs", "guardrail", "prompt", "template", "portal", "pager", "rotation"]
)
_WORD = re.compile(r"@?[\w][\w'’.-]*")
_CLAUSE_BREAK = re.compile(
    r"[;:,()—–]|\s-\s|\b(?:because|since|and|but|so|which|that|when|while|after|before|although|though|"
    r"whereas|as|where|until|if|then|or)\b",
    re.IGNORECASE,
)
_ADVERBS = frozenset(
    ["clearly", "also", "simply", "then", "later", "again", "repeatedly", "completely", "just", "apparently", "obviously", "evidently", "still", "never", "mistakenly", "accidentally", "inadvertently", "unfortunately", "somehow", "initially", "originally"]
)
_POST_MODIFIER = re.compile(
    r"\s+(?:on (?:call|shift|duty)|in charge|responsible|involved|at the time|on the rotation|of record|"
    r"who [\w\s]+?)$",
    re.IGNORECASE,
)
HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z][\w.-]*[\w]")


def clause_before(text: str, end: int) -> str:
    """The clause of `text` that ends at character `end` (the verb), trimmed."""
    head = text[:end]
    breaks = list(_CLAUSE_BREAK.finditer(head))
    if breaks:
        head = head[breaks[-1].end():]
    return head.strip()


def _is_name(token: str, names: Collection[str]) -> bool:
    return any(token.lower() == n.lower() for n in names)


def classify_phrase(phrase: str, names: Collection[str] = ()) -> SubjectClass:
    """Classify a subject noun phrase such as "The on-call SRE" or "Marco" or "the alert"."""
    p = phrase.strip().strip("*_\"'")
    for n in names:
        if n and re.search(rf"(?<![\w@]){re.escape(n)}(?:['’]s)?\b", p, re.IGNORECASE):
            return "person"
    if HANDLE.search(p):
        return "person"
    p = _POST_MODIFIER.sub("", p)
    words = [w.lower().strip("'’.") for w in _WORD.findall(p)]
    words = [re.sub(r"['’]s$", "", w) for w in words]
    while words and words[-1] in _ADVERBS:
        words.pop()
    if not words:
        return "unknown"
    if words[0] in PERSON_PRONOUNS and len(words) <= 2:
        return "person"
    if words[0] in {"whoever", "someone", "somebody", "anyone"}:
        return "person"
    headword = words[-1]
    if headword in SYSTEM_NOUNS:
        return "system"
    if headword in PERSON_NOUNS or headword in PERSON_PRONOUNS:
        return "person"
    return "unknown"


def subject_before(text: str, end: int, names: Collection[str] = ()) -> tuple[str, SubjectClass]:
    phrase = clause_before(text, end)
    return phrase, classify_phrase(phrase, names)
