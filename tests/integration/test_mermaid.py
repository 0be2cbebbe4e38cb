"""The report's Mermaid timeline: labels are escaped (not stripped) and parse back to what was written.

Two checks: a model of Mermaid's timeline lexer written from its grammar (always runs), and the
real Mermaid parser through node (runs when node and the `mermaid` + `jsdom` npm packages are
there: set MERMAID_NODE_MODULES to their node_modules folder, or install them into ./node_modules).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent.model import TimelineEvent
from agent.render import MERMAID_LABEL_CHARS, _mermaid, _short, gist, mermaid_text

ROOT = Path(__file__).resolve().parents[2]
CHECKER = Path(__file__).resolve().parents[1] / "mermaid_check.mjs"
T0 = datetime(2024, 6, 3, 14, 2, 0, tzinfo=timezone.utc)

# Labels that broke the old renderer (which deleted `:#;` and so garbled metric names) or that
# would break a naive one.
NASTY = [
    "vllm:avg_generation_tokens_per_s fell below 5: baseline 40",
    "HTTP 503 rate 12.5% (#3 worst; see runbook)",
    "alert KubePodCrashLooping: <pod> restarted & back-off",
    "note says ```not a fence``` and %%{init: {'theme':'dark'}}%% and 100%%",
    "entity-looking text #58; and &amp; stay literal",
    "ends with a colon:",
]


def _timeline(labels: list[str]) -> list[TimelineEvent]:
    cats = ["anomaly", "alert", "page", "mitigation", "recovery", "resolution"]
    return [TimelineEvent(timestamp=T0 + timedelta(minutes=i), event=label, category=cats[i % len(cats)])
            for i, label in enumerate(labels)]


def _block(lines: list[str]) -> str:
    assert lines[0] == "```mermaid" and lines[-1] == "```"
    return "\n".join(lines[1:-1]) + "\n"


def _expected(events: list[TimelineEvent]) -> list[tuple[str, list[str]]]:
    # What the reader sees: the category, then the event's gist shortened to the label budget.
    return [(e.timestamp.strftime("%H:%M:%S"), [f"{e.category} - {_short(gist(e.event))}"]) for e in events]


# ---------------------------------------------------------------- lexer model

_ENTITY = re.compile(r"#(\w+);")
# Mermaid's timeline lexer (INITIAL state), in its rule order; the first rule that matches wins.
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("comment", re.compile(r"%(?!\{)[^\n]*")),
    ("comment", re.compile(r"[^}]%%[^\n]*")),
    ("newline", re.compile(r"\n+")),
    ("space", re.compile(r"\s+")),
    ("comment", re.compile(r"#[^\n]*")),
    ("timeline", re.compile(r"timeline\b", re.I)),
    ("title", re.compile(r"title\s[^\n]+", re.I)),
    ("section", re.compile(r"section\s[^:\n]+", re.I)),
    ("event", re.compile(r":\s(?:[^:\n]|:(?!\s))+")),
    ("period", re.compile(r"[^#:\n]+")),
]


def _encode_entities(text: str) -> str:
    """What Mermaid does to the whole diagram before parsing: `#58;` becomes an opaque placeholder."""
    return _ENTITY.sub(lambda m: f"\ufb02\u00b0{m.group(1)}\u00b6\u00df", text)


def _decode(text: str) -> str:
    return re.sub(r"\ufb02\u00b0(\d+)\u00b6\u00df", lambda m: chr(int(m.group(1))), text)


def _lex_line(line: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    while pos < len(line):
        for name, rx in _RULES:
            m = rx.match(line, pos)
            if m and m.end() > pos:
                out.append((name, m.group()))
                pos = m.end()
                break
        else:
            out.append(("error", line[pos]))
            pos += 1
    return [t for t in out if t[0] not in ("space", "newline")]


def model_parse(diagram: str) -> list[tuple[str, list[str]]]:
    """(period, events) per line as Mermaid's timeline lexer would split them."""
    if "%%{" in diagram:
        raise AssertionError("a %%{ directive would reconfigure the renderer")
    tasks: list[tuple[str, list[str]]] = []
    for line in _encode_entities(diagram).splitlines()[2:]:  # after `timeline` and the title
        tokens = _lex_line(line)
        assert tokens and tokens[0][0] == "period", (line, tokens)
        assert all(kind == "event" for kind, _ in tokens[1:]), (line, tokens)
        tasks.append((_decode(tokens[0][1]).strip(), [_decode(t[2:]).strip() for _, t in tokens[1:]]))
    return tasks


def test_lexer_model_catches_an_unescaped_separator() -> None:
    # The model must be able to fail: a raw ": " inside a label splits it into two events.
    raw = "timeline\n    title t\n    14.02.00 : anomaly - p99: 4 s\n"
    assert model_parse(raw) == [("14.02.00", ["anomaly - p99", "4 s"])]


def test_labels_survive_the_timeline_grammar_unchanged() -> None:
    events = _timeline(NASTY)
    assert model_parse(_block(_mermaid(events))) == _expected(events)


def test_block_cannot_close_its_markdown_fence() -> None:
    body = _block(_mermaid(_timeline(NASTY)))
    assert "`" not in body and "%" not in body


def test_long_labels_are_shortened_without_cutting_an_entity() -> None:
    keep = MERMAID_LABEL_CHARS - 10
    label = "x" * keep + ":" * 30
    text = _block(_mermaid(_timeline([label, "second"])))
    (period, [event]), _ = model_parse(text)
    assert event.endswith("...") and event.startswith("anomaly - " + "x" * keep + ":")
    assert not re.search(r"#\d*$|#\d+(?![\d;])", text.splitlines()[2])


def test_escape_helper_is_one_line() -> None:
    assert mermaid_text("a\n b\tc: d") == "a b c#58; d"


# ---------------------------------------------------------------- real Mermaid


def _node_modules() -> Path | None:
    for cand in (os.environ.get("MERMAID_NODE_MODULES"), str(ROOT / "node_modules")):
        if cand and (Path(cand) / "mermaid" / "package.json").is_file() and (Path(cand) / "jsdom").is_dir():
            return Path(cand)
    return None


def _real_parse(diagrams: list[str]) -> list[dict[str, object]]:
    node, modules = shutil.which("node"), _node_modules()
    if node is None or modules is None:
        pytest.skip("node with the mermaid and jsdom npm packages is not installed")
    proc = subprocess.run([node, str(CHECKER), str(modules)], input=json.dumps(diagrams),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_real_mermaid_reads_every_label_as_written() -> None:
    events = _timeline(NASTY)
    good, broken = _block(_mermaid(events)), "timeline\n    title t\n    14.02.00 : anomaly - p99: 4 s\n"
    parsed, control = _real_parse([good, broken])
    assert parsed["ok"] and parsed["type"] == "timeline", parsed
    assert [(t["period"], t["events"]) for t in parsed["tasks"]] == [(p, e) for p, e in _expected(events)]
    # The same parser splits an unescaped label: the comparison above is not vacuous.
    assert control["tasks"][0]["events"] == ["anomaly - p99", "4 s"]
