"""Word-independent sentence features for the learned layer of the prose rules.

Every feature abstracts away the particular words: it says "a person is the subject", "an omission verb",
"a modal perfect with *could*", "a law is named", "a measured rate", never "the word X". The word classes
come from `lexicon.py` and the shared sentence helpers (written from general English usage), so a model
trained on one author's sentences sees the same features in another author's phrasing.

`extract(text, section, names)` returns the names of the binary features that fire (a sparse set);
`rule_features` adds the hand rules' own verdicts, which `learned.py` feeds in as features too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.validators.lexicon import (
    ABSENCE_CLAIM,
    ABSOLUTE_MANNER,
    DILIGENCE_ADJ,
    DISCLAIMER_BUT,
    DISMISSAL,
    FAULT_VERB,
    JUDGEMENT_WORD,
    LEGAL_CONCEPT,
    PERSONNEL_ACTION,
    RECURRENCE,
    REGULATOR,
)
from agent.validators.sentence import PRONOUNS, mentions_person, name_like, prepare
from agent.validators.subjects import PERSON_NOUNS, SYSTEM_NOUNS, subject_before
from agent.vocabulary import vocabulary

_WORDS = vocabulary("features")

_I = re.IGNORECASE


def _rx(src: str) -> re.Pattern[str]:
    return re.compile(src, _I)


# --- people -------------------------------------------------------------------------------------------
_PRONOUN = _rx(r"\b(?:" + "|".join(re.escape(p) for p in sorted(PRONOUNS, key=len, reverse=True)) + r"|his|hers)\b")
_ROLE = _rx(r"\b(?:" + "|".join(re.escape(p) for p in sorted(PERSON_NOUNS - {"human", "humans"}, key=len, reverse=True))
            + r"|guy|guys|folks|deployer|new hire|intern)s?\b")
_TEAM_PEOPLE = _rx(r"\b(?:team|teams|squad|crew|department|org|group|folks)\b(?!\s+(?:channel|dashboard|wiki|page))")
_WE = _rx(r"\b(?:we|us|our)\b")
_FAILED_TO = _rx(r"\b(?:failed|fails|fail|failing)\s+to\b")
_FAULT = _rx(rf"\b{FAULT_VERB}|\b(?:failed|fails)\s+to\b|\b(?:mistakenly|accidentally|inadvertently|carelessly)\b")
_DID_NOT = _rx(r"\b(?:did|does|do|was|were)\s+not\s+(?:even\s+)?(?:check|test|verify|read|look|review|follow|notice|"
               r"escalate|update|run|ask|tell|wait|confirm|bother|care|respond|acknowledge|document|flag)\b|"
               r"\bnever\s+(?:checked|tested|verified|read|looked|reviewed|followed|noticed|escalated|updated|ran|"
               r"asked|told|waited|confirmed|responded|acknowledged|documented|flagged)\b")
_SUPPOSED = _rx(r"\b(?:was|were|is|are)\s+supposed\s+to\b|\bwas\s+(?:meant|expected)\s+to\b|\bhad\s+one\s+job\b")
_NOT_DILIGENT = _rx(rf"\b(?:not|never|n't|hardly|barely)\s+(?:\w+\s+)?(?:being\s+)?{DILIGENCE_ADJ}\b|\bun(?:professional|focused)\b")
_JUDGEMENT = _rx(rf"\b{JUDGEMENT_WORD}\b")
_RECUR = re.compile(RECURRENCE, _I | re.MULTILINE)
_DISCLAIM = _rx(DISCLAIMER_BUT)
_BLAME_WORD = _rx(r"\b(?:blame\w*|fault|culprit|responsible\s+for|accountable|on\s+(?:his|her|their)\s+(?:head|watch)|"
                  r"owns?\s+this\s+(?:one|mess)|(?:his|her|their)\s+(?:call|doing|decision))\b")
_BLAME_META = _rx(r"\bblameless\b|\b(?:no|not|without|rather\s+than|instead\s+of)\b[^.;]{0,30}\bblam")
_CLEFT = _rx(r"\bit\s+(?:was|is|'s)\s+(?:\w+\s+){0,2}(?:who|that)\b|\b(?:the\s+one|the\s+person)\s+who\b|"
             r"\b(?:it|this)\s+(?:is|was|'s)\s+(?:all\s+)?on\s+\w+")
_POSSESSIVE_FAULT = _rx(r"\b(?:\w+'s|his|her|their)\s+(?:mistake|oversight|negligence|fault|slip|lapse|error|screw-?up|"
                        r"carelessness|blunder|bad\s+call)\b")
_OMISSION_MANNER = _rx(r"\bwithout\s+(?:any\s+|a\s+|the\s+)?(?:review|approval|testing|tests?|checking|telling|asking|"
                       r"sign-?off|a\s+ticket|warning|notice|looking|reading|waiting)\b|\bstraight\s+(?:to|into)\s+"
                       r"(?:main|master|prod\w*)|\banyway\b|\bon\s+a\s+friday\b|\bat\s+\d\s*(?:am|pm)\b|\bsolo\b")
_SANCTION = _rx(PERSONNEL_ACTION)
_DISMISS = _rx(rf"\b{DISMISSAL}\b")
_RHETORICAL_WHO = _rx(r"^\W*who\b[^?]*\?")
_IRONY = _rx(r"🙄|🤦|🙃|😒|/s\b|\bslow\s+clap\b|\bthanks\s+a\s+lot\b|\bgreat\s+job\b|\bnice\s+(?:one|work)\b|\blol\b|\blmao\b")

# --- hindsight ------------------------------------------------------------------------------------------
_MODAL_PERFECT = _rx(r"\b(should|could|would|might|must|may)\s+(not\s+)?(?:\w+ly\s+|have\s+)?have\s+(?:\w+ly\s+)?(\w+)")
_STATUS = _rx(r"\s*(?:resolved|fixed|restored|mitigated|recovered|completed|processed)\b[^.;]{0,60}\bas\s+of\b")
_PAST_UNREAL = _rx(r"\bif\s+(?:\w+\s+){0,6}?had\s+(?:not\s+|just\s+|only\s+|simply\s+|even\s+)?\w+(?:ed|en|wn|ne|ght|ck|un|t)\b|"
                   r"\bif\s+(?:\w+\s+){0,6}?had\s+not\b|\bif\s+(?:it|this|that|there)\s+(?:were|was)\s+not\s+for\b|"
                   r"\bbut\s+for\b|\bhad\s+it\s+not\s+been\b")
_IF_ONLY = _rx(r"\bif\s+only\b|\bi\s+wish\b|\bwe\s+wish\b|\bwish(?:ed)?\s+(?:we|they|he|she|someone)\s+had\b")
_ALL_IT_TOOK = _rx(r"\ball\s+(?:it|that|we|they|he|she|anyone|someone)\s+(?:took|needed|would\s+have\s+(?:taken|needed)|"
                   r"had\s+to\s+do)\b|\bone\s+(?:\w+\s+){0,2}away\s+from\b|\b(?:the\s+)?(?:only\s+)?(?:thing|difference)\s+"
                   r"between\b|\bstood\s+between\b|\bjust\s+(?:one|a\s+single)\s+\w+\s+(?:would|could)\b")
_NON_EVENT = _rx(r"\bnon-?event\b|\bnever\s+(?:would\s+have\s+)?(?:happen(?:ed|s)?|occurred)\b|\bwould\s+not\s+(?:be|have\s+been)\s+"
                 r"(?:here|talking|writing|having)\b|\bnone\s+of\s+this\s+(?:would|will)\b|\bwe\s+would\s+(?:not|never)\b|"
                 r"\bwould\s+(?:have\s+)?(?:been\s+)?(?:fine|okay|ok|a\s+footnote|a\s+blip|nothing)\b|\bnothing\s+would\s+have\b")
_PREVENT = _rx(r"\b(?:prevent\w*|avert\w*|avoid\w*|caught|catch|stopp?\w*|saved|spared|blocked|averted|spotted|"
               r"noticed|flagged|contained)\b")
_HINDSIGHT = _rx(r"\b(?:obvious\w*|in\s+hindsight|in\s+retrospect|looking\s+back|red\s+flags?|warning\s+signs?|writing\s+on\s+"
                 r"the\s+wall|plain\s+as\s+day|clear\s+as\s+day|staring\s+(?:us|them|him|her)\s+in\s+the\s+face|"
                 r"should\s+have\s+known|knew\s+(?:better|full\s+well)|no[- ]brainer|easily\s+(?:avoid|prevent|caught)\w*|"
                 r"trivially|of\s+course|predictabl\w+|foreseeable|bound\s+to\s+happen|waiting\s+to\s+happen|"
                 r"clearly|plainly|simply)\b")
_COUNTERFACTUAL_RESULT = _rx(r"\bwould\s+have\s+(?:\w+\s+)?(?:\w+ed|caught|seen|known|been|found|gone|run|taken|shown|"
                             r"made|kept)\b|\bwould\s+(?:still\s+)?be\s+(?:up|running|fine|alive|live|serving)\b")

# --- forward-looking action shape ----------------------------------------------------------------------
_IMPERATIVE = _rx(r"^\W*(?:add|create|implement|introduce|build|write|set\s+up|enable|require|enforce|document|automate|"
                  r"move|migrate|replace|remove|deprecate|schedule|run|review|audit|track|monitor|alert|page|rotate|pin|"
                  r"gate|block|update|extend|define|assign|publish|train|retrain|evaluate|measure|investigate|"
                  r"expand|reduce|increase|limit|cap|make|ensure|instrument|backfill|raise|lower|adopt|draft|"
                  r"establish|switch|split|version|tag|label|test|validate|verify|check|escalate|share|hold|"
                  r"clarify|consolidate|standardi[sz]e|refactor|deploy|roll\s+out|pilot|prototype|own)\b")
_WE_WILL = _rx(r"\b(?:we|the\s+team|\w+\s+team)\s+(?:will|are\s+going\s+to|plan\s+to|intend\s+to|'ll)\b|\bwill\s+(?:add|"
               r"create|implement|introduce|build|write|enable|require|enforce|document|automate|own|track|review)\b")
_SHOULD_BASE = _rx(r"\b(?:should|must|needs?\s+to|ought\s+to)\s+(?!have\b|not\s+have\b)(?:not\s+)?(?:be\s+)?\w+")
_OWNER_DUE = _rx(r"\bowner\s*:|\bdue\s*:|\bby\s+(?:q[1-4]|end\s+of|next\s+\w+|\d{4}-\d\d)|\bp[0-3]\b|\[ ?\]|\bticket\b")

_LAW_WORD = _rx(r"\b(?:law|laws|legal|legally|illegal\w*|unlawful\w*|lawful\w*|statut\w+|regulat\w+|court|judge\s+would|"
                r"lawsuit|sue|sued|litigat\w+|contract\w*|agreement|terms\s+of\s+service|tos|sla|licen[cs]\w+|copyright\w*|"
                r"trademark|patent|privacy\s+law|jurisdiction\w*)\b")
_LEGAL_CONCEPT = _rx(LEGAL_CONCEPT)
_REGULATOR = re.compile(REGULATOR)
_OBLIGATION = _rx(r"\b(?:required|obligated|obliged|mandated|bound)\s+(?:by\s+\w+\s+)?to\b|\bobligations?\b|\bduty\s+to\b|"
                  r"\b(?:must|have\s+to|need\s+to)\s+(?:notify|report|disclose|inform)\s+(?:the\s+)?(?:regulator|authorit\w+|"
                  r"users|customers|data\s+subjects|individuals)\b|\b(?:need|needs)\s+not\s+(?:notify|report|disclose)\b|"
                  r"\b(?:no|not)\s+(?:\w+\s+)?(?:notifiable|reportable)\b|\b(?:notifiable|reportable)\b|\bliab\w+\b")
_COMPLIANCE = _rx(r"\b(?:non-?)?complian(?:t|ce)\b|\bin\s+breach\b|\bbreach(?:ed|es)?\s+(?:of\s+)?(?:the\s+)?(?:contract|law|"
                  r"terms|agreement|duty|regulation|sla|dpa)\b|\bviolat\w+\b|\binfring\w+\b|\bcontraven\w+\b|"
                  r"\b(?:is|are|was|were)\s+(?:not\s+)?(?:legal|lawful|permitted|allowed\s+under)\b|\bexempt\b|"
                  r"\bcovered\s+(?:by|under)\b|\bfair\s+use\b|\bpersonal\s+data\b|\bmeets?\s+(?:the\s+)?requirements?\b")
_REFERRAL = _rx(r"\b(?:counsel|legal\s+team|lawyers?|attorneys?|dpo|privacy\s+(?:team|office\w*|officer)|compliance\s+"
                r"(?:team|office\w*)|legal\s+review|legal\s+(?:to|for)\s+(?:review|decide|determine|assess)|hr\s+"
                r"(?:business\s+partner|team))\b[^.;]{0,60}?\b(?:to\s+(?:determine|decide|assess|review|advise)|will\s+"
                r"(?:determine|decide|assess|advise)|for\s+(?:a\s+)?(?:determination|review|assessment|advice))\b|"
                r"\b(?:escalat\w+|refer\w+|rout\w+|sent|forward\w*|flag\w*|rais\w+)\s+(?:\w+\s+){0,4}(?:to|with)\s+(?:the\s+)?"
                r"(?:legal|counsel|privacy|compliance|dpo)\b|\bwhether\b|\bno\s+(?:legal\s+)?(?:determination|conclusion|"
                r"opinion)\b|\bnot\s+(?:a\s+)?legal\s+(?:advice|opinion)\b")
_FRAMEWORK = _rx(r"\b(?:nist|ai\s+rmf|iso(?:/iec)?\s*\d{4,5}|soc\s*2|mitre|atlas|att&ck|owasp|llm\d\d|cwe-\d+|cis\s+controls?|"
                 r"taxonomy|category|control\s+[a-z]{0,3}[\d.]+)\b|\bmaps?\s+to\b|\bmapped\s+to\b|\bcorresponds?\s+to\b|"
                 r"\btagged\s+as\b|\bclassified\s+(?:as|under)\b")
_HR_WORD = _rx(r"\b(?:hr|human\s+resources|personnel|performance\s+(?:review|improvement|evaluation|plan)|pip|promotion|bonus|"
               r"salary|pay|raise|employment|contract\s+renewal|termination|disciplin\w+|probation|warning\s+letter)\b")
_ABS_PROCESS = _rx(r"\b(?:the\s+)?(?:process|checklist|policy|runbook|tooling|gate|control|review\s+process)\b")

# --- stochasticity ----------------------------------------------------------------------------------------
_ABSOLUTE = _rx(rf"(?<![\w-])(?:always|never|reliably|consistently|invariably|deterministically|guarantee[sd]?|"
                rf"certainly|definitely|100\s*%|every\s+(?:single\s+)?(?:time|request|prompt|query|input|case|user)|"
                rf"any\s+(?:more|longer)|no\s+longer|ever\s+again|impossible|incapable|cannot|can\s+not|"
                rf"bulletproof|foolproof|unbreakable|airtight|immune|robust|trustworthy|solved|eliminat\w+|"
                rf"fully|completely|entirely|totally|all\s+(?:cases|inputs|requests|prompts|users))(?![\w-])|"
                rf"\b{ABSOLUTE_MANNER}\b|\b{ABSENCE_CLAIM}")
_MODEL = _rx(r"\b(?:model|models|llm|llms|checkpoint|assistant|chatbot|agent|agents|classifier|ranker|reranker|retriever|"
             r"judge|grader|reward\s+model|summari[sz]er|guardrail|prompt|system\s+prompt|gpt-?[\w.-]*|claude[\w.-]*|"
             r"llama[\w.-]*|mistral[\w.-]*|gemini[\w.-]*|qwen[\w.-]*|copilot|bot|(?:learned|trained|rl)\s+policy|detector|moderat\w+|"
             r"recommender|tagger|captioner|transcriber|embedder|extractor|planner|fine-?tune\w*|autopilot|robot\w*|"
             r"neural\s+net\w*|transformer)\b(?!\s+(?:registry|server|endpoint|config|version|file|card|"
             r"id|cache|store|gateway|router|name)s?\b)")
_DETERMINISTIC = _rx(r"\b(?:config|configuration|script|cron|database|db|regex|parser|scheduler|load\s+balancer|"
                     r"firewall|queue|cache|proxy|dns|certificate|cert|disk|node|pod|cluster|index|schema|migration|"
                     r"feature\s+flag|flag|allowlist|denylist|blocklist|rate\s+limiter|limiter|validator|schema\s+check|"
                     r"unit\s+test|ci|pipeline|cronjob|job|backup|replica|api\s+gateway|timeout|retry|circuit\s+breaker|"
                     r"sandbox|permission\w*|iam|acl|role|token\s+budget|max_tokens|json\s+schema|checksum|hash)\b")
_RATE = _rx(r"\b\d+(?:\.\d+)?\s*%|\b\d[\d,]*\s*(?:/|of|out\s+of)\s*\d[\d,]*\b|\b(?:rate|ratio|fraction|share|proportion|"
            r"probability|p\d\d|percentile|confidence\s+interval|ci\s*=|±)\b")
_SAMPLE = _rx(r"\bn\s*=\s*\d+|\b\d[\d,]*\s+(?:runs|samples|trials|seeds|generations|completions|attempts|prompts|queries|"
              r"requests|conversations|episodes|rollouts|evals?|cases|examples|items)\b|\bsampled\b|\btemperature\b|\bt\s*=\s*0?\.\d")
_SINGLE_RUN = _rx(r"\b(?:in|on|during|from)\s+(?:this|that|one|a\s+single|the\s+single|our|the)\s+(?:\w+\s+)?(?:run|test|trial|"
                  r"eval\w*|session|replay|attempt|try|demo|sample)\b|\bonce\b|\bone\s+(?:run|test|trial|sample|example|"
                  r"prompt|attempt)\b|\bwhen\s+(?:we|i)\s+(?:tried|tested|ran)\b|\bin\s+(?:staging|testing|the\s+demo)\b|"
                  r"\bafter\s+the\s+(?:fix|patch|change|update|retrain\w*)\b")
_HEDGE = _rx(r"\b(?:may|might|could|likely|unlikely|tends?\s+to|tended\s+to|usually|often|sometimes|rarely|mostly|most|"
             r"seems?|appears?|observed|measured|in\s+our\s+tests|so\s+far|not\s+(?:yet\s+)?(?:established|guaranteed|proven)|"
             r"hypothes\w+|assum\w+|estimate\w*|expect\w*|we\s+believe|we\s+think)\b|\[assumption\]|\[data\s+gap\]")
_FUTURE_MODEL = _rx(r"\bwill\s+(?:not\s+|never\s+|now\s+|always\s+)?(?:\w+\s+)?(?:again|anymore|any\s+more|from\s+now\s+on|"
                    r"going\s+forward)\b|\bhas\s+learn\w+\b|\bknows\s+(?:not\s+)?to\b|\bwon'?t\s+\w+\s+again\b")

_SECTIONS = ("analysis", "action_items", "summary", "timeline", "chat")


# Features that fire when one pattern is found in the sentence, keyed by feature name, one table a
# family; those with more to them (two patterns, a negation, a subject) are worked out in the
# family's function below.
_Found = dict[str, re.Pattern[str]]
_PEOPLE_FOUND: _Found = {
    "person_pronoun": _PRONOUN, "person_role": _ROLE, "person_handle": _WORDS.handle,
    "team_as_people": _TEAM_PEOPLE, "we_mention": _WE,
}
_BLAME_FOUND: _Found = {
    "failed_to": _FAILED_TO, "supposed_to": _SUPPOSED, "diligence_negated": _NOT_DILIGENT,
    "judgement_word": _JUDGEMENT, "recurrence_sarcasm": _RECUR, "irony_marker": _IRONY, "disclaimer_but": _DISCLAIM,
    "blame_meta": _BLAME_META, "cleft": _CLEFT, "possessive_fault": _POSSESSIVE_FAULT,
    "omission_manner": _OMISSION_MANNER, "rhetorical_who": _RHETORICAL_WHO,
}
_HINDSIGHT_FOUND: _Found = {
    "past_unreal_conditional": _PAST_UNREAL, "inverted_conditional": _WORDS.inverted, "if_only_wish": _IF_ONLY,
    "all_it_took": _ALL_IT_TOOK, "non_event": _NON_EVENT, "prevention_verb": _PREVENT, "hindsight_cue": _HINDSIGHT,
    "counterfactual_result": _COUNTERFACTUAL_RESULT, "imperative_start": _IMPERATIVE, "we_will": _WE_WILL,
    "should_base_verb": _SHOULD_BASE, "owner_due": _OWNER_DUE,
}
_SCOPE_FOUND: _Found = {
    "legal_concept": _LEGAL_CONCEPT, "law_name": _WORDS.law_name, "law_word": _LAW_WORD, "regulator": _REGULATOR,
    "obligation_asserted": _OBLIGATION, "compliance_asserted": _COMPLIANCE, "referral_counsel": _REFERRAL,
    "framework_mapping": _FRAMEWORK, "personnel_action": _SANCTION, "dismissal_verb": _DISMISS, "hr_word": _HR_WORD,
    "process_noun": _ABS_PROCESS,
}
_STOCHASTIC_FOUND: _Found = {
    "deterministic_subject": _DETERMINISTIC, "measured_rate": _RATE, "sample_size": _SAMPLE,
    "single_run": _SINGLE_RUN, "hedge": _HEDGE, "future_permanence": _FUTURE_MODEL,
}


def _found(table: _Found, text: str) -> set[str]:
    return {name for name, pattern in table.items() if pattern.search(text)}


def _first_clause_subject(text: str, names: tuple[str, ...]) -> str:
    """'person' / 'system' / 'unknown' for the subject before the first finite verb-ish word."""
    m = re.search(r"\b(?:is|was|were|are|has|had|have|did|does|do|will|would|should|could|can|must|might|\w+ed|"
                  r"forgot|ran|broke|left|let|pushed|set|put|took|made|went|sent|wrote|shipped)\b", text[1:], _I)
    if not m:
        return "unknown"
    phrase, cls = subject_before(text, m.start() + 1, names)
    if cls == "unknown" and phrase and name_like(phrase.split()[-1]) and len(phrase.split()) <= 3:
        return "person"
    return cls


def _fault_subjects(text: str, names: tuple[str, ...]) -> set[str]:
    """Classes of the subjects of every fault verb in the sentence."""
    out: set[str] = set()
    for pat in (_FAULT, _FAILED_TO, _DID_NOT, _SUPPOSED):
        for m in pat.finditer(text):
            phrase, cls = subject_before(text, m.start(), names)
            words = phrase.split()
            if cls == "unknown" and words and (name_like(words[-1]) or words[-1].lower() in {"team", "teams", "we"}):
                cls = "person"
            out.add(cls)
    return out


def _modal_features(text: str) -> set[str]:
    out: set[str] = set()
    for m in _MODAL_PERFECT.finditer(text):
        modal = m.group(1).lower()
        # "should have been resolved as of 12:30": a status update, not hindsight.
        if modal == "should" and m.group(3).lower() == "been" and _STATUS.match(text[m.end(3):]):
            out.add("modal_perfect_status")
            continue
        out.add(f"modal_perfect_{modal}")
        if m.group(2):
            out.add("modal_perfect_negated")
    return out


def _people(text: str, names: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    tokens = re.findall(r"[\w'-]+", text)
    checks = {
        "person_name_shape": any(name_like(t) for t in tokens[1:]) or any(
            n and re.search(rf"\b{re.escape(n)}\b", text, _I) for n in names),
        "person_any": mentions_person(text, names),
    }
    out |= _found(_PEOPLE_FOUND, text) | {k for k, v in checks.items() if v}
    subj = _first_clause_subject(text, names)
    out.add(f"subject_{subj}")
    return out


def _blame(text: str, names: tuple[str, ...]) -> set[str]:
    fault_subj = _fault_subjects(text, names)
    checks = {
        "fault_verb": bool(_FAULT.search(text) or _DID_NOT.search(text)),
        "person_fault": "person" in fault_subj,
        "system_fault": "system" in fault_subj,
        "blame_word": bool(_BLAME_WORD.search(text)) and not _BLAME_META.search(text),
    }
    return _found(_BLAME_FOUND, text) | {k for k, v in checks.items() if v}


def _hindsight(text: str) -> set[str]:
    out = _modal_features(text)
    return out | _found(_HINDSIGHT_FOUND, text)


def _scope(text: str) -> set[str]:
    return _found(_SCOPE_FOUND, text)


def _stochastic(text: str) -> set[str]:
    model = bool(_MODEL.search(text))
    absolute = bool(_ABSOLUTE.search(text))
    checks = {
        "absolute_word": absolute,
        "model_subject": model,
        "model_absolute": model and absolute,
        "negation": bool(re.search(r"\b(?:not|never|no)\b", text, _I)),
        "question": text.rstrip().endswith("?"),
    }
    return _found(_STOCHASTIC_FOUND, text) | {k for k, v in checks.items() if v}


@lru_cache(maxsize=4096)
def extract(text: str, section: str = "analysis", names: tuple[str, ...] = ()) -> frozenset[str]:
    """The abstract features that fire for one sentence (cached: all four rules ask for the same sentence)."""
    t = prepare(text)
    feats = _people(t, names) | _blame(t, names) | _hindsight(t) | _scope(t) | _stochastic(t)
    fam = section if section in _SECTIONS else "analysis"
    feats.add(f"section_{fam}")
    if "person_fault" in feats and "person_any" in feats:
        feats.add("person_and_fault")
    if ("personnel_action" in feats or "dismissal_verb" in feats) and "person_any" in feats:
        feats.add("sanction_on_person")
    if "modal_perfect_should" in feats and ("subject_person" in feats or "person_any" in feats):
        feats.add("person_should_have")
    people = "person_any" in feats or "subject_person" in feats
    for cue, combo in (("recurrence_sarcasm", "person_recurrence"), ("omission_manner", "person_omission"),
                       ("blame_word", "person_blame")):
        if people and cue in feats:
            feats.add(combo)
    if "model_subject" in feats and "future_permanence" in feats:
        feats.add("model_permanence")
    return frozenset(feats)


# Every feature name the extractor can emit (the model file lists the ones it was trained with).
def feature_names() -> list[str]:
    base = sorted({
        *{f"subject_{c}" for c in ("person", "system", "unknown")},
        *{f"modal_perfect_{m}" for m in ("should", "could", "would", "might", "must", "may")},
        "modal_perfect_negated", "modal_perfect_status",
        *{f"section_{s}" for s in _SECTIONS},
        "person_pronoun", "person_role", "person_name_shape", "person_handle", "team_as_people", "we_mention",
        "person_any", "fault_verb", "failed_to", "person_fault", "system_fault", "supposed_to", "diligence_negated",
        "judgement_word", "recurrence_sarcasm", "irony_marker", "disclaimer_but", "blame_word", "blame_meta", "cleft",
        "possessive_fault", "omission_manner", "rhetorical_who", "past_unreal_conditional", "inverted_conditional",
        "if_only_wish", "all_it_took", "non_event", "prevention_verb", "hindsight_cue", "counterfactual_result",
        "imperative_start", "we_will", "should_base_verb", "owner_due", "legal_concept", "law_name", "law_word",
        "regulator", "obligation_asserted", "compliance_asserted", "referral_counsel", "framework_mapping",
        "personnel_action", "dismissal_verb", "hr_word", "process_noun", "absolute_word", "model_subject",
        "model_absolute", "deterministic_subject", "measured_rate", "sample_size", "single_run", "hedge",
        "future_permanence", "negation", "question", "person_and_fault", "sanction_on_person", "person_should_have",
        "person_recurrence", "person_omission", "person_blame", "model_permanence",
    })
    return base


# Human-readable labels for explanations in findings.
LABELS: dict[str, str] = {
    "person_fault": "person subject + fault/omission verb",
    "person_and_fault": "person mentioned + fault verb",
    "subject_person": "person in subject position",
    "judgement_word": "judgement word",
    "diligence_negated": "negated diligence",
    "recurrence_sarcasm": "recurrence/sarcasm marker",
    "sanction_on_person": "personnel action aimed at a person",
    "person_should_have": "person + 'should have'",
    "past_unreal_conditional": "past-unreal conditional",
    "inverted_conditional": "inverted conditional ('Had ...')",
    "all_it_took": "'all it took' / one step away",
    "non_event": "non-event claim",
    "hindsight_cue": "hindsight cue",
    "counterfactual_result": "imagined outcome ('would have ...')",
    "model_absolute": "model subject + absolute word",
    "future_permanence": "permanence claim",
    "legal_concept": "legal concept",
    "law_name": "law/regulation named",
    "compliance_asserted": "compliance status asserted",
    "obligation_asserted": "legal obligation asserted",
    "personnel_action": "personnel action",
}


def label(feature: str) -> str:
    if feature.startswith("rule:"):
        return f"hand rule {feature[5:]}"
    if feature.startswith("modal_perfect_"):
        return f"modal perfect ('{feature[14:]} have')"
    return LABELS.get(feature, feature.replace("_", " "))


def person_words() -> frozenset[str]:
    """Exposed for tests: the role nouns the person features know (a general list, not a fitted one)."""
    return frozenset(PERSON_NOUNS) - frozenset(SYSTEM_NOUNS)



# A model-only finding needs one cue that is about the rule itself: the model then weighs the evidence
# around it. Without a gate the model learns the corpus' priors (people are mentioned mostly in blame
# sentences) and flags routine operator prose such as "Engineers rolled back the deployment".
GATES: dict[str, frozenset[str]] = {
    "no-blame": frozenset({"person_fault", "judgement_word", "diligence_negated", "sanction_on_person",
                           "possessive_fault", "cleft", "disclaimer_but", "rhetorical_who", "person_should_have",
                           "supposed_to", "person_recurrence", "person_omission", "person_blame"}),
    "no-counterfactual": frozenset({"modal_perfect_should", "modal_perfect_could", "modal_perfect_would",
                                    "modal_perfect_might", "modal_perfect_must", "past_unreal_conditional",
                                    "inverted_conditional", "if_only_wish", "all_it_took", "non_event",
                                    "counterfactual_result"}),
    "scope": frozenset({"legal_concept", "law_name", "regulator", "obligation_asserted", "compliance_asserted",
                        "personnel_action", "sanction_on_person"}),
    "stochasticity": frozenset({"model_absolute", "model_permanence"}),
}


def gate(rule: str, feats: frozenset[str]) -> bool:
    """Does the sentence carry at least one cue that belongs to this rule?"""
    cues = GATES.get(rule)
    return cues is None or bool(cues & feats)
