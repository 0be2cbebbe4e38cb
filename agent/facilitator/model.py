"""The facilitator with a model behind it: history, the stage goal and the commands in every request,
its own call budget, and a guard that checks each reply before anyone sees it.

Each request carries the persona (system prompt), the chat prompt with the report or scope facts, the
current stage (goal, the questions the offline guide asks from computed facts, the commands the
reviewer can type, the next step) and the newest turns of the conversation that fit HISTORY_TOKENS.
The conversation itself lives in the checkpointed chat state (ChatState.chat_history), so a resumed
session's requests carry the turns said before the resume.

The chat has a budget separate from the draft's (Settings.chat_max_calls, default 30): a long
conversation can never starve the analysis of calls. A reply that breaks a hard rule (blame, legal
conclusions, absolute claims about a model, production code) is replaced by the offline facilitator's
answer and the event is traced; a model that fails (429, 500, garbage) costs only that reply.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import prompts
from agent.facilitator.stages import GUIDES
from agent.facilitator.understand import _blames_a_person
from agent.llm.client import LLMClient, LLMConfig
from agent.llm.errors import LLMError
from agent.llm.usage import Budget
from agent.llm.tracing import NoopTracer, Tracer
from agent.validators.remarks import classify_remark
from tools.tokens import count_tokens, truncate_to_tokens

HISTORY_TURNS = 8  # user+assistant pairs kept in each request at most ...
HISTORY_TOKENS = 2500  # ... and only as many of the newest as fit this budget
FACTS_TOKENS = 4000
REPLY_CHARS = 1200  # a chat reply is short; a longer one is cut at a sentence end


def reply_violation(text: str, names: Collection[str] = ()) -> str | None:
    """The hard rule a model reply breaks, or None. Same detectors as the report and the remarks."""
    return classify_remark(text, names) or ("no-blame" if _blames_a_person(text, names) else None)


@dataclass
class ChatModel:
    config: LLMConfig
    budget: Budget  # the chat's own, from Settings.chat_max_calls / chat_max_input_tokens
    client: LLMClient | None = None
    tracer: Tracer = field(default_factory=NoopTracer)
    guarded: list[dict[str, str]] = field(default_factory=list)  # replies replaced, for usage/export
    failures: list[str] = field(default_factory=list)
    exhausted: bool = False

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = LLMClient(self.config, tracer=self.tracer, budget=self.budget)

    @property
    def describe(self) -> str:
        return self.config.describe()

    def messages(self, gate: str, remark: str, facts: str, history: list[dict[str, str]],
                 questions: Sequence[str] = ()) -> list[dict[str, str]]:
        p = prompts.load("chat")
        msgs = [{"role": "system", "content": prompts.load("system").text},
                {"role": "system", "content": p.render(report=truncate_to_tokens(facts, FACTS_TOKENS))},
                {"role": "system", "content": stage_brief(gate, list(questions))}]
        msgs += recent_turns(history)
        msgs.append({"role": "user", "content": remark})
        return msgs

    def reply(self, gate: str, remark: str, facts: str, history: list[dict[str, str]],
              offline_reply: str, names: Collection[str] = (), questions: Sequence[str] = ()) -> tuple[str, str]:
        """(text to show, status): status is "model", "guarded", "failed" or "budget"."""
        if self.exhausted:
            return offline_reply, "budget"
        assert self.client is not None
        try:
            result = self.client.chat(self.messages(gate, remark, facts, history, questions), stage="chat")
        except LLMError as exc:
            if exc.kind == "budget":
                self.exhausted = True
                return (f"{offline_reply}\n(The chat's model budget is used up: {exc} Replies are offline "
                        "from here on; the draft's own budget is separate and untouched.)", "budget")
            self.failures.append(f"{exc.kind}: {str(exc)[:160]}")
            return f"{offline_reply}\n(The model did not answer: {exc.kind}. This reply is offline.)", "failed"
        text = _trim((result.content or "").strip())
        rule = reply_violation(text, names) if text else "empty"
        if rule is None:
            return text, "model"
        # Never shown: the offline facilitator's answer replaces it, and the event is traced.
        self.guarded.append({"gate": gate, "rule": rule})
        self.tracer.tool("reply_guard", {"gate": gate, "rule": rule}, {"replaced": True})
        return offline_reply, "guarded"

    def usage(self) -> dict[str, Any]:
        assert self.client is not None
        return {"engine": self.describe, "prompt": prompts.load("chat").id, "prompt_set": prompts.PROMPT_SET_VERSION,
                **self.client.usage_dict(),
                "guarded_replies": list(self.guarded), "failures": list(self.failures)}


def stage_brief(gate: str, questions: list[str]) -> str:
    """The current stage for the model: the same goal, questions and commands the reviewer sees."""
    g = GUIDES[gate]
    asked = "\n".join(f"- {q}" for q in questions) or "- (none open: help the reviewer finish this stage)"
    return (f"Current stage: {g.title}.\nStage goal: {g.goal}\nQuestions open at this stage:\n{asked}\n"
            f"Commands the reviewer can type here: {g.commands}\nNext step: {g.next_step}")


def recent_turns(history: list[dict[str, str]]) -> list[dict[str, str]]:
    """The newest turns (role and content only) that fit HISTORY_TURNS pairs and HISTORY_TOKENS.

    Walks back from the newest turn; a turn that would overflow the budget ends the walk, so the
    model never sees a conversation with a hole in the middle."""
    kept: list[dict[str, str]] = []
    used = 0
    for turn in reversed(history[-2 * HISTORY_TURNS:]):
        n = count_tokens(turn["content"])
        if used + n > HISTORY_TOKENS:
            break
        kept.append({"role": turn["role"], "content": turn["content"]})
        used += n
    kept.reverse()
    # A request starts its history on a user turn: an orphan assistant reply reads as the model's own.
    while kept and kept[0]["role"] != "user":
        kept.pop(0)
    return kept


def _trim(text: str) -> str:
    if len(text) <= REPLY_CHARS:
        return text
    cut = text.rfind(". ", 0, REPLY_CHARS)
    return text[: cut + 1 if cut > 0 else REPLY_CHARS] + " …"
