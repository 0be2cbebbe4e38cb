"""Tokens and calls the LLM path spends per example, against a scripted local model.

    python -m benchmarks.llm_tokens

For each bundled example: model calls, input tokens (counted offline from the request bodies that
reached the server), and the share of the ground truth's key timeline events whose timestamps the
model was shown. Targets: <= 25 calls and <= 60k input tokens per draft; >= 90% key events shown.
The scripted model answers like a cooperative one (tests/integration/test_llm_draft.py); a real model may call
more tools, up to the engine's bounds.
"""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.llm.client import LLMConfig  # noqa: E402
from agent.llm.engine import LLMEngine  # noqa: E402
from agent.runner import run_draft  # noqa: E402
from evals.ground_truth import load_ground_truth  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.test_llm_draft import ScriptedModel  # noqa: E402
from tools.tokens import count_tokens  # noqa: E402

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
EXAMPLES = ("vllm-oom-upgrade", "rag-stale-index", "minor-eval-flake")


def main() -> None:
    print(f"{'example':<20} {'calls':>5} {'input tokens':>12} {'key events shown':>17}")
    for name in EXAMPLES:
        gt = load_ground_truth(ROOT / "evals" / "dataset" / name / "ground_truth.json")
        with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
            fake.enqueue(*[ScriptedModel()] * 60)
            cfg = LLMConfig(api_key=SecretStr("sk-local"), base_url=fake.base_url, model="scripted")
            run_draft(ROOT / "examples" / name, base=Path(tmp), today=date(2026, 4, 27), engine=LLMEngine(cfg))
            bodies = [r.body for r in fake.requests]
        shown_text = "\n".join(m.get("content") or "" for b in bodies for m in b.get("messages", []))
        tokens = sum(count_tokens("\n".join(m.get("content") or "" for m in b.get("messages", []))) for b in bodies)
        seen = {datetime.fromisoformat(m.replace("Z", "+00:00")) for m in ISO.findall(shown_text)}
        # A key event counts as shown when some timestamp the model saw is within its tolerance.
        shown = sum(1 for k in gt.key_events
                    if any(abs((t - k.time).total_seconds()) <= k.tolerance_s for t in seen))
        n = len(gt.key_events)
        print(f"{name:<20} {len(bodies):>5} {tokens:>12,} {shown:>8}/{n} ({100 * shown / n:.0f}%)")


if __name__ == "__main__":
    main()
