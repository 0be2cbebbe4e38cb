"""Word lists that classify what a record says (mitigation, decision, user report, ...).

Kept in one place so timeline, detection and analysis agree on what a "rollback" looks like; the
words themselves are data in agent/vocabulary/records.yaml.
"""

from __future__ import annotations

import re

from agent.vocabulary import vocabulary

_SAYS = vocabulary("records")
MITIGATION = _SAYS.mitigation
RECOVERY = _SAYS.recovery
RESOLUTION = _SAYS.resolution
DECISION = _SAYS.decision
USER_REPORT = _SAYS.user_report
OBSERVATION = _SAYS.observation
TROUBLE = _SAYS.trouble
DEPLOY = _SAYS.deploy
CANARY = _SAYS.canary

# Words that carry no signal when matching change descriptions to symptoms.
STOPWORDS = frozenset(
    """a an and are as at be by for from has have in into is it its of on or that the this to was
    were will with we our you your not no yes ok error errors failed fail warning info debug
    request requests service services new old fix fixes update updates add adds added remove
    removed change changes changed use using used set sets minor bump chore docs readme test tests
    true false none null http https com www json yaml py go md txt log logs""".split()
)

WORD = re.compile(r"[a-z][a-z0-9_]{2,}")


def terms(text: str) -> set[str]:
    """Lower-case content words of `text`, split on path and identifier separators too."""
    flat = re.sub(r"[/._\-=:]+", " ", text.lower())
    return {w for w in WORD.findall(flat) if w not in STOPWORDS}
