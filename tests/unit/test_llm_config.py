"""LLMConfig from the environment (agent.config.Settings), provider selection, and the Azure route over real HTTP."""

from __future__ import annotations

import pytest

from agent.config import Settings
from agent.llm.client import LLMClient, LLMConfig, LLMConfigError
from agent.llm.usage import Budget, count_message_tokens
from tests.fake_openai import FakeOpenAI, completion


def _from_env(env: dict[str, str]) -> LLMConfig:
    return Settings.from_env(env).llm_config


def test_no_key_and_no_base_url_means_offline() -> None:
    cfg = _from_env({})
    assert not cfg.is_configured()
    with pytest.raises(LLMConfigError) as info:
        LLMClient(cfg)
    assert "offline" in str(info.value)


def test_openai_settings_from_env() -> None:
    cfg = _from_env(
        {
            "OPENAI_API_KEY": "sk-abc",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "POSTMORTEM_MODEL": "qwen2.5-7b",
            "POSTMORTEM_MAX_CALLS": "7",
            "POSTMORTEM_MAX_INPUT_TOKENS": "1234",
            "POSTMORTEM_LLM_TIMEOUT": "12.5",
        }
    )
    assert cfg.is_configured() and cfg.provider == "openai"
    assert (cfg.model, cfg.max_calls, cfg.max_input_tokens, cfg.timeout_s) == (
        "qwen2.5-7b",
        7,
        1234,
        12.5,
    )
    # The key never shows up in reprs or the one-line description.
    assert "sk-abc" not in repr(cfg) and "sk-abc" not in cfg.describe()


def test_local_server_needs_no_key() -> None:
    assert _from_env({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}).is_configured()


def test_bad_number_in_env_is_a_clear_error() -> None:
    with pytest.raises(LLMConfigError) as info:
        _from_env({"OPENAI_API_KEY": "k", "POSTMORTEM_MAX_CALLS": "lots"})
    assert "POSTMORTEM_MAX_CALLS" in str(info.value) and "'lots'" in str(info.value)


def test_azure_needs_api_version() -> None:
    cfg = _from_env(
        {"AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9", "AZURE_OPENAI_API_KEY": "az"}
    )
    assert cfg.provider == "azure" and cfg.is_configured()
    with pytest.raises(LLMConfigError) as info:
        LLMClient(cfg)
    assert "OPENAI_API_VERSION" in str(info.value)


def test_azure_request_goes_to_the_deployment(fake_openai: FakeOpenAI) -> None:
    cfg = _from_env(
        {
            "AZURE_OPENAI_ENDPOINT": f"http://127.0.0.1:{fake_openai.port}",
            "AZURE_OPENAI_API_KEY": "az-key",
            "OPENAI_API_VERSION": "2024-10-21",
            "POSTMORTEM_MODEL": "pm-deploy",
        }
    )
    fake_openai.enqueue(completion("hello from azure"))

    result = LLMClient(cfg).chat([{"role": "user", "content": "hi"}], stage="chat")

    assert result.content == "hello from azure"
    (req,) = fake_openai.requests
    assert req.path.startswith("/openai/deployments/pm-deploy/chat/completions")
    assert "api-version=2024-10-21" in req.path
    assert req.headers["api-key"] == "az-key"


def test_budget_refuses_without_reserving() -> None:
    budget = Budget(max_calls=1, max_input_tokens=100)
    budget.charge(60, stage="a")
    with pytest.raises(Exception, match="call budget"):
        budget.charge(10, stage="b")
    assert budget.as_dict()["calls_used"] == 1 and budget.as_dict()["input_tokens_used"] == 60


def test_token_estimate_grows_with_content_and_tools() -> None:
    short = count_message_tokens([{"role": "user", "content": "hi"}])
    long = count_message_tokens([{"role": "user", "content": "kubelet OOMKilled " * 50}])
    with_tools = count_message_tokens(
        [{"role": "user", "content": "hi"}], {"tools": [{"function": {"name": "search"}}]}
    )
    assert short < with_tools and long > short + 50
