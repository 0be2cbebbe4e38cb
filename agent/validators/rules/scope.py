"""scope: no legal opinions, compliance verdicts or HR advice (hard rule 6).

Mapping a finding to a framework ("maps to NIST AI RMF MEASURE 2.6") and handing a question to Legal
are in scope; deciding that something "violates GDPR", that we are "liable", or that a person should be
disciplined is not. Legal patterns need a legal object (a law, regulation, contract) next to a verdict
word, so "violated the content policy" or "the alert kept firing" pass.

Besides verdict words next to a law, three general structures are legal conclusions: a law as the
subject of a deontic verb ("HIPAA required ...", "the Act prohibits ..."), a compliance/certification
status claimed for us or our system ("EU AI Act compliant", "ISO 42001 certified", "meets the
requirements of Article 15"), and a determination of a legal concept (lawful/legal as a predicate,
"no right to erasure", "is not personal data", "duty to notify", "shielded by our ToS", negligence).
Quoted and `code` spans (an error string "illegal memory access") are mentions and are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from agent.validators.base import Hit
from agent.validators.learned import combine
from agent.validators.features import extract
from agent.validators.rules._prose import prose_rule
from agent.validators.lexicon import DISMISSAL, LEGAL_CONCEPT, LEGAL_VERDICT, PERSONNEL_ACTION, REGULATOR
from agent.validators.sentence import name_like, prepare
from agent.validators.subjects import PERSON_NOUNS
from agent.vocabulary import vocabulary

_WORDS = vocabulary("scope")

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
    r"[A-Z][\w-]+(?: [A-Z][\w-]+)* Act\b|DMA|DSA|ToS|TOS|MSA|EULA|LGPD|PIPEDA|PIPL|export[- ]control\w*|ECOA|FCRA|ADA|GLBA|BIPA|TCPA|DMCA|CFAA|HITECH|NIS ?2|DORA|PSD2|MiFID(?: II)?|"
    r"CAN-SPAM|Equal Credit Opportunity|Fair Housing|fair[- ]lending|anti-discrimination law)"
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
    # A law as the agent of an obligation or prohibition: the writer is interpreting the law.
    re.compile(rf"\b(?:broke|breaks|broken|breaking)\b[^.;]{{0,30}}{_LAW}", re.IGNORECASE),
    re.compile(rf"{_LAW}\s+(?:\w+\s+)?(?:shields?|protects?|indemnif\w+|required|requires|mandate[sd]?|prohibit(?:s|ed)?|forb(?:ids|ade)|"
               r"permit(?:s|ted)?|allow(?:s|ed)?|obliges|obliged)\b", re.IGNORECASE),
    # Compliance or certification status claimed as a fact.
    re.compile(rf"{_LAW}[^.;]{{0,12}}\b(?:compliant|certified|conformant|approved)\b", re.IGNORECASE),
    re.compile(rf"\bmee?ts? (?:all )?(?:the )?(?:[\w-]+ ){{0,3}}requirements? (?:of|under|in) {_LAW}", re.IGNORECASE),
    # Legal concepts decided in the sentence.
    re.compile(r"\b(?:is|are|was|were|be|been|remain\w*)\s+(?:not\s+|perfectly\s+|fully\s+)?(?:legal|lawful|permissible)\b",
               re.IGNORECASE),
    re.compile(r"\b(?:no|a|any) right to (?:erasure|access|rectification|object|be forgotten|an explanation|compensation)\b|"
               r"\b(?:is|are|is not|are not|isn't|aren't)\s+(?:\w+\s+)?personal data\b|\bduty to (?:notify|report|disclose|warn)\b|"
               r"\b(?:shielded|protected|covered|indemnified) by (?:our |the )?(?:ToS|terms|contract|EULA|disclaimer|indemnit\w+)\b|"
               r"\bnegligen\w+ under\b|\b(?:sue|sued|suing)\b|\bcaps? damages\b|\bexport[- ]control violation\b|"
               r"\b(?:remain|are|is|stay|stays)\s+(?:fully\s+|still\s+)?compliant\b|"
               r"\bconstitutes? (?:gross )?(?:negligence|a breach|fraud|discrimination)\b",
               re.IGNORECASE),
    re.compile(r"\b(?:no|an?|any) (?:legal )?obligation to (?:tell|notify|inform|disclose|report|warn)\b|\bout of compliance\b|"
               r"\bwaiv\w+ (?:any |all |their |its |our )?(?:claims?|rights?)\b|\bcertified for (?:PHI|PII|PCI|FedRAMP|HIPAA|[\w-]+ workloads)\b",
               re.IGNORECASE),
    # A general legal concept asserted (duty of care, binding obligation, copyright attaches, in breach).
    re.compile(rf"\b{LEGAL_CONCEPT}", re.IGNORECASE),
    # A regulator's requirements declared met or violated ("meets FDA requirements", "violates FTC rules").
    re.compile(rf"\b{LEGAL_VERDICT}\b[^.;]{{0,40}}\b{REGULATOR}\b|\b{REGULATOR}\b[^.;]{{0,20}}\b(?:requirements?|rules?|"
               r"regulations?|guidance|approval|clearance)\b[^.;]{0,20}\b(?:met|satisfied|violated|breached|apply|do not apply)\b",
               re.IGNORECASE),
]
_PERSONISH = re.compile(
    r"\b(?:" + "|".join(sorted(PERSON_NOUNS)) + r")(?:['’]s)?\b|@\w+|\bwhoever\b", re.IGNORECASE
)


# Any personnel action (warnings, reviews, revoked access, removal from a rota) aimed at a person.
_PERSONNEL = re.compile(PERSONNEL_ACTION, re.IGNORECASE)
_DISMISS_OBJECT = re.compile(
    rf"\b{DISMISSAL}\s+(?:him|her|them|(?-i:[A-Z][a-z]+\b)|the\s+(?:[\w-]+\s+)?(?:"
    + "|".join(sorted(PERSON_NOUNS)) + r")\b)", re.IGNORECASE)


def _names_a_person(text: str) -> bool:
    if _PERSONISH.search(text):
        return True
    for m in _WORDS.person_target.finditer(text):
        w = m.group(0)
        if not w.lower().endswith(("'s", "’s")) or name_like(w) or w[:-2].lower() in PERSON_NOUNS:
            return True
    return any(name_like(w) for w in re.findall(r"[\w'’]+", text)[1:])


def hr_match(text: str) -> str | None:
    """The HR/personnel phrase in `text`, if any (shared with no-blame: a sanction aimed at a person)."""
    m = _WORDS.hr_strong.search(text) or _WORDS.hr_abbreviation.search(text)
    if m is not None:
        return m.group(0)
    if _WORDS.hr_meta.search(text):
        return None
    m2 = _DISMISS_OBJECT.search(text)
    if m2 and not looks_system_object(m2.group(0)):
        return m2.group(0)
    m2 = _WORDS.hr_needs_person.search(text) or _PERSONNEL.search(text)
    if m2 and _names_a_person(text):
        return m2.group(0)
    return None


def looks_system_object(phrase: str) -> bool:
    """"terminated Triton" / "killed Redis": a capitalised technology, not a person."""
    last = phrase.split()[-1]
    return last[:1].isupper() and not name_like(last)


def detect(text: str, section: str = "analysis", names: Collection[str] = ()) -> list[Hit]:
    """Hand rules combined with the learned layer (agent/validators/learned.py)."""
    hr = bool({"personnel_action", "dismissal_verb", "hr_word"} & extract(text, section, tuple(names)))
    return combine(RULE_ID, detect_rules(text, section), text, section, tuple(names),
                   HR_SUGGESTION if hr else LEGAL_SUGGESTION)


def detect_rules(text: str, section: str = "analysis") -> list[Hit]:
    text = prepare(text)
    hr = hr_match(text)
    if hr is not None:
        return [Hit(RULE_ID, hr, f"HR/personnel advice is out of scope ('{hr}').", HR_SUGGESTION)]
    if _WORDS.deferral.search(text):
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


RULE = prose_rule(
    RULE_ID, detect, "No legal opinions, compliance verdicts or HR advice; framework mapping is fine.",
    with_names=True,
)
