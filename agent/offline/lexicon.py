"""Word lists that classify what a record says (mitigation, decision, user report, ...).

Kept in one place so timeline, detection and analysis agree on what a "rollback" looks like.
"""

from __future__ import annotations

import re

MITIGATION = re.compile(
    r"\b(roll(?:ing|ed)?[ -]?back|rollback|revert(?:ed|ing)?|restart(?:ed|ing)?|failover|fail(?:ed)? over|"
    r"scal(?:ed|ing) (?:up|out|down)|disabl(?:e|ed|ing)|kill[- ]switch|feature flag (?:off|disabled)|"
    r"drain(?:ed|ing)?|pin(?:ned|ning)? (?:back|to|resume|the)|re-?enabl(?:e|ed|ing)|resum(?:e|ed|ing) from|downgrad(?:e|ed|ing)|re-?enabled? the|paused?|"
    r"halt(?:ed|ing)?|mitigat(?:e|ed|ion)|hotfix|block(?:ed|ing)?|cancel(?:led|ed)? the rollout|session killed|kill(?:ed)? (?:the )?(?:agent|session|job|run)|rate[- ]limit(?:ed|ing)?)\b",
    re.I,
)
RECOVERY = re.compile(
    r"\b(recover(?:ed|ing|y)|back to normal|(?:back |returned )?(?:to|at) baseline|normal again|healthy again|"
    r"stabili[sz](?:ed|ing)|error rate (?:is )?(?:back|normal)|looks good now|green again)\b",
    re.I,
)
RESOLUTION = re.compile(r"\b(resolved|all clear|closing (?:the )?incident|incident closed)\b", re.I)
DECISION = re.compile(
    r"\b(decid(?:e|ed|ing)|decision|let'?s|we will|we'll|going to|agreed|declar(?:e|ed|ing)|"
    r"incident commander|taking ic|i'?m ic|escalat(?:e|ed|ing)|paging|page (?:the|in))\b",
    re.I,
)
USER_REPORT = re.compile(
    r"\b(users?|customers?|clients?|support (?:ticket|team)|tickets?|complain\w*|reports? from)\b.{0,60}"
    r"\b(report\w*|seeing|getting|complain\w*|say|says|said|saying|see|noticed|wrong|stale|errors?|"
    r"asking|confused|unhappy|angry|frustrated)\b"
    r"|\b(support ticket|customer report|user report)s?\b",
    re.I,
)
OBSERVATION = re.compile(
    r"\b(suspicious|looks? (?:wrong|off|odd|weird|broken|too good)|too good to be true|"
    r"something(?:'s| is) (?:off|wrong)|does(?:n't| not) look right|not right|"
    r"(?:i'?m |we'?re )?seeing (?:errors|failures|a spike|a drop|elevated|high|lots)|noticed|"
    r"anomal(?:y|ous)|unexpected(?:ly)?|regress(?:ion|ed)|investigating|looking into)\b",
    re.I,
)
TROUBLE = re.compile(
    r"\b(timed? ?out|failed|failure|error|crash\w*|oom|out of memory|spike\w*|degrad\w*|dropp?ed|"
    r"stale|wrong|broken|corrupt\w*|harmful|leak\w*|refus\w*|loop\w*|deleted)\b",
    re.I,
)
DEPLOY = re.compile(
    r"\b(deploy(?:ed|ing|ment)?|roll(?:ed|ing)? ?out|rollout|upgrad(?:e|ed|ing)|releas(?:e|ed|ing)|"
    r"promot(?:e|ed|ing)|ship(?:ped)?|applied config|config (?:change|push)|reindex(?:ed|ing)?)\b",
    re.I,
)
CANARY = re.compile(r"\bcanar(?:y|ies)\b", re.I)

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
