"""Deterministic, offline repair of validator findings.

Rewrites only wording, never facts: blame -> systemic wording, hindsight -> what was (not) in place,
absolute model claims -> "in this run", names/@handles -> roles, legal/HR verdicts -> a referral note,
ungrounded timestamps/numbers -> marked [ASSUMPTION]. A sentence is rewritten only when the rule's own
detector fires on it, so correct text is left alone; the caller re-validates afterwards (a rewrite that
cannot fix a sentence leaves the finding in place for a human).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agent.model import Report, ValidationFinding
from agent.validators.markdown import parse, split_sentences
from agent.validators.rules import confidence, no_blame, no_counterfactual, scope, stochasticity
from agent.validators.subjects import HANDLE

DEFAULT_ROLE = "a responder"
SCOPE_NOTE = "[Out of scope: legal/compliance question referred to Legal/Privacy for a determination.]"
HR_NOTE = "[Removed: personnel recommendation; out of scope for a blameless review.]"

# ---- blame ------------------------------------------------------------------------------------
_BLAME_PHRASES: list[tuple[str, str]] = [
    (r"\b(?:human|operator|user|pilot|manual) errors?\b", "a manual step without a safeguard"),
    (r"\bdropped the ball on\b", "had no owner or reminder for"),
    (r"\bdropped the ball\b", "had no owner or reminder for the step"),
    (r"\b(?:was|were) asleep at the wheel\b", "had no signal to act on"),
    (r"\brookie mistake\b", "unguarded step"),
    (r"\bfat[- ]finger(?:ed)?\b", "entered"),
    (r"\brubber[- ]stamp(?:ed)?\b", "approved"),
    (r"\b(?:messed|screwed) up\b", "changed"),
    (r"\bpanicked and\s+", ""),
    (r"\b(?:poor|bad) judge?ments?\b", "decisions made with the information available"),
    (r"\b(?:was|were) not paying attention\b", "had no alert pointing at the problem"),
    (r"\bdid(?: not|n't) bother to\b", "had no prompt to"),
    (r"\b(?:was|were|is|are|been)\s+(?:careless|sloppy|lazy|negligent|incompetent|inattentive|reckless|complacent)"
     r"\s*(?=[.;!]|$)", "had no safeguard to rely on"),
    # "X was careless and forgot to ..." -> "X forgot to ...", which the fault-clause rule reframes.
    (r"\b(?:was|were|is|are|been)\s+(?:careless|sloppy|lazy|negligent|incompetent|inattentive|reckless|complacent)"
     r"(?:\s+and\b|\s*,)?\s*", ""),
    (r"\b(?:careless(?:ly)?|sloppy|lazy|negligent(?:ly)?|incompetent|blindly|inattentive|reckless(?:ly)?|complacent)\s+", ""),
    (r"\bnegligence\b", "the missing safeguard"),
    (r"(?:\b(?:the|a|an)\s+)?(?:[\w@-]+\s+){0,2}?[\w@-]+['’]s (?:mistake|oversight|slip|lapse|error)\b", "the missing check"),
    (r"\bmade (?:an? )?(?:error|mistake)s?\b", "made a change that no check caught"),
    (r"\b(?:mistakenly|accidentally|inadvertently|wrongly)\s+", ""),
    (r"\bcarelessness\b", "the missing safeguard"),
]
_NOT_SUBJECT = r"(?<![\w@'’-])(?!(?:because|since|as|when|after|before|and|but|so|that|while|if|then)\b)"
_FAULT_CLAUSE = re.compile(
    _NOT_SUBJECT + r"(?P<subj>(?:(?:the|a|an|our|their|his|her|one)\s+)?(?:[\w@'’-]+\s+){0,3}?[\w@'’-]+)\s+"
    r"(?:(?:failed|forgot|neglected) to|(?:did not|didn't|never)(?= \w))\s+(?P<rest>[^.;]*)",
    re.IGNORECASE,
)
_IGNORED = re.compile(r"(?P<subj>(?:(?:the|a|an|our)\s+)?(?:[\w@'’-]+\s+){0,3}?[\w@'’-]+)\s+"
                      r"(?:ignored|overlooked|missed|skipped|bypassed|neglected)\s+(?P<rest>[^.;]*)", re.IGNORECASE)


def _fix_articles(s: str) -> str:
    s = re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", lambda m: m.group(1) + "n ", s)
    s = re.sub(r"\s{2,}", " ", s)
    return s[:1].upper() + s[1:] if s else s


def _reframe_blame(sentence: str, names: Iterable[str]) -> str:
    if re.search(r"\bfault of\b|\bto blame\b|\bat fault\b|\bheld (?:personally )?accountable\b", sentence, re.IGNORECASE):
        return "[Reframed: the conditions behind this are analysed under Root Causes & Contributing Factors.]"
    out = sentence
    for pat, rep in _BLAME_PHRASES:
        out = re.sub(pat, rep, out, flags=re.IGNORECASE)
    if no_blame.detect(out, "analysis", tuple(names)):
        out = _FAULT_CLAUSE.sub(lambda m: f"the process did not prompt anyone to {m.group('rest')}", out, count=1)
    if no_blame.detect(out, "analysis", tuple(names)):
        out = _IGNORED.sub(lambda m: f"{m.group('rest')} was not acted on, and nothing escalated it", out, count=1)
    return _fix_articles(out.strip())


# ---- hindsight ----------------------------------------------------------------------------------
_LEMMA = {"known": "know", "caught": "catch", "seen": "see", "run": "run", "done": "do", "taken": "take",
          "written": "write", "given": "give", "found": "find", "noticed": "notice", "realised": "realise",
          "realized": "realize", "stopped": "stop", "shipped": "ship", "spotted": "spot"}


def _lemma(pp: str) -> str:
    low = pp.lower()
    if low in _LEMMA:
        return _LEMMA[low]
    if low.endswith("ied"):
        return low[:-3] + "y"
    if low.endswith("ed"):
        base = low[:-2]
        return base + "e" if re.search(r"(?:at|iz|is|ov|ag|ur|uc|ag|in)$", base) else base
    return low


def _reframe_hindsight(sentence: str) -> str:
    s = re.sub(r"^\W*(?:in hindsight|with(?: the benefit of)? hindsight|in retrospect|looking back|obviously|clearly|"
               r"needless to say)\s*,?\s*", "", sentence, flags=re.IGNORECASE)
    s = re.sub(r"\b(?:obviously|clearly)\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"\bit (?:was|is) obvious(?: now)? that\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"\bshould never have been\b", "was", s, flags=re.IGNORECASE)
    s = re.sub(r"\bshould have been\b", "was not", s, flags=re.IGNORECASE)
    s = re.sub(r"\bshould(?: not|n't) have (\w+)", lambda m: m.group(1), s, flags=re.IGNORECASE)
    s = re.sub(r"\bshould have (\w+)", lambda m: "did not " + _lemma(m.group(1)), s, flags=re.IGNORECASE)
    s = re.sub(r"\bcould(?: easily)? have (?:been )?(?:prevented|avoided)\b", "was not prevented by any existing control",
               s, flags=re.IGNORECASE)
    s = re.sub(r"\bwould have been (?:avoided|prevented) if\b", "had no safeguard in place; the missing condition:", s,
               flags=re.IGNORECASE)
    s = re.sub(r"\b(?:entirely |completely )?preventable\b", "not prevented by any existing control", s, flags=re.IGNORECASE)
    s = re.sub(r"\bshould never have (\w+)", r"\1 without any control stopping it", s, flags=re.IGNORECASE)
    s = re.sub(r"^\W*the (?:warning )?signs were all there;\s*", "", s, flags=re.IGNORECASE)
    s = re.sub(r"\s*,?\s*even though (?:they|it) (?:was|were) plain to see", "", s, flags=re.IGNORECASE)
    s = re.sub(r"\bplainly\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"\bit['’]s obvious(?: now)? that\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"\b(?:anyone|any reasonable \w+) could have seen that\b", "the record shows that", s, flags=re.IGNORECASE)
    s = re.sub(r"\bpredictable (failure|outcome|incident)\b", r"\1", s, flags=re.IGNORECASE)
    s = re.sub(r"^\W*needless to say,?\s*", "", s, flags=re.IGNORECASE)
    return _fix_articles(s.strip())


# ---- stochasticity -------------------------------------------------------------------------------
_ABS_REWRITES: list[tuple[str, str]] = [
    (r"\bwill (?:always|reliably|consistently)\b", "is expected [ASSUMPTION] to"),
    (r"\bwill never\b", "is expected [ASSUMPTION] not to"),
    (r"\bwill no longer\b", "is expected [ASSUMPTION] not to"),
    (r"\bis guaranteed to\b", "is expected [ASSUMPTION] to"),
    (r"\bguarantees\b", "is intended to ensure"),
    (r"\bcannot (produce|generate|output|leak|hallucinate)\b", r"is not expected [ASSUMPTION] to \1"),
    (r"\beliminates?\b", "is intended to reduce"),
    (r"\s*\b(?:entirely|completely)\b", ""),
    (r"\b(?:fully|completely) safe\b", "safer in the runs observed so far [ASSUMPTION]"),
    (r"\balways\b", "repeatedly, in this run,"),
    (r"\bnever\b", "at no point in this run"),
    (r"\b(?:reliably|consistently|invariably|deterministically|unfailingly)\b", "in this run"),
    (r"\bevery time\b", "in the cases observed in this run, when"),
    (r"\b100% of\b", "[ASSUMPTION] 100% of"),
    (r"\bevery (?:single )?(request|prompt|query|input|question|conversation|call|user)\b", r"the \1s observed in this run"),
]


def _qualify(sentence: str) -> str:
    s = sentence
    for pat, rep in _ABS_REWRITES:
        if not stochasticity.detect(s):
            break
        s = re.sub(pat, rep, s, count=1, flags=re.IGNORECASE)
    return _fix_articles(s)


# ---- names, scope, grounding ---------------------------------------------------------------------
def _replace_names(text: str, names: Iterable[str], roles: Mapping[str, str]) -> str:
    out = text
    for n in sorted({x for x in names if x}, key=len, reverse=True):
        role = roles.get(n, DEFAULT_ROLE)
        out = re.sub(rf"(?<![\w@]){re.escape(n)}(['’]s)?(?![\w])",
                     lambda m, r=role: r + (m.group(1) or ""), out)
    out = HANDLE.sub(lambda m: roles.get(m.group(0), DEFAULT_ROLE), out)
    # Sentence-initial role after replacement.
    return re.sub(r"(^|[.!?]\s+|\|\s*)a responder", lambda m: m.group(1) + "A responder", out)


def _scope_note(sentence: str) -> str:
    hits = scope.detect(sentence)
    if not hits:
        return sentence
    return HR_NOTE if hits[0].suggestion == scope.HR_SUGGESTION else SCOPE_NOTE


def _mark(text: str, tokens: Iterable[str]) -> str:
    out = []
    toks = [t for t in tokens if t]
    for s in split_sentences(text) if not text.lstrip().startswith("|") else [text]:
        if any(t in s for t in toks) and "[ASSUMPTION]" not in s and "[DATA GAP]" not in s:
            s = s.rstrip() + " [ASSUMPTION]" if not s.lstrip().startswith("|") else s.replace(
                next(t for t in toks if t in s), next(t for t in toks if t in s) + " [ASSUMPTION]", 1)
        out.append(s)
    return " ".join(out) if not text.lstrip().startswith("|") else out[0]


def _per_sentence(text: str, fn: Callable[[str], str], applies: Callable[[str], bool]) -> str:
    if text.lstrip().startswith("|"):
        return "|".join(fn(c) if applies(c) else c for c in text.split("|"))
    lead = re.match(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|>\s*)?", text).group(0)  # type: ignore[union-attr]
    body = text[len(lead):]
    parts = split_sentences(body)
    if not parts:
        return text
    return lead + " ".join(fn(p) if applies(p) else p for p in parts)


def rewrite_text(text: str, rules: set[str], *, names: Iterable[str] = (), roles: Mapping[str, str] | None = None,
                 tokens: Iterable[str] = ()) -> str:
    """Apply the rewrites of `rules` to one string (a line or a field). Pure and deterministic."""
    roles = roles or {}
    names = tuple(names)
    out = text
    if "psych-safety" in rules:
        out = _replace_names(out, names, roles)
    if "scope" in rules:
        out = _per_sentence(out, _scope_note, lambda s: bool(scope.detect(s)))
    if "no-counterfactual" in rules:
        out = _per_sentence(out, _reframe_hindsight, lambda s: bool(no_counterfactual.detect(s)))
    if "no-blame" in rules or "no-counterfactual" in rules:  # hindsight rewrites can leave a person as subject
        out = _per_sentence(out, lambda s: _reframe_blame(s, names), lambda s: bool(no_blame.detect(s, "analysis", names)))
    if "stochasticity" in rules:
        out = _per_sentence(out, _qualify, lambda s: bool(stochasticity.detect(s)))
    if "grounded" in rules:
        out = _mark(out, tokens)
    if "confidence" in rules:
        out = confidence.downgrade(out)
    return out


REPAIRABLE = {"psych-safety", "scope", "no-blame", "no-counterfactual", "stochasticity", "grounded", "confidence"}


def repair_markdown(md: str, findings: Iterable[ValidationFinding], *, names: Iterable[str] = (),
                    roles: Mapping[str, str] | None = None) -> str:
    """Rewrite the lines named by `findings` (prose only; code blocks are never touched)."""
    doc = parse(md)
    lines = md.splitlines()
    by_line: dict[int, list[ValidationFinding]] = {}
    for f in findings:
        if f.rule in REPAIRABLE and f.line and 1 <= f.line <= len(lines) and f.line not in doc.code_lines:
            by_line.setdefault(f.line, []).append(f)
    names = tuple(names)
    for n, fs in by_line.items():
        rules = {f.rule for f in fs}
        extra_names = [f.text for f in fs if f.rule == "psych-safety" and not f.text.startswith("@")]
        tokens = [f.text for f in fs if f.rule == "grounded"]
        lines[n - 1] = rewrite_text(lines[n - 1], rules, names=names + tuple(extra_names), roles=roles, tokens=tokens)
    return "\n".join(lines) + ("\n" if md.endswith("\n") else "")


_ISO_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")


def _ts_flagged(iso: str, tokens: Iterable[str]) -> bool:
    """True when a grounded finding names this timestamp (full, or its HH:MM as a time-only mention)."""
    m = re.match(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::(\d{2}))?", iso)
    if not m:
        return False
    for t in tokens:
        t = t.strip().replace(" UTC", "").rstrip("Z").replace("T", " ")
        if t and (t in f"{m.group(1)} {m.group(2)}:{m.group(3) or '00'}" or t == m.group(2)):
            return True
    return False


_SKIP_KEYS = {"evidence", "id", "ref", "addresses", "factor", "category", "status", "severity", "review_type",
              "priority", "usage", "evidence_inventory", "computed_facts", "validation", "failure_modes",
              "services", "kind", "unit", "name"}


def repair_report(report: Report, findings: Iterable[ValidationFinding], *, names: Iterable[str] = (),
                  roles: Mapping[str, str] | None = None) -> Report:
    """A copy of `report` with every free-text field rewritten for the rules that have findings."""
    fs = list(findings)
    rules = {f.rule for f in fs} & REPAIRABLE
    if not rules:
        return report.model_copy(deep=True)
    if "confidence" in rules:  # a status, not free text: downgraded where the flagged line states it
        report = _downgrade_unproven(report, [f.text for f in fs if f.rule == "confidence"])
        rules.discard("confidence")
    all_names = tuple(names) + tuple(f.text for f in fs if f.rule == "psych-safety" and not f.text.startswith("@"))
    tokens = [f.text for f in fs if f.rule == "grounded"]

    def walk(v: Any, key: str = "") -> Any:
        if key in _SKIP_KEYS:
            return v
        if isinstance(v, str):
            if _ISO_VALUE.fullmatch(v.strip()):  # a date/datetime field: never edit, its event text is marked instead
                return v
            return rewrite_text(v, rules, names=all_names, roles=roles, tokens=tokens)
        if isinstance(v, list):
            return [walk(x, key) for x in v]
        if isinstance(v, dict):
            out = {k: walk(x, k) for k, x in v.items()}
            ts = v.get("timestamp")
            if "grounded" in rules and isinstance(ts, str) and isinstance(out.get("event"), str) and _ts_flagged(ts, tokens):
                if "[ASSUMPTION]" not in out["event"]:
                    out["event"] = "[ASSUMPTION] " + out["event"]
            return out
        return v

    data = walk(report.model_dump(mode="json"))
    return Report.model_validate(data)


def _downgrade_unproven(report: Report, flagged: list[str]) -> Report:
    """Hypotheses and root causes marked confirmed on a line the `confidence` rule flagged become
    "likely"; the statement keeps its words, the evidence list is unchanged."""
    out = report.model_copy(deep=True)
    for item in [*out.hypotheses, *out.root_causes]:
        head = item.statement[:60]
        if item.status == "confirmed" and any(head and head in line for line in flagged):
            item.status = "likely"
    return out
