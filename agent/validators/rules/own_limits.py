"""own-limits: name the specialist when the incident leaves our expertise (hard rule 12).

Triggers are specific (silent data corruption, bit flips, chip-level faults, novel hardware physics,
adversarial-ML research topics) so routine hardware events ("3 nodes lost to ECC errors") do not fire.
When a trigger appears the document must say it is outside the review's expertise or name a
specialist/team to bring in (or the report lists `specialists`).
"""

from __future__ import annotations

import re

from agent.model import ValidationFinding
from agent.validators.base import Context, Rule, finding

RULE_ID = "own-limits"
_TRIGGER = re.compile(
    r"\bsilent data corruption\b|\bSDCs?\b|\bbit[- ]flips?\b|\bcosmic[- ]ray|\bchip[- ]level\b|"
    r"\bnovel hardware\b|\bhardware physics\b|\bsilicon (?:defect|fault|errata)\b|\bmercurial cores?\b|"
    r"\bsilent(?:ly)? (?:wrong|incorrect) (?:results|gradients|math)\b|"
    r"\badversarial (?:ML|machine learning|suffix|suffixes|examples?|perturbations?)\b|\bgradient-based (?:attack|jailbreak)s?\b|"
    r"\bmembership inference\b|\bmodel (?:extraction|inversion|stealing)\b|\bdata poisoning\b|\bbackdoor(?:ed)?\b|"
    r"\bside[- ]channel\b|\bsleeper agent",
    re.IGNORECASE,
)
_SPECIALIST = re.compile(
    r"\bspecialists?\b|\bexperts?\b|\boutside (?:the |this |our )?(?:review's |team's )?(?:expertise|scope)\b|"
    r"\bbeyond (?:the |this |our )?(?:review's )?(?:expertise|scope)\b|\bvendor (?:support|engineers?|escalation)\b|"
    r"\b(?:hardware|silicon|security research|ml security|red[- ]team) (?:team|group|researchers?)\b|\bown(?:ing)? (?:our|the) limits\b",
    re.IGNORECASE,
)


def check(ctx: Context) -> list[ValidationFinding]:
    units = ctx.doc.units()
    trig = next((u for u in units if _TRIGGER.search(u.text)), None)
    if trig is None:
        return []
    if ctx.report is not None and ctx.report.specialists:
        return []
    if any(_SPECIALIST.search(u.text) for u in units):
        return []
    word = _TRIGGER.search(trig.text).group(0)  # type: ignore[union-attr]
    return [finding(RULE_ID, "error", f"The analysis involves '{word}', a specialist domain, but does not say so "
                    "or name a specialist.", line=trig.line, section=trig.section.title, text=trig.text,
                    suggestion="State that this is outside the review's expertise and name who should look "
                               "(e.g. accelerator vendor support, the ML security research team).")]


RULE = Rule(RULE_ID, check, "error", "Specialist domains (SDC, novel hardware, adversarial ML) are flagged and a specialist named.")
