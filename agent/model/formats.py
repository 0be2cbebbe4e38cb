"""How reports write times and computed numbers; one rule each, shared by models and renderers."""

from __future__ import annotations

from datetime import datetime, timezone


def fmt_value(v: float) -> str:
    """How reports write a computed number: thousands separators, at most four decimals."""
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.4f}".rstrip("0").rstrip(".")


def iso_z(dt: datetime) -> str:
    """ISO-8601 UTC with a trailing Z, to the second (what reports and JSON show)."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
