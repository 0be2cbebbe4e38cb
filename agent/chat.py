"""Chat sessions: the seven stages with the user in the loop, on LangGraph interrupt()/resume.

The chat graph reuses the draft graph's stage nodes and puts a review gate after the stages where a
facilitator would stop and ask: scope, evidence, timeline, hypotheses, draft, actions. A gate calls
`interrupt()` with what to show; the user's answer resumes it. Gates have no side effects before
`interrupt()` (LangGraph re-runs the node from its first line on resume), and every step is
checkpointed, so a session survives /quit, a crash or a closed terminal: resume it by id.

Every remark lands somewhere (agent.facilitator): corrections in words are applied, information
becomes citable evidence (note:chat:N) cited in the report's "Review Discussion", proposed fixes are
parked until the actions stage, and out-of-scope requests get the persona's reply. Closing writes the
report, tracker import files and a calendar file into the session's output folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import BaseModel, Field

from agent import graph as g
from agent.facilitator import apply as ap
from agent.facilitator.stages import GUIDES, questions
from agent.facilitator.understand import Intent, understand
from agent.model import ActionItem, Report, TimelineEvent, iso_z
from agent.offline.detection import human_duration
from agent.render import render_markdown
from agent.state import PostmortemState
from agent.validators.people import people

if TYPE_CHECKING:
    from agent.facilitator.model import ChatModel

HELP = """Commands (any stage):
  ok | yes            accept what is shown and go to the next stage
  /timeline           the current timeline          /report   the current draft (or final report)
  /status             where the session is           /export   write the closing files again (after closing)
  /help               this text                      /quit     leave; the resume command is printed
Say things in words too: corrections are applied ("entry 1 is wrong, it started at 13:48"),
information is kept as citable evidence (note:chat:N), proposed fixes are parked for the actions stage.
At the scope gate:      title: <text> | services: a, b | commander: <role> | severity should be P2 because ...
At the timeline gate:   drop <n> | move <n> to <time> | reword <n>: <text> | add <time> <what happened>
At the hypotheses gate: confirm <n> [because ...] | reject <n> because <reason>
At the actions gate:    owner AI-00n <role> | due AI-00n YYYY-MM-DD | verify AI-00n <check> | adopt C<n>"""

GATES = tuple(GUIDES)
FREE_FORM = ("question", "info", "unclear")  # remark kinds a model may answer in its own words
ROW_CHARS = 150  # a timeline row in the terminal; /report has the full text


class Prompt(BaseModel):
    """What a gate shows the user (the interrupt payload)."""

    gate: str
    title: str
    body: str
    hint: str


class ChatState(PostmortemState):
    notes: list[str] = Field(default_factory=list)  # every remark as said, in order
    chat_notes: list[dict[str, str]] = Field(default_factory=list)  # citable: id, text, gate, at
    parked: list[str] = Field(default_factory=list)  # proposed fixes, candidate actions C1..Cn
    open_questions: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)  # scope/severity/hypothesis/timeline changes, with reasons
    user_events: int = 0  # kept for sessions checkpointed by older versions
    last_reply: str = ""
    last_kind: str = ""  # what the last remark was understood as (for the terminal and the model)
    model_reply: str = ""  # the chat model's answer to the last free-form remark, already guarded
    # The conversation as the model sees it: {"role", "content", "gate"} per turn, checkpointed so a
    # resumed session's requests still carry what was said before the resume.
    chat_history: list[dict[str, str]] = Field(default_factory=list)
    output_dir: str = ""
    outputs: list[str] = Field(default_factory=list)


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


def timeline_text(events: list[TimelineEvent], width: int = ROW_CHARS) -> str:
    """One short row per event; consecutive near-copies (same minute, same category, same text
    start) are folded into the first so the gate stays readable."""
    if not events:
        return "[DATA GAP] no dated events"
    lines: list[str] = []
    prev_key: tuple[str, str, str] | None = None
    for i, e in enumerate(events, 1):
        key = (iso_z(e.timestamp)[:16], e.category, " ".join(e.event.split())[:40])
        if key == prev_key:
            lines[-1] += f" (+ near-copy {i})"
            continue
        prev_key = key
        src = e.evidence[0] + (f" +{len(e.evidence) - 1}" if len(e.evidence) > 1 else "") if e.evidence else "no source"
        lines.append(f"{i:>2}. {iso_z(e.timestamp)} [{e.category}] {ap.short(e.event, width)}  ({ap.short(src, 48)})")
    return "\n".join(lines)


def _hyp_text(state: ChatState) -> str:
    a = state.analysis
    assert a is not None
    lines = [f"Severity {a.severity} ({a.review_type} review): {ap.short(a.severity_rationale.split(' Rule:')[0], 200)}",
             f"Detected by {a.detection.detected_by}; time to detect {human_duration(a.detection.time_to_detect_s)}",
             "Failure modes: " + (", ".join(a.failure_modes) or "none classified"), "", "Hypotheses:"]
    lines += [f"{i:>2}. {ap.short(h.statement, 160)} — {h.status}" for i, h in enumerate(a.hypotheses, 1)]
    return "\n".join(lines)


def _actions_text(state: ChatState) -> str:
    assert state.report is not None
    lines = [f"{a.id} [{a.priority}] {ap.short(a.action, 160)}\n      owner: {a.owner}; due {a.due}; "
             f"verify: {ap.short(a.verification, 140)}" for a in state.report.action_items] or ["no actions"]
    if state.parked:
        lines += ["", "Parked proposals (adopt C<n> to make one an action):"]
        lines += [f"  C{i} {ap.short(p, 150)}" for i, p in enumerate(state.parked, 1)]
    return "\n".join(lines)


def _evidence_text(state: ChatState) -> str:
    inv = state.inventory
    assert inv is not None
    red = ", ".join(f"{k} {v}" for k, v in sorted(inv.redactions.items())) or "none"
    return "\n".join(
        [f"{s.path}: {s.kind}, {s.records} records" + (f", {s.malformed} malformed" if s.malformed else "")
         for s in inv.sources]
        + [f"skipped {s.path}: {s.note}" for s in inv.skipped]
        + [f"Redactions: {red}; instruction-like records (treated as data only): {len(inv.untrusted)}"]
        + [f"Missing: {gap}" for gap in inv.data_gaps])


def _body(gate: str, state: ChatState, text: str) -> str:
    g_ = GUIDES[gate]
    ask = questions(gate, state)
    extra = ["", f"Goal: {g_.goal}"] + ([f"Question: {q}" for q in ask] if ask else [])
    return text + "\n" + "\n".join(extra)


def _ask(state: ChatState, gate: str, text: str) -> str:
    g_ = GUIDES[gate]
    answer = interrupt(Prompt(gate=gate, title=g_.title, body=_body(gate, state, text),
                              hint=f"{g_.commands}. {g_.next_step}").model_dump())
    return str(answer or "").strip()


def discussion_lines(state: ChatState) -> list[str]:
    """The report section that carries the meeting: cited notes, decisions, parked proposals."""
    if not (state.chat_notes or state.decisions or state.parked or state.open_questions):
        return []
    out = ["## Review Discussion", ""]
    out += [f"- {ap.short(n['text'], 400)} ({n['id']})" for n in state.chat_notes if n.get("gate") == "information"]
    out += [f"- Decision: {ap.short(d, 300)}" for d in state.decisions]
    out += [f"- Proposal parked in review, not adopted as an action: {ap.short(p, 300)}" for p in state.parked]
    out += [f"- Open question from the review: {ap.short(q, 300)}" for q in state.open_questions]
    return out + [""]


def final_markdown(state: ChatState, report: Report | None = None) -> str:
    report = report or state.report
    if report is None:
        return ""
    md = render_markdown(report)
    extra = discussion_lines(state)
    if not extra:
        return md
    marker = "\n## Appendix: Method"
    cut = md.find(marker)
    return md + "\n" + "\n".join(extra) if cut < 0 else md[:cut + 1] + "\n".join(extra) + md[cut:]


def _remark(state: ChatState, gate: str, answer: str, runtime: Runtime[g.Context]) -> dict[str, Any]:
    """Anything that is not a gate command: understood, applied, and answered in one short line."""
    store = runtime.context.store(state.store_path) if state.store_path else None
    names = people(store) if store is not None else []
    intent = understand(answer, gate, names)
    update = _apply(intent, gate, state, store)
    update["notes"] = state.notes + [answer]
    update["last_kind"] = intent.kind
    merged = state.model_copy(update={k: v for k, v in update.items() if k in ChatState.model_fields})
    if state.report is not None:
        update["markdown"] = final_markdown(merged)
    model_text = _ask_model(merged, gate, answer, names, runtime.context.facilitator)
    update["model_reply"] = model_text
    said = "\n".join(t for t in (update.get("last_reply", ""), model_text) if t)
    update["chat_history"] = state.chat_history + [{"role": "user", "content": answer, "gate": gate},
                                                   {"role": "assistant", "content": said, "gate": gate}]
    return update


def _ask_model(state: ChatState, gate: str, answer: str, names: list[str], model: ChatModel | None) -> str:
    """The chat model's answer to a free-form remark ("" when there is none or it adds nothing).

    Asked here, inside the gate after its interrupt, so the reply is checkpointed together with the
    remark. A hard-rule remark keeps the persona's fixed reply: a model must not soften it."""
    if model is None or state.last_kind not in FREE_FORM:
        return ""
    text, _status = model.reply(gate, answer, _facts(state), state.chat_history, state.last_reply, names,
                                questions(gate, state))
    return "" if text == state.last_reply else text


def _apply(intent: Intent, gate: str, state: ChatState, store: Any) -> dict[str, Any]:
    if intent.kind == "rule":
        return {"last_reply": intent.reply}
    if intent.kind.startswith("tl_"):
        if gate == "confirm_timeline" and store is not None:
            return ap.timeline_edit(intent, state, store)
        intent = Intent(kind="info", text=intent.text)
    if intent.kind == "hypothesis" and gate == "confirm_hypotheses" and store is not None:
        return ap.hypothesis_verdict(intent, state, store)
    if intent.kind in ("severity", "scope") and state.scope is not None:
        return ap.scope_change(intent, state)
    if intent.kind == "fix":
        n = len(state.parked) + 1
        when = ("adopt it now with 'adopt C{n}'" if gate == "confirm_actions"
                else "it comes back at the actions stage, once the analysis shows what it has to address")
        return {"parked": state.parked + [intent.text],
                "last_reply": f"Parked as candidate action C{n}: {when.format(n=n)}. "
                              "A fix chosen before the cause is understood tends to treat a symptom."}
    if intent.kind == "question":
        return {"open_questions": state.open_questions + [intent.text],
                "last_reply": f"Kept as open question {len(state.open_questions) + 1} for the meeting "
                              "(free-form answers need a model; the facts are under /timeline and /report)."}
    if intent.kind in ("info", "hypothesis", "severity", "scope") and store is not None:
        ev_id, upd = ap.add_note(store, state, intent.text, None, "information")
        return {**upd, "last_reply": f"Kept as evidence {ev_id}; the report cites it under Review Discussion."}
    if intent.kind == "info":  # before the evidence store exists (scoping): recorded, not yet citable
        return {"decisions": state.decisions + [f"Scoping remark: {intent.text}"],
                "last_reply": "Recorded with the scope; it appears under Review Discussion."}
    return {"last_reply": "Not sure what to do with that: /help lists the commands, and a sentence of "
                          "information is kept as citable evidence."}


def confirm_scope(state: ChatState, runtime: Runtime[g.Context]) -> Command[Literal["confirm_scope", "data_collection"]]:
    answer = _ask(state, "confirm_scope", _scope_text(state))
    if _accept(answer):
        return Command(goto="data_collection", update={"last_reply": "Scope confirmed.", "last_kind": "ok"})
    return Command(goto="confirm_scope", update=_remark(state, "confirm_scope", answer, runtime))


def confirm_evidence(state: ChatState, runtime: Runtime[g.Context]) -> Command[Literal["confirm_evidence", "timeline"]]:
    answer = _ask(state, "confirm_evidence", _evidence_text(state))
    if _accept(answer):
        return Command(goto="timeline", update={"last_reply": "Evidence accepted.", "last_kind": "ok"})
    return Command(goto="confirm_evidence", update=_remark(state, "confirm_evidence", answer, runtime))


def confirm_timeline(state: ChatState, runtime: Runtime[g.Context]) -> Command[Literal["confirm_timeline", "analysis"]]:
    answer = _ask(state, "confirm_timeline", timeline_text(state.timeline))
    if _accept(answer):
        return Command(goto="analysis", update={"last_reply": "Timeline confirmed.", "last_kind": "ok"})
    return Command(goto="confirm_timeline", update=_remark(state, "confirm_timeline", answer, runtime))


def confirm_hypotheses(state: ChatState, runtime: Runtime[g.Context]) -> Command[Literal["confirm_hypotheses", "synthesis", "light_synthesis"]]:
    answer = _ask(state, "confirm_hypotheses", _hyp_text(state))
    if _accept(answer):
        return Command(goto=g.route_review_depth(state), update={"last_reply": "Drafting the report.",
                                                                  "last_kind": "ok"})
    return Command(goto="confirm_hypotheses", update=_remark(state, "confirm_hypotheses", answer, runtime))


def confirm_draft(state: ChatState, runtime: Runtime[g.Context]) -> Command[Literal["confirm_draft", "confirm_actions"]]:
    assert state.report is not None
    v = state.report.validation
    text = (f"Draft ready: {len(state.markdown.splitlines())} lines; validation "
            f"{'passed' if v.passed else 'FAILED'} with {len(v.findings)} finding(s).\n"
            + "\n".join(f"- {ap.short(s, 220)}" for s in state.report.summary))
    answer = _ask(state, "confirm_draft", text)
    if _accept(answer):
        return Command(goto="confirm_actions", update={"last_reply": "Draft accepted.", "last_kind": "ok"})
    return Command(goto="confirm_draft", update=_remark(state, "confirm_draft", answer, runtime))


_ACTION_CMD = re.compile(r"(owner|due|verify)\s+(AI-\d{3})\s*:?\s+(.+)$|adopt\s+C(\d+)$", re.IGNORECASE)


def confirm_actions(state: ChatState, runtime: Runtime[g.Context]) -> Command[Literal["confirm_actions", "close"]]:
    assert state.report is not None
    answer = _ask(state, "confirm_actions", _actions_text(state))
    if _accept(answer):
        return Command(goto="close", update={"last_reply": "Closing.", "last_kind": "ok"})
    m = _ACTION_CMD.match(answer)
    if not m:
        return Command(goto="confirm_actions", update=_remark(state, "confirm_actions", answer, runtime))
    report = state.report.model_copy(deep=True)
    update = _adopt(state, report, int(m.group(4))) if m.group(4) else _edit_action(state, report, m, runtime)
    if "report" in update:
        update["markdown"] = final_markdown(state.model_copy(update=update), update["report"])
    update["last_kind"] = "command"
    return Command(goto="confirm_actions", update=update)


def _edit_action(state: ChatState, report: Report, m: re.Match[str], runtime: Runtime[g.Context]) -> dict[str, Any]:
    item = next((a for a in report.action_items if a.id == m.group(2).upper()), None)
    if item is None:
        return {"last_reply": f"No action {m.group(2)}."}
    what, value = m.group(1).lower(), m.group(3).strip()
    if what == "owner":
        named = people(runtime.context.store(state.store_path)) if state.store_path else []
        problem = ap.owner_problem(value, named, state.options.names_opt_in)
        if problem:
            return {"last_reply": problem}
        item.owner = value
    elif what == "due":
        due, problem = ap.due_problem(value, state.options.postmortem_date)
        if due is None:
            return {"last_reply": problem or ""}
        item.due = due
    else:
        item.verification = value
    return {"report": report, "last_reply": f"{item.id} {what} set to {value}."}


def _adopt(state: ChatState, report: Report, n: int) -> dict[str, Any]:
    if not 1 <= n <= len(state.parked):
        return {"last_reply": f"No parked proposal C{n}."}
    base = report.action_items[-1] if report.action_items else None
    if base is None:
        return {"last_reply": "There is no action to take owner and due date from; add it in the tracker."}
    # The new item takes the latest action's owner role and due date as a starting point: both are
    # shown in the reply and can be changed with `owner` / `due` before closing.
    item = ActionItem(id=f"AI-{len(report.action_items) + 1:03d}", action=ap.short(state.parked[n - 1], 300),
                      owner=base.owner, due=base.due, priority="P2",
                      verification="[DATA GAP] set with: verify <id> <how we will know it worked>")
    report.action_items.append(item)
    parked = [p for i, p in enumerate(state.parked, 1) if i != n]
    return {"report": report, "parked": parked,
            "last_reply": f"C{n} adopted as {item.id} (owner {item.owner}, due {item.due}); "
                          f"set how it is verified: verify {item.id} <check>."}


def discussion(state: ChatState) -> dict[str, Any]:
    """After review: the draft shown to people includes what the meeting contributed."""
    return {"markdown": final_markdown(state)}


def write_outputs(state: ChatState, runtime: Runtime[g.Context]) -> dict[str, Any]:
    """After close: the final report, re-validated with its discussion, and the closing files."""
    from agent.facilitator.exports import write_outputs as write
    from agent.validators import validate_markdown

    assert state.report is not None
    store = runtime.context.store(state.store_path)
    report = state.report.model_copy(deep=True)
    md = final_markdown(state, report)
    findings = validate_markdown(md, evidence=store, report=report, names=people(store),
                                 names_opt_in=report.names_opt_in)
    report.validation.findings = findings
    report.validation.passed = not any(f.severity == "error" for f in findings)
    md = final_markdown(state, report)
    folder = Path(state.output_dir or Path(state.options.workdir) / "output")
    files = write(folder, report, md, state.tracker_export, _discussion_json(state), folder.name)
    return {"report": report, "markdown": md, "outputs": [str(p) for p in files]}


def _discussion_json(state: ChatState) -> dict[str, Any]:
    return {"notes": state.chat_notes, "decisions": state.decisions, "parked_proposals": state.parked,
            "open_questions": state.open_questions}


def export_again(session: "ChatSession") -> list[str]:
    """/export after closing: rewrite the closing files from the checkpointed state."""
    from agent.facilitator.exports import write_outputs as write

    st = session.state()
    assert st.report is not None
    folder = Path(st.output_dir or Path(st.options.workdir) / "output")
    return [str(p) for p in write(folder, st.report, st.markdown, st.tracker_export, _discussion_json(st),
                                  folder.name)]


def _after_review(state: ChatState) -> Literal["synthesis", "light_synthesis", "discussion"]:
    nxt = g.route_after_review(state)
    return "discussion" if nxt == "close" else nxt


def build_chat_graph(checkpointer: BaseCheckpointSaver | None = None):  # type: ignore[no-untyped-def]
    cg = StateGraph(ChatState, context_schema=g.Context)
    for name, fn in g.STAGE_NODES.items():
        cg.add_node(name, fn)
    for gate, fn in (("confirm_scope", confirm_scope), ("confirm_evidence", confirm_evidence),
                     ("confirm_timeline", confirm_timeline), ("confirm_hypotheses", confirm_hypotheses),
                     ("confirm_draft", confirm_draft), ("confirm_actions", confirm_actions)):
        cg.add_node(gate, fn)
    cg.add_node("discussion", discussion)
    cg.add_node("write_outputs", write_outputs)
    cg.add_edge(START, "scoping")
    cg.add_edge("scoping", "confirm_scope")
    cg.add_edge("data_collection", "confirm_evidence")
    cg.add_edge("timeline", "confirm_timeline")
    cg.add_edge("analysis", "confirm_hypotheses")
    cg.add_edge("synthesis", "review")
    cg.add_edge("light_synthesis", "review")
    cg.add_conditional_edges("review", _after_review, ["synthesis", "light_synthesis", "discussion"])
    cg.add_edge("discussion", "confirm_draft")
    cg.add_edge("close", "write_outputs")
    cg.add_edge("write_outputs", END)
    return cg.compile(checkpointer=checkpointer)


class ChatSession:
    """Drives the chat graph: `start()` / `resume()` return the next Prompt (None when closed)."""

    def __init__(self, graph: Any, session_id: str, ctx: g.Context, workdir: Path | None = None) -> None:
        self.graph = graph
        self.config = {"configurable": {"thread_id": session_id}}
        self.session_id = session_id
        self.ctx = ctx
        self.workdir = workdir

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

    def resume_hint(self) -> str:
        wd = f" --workdir {self.workdir.resolve()}" if self.workdir is not None else ""
        return f"postmortem chat --session {self.session_id}{wd}"


def _facts(st: ChatState) -> str:
    return st.report.model_dump_json(exclude={"usage", "computed_facts"}) if st.report else _scope_text(st)


def run_terminal(session: ChatSession, first: Prompt | None, read: Callable[[str], str],
                 write: Callable[[str], None], llm_available: bool,
                 respond: Callable[[str, str], Iterator[str]] | None = None,
                 show_markdown: Callable[[str], None] | None = None,
                 after_close: bool = False) -> str:
    """The REPL: returns "closed" or "quit". `read`/`write` make it scriptable in tests.

    A stage is printed in full once, when it is reached; a remark gets a short reply saying what
    changed, then the chat model's answer when the session's context has one (asked inside the gate,
    see `_ask_model`); `respond(text, facts)` is the older streaming hook, checked before it is shown.
    With `after_close`, the loop stays open after closing for /report, /export and /timeline until
    /quit or end of input."""
    show_md = show_markdown or write
    prompt, shown = first, ""
    if not llm_available and session.ctx.facilitator is None:
        write("Offline facilitator: corrections, notes and proposals are understood by rules; "
              "free-form answers need a model (set OPENAI_API_KEY / OPENAI_BASE_URL).")
    while prompt is not None:
        if prompt.gate != shown:
            write(f"\n== {prompt.title} ==\n{prompt.body}\n({prompt.hint})")
            shown = prompt.gate
        line = _read(read)
        cmd = line.strip()
        if cmd in ("/quit", "/exit", "/q"):
            write(f"Session saved. Resume with: {session.resume_hint()}")
            return "quit"
        if cmd.startswith("/"):
            _slash(cmd, session, write, show_md, prompt)
            continue
        prompt = session.answer(line)
        st = session.state()
        if st.last_reply:
            write(st.last_reply)
        if st.last_kind in FREE_FORM and st.model_reply:
            write(st.model_reply)
        elif st.last_kind in FREE_FORM and respond is not None:
            _streamed_reply(st, line, respond, write)
    st = session.state()
    write(f"Session closed. {len(st.tracker_export)} action(s) ready for the tracker. Files:")
    write("\n".join(f"  {p}" for p in st.outputs) or "  (none written)")
    if after_close:
        write("/report shows the final report, /export writes the files again, /quit leaves.")
        while True:
            cmd = _read(read).strip()
            if cmd in ("/quit", "/exit", "/q"):
                break
            _slash(cmd, session, write, show_md, None)
    return "closed"


def _read(read: Callable[[str], str]) -> str:
    try:
        return read("> ")
    except EOFError:
        return "/quit"


def _slash(cmd: str, session: ChatSession, write: Callable[[str], None], show_md: Callable[[str], None],
           prompt: Prompt | None) -> None:
    st = session.state()
    if cmd == "/help":
        write(HELP)
    elif cmd == "/timeline":
        write(timeline_text(st.timeline))
    elif cmd == "/report":
        show_md(st.markdown) if st.markdown else write("No draft yet: the report is drafted after stage 4.")
    elif cmd == "/export":
        if "close" not in st.completed:
            write("Closing writes the files; /export rewrites them after that.")
        else:
            write("Written:\n" + "\n".join(f"  {p}" for p in export_again(session)))
    elif cmd == "/status":
        write(f"Session {session.session_id}; finished stages: {', '.join(st.completed)}; "
              f"{len(st.chat_notes)} note(s), {len(st.parked)} parked proposal(s)"
              + (f"; at: {prompt.title}" if prompt else "; closed"))
    elif cmd == "/stage" and prompt is not None:
        write(f"\n== {prompt.title} ==\n{prompt.body}\n({prompt.hint})")
    else:
        write("Unknown command; /help lists them.")


def _streamed_reply(st: ChatState, line: str, respond: Callable[[str, str], Iterator[str]],
                    write: Callable[[str], None]) -> None:
    """The older streaming hook's answer to a free-form remark, checked before it is shown."""
    from agent.facilitator.model import reply_violation

    text = "".join(respond(line, _facts(st)))
    text = st.last_reply if reply_violation(text) else text
    if text and text != st.last_reply:
        write(text)


def new_initial_state(dump: Path, workdir: Path, today: Any, names_opt_in: bool,
                      output_dir: Path | None = None) -> ChatState:
    from agent.state import RunOptions

    return ChatState(options=RunOptions(dump=str(dump.resolve()), workdir=str(workdir.resolve()),
                                        postmortem_date=today, names_opt_in=names_opt_in),
                     output_dir=str(output_dir.resolve()) if output_dir is not None else "")
