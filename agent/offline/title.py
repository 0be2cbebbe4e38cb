"""The report's title: the one people see in a list of incidents, so it names the symptom and the
component, and the change it followed when one is ranked.

A title someone wrote (manifest, chat scope gate) is kept. A placeholder is replaced: the engine's
"Incident review of <dump>" or a bare slug such as a dump's folder name ("incident-42.tar.gz"),
which says nothing about the incident. Every word of a composed title comes from the analysis
(taxonomy mode, the failing component or a named service, the top change's own summary).
"""

from __future__ import annotations

import re

from agent.model import Analysis, Scope
from agent.offline import taxonomy
from agent.offline.scoping import default_title

CHANGE_SUMMARY_CHARS = 60
_SLUG = re.compile(r"^[\w.\-/:]+$")  # one token, no spaces: a file or folder name, an id


def is_placeholder(title: str) -> bool:
    t = title.strip()
    return not t or t.startswith(default_title("").strip()) or bool(_SLUG.match(t))


def _change_phrase(summary: str) -> str:
    """The top change's own summary, cut to its first clause so the title stays one line."""
    first = re.split(r", | \(|; ", summary.strip(), maxsplit=1)[0].strip()
    if len(first) > CHANGE_SUMMARY_CHARS:
        first = first[:CHANGE_SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
    return first


def compose(scope: Scope, a: Analysis) -> str:
    """Symptom, component and trigger, from the analysis."""
    mode = taxonomy.MODES.get(a.failure_modes[0]) if a.failure_modes else None
    symptom = mode.title if mode else "Unclassified failure"
    component = a.failing_component.name if a.failing_component is not None else (
        scope.services[0] if scope.services else "")
    title = f"{component}: {symptom[0].lower() + symptom[1:]}" if component else symptom
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    if top is not None and top.summary.strip():
        title += f" after “{_change_phrase(top.summary)}”"
    return title


def incident_title(scope: Scope, a: Analysis) -> str:
    return compose(scope, a) if is_placeholder(scope.title) else scope.title.strip()
