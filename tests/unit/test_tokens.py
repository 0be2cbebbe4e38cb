"""Token counting works with no network (both encoding names) and bounds text as promised."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken.registry

from tools import tokens


def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tiktoken.load.read_file

    def guarded(path: str) -> bytes:
        if "://" in path:
            raise AssertionError(f"tiktoken tried to download {path}")
        return real(path)

    monkeypatch.setattr(tiktoken.load, "read_file", guarded)


def test_counts_without_any_download(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_network(monkeypatch)
    tokens.encoder.cache_clear()
    n = tokens.count_tokens("E0425 14:03:07.123456 1 server.go:42] CUDA out of memory")
    assert 10 < n < 40


def test_plain_cl100k_base_works_offline_from_the_installed_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_network(monkeypatch)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded earlier
    target = tokens.install_cache(tmp_path)
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    assert target == tmp_path / hashlib.sha1(url.encode()).hexdigest()
    enc = tiktoken.get_encoding("cl100k_base")
    text = "GET /v1/chat/completions 503 upstream timeout"
    assert enc.encode(text) == tokens.encoder().encode(text)


def test_special_token_text_is_counted_as_data() -> None:
    assert tokens.count_tokens("model said <|endoftext|> then stopped") > 3
    assert tokens.count_tokens("") == 0


def test_truncate_respects_budget() -> None:
    text = "GET /api/v1/chat 503 " * 500
    cut = tokens.truncate_to_tokens(text, 100)
    assert tokens.count_tokens(cut) <= 100
    assert text.startswith(cut) and len(cut) < len(text)
    assert tokens.truncate_to_tokens("short", 100) == "short"
    assert tokens.truncate_to_tokens("anything", 0) == ""
    multibyte = "日本語のログ行 " * 200
    assert tokens.count_tokens(tokens.truncate_to_tokens(multibyte, 33)) <= 33


def test_settings_choose_the_tokenizer_cache_from_the_environment(tmp_path: Path) -> None:
    from agent.config import Settings

    assert Settings.from_env({"TIKTOKEN_CACHE_DIR": str(tmp_path)}).tokenizer_cache == tmp_path
    assert Settings.from_env({"TIKTOKEN_CACHE_DIR": ""}).tokenizer_cache is None  # cache turned off
    xdg = Settings.from_env({"XDG_CACHE_HOME": str(tmp_path)}).tokenizer_cache
    assert xdg == tmp_path / "postmortem-lead" / "tiktoken"


def test_encoder_installs_the_bpe_file_only_where_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # restored after the test: install_cache sets it
    tokens.use_cache_dir(tmp_path / "cache")
    tokens.encoder.cache_clear()
    try:
        tokens.count_tokens("x")
    finally:
        tokens.use_cache_dir(None)
        tokens.encoder.cache_clear()
    assert [p.parent for p in (tmp_path / "cache").iterdir()] == [tmp_path / "cache"]
