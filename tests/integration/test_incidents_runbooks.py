"""Runbooks from incidents (issue 19, item 6): one Markdown runbook per failure mode met in the
database, generic steps from the family table, specific lines naming the incidents they came from,
untrusted titles escaped."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from incidents.db import open_db
from incidents.families import FAMILIES, FALLBACK, family_of
from incidents.importers import from_markdown, from_report_json
from incidents.runbooks import code, collect, file_name, render
from incidents.store import save
from tests.incidents_fixtures import MARKDOWN, report, sqlite_url  # noqa: F401  (fixture)

runner = CliRunner()
HOSTILE = "vLLM OOM <img src=x onerror=alert(1)> ![pixel](http://evil.example/p.png) [click](http://evil.example)\n# Injected heading"


def _oom_report() -> dict:
    d = report(HOSTILE, ["vllm-inference"], ["serving.oom"], "deploy", "The upgrade raised GPU memory use.")
    d["timeline"] = [
        {"timestamp": "2025-03-02T10:01:00Z", "category": "alert", "assumed": False,
         "event": "Alert `VLLMHighErrorRatio` fires (severity page)", "evidence": ["alert:am/a.json:0:0"]},
        {"timestamp": "2025-03-02T10:00:00Z", "category": "anomaly", "assumed": False,
         "event": "Metric `gpu_memory_used_bytes` leaves its baseline band", "evidence": ["metric:metrics/gpu.json:0"]},
        {"timestamp": "2025-03-02T10:00:30Z", "category": "anomaly", "assumed": False,
         "event": "First record of a recurring error: `CUDA out of memory` ``x`` (12 records)",
         "evidence": ["log:logs/vllm.log:7"]},
    ]
    d["last_known_good"] = "Image vllm 0.5.5 (deploy:vllm@41)."
    d["barriers"] = [{"name": "Rollback path", "state": "held", "note": "A rollback was used."}]
    d["action_items"].append({"id": "AI-002", "action": "Alert on GPU memory above 95% for 10 minutes",
                              "owner": "serving lead", "due": "2025-04-01",
                              "verification": "alert fires in staging load test", "priority": "P2"})
    return d


def _filled(url: str) -> None:
    with open_db(url)() as s:
        save(s, from_report_json(_oom_report(), "oom.json"))
        save(s, from_report_json(report("Second OOM", ["vllm-inference"], ["serving.oom", "custom/../odd"],
                                        "config", "Batch size doubled."), "oom2.json"))
        save(s, from_markdown(MARKDOWN, "rag.md"))
        s.commit()


def test_family_table_covers_the_families_and_falls_back() -> None:
    for name in ("serving", "rag", "data", "training", "eval", "safety", "agent", FALLBACK):
        assert name in FAMILIES
    assert family_of("agentic.runaway_loop").name == "agent"  # the taxonomy's spelling
    assert family_of("quantum.decoherence").name == FALLBACK
    assert family_of("nodot").name == FALLBACK
    assert FAMILIES["serving"].quarantine is None and FAMILIES["data"].quarantine is not None


def test_runbook_per_mode_names_incidents_signals_and_verification(sqlite_url: str) -> None:  # noqa: F811
    _filled(sqlite_url)
    with open_db(sqlite_url)() as s:
        books = {rb.mode: rb for rb in collect(s)}
    assert sorted(books) == ["custom/../odd", "rag.stale_index", "serving.oom"]
    oom = books["serving.oom"]
    assert [i.title for i in oom.incidents][1] == "Second OOM" and len(oom.incidents) == 2
    md = render(oom)
    assert md.startswith("# Runbook: serving.oom — Out-of-memory in the serving engine\n")
    # Signals come from the stored report, each naming its incident and evidence.
    assert "- `VLLMHighErrorRatio` (#1, `alert:am/a.json:0:0`)" in md
    assert "- `gpu_memory_used_bytes` (#1, `metric:metrics/gpu.json:0`)" in md
    assert "- `CUDA out of memory` (#1, `log:logs/vllm.log:7`)" in md
    # Levers: serving has a kill switch and a rollback but no quarantine.
    assert "## Kill switch\n\nShed or reroute traffic" in md
    assert "Not part of the model serving family's response" in md
    assert "- #1: the suspected trigger was a deploy change `abc123`." in md
    assert "- #2: the suspected trigger was a config change `abc123`." in md
    assert "- #1: barrier *Rollback path* held: A rollback was used." in md
    assert "- #1: detected by automated alert 2m 00s after the first anomaly; mitigated 15m 00s after it." in md
    # Every action's verification method, with its incident.
    assert "| #1 | AI-002: Alert on GPU memory above 95% for 10 minutes | open | alert fires in staging load test |" in md
    assert md.count("game day rollback") == 2
    # A Markdown import has no timeline: the gap is said, not filled.
    rag = render(books["rag.stale_index"])
    assert "[DATA GAP] The incidents record no alert" in rag
    assert "staging index aged past 26 h pages" in rag and "Retrieval-augmented generation" in rag


def test_untrusted_title_is_escaped(sqlite_url: str) -> None:  # noqa: F811
    _filled(sqlite_url)
    with open_db(sqlite_url)() as s:
        md = render(next(rb for rb in collect(s) if rb.mode == "serving.oom"))
    row = next(line for line in md.splitlines() if line.startswith("| #1 |"))
    assert "\\<img" in row and "!\\[pixel]\\(" in row and "]\\(http://evil.example)" in row
    assert "<img" not in md.replace("\\<img", "")
    assert not any(line.startswith("# Injected") for line in md.splitlines())


def test_code_span_cannot_be_closed_by_its_text() -> None:
    assert code("a `b` c") == "``a `b` c``"
    assert code("``x``") == "``` ``x`` ```"
    assert code("two\nlines") == "`two lines`"


def test_file_names_are_safe_and_unique() -> None:
    taken: set[str] = set()
    assert file_name("serving.oom", taken) == "serving.oom.md"
    assert file_name("../../etc/passwd", taken) == "etc_passwd.md"
    assert file_name("serving.oom", taken) == "serving.oom-2.md"
    # README.md is the index; on a case-insensitive disk readme.md would overwrite it.
    assert file_name("readme", set()) == "readme-2.md"
    assert "/" not in file_name("a/b", taken)


def test_cli_writes_one_file_per_mode_and_an_index(sqlite_url: str, tmp_path: Path) -> None:  # noqa: F811
    _filled(sqlite_url)
    out = tmp_path / "runbooks"
    res = runner.invoke(app, ["runbooks", "-o", str(out), "--db", sqlite_url])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "custom_.._odd.md", "rag.stale_index.md",
                                                     "serving.oom.md"]
    index = (out / "README.md").read_text(encoding="utf-8")
    assert "| serving.oom | serving | 2 | 2025-03-02 | [serving.oom.md](serving.oom.md) |" in index
    assert "| custom/../odd | unknown | 1 |" in index
    odd = (out / "custom_.._odd.md").read_text(encoding="utf-8")
    assert "Family: **Other failure modes**" in odd


def test_cli_on_an_empty_database_writes_an_index_that_says_so(sqlite_url: str, tmp_path: Path) -> None:  # noqa: F811
    res = runner.invoke(app, ["runbooks", "-o", str(tmp_path / "rb"), "--db", sqlite_url])
    assert res.exit_code == 0, res.output
    assert "No incident in the database carries a failure mode" in (tmp_path / "rb" / "README.md").read_text()
