"""Prometheus HTTP API query results (matrix or vector), bare or wrapped as {"query", "response"}.

One evidence record per series: the text is a short numeric summary (what search and the model
see); the samples stay in attrs for the analysis code.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import from_epoch

_SNIFF = re.compile(r'"resultType"\s*:\s*"(matrix|vector)"')
_UNITS = (
    ("_seconds", "s"), ("_seconds_total", "s"), ("_milliseconds", "ms"), ("_ms", "ms"),
    ("_bytes", "bytes"), ("_bytes_total", "bytes"), ("_ratio", "ratio"), ("_percent", "%"),
    ("_celsius", "°C"), ("_tokens", "tokens"), ("_tokens_total", "tokens"), ("_usd", "USD"),
)


def guess_unit(name: str) -> str | None:
    """Unit from Prometheus naming conventions (suffix), only when the name states it."""
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    for suffix, unit in sorted(_UNITS, key=lambda u: -len(u[0])):
        if base.endswith(suffix):
            return unit
    return None


def series_unit(name: str) -> str | None:
    """Unit of a series, stored with it at ingest: the suffix convention on any part of the name
    (recording rules such as "job:x_seconds:p99_5m" carry it mid-name), else a unit word in it."""
    for part in name.split(":"):
        unit = guess_unit(part)
        if unit:
            return unit
    tokens = set(re.split(r"[:_]", name.lower()))
    if {"toks", "tokens"} & tokens and "per" in tokens and {"s", "second", "sec"} & tokens:
        return "tokens/s"
    for token, unit in (("seconds", "s"), ("ms", "ms"), ("ratio", "ratio"), ("bytes", "bytes"), ("days", "days"),
                        ("hours", "h"), ("minutes", "min"), ("percent", "%"), ("pct", "%")):
        if token in tokens:
            return unit
    return None


# Files beside a saved query result that often say which query produced each file (Grafana or
# runbook exports): a table row or bullet naming the file with the expression in backticks.
_QUERY_DOCS = ("QUERIES.md", "queries.md", "README.md", "readme.md", "README", "README.txt")
# Only the start of such a note is read: it is a small index, never a log.
_QUERY_DOC_BYTES = 64 * 1024
_BACKTICKED = re.compile(r"`([^`\n]{3,500})`")


def sample_points(ev: Evidence) -> Iterator[tuple[float, float]]:
    """The (epoch seconds, value) samples of a metric record that read as numbers. A record read
    back from the store holds them as JSON lists, so each pair is checked again here."""
    for pair in ev.attrs.get("samples") or []:
        try:
            yield float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            continue


@functools.lru_cache(maxsize=64)
def _documented_queries(folder: str) -> dict[str, str]:
    """{file name: query} from a query index beside the result files (first document found)."""
    for doc in _QUERY_DOCS:
        p = Path(folder) / doc
        try:
            with p.open("r", encoding="utf-8", errors="replace") as fh:
                text = fh.read(_QUERY_DOC_BYTES)
        except OSError:
            continue
        out: dict[str, str] = {}
        for line in text.splitlines():
            for m in re.finditer(r"[\w.-]+\.json\b", line):
                exprs = [e for e in _BACKTICKED.findall(line) if not e.endswith(".json")]
                if exprs and m.group(0) not in out:
                    out[m.group(0)] = exprs[0]
        if out:
            return out
    return {}


def _series_name(metric: dict[str, Any], query: str | None, path: Path) -> tuple[str, str | None]:
    """(name, query): `__name__`, else the wrapper's query, else the file's own name (a query
    listed for the file in a note beside it is kept as the query). Never a generic "series":
    unnamed series of different files must stay different signals."""
    if metric.get("__name__"):
        return str(metric["__name__"]), query
    if query:
        return str(query), query
    return path.stem, _documented_queries(str(path.parent)).get(path.name)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _unwrap(doc: Any) -> list[tuple[str | None, Any]]:
    """(query, response) pairs from a bare response, a wrapper, or a list of either."""
    items = doc if isinstance(doc, list) else [doc]
    out: list[tuple[str | None, Any]] = []
    for it in items:
        if not isinstance(it, dict):
            out.append((None, it))
        elif "response" in it or "result" in it and "data" not in it:
            out.append((it.get("query") or it.get("expr"), it.get("response", it.get("result"))))
        else:
            out.append((it.get("query") or it.get("expr"), it))
    return out


class PrometheusReader:
    name = "prometheus"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        return bool(_SNIFF.search(head)) and not common.looks_like_jsonl(head)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        doc, bad = common.load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        index = 0
        for qi, (query, resp) in enumerate(_unwrap(doc)):
            data = resp.get("data") if isinstance(resp, dict) else None
            if not isinstance(resp, dict) or resp.get("status", "success") != "success" or not isinstance(data, dict):
                reason = resp.get("error") if isinstance(resp, dict) and resp.get("error") else "not a successful query response"
                yield Malformed(source=rel, locator=f"query {qi}", reason=str(reason)[:200])
                continue
            result = data.get("result")
            if not isinstance(result, list):
                yield Malformed(source=rel, locator=f"query {qi}", reason="response has no result list")
                continue
            for series in result:
                ev = self._series(series, query, index, rel, path)
                index += 1
                yield ev

    def _series(self, series: Any, query: str | None, index: int, rel: str, path: Path) -> Evidence | Malformed:
        loc = f"series {index}"
        if not isinstance(series, dict):
            return Malformed(source=rel, locator=loc, reason="series is not an object")
        metric = common.as_dict(series.get("metric"))
        raw = series.get("values")
        if raw is None and series.get("value") is not None:
            raw = [series["value"]]
        if not isinstance(raw, list):
            return Malformed(source=rel, locator=loc, reason="series has no values")
        samples: list[list[float]] = []
        bad = 0
        for pair in raw:
            try:
                t, v = float(pair[0]), float(pair[1])  # "NaN"/"+Inf" parse as floats
            except (TypeError, ValueError, IndexError):
                bad += 1
                continue
            samples.append([t, v])
        if not samples:
            return Malformed(source=rel, locator=loc, reason="series has no parseable samples")
        labels = {str(k): str(v) for k, v in metric.items() if k != "__name__"}
        name, query = _series_name(metric, query, path)
        finite = [v for _, v in samples if math.isfinite(v)]
        label_s = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
        if finite:
            stats = f"min {_fmt(min(finite))}, max {_fmt(max(finite))}, mean {_fmt(sum(finite) / len(finite))}"
        else:
            stats = "no finite values"
        text = f"{common.clip(name, 300)}{label_s}: {len(samples)} samples, {stats}"
        first, last = from_epoch(samples[0][0]), from_epoch(samples[-1][0])
        unit = series_unit(name)
        attrs: dict[str, Any] = {
            "name": name, "labels": labels, "samples": samples,
            "first_ts": first.isoformat() if first else None, "last_ts": last.isoformat() if last else None,
        }
        if query:
            attrs["query"] = query
        if unit:
            attrs["unit"] = unit
        if bad:
            attrs["unparseable_samples"] = bad
        service = labels.get("service") or labels.get("job") or labels.get("app")
        return common.make(
            EvidenceKind.METRIC, f"metric:{common.id_part(rel)}:{index}", rel, loc, ts=first, assumed=False,
            service=service, level=None, text=text, attrs=attrs,
        )


READER = PrometheusReader()
