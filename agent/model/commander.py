"""The incident commander responders declared in the channel (agent/offline/commander.py)."""

from __future__ import annotations

from pydantic import BaseModel


class Commander(BaseModel):
    """Who declared command, in role wording and (for the names opt-in) the name, with its record."""

    role: str
    name: str | None = None
    evidence: str

    def wording(self, names_opt_in: bool) -> str:
        who = self.name if names_opt_in and self.name else self.role
        return f"{who} (declared in {self.evidence})"
