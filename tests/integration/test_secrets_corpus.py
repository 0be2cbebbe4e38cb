"""No secret or PII of the corpus (tests/fixtures/secrets/corpus.json) survives ingestion: not in
the SQLite files, not in the export, not on stdout, whatever file kind carried it, including lines
that fail to parse (their first 80 characters are kept as malformed examples)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tools.redact import Redactor
from tools.screen import screen

CORPUS = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "secrets" / "corpus.json").read_text())
TS = 1728388800  # 2024-10-08T12:00:00Z


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 60
    assert len({row["kind"] for row in CORPUS}) >= 45


@pytest.mark.parametrize("row", CORPUS, ids=[f"{i}-{r['kind']}" for i, r in enumerate(CORPUS)])
def test_each_shape_is_screened_and_redacted_as_its_kind(row: dict[str, str]) -> None:
    line = row["line"].replace("{v}", row["value"])
    assert screen(line, line.lower())[0], "the ingest screen must let this line through to redaction"
    out = Redactor().redact_text(line)
    assert row["value"] not in out
    assert f"[REDACTED:{row['kind']}#1]" in out


def _lines() -> list[str]:
    return [row["line"].replace("{v}", row["value"]) for row in CORPUS]


def _dump(root: Path) -> Path:
    """The corpus spread over a JSON log, a text log, an env dump and a Slack channel; the short
    lines also appear as unparseable lines of the JSON log (malformed examples)."""
    dump = root / "dump"
    (dump / "logs").mkdir(parents=True)
    (dump / "slack" / "ops").mkdir(parents=True)
    jsonl, text, env, slack = [], [], [], []
    for i, line in enumerate(_lines()):
        ts = TS + i
        which = i % 4
        if which == 0:
            jsonl.append(json.dumps({"ts": ts, "level": "error", "service": "api", "msg": line}))
        elif which == 1:
            text.append(f"2024-10-08 12:{i // 60:02d}:{i % 60:02d},123 ERROR worker {line}")
        elif which == 2:
            env.append(line if line.split("=", 1)[0].isupper() and "=" in line else f"EXTRA_{i}={line}")
        else:
            slack.append({"type": "message", "user": "U01", "text": line, "ts": f"{ts}.000100"})
    # An access log whose odd lines are corpus lines: each becomes a malformed line quoting its
    # first 80 characters (three are kept as examples, so the rest are spread over three logs).
    broken = [ln for ln in _lines() if len(ln) <= 78]
    for part in range(4):
        access = [f'10.1.0.{n} - - [08/Oct/2024:12:00:{n:02d} +0000] "GET /v1/items HTTP/1.1" 200 {100 + n} "-" "curl/8"'
                  for n in range(1, 21)]
        access += broken[part * 3:part * 3 + 3]
        (dump / "logs" / f"access{part}.log").parent.mkdir(parents=True, exist_ok=True)
        (dump / "logs" / f"access{part}.log").write_text("\n".join(access) + "\n")
    (dump / "logs" / "api.jsonl").write_text("\n".join(jsonl) + "\n")
    (dump / "logs" / "worker.log").write_text("\n".join(text) + "\n")
    (dump / "runtime.env").write_text("\n".join(env) + "\n")
    (dump / "slack" / "users.json").write_text(json.dumps([{"id": "U01", "name": "oncall"}]))
    (dump / "slack" / "channels.json").write_text(json.dumps([{"id": "C01", "name": "ops", "created": TS}]))
    (dump / "slack" / "ops" / "2024-10-08.json").write_text(json.dumps(slack))
    return dump


def _survivors(blob: bytes) -> list[str]:
    return [row["kind"] for row in CORPUS if row["value"].encode() in blob]


def test_no_value_survives_in_store_export_or_stdout(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    runner = CliRunner()
    wd = tmp_path / "wd"
    res = runner.invoke(app, ["ingest", str(dump), "--json", "--workdir", str(wd)])
    assert res.exit_code == 0, res.output
    inv = json.loads(res.stdout)
    examples = [m for s in inv["sources"] for m in s["malformed_examples"]]
    assert examples and any("REDACTED" in m["reason"] for m in examples)  # the samples were read, then redacted
    assert sum(inv["redactions"].values()) >= len(CORPUS)
    assert _survivors(res.stdout.encode()) == []
    table = runner.invoke(app, ["ingest", str(dump), "--workdir", str(tmp_path / "wd2")])
    assert table.exit_code == 0 and _survivors(table.stdout.encode()) == []
    stored = b"".join(p.read_bytes() for p in wd.rglob("*") if p.is_file() and "extracted" not in p.parts)
    assert b"SQLite format 3" in stored
    assert _survivors(stored) == []
    out = tmp_path / "records.jsonl"
    exp = runner.invoke(app, ["export", str(dump), "--workdir", str(tmp_path / "wd3"), "-o", str(out)])
    assert exp.exit_code == 0, exp.output
    assert out.stat().st_size > 0 and _survivors(out.read_bytes()) == []
    assert _survivors(exp.stdout.encode()) == []
