"""The component in the failure path: the service whose own records carry the failure, which
actions target (agent/offline/failure_path.py computes it)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FailingComponent(BaseModel):
    """A service named by the evidence, with the records that place the failure there."""

    name: str
    basis: str  # how it was found, in words ("service of the first new error template", ...)
    evidence: list[str] = Field(default_factory=list)
