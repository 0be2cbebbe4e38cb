"""Trends across the incident database: one self-contained HTML page with SVG charts.

What a reliability review asks of the archive: which failure modes keep coming back and how severe
they are, whether detection and resolution get faster, which contributing factors recur, and whether
actions get done. Figures are computed once here (`compute`), then drawn: matplotlib writes SVG
(text kept as text, so the page stays searchable) and Jinja2 with autoescape writes the page, so a
title taken from an imported postmortem can never become markup.
"""

from __future__ import annotations

import io
import statistics
from collections import Counter, defaultdict
from datetime import date

from jinja2 import Environment, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from incidents.actions import CLOSED
from incidents.models import ActionStatus, Incident

TOP_MODES = 8
TOP_FACTORS = 10


class Trends(BaseModel):
    since: date | None
    incidents: int
    undated: int
    # "YYYY-MM" -> severity -> count
    by_month_severity: dict[str, dict[str, int]]
    by_failure_mode: dict[str, int]
    ttd_minutes: list[float]
    ttr_minutes: list[float]
    recurring_factors: list[tuple[str, int]]  # factor tag, number of incidents it appears in (>= 2)
    actions_by_status: dict[str, int]
    actions_overdue: int


def compute(session: Session, today: date, since: date | None = None) -> Trends:
    q = select(Incident).options(selectinload(Incident.tags), selectinload(Incident.actions))
    if since is not None:
        q = q.where(Incident.incident_date >= since)
    rows = list(session.scalars(q))
    months: dict[str, Counter[str]] = defaultdict(Counter)
    modes: Counter[str] = Counter()
    factors: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    overdue = 0
    for inc in rows:
        if inc.incident_date is not None:
            months[inc.incident_date.strftime("%Y-%m")][inc.severity or "unknown"] += 1
        modes.update(set(inc.tag_values("failure_mode")))
        factors.update(set(inc.tag_values("contributing_factor")))
        for a in inc.actions:
            statuses[a.status.value] += 1
            overdue += a.due is not None and a.due < today and a.status not in CLOSED
    return Trends(
        since=since, incidents=len(rows), undated=sum(r.incident_date is None for r in rows),
        by_month_severity={m: dict(sorted(c.items())) for m, c in sorted(months.items())},
        by_failure_mode=dict(modes.most_common(TOP_MODES)),
        ttd_minutes=sorted(r.ttd_s / 60 for r in rows if r.ttd_s is not None),
        ttr_minutes=sorted(r.ttr_s / 60 for r in rows if r.ttr_s is not None),
        recurring_factors=[(f, n) for f, n in factors.most_common(TOP_FACTORS) if n >= 2],
        actions_by_status={s.value: statuses.get(s.value, 0) for s in ActionStatus},
        actions_overdue=overdue,
    )


def _svg(fig) -> Markup:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    # Our own drawing, written by matplotlib from escaped labels: safe to embed as markup.
    return Markup(text[text.find("<svg"):])


def _charts(t: Trends) -> dict[str, Markup]:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    charts: dict[str, Markup] = {}
    if t.by_month_severity:
        months = list(t.by_month_severity)
        sevs = sorted({s for c in t.by_month_severity.values() for s in c})
        fig, ax = plt.subplots(figsize=(8, 3))
        bottom = [0] * len(months)
        for s in sevs:
            vals = [t.by_month_severity[m].get(s, 0) for m in months]
            ax.bar(months, vals, bottom=bottom, label=s)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel("incidents")
        ax.legend(title="severity", fontsize=8)
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        charts["months"] = _svg(fig)
    if t.by_failure_mode:
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(t.by_failure_mode) + 1))
        names = list(t.by_failure_mode)[::-1]
        ax.barh(names, [t.by_failure_mode[n] for n in names])
        ax.set_xlabel("incidents")
        charts["modes"] = _svg(fig)
    if t.ttd_minutes or t.ttr_minutes:
        fig, ax = plt.subplots(figsize=(8, 2.5))
        data = [(lbl, v) for lbl, v in (("time to detect", t.ttd_minutes), ("time to resolve", t.ttr_minutes)) if v]
        ax.boxplot([v for _, v in data], orientation="horizontal")
        ax.set_yticks(range(1, len(data) + 1), [lbl for lbl, _ in data])
        ax.set_xscale("log")
        ax.set_xlabel("minutes (log scale)")
        charts["durations"] = _svg(fig)
    if any(t.actions_by_status.values()):
        fig, ax = plt.subplots(figsize=(8, 2.5))
        ax.bar(list(t.actions_by_status), list(t.actions_by_status.values()))
        ax.set_ylabel("actions")
        charts["actions"] = _svg(fig)
    return charts


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Incident trends</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
.empty{color:#777}svg{max-width:100%;height:auto}</style></head><body>
<h1>Incident trends</h1>
<p>{{ t.incidents }} incident(s){% if t.since %} since {{ t.since }}{% endif %}{% if t.undated %}; {{ t.undated }} without a date are left out of the monthly chart{% endif %}.</p>
<h2>Incidents by month and severity</h2>{{ c.months or empty }}
<h2>Failure modes</h2>{{ c.modes or empty }}
<h2>Time to detect and to resolve</h2>
{% if t.ttd_minutes %}<p>Median time to detect {{ '%.1f' % median(t.ttd_minutes) }} min over {{ t.ttd_minutes|length }} incident(s).</p>{% endif %}
{% if t.ttr_minutes %}<p>Median time to resolve {{ '%.1f' % median(t.ttr_minutes) }} min over {{ t.ttr_minutes|length }} incident(s).</p>{% endif %}
{{ c.durations or empty }}
<h2>Recurring contributing factors</h2>
{% if t.recurring_factors %}<table><tr><th>Factor</th><th>Incidents</th></tr>
{% for f, n in t.recurring_factors %}<tr><td>{{ f }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
{% else %}<p class="empty">No contributing factor appears in more than one incident.</p>{% endif %}
<h2>Actions</h2><p>{{ t.actions_overdue }} overdue on {{ today }}.</p>{{ c.actions or empty }}
</body></html>
"""


def render_html(t: Trends, today: date) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    empty = Markup('<p class="empty">No data in the database for this chart.</p>')
    return env.from_string(PAGE).render(t=t, c=_charts(t), empty=empty, today=today, median=statistics.median)
