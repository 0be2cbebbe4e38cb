"""Secret and PII redaction, applied to every record before it is stored.

Placeholders are stable within a run (`[REDACTED:email#3]` is always the same address), so a
reader can still follow "the same key appears in three places" without seeing the key. Only a
hash of each value is kept in memory, never the value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

# Order matters: specific token shapes before generic assignments, URLs before emails.
_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("private_key", re.compile(
        r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----(?:.*?-----END (?:[A-Z]+ )?PRIVATE KEY-----|[A-Za-z0-9+/=\s\\n]*)",
        re.S), 0),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}"), 0),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"), 0),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), 0),
    ("aws_secret_key", re.compile(
        r"(?i)(?<=aws_secret_access_key)(\s*[=:]\s*[\"']?)([A-Za-z0-9/+=]{40})"), 2),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b"), 0),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"), 0),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), 0),
    ("bearer_token", re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9_\-.=+/]{16,})"), 2),
    ("url_password", re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^@\s/]+)(@)", re.I), 2),
    ("password", re.compile(
        r"(?i)(\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|token)\b"
        r"[\"']?\s*[=:]\s*[\"']?)([^\s\"',;&]{6,})"), 2),
    ("email", re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"), 0),
    ("phone", re.compile(
        r"(?<![\w.:/-])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{2,4}\)[ .\-]?|\d{2,4}[ .\-])\d{3,4}[ .\-]\d{3,4}(?![\w.:/-])"), 0),
]
# Cheap screen: a line with none of these substrings cannot match any pattern above.
_SCREEN = re.compile(
    r"PRIVATE KEY|sk-|AKIA|ASIA|aws_secret|gh[pousr]_|github_pat_|xox|eyJ|[Bb]earer|BEARER|://[^/\s]*@|@|"
    r"(?i:pass|pwd|secret|key|token)|\d{3,4}[ .\-]\d{3,4}"
)
_PLACEHOLDER = re.compile(r"\[REDACTED:[a-z_]+#\d+\]")


def _looks_like_phone(s: str) -> bool:
    digits = re.sub(r"\D", "", s)
    if not 9 <= len(digits) <= 15:
        return False
    # Dates, times and version-like runs are the usual false positives.
    return not re.fullmatch(r"\d{4}[ .\-]\d{2}[ .\-]\d{2}", s.strip())


class Redactor:
    """Stateful per run: numbering of placeholders is by first appearance per kind."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._ids: dict[str, dict[str, int]] = {}

    def _placeholder(self, kind: str, value: str) -> str:
        digest = hashlib.blake2b(value.encode("utf-8", "replace"), digest_size=12).hexdigest()
        table = self._ids.setdefault(kind, {})
        n = table.get(digest)
        if n is None:
            n = table[digest] = len(table) + 1
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"[REDACTED:{kind}#{n}]"

    def _sub(self, kind: str, group: int) -> Callable[[re.Match[str]], str]:
        def repl(m: re.Match[str]) -> str:
            value = m.group(group) if group else m.group(0)
            if _PLACEHOLDER.fullmatch(value):
                return m.group(0)
            if kind == "phone" and not _looks_like_phone(value):
                return m.group(0)
            ph = self._placeholder(kind, value)
            if not group:
                return ph
            start, end = m.span(group)
            base = m.start(0)
            whole = m.group(0)
            return whole[: start - base] + ph + whole[end - base:]

        return repl

    def redact_text(self, text: str) -> str:
        if not text or not _SCREEN.search(text):
            return text
        for kind, pattern, group in _PATTERNS:
            text = pattern.sub(self._sub(kind, group), text)
        return text

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside dicts/lists (keys are kept as they are)."""
        if isinstance(obj, str):
            return self.redact_text(obj)
        if isinstance(obj, dict):
            return {k: self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.redact_obj(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_obj(v) for v in obj)
        return obj


def redact_text(text: str) -> str:
    """One-off redaction with a fresh placeholder numbering (ingestion keeps one Redactor per run)."""
    return Redactor().redact_text(text)
