"""Who counts as a person in the evidence: the names the people rules (no-blame, psych-safety,
repair) keep out of a report unless the team opted in to names.

A person is someone the evidence records acting: a chat user who is not a bot, a commit author,
an agent on a page. Redaction placeholders and names that are also service names are not people.
"""

from __future__ import annotations

import re

from tools.models import EvidenceKind
from tools.store.reader import EvidenceReader

# Words that make an owner or commander a role rather than a person ("serving on-call lead").
ROLE_WORDS = re.compile(
    r"\b(?:lead|team|owner|on-?call|manager|engineer(?:ing)?|sre|platform|rotation|group|squad|captain|"
    r"commander|director|admin|program|office|desk|council|committee|steward|maintainers?|reviewer|"
    r"architect|analyst|scientist|ops|operations|security|release|infra(?:structure)?|product|qa)\b",
    re.IGNORECASE)

# (kind of record, attrs key naming the person, attrs flag that says it was no person)
_PERSON_ATTRS: tuple[tuple[EvidenceKind, str, str | None], ...] = (
    (EvidenceKind.CHAT, "user", "bot"),
    (EvidenceKind.COMMIT, "author", None),
    (EvidenceKind.PAGE, "agent", None),
)


def people(evidence: EvidenceReader) -> list[str]:
    """Names of people as the evidence records them, sorted."""
    named: set[str] = set()
    for kind, key, unless in _PERSON_ATTRS:
        named.update(v for v in evidence.attr_values(kind, key, unless=unless) if isinstance(v, str))
    services = {s.lower() for s in evidence.services()}
    return sorted(n for n in named if len(n) >= 2 and not n.startswith("[REDACTED") and n.lower() not in services)
