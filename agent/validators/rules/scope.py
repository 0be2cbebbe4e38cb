"""scope: no legal opinions, compliance verdicts or HR advice (hard rule 6).

Mapping a finding to a framework ("maps to NIST AI RMF MEASURE 2.6") and handing a question to Legal
are in scope; deciding that something "violates GDPR", that we are "liable", or that a person should be
disciplined is not. Legal patterns need a legal object (a law, regulation, contract) next to a verdict
word, so "violated the content policy" or "the alert kept firing" pass.
"""

from __future__ import annotations

import re

from agent.report import ValidationFinding
from agent.validators.base import Context, Hit, Rule
from agent.validators.rules._prose import check_prose
from agent.validators.subjects import PERSON_NOUNS

RULE_ID = "scope"
LEGAL_SUGGESTION = (
    "Record the facts and route the question to Legal/Privacy/Compliance (e.g. 'Escalated to Legal for a "
    "determination on notification obligations'); framework mapping without a verdict is fine."
)
HR_SUGGESTION = (
    "Remove personnel recommendations; postmortems must not be usable punitively. Describe the systemic "
    "change (process, control, tooling) instead."
)

_LAW = (
    r"(?:GDPR|CCPA|CPRA|HIPAA|COPPA|FERPA|PCI[- ]DSS|SOX|SOC ?2|ISO(?:/IEC)? ?\d{4,5}|(?:EU )?AI Act|"
    r"Article \d+|\blaws?\b|regulations?|statutes?|contracts?|contractual|SLA|terms of service|copyright|"
    r"(?:data processing |licen[cs]e |service |vendor )?agreements?|DPA|licen[cs]es?|"
    r"[A-Z][\w-]+(?: [A-Z][\w-]+)* Act\b|DMA|DSA)"
)
_DEFERRAL = re.compile(
    r"\bwhether\b|\bdetermin\w+|\b(?:for|to|with) (?:the )?(?:legal|privacy|compliance)\b|\bescalat\w+ to\b|"
    r"\bnot interpret\b|\bno legal determination\b|\bmapping only\b|\bmaps? to\b|\bcorresponds? to\b|\bout of scope\b|"
    r"\bassess\w*\b|\bwill decide\b|\bopen item\b",
    re.IGNORECASE,
)
_LEGAL: list[re.Pattern[str]] = [
    re.compile(r"\b(?:liable|liability|liabilities)\b", re.IGNORECASE),
    re.compile(rf"\b(?:violat\w*|breach\w*|contraven\w*|infring\w*|non-?complian\w*)\b[^.;]{{0,60}}{_LAW}", re.IGNORECASE),
    re.compile(rf"{_LAW}[^.;]{{0,40}}\b(?:violat\w*|breach\w*)\b", re.IGNORECASE),
    re.compile(rf"\b(?:compliant|certified|conform\w*)\b[^.;]{{0,30}}\b(?:with|to|under)\b[^.;]{{0,10}}{_LAW}", re.IGNORECASE),
    re.compile(r"\b(?:unlawful|illegal|fair use|defamat\w+|lawsuits?|legally|legal issue|legal exposure|"
               r"illegal discrimination)\b", re.IGNORECASE),
    re.compile(r"\b(?:claim|liable for|pay|owe \w+)\s+(?:\w+\s)?damages\b|\bowe (?:them|\w+) (?:\w+ )?credits\b", re.IGNORECASE),
    re.compile(r"\blegal (?:obligation|requirement|duty|duties)\w*", re.IGNORECASE),
    re.compile(r"\b(?:required|obligated|obliged)\s+to\s+(?:notify|report|disclose|inform)\b", re.IGNORECASE),
    re.compile(r"\b(?:not )?(?:a )?reportable\b|\bregulators? need not\b", re.IGNORECASE),
    re.compile(rf"\bunder (?:the )?{_LAW}", re.IGNORECASE),
]
_HR_STRONG = re.compile(
    r"\bdisciplin\w+|\bwritten warning\b|\bperformance improvement plan\b|\bPIP\b|\breprimand\w*|"
    r"\bdemot\w+|\bprobation\b|\bdock\w* (?:[\w'’]+ ){1,2}(?:bonus|pay)\b|\b(?:good|right|poor) fit for the (?:team|role)\b|"
    r"\bterminat\w+ (?:the |their |his |her )?(?:contractor|employee|engineer)\w*['’]?s? (?:engagement|contract|employment)\b|"
    r"\b(?:should|must) be (?:fired|let go|dismissed|terminated)\b|\breported to HR\b|"
    r"\b(?:removed|taken off|banned) from (?:the )?(?:project|team|rotation|on-call)\b",
    re.IGNORECASE,
)
_HR_NEEDS_PERSON = re.compile(
    r"\bperformance reviews?\b(?! dashboard)|\bbonus(?:es)?\b|"
    r"\b(?:be|been|get|getting|got) (?:fired|terminated|dismissed|let go)\b|\bfire (?:him|her|them|the \w+)\b",
    re.IGNORECASE,
)
_PERSONISH = re.compile(
    r"\b(?:" + "|".join(sorted(PERSON_NOUNS)) + r")(?:['’]s)?\b|@\w+|\bwhoever\b", re.IGNORECASE
)


def hr_match(text: str) -> str | None:
    """The HR/personnel phrase in `text`, if any (shared with no-blame: a sanction aimed at a person)."""
    m = _HR_STRONG.search(text)
    if m is not None:
        return m.group(0)
    m2 = _HR_NEEDS_PERSON.search(text)
    if m2 and _PERSONISH.search(text):
        return m2.group(0)
    return None


def detect(text: str, section: str = "analysis") -> list[Hit]:
    hr = hr_match(text)
    if hr is not None:
        return [Hit(RULE_ID, hr, f"HR/personnel advice is out of scope ('{hr}').", HR_SUGGESTION)]
    if _DEFERRAL.search(text):
        return []
    for pat in _LEGAL:
        lm = pat.search(text)
        if lm:
            return [
                Hit(
                    RULE_ID,
                    lm.group(0),
                    f"Legal/compliance verdict is out of scope ('{lm.group(0)}').",
                    LEGAL_SUGGESTION,
                )
            ]
    return []


def check(ctx: Context) -> list[ValidationFinding]:
    return check_prose(ctx, detect)


RULE = Rule(
    id=RULE_ID,
    check=check,
    severity="error",
    description="No legal opinions, compliance verdicts or HR advice; framework mapping is fine.",
)
