"""Chat sessions: the seven stages with the user in the loop, on LangGraph interrupt()/resume.

The chat graph reuses the draft graph's stage nodes and puts a review gate after the stages where a
facilitator would stop and ask: scope, evidence, timeline, hypotheses, draft, actions. A gate calls
`interrupt()` with what to show; the user's answer resumes it. Gates have no side effects before
`interrupt()` (LangGraph re-runs the node from its first line on resume), and every step is
checkpointed, so a session survives /quit, a crash or a closed terminal: resume it by id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from dateutil import parser as dateparser
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import BaseModel, Field

from agent import graph as g
from agent.offline.detection import human_duration
from agent.render import render_markdown
from agent.report import Report, TimelineEvent, iso_z
from agent.state import PostmortemState
from agent.validators.remarks import remark_reply
from tools.models import Evidence, EvidenceKind

HELP = """Commands:
  ok | yes            accept what is shown and go to the next stage
  /timeline           show the current timeline        /report   show the current draft
  /status             where the session is              /help     this text
  /quit               leave; resume later with: postmortem chat --session <id>
At the scope gate:     title: <text> | services: a, b | commander: <role>
At the timeline gate:  drop <n> | add <ISO-8601 UTC time> <what happened>
At the hypotheses gate: confirm <n> | reject <n>
At the actions gate:   owner <AI-00n> <role> | due <AI-00n> <YYYY-MM-DD>
Anything else is kept as a note for the review (free-form discussion needs an LLM: set OPENAI_*)."""

GATES = ("confirm_scope", "confirm_evidence", "confirm_timeline", "confirm_hypotheses",
         "confirm_draft", "confirm_actions")


class Prompt(BaseModel):
    """What a gate shows the user (the interrupt payload)."""

    gate: str
    title: str
    body: str
    hint: str


class ChatState(PostmortemState):
    notes: list[str] = Field(default_factory=list)  # free-form remarks the user made
    user_events: int = 0  # count of user-provided timeline events (for stable ids)
    last_reply: str = ""


def _accept(answer: str) -> bool:
    return answer.strip().lower() in ("ok", "yes", "y", "accept", "looks good", "lgtm", "next", "")


def _scope_text(state: ChatState) -> str:
    s = state.scope
    assert s is not None
    window = (f"{iso_z(s.window_start)} to {iso_z(s.window_end)}" if s.window_start and s.window_end
              else "[DATA GAP] not given")
    return "\n".join([
        f"Title: {s.title}", f"Services: {', '.join(s.services) or '[DATA GAP]'}",
        f"Commander (role): {s.commander}", f"Window: {window}",
        f"Declared severity: {s.declared_severity or 'none'} (the measured impact decides)",
        "", s.blameless_statement, *s.manifest_notes,
    ])


def timeline_text(events: list[TimelineEvent]) -> str:
    if not events:
        return "[DATA GAP] no dated events"
    return "\n".join(f"{i:>2}. {iso_z(e.timestamp)}  [{e.category}] {e.event}  ({', '.join(e.evidence)})"
                     for i, e in enumerate(events, 1))


def _hyp_text(state: ChatState) -> str:
    a = state.analysis
    assert a is not None
    lines = [f"Severity {a.severity} ({a.review_type} review): {a.severity_rationale.split(' Rule:')[0]}",
             f"Detected by {a.detection.detected_by}; time to detect {human_duration(a.detection.time_to_detect_s)}",
             "Failure modes: " + (", ".join(a.failure_modes) or "none classified"), "", "Hypotheses:"]
    lines += [f"{i:>2}. {h.statement} — {h.status}" for i, h in enumerate(a.hypotheses, 1)]
    return "\n".join(lines)


def _actions_text(report: Report) -> str:
    return "\n".join(f"{a.id} [{a.priority}] {a.action}\n      owner: {a.owner}; due {a.due}; "
                     f"verify: {a.verification}" for a in report.action_items) or "no actions"


def _ask(state: ChatState, gate: str, title: str, body: str, hint: str) -> str:
    answer = interrupt(Prompt(gate=gate, title=title, body=body, hint=hint).model_dump())
    return str(answer or "").strip()


def _note(state: ChatState, answer: str) -> dict[str, Any]:
    # Remarks are kept as said; one that breaks a hard rule (blame, hindsight, legal/HR, absolute model
    # claims, production code) also gets a gentle reframing reply, offline.
    hint = remark_reply(answer)
    reply = "Noted for the review meeting." + (f" {hint}" if hint else "")
    return {"notes": state.notes + [answer], "last_reply": reply}


def confirm_scope(state: ChatState) -> Command[Literal["confirm_scope", "data_collection"]]:
    answer = _ask(state, "confirm_scope", "Stage 1/7 - Scoping & safety", _scope_text(state),
                  "Confirm blameless intent and scope (ok), or correct: title: ... | services: ...")
    if _accept(answer):
        return Command(goto="data_collection", update={"last_reply": "Scope confirmed."})
    assert state.scope is not None
    scope = state.scope.model_copy()
    m = re.match(r"(title|services|commander)\s*:\s*(.+)", answer, re.I)
    if not m:
        return Command(goto="confirm_scope", update=_note(state, answer))
    key, value = m.group(1).lower(), m.group(2).strip()
    if key == "services":
        scope.services = [v.strip() for v in value.split(",") if v.strip()]
    else:
        setattr(scope, key, value)
    return Command(goto="confirm_scope", update={"scope": scope, "last_reply": f"{key} updated."})


def confirm_evidence(state: ChatState) -> Command[Literal["confirm_evidence", "timeline"]]:
    inv = state.inventory
    assert inv is not None
    body = "\n".join(
        [f"{s.path}: {s.kind}, {s.records} records, {s.malformed} malformed" for s in inv.sources]
        + [f"skipped {s.path}: {s.note}" for s in inv.skipped]
        + [f"Redactions: {inv.redactions or 'none'}; instruction-like records (data only): {len(inv.untrusted)}"]
        + [f"Missing: {gap}" for gap in inv.data_gaps]
    )
    answer = _ask(state, "confirm_evidence", "Stage 2/7 - Data collection", body,
                  "Anything missing? Add it to the dump and start a new session, or ok to continue.")
    if _accept(answer):
        return Command(goto="timeline", update={"last_reply": "Evidence accepted."})
    return Command(goto="confirm_evidence", update=_note(state, answer))


def confirm_timeline(state: ChatState, runtime: Runtime[g.Context]) -> Command[Literal["confirm_timeline", "analysis"]]:
    answer = _ask(state, "confirm_timeline", "Stage 3/7 - Timeline", timeline_text(state.timeline),
                  "Correct it: drop <n> | add <UTC time> <event>; or ok.")
    if _accept(answer):
        return Command(goto="analysis", update={"last_reply": "Timeline confirmed."})
    events = list(state.timeline)
    m_drop = re.match(r"drop\s+(\d+)$", answer, re.I)
    m_add = re.match(r"add\s+(\S+)\s+(.+)$", answer, re.I)
    if m_drop:
        idx = int(m_drop.group(1)) - 1
        if not 0 <= idx < len(events):
            return Command(goto="confirm_timeline", update={"last_reply": f"No event {idx + 1}."})
        removed = events.pop(idx)
        return Command(goto="confirm_timeline",
                       update={"timeline": events, "last_reply": f"Dropped: {removed.event}"})
    if m_add:
        try:
            when = dateparser.isoparse(m_add.group(1))
        except ValueError:
            return Command(goto="confirm_timeline",
                           update={"last_reply": "Time must be ISO-8601, e.g. 2026-03-14T09:41:00Z."})
        if when.tzinfo is None:
            return Command(goto="confirm_timeline",
                           update={"last_reply": "Give the zone (Z or +hh:mm) so the time is UTC-exact."})
        n = state.user_events + 1
        ev_id = f"user:{n}"
        text = m_add.group(2).strip()
        # The responder's statement becomes citable evidence (source: this chat session).
        store = runtime.context.store(state.store_path)
        if not store.exists(ev_id):
            store.add_many([Evidence(id=ev_id, kind=EvidenceKind.NOTE, ts=when, source="chat session",
                                     locator=f"user statement {n}", text=text,
                                     attrs={"heading": "responder-provided"})])
            store.finalize()
        events.append(TimelineEvent(timestamp=when.astimezone(timezone.utc),
                                    event=f"Responder-provided: {text}", evidence=[ev_id],
                                    category="context"))
        events.sort(key=lambda e: e.timestamp)
        return Command(goto="confirm_timeline", update={"timeline": events, "user_events": n,
                                                        "last_reply": "Event added."})
    return Command(goto="confirm_timeline", update=_note(state, answer))


def confirm_hypotheses(state: ChatState) -> Command[Literal["confirm_hypotheses", "synthesis", "light_synthesis"]]:
    answer = _ask(state, "confirm_hypotheses", "Stage 4/7 - Multi-lens analysis", _hyp_text(state),
                  "confirm <n> | reject <n> to record the team's view; ok to draft the report.")
    assert state.analysis is not None
    nxt = g.route_review_depth(state)
    if _accept(answer):
        return Command(goto=nxt, update={"last_reply": "Drafting the report."})
    m = re.match(r"(confirm|reject)\s+(\d+)$", answer, re.I)
    if not m:
        return Command(goto="confirm_hypotheses", update=_note(state, answer))
    idx = int(m.group(2)) - 1
    a = state.analysis.model_copy(deep=True)
    if not 0 <= idx < len(a.hypotheses):
        return Command(goto="confirm_hypotheses", update={"last_reply": f"No hypothesis {idx + 1}."})
    a.hypotheses[idx].status = "confirmed" if m.group(1).lower() == "confirm" else "rejected"
    return Command(goto="confirm_hypotheses", update={"analysis": a, "last_reply": "Recorded."})


def confirm_draft(state: ChatState) -> Command[Literal["confirm_draft", "confirm_actions"]]:
    assert state.report is not None
    v = state.report.validation
    body = (f"Draft ready: {len(state.markdown.splitlines())} lines; validation "
            f"{'passed' if v.passed else 'FAILED'} with {len(v.findings)} finding(s).\n"
            + "\n".join(f"- {s}" for s in state.report.summary))
    answer = _ask(state, "confirm_draft", "Stage 6/7 - Review & refine", body,
                  "/report shows the full draft; ok to go on to actions.")
    if _accept(answer):
        return Command(goto="confirm_actions", update={"last_reply": "Draft accepted."})
    return Command(goto="confirm_draft", update=_note(state, answer))


def confirm_actions(state: ChatState) -> Command[Literal["confirm_actions", "close"]]:
    assert state.report is not None
    answer = _ask(state, "confirm_actions", "Stage 7/7 - Close & track", _actions_text(state.report),
                  "owner AI-00n <role> | due AI-00n YYYY-MM-DD; ok to close and export to the tracker.")
    if _accept(answer):
        return Command(goto="close", update={"last_reply": "Closing."})
    m = re.match(r"(owner|due)\s+(AI-\d{3})\s+(.+)$", answer, re.I)
    if not m:
        return Command(goto="confirm_actions", update=_note(state, answer))
    report = state.report.model_copy(deep=True)
    item = next((a for a in report.action_items if a.id == m.group(2).upper()), None)
    if item is None:
        return Command(goto="confirm_actions", update={"last_reply": f"No action {m.group(2)}."})
    if m.group(1).lower() == "owner":
        item.owner = m.group(3).strip()
    else:
        try:
            item.due = datetime.strptime(m.group(3).strip(), "%Y-%m-%d").date()
        except ValueError:
            return Command(goto="confirm_actions", update={"last_reply": "Due date must be YYYY-MM-DD."})
    return Command(goto="confirm_actions",
                   update={"report": report, "markdown": render_markdown(report), "last_reply": "Updated."})


def _after_review(state: ChatState) -> Literal["synthesis", "light_synthesis", "confirm_draft"]:
    nxt = g.route_after_review(state)
    return "confirm_draft" if nxt == "close" else nxt


def build_chat_graph(checkpointer: BaseCheckpointSaver | None = None):  # type: ignore[no-untyped-def]
    cg = StateGraph(ChatState, context_schema=g.Context)
    for name, fn in g.STAGE_NODES.items():
        cg.add_node(name, fn)
    cg.add_node("confirm_scope", confirm_scope)
    cg.add_node("confirm_evidence", confirm_evidence)
    cg.add_node("confirm_timeline", confirm_timeline)
    cg.add_node("confirm_hypotheses", confirm_hypotheses)
    cg.add_node("confirm_draft", confirm_draft)
    cg.add_node("confirm_actions", confirm_actions)
    cg.add_edge(START, "scoping")
    cg.add_edge("scoping", "confirm_scope")
    cg.add_edge("data_collection", "confirm_evidence")
    cg.add_edge("timeline", "confirm_timeline")
    cg.add_edge("analysis", "confirm_hypotheses")
    cg.add_edge("synthesis", "review")
    cg.add_edge("light_synthesis", "review")
    cg.add_conditional_edges("review", _after_review, ["synthesis", "light_synthesis", "confirm_draft"])
    cg.add_edge("close", END)
    return cg.compile(checkpointer=checkpointer)


class ChatSession:
    """Drives the chat graph: `start()` / `resume()` return the next Prompt (None when closed)."""

    def __init__(self, graph: Any, session_id: str, ctx: g.Context) -> None:
        self.graph = graph
        self.config = {"configurable": {"thread_id": session_id}}
        self.session_id = session_id
        self.ctx = ctx

    def _pending(self) -> Prompt | None:
        snap = self.graph.get_state(self.config)
        for task in snap.tasks:
            for it in task.interrupts:
                return Prompt.model_validate(it.value)
        return None

    def state(self) -> ChatState:
        values = self.graph.get_state(self.config).values
        return ChatState.model_validate(values) if isinstance(values, dict) else values

    def start(self, initial: ChatState) -> Prompt | None:
        self.graph.invoke(initial, self.config, context=self.ctx)
        return self._pending()

    def current(self) -> Prompt | None:
        return self._pending()

    def answer(self, text: str) -> Prompt | None:
        self.graph.invoke(Command(resume=text), self.config, context=self.ctx)
        return self._pending()

    def finished(self) -> bool:
        return "close" in self.state().completed and self._pending() is None


def run_terminal(session: ChatSession, first: Prompt | None, read: Callable[[str], str],
                 write: Callable[[str], None], llm_available: bool,
                 respond: Callable[[str, str], Iterator[str]] | None = None) -> str:
    """The REPL: returns "closed" or "quit". `read`/`write` make it scriptable in tests.
    `respond(text, report_json)` streams a model reply to free-form remarks when an LLM is set."""
    prompt = first
    if not llm_available:
        write("Offline mode: every stage runs on the deterministic engine; free-form discussion "
              "and narrative rewriting need an LLM (set OPENAI_API_KEY / OPENAI_BASE_URL).")
    while prompt is not None:
        write(f"\n== {prompt.title} ==\n{prompt.body}\n({prompt.hint})")
        try:
            line = read("> ")
        except EOFError:
            line = "/quit"
        cmd = line.strip()
        if cmd in ("/quit", "/exit", "/q"):
            write(f"Session saved. Resume with: postmortem chat --session {session.session_id}")
            return "quit"
        if cmd == "/help":
            write(HELP)
            continue
        if cmd == "/timeline":
            write(timeline_text(session.state().timeline))
            continue
        if cmd == "/report":
            write(session.state().markdown or "No draft yet: the report is drafted after stage 4.")
            continue
        if cmd == "/status":
            st = session.state()
            write(f"Session {session.session_id}; finished stages: {', '.join(st.completed)}")
            continue
        prompt = session.answer(line)
        st = session.state()
        if st.last_reply:
            write(st.last_reply)
        if respond is not None and st.last_reply.startswith("Noted"):
            write("".join(respond(line, st.report.model_dump_json() if st.report else _scope_text(st))))
    write(f"Session closed. {len(session.state().tracker_export)} action(s) ready for the tracker.")
    return "closed"


def new_initial_state(dump: Path, workdir: Path, today: Any, names_opt_in: bool) -> ChatState:
    from agent.state import RunOptions

    return ChatState(options=RunOptions(dump=str(dump.resolve()), workdir=str(workdir.resolve()),
                                        postmortem_date=today, names_opt_in=names_opt_in))
