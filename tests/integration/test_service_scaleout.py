"""Scale-out on the real services: PostgreSQL plus RabbitMQ, two `postmortem worker` processes,
four concurrent drafts, one worker SIGKILLed mid-draft. Every job must still finish, the killed one
resumed by the other worker from its checkpoint, and every report must equal the single-process
report byte for byte (the golden copies of the bundled examples).

Four drafts keep this file near 20 s; the ten-draft run with the dev-set dumps, and the throughput
and latency numbers, are in benchmarks/service_scaleout.py. Skipped with the reason when PostgreSQL
or RabbitMQ is not reachable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service_scaleout_harness import EXAMPLE_TODAY, ROOT, run_celery, unreachable_reason

GOLDEN = ROOT / "tests" / "golden"
# One example twice: two jobs drafting the same dump must share nothing but the dump.
DUMPS = ("vllm-oom-upgrade", "rag-stale-index", "minor-eval-flake", "minor-eval-flake")

_reason = unreachable_reason()
pytestmark = pytest.mark.skipif(_reason is not None, reason=f"scale-out needs the real services: {_reason}")


def test_sigkilled_worker_job_resumes_elsewhere_and_reports_match_single_process(tmp_path: Path) -> None:
    dumps = [(ROOT / "examples" / name, EXAMPLE_TODAY) for name in DUMPS]
    run = run_celery(dumps, tmp_path, workers=2, kill=True, timeout_s=120)

    assert [o.status for o in run.outcomes] == ["done"] * len(DUMPS), [o.error for o in run.outcomes]
    for name, outcome in zip(DUMPS, run.outcomes):
        expected = (GOLDEN / f"example-{name}.md").read_text(encoding="utf-8")
        assert outcome.markdown == expected, f"{name}: the scaled-out report differs from the single-process one"

    # The kill landed mid-draft: the first stages were checkpointed, and the job ran a second time
    # on the surviving worker (RabbitMQ's redelivery), not only on the killed one.
    assert run.killed_job is not None and run.checkpoint_at_kill
    assert run.redelivered_to == ["w1"]
    killed = next(o for o in run.outcomes if o.job_id == run.killed_job)
    assert killed.attempts == 2
    assert sorted(o.attempts for o in run.outcomes) == [1] * (len(DUMPS) - 1) + [2]
