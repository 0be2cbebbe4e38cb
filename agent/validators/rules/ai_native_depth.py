"""ai-native-depth: data, evals, prompts, non-determinism, opacity and rapid iteration are each
addressed in the analysis (hard rule 4), with evidence (a cited id or a [DATA GAP]/[ASSUMPTION]) or an
explicit reason the factor does not apply. Missing factors are errors in a full review, warnings in a
light one; a factor that is mentioned but neither evidenced nor ruled out is a warning.
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding
from agent.validators.markdown import is_marked, table_cells
from agent.validators.patterns import EVIDENCE_ID
from agent.validators.rules.light_review import review_type

RULE_ID = "ai-native-depth"
FACTORS: dict[str, re.Pattern[str]] = {
    "data": re.compile(r"\bdata(?:set)?s?\b|\btraining data\b|\bprovenance\b|\blabels?\b|\bcorpus\b", re.IGNORECASE),
    "evals": re.compile(r"\bevals?\b|\bevaluations?\b|\bbenchmarks?\b|\bregression suite\b", re.IGNORECASE),
    "prompts": re.compile(r"\bprompts?\b|\bsystem prompt\b|\bprompt template\b", re.IGNORECASE),
    "non-determinism": re.compile(r"\bnon-?determinis\w*|\bstochastic\w*|\btemperature\b|\bsampling\b|\bseeds?\b|\bvariance\b", re.IGNORECASE),
    "opacity": re.compile(r"\bopacity\b|\bopaque\b|\binterpretab\w+|\bexplainab\w+|\bblack[- ]box\b|\bobservab\w+|\bvisibility\b", re.IGNORECASE),
    "rapid iteration": re.compile(r"\brapid iteration\b|\biteration (?:speed|pace)\b|\brelease (?:cadence|velocity|pace)\b|"
                                  r"\brapid(?:ly)? (?:chang|releas|ship)\w*|\bship(?:ping)? (?:speed|pace)\b|\bpace of change\b", re.IGNORECASE),
}
_NOT_APPLICABLE = re.compile(r"\bnot applicable\b|\bn/a\b|\bdoes not apply\b|\bdid not contribute\b|\bnot a factor\b|"
                             r"\bruled out\b|\bno role\b|\bnot involved\b|\bunchanged\b|\bis deterministic\b|"
                             r"\bdeterministic (?:infrastructure|behaviou?r|failure)|\bnot needed to explain\b",
                             re.IGNORECASE)
_NO_CELL = re.compile(r"^\s*(?:no|n/a|not applicable)\s*$", re.IGNORECASE)
_ANALYSIS_KINDS = {"analysis", "root_causes", "detection"}


def check(ctx: Context) -> list[ValidationFinding]:
    light = review_type(ctx) == "light"
    units = [u for u in ctx.doc.units() if u.section.kind in _ANALYSIS_KINDS]
    where = next((s for s in ctx.doc.sections if s.kind == "analysis"), None)
    out: list[ValidationFinding] = []
    lens = {i.factor.replace("_", "-").replace("evals", "evals") for i in ctx.report.ai_lens} if ctx.report else set()
    for factor, pat in FACTORS.items():
        key = factor.replace(" ", "_")
        if ctx.report is not None and (key in lens or key.replace("_", "-") in lens):
            continue
        hits = [u for u in units if pat.search(u.text.replace("[DATA GAP]", ""))]
        if not hits:
            out.append(finding(RULE_ID, "warning" if light else "error",
                               f"AI-specific factor '{factor}' is not addressed in the analysis.",
                               line=where.start if where else None, section=where.title if where else "",
                               suggestion=f"Add a line on {factor}: what the evidence shows (cite it), or why it "
                                          "does not apply to this incident."))
            continue
        if not any(EVIDENCE_ID.search(u.text) or is_marked(u.text) or _NOT_APPLICABLE.search(u.text)
                   or (u.is_table_row and any(_NO_CELL.match(c) for c in table_cells(u.text))) for u in hits):
            u = hits[0]
            out.append(finding(RULE_ID, "warning", f"AI-specific factor '{factor}' is discussed without evidence "
                               "or a reason it does not apply.", line=u.line, section=u.section.title, text=u.text,
                               suggestion="Cite the record (e.g. `trace:...`, `commit:...`) or mark [DATA GAP]."))
    return out


RULE = Rule(RULE_ID, check, "error", "Data, evals, prompts, non-determinism, opacity, rapid iteration are each addressed.")
