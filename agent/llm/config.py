"""How to reach the LLM (read from the environment by agent.config), and the openai SDK client built from it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, SecretStr

from agent.llm.errors import LLMConfigError
from agent.llm.usage import PRICES_PER_MTOK

if TYPE_CHECKING:
    import openai

__all__ = ["LLMConfig", "build_openai_client"]


class LLMConfig(BaseModel):
    """How to reach the model and how much one run may spend."""

    provider: Literal["openai", "azure"] = "openai"
    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"  # for Azure: the deployment name
    azure_endpoint: str | None = None
    api_version: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 4  # retries after the first attempt
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    retry_after_cap_s: float = 30.0  # a server asking for longer than this is not waited on fully
    jitter_seed: int | None = None  # fixed in tests for reproducible delays
    max_calls: int = 25
    max_input_tokens: int = 60_000
    temperature: float | None = None  # None: server default (some models reject the parameter)
    max_output_tokens: int | None = None
    stream_usage: bool = True  # ask for a final usage chunk when streaming
    prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(PRICES_PER_MTOK))

    def is_configured(self) -> bool:
        """False means: use the offline engine."""
        if self.provider == "azure":
            return bool(self.azure_endpoint and self.api_key)
        # A local server (Ollama, vLLM, llama.cpp) may need a base URL but no key.
        return bool(self.api_key or self.base_url)

    @property
    def endpoint(self) -> str:
        if self.provider == "azure":
            return self.azure_endpoint or "[unset AZURE_OPENAI_ENDPOINT]"
        return self.base_url or "https://api.openai.com/v1"

    def describe(self) -> str:
        """One line for logs and the report; never includes the key."""
        return f"{self.provider} model={self.model} at {self.endpoint}"


def build_openai_client(config: LLMConfig) -> openai.OpenAI:
    """The SDK client, with its own retries off so LLMClient alone decides."""
    import openai  # here, so reading the settings does not load the SDK on every command

    if not config.is_configured():
        raise LLMConfigError(
            "No LLM configured: set OPENAI_API_KEY (and optionally OPENAI_BASE_URL), or "
            "AZURE_OPENAI_ENDPOINT + AZURE_OPENAI_API_KEY, or run with the offline engine."
        )
    key = config.api_key.get_secret_value() if config.api_key else None
    if config.provider == "azure":
        if not config.api_version:
            raise LLMConfigError(
                "AZURE_OPENAI_ENDPOINT is set but OPENAI_API_VERSION is not; set it to the API "
                "version your Azure resource supports (e.g. the one shown in the Azure portal)."
            )
        return openai.AzureOpenAI(
            azure_endpoint=config.azure_endpoint or "",
            api_key=key,
            api_version=config.api_version,
            timeout=config.timeout_s,
            max_retries=0,
        )
    return openai.OpenAI(
        # Local servers accept any key, but the SDK insists on one.
        api_key=key or "not-needed",
        base_url=config.base_url,
        timeout=config.timeout_s,
        max_retries=0,
    )
