"""AI-native factors state this incident's evidence (issue 18 item 7), and the ai-boilerplate rule
rejects the generic sentences the engine used to write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.model import AILensItem, Analysis, TriggerCandidate
from agent.model.mechanism import Mechanism, SettingChange
from agent.offline import ai_factors
from agent.validators import validate_markdown
from agent.validators.rules.ai_boilerplate import GENERIC, check
from agent.validators.base import Context
from agent.validators.markdown import parse
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

CHANGE_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
ONSET = CHANGE_AT + timedelta(hours=1)
END = ONSET + timedelta(hours=1)


def _store(tmp_path: Path, records: list[Evidence]) -> EvidenceReader:
    s = StoreWriter.create(tmp_path / "e.db")
    s.add_many(records)
    s.finalize()
    return s.reader()


def _trace(i: int, tokens: int, status: str, **attrs: object) -> Evidence:
    return Evidence(id=f"trace:t.jsonl:{i}", kind=EvidenceKind.TRACE, ts=ONSET + timedelta(minutes=i), source="t.jsonl",
                    text=f"model=m-1 status={status}",
                    attrs={"prompt_tokens": tokens, "status": status, "model": "m-1", "temperature": 0.7, **attrs})


def _eval(i: int, at: datetime) -> Evidence:
    return Evidence(id=f"eval:e.json:{i}", kind=EvidenceKind.EVAL, ts=at, source="e.json",
                    text=f"suite=long_context_8k pass_rate=0.9{i}")


def _analysis(**kw: object) -> Analysis:
    a = Analysis(suspected_triggers=[TriggerCandidate(ref="abcdef123456", summary="raise max_num_seqs",
                                                      evidence=["commit:abcdef123456"], at=CHANGE_AT)], **kw)
    a.detection.first_anomaly_at = ONSET
    return a


def _factor(items: list[AILensItem], name: str) -> AILensItem:
    return next(i for i in items if i.factor == name)


def test_long_prompts_among_failures_are_stated_with_their_counts(tmp_path: Path) -> None:
    traces = [_trace(i, 7000 + i, "error") for i in range(3)] + [_trace(10 + i, 900, "ok") for i in range(5)]
    store = _store(tmp_path, traces)
    items = ai_factors.build(_analysis(), store, ONSET, END)
    p = _factor(items, "prompts")
    assert p.applies and "7,001" in p.finding and "900" in p.finding and "over-represented" in p.finding
    assert "trace:t.jsonl:2" in p.evidence  # the longest failing request is cited
    n = _factor(items, "non_determinism")
    assert "`temperature=0.7`" in n.finding and n.evidence


def test_unknown_factors_say_which_export_would_tell(tmp_path: Path) -> None:
    store = _store(tmp_path, [Evidence(id="log:a.log:1", kind=EvidenceKind.LOG, ts=ONSET, source="a.log", text="boom")])
    items = ai_factors.build(_analysis(), store, ONSET, END)
    p = _factor(items, "prompts")
    assert not p.applies and "Unknown" in p.finding and "Needed:" in p.finding and not p.evidence


def test_eval_after_the_incident_is_not_a_gate_and_one_before_is_cited(tmp_path: Path) -> None:
    store = _store(tmp_path, [_eval(1, CHANGE_AT - timedelta(days=1)), _eval(2, END)])
    e = _factor(ai_factors.build(_analysis(), store, ONSET, END), "evals")
    assert "eval:e.json:1" in e.evidence and "`eval:e.json:1`" in e.finding
    assert "not a gate" in e.finding and "`eval:e.json:2`" in e.finding

    only_after = _store(tmp_path / "b", [_eval(2, END)]) if (tmp_path / "b").mkdir() is None else None
    assert only_after is not None
    e2 = _factor(ai_factors.build(_analysis(), only_after, ONSET, END), "evals")
    assert "not a gate" in e2.finding and "No eval record dated before the change" in e2.finding


def test_injected_instruction_in_traces_and_batch_limit_from_the_diff(tmp_path: Path) -> None:
    injected = _trace(1, 500, "ok").model_copy(update={"flags": ["untrusted-instruction"]})
    log = Evidence(id="log:v.log:5", kind=EvidenceKind.LOG, ts=ONSET, source="v.log",
                   text="Avg prompt throughput: 8 tokens/s, Running: 212 reqs, Pending: 4 reqs")
    mech = Mechanism(change_ref="abcdef123456", settings=[SettingChange(key="max_num_seqs", old="256", new="512", evidence=["commit:abcdef123456"]),
                               SettingChange(key="vllm", old="0.5.5", new="0.6.2", kind="version",
                                             evidence=["commit:abcdef123456"])])
    store = _store(tmp_path, [injected, log])
    items = ai_factors.build(_analysis(mechanism=mech), store, ONSET, END)
    d = _factor(items, "data")
    assert d.applies and "trace:t.jsonl:1" in d.evidence and "instruction" in d.finding
    n = _factor(items, "non_determinism")
    assert "`Running: 212`" in n.finding and "`max_num_seqs` from `256` to `512`" in n.finding
    r = _factor(items, "rapid_iteration")
    assert "`vllm` `0.5.5` -> `0.6.2`" in r.finding


def _ctx(items: list[AILensItem]) -> Context:
    from agent.model import Report
    from datetime import date
    return Context(doc=parse(""), report=Report(title="t", postmortem_date=date(2026, 3, 2), severity="P2",
                                                     review_type="full", ai_lens=items))


def test_boilerplate_rule_flags_the_old_generic_sentences() -> None:
    old = AILensItem(factor="evals", applies=True, evidence=["commit:abc1234"],
                     finding="Eval-related records exist; whether the change passed an eval gate, and whether "
                             "that eval covered the failing condition, must be confirmed.")
    found = check(_ctx([old]))
    assert [f.severity for f in found] == ["error"] and found[0].rule == "ai-boilerplate"
    vague = AILensItem(factor="prompts", applies=True, evidence=[], finding="Prompts mattered here.")
    assert [f.severity for f in check(_ctx([vague]))] == ["warning"]
    assert len(GENERIC) >= 5


def test_boilerplate_rule_passes_specific_and_honest_findings() -> None:
    specific = AILensItem(factor="prompts", applies=True, evidence=["trace:t.jsonl:2"],
                          finding="Failing requests: median 7,001 tokens vs 900 (`trace:t.jsonl:2`).")
    honest = AILensItem(factor="data", applies=False, evidence=[],
                        finding="Unknown: no retrieval record [DATA GAP]. Needed: retrieval traces.")
    assert check(_ctx([specific, honest])) == []


def test_boilerplate_rule_reads_a_markdown_table_without_a_report() -> None:
    md = ("## Technical Analysis\n\n| Factor | Applies | Finding | Evidence |\n|---|---|---|---|\n"
          "| prompts | yes | 12 LLM request trace(s) are available for prompt archaeology; diff them. | `trace:a:1` |\n")
    assert any(f.rule == "ai-boilerplate" and f.severity == "error" for f in validate_markdown(md))
