"""The generic text reader: layout discovery, prefixes, continuations, undated files, slices."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tools.models import Evidence, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import MAX_CONTINUATION_LINES, line_spans
from tools.readers.generic_text import READER, GenericTextReader
from tools.readers.registry import pick_reader

UTC = timezone.utc
ANCHOR = datetime(2025, 1, 2, tzinfo=UTC)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        p.write_text(content, encoding="utf-8")
    else:
        p.write_bytes(content)
    return p


def read(p: Path, name: str, **kw: object) -> tuple[list[Evidence], list[Malformed], ReadContext]:
    kw.setdefault("year_anchor", ANCHOR)
    ctx = ReadContext(root=p.parent, **kw)  # type: ignore[arg-type]
    items = list(GenericTextReader().read(p, name, ctx))
    return ([i for i in items if isinstance(i, Evidence)], [i for i in items if isinstance(i, Malformed)], ctx)


def total_lines(content: str) -> int:
    return len(content.splitlines())


VLLM = (
    "+ MODEL_DIR=/models/m\n"
    "++ python3 /launcher/build_args.py\n"
    "+ exec python3 -m vllm.entrypoints.openai.api_server --model /models/m\n"
    "INFO 12-31 23:02:11 [engine.py:123] engine started\n"
    "WARNING 12-31 23:59:58 api_server.py:585] queue is long\n"
    "gpu-7:123:456 [0] NCCL INFO Bootstrap : Using eth0\n"
    "ERROR 01-01 00:00:03 [engine.py:200] CUDA out of memory\n"
    "Traceback (most recent call last):\n"
    '  File "x.py", line 1, in <module>\n'
    "torch.OutOfMemoryError: CUDA out of memory\n"
)


def test_vllm_log_after_a_shell_trace(tmp_path: Path) -> None:
    p = write(tmp_path, "vllm/server.log", VLLM)
    evs, bad, ctx = read(p, "vllm/server.log")
    assert not bad
    assert [e.id for e in evs] == ["log:vllm/server.log:4", "log:vllm/server.log:5", "log:vllm/server.log:7"]
    first, warn, err = evs
    assert first.ts == datetime(2024, 12, 31, 23, 2, 11, tzinfo=UTC) and first.ts_assumed
    assert first.level == "info" and first.attrs["logger"] == "engine.py:123"
    assert first.text.startswith("engine started")
    # The `set -x` lines before the first timestamp attach to the first record, which says so.
    assert first.attrs["preamble_lines"] == 3 and first.attrs["preamble_from"] == 1
    assert "+ exec python3 -m vllm" in first.text
    assert warn.level == "warning" and "NCCL INFO Bootstrap" in warn.text  # untimed line continues
    # 31 Dec -> 1 Jan inside the file: the year rolls over.
    assert err.ts == datetime(2025, 1, 1, 0, 0, 3, tzinfo=UTC) and err.level == "error"
    assert err.attrs["continuation_lines"] == 3 and "OutOfMemoryError" in err.text
    assert err.service == "vllm"
    cov = ctx.coverage
    assert cov.lines == total_lines(VLLM) and cov.continuation_lines == 3 + 1 + 3 and cov.undated_lines == 0
    assert cov.bytes_covered == len(VLLM.encode())


def test_yearless_file_needs_the_year_and_is_not_split(tmp_path: Path) -> None:
    p = write(tmp_path, "server.log", VLLM)
    assert READER.needs_year_for(p, VLLM) and not READER.splittable_for(p)
    q = write(tmp_path, "iso.log", "2024-01-02 03:04:05 INFO a\n2024-01-02 03:04:06 INFO b\n")
    assert not READER.needs_year_for(q, "") and READER.splittable_for(q)


def test_without_an_anchor_the_year_hint_places_yearless_times(tmp_path: Path) -> None:
    p = write(tmp_path, "server.log", VLLM)
    evs, _, _ = read(p, "server.log", year_anchor=None, year_hint=2023)
    assert evs[0].ts == datetime(2023, 12, 31, 23, 2, 11, tzinfo=UTC)
    assert evs[-1].ts == datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC)


TORCHRUN = (
    "CUDA_VISIBLE_DEVICES=0,1\n"
    "MASTER_ADDR=10.0.0.1\n"
    "NCCL_DEBUG=INFO\n"
    "+ torchrun --nproc-per-node 2 train.py\n"
    "[rank0]:2024-05-01 10:00:00,001 - train - INFO - step 1 loss 2.31\n"
    "[rank1]:2024-05-01 10:00:00,005 - train - INFO - step 1 loss 2.30\n"
    "node1:77:77 [0] NCCL INFO comm 0x1 rank 0 nranks 2 - Init COMPLETE\n"
    "[rank1]:2024-05-01 10:00:09,500 - train - ERROR - loss is nan\n"
    "[rank1]: Traceback (most recent call last):\n"
    "[rank1]:   File \"train.py\", line 9\n"
)


def test_torchrun_rank_prefixes_env_dump_and_nccl_lines(tmp_path: Path) -> None:
    p = write(tmp_path, "trainer.log", TORCHRUN)
    evs, bad, ctx = read(p, "trainer.log")
    assert not bad
    assert [e.attrs["rank"] for e in evs] == [0, 1, 1]
    a, b, c = evs
    assert a.attrs["prefix"] == "[rank0]:" and a.attrs["preamble_lines"] == 4
    assert "MASTER_ADDR=10.0.0.1" in a.text
    assert a.ts == datetime(2024, 5, 1, 10, 0, 0, 1000, tzinfo=UTC)
    assert "NCCL INFO comm" in b.text
    assert c.level == "error" and "Traceback" in c.text and c.attrs["continuation_lines"] == 2
    assert ctx.coverage.lines == total_lines(TORCHRUN)


def test_airflow_task_log(tmp_path: Path) -> None:
    content = (
        "[2025-03-03, 17:09:55 UTC] {taskinstance.py:2612} INFO - Dependencies all met\n"
        "[2025-03-03, 17:10:00 UTC] {pod_manager.py:390} WARNING - Pod not yet started\n"
        "[2025-03-03, 17:10:01 UTC] {taskinstance.py:441} ▶ Post task execution logs\n"
    )
    p = write(tmp_path, "attempt=1.log", content)
    evs, _, _ = read(p, "attempt=1.log")
    assert [(e.ts, e.level, e.attrs["logger"]) for e in evs[:2]] == [
        (datetime(2025, 3, 3, 17, 9, 55, tzinfo=UTC), "info", "taskinstance.py:2612"),
        (datetime(2025, 3, 3, 17, 10, 0, tzinfo=UTC), "warning", "pod_manager.py:390"),
    ]
    assert evs[0].text == "Dependencies all met" and not evs[0].ts_assumed
    assert evs[2].text == "▶ Post task execution logs" and evs[2].level is None


# loghub-style systems: (file name, two lines, expected first time, level, a text fragment, attrs subset)
SYSTEMS: list[tuple[str, str, datetime, str | None, str, dict[str, object]]] = [
    ("android.log",
     "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs\n"
     "03-17 16:13:38.819  1702  8671 E PowerManager: release wakelock\n",
     datetime(2024, 3, 17, 16, 13, 38, 811000, tzinfo=UTC), "debug", "printFreezing",
     {"pid": "1702", "thread": "2395", "logger": "WindowManager"}),
    ("apache_error.log",
     "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties\n"
     "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6\n",
     datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC), "info", "workerEnv.init()", {}),
    ("bgl.log",
     "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected\n"
     "- 1117838573 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.53.276129 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected\n",
     datetime(2005, 6, 3, 22, 42, 50, tzinfo=UTC), "info", "parity error", {"layout": "epoch_s"}),
    ("hdfs.log",
     "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating\n"
     "081109 203807 222 INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block blk_-6952295868487656571 terminating\n",
     datetime(2008, 11, 9, 20, 36, 15, tzinfo=UTC), "info", "PacketResponder 1",
     {"pid": "148", "logger": "dfs.DataNode$PacketResponder"}),
    ("hpc.log",
     "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component is in the unavailable state (HWID=1234)\n"
     "134682 node-109 unix.hw state_change.unavailable 1077804743 1 Component State Change: Component is in the unavailable state (HWID=5678)\n",
     datetime(2004, 2, 26, 14, 12, 22, tzinfo=UTC), None, "node-246", {"layout": "epoch_s"}),
    ("healthapp.log",
     "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579\n"
     "20171223-22:15:29:615|Step_LSC|30002312|onExtend:1514038530000 14 0 4\n",
     datetime(2017, 12, 23, 22, 15, 29, 606000, tzinfo=UTC), None, "onStandStepChanged",
     {"logger": "Step_LSC", "pid": "30002312"}),
    ("openstack.log",
     "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b] 10.11.10.1 \"GET /v2/servers/detail HTTP/1.1\" status: 200\n"
     "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.272 25746 INFO nova.osapi_compute.wsgi.server [req-9bc36dd9] 10.11.10.1 \"GET /v2/servers/detail HTTP/1.1\" status: 200\n",
     datetime(2017, 5, 16, 0, 0, 0, 8000, tzinfo=UTC), "info", "GET /v2/servers/detail", {"pid": "25746"}),
    ("proxifier.log",
     "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS\n"
     "[10.30 16:49:07] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent\n",
     datetime(2024, 10, 30, 16, 49, 6, tzinfo=UTC), None, "chrome.exe", {}),
    ("spark.log",
     "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]\n"
     "17/06/09 20:10:41 WARN spark.SecurityManager: Changing view acls to: yarn,curi\n",
     datetime(2017, 6, 9, 20, 10, 40, tzinfo=UTC), "info", "Registered signal",
     {"logger": "executor.CoarseGrainedExecutorBackend"}),
    ("thunderbird.log",
     "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed for user root\n"
     "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond[2916]: (root) CMD (run-parts /etc/cron.hourly)\n",
     datetime(2005, 11, 9, 20, 1, 1, tzinfo=UTC), None, "session closed", {"layout": "epoch_s"}),
    ("zookeeper.log",
     "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200\n"
     "2015-07-29 19:04:12,394 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@679] - Interrupted while waiting\n",
     datetime(2015, 7, 29, 17, 41, 44, 747000, tzinfo=UTC), "info", "Notification time out",
     {"thread": "QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774"}),
    ("linux_messages",
     "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0\n"
     "Jun 14 15:16:02 combo sshd(pam_unix)[19937]: check pass; user unknown\n",
     datetime(2024, 6, 14, 15, 16, 1, tzinfo=UTC), None, "authentication failure",
     {"host": "combo", "program": "sshd(pam_unix)", "pid": "19939"}),
    ("nginx_error.log",
     "2024/01/02 03:04:05 [error] 123#0: *1 connect() failed (111: Connection refused) while connecting to upstream\n"
     "2024/01/02 03:04:06 [warn] 123#0: *2 an upstream response is buffered to a temporary file\n",
     datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "error", "connect() failed", {"pid": "123", "thread": "0"}),
    ("glog.INFO",
     "I0425 14:03:07.123456    2214 kubelet.go:2453] SyncLoop (PLEG): event for pod\n"
     "E0425 14:03:08.000001    2214 pod_workers.go:1298] Error syncing pod\n",
     datetime(2024, 4, 25, 14, 3, 7, 123456, tzinfo=UTC), "info", "SyncLoop", {"thread": "2214", "logger": "kubelet.go:2453"}),
]


@pytest.mark.parametrize(("name", "content", "ts", "level", "fragment", "attrs"), SYSTEMS, ids=[s[0] for s in SYSTEMS])
def test_loghub_style_systems(tmp_path: Path, name: str, content: str, ts: datetime, level: str | None,
                              fragment: str, attrs: dict[str, object]) -> None:
    p = write(tmp_path, name, content)
    evs, bad, ctx = read(p, name)
    assert not bad and len(evs) == 2, [e.text for e in evs]
    first = evs[0]
    assert first.ts == ts
    assert first.level == level
    assert fragment in first.text
    for k, v in attrs.items():
        assert first.attrs.get(k) == v, (k, first.attrs)
    assert evs[1].ts is not None and evs[1].ts >= first.ts
    assert ctx.coverage.lines == 2 and ctx.coverage.bytes_covered == len(content.encode())


def test_syslog_program_names_the_service(tmp_path: Path) -> None:
    p = write(tmp_path, "node7/messages", SYSTEMS[11][1])
    evs, _, _ = read(p, "node7/messages")
    assert evs[0].service == "sshd(pam_unix)"


def test_kubectl_prefix_and_timestamps(tmp_path: Path) -> None:
    content = (
        "[pod/api-7d9f8c7b6-x2k4z/app] 2024-06-01T10:00:05.123456789Z 2024-06-01 09:59:59,000 ERROR boom\n"
        "[pod/api-7d9f8c7b6-x2k4z/app] 2024-06-01T10:00:05.200000000Z   at handler (x.js:1)\n"
        "[pod/api-7d9f8c7b6-q8r2m/app] 2024-06-01T10:00:06.000000000Z 2024-06-01 10:00:00,500 INFO ok\n"
    )
    p = write(tmp_path, "kubectl.txt.log", content)
    evs, _, _ = read(p, "kubectl.txt.log")
    assert len(evs) == 2
    a, b = evs
    # kubectl's time wins over the program's own, which is kept.
    assert a.ts == datetime(2024, 6, 1, 10, 0, 5, 123456, tzinfo=UTC) and not a.ts_assumed
    assert a.attrs["inner_time"] == "2024-06-01 09:59:59,000"
    assert (a.attrs["pod"], a.attrs["container"], a.service) == ("api-7d9f8c7b6-x2k4z", "app", "api")
    assert a.attrs["prefix"].startswith("[pod/api-7d9f8c7b6-x2k4z/app] 2024-06-01T10:00:05")
    assert a.level == "error" and "at handler" in a.text
    assert b.attrs["pod"] == "api-7d9f8c7b6-q8r2m"


def test_docker_compose_prefix(tmp_path: Path) -> None:
    content = (
        "web-1    | 2024-06-01T10:00:00Z INFO started\n"
        "worker-1 | 2024-06-01T10:00:01Z ERROR queue down\n"
        "worker-1 |   retrying\n"
    )
    p = write(tmp_path, "compose.log", content)
    evs, _, _ = read(p, "compose.log")
    assert [(e.service, e.attrs["container"], e.level) for e in evs] == [("web", "web-1", "info"), ("worker", "worker-1", "error")]
    assert "retrying" in evs[1].text and evs[1].text.startswith("queue down")


def test_srun_label_and_stern_prefixes(tmp_path: Path) -> None:
    srun = "0: 2024-06-01 10:00:00 INFO rank zero up\n1: 2024-06-01 10:00:01 INFO rank one up\n"
    evs, _, _ = read(write(tmp_path, "slurm-42.out", srun), "slurm-42.out")
    assert [e.attrs["rank"] for e in evs] == [0, 1] and evs[1].text == "rank one up"
    stern = (
        "api-7d9f8c7b6-x2k4z app 2024-06-01T10:00:00Z INFO hello\n"
        "api-7d9f8c7b6-x2k4z app 2024-06-01T10:00:01Z WARN slow\n"
        "api-7d9f8c7b6-q8r2m app 2024-06-01T10:00:02Z INFO bye\n"
    )
    evs, _, _ = read(write(tmp_path, "stern.log", stern), "stern.log")
    assert [(e.attrs["pod"], e.attrs["container"], e.service) for e in evs][0] == ("api-7d9f8c7b6-x2k4z", "app", "api")
    assert evs[1].level == "warning" and evs[1].text == "slow"


def test_file_without_any_timestamp_becomes_undated_paragraphs(tmp_path: Path) -> None:
    content = "first paragraph line one\nline two\n\n\nsecond paragraph\n"
    p = write(tmp_path, "runbook-output", content)
    evs, bad, ctx = read(p, "runbook-output")
    assert not bad
    assert [(e.id, e.ts, e.text) for e in evs] == [
        ("log:runbook-output:1", None, "first paragraph line one\nline two"),
        ("log:runbook-output:5", None, "second paragraph"),
    ]
    assert ctx.coverage.lines == 5 and ctx.coverage.undated_lines == 5


def test_long_undated_block_is_cut_into_bounded_records(tmp_path: Path) -> None:
    content = "".join(f"KEY_{i}=value\n" for i in range(MAX_CONTINUATION_LINES * 2 + 5))
    evs, _, ctx = read(write(tmp_path, "env.dump", content), "env.dump")
    assert len(evs) == 3 and sum(e.text.count("\n") + 1 for e in evs) == MAX_CONTINUATION_LINES * 2 + 5


def test_overflowing_continuations_start_an_undated_record(tmp_path: Path) -> None:
    n = MAX_CONTINUATION_LINES + 50
    content = "2024-06-01 10:00:00 ERROR crash\n" + "".join(f"  frame {i}\n" for i in range(n)) + "2024-06-01 10:00:01 INFO next\n"
    evs, _, ctx = read(write(tmp_path, "app.log", content), "app.log")
    assert len(evs) == 3
    crash, rest, nxt = evs
    assert crash.attrs["continuation_lines"] == MAX_CONTINUATION_LINES
    assert rest.ts is None and rest.attrs["continues"] == crash.id and f"frame {n - 1}" in rest.text
    assert nxt.text == "next"
    cov = ctx.coverage
    assert cov.lines == n + 2 and cov.continuation_lines == MAX_CONTINUATION_LINES and cov.undated_lines == 50


def test_long_preamble_becomes_undated_blocks_and_the_rest_attaches(tmp_path: Path) -> None:
    n = MAX_CONTINUATION_LINES + 10
    content = "".join(f"+ step {i}\n" for i in range(n)) + "2024-06-01 10:00:00 INFO go\n"
    evs, _, ctx = read(write(tmp_path, "job.log", content), "job.log")
    assert evs[0].ts is None and evs[0].attrs["lines"] == MAX_CONTINUATION_LINES
    assert evs[1].attrs["preamble_lines"] == 10 and evs[1].attrs["preamble_from"] == MAX_CONTINUATION_LINES + 1
    assert ctx.coverage.lines == n + 1


def test_bad_bytes_and_impossible_dates_cost_only_their_line(tmp_path: Path) -> None:
    content = (
        b"2024-06-01 10:00:00 INFO one\n"
        b"2024-02-30 10:00:01 INFO impossible date\n"
        b"2024-06-01 10:00:02 INFO caf\xe9 latin-1\n"
        b"2024-06-01 10:00:03 INFO three\n"
    )
    evs, bad, _ = read(write(tmp_path, "app.log", content), "app.log")
    assert len(evs) == 4
    assert evs[1].ts is None and evs[1].attrs["bad_time"] == "2024-02-30 10:00:01"
    assert [m.locator for m in bad] == ["line 3"] and "UTF-8" in bad[0].reason
    assert evs[3].text == "three"


def test_mixed_formats_in_one_file_get_a_second_layout(tmp_path: Path) -> None:
    lines = []
    for i in range(10):
        lines.append(f"2024-06-01T10:00:{i:02d}Z INFO launcher step {i}")
        lines.append(f"[2024-06-01, 10:00:{i:02d} UTC] {{runner.py:{i}}} INFO - task {i}")
    evs, _, _ = read(write(tmp_path, "mixed.log", "\n".join(lines) + "\n"), "mixed.log")
    assert len(evs) == 20 and all(e.ts is not None for e in evs)


def test_slices_give_the_same_records_as_a_whole_file_read(tmp_path: Path) -> None:
    parts = []
    for i in range(400):
        parts.append(f"2024-06-01 10:{i // 60:02d}:{i % 60:02d},{i:03d} [worker-{i % 3}] ERROR com.x.Job - failed {i}")
        if i % 7 == 0:
            parts += [f"untimed detail {i}", "java.lang.IllegalStateException: bad", "\tat com.x.Job.run(Job.java:1)"]
    content = "\n".join(["prelude line"] + parts) + "\n"
    p = write(tmp_path, "job.log", content)
    whole, _, whole_ctx = read(p, "job.log")
    assert READER.splittable_for(p)
    for chunk in (997, 4096):
        spans = line_spans(p, chunk)
        assert len(spans) > 3
        got: list[Evidence] = []
        lines = 0
        for span in spans:
            evs, _, ctx = read(p, "job.log", span=span)
            got += evs
            lines += ctx.coverage.lines
        assert [(e.id, e.ts, e.text) for e in got] == [(e.id, e.ts, e.text) for e in whole]
        assert lines == whole_ctx.coverage.lines == total_lines(content)


def test_plain_text_is_never_unrecognised(tmp_path: Path) -> None:
    p = write(tmp_path, "weird.log", "this is just a sentence\nand another\n")
    assert pick_reader(p, p.read_text()) is READER
    # Notes still take Markdown; the generic reader is the last resort.
    md = write(tmp_path, "notes.md", "# Incident\nsomething happened\n")
    assert pick_reader(md, md.read_text()) is not READER


def test_ansi_colour_codes_are_not_content(tmp_path: Path) -> None:
    content = "\x1b[32mINFO\x1b[0m 06-01 10:00:00 [app.py:1] green\n\x1b[31mERROR\x1b[0m 06-01 10:00:01 [app.py:2] red\n"
    evs, _, _ = read(write(tmp_path, "color.log", content), "color.log")
    assert [(e.level, e.text) for e in evs] == [("info", "green"), ("error", "red")]


# --- fast paths pinned against the general code -------------------------------------------------
import random  # noqa: E402

from tools.readers import generic_text  # noqa: E402

_HEADER_PARTS = ["INFO", "WARN", "ERROR", "DEBUG:", "RAS", "KERNEL", "[main]", "[pid 12:tid 34]", "[core:error]",
                 "[ worker-1 ]", "{task.py:42}", "com.acme.Pool", "com.acme.Pool:", "com.acme.Pool -", "-", "|",
                 ">", "4242", "17#3", "sshd[99]:", "kernel(pam)[7]:", "[svc.mod]", "[a[b]c]", "[", "x]", "42:",
                 "[engine.py:12]", "<info>", "<Warn>", "main.go:33]", "request", "served", "id=5", ":", ""]


def _random_rest(rnd: random.Random) -> str:
    words = [rnd.choice(_HEADER_PARTS) for _ in range(rnd.randint(0, 9))]
    sep = [rnd.choice(["", " ", " ", " ", "  ", "\t"]) for _ in words]
    return "".join(s + w for s, w in zip(sep, words))


@pytest.mark.parametrize("family", ["", "iso", "glog", "java", "syslog", "logcat"])
def test_header_scanner_gives_what_parse_header_gives(family: str) -> None:
    rnd = random.Random(family)
    scanner = generic_text.HeaderScanner()
    hits = 0
    for _ in range(6000):
        rest = _random_rest(rnd)
        before = len(scanner.states)
        got = scanner(rest, family)
        hits += len(scanner.states) == before
        assert got == generic_text.parse_header(rest, family), rest
    assert hits > 1000  # the remembered path did run


def test_reading_with_the_header_memo_equals_reading_without(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(7)
    lines = []
    for i in range(3000):
        t = datetime(2024, 12, 31, 23, 50, tzinfo=UTC) + timedelta(seconds=i * 7 + rnd.randint(0, 5))
        lines.append(f"{t:%Y-%m-%d %H:%M:%S},{rnd.randint(0, 999):03d}{_random_rest(rnd)} msg {i}")
        if rnd.random() < 0.05:
            lines.append("Traceback (most recent call last):\n  File \"a.py\", line 1\nValueError: x")
    p = write(tmp_path, "mixed.log", "\n".join(lines) + "\n")

    def dump() -> list[dict[str, object]]:
        ctx = ReadContext(root=tmp_path, year_anchor=ANCHOR)
        out = [e.model_dump() for e in GenericTextReader().read(p, "mixed.log", ctx)]
        return out + [ctx.coverage.__dict__.copy()]

    fast = dump()

    class Plain:
        def __call__(self, rest: str, family: str) -> generic_text.Header:
            return generic_text.parse_header(rest, family)

    monkeypatch.setattr(generic_text, "HeaderScanner", Plain)
    assert dump() == fast and len(fast) > 3000


def _mixed_file(rnd: random.Random, n: int) -> str:
    out = []
    for i in range(n):
        t = datetime(2024, 6, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=i)
        kind = rnd.random()
        if kind < 0.7:
            out.append(f"{t:%Y-%m-%d %H:%M:%S} INFO step {i}")
        elif kind < 0.85:
            out.append(f"INFO {t:%m-%d %H:%M:%S} [w.py:1] other {i}")
        elif kind < 0.95:
            out.append(f"  at frame {i}")
        else:
            out.append(f"{t:%H:%M:%S} tick")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_quick_discovery_chooses_what_full_scoring_chooses(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    p = write(tmp_path, "a.log", _mixed_file(rnd, rnd.choice([30, 120, 900])))
    quick = generic_text.discover(p)
    full_choose = generic_text._choose_from
    orig = generic_text._choose
    try:
        generic_text._choose = full_choose  # type: ignore[assignment]
        full = generic_text.discover(p)
    finally:
        generic_text._choose = orig  # type: ignore[assignment]
    assert [(c.layout.name, c.fields_before) for c in quick.choices] == \
        [(c.layout.name, c.fields_before) for c in full.choices]


@pytest.mark.parametrize("content,reader", [
    ("INFO 12-30 22:00:01 [engine.py:12] started\nWARNING 12-30 22:00:03 [engine.py:14] slow\n"
     "INFO 12-30 22:00:04 [engine.py:12] ok\n", "log.text"),
    ("081109 203615 148 INFO dfs.DataNode: served\n081109 203616 149 INFO dfs.DataNode: served\n", "log.text"),
    ("# Incident notes\n\nWe paged the on-call.\n\nRolled back at 2024-04-25 14:07 UTC.\n", "note"),
    ("- 14:05 paged\n- 14:10 rolled back\n", "note"),
    ("14:05 paged\n14:10 rolled back\n14:20 resolved\n", "note"),  # a time of day alone: notes date it
    ("Dear team,\n\nthe 2024-04-25 14:05 UTC rollback fixed it.\n", "note"),
])
def test_txt_files_go_by_content(tmp_path: Path, content: str, reader: str) -> None:
    p = write(tmp_path, "saved.txt", content)
    picked = pick_reader(p, content)
    assert picked is not None and picked.name == reader
