"""Which reader handles which file: an ordered list, most specific content signature first."""

from __future__ import annotations

from pathlib import Path

from tools.readers import (
    alertmanager,
    chat_exports,
    evals,
    flags,
    generic_json,
    generic_text,
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
    otel,
    pagerduty,
    prometheus,
    slack,
    table_csv,
    tickets,
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
    # OTLP requests, flag audit logs and eval results by their keys, before tickets and the JSON
    # Lines readers (an eval sample quoting a prompt and output would otherwise pass for a trace).
    otel.READER,
    flags.READER,
    evals.READER,
    # Tickets and chat exports by their keys, before the generic JSON Lines readers would take
    # a ticket or a Mattermost post for a log line.
    tickets.READER,
    chat_exports.READER,
    llm_traces.READER,
    logs_jsonl.READER,
    # Any other JSON and CSV/TSV tables, after every reader that knows its keys; CSV before the
    # text formats, since a table whose rows start with an ISO time is not a text log.
    generic_json.LINES_READER,
    generic_json.DOC_READER,
    table_csv.READER,
    logs_logfmt.READER,
    logs_access.READER,
    logs_syslog.RFC5424_READER,
    logs_klog.READER,
    logs_text.PYLOGGING,
    logs_syslog.RFC3164_READER,
    logs_text.ISO,
    notes.READER,
    # Any other text file (.log and extension-less included; notes claim only their suffixes and
    # Markdown-headed files): layout discovered per file, so nothing text is left unrecognised.
    generic_text.READER,
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
