"""no-production-code: code blocks may hold diagnostic queries and example rules only (hard rule 9).

Allowed: SQL/PromQL/LogQL/KQL queries that only read, Mermaid diagrams, example alert rules (YAML/JSON),
read-only shell. Flagged: implementations in general-purpose languages (python, go, java, ...) and shell
or SQL that mutates state (kubectl apply/delete, rm, git push, INSERT/UPDATE/DROP, ...).
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.vocabulary import vocabulary

_WORDS = vocabulary("production_code")

RULE_ID = "no-production-code"
_IMPL_LANGS = {"python", "py", "python3", "go", "golang", "java", "rust", "rs", "js", "javascript", "ts",
               "typescript", "c", "cpp", "c++", "csharp", "cs", "ruby", "rb", "scala", "kotlin", "php", "swift",
               "dockerfile", "terraform", "hcl", "jsx", "tsx"}
_SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh", "shell-session"}
_SQL_LANGS = {"sql", "postgresql", "postgres", "mysql", "sqlite", "bigquery"}


def check(ctx: Context) -> list[ValidationFinding]:
    out: list[ValidationFinding] = []
    for b in ctx.doc.code_blocks:
        sec = ctx.doc.section_at(b.start).title
        lang = b.lang
        first = b.body.strip().splitlines()[0] if b.body.strip() else ""
        if lang in _IMPL_LANGS or (not lang and _WORDS.sniff_impl.search(b.body)):
            out.append(finding(RULE_ID, "error", f"Code block in `{lang or 'unlabelled'}` looks like an implementation, "
                               "not a diagnostic query.", line=b.start, section=sec, text=first,
                               suggestion="Describe the change in prose in an action item; keep only read-only "
                                          "diagnostic queries (SQL, PromQL, LogQL) or example rules."))
        elif lang in _SHELL_LANGS or not lang:
            m = _WORDS.mutating_shell.search(b.body)
            if m:
                out.append(finding(RULE_ID, "error", f"Shell block mutates state (`{m.group(0).strip()}`).",
                                   line=b.start, section=sec, text=first,
                                   suggestion="Keep read-only commands (get, describe, logs, grep); describe "
                                              "remediation steps in the runbook action instead."))
        if lang in _SQL_LANGS or (not lang and re.search(r"\bSELECT\b", b.body)):
            m = _WORDS.mutating_sql.search(b.body)
            if m:
                out.append(finding(RULE_ID, "error", f"SQL block mutates data (`{m.group(0)}`).", line=b.start,
                                   section=sec, text=first, suggestion="Only read-only diagnostic SELECTs belong here."))
    return out


RULE = Rule(RULE_ID, check, "error", "Code blocks only for diagnostic queries / example rules, never implementations.")
