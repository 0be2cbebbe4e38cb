"""The `postmortem incidents import|list|show` and `postmortem similar` commands."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.incidents_fixtures import MARKDOWN, report, write_pma

runner = CliRunner()


def test_cli_import_list_show_similar(tmp_path: Path) -> None:
    dbf = str(tmp_path / "i.sqlite")
    rep = tmp_path / "oom.json"
    rep.write_text(json.dumps(report("vLLM OOM after upgrade", ["vllm"], ["serving.oom"], "deploy",
                                     "GPU out of memory after the engine upgrade")))
    md = tmp_path / "stale.md"
    md.write_text(MARKDOWN)
    pma = write_pma(tmp_path / "pma")
    r = runner.invoke(app, ["incidents", "import", str(rep), str(md), str(pma), "--db", dbf])
    assert r.exit_code == 0, r.output
    assert "imported 5 incident(s); 1 problem(s)" in r.output
    r = runner.invoke(app, ["incidents", "list", "--db", dbf, "--json"])
    rows = [json.loads(x) for x in r.output.splitlines()]
    assert len(rows) == 5 and {x["source"] for x in rows} == {"report-json", "markdown", "pma-corpus"}
    oom = next(x for x in rows if x["source"] == "report-json")
    r = runner.invoke(app, ["incidents", "show", str(oom["id"]), "--db", dbf, "--json"])
    data = json.loads(r.output)
    assert data["actions"][0]["status"] == "open" and data["tags"]["failure_mode"] == ["serving.oom"]
    r = runner.invoke(app, ["similar", "storage configuration push caused errors", "--db", dbf, "--json",
                            "--no-embeddings", "-k", "2"])
    hits = json.loads(r.output)["hits"]
    assert [h["source_ref"] for h in hits] == ["Cloud/c-1", "Cloud/c-2"] or \
           [h["source_ref"] for h in hits] == ["Cloud/c-2", "Cloud/c-1"]
    r = runner.invoke(app, ["similar", str(rep), "--db", dbf, "--json", "--no-embeddings"])
    assert r.exit_code == 0 and json.loads(r.output)["rankers"] == ["fulltext", "structure"]


def test_cli_show_missing_and_bad_db(tmp_path: Path) -> None:
    r = runner.invoke(app, ["incidents", "show", "99", "--db", str(tmp_path / "x.sqlite")])
    assert r.exit_code == 1
    r = runner.invoke(app, ["incidents", "list", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert r.exit_code == 2 and "cannot open the incident database" in r.output
