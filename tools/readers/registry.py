"""Which reader handles which file: an ordered list, most specific content signature first."""

from __future__ import annotations

from pathlib import Path

from tools.readers import (
    alertmanager,
    k8s_events,
    llm_traces,
    logs_access,
    logs_jsonl,
    logs_klog,
    logs_logfmt,
    logs_syslog,
    logs_text,
    manifest,
    notes,
    pagerduty,
    prometheus,
    slack,
)
from tools.readers.base import DirReader, FileReader

# Order matters: JSON documents with unmistakable keys first, then JSON Lines (traces before
# generic logs, since a trace line is also a JSON log line), then line formats from the most to
# the least constrained, and free-text notes last.
FILE_READERS: list[FileReader] = [
    manifest.READER,
    pagerduty.READER,
    alertmanager.READER,
    prometheus.READER,
    k8s_events.READER,
    llm_traces.READER,
    logs_jsonl.READER,
    logs_logfmt.READER,
    logs_access.READER,
    logs_syslog.RFC5424_READER,
    logs_klog.READER,
    logs_text.PYLOGGING,
    logs_syslog.RFC3164_READER,
    logs_text.ISO,
    notes.READER,
]

DIR_READERS: list[DirReader] = [slack.READER]


def pick_reader(path: Path, head: str) -> FileReader | None:
    """The first reader whose sniff accepts this file, or None (unrecognised)."""
    for reader in FILE_READERS:
        try:
            if reader.sniff(path, head):
                return reader
        except (ValueError, TypeError, RecursionError):
            continue
    return None


def pick_dir_reader(path: Path) -> DirReader | None:
    for reader in DIR_READERS:
        try:
            if reader.sniff_dir(path):
                return reader
        except OSError:
            continue
    return None
