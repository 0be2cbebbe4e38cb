"""Who counts as a person: chat users who are no bot, commit authors, page agents; never a
redaction placeholder, a one-letter name or a name that is also a service."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from agent.validators.people import people
from tools.models import Evidence, EvidenceKind
from tools.store.writer import StoreWriter

T0 = datetime(2024, 10, 8, 12, 0, tzinfo=timezone.utc)


def _ev(i: int, kind: EvidenceKind, **attrs: object) -> Evidence:
    return Evidence(id=f"{kind.value}:x:{i}", kind=kind, ts=T0, source="x", text="t", attrs=dict(attrs))


def test_people_are_the_named_actors_of_chat_commits_and_pages(tmp_path: Path) -> None:
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many([
        _ev(1, EvidenceKind.CHAT, user="Priya Nair"),
        _ev(2, EvidenceKind.CHAT, user="Deploy Bot", bot=True),
        _ev(3, EvidenceKind.CHAT, user="[REDACTED:email]"),
        _ev(4, EvidenceKind.CHAT, user="gateway"),  # a service posting as a user
        _ev(5, EvidenceKind.CHAT, user="q"),
        _ev(6, EvidenceKind.COMMIT, author="Sam Okafor"),
        _ev(7, EvidenceKind.PAGE, agent="Lee Chen"),
        _ev(8, EvidenceKind.PAGE, user="Not An Agent"),  # only the page's agent names a person
        _ev(9, EvidenceKind.CHAT, user=42),
        Evidence(id="log:a:1", kind=EvidenceKind.LOG, ts=T0, source="a", service="Gateway", text="ok",
                 attrs={"user": "Log User"}),
    ])
    writer.finalize()
    assert people(writer.reader()) == ["Lee Chen", "Priya Nair", "Sam Okafor"]
    writer.close()
