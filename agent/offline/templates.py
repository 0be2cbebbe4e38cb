"""Log templates: warning-and-above records grouped by message template (Drain, via drain3).

A timeline row about errors should say "`connection to <*> refused` x 412, first 10:02, last
10:31" and cite one sample, not print one raw line. drain3 (the maintained implementation of the
Drain fixed-depth parse tree) mines templates from a stream; it is configured here in code, with
no config file read from the working directory and no persistence.

Cost is bounded twice: callers pass at most the store's bounded error list, and records are first
folded by a cheap cached signature (numbers and hex ids folded), so Drain sees each distinct
message shape once and a log that repeats one line 20,000 times costs one Drain call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from tools.models import Evidence

MAX_TEXT = 300  # a message's head names the failure; stack frames after it add no template words
MAX_CLUSTERS = 2000  # bounds Drain's memory on a pathological log

_FOLD = re.compile(r"0x[0-9a-fA-F]+|\b[0-9a-fA-F]{8,}\b|\d+(?:\.\d+)?")

# Variable parts masked before mining so lines that differ only in them share a template.
_MASKS = (
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "UUID"),
    (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "IP"),
    (r"\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{12,}\b", "HEX"),
    (r"\b[\w-]*\d[\w-]*\b", "ID"),  # tokens holding a digit: req-0a1b, pod-7, step=12's value
    (r"(?<![\w<])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w>])", "NUM"),
)


@dataclass
class Template:
    """One message template with its count, first and last time and a sample record."""

    template: str
    count: int
    first: Evidence
    last_ts: datetime | None
    levels: set[str] = field(default_factory=set)

    @property
    def first_ts(self) -> datetime | None:
        return self.first.ts


def make_miner() -> TemplateMiner:
    """A Drain miner configured in code (TemplateMiner(config=None) would read drain3.ini from
    the working directory, which an incident dump could supply)."""
    cfg = TemplateMinerConfig()
    cfg.drain_sim_th = 0.5
    cfg.drain_depth = 4
    cfg.drain_max_children = 100
    cfg.drain_max_clusters = MAX_CLUSTERS
    cfg.parametrize_numeric_tokens = True
    cfg.profiling_enabled = False
    cfg.masking_instructions = [MaskingInstruction(p, name) for p, name in _MASKS]
    return TemplateMiner(persistence_handler=None, config=cfg)


def is_access_line(ev: Evidence) -> bool:
    """A web server's request line: counted as rates per status class, never a row of its own."""
    return ev.attrs.get("format") == "access" or (
        "status" in ev.attrs and "method" in ev.attrs and "path" in ev.attrs)


def message(ev: Evidence) -> str:
    """The text mined for a record: its first line, bounded."""
    text = ev.text.strip().split("\n", 1)[0]
    return text[:MAX_TEXT]


def fold(text: str) -> str:
    return _FOLD.sub("#", text.lower())


def mine(records: Iterable[Evidence]) -> list[Template]:
    """Templates of `records` (access lines left out), most frequent first; ties by first time."""
    miner = make_miner()
    by_cluster: dict[int, Template] = {}
    shape_cluster: dict[str, int] = {}
    for ev in records:
        if ev.flags or is_access_line(ev):
            continue
        text = message(ev)
        shape = fold(text)
        cid = shape_cluster.get(shape)
        if cid is None:
            cid = int(miner.add_log_message(text)["cluster_id"])
            shape_cluster[shape] = cid
        t = by_cluster.get(cid)
        if t is None:
            by_cluster[cid] = Template("", 1, ev, ev.ts, {ev.level or ""})
        else:
            t.count += 1
            t.last_ts = ev.ts or t.last_ts
            t.levels.add(ev.level or "")
    clusters = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    for cid, t in by_cluster.items():
        t.template = clusters.get(cid, message(t.first))
    return sorted(by_cluster.values(), key=lambda t: (-t.count, t.first.ts or datetime.max))


def new_since(baseline: Iterable[Evidence], window: Iterable[Evidence]) -> list[Template]:
    """Templates of `window` that no baseline record matches, in order of first appearance."""
    base = make_miner()
    for shape_text in {fold(message(ev)): message(ev) for ev in baseline
                       if not ev.flags and not is_access_line(ev)}.values():
        base.add_log_message(shape_text)
    fresh = [t for t in mine(window) if base.match(message(t.first)) is None
             and base.match(t.template) is None]
    return sorted(fresh, key=lambda t: t.first.ts or datetime.max)
