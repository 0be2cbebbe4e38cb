"""Broad English word classes shared by the prose rules (written from general usage, not from a corpus).

Each class is a regex source without capture groups, so rules can combine them with structure: a
sanction needs a person as its target, a guarantee needs a model as its subject, a legal concept needs
to be asserted rather than routed to counsel. Inflections are spelled out or covered by `\\w*` stems.
"""

from __future__ import annotations

import re


def words(*items: str) -> str:
    """Alternation of phrases, longest first, with flexible inner whitespace."""
    alts = sorted({i.strip() for i in items if i.strip()}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts) + ")"


# --- personnel actions (aimed at a person, they are HR advice and blame) ----------------------------
PERSONNEL_ACTION = (
    r"(?:(?:formal|written|final|verbal|official)\s+warnings?|warning\s+letters?|"
    r"performance\s+(?:reviews?|evaluations?|appraisals?|records?|files?|improvement\s+plans?)"
    r"(?!\s+(?:dashboard|panel|metric|chart|report|of\s+the\s+(?:model|system|service)))|"
    r"personnel\s+(?:files?|records?|actions?)|\bdisciplin\w*|\breprimand\w*|\bcensur\w+|\badmonish\w*|"
    r"\bdemot\w+|\bprobation\w*|(?:put|place[ds]?|placing)\s+on\s+(?:notice|a\s+pip|probation)|"
    r"\bwrit(?:e|ten)\s+(?:him|her|them|[A-Z]\w+)?\s*up\b|\bdock\w*\s+(?:[\w'’]+\s+){0,2}(?:pay|bonus|wages?|salary)|"
    r"(?:withh[oe]ld\w*|claw\s*back|forfeit\w*)\s+(?:[\w'’]+\s+){0,2}(?:bonus\w*|equity|raise|promotion)|"
    r"(?:revok\w+|strip\w*|remov\w+|pull\w*|tak\w+\s+away)\s+(?:\w+['’]s\s+|his\s+|her\s+|their\s+)"
    r"(?:[\w-]+\s+){0,2}(?:access|rights|permissions?|privileges?|credentials|keys?)|"
    r"(?:removed|taken|kicked|banned|barred|pulled)\s+(?:off|from)\s+(?:the\s+)?(?:project|team|rotation|on-?call|roster)|"
    r"(?:report\w*|refer\w*)\s+(?:\w+\s+){0,2}to\s+(?:hr|human\s+resources)\b|\bhr\s+(?:should|must|needs?\s+to|will)\b|"
    r"(?:mov\w+|reassign\w*|transferr?\w*)\s+(?:him|her|them|[A-Z]\w+)\s+(?:to|off|out\s+of)\s+(?:a\s+|the\s+)?"
    r"(?:non-?production|different|another|other|junior|less\s+critical)|"
    r"(?:end|terminat\w+|cancel\w*)\s+(?:the\s+)?(?:[\w-]+\s+)?(?:contractor|vendor|employee|annotator|labell?er|freelancer)['’]s\s+"
    r"(?:engagement|contract|employment)|\bdock\w*\s+(?:[\w'’]+\s+){0,3}(?:invoice|fee|payment)|"
    r"\b(?:sue|prosecute|press\s+charges\s+against)\s+(?:him|her|them|[A-Z]\w+)|"
    r"\bconsequences\s+for\s+(?:him|her|them|[A-Z]\w+)|\bon\s+(?:his|her|their)\s+watch\b)"
)
# Dismissal verbs count only with a person as object or passive subject (a job can be "terminated").
DISMISSAL = r"(?:fired|fire|sacked|sack|terminated|terminate|dismissed|dismiss|suspended|suspend|demoted|demote|let\s+go)"

# --- legal concepts and instruments ------------------------------------------------------------------
REGULATOR = (
    r"(?:FDA|FTC|SEC|FCC|FCA|PRA|ICO|CNIL|EDPB|EDPS|DPC|BaFin|AMF|CONSOB|OCC|FINRA|CFPB|HHS|OCR|NHTSA|"
    r"OSHA|EEOC|EMA|MHRA|TGA|PMDA|NMPA|CAC|MAS|RBI|SEBI|ASIC|APRA|ACCC|OAIC|CMA|Ofcom|Ofgem|ANPD|CE[- ]mark\w*|"
    r"UL|FAA|EASA|DOJ|attorneys?\s+general|data\s+protection\s+authorit\w+|supervisory\s+authorit\w+)"
)
LEGAL_CONCEPT = (
    r"(?:duty\s+of\s+care|standard\s+of\s+care|binding\s+(?:obligation|contract|agreement|commitment|offer|precedent)s?|"
    r"legally\s+binding|precedent|case\s+law|common\s+law|tort\w*|negligen\w+\s+(?:claim|suit|per\s+se)|"
    r"(?:copyright|trademark|patent)\s+(?:attaches|subsists|applies|protection|infringement|holder)|"
    r"no\s+copyright|public\s+domain|fair\s+(?:use|dealing)|work\s+for\s+hire|moral\s+rights|"
    r"(?:in|into)\s+breach\b(?!\s+of\s+(?:the\s+)?(?:slo|budget|threshold|target|error\s+budget))|"
    r"breach\s+of\s+(?:contract|duty|warranty|confidence|trust|fiduciary)|fiduciary|indemnif\w+|indemnit\w+|"
    r"warrant(?:y|ies)\s+(?:claim|breach)|estoppel|enforceable|unenforceable|null\s+and\s+void|void\s+contract|"
    r"statutory|punitive\s+damages|class[- ]action|plaintiffs?|defendants?|litigat\w+|actionable\s+(?:claim|harm)|"
    r"consumer\s+protection\s+law|unfair\s+(?:practice|terms?)|misrepresentation|deceptive\s+(?:practice|advertising)|"
    r"lawful\s+basis|legitimate\s+interest|data\s+controller|data\s+processor|joint\s+controllers?|"
    r"notifiable\s+breach|(?:mandatory|statutory)\s+(?:notification|disclosure|reporting)|safe\s+harbou?r|"
    r"medical\s+device\s+(?:regulation|class)|class\s+(?:i{1,3}|[123])\s+(?:medical\s+)?device|510\(k\)|"
    r"export\s+licen[cs]e|sanctions?\s+(?:law|regime|violation)|anti-?trust|competition\s+law)"
)
# Verbs and predicates that state a legal conclusion about a concept.
LEGAL_VERDICT = (
    r"(?:meets?|meeting|satisf(?:y|ies|ied)|fulfil+s?|complies|comply|complied|violat\w*|breach\w*|"
    r"infring\w*|contraven\w*|exempt\w*|(?:is|are|was|were)\s+(?:not\s+)?(?:covered|permitted|allowed|required|"
    r"obligated|entitled)|creat\w+|constitut\w+|attaches|triggers?|amounts?\s+to|qualif\w+\s+as|falls?\s+under)"
)

# --- judgement of people ------------------------------------------------------------------------------
# Care/diligence words that judge a person when negated ("weren't careful", "not thorough").
DILIGENCE_ADJ = (
    r"(?:careful|attentive|diligent|thorough|responsible|professional|competent|focused|awake|alert|"
    r"paying\s+attention|serious|rigorous|conscientious|on\s+the\s+ball|up\s+to\s+the\s+job)"
)
# Judgement adjectives / nouns that only describe people.
JUDGEMENT_WORD = (
    r"(?:careless\w*|negligen\w+|sloppy|sloppiness|lazy|laziness|incompeten\w+|inept\w*|reckless\w*|"
    r"irresponsib\w+|complacen\w+|inattentive|inattention|clueless|lax(?:ity)?|slapdash|half-?assed|"
    r"cavalier|cowboy\w*|yolo|rogue|unprofessional\w*|amateur(?:ish)?|boneheaded|idiot\w*|stupid\w*|"
    r"dumb|moron\w*|asleep\s+at\s+the\s+wheel|dropped\s+the\s+ball|rookie\s+mistake|fat[- ]?finger\w*|"
    r"rubber[- ]?stamp\w*|cut\s+corners|cutting\s+corners|corner[- ]cutting|shortcut\s+culture|"
    r"(?:human|operator|user|pilot|manual)\s+errors?|blunder\w*|screw[- ]?up|messed\s+up|screwed\s+up|"
    r"botched|bungl\w+|goof\w*|oversight\s+by|(?:his|her|their)\s+(?:fault|mistake|blunder|negligence|carelessness))"
)
# Verbs of omission, neglect or fault (past and present forms).
FAULT_VERB = (
    r"(?:forg[eo]t\w*|neglect\w*|ignor\w+|skipp\w+|skips|bypass\w*|overlook\w*|overlooked|miss(?:ed|es)|"
    r"disregard\w*|sat\s+on|sitting\s+on|slipp?\w*\s+(?:in|through)|snuck|sneak\w*|botch\w*|fumbl\w+|"
    r"mishandl\w+|misconfigur\w+|mislabel\w*|fat-fingered|rushed|broke|broken|dumped|dumping|"
    r"let\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+){0,5}?\s+(?:back\s+up|pile\s+up|slide|rot|run|sit|lapse|expire|fail|loop|restart)|"
    r"chose\s+not\s+to|decided\s+not\s+to|refused\s+to|couldn['’]?t\s+be\s+bothered|"
    r"didn['’]?t\s+(?:care|bother|think)|did\s+not\s+(?:care|bother|think)|(?:never|not|nobody|no\s+one)\s+thought\s+to)"
)
# Markers of recurrence or sarcasm that turn a neutral past action into an accusation.
RECURRENCE = (
    r"(?:\bas\s+usual\b|\bonce\s+again\b|\byet\s+again\b|,\s*again\b|(?<!ever )(?<!happen )\bagain\s*(?:[,.!?]|$)|\bof\s+course\b|"
    r"\bclassic\b|\btypical\b|\bunsurprisingly\b|\bpredictably\b|\bsame\s+as\s+(?:last|always|usual)\b|"
    r"\bkeeps?\s+\w+ing\b|\banother\s+one\s+of\b|\bas\s+always\b|\bfor\s+the\s+\w+\s+time\b|"
    r"\bas\s+(?:they|he|she)\s+(?:tend|tends|always|usually)\s+(?:to\s+)?do\b|\blove\s+that\s+for\s+us\b|"
    r"\bslow\s+clap\b|\bthanks\s+a\s+lot\b|🙄|🤦|🙃|😒|/s\b)"
)
# Disclaimers that announce blame: "not pointing fingers, but ...", "no offence, but ...".
DISCLAIMER_BUT = (
    r"(?:not\s+(?:to\s+)?(?:point(?:ing)?\s+fingers|blam\w+\s+any\w*|throw\w*\s+\w+\s+under\s+the\s+bus)|"
    r"no\s+offen[cs]e|with\s+(?:all\s+)?due\s+respect|i['’]?m\s+just\s+saying|just\s+saying|"
    r"not\s+saying\s+it\s+was)[^.;]{0,20}?,?\s+but\b"
)

# --- absolute claims about behaviour
# ("regardless of" / "no matter what" are left out: they usually describe a deterministic safeguard
# "rejected no matter what the agent requests", not a claim about the model.) ----------------------------------------------------------------
ABSOLUTE_MANNER = (
    r"(?:perfectly|flawlessly|faultlessly|infallibly|unfailingly|without\s+(?:fail|exception|error|mistakes?)|"
    r"in\s+(?:all|every)\s+(?:cases?|situations?|conditions?|scenarios?|languages?)|under\s+all\s+conditions|"
    r"100\s*%\s+of\s+the\s+time|each\s+and\s+every|"
    r"for\s+good|permanently|once\s+and\s+for\s+all|from\s+now\s+on|going\s+forward)"
)
# "<x>-free" and "no risk of": guarantees of absence.
ABSENCE_CLAIM = (
    r"(?:(?:hallucination|error|bias|toxicity|jailbreak|leak|bug|failure|risk|mistake)s?-free|"
    r"(?:no|zero)\s+(?:risk|chance|possibility|way)\s+(?:of|that)|can\s+not\s+happen\s+again|"
    r"will\s+not\s+happen\s+again|(?:is|are)\s+(?:now\s+)?(?:fully\s+)?(?:solved|fixed|cured|immune)\s+for\s+good)"
)
