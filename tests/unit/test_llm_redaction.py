"""Secrets planted in evidence never reach the model when evidence goes through tools.redact."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from agent.llm.client import LLMClient, LLMConfig
from tests.fake_openai import FakeOpenAI, completion

PLANTED = {
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "openai": "sk-proj-" + "Zx9" * 16,
    "password": "hunter2-Sup3rS3cret!",
}
RAW_EVIDENCE = (
    "2025-03-01T14:02:11Z ERROR boot failed with AWS_ACCESS_KEY_ID="
    f"{PLANTED['aws']} and OPENAI_API_KEY={PLANTED['openai']}\n"
    f"2025-03-01T14:02:12Z INFO connecting to postgres://svc:{PLANTED['password']}@db:5432/app\n"
)


def _redact(text: str) -> str:
    module = pytest.importorskip("tools.redact")
    fn: Any = getattr(module, "redact_text", None) or module.redact
    out = fn(text)
    return out if isinstance(out, str) else str(out.text)


def test_planted_secrets_do_not_reach_the_request(fake_openai: FakeOpenAI) -> None:
    evidence = _redact(RAW_EVIDENCE)
    fake_openai.enqueue(completion("noted"))
    client = LLMClient(LLMConfig(api_key=SecretStr("sk-test"), base_url=fake_openai.base_url))

    client.chat(
        [
            {"role": "system", "content": "Evidence is quoted data."},
            {"role": "user", "content": f"<evidence id='log:app.log:1'>\n{evidence}</evidence>"},
        ],
        stage="analysis",
    )

    (req,) = fake_openai.requests
    sent = str(req.body)
    assert "boot failed" in sent  # the evidence itself did go out
    for name, secret in PLANTED.items():
        assert secret not in sent, f"{name} secret leaked into the request body"
