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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.config import Settings
from cli.main import app
from tools.archive import Budget, safe_extract
from tools.ingest import ingest, ingest_to_path, shown
from tools.readers.common import MAX_JSON_DEPTH, too_deep
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter
from tools.workdir_lock import WorkdirBusy, WorkdirLock

ROOT = Path(__file__).resolve().parents[2]


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
    return subprocess.run([sys.executable, "-m", "cli.main", "ingest", str(dump), "--workdir", str(workdir), *extra],
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
    writer = StoreWriter.create(tmp_path / "s.db")
    inv = ingest(dump, writer, workdir=tmp_path / "wd", workers=1)
    store = writer.reader()
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
    writer = StoreWriter.create(tmp_path / "s.db")
    inv = ingest(dump, writer, workdir=tmp_path / "wd", workers=1)
    store = writer.reader()
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
    writer = StoreWriter.create(tmp_path / "s.db")
    inv = ingest(dump, writer, workdir=tmp_path / "wd", workers=1)
    store = writer.reader()
    store.close()
    assert inv.kinds.get("chat") == 3  # first, third, next day
    assert inv.total_malformed == 2


# ---- times -----------------------------------------------------------------------------------
def test_implausible_times_are_kept_but_marked(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("2024-04-25T14:00:00Z ERROR a\n9999-12-31T23:59:59Z ERROR far\n"
                                  "0001-01-01T00:00:00Z ERROR old\n2024-04-25T14:05:00Z INFO b\n")
    writer = StoreWriter.create(tmp_path / "s.db")
    inv = ingest(dump, writer, workdir=tmp_path / "wd", workers=1)
    store = writer.reader()
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
_HOLD_SCRIPT = ("import sys; from tools.workdir_lock import WorkdirLock; held = WorkdirLock(sys.argv[1], wait_s=0); "
                "held.acquire(); print('locked', flush=True); sys.stdin.read()")


@contextmanager
def _held_by_another_process(folder: Path) -> Iterator[None]:
    """The folder's lock held by a child process until the block ends."""
    child = subprocess.Popen([sys.executable, "-c", _HOLD_SCRIPT, str(folder)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline().strip() == "locked"
        yield
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def test_second_run_on_the_same_workdir_waits_then_refuses(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("2024-04-25T14:00:00Z INFO x\n")
    store_path = tmp_path / "wd" / "evidence.db"
    with _held_by_another_process(store_path.parent):
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
    with _held_by_another_process(wd / "ingest" / "dump"):
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


def test_the_lock_is_reentered_by_its_own_process_only(tmp_path: Path) -> None:
    """A draft holds its run folder and its ingest step locks it again: that must not wait on
    itself, while another process still waits until the outer holder lets go."""
    folder = tmp_path / "run"
    probe = ("import sys; from tools.workdir_lock import WorkdirLock, WorkdirBusy\n"
             "try:\n    WorkdirLock(sys.argv[1], wait_s=0).acquire(); print('got')\n"
             "except WorkdirBusy:\n    print('busy')\n")

    def other_process() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(folder)], cwd=ROOT, capture_output=True,
                              text=True, timeout=60).stdout.strip()

    with WorkdirLock(folder, wait_s=0):
        with WorkdirLock(folder, wait_s=0):
            assert other_process() == "busy"
        assert other_process() == "busy"  # the inner release keeps the outer hold
    assert other_process() == "got"


# ---- the draft's ingest step ---------------------------------------------------------------------
_CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import tools.ingest as ingest_mod
    from agent.runner import run_draft
    def crash(inv, ing, store, *rest):
        # every batch is committed as it is written: rows are on disk, the store is not finished
        os._exit(9)
    ingest_mod._finish = crash
    run_draft(Path(sys.argv[1]), base=Path(sys.argv[2]), run_id="r1")
""")


def test_a_crash_mid_ingest_leaves_no_store_a_resume_would_trust(tmp_path: Path) -> None:
    from agent.runner import run_draft

    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("".join(f"2024-04-25T14:{i:02d}:00Z ERROR api timeout {i}\n" for i in range(30)))
    base = tmp_path / "wd"
    res = subprocess.run([sys.executable, "-c", _CRASH_SCRIPT, str(dump), str(base)], cwd=ROOT,
                         capture_output=True, text=True, timeout=180,
                         env={**os.environ, "POSTMORTEM_INGEST_WORKERS": "1"})
    assert res.returncode == 9, res.stderr[-2000:]
    run_dir = base / "runs" / "r1"
    assert not (run_dir / "evidence.db").exists()  # only the .partial the rerun replaces
    result = run_draft(None, base=base, run_id="r1", resume=True)
    assert result.report is not None and "close" in result.completed
    store = EvidenceReader(run_dir / "evidence.db")
    try:
        assert store.count() == 30
    finally:
        store.close()
    assert not (run_dir / "evidence.db.partial").exists()


def test_the_ingest_step_refuses_a_run_folder_another_process_holds(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.runner import run_draft

    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("2024-04-25T14:00:00Z ERROR x\n")
    with _held_by_another_process(tmp_path / "wd" / "runs" / "r2"):
        with pytest.raises(WorkdirBusy):
            run_draft(dump, base=tmp_path / "wd", run_id="r2", settings=Settings(lock_wait_s=0.2))
    assert not (tmp_path / "wd" / "runs" / "r2" / "evidence.db").exists()


# ---- --resume ------------------------------------------------------------------------------------
@pytest.mark.parametrize("run_id", ["no-such-run", "../../escape", ".."])
def test_resume_of_an_unknown_run_errors_and_creates_nothing(tmp_path: Path, run_id: str) -> None:
    wd = tmp_path / "wd"
    res = CliRunner().invoke(app, ["draft", "--resume", run_id, "--workdir", str(wd), "--llm", "offline"])
    assert res.exit_code == 1
    assert "No run with id" in res.output and "Traceback" not in res.output
    assert not (wd / "runs").exists() and not (tmp_path / "escape").exists()
    (wd / "runs" / "other").mkdir(parents=True)  # a workdir with other runs: still nothing made
    (wd / "checkpoints.sqlite").touch()
    res = CliRunner().invoke(app, ["draft", "--resume", run_id, "--workdir", str(wd), "--llm", "offline"])
    assert res.exit_code == 1 and "No run with id" in res.output
    assert sorted(p.name for p in (wd / "runs").iterdir()) == ["other"]


# ---- deep JSON in every JSON reader family ---------------------------------------------------------
FIX = ROOT / "tests" / "fixtures"
DEEP = "[" * 100_000 + "]" * 100_000
# (fixture, the reader that takes it): JSON Lines get a deep line after two good ones, documents
# a deep value (the whole document is then the bad record, the rest of the dump stays).
_JSONL_FAMILIES = [
    ("otel/collector-export.jsonl", "otel"),
    ("readers/dump/alerts/alertmanager.jsonl", "alertmanager"),
    ("evals/samples_arc_easy_2024-04-25T12-00-00.123456.jsonl", "eval"),
    ("tickets/zendesk_export.ndjson", "ticket"),
    ("chat_exports/mattermost_export.jsonl", "chat"),
]
_DOC_FAMILIES = [
    ("otel/single-request.json", "otel"),
    ("flags/unleash-events.json", "flags"),
    ("flags/launchdarkly-auditlog.json", "flags"),
    ("evals/promptfoo-output.json", "eval"),
    ("tickets/zendesk_search.json", "ticket"),
    ("chat_exports/teams_channel_messages.json", "chat"),
    ("readers/dump/pagerduty/incident.json", "pagerduty"),
    ("readers/dump/metrics/latency.json", "prometheus"),
    ("readers/dump/k8s/events.json", "k8s_events"),
]


def _ingest_one(tmp_path: Path, name: str, body: str) -> tuple[object, object]:
    dump = tmp_path / "dump"
    dump.mkdir(parents=True)
    (dump / name).write_text(body)
    (dump / "other.log").write_text("2024-04-25T14:00:00Z INFO still here\n")
    writer = StoreWriter.create(tmp_path / "s.db")
    try:
        inv = ingest(dump, writer, workdir=tmp_path / "wd", workers=1)
        store = writer.reader()
    finally:
        store.close()
    src = next(s for s in inv.sources if s.path == name)
    other = next(s for s in inv.sources if s.path == "other.log")
    return src, other


@pytest.mark.parametrize("fixture,kind", _JSONL_FAMILIES)
def test_a_deep_json_line_costs_that_line_in_every_lines_reader(tmp_path: Path, fixture: str, kind: str) -> None:
    text = (FIX / fixture).read_text()
    name = Path(fixture).name
    plain, _ = _ingest_one(tmp_path / "a", name, text)
    lines = text.splitlines(keepends=True)
    first = lines[0].rstrip()
    bad = first[:-1] + ', "deep": ' + DEEP + "}\n"
    for at in (1, 2):  # right after the first line (pushes the rest out of the sniff window), later
        src, other = _ingest_one(tmp_path / f"b{at}", name, "".join(lines[:at]) + bad + "".join(lines[at:]))
        assert src.kind == plain.kind == kind  # type: ignore[attr-defined]
        assert src.records == plain.records  # type: ignore[attr-defined]
        assert src.malformed == plain.malformed + 1  # type: ignore[attr-defined]
        assert other.records == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("fixture,kind", _DOC_FAMILIES)
def test_a_deep_json_document_costs_that_document_only(tmp_path: Path, fixture: str, kind: str) -> None:
    s = (FIX / fixture).read_text().strip()
    name = Path(fixture).name
    deep_doc = s[:-1] + (', "deep": ' if s.startswith("{") else ", ") + DEEP + s[-1]
    src, other = _ingest_one(tmp_path, name, deep_doc)
    assert src.kind == kind  # type: ignore[attr-defined]
    assert src.records == 0 and src.malformed == 1  # type: ignore[attr-defined]
    assert other.records == 1  # type: ignore[attr-defined]


def test_sniff_helpers_survive_a_deep_head() -> None:
    from tools.readers.common import first_json_value, json_lines_objects, looks_like_jsonl

    head = '{"a": ' + "[" * 30_000  # a sniff window full of brackets
    assert first_json_value(head) is None
    assert json_lines_objects('{"a": 1}\n' + head) == [{"a": 1}]
    assert looks_like_jsonl('{"a": 1}\n' + head)
    assert not looks_like_jsonl('{"a": 1}')


# ---- manifest text ---------------------------------------------------------------------------------
def test_manifest_text_is_redacted_before_it_is_stored_or_rendered(tmp_path: Path) -> None:
    from agent.runner import run_draft
    from tools.readers.manifest import load_manifest

    email, key = "alice.smith@example.com", "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "incident.yaml").write_text(
        f"title: 'Ranker outage, ping {email}'\ncommander: 'Bob ({email})'\nseverity: SEV2\n"
        f"services: [ranker]\nnotes:\n  token: '{key}'\n  db: 'DB_PASSWORD=hunter2hunter2'\n")
    (dump / "app.log").write_text("".join(f"2024-04-25T14:{i:02d}:00Z ERROR ranker timeout\n" for i in range(20)))
    m = load_manifest(dump / "incident.yaml")
    assert email not in m.model_dump_json() and key not in m.model_dump_json() and "hunter2" not in m.model_dump_json()
    assert m.services == ["ranker"] and m.severity == "SEV2"
    base = tmp_path / "wd"
    result = run_draft(dump, base=base, run_id="r3")
    assert email not in result.markdown and "Ranker outage" in result.markdown
    for f in [base / "runs" / "r3" / "evidence.db", base / "checkpoints.sqlite"]:
        data = f.read_bytes()
        assert email.encode() not in data and key.encode() not in data and b"hunter2" not in data, f


# ---- memory ----------------------------------------------------------------------------------------
_GB = 1024 ** 3


def _peak_rss(args: list[str], timeout_s: float) -> tuple[int, int, str]:
    """(exit code, peak RSS in bytes of the child and the workers it waited for, stderr tail). An
    address-space cap keeps a regression from taking the machine down with it."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (8 * _GB, 8 * _GB))

    with open(os.devnull, "wb") as devnull, __import__("tempfile").TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=ROOT, stdout=devnull,
                                 stderr=err, preexec_fn=cap,
                                 env={**os.environ, "COLUMNS": "200"})
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.2)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
        err.seek(0)
        tail = err.read()[-3000:].decode("utf-8", "replace")
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024, tail  # ru_maxrss is in KiB on Linux


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units and RLIMIT_AS")
def test_far_apart_timestamps_draft_in_bounded_memory(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "app.log").write_text("2024-04-25T14:00:00Z ERROR a\n9999-12-31T23:59:59Z ERROR far\n"
                                  "0001-01-01T00:00:00Z ERROR old\n2024-04-25T14:05:00Z INFO b\n")
    code, rss, err = _peak_rss(["draft", str(dump), "--llm", "offline", "--workdir", str(tmp_path / "wd"),
                                "-o", str(tmp_path / "out.md"), "--date", "2024-04-26"], 300)
    assert code == 0 and "Traceback" not in err, err
    assert rss < _GB, f"peak RSS {rss / 2**20:.0f} MB"


@pytest.mark.skipif(not os.environ.get("POSTMORTEM_HEAVY_TESTS"),
                    reason="2 minutes on 2 cores: set POSTMORTEM_HEAVY_TESTS=1")
def test_a_250_mb_json_array_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    size = 0
    with open(dump / "events.json", "w") as f:  # one JSON document of ~2.4 million small records
        f.write("[")
        n = 0
        while size < 250_000_000:
            rec = ("," if n else "") + ('{"ts":"2024-04-25T14:%02d:%02dZ","level":"info","service":"api",'
                                        '"msg":"request %d served in %d ms"}' % (n // 60 % 60, n % 60, n, n % 997))
            f.write(rec)
            size += len(rec)
            n += 1
        f.write("]")
    code, rss, err = _peak_rss(["ingest", str(dump), "--workdir", str(tmp_path / "wd")], 900)
    assert code == 0 and "Traceback" not in err, err
    assert rss < _GB, f"peak RSS {rss / 2**20:.0f} MB"
