"""Shared helpers for the renderers: deterministic ids, time formats, file output, curves."""

from __future__ import annotations

import json
import random
import string
from bisect import bisect_right
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from evals.scenarios.spec import Scenario

UTC = timezone.utc


class Ctx:
    """Per-case rendering context: the spec, its seeded RNG and the output directory."""

    def __init__(self, spec: Scenario, out: Path) -> None:
        self.spec = spec
        self.out = out
        self.rng = random.Random(spec.seed)

    def t(self, hhmm: str, day_offset: int = 0) -> datetime:
        return self.spec.at(hhmm, day_offset)

    def ident(self, prefix: str, n: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(n))

    def hexid(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def uuid(self) -> str:
        h = self.hexid(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def write_text(self, rel: str, text: str) -> Path:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return path

    def write_json(self, rel: str, data: Any) -> Path:
        return self.write_text(rel, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def iso_ms(dt: datetime) -> str:
    """2024-04-25T14:03:07.123Z"""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_us(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(dt: datetime) -> float:
    return dt.timestamp()


def curve_at(curve: list[tuple[datetime, float]], when: datetime, default: float) -> float:
    """Piecewise-linear value of a curve; flat outside its ends."""
    if not curve:
        return default
    xs = [c[0] for c in curve]
    i = bisect_right(xs, when)
    if i == 0:
        return curve[0][1]
    if i == len(curve):
        return curve[-1][1]
    (t0, v0), (t1, v1) = curve[i - 1], curve[i]
    span = (t1 - t0).total_seconds()
    frac = 0.0 if span <= 0 else (when - t0).total_seconds() / span
    return v0 + (v1 - v0) * frac


def steps(start: datetime, end: datetime, step_s: int) -> list[datetime]:
    out = []
    t = start
    while t <= end:
        out.append(t)
        t += timedelta(seconds=step_s)
    return out
