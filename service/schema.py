"""Pydantic field types shared by the response models."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; every one was written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
