"""Service throughput and job latency: the in-process default against two Celery workers.

    python -m benchmarks.service_scaleout [--drafts 10] [--devset /work/shared/devset] [--no-kill]

Drafts `--drafts` jobs (the bundled examples plus, when the folder exists, the dev-set `*.tar.gz`
dumps, in turn) three ways in one run, on the same machine:

1. in-process: SQLite database, the default one-thread queue in the API process;
2. celery: PostgreSQL plus RabbitMQ, two `postmortem worker` processes;
3. celery + kill: the same, with the first worker SIGKILLed while one of its jobs is mid-draft and a
   fresh worker started in its place (the acceptance scenario of issue 17).

Every draft is queued through the API (`POST /api/drafts/path`). Prints drafts per minute (jobs /
wall time from the first job row created to the last finished; worker start-up is excluded, workers are ready
before the first request) and p50/p95 job latency (job row created by the API to row finished, so
queueing time counts). Every Celery report must equal the in-process report of the same
dump byte for byte; the script exits 1 when one differs or a job fails. Only dump archives are read
(never the dev set's answer keys). Needs PostgreSQL at 127.0.0.1:5432 (database `test`, for creating a
scratch database) and RabbitMQ at 127.0.0.1:5672, or POSTMORTEM_TEST_PG / POSTMORTEM_TEST_AMQP.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from tests.service_scaleout_harness import EXAMPLE_TODAY, ROOT, ScaleoutRun, run_celery, run_inprocess, unreachable_reason

EXAMPLES = ("vllm-oom-upgrade", "rag-stale-index", "minor-eval-flake")


def dump_cycle(count: int, devset: Path | None) -> list[Path]:
    pool = [ROOT / "examples" / name for name in EXAMPLES]
    if devset is not None and devset.is_dir():
        pool += sorted(devset.glob("*.tar.gz"))  # archives only: the answer keys are never opened
    return [pool[i % len(pool)] for i in range(count)]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with ten jobs the p95 is the slowest job)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(label: str, run: ScaleoutRun) -> str:
    latencies = [o.latency_s for o in run.outcomes]
    per_minute = len(run.outcomes) / run.wall_s * 60
    return (f"{label:<24} {len(run.outcomes):>3} drafts  {run.wall_s:7.1f} s  {per_minute:6.1f} drafts/min  "
            f"p50 {percentile(latencies, 0.5):6.1f} s  p95 {percentile(latencies, 0.95):6.1f} s")


def compare(label: str, run: ScaleoutRun, reference: ScaleoutRun, dumps: list[Path]) -> list[str]:
    problems = []
    for dump, got, want in zip(dumps, run.outcomes, reference.outcomes):
        if got.status != "done":
            problems.append(f"{label}: {dump.name} {got.status}: {got.error}")
        elif got.markdown != want.markdown:
            problems.append(f"{label}: {dump.name}: report differs from the in-process report")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=10)
    parser.add_argument("--devset", type=Path, default=Path("/work/shared/devset"))
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL scenario")
    args = parser.parse_args()
    reason = unreachable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    dumps_paths = dump_cycle(args.drafts, args.devset)
    dumps = [(p, EXAMPLE_TODAY) for p in dumps_paths]
    print(f"{args.drafts} drafts over {len(set(dumps_paths))} dumps; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f} at start")
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pm-scaleout-") as tmp:
        base = Path(tmp)
        for sub in ("inprocess", "celery", "celery-kill"):
            (base / sub).mkdir()
        reference = run_inprocess(dumps, base / "inprocess")
        print(summary("in-process (default)", reference), flush=True)
        problems += [f"in-process: {o.error}" for o in reference.outcomes if o.status != "done"]
        celery = run_celery(dumps, base / "celery", workers=2, timeout_s=600)
        print(summary("celery, 2 workers", celery), flush=True)
        problems += compare("celery", celery, reference, dumps_paths)
        if not args.no_kill:
            killed = run_celery(dumps, base / "celery-kill", workers=2, kill=True, replace_killed=True,
                                timeout_s=600)
            print(summary("celery, 2 workers, kill", killed), flush=True)
            print(f"  killed mid-draft: job {killed.killed_job} (checkpoint at kill: {killed.checkpoint_at_kill}); "
                  f"redelivered to {', '.join(killed.redelivered_to) or 'nobody'}")
            problems += compare("celery+kill", killed, reference, dumps_paths)
            if not killed.checkpoint_at_kill or not killed.redelivered_to:
                problems.append("celery+kill: the killed job was not resumed from a checkpoint by another worker")
    for p in problems:
        print("PROBLEM:", p)
    if not problems:
        print(f"all {args.drafts * (2 if args.no_kill else 3)} reports complete; every Celery report equals "
              "the in-process one byte for byte")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
