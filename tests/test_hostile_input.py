"""Hostile and broken input: each case must cost at most the bad part, never a traceback, never a
byte outside the workdir, never a host file in the store."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tools.archive import Budget, safe_extract
from tools.ingest import ingest, ingest_to_path, shown
from tools.readers.common import MAX_JSON_DEPTH, too_deep
from tools.store import EvidenceStore
from tools.workdir_lock import WorkdirBusy, WorkdirLock

ROOT = Path(__file__).resolve().parent.parent


def _tar_add(tf: tarfile.TarFile, name: str, typ: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b"") -> None:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.size = typ, link, len(data)
    tf.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# ---- archives --------------------------------------------------------------------------------
def test_link_made_before_its_target_cannot_reach_host_files(tmp_path: Path) -> None:
    """`p -> s/../..` looks inside while `s` is missing; `s -> ../..` then makes it climb out, and a
    hard link through `p` would copy /etc/passwd. Dangling links are refused, so nothing leaks."""
    deep = "/".join(f"d{i}" for i in range(8))
    arc = tmp_path / "evil.tar"
    with tarfile.open(arc, "w") as tf:
        _tar_add(tf, deep + "/", tarfile.DIRTYPE)
        _tar_add(tf, deep + "/p", tarfile.SYMTYPE, "s/" + "/".join([".."] * 8))
        _tar_add(tf, deep + "/s", tarfile.SYMTYPE, "/".join([".."] * 8))
        _tar_add(tf, "h", tarfile.LNKTYPE, deep + "/p/etc/passwd")
        _tar_add(tf, "ok.log", data=b"2024-04-25T14:00:00Z INFO fine\n")
    dest = tmp_path / "work" / "out"
    rep = safe_extract(arc, dest)
    assert not (dest / "h").exists()
    assert {"h", deep + "/p"} <= {r.member for r in rep.rejected}
    assert (dest / "ok.log").read_bytes().startswith(b"2024")
    for p in dest.rglob("*"):  # every link left resolves inside
        assert p.resolve().is_relative_to(dest.resolve())


def test_over_long_first_member_costs_that_member_only(tmp_path: Path) -> None:
    arc = tmp_path / "long.tar"
    with tarfile.open(arc, "w") as tf:
        _tar_add(tf, "a" * 300 + "/x.log", data=b"x\n")
        _tar_add(tf, "b" * 400, data=b"y\n")
        _tar_add(tf, "logs/ok.log", data=b"2024-04-25T14:00:00Z INFO fine\n")
    rep = safe_extract(arc, tmp_path / "out")
    assert rep.extracted == 1 and rep.error == ""
    assert rep.rejected_total == 2 and all("could not be written" in r.reason for r in rep.rejected)
    assert (tmp_path / "out" / "logs" / "ok.log").is_file()


def test_file_count_is_bounded_across_archives(tmp_path: Path) -> None:
    arc = tmp_path / "many.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        for i in range(50):
            zf.writestr(f"f{i}.log", "")
    budget = Budget(max_files=30)
    rep = safe_extract(arc, tmp_path / "out", budget=budget)
    assert rep.extracted == 30 and rep.limit_reached
    assert budget.files == 30 and len(list((tmp_path / "out").iterdir())) == 30
    again = safe_extract(arc, tmp_path / "out2", budget=budget)  # the budget is shared
    assert again.extracted == 0


def test_failed_extraction_leaves_no_partial_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arc = tmp_path / "a.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("one.log", "x\n")
    import tools.archive as archive

    def boom(*_a: object, **_k: object) -> None:
        raise MemoryError("simulated crash mid-extraction")

    monkeypatch.setattr(archive, "_sweep_links", boom)
    with pytest.raises(MemoryError):
        safe_extract(arc, tmp_path / "work" / "out")
    assert _tree(tmp_path / "work") == set()


# ---- names and folders -----------------------------------------------------------------------
def _ingest_cli(dump: Path, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent.cli", "ingest", str(dump), "--workdir", str(workdir), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "POSTMORTEM_INGEST_WORKERS": "1", "COLUMNS": "250"})


def test_invalid_utf8_and_markup_names_are_shown_not_crashed_on(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    (dump / "x[").mkdir(parents=True)
    (dump / "x[" / "bold].log").write_text("2024-04-25T14:00:00Z ERROR a [/bold] [red]b\n")
    with open(os.fsencode(dump) + b"/bad\xff\xfe.log", "w") as f:
        f.write("2024-04-25T14:00:01Z ERROR c\n")
    res = _ingest_cli(dump, tmp_path / "wd")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "x[/bold].log" in res.stdout and "bad\\xff\\xfe.log" in res.stdout
    assert "2 records" in res.stdout


def test_shown_keeps_names_apart() -> None:
    assert shown("ok.log") == "ok.log"
    a, b = shown(os.fsdecode(b"a\xff.log")), shown(os.fsdecode(b"a\xfe.log"))
    assert a != b and a.encode("utf-8")


def test_unreadable_folder_is_listed_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dump = tmp_path / "dump"
    (dump / "secret").mkdir(parents=True)
    (dump / "secret" / "x.log").write_text("2024-04-25T14:00:00Z INFO x\n")
    (dump / "app.log").write_text("2024-04-25T14:00:00Z INFO y\n")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:  # root ignores chmod 000; refuse the way a kernel would
        if str(path).endswith("secret"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    store = EvidenceStore.create(tmp_path / "s.db")
    inv = ingest(dump, store, workdir=tmp_path / "wd", workers=1)
    store.close()
    assert inv.total_records == 1
    assert any(s.path == "secret" and "unreadable folder" in s.note for s in inv.skipped)


# ---- readers -----------------------------------------------------------------------------------
def test_deep_json_line_costs_that_line_only(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    good = '{"ts":"2024-04-25T14:00:0%dZ","level":"error","msg":"m%d"}\n'
    deep = "[" * 100_000 + "]" * 100_000
    (dump / "app.jsonl").write_text(good % (1, 1) + good % (2, 2) + '{"a":' + deep + "}\n" + good % (3, 3))
    store = EvidenceStore.create(tmp_path / "s.db")
    inv = ingest(dump, store, workdir=tmp_path / "wd", workers=1)
    store.close()
    assert inv.total_records == 3 and inv.total_malformed == 1


def test_too_deep_ignores_brackets_in_strings() -> None:
    n = MAX_JSON_DEPTH + 1
    assert too_deep("[" * n + "]" * n)
    assert not too_deep("[" * (n - 1) + "]" * (n - 1))
    assert not too_deep('{"a":"' + "[" * 5000 + '"}')
    assert not too_deep("[" + ",".join(["{}"] * 5000) + "]")


def test_one_ragged_slack_message_costs_that_message_only(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    chan = dump / "slack" / "incident"
    chan.mkdir(parents=True)
    (dump / "slack" / "users.json").write_text("[]")
    (dump / "slack" / "channels.json").write_text('[{"id": "C1", "name": "incident"}]')
    day1 = [{"type": "message", "ts": "1714053600.000100", "text": "first", "user": "U1"},
            {"type": "message", "ts": "1714053601.000100", "text": "ragged", "bot_profile": "x", "attachments": 5},
            "a string where a message belongs",
            {"type": "message", "ts": "1714053602.000100", "text": "third", "user": "U1"}]
    day2 = [{"type": "message", "ts": "1714140000.000100", "text": "next day", "user": "U1"}]
    (chan / "2024-04-25.json").write_text(json.dumps(day1))
    (chan / "2024-04-26.json").write_text(json.dumps(day2))
    store = EvidenceStore.create(tmp_path / "s.db")
    inv = ingest(dump, store, workdir=tmp_path / "wd", workers=1)
    store.close()
    assert inv.kinds.get("chat") == 3  # first, third, next day
    assert inv.total_malformed == 2


# ---- times -----------------------------------------------------------------------------------
def test_implausible_times_are_kept_but_marked(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("2024-04-25T14:00:00Z ERROR a\n9999-12-31T23:59:59Z ERROR far\n"
                                  "0001-01-01T00:00:00Z ERROR old\n2024-04-25T14:05:00Z INFO b\n")
    store = EvidenceStore.create(tmp_path / "s.db")
    inv = ingest(dump, store, workdir=tmp_path / "wd", workers=1)
    meta = store.get_meta("plausible_span")
    store.close()
    assert inv.total_records == 4
    assert inv.first_ts == datetime(2024, 4, 25, 14, 0, tzinfo=timezone.utc)
    assert inv.last_ts == datetime(2024, 4, 25, 14, 5, tzinfo=timezone.utc)
    assert meta["outside"] == 2 and len(meta["examples"]) == 2
    assert meta["hi"] == datetime(2024, 4, 26, 14, 5, tzinfo=timezone.utc).timestamp()
    assert any("implausible time" in g for g in inv.data_gaps)


# ---- Markdown ----------------------------------------------------------------------------------
def test_report_header_cannot_add_sections_or_images() -> None:
    from agent.render import inline

    from markdown_it import MarkdownIt  # rich's own Markdown parser: CommonMark

    hostile = "Outage\n## Root Cause\nBob did it ![t](https://example.invalid/x.png) <img src=x> [l](u)"
    md = f"# Postmortem: {inline(hostile)}\n\n**Incident Commander**: {inline(hostile)}\n"
    tokens = MarkdownIt("commonmark").parse(md)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in (t.children or [])}
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1"]
    assert not kinds & {"image", "link_open", "html_inline", "html_block"}
    assert inline("[DATA GAP] no source") == "[DATA GAP] no source"


# ---- locks and processes ---------------------------------------------------------------------
def test_second_run_on_the_same_workdir_waits_then_refuses(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("2024-04-25T14:00:00Z INFO x\n")
    store_path = tmp_path / "wd" / "evidence.db"
    with WorkdirLock(store_path.parent, wait_s=0):
        started = time.monotonic()
        with pytest.raises(WorkdirBusy, match="another postmortem run"):
            ingest_to_path(dump, store_path, workdir=tmp_path / "wd" / "x", wait_s=0.3)
        assert time.monotonic() - started >= 0.3
    assert not store_path.exists()  # the refused run wrote no store
    store, inv = ingest_to_path(dump, store_path, workdir=tmp_path / "wd" / "x", wait_s=0)
    assert store.count() == 1 == inv.total_records
    store.close()
    assert not store_path.with_name("evidence.db.partial").exists()


def test_cli_refuses_a_busy_workdir_without_traceback(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("2024-04-25T14:00:00Z INFO x\n")
    wd = tmp_path / "wd"
    with WorkdirLock(wd / "ingest" / "dump", wait_s=0):
        res = CliRunner().invoke(app, ["ingest", str(dump), "--workdir", str(wd)],
                                 env={"POSTMORTEM_LOCK_WAIT_S": "0.2"})
    assert res.exit_code == 1
    assert "another postmortem run" in res.output and "Traceback" not in res.output


_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    from tools.workdir_lock import die_with_parent
    ex = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent)
    pids = list(ex.submit(__import__("os").getpid).result() for _ in range(1))
    print(" ".join(str(p) for p in ex._processes), flush=True)
    time.sleep(60)
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert workers and all(_alive(p) for p in workers)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)
