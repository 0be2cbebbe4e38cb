"""service.logging: one JSON object per line, extras as fields, untrusted text cannot forge lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from service.logging import configure_logging


@pytest.fixture()
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buf = io.StringIO()
    configure_logging("INFO", stream=buf)
    yield buf
    root.handlers[:], root.level = saved[0], saved[1]


def lines(buf: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_extras(stream: io.StringIO) -> None:
    log = logging.getLogger("postmortem.test")
    # A dump file name is untrusted: a newline in it must not start a second, forged log line.
    log.info('dump %s queued', 'evil.tar.gz\n{"level": "info", "message": "admin logged in"}',
             extra={"job_id": "j-1", "attempt": 2})
    log.debug("below the level")
    [entry] = lines(stream)
    assert entry["level"] == "info" and entry["logger"] == "postmortem.test"
    assert entry["message"] == 'dump evil.tar.gz\n{"level": "info", "message": "admin logged in"} queued'
    assert entry["job_id"] == "j-1" and entry["attempt"] == 2
    assert str(entry["ts"]).endswith("+00:00")


def test_exceptions_keep_type_and_traceback_for_operators(stream: io.StringIO) -> None:
    try:
        raise ValueError("bad row")
    except ValueError:
        logging.getLogger("postmortem.test").exception("job failed", extra={"job_id": "j-2"})
    [entry] = lines(stream)
    assert entry["exc_type"] == "ValueError"
    assert "bad row" in str(entry["exc"]) and "Traceback" in str(entry["exc"])


def test_uvicorn_records_reach_the_json_handler(stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info("Started server process")
    assert [e["logger"] for e in lines(stream)] == ["uvicorn.error"]
