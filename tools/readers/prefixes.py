"""Line prefixes that log collectors and launchers put before a program's own output.

Stripped before the timestamp is looked for, and kept as attrs (`prefix` holds the raw text):

    [pod/NAME/CONTAINER] msg       kubectl logs --prefix               attrs pod, container
    NAME CONTAINER msg             stern (default template)            attrs pod, container
    svc-1  | msg                   docker compose logs                 attrs container (service: svc)
    3: msg                         srun --label (task number)          attrs rank
    2024-01-02T03:04:05.123Z msg   kubectl logs --timestamps           the line's time (wins over the inner one)
    [rank3]: msg / [default3]:     torchrun / torch.distributed        attrs rank (and role)

Unambiguous prefixes (`[pod/..]`, `[rankN]:`) are always stripped. The others look like ordinary
text in isolation (`3: ...`, `name | ...`, two words), so they are stripped only when a majority
of the file's sampled lines carry them; `detect` decides that once per file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_KUBECTL = re.compile(r"\[pod/([^/\]\s]+)/([^\]\s]+)\] ?")
_RANK = re.compile(r"\[([A-Za-z_]{0,24}?)(\d{1,6})\]: ?")
_COMPOSE = re.compile(r"([A-Za-z0-9][\w.\-]{0,62}?)\s+\| ?")
_SRUN = re.compile(r"(\d{1,6}): ")
# Pod names: a workload name plus a hash suffix (ReplicaSet/Job: -xxxxx, StatefulSet: -N).
_POD = r"[a-z0-9][a-z0-9.\-]{0,200}-(?:[a-z0-9]{5}|\d{1,4})"
_STERN = re.compile(r"(" + _POD + r") ([a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?) ")
# kubectl --timestamps: RFC 3339 with nanoseconds, always with a zone.
_KTS = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) ")
_REPLICA = re.compile(r"[-_]\d{1,4}$")
_WORKLOAD = re.compile(r"(?:-[a-z0-9]{6,10})?-[a-z0-9]{5}$|-\d{1,4}$")
_LETTER = re.compile(r"[a-z]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def strip_ansi(line: str) -> str:
    """Colour codes (captured from a terminal) are not content."""
    return _ANSI.sub("", line) if "\x1b" in line else line


@dataclass(frozen=True)
class PrefixPlan:
    """Which ambiguous prefixes this file carries (decided once per file by `detect`)."""

    compose: bool = False
    srun: bool = False
    stern: bool = False
    kts: bool = False  # a kubectl --timestamps time before each line

    def without_kts(self) -> PrefixPlan:
        return PrefixPlan(self.compose, self.srun, self.stern, False)


class Stripped:
    """One line split into its prefixes and the program's own text."""

    __slots__ = ("rest", "raw", "attrs", "kts", "service")

    def __init__(self, rest: str) -> None:
        self.rest = rest
        self.raw = ""
        self.attrs: dict[str, Any] | None = None
        self.kts: str | None = None  # the kubectl --timestamps text, when the plan has it
        self.service: str | None = None


def workload_of(pod: str) -> str:
    """A pod's workload name (its ReplicaSet/StatefulSet hash suffix removed): the service."""
    return _WORKLOAD.sub("", pod) or pod


def _stern_ok(m: re.Match[str]) -> bool:
    # A pod name has a letter; "2024-01-02 10:00:00 " must not pass as "pod container ".
    return bool(_LETTER.search(m.group(1)))


def _outer(line: str, pos: int, plan: PrefixPlan, out: Stripped) -> int:
    """The collector's prefix (kubectl, compose, stern or srun), at most one."""
    attrs: dict[str, Any]
    m = _KUBECTL.match(line, pos) if line.startswith("[pod/", pos) else None
    if m:
        attrs = {"pod": m.group(1), "container": m.group(2)}
        out.service = workload_of(m.group(1))
    elif plan.compose and (m := _COMPOSE.match(line, pos)):
        attrs = {"container": m.group(1)}
        out.service = _REPLICA.sub("", m.group(1)) or m.group(1)
    elif plan.stern and (m := _STERN.match(line, pos)) and _stern_ok(m):
        attrs = {"pod": m.group(1), "container": m.group(2)}
        out.service = workload_of(m.group(1))
    elif plan.srun and (m := _SRUN.match(line, pos)):
        attrs = {"rank": int(m.group(1))}
    else:
        return pos
    out.attrs = attrs
    return m.end()


def _rank(line: str, pos: int, out: Stripped) -> int:
    m = _RANK.match(line, pos)
    if not m:
        return pos
    attrs = out.attrs if out.attrs is not None else {}
    attrs["rank"] = int(m.group(2))
    role = m.group(1)
    if role and role.lower() != "rank":
        attrs["role"] = role
    out.attrs = attrs
    return m.end()


def strip(line: str, plan: PrefixPlan) -> Stripped:
    """Split off every prefix the plan allows, outermost first."""
    first = line[:1]
    if first != "[" and not (plan.compose or plan.srun or plan.stern or plan.kts):
        return Stripped(line)  # the common case: nothing to strip
    out = Stripped(line)
    pos = _outer(line, 0, plan, out)
    if plan.kts:
        m = _KTS.match(line, pos)
        if m:
            out.kts = m.group(1)
            pos = m.end()
    if line.startswith("[", pos):
        pos = _rank(line, pos, out)
    if pos:
        out.raw = line[:pos]
        out.rest = line[pos:]
        attrs = out.attrs if out.attrs is not None else {}
        attrs["prefix"] = out.raw.rstrip()
        out.attrs = attrs
    return out


def detect(lines: list[str]) -> PrefixPlan:
    """The ambiguous prefixes a majority of these (non-blank) sample lines carry."""
    if not lines:
        return PrefixPlan()
    half = len(lines) / 2
    compose = sum(1 for ln in lines if _COMPOSE.match(ln)) > half
    srun = not compose and sum(1 for ln in lines if _SRUN.match(ln)) > half
    stern = (not compose and not srun
             and sum(1 for ln in lines if (m := _STERN.match(ln)) and _stern_ok(m)) > half
             and _few_pods(lines))
    base = PrefixPlan(compose=compose, srun=srun, stern=stern)
    kts = sum(1 for ln in lines if _KTS.match(strip(ln, base).rest)) > half
    return PrefixPlan(compose=compose, srun=srun, stern=stern, kts=kts)


def _few_pods(lines: list[str]) -> bool:
    """stern lines name a handful of pods; ordinary text starts with many different words."""
    names = {m.group(1) for ln in lines if (m := _STERN.match(ln))}
    return len(names) <= max(3, len(lines) // 10)
