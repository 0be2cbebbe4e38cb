"""Quality incidents with no errors: noisy series starts, user-report topics, changes shipped
behind a flag, declared severity and manifest window keys. Every record is written here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import Scope
from agent.offline import declared, signals, user_reports
from agent.offline.change_model import audit_change, collect_changes
from agent.offline.changes import _undoes, rank_changes
from agent.offline.scoping import scope_from_parsed
from agent.offline.timeline import signature
from agent.offline.window import _series_signals, compute_window
from tools.models import Evidence, EvidenceKind
from tools.readers.manifest import _parse_manifest
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
SHA = "4c0ffee" + "1" * 33


def _store(tmp_path: Path, records: list[Evidence]) -> EvidenceReader:
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(records)
    writer.finalize()
    return writer.reader()


def _points(values: list[float], step_s: int = 600) -> list[tuple[float, float]]:
    return [(T0.timestamp() + i * step_s, v) for i, v in enumerate(values)]


def _signals(values: list[float]) -> list:  # type: ignore[type-arg]
    return _series_signals(_points(values), name="thumbs_down_ratio", family="metric:t", ids=["m"],
                           sign=1.0, two_sided=False, min_rel=0.1, min_abs=0.0, quiet_until=None)


# ---- series: a deviation needs a quiet stretch before it; sparse ratios keep their noise ------

def test_series_that_starts_out_of_band_is_not_an_onset() -> None:
    # The export begins on a handful of votes: 1/3, 1/2, 1/2, 1/4 ... then settles at 0.
    values = [0.33, 0.5, 0.5, 0.25, 0.2] + [0.0] * 200
    sigs = _signals(values)
    assert sigs and not sigs[0].sustained and "quiet point" in sigs[0].detail


def test_real_shift_after_a_quiet_stretch_is_sustained() -> None:
    values = [0.33, 0.5, 0.5] + [0.0] * 100 + [0.45] * 12
    sustained = [s for s in _signals(values) if s.sustained]
    assert len(sustained) == 1
    assert sustained[0].onset == datetime.fromtimestamp(_points(values)[103][0], tz=timezone.utc)


def test_single_vote_noise_of_a_sparse_ratio_stays_in_band() -> None:
    # Mostly 0; one vote in five samples makes it 0.25. Three such samples in a row are its noise.
    quiet = ([0.0] * 4 + [0.25]) * 16
    values = quiet + [0.25, 0.25, 0.25] + [0.0] * 10
    assert not [s for s in _signals(values) if s.sustained]
    med, width = signals.robust_band([v for _, v in _points(quiet)], min_rel=0.1, min_abs=0.0)
    assert med == 0.0 and width >= 0.25


def test_dense_series_band_still_comes_from_the_mad() -> None:
    values = [10.0 + (i % 3) for i in range(50)]
    med, width = signals.robust_band(values, min_rel=0.0, min_abs=0.0)
    assert med == 11.0 and abs(width - signals.MAD_K * signals.MAD_TO_SD * 1.0) < 1e-9


# ---- user reports: a topic rising against its own baseline -------------------------------------

def _ticket(n: int, at: datetime, subject: str, tags: list[str]) -> Evidence:
    return Evidence(id=f"ticket:support/tickets.json:{n}", kind=EvidenceKind.TICKET, ts=at,
                    source="support/tickets.json", text=subject,
                    attrs={"ticket_id": n, "subject": subject, "tags": tags})


def _queue() -> list[Evidence]:
    """Four days of a steady queue (billing twice a day), then a new topic three times in 5 h."""
    out = [_ticket(i, T0 + timedelta(hours=12 * i), "Charged twice", ["billing"]) for i in range(8)]
    new_at = T0 + timedelta(days=3, hours=2)
    out += [_ticket(100 + i, new_at + timedelta(hours=2 * i), s, ["assistant_wrong", "teacher"])
            for i, s in enumerate(["Bot said a wrong answer was right", "Tutor agrees with mistakes",
                                   "Assistant confirmed an incorrect sum"])]
    return out


def test_new_topic_rises_and_steady_topic_does_not() -> None:
    rises = user_reports.topic_rises(_queue(), lambda e: user_reports.ticket_topic(e, signature))
    assert [r.topic for r in rises] == ["tags: assistant_wrong, teacher"]
    assert rises[0].onset == T0 + timedelta(days=3, hours=2) and rises[0].usual_per_window == 0


def test_topic_in_the_first_hours_has_no_baseline() -> None:
    early = [_ticket(i, T0 + timedelta(hours=i), "Login fails", ["sso"]) for i in range(4)]
    assert user_reports.topic_rises(early, lambda e: user_reports.ticket_topic(e, signature)) == []


def test_one_ticket_is_never_the_onset(tmp_path: Path) -> None:
    lone = _ticket(1, T0 + timedelta(days=1), "Roster sync missing students", ["roster"])
    bump = Evidence(id="metric:m.json:0", kind=EvidenceKind.METRIC, ts=T0, source="m.json",
                    text="flags_per_hour", attrs={"name": "flags_per_hour", "samples": [
                        [(T0 + timedelta(hours=h)).timestamp(), 1.0 if 24 <= h < 27 else 0.0] for h in range(72)]})
    w = compute_window(_store(tmp_path, [lone, bump]), Scope(title="q"))
    assert "ticket:support/tickets.json:1" not in w.onset_evidence


# ---- a commit shipped behind a flag reaches production when the flag exposes it ---------------

def _flag(n: int, at: datetime, action: str, text: str, before: int | None = None,
          after: int | None = None) -> Evidence:
    attrs: dict[str, object] = {"change_type": "flag", "target": "ranker_v2", "action": action,
                                "environment": "production"}
    if after is not None:
        attrs["before"] = {"parameters": {"rollout": str(before)}}
        attrs["after"] = {"parameters": {"rollout": str(after)}}
    return Evidence(id=f"change:flags/audit.json:{n}", kind=EvidenceKind.CHANGE, ts=at,
                    source="flags/audit.json", text=text, attrs=attrs)


def _flag_dump() -> list[Evidence]:
    commit = Evidence(id=f"commit:{SHA[:12]}", kind=EvidenceKind.COMMIT, ts=T0, source="repo",
                      text="Ship ranker v2 behind ranker_v2 (#77)",
                      attrs={"sha": SHA, "message": "Ship ranker v2 behind ranker_v2 (#77)",
                             "files": ["ranking/model.yaml"], "prs": ["77"], "parents": ["0" * 40]})
    return [commit,
            _flag(1, T0 + timedelta(hours=1), "enabled", "flag ranker_v2 enabled in production"),
            _flag(2, T0 + timedelta(hours=20), "updated", "flag ranker_v2 rollout 10 -> 50", 10, 50),
            _flag(3, T0 + timedelta(hours=40), "updated", "flag ranker_v2 rollout 50 -> 0", 50, 0)]


def test_flag_enable_is_the_gated_commits_production_time(tmp_path: Path) -> None:
    store = _store(tmp_path, _flag_dump())
    changes = collect_changes(store, T0 - timedelta(days=1), T0 + timedelta(days=3))
    commit = next(c for c in changes if c.kind == "commit")
    assert commit.gates == ["ranker_v2"]
    assert commit.reached_production_at == T0 + timedelta(hours=1)
    assert commit.production_evidence == "change:flags/audit.json:1"
    assert "change:flags/audit.json:2" in commit.evidence  # the ramp step is cited, not a rival
    ramp_down = next(c for c in changes if c.kind == "flag")
    assert ramp_down.reverts == ["ranker_v2"] and _undoes(ramp_down, commit)


def test_gated_commit_ranks_first(tmp_path: Path) -> None:
    store = _store(tmp_path, _flag_dump())
    top = rank_changes(store, T0 + timedelta(hours=26), 0.0, T0 + timedelta(hours=42), [], [])
    assert top and top[0].kind == "commit" and top[0].ref == SHA


def test_ramp_to_zero_is_an_undo_but_a_ramp_up_is_not() -> None:
    up = audit_change(_flag(5, T0, "updated", "rollout 10 -> 50", 10, 50))
    down = audit_change(_flag(6, T0, "updated", "rollout 50 -> 0", 50, 0))
    assert up is not None and up.reverts == []
    assert down is not None and down.reverts == ["ranker_v2"]


# ---- declared severity --------------------------------------------------------------------------

def _chat(n: int, text: str, channel: str = "inc-search") -> Evidence:
    return Evidence(id=f"chat:{channel}:{n}", kind=EvidenceKind.CHAT, ts=T0 + timedelta(minutes=n),
                    source=f"slack/{channel}.json", text=text, attrs={"channel": channel})


def test_declared_severity_from_chat_page_and_manifest(tmp_path: Path) -> None:
    page = Evidence(id="pd:Q1", kind=EvidenceKind.PAGE, ts=T0, source="pd.json", text="incident",
                    attrs={"entry_type": "incident", "priority": "P3"})
    store = _store(tmp_path, [_chat(1, "the P1 dashboard is slow"), _chat(2, "Declaring SEV2, I'll IC"), page])
    found = declared.declared_levels(store, "sev-1")
    assert [(d.level, d.evidence) for d in found] == [(2, "chat:inc-search:2"), (3, "pd:Q1"), (1, "manifest")]
    assert declared.strongest(found) == found[-1]


def test_severity_channel_name_is_a_declaration(tmp_path: Path) -> None:
    store = _store(tmp_path, [_chat(1, "joining now", channel="inc-sev1-checkout")])
    assert [d.level for d in declared.declared_levels(store)] == [1]


def test_manifest_severity_alias_and_window_keys() -> None:
    m = _parse_manifest("incident.yaml", "title: t\nsev: P2\nstarted_at: 2026-03-10T09:00:00Z\n"
                                         "resolved_at: '2026-03-11 17:30'\n")
    assert m.window_start == T0 and m.window_end == datetime(2026, 3, 11, 17, 30, tzinfo=timezone.utc)
    assert scope_from_parsed(m, "d").declared_severity == "P2"
    backwards = _parse_manifest("incident.yaml", "start: 2026-03-12T00:00:00Z\nend: 2026-03-11T00:00:00Z\n")
    assert backwards.window_start is None and backwards.problems
