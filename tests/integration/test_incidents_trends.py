"""`postmortem trends`: figures computed from the database, a page that escapes what it shows, and
the page really rendered by headless Chromium (when the machine has Debian's chromium)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from incidents.db import open_db
from incidents.record import ActionRecord, IncidentRecord
from incidents.store import save
from incidents.trends import compute, render_html

runner = CliRunner()
TODAY = date(2025, 6, 1)
CHROMIUM = shutil.which("chromium")


def _fill(url: str) -> None:
    rows = [
        ("a", date(2025, 3, 2), "P1", ["serving.oom"], ["no canary on config changes"], 300.0, 3000.0,
         [ActionRecord(key="AI-001", action="canary", due=date(2025, 4, 1))]),
        ("b", date(2025, 3, 20), "P2", ["serving.oom", "serving.batching"], ["no canary on config changes"],
         120.0, 1800.0, [ActionRecord(key="AI-001", action="alert", due=date(2025, 7, 1), status="done")]),
        ("c", date(2025, 5, 5), "P2", ["rag.stale_index"], ["<script>alert(1)</script> freshness unchecked"],
         None, 600.0, []),
        ("d", None, None, [], [], None, None, []),
    ]
    with open_db(url)() as s:
        for ref, day, sev, modes, factors, ttd, ttr, actions in rows:
            save(s, IncidentRecord(source="report-json", source_ref=ref, title=f"<b>Incident {ref}</b>",
                                   incident_date=day, severity=sev, ttd_s=ttd, ttr_s=ttr, actions=actions,
                                   tags={"failure_mode": modes, "contributing_factor": factors}))
        s.commit()


def test_figures_and_escaping(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'i.sqlite'}"
    _fill(url)
    with open_db(url)() as s:
        t = compute(s, TODAY)
        later = compute(s, TODAY, since=date(2025, 4, 1))
    assert t.incidents == 4 and t.undated == 1
    assert t.by_month_severity == {"2025-03": {"P1": 1, "P2": 1}, "2025-05": {"P2": 1}}
    assert t.by_failure_mode["serving.oom"] == 2 and t.ttd_minutes == [2.0, 5.0]
    assert t.recurring_factors == [("no canary on config changes", 2)]
    assert t.actions_by_status["done"] == 1 and t.actions_overdue == 1
    assert later.incidents == 1
    html = render_html(t, TODAY)
    assert html.count("<svg") == 4 and "<script>alert" not in html
    assert "Median time to detect 3.5 min" in html


def test_cli_writes_page_and_rejects_bad_date(tmp_path: Path) -> None:
    dbf = str(tmp_path / "i.sqlite")
    _fill(f"sqlite:///{dbf}")
    page = tmp_path / "t.html"
    r = runner.invoke(app, ["trends", "-o", str(page), "--db", dbf])
    assert r.exit_code == 0 and "4 incident(s)" in r.output and page.read_text().startswith("<!doctype html>")
    r = runner.invoke(app, ["trends", "--since", "March", "--db", dbf])
    assert r.exit_code == 2 and "not a date" in r.output


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    from PIL import Image

    url = f"sqlite:///{tmp_path / 'i.sqlite'}"
    _fill(url)
    with open_db(url)() as s:
        page = tmp_path / "trends.html"
        page.write_text(render_html(compute(s, TODAY), TODAY), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
                    f"--screenshot={shot}", page.as_uri()], check=True, capture_output=True, timeout=60)
    img = Image.open(shot).convert("L")
    assert img.size == (1200, 2400)
    # A drawn page has many grey levels (text, bars, axes); a blank or error page has one or two.
    assert len(img.getcolors(maxcolors=256) or range(257)) > 20
