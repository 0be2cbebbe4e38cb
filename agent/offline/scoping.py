"""Scoping: incident boundaries, services and intent, from the manifest (when there is one).

The manifest is interpreted in one place only, `tools.readers.manifest.load_manifest`: the same
parse that set the zone for every naive timestamp during ingest also sets the review window here.
(Two parsers used to disagree: one read a naive `window.start` in the manifest's `timezone`, the
other as UTC, so the window moved by the zone's offset depending on who read it.)

Scoping runs twice over the same facts: `scope_from_manifest` before ingest (a preview, so the chat
can confirm scope first; it only sees a manifest in a directory dump), and `scope_after_ingest`,
which takes the manifest ingest parsed and stored in the inventory (it also finds one inside an
archive). The second is what the timeline and analysis stages read.
"""

from __future__ import annotations

import re

from pathlib import Path

from agent.model import Scope
from tools.models import Inventory
from tools.readers.manifest import MANIFEST_NAMES, Manifest, load_manifest

BLAMELESS_STATEMENT = (
    "This review is blameless: it looks for the conditions, controls and incentives that let the "
    "incident happen and persist, not for individuals to fault."
)
NO_MANIFEST = "[DATA GAP] No incident.yaml manifest: title, commander and window were inferred."
UNKNOWN_COMMANDER = "[DATA GAP]"


def find_manifest(dump: Path) -> Path | None:
    if dump.is_file():
        return None
    for name in MANIFEST_NAMES:
        candidate = dump / name
        if candidate.is_file():
            return candidate
    return None


def default_title(dump_name: str) -> str:
    return f"Incident review of {dump_name}"


def scope_from_parsed(m: Manifest | None, dump_name: str) -> Scope:
    """A Scope from the reader's parsed manifest (None: the dump has none)."""
    if m is None:
        return Scope(title=default_title(dump_name), blameless_statement=BLAMELESS_STATEMENT,
                     manifest_notes=[NO_MANIFEST])
    notes = [f"incident.yaml: {p}" for p in m.problems]
    return Scope(
        title=(m.title or "").strip() or default_title(dump_name),
        services=list(m.services),
        commander=(m.commander or "").strip() or UNKNOWN_COMMANDER,
        window_start=m.window_start,
        window_end=m.window_end,
        declared_severity=m.severity or _severity_alias(m.raw),
        blameless_statement=BLAMELESS_STATEMENT,
        manifest_notes=notes,
    )


# Manifests name the severity field many ways ("sev", "priority", "severity_level"); any top-level
# key that starts so and holds a short scalar is the declared severity.
_SEV_KEY = re.compile(r"^(sev|severity|priority|prio)(_?level)?$", re.I)


def _severity_alias(raw: dict[str, object]) -> str | None:
    for key, value in raw.items():
        if _SEV_KEY.match(str(key)) and isinstance(value, (str, int)) and len(str(value)) <= 16:
            return str(value).strip() or None
    return None


def scope_from_manifest(dump: Path) -> Scope:
    """Preview before ingest: a directory's manifest through the reader's parser."""
    path = find_manifest(dump)
    if path is None and dump.is_file():
        # An archive or single file: whether it holds a manifest is known only after ingest.
        return Scope(title=default_title(dump.name), blameless_statement=BLAMELESS_STATEMENT)
    return scope_from_parsed(load_manifest(path) if path else None, dump.name)


def _manifest_of(inventory: Inventory | None) -> Manifest | None:
    if inventory is None or not inventory.manifest:
        return None
    try:
        return Manifest.model_validate(inventory.manifest)
    except ValueError:
        return None  # an inventory from an older version with another shape: keep the preview


def scope_after_ingest(scope: Scope | None, inventory: Inventory | None, dump_name: str) -> Scope:
    """The scope the analysis uses: window, severity and notes from the manifest ingest parsed.

    Title, commander and services keep a value a person set at the chat's scope gate; only the
    inferred placeholders are replaced by the manifest's values.
    """
    parsed = scope_from_parsed(_manifest_of(inventory), dump_name)
    if scope is None:
        return parsed
    merged = scope.model_copy(deep=True)
    if scope.title == default_title(dump_name):
        merged.title = parsed.title
    if scope.commander == UNKNOWN_COMMANDER:
        merged.commander = parsed.commander
    if not scope.services:
        merged.services = parsed.services
    merged.window_start, merged.window_end = parsed.window_start, parsed.window_end
    merged.declared_severity = parsed.declared_severity
    merged.manifest_notes = parsed.manifest_notes
    return merged
