"""Instruction-like content in evidence: flag it, and quote evidence as delimited data.

Incident dumps hold prompts, model outputs and chat from anyone. Text aimed at an AI ("ignore
previous instructions ...") is flagged at ingestion; later stages never quote flagged records and
always pass evidence to a model as data inside delimiters.
"""

from __future__ import annotations

import html
import re

# Lower-case cues; the regexes below run only when one is present (ingestion checks every record).
CUES = (
    "ignore", "disregard", "forget", "override", "you are now", "instruction", "system prompt",
    "do not tell", "do not inform", "do not reveal", "as an ai", "canary", "pretend", "note to",
    "note for", "message to", "message for", "im_start", "im_end", "inst]", "system:",
    "assistant:", "user:", "human:", "tool_call", "function_call", "```tool", "<function=", "### ",
    "</evidence", "</context", "</system", "</instruction", "</prompt", "</document", "</user", "</assistant",
)
_INSTRUCTION = re.compile(
    r"(?i)\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)?"
    r"(?:previous|prior|above|earlier|preceding|system|original)\s+(?:instructions?|prompts?|rules?|messages?|context)"
    r"|\bdisregard (?:the|everything) above\b"
    # "ignore the above", "forget all of the previous": no object needed once "the above" follows.
    r"|\b(?:ignore|disregard|forget)\s+(?:all\s+)?(?:of\s+)?(?:the|your|everything)\s+(?:above|previous|prior|preceding)\b"
    r"|\byou are now\b"
    r"|\b(?:new|updated|real) (?:system )?instructions?\s*:"
    r"|\bsystem prompt\s*:"
    r"|\bdo not (?:tell|inform|reveal to) the user\b"
    r"|\bas an ai(?: language model)?,? (?:you|ignore)\b"
    r"|\b(?:print|output|write|include|insert|add) (?:the )?(?:word |phrase |string |token )?[\"'`]?canary"
    r"|\bpretend (?:to be|you are)\b"
    r"|\breveal (?:your|the) (?:system )?(?:prompt|instructions)\b"
    r"|\b(?:note|message) (?:to|for) (?:the )?(?:ai|llm|assistant|model|postmortem (?:bot|agent|tool))\b"
)
_ROLE = re.compile(
    r"(?im)^\s*(?:system|assistant)\s*:|<\|im_start\|>|<\|im_end\|>|\[/?INST\]"
    r"|#{2,4}\s*(?:instruction|system|response)s?\b"
    # Closing tags of the delimiters prompts wrap data in: text that closes them tries to step out.
    r"|</\s*(?:evidence|context|system|instructions?|prompt|document|user|assistant)\s*>"
    # Role markers mid-line, written as a transcript writes them (capitalised, then text); lower
    # case "system:" mid-line is ordinary in logs ("kernel: system: ...").
    r"|(?-i:(?<![\w\-])(?:Assistant|System|Human)\s?:\s+[A-Za-z])"
)
_TOOL = re.compile(r"(?i)\"?function_call\"?\s*[:=]|\"tool_calls\"\s*:|<tool_call>|```tool|<function=")


def has_cue(low: str) -> bool:
    """False when lower-cased text holds none of the cues, so instruction_flags would return []."""
    for cue in CUES:
        if cue in low:
            return True
    return False


def instruction_flags(text: str) -> list[str]:
    """Flag names for `text` (empty when it looks like ordinary evidence)."""
    if not text:
        return []
    low = text.lower()
    for cue in CUES:  # a plain loop: any() over a generator costs ~2x on clean lines
        if cue in low:
            break
    else:
        return []
    flags = []
    if _INSTRUCTION.search(text):
        flags.append("untrusted-instruction")
    if _ROLE.search(text):
        flags.append("role-marker")
    if _TOOL.search(text):
        flags.append("tool-call-syntax")
    return flags


_DELIMITER = re.compile(r"(?i)<(/?)(\s*evidence)")


def quote_evidence(ev_id: str, text: str) -> str:
    """Evidence as inert data for a prompt: delimiters cannot be opened or closed from inside.

    Only our own tag is escaped (`<evidence`, `</evidence` -> `&lt;...`), so the rest of the
    text reaches the model verbatim and quotes taken from it still match the stored evidence.
    """
    body = _DELIMITER.sub(r"&lt;\1\2", text)
    return f'<evidence id="{html.escape(ev_id)}">\n{body}\n</evidence>'
