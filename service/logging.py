"""Structured logs: one JSON object per line on stderr, for the API server and the Celery workers.

Why JSON lines: in a container the log collector (Loki, CloudWatch, journald ...) indexes fields, so a
job id or a stage is a filter rather than a regex, and a message containing a newline or a quote
(dump file names are untrusted text) cannot forge a second log line. Fields passed with
`logger.info("...", extra={"job_id": ...})` become top-level keys.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # Operators need the traceback; it goes to the log, never into an HTTP response.
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route every logger (ours, uvicorn's, celery's) through one JSON handler on the root logger."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn installs its own handlers and levels; let its records reach the root handler instead,
    # filtered by the one level set here (a server started earlier in the process may have left
    # "warning" on its loggers).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.setLevel(logging.NOTSET)
        lg.propagate = True
    # Alembic announces each of its plugins at INFO whenever a process checks the schema.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
