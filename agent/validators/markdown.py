"""A small Markdown reader: headings -> sections with line numbers, fenced code kept apart, prose split
into sentences (table rows and list items stay whole) so prose rules never look inside code."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.vocabulary import vocabulary

SectionKind = str  # summary | impact | timeline | detection | analysis | root_causes | lessons | action_items | other

# Order matters: the first pattern that matches a heading wins (agent/vocabulary/sections.yaml).
_KIND_PATTERNS: list[tuple[SectionKind, re.Pattern[str]]] = vocabulary("sections").items()
CANONICAL_ORDER: list[SectionKind] = [
    "summary", "timeline", "detection", "analysis", "root_causes", "lessons", "action_items",
]
CANONICAL_TITLES: dict[SectionKind, str] = {
    "summary": "Executive Summary & Impact",
    "timeline": "Timeline",
    "detection": "Detection & Initial Response",
    "analysis": "Technical Analysis",
    "root_causes": "Root Causes & Contributing Factors",
    "lessons": "Lessons Learned",
    "action_items": "Action Items",
}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+.#-]*)")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_INLINE_CODE = re.compile(r"`[^`]+`")
_FINDING_ECHO = re.compile(r"^\s*>\s*[-*]\s*`[a-z]+(?:-[a-z]+)*`\s*\(line")
# Sentence boundary: end punctuation then space then something that starts a sentence.
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z*\[(@\"'`])")
_ABBREV = re.compile(r"\b(e\.g|i\.e|vs|etc|approx|cf|no|fig|resp)\.$", re.IGNORECASE)


def heading_kind(title: str) -> SectionKind:
    clean = re.sub(r"[*_`#]", "", title).strip()
    clean = re.sub(r"^\d+[.)]\s*", "", clean)
    for kind, pat in _KIND_PATTERNS:
        if pat.search(clean):
            return kind
    return "other"


@dataclass
class Section:
    title: str
    level: int
    kind: SectionKind
    start: int  # 1-based line of the heading (0 for text before the first heading)
    end: int  # last line, inclusive
    own_kind: SectionKind = "other"  # what the heading itself says, before inheriting the parent's


@dataclass
class CodeBlock:
    lang: str
    start: int  # line of the opening fence
    end: int
    body: str


@dataclass
class Unit:
    """A piece of prose a rule looks at: a sentence, a list item or a table row."""

    text: str  # as written (inline code included)
    line: int
    section: Section
    is_table_row: bool = False

    @property
    def plain(self) -> str:
        """Text with inline code replaced and bold markers removed (what prose detectors read)."""
        return plain_text(self.text)


def plain_text(text: str) -> str:
    out = _INLINE_CODE.sub("CODESPAN", text)
    out = out.replace("**", "").replace("__", "")
    out = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", out)  # list markers
    out = re.sub(r"^\s*>\s?", "", out)
    return out.strip()


@dataclass
class Document:
    text: str
    lines: list[str]
    sections: list[Section] = field(default_factory=list)
    code_blocks: list[CodeBlock] = field(default_factory=list)
    code_lines: set[int] = field(default_factory=set)

    def section_at(self, line: int) -> Section:
        best = self.sections[0]
        for s in self.sections:
            if s.start <= line <= s.end and s.start >= best.start:
                best = s
        return best

    def sections_of(self, kind: SectionKind) -> list[Section]:
        return [s for s in self.sections if s.kind == kind]

    def top_sections(self) -> list[Section]:
        """Level-2 sections (level-1 if the document uses only level-1 headings below the title)."""
        levels = sorted({s.level for s in self.sections if s.level > 0})
        if not levels:
            return []
        h1 = [s for s in self.sections if s.level == 1]
        lvl = levels[1] if len(h1) == 1 and len(levels) > 1 else levels[0]
        return [s for s in self.sections if s.level == lvl]

    def prose_lines(self, section: Section | None = None) -> list[tuple[int, str]]:
        """(line number, text) of non-code, non-heading, non-empty lines, optionally within a section."""
        lo, hi = (1, len(self.lines)) if section is None else (section.start, section.end)
        out = []
        for n in range(max(lo, 1), hi + 1):
            if n in self.code_lines:
                continue
            t = self.lines[n - 1]
            if not t.strip() or _HEADING.match(t) or _TABLE_SEP.match(t):
                continue
            out.append((n, t))
        return out

    def units(self, section: Section | None = None) -> list[Unit]:
        out: list[Unit] = []
        for n, t in self.prose_lines(section):
            if _FINDING_ECHO.match(t):  # a rendered list of validator findings quotes the offending words
                continue
            sec = self.section_at(n)
            if t.lstrip().startswith("|"):
                out.append(Unit(t.strip(), n, sec, is_table_row=True))
                continue
            for s in split_sentences(t):
                out.append(Unit(s, n, sec))
        return out

    def section_text(self, section: Section) -> str:
        return "\n".join(t for _, t in self.prose_lines(section))


def split_sentences(text: str) -> list[str]:
    parts = _SENT_SPLIT.split(text.strip())
    merged: list[str] = []
    for p in parts:
        if merged and _ABBREV.search(merged[-1]):
            merged[-1] = merged[-1] + " " + p
        else:
            merged.append(p)
    return [m for m in (x.strip() for x in merged) if m]


def table_cells(row: str) -> list[str]:
    r = row.strip()
    r = r.removeprefix("|")
    r = r.removesuffix("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", r)]


def parse(md: str) -> Document:
    lines = md.splitlines()
    doc = Document(text=md, lines=lines)
    root = Section(title="", level=0, kind="other", start=0, end=len(lines))
    doc.sections.append(root)
    stack: list[Section] = [root]
    fence: str | None = None
    block_start, block_lang, body = 0, "", []
    for i, line in enumerate(lines, start=1):
        m = _FENCE.match(line)
        if fence is not None:
            doc.code_lines.add(i)
            if m and line.strip().startswith(fence):
                doc.code_blocks.append(CodeBlock(block_lang, block_start, i, "\n".join(body)))
                fence = None
            else:
                body.append(line)
            continue
        if m:
            fence, block_start, block_lang, body = m.group(1), i, m.group(2).lower(), []
            doc.code_lines.add(i)
            continue
        h = _HEADING.match(line)
        if not h:
            continue
        level, title = len(h.group(1)), h.group(2)
        while len(stack) > 1 and stack[-1].level >= level:
            stack[-1].end = i - 1
            stack.pop()
        own = heading_kind(title)
        kind = own if own != "other" else stack[-1].kind
        # A subsection keeps its parent's kind when it names a sub-part (e.g. "Impact" under the summary).
        if own == "impact" and stack[-1].kind == "summary":
            kind = "summary"
        sec = Section(title=title, level=level, kind=kind, start=i, end=len(lines), own_kind=own)
        doc.sections.append(sec)
        stack.append(sec)
    if fence is not None:  # unterminated fence: treat the rest as code, as renderers do
        doc.code_blocks.append(CodeBlock(block_lang, block_start, len(lines), "\n".join(body)))
    return doc


_META = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*:]+?):?\*\*:?\s*(.*?)\s*$|^\s*([A-Z][\w /&-]{1,30}):\s+(.+?)\s*$")


def metadata(doc: Document) -> dict[str, str]:
    """`**Key**: value` lines before the first level-2 heading, keys lower-cased ("severity", ...)."""
    out: dict[str, str] = {}
    limit = next((s.start for s in doc.sections if s.level >= 2), len(doc.lines) + 1)
    for n in range(1, min(limit, len(doc.lines) + 1)):
        if n in doc.code_lines:
            continue
        m = _META.match(doc.lines[n - 1])
        if m:
            key = (m.group(1) or m.group(3) or "").strip().lower()
            val = (m.group(2) if m.group(1) else m.group(4)) or ""
            out.setdefault(key, val.strip())
    return out


def tables(doc: Document, section: Section) -> list[list[tuple[int, list[str]]]]:
    """Tables inside a section: each a list of (line, cells), header row first, separator dropped."""
    out: list[list[tuple[int, list[str]]]] = []
    cur: list[tuple[int, list[str]]] = []
    for n in range(max(section.start, 1), section.end + 1):
        t = doc.lines[n - 1] if n <= len(doc.lines) else ""
        if n not in doc.code_lines and t.lstrip().startswith("|"):
            if not _TABLE_SEP.match(t):
                cur.append((n, table_cells(t)))
            continue
        if cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def is_marked(text: str) -> bool:
    """True when a piece of text carries an explicit evidence marker."""
    return "[ASSUMPTION]" in text or "[DATA GAP]" in text
