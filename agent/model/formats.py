"""How reports write times and computed numbers; one rule each, shared by models and renderers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import PlainSerializer


def fmt_value(v: float) -> str:
    """How reports write a computed number: thousands separators, at most four decimals."""
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.4f}".rstrip("0").rstrip(".")


def iso_z(dt: datetime) -> str:
    """ISO-8601 UTC with a trailing Z, to the second (what reports and JSON show)."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# A model field holding a time: a datetime in Python, written with iso_z in JSON (one rule for every
# model, instead of a serializer method per model).
ZTime = Annotated[datetime, PlainSerializer(iso_z, when_used="json")]
