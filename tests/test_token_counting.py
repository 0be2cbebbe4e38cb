"""Token counting works with no network and bounds text as promised."""

from __future__ import annotations

import pytest
import tiktoken.load

from tools import tokens


def test_counts_without_any_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(path: str) -> bytes:
        if path.startswith(("http://", "https://")):
            raise AssertionError(f"tiktoken tried to download {path}")
        with open(path, "rb") as f:
            return f.read()

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    tokens.encoder.cache_clear()
    n = tokens.count_tokens("E0425 14:03:07.123456 1 server.go:42] CUDA out of memory")
    assert 10 < n < 40


def test_special_token_text_is_counted_as_data() -> None:
    assert tokens.count_tokens("model said <|endoftext|> then stopped") > 3


def test_truncate_respects_budget() -> None:
    text = "GET /api/v1/chat 503 " * 500
    cut = tokens.truncate_to_tokens(text, 100)
    assert tokens.count_tokens(cut) <= 100
    assert text.startswith(cut) and len(cut) < len(text)
    assert tokens.truncate_to_tokens("short", 100) == "short"
    assert tokens.truncate_to_tokens("anything", 0) == ""
