"""The mechanism of a trigger: which settings its diff changed, which signals moved in a way
related to each setting, and one competing hypothesis per setting. agent/offline/mechanism.py
computes it; every link cites the records on both of its ends."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agent.model.findings import Status

SettingKind = Literal["setting", "version", "flag"]


class SettingChange(BaseModel):
    """One concrete change a trigger made: a config key, a dependency or image version, a flag ramp."""

    key: str  # as written in the file (`gpuMemoryUtilization`, `vllm`, `image.tag`, `--max-num-seqs`)
    old: str
    new: str
    kind: SettingKind = "setting"
    path: str = ""  # file the line is in ("" for an audit record)
    evidence: list[str] = Field(default_factory=list)  # the commit or change record


class MechanismLink(BaseModel):
    """A setting linked to a signal that moved: a metric series or an error template."""

    key: str  # SettingChange.key
    signal: str  # series name or error template
    signal_kind: Literal["metric", "error"]
    basis: str  # why they are related: shared terms, or the named relation from the table
    detail: str  # what the signal did, in words and numbers read from the records
    evidence: list[str] = Field(default_factory=list)  # change record first, then the signal's


class SettingHypothesis(BaseModel):
    """One setting of a bundled change as a cause of its own, with the test that separates it."""

    key: str
    statement: str
    status: Status = "inconclusive"
    test: str
    evidence: list[str] = Field(default_factory=list)


class Mechanism(BaseModel):
    """change -> signal -> symptom for the top-ranked trigger."""

    change_ref: str
    settings: list[SettingChange] = Field(default_factory=list)
    links: list[MechanismLink] = Field(default_factory=list)
    hypotheses: list[SettingHypothesis] = Field(default_factory=list)
    chain: str = ""  # the one-sentence chain the root cause states ("" when no link is cited)
    evidence: list[str] = Field(default_factory=list)  # every id the chain cites, in order
