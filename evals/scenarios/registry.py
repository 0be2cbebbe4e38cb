"""Every scenario by name. EXAMPLES are rendered into examples/<name>/, the rest into evals/dataset/."""

from __future__ import annotations

from evals.scenarios import (
    ds_eval_safety_data, ds_rag_agentic, ds_serving, ds_training, ex_minor_eval_flake, ex_rag_stale,
    ex_vllm_oom,
)
from evals.scenarios.spec import Scenario

_ALL: list[Scenario] = [
    ex_vllm_oom.SPEC, ex_rag_stale.SPEC, ex_minor_eval_flake.SPEC,
    ds_training.LOSS_SPIKE, ds_training.CKPT,
    ds_serving.KV_CACHE, ds_serving.QUANT,
    ds_rag_agentic.POISON, ds_rag_agentic.RUNAWAY, ds_rag_agentic.DESTRUCTIVE,
    *ds_eval_safety_data.CASES,
]
CASES: dict[str, Scenario] = {s.name: s for s in _ALL}
EXAMPLES: set[str] = {"vllm-oom-upgrade", "rag-stale-index", "minor-eval-flake"}
assert len(CASES) == len(_ALL), "scenario names must be unique"
