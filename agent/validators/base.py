"""Shared types of the rule engine: the evidence protocol, the per-run context and the registry entry."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from agent.model import Report, ValidationFinding
from agent.validators.markdown import Document

SeverityLevel = Literal["error", "warning"]


@runtime_checkable
class EvidenceLookup(Protocol):
    """What the `grounded` rule needs from an evidence store (tools.store.reader.EvidenceReader has all three)."""

    def exists(self, evidence_id: str) -> bool: ...

    def contains_text(self, needle: str) -> bool: ...

    def has_timestamp(self, dt: datetime, tolerance_s: float = 0.0) -> bool: ...


@dataclass
class Context:
    """Everything a rule may look at. Rules must not mutate it."""

    doc: Document
    evidence: EvidenceLookup | None = None
    report: Report | None = None
    names: Collection[str] = ()
    names_opt_in: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    check: Callable[[Context], list[ValidationFinding]]
    severity: SeverityLevel  # the rule's default (some findings of a rule may be warnings)
    description: str
    needs_evidence: bool = False


@dataclass
class Hit:
    """A sentence-level detection, before it is placed in a document."""

    rule: str
    match: str
    message: str
    suggestion: str
    severity: SeverityLevel = "error"
    extra: dict[str, str] = field(default_factory=dict)


def finding(
    rule: str,
    severity: SeverityLevel,
    message: str,
    *,
    line: int | None = None,
    section: str = "",
    text: str = "",
    suggestion: str = "",
) -> ValidationFinding:
    return ValidationFinding(
        rule=rule,
        severity=severity,
        line=line,
        section=section,
        text=text[:400],
        message=message,
        suggestion=suggestion,
    )
