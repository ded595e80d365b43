"""Care on the web pages: a rep's own care index and its trend (the meter), and the care bright
spots of a team (the team and coach pages). Read from the stored ``care_index`` and
``care_trend`` of the latest run only, after ``access`` has said the user may see the page.

A cell the run stored as suppressed (fewer than ``[care] min_respondents`` respondents, or
hidden beside one) is never shown with a figure: it reads "fewer than 5 respondents: not shown".
A team page names a rep or leader only as a care bright spot or candidate, and shows the team's
own customers' care (an aggregate); employees' care of a team is its leader's own rating, so it
stays on the leader's meter.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd
from markupsafe import Markup

from brightspots.report import care as rc
from brightspots.report import charts, fmt
from brightspots.web.data import Snapshot
from brightspots.workspace import Workspace

LABELS = {"bright_spot": "care bright spot", "candidate": "care candidate"}
COLOURS = {"customer": "#0072b2", "employee": "#b45309"}  # blue and a dark orange
TREND_QUARTERS = 6


@dataclass(frozen=True)
class CareLine:
    """One source of a rep's own care."""

    source: str  # customer or employee
    raters: str  # "Customers"
    cell: rc.CareCell
    text: str  # '78 of 100 (95% CI 70 to 86, 18 respondents)' or why not shown
    label: str  # 'care bright spot', 'care candidate' or ''
    reason: str  # the stored sentence, when shown
    company: str  # the company's index of the same source ('56'), '' when not shown
    company_index: float | None  # the same, 0-100 to one decimal


@dataclass(frozen=True)
class TrendRow:
    period: str
    cells: dict[str, rc.CareCell]  # by source; only shown cells


@dataclass(frozen=True)
class MeterCare:
    window: str
    k: int
    lines: list[CareLine]
    trend: list[TrendRow]
    trend_svg: Markup
    hidden: str  # 'quarters not shown' in words ('' when none)


@dataclass(frozen=True)
class CareNamed:
    unit_id: str
    name: str
    level: str  # rep or leader
    raters: str
    label: str  # 'care bright spot' or 'care candidate'
    index: float | None  # 0-100
    text: str
    reason: str


@dataclass(frozen=True)
class TeamCare:
    window: str
    customers: str  # the team's own customers' care in words ('' without a row)
    named: list[CareNamed]


def _notes(snap: Snapshot) -> dict:
    if snap.run is None:
        return {}
    notes = snap.run.diagnostics.get("care")
    return notes if isinstance(notes, dict) else {}


def _window(notes: dict) -> str:
    words = notes.get("window_words")
    return f"over {words}" if words else ""


def _rows(ws: Workspace, snap: Snapshot, table: str, where: str, params: list) -> pd.DataFrame:
    """Cleaned rows of one care table of the latest run (none when it has no such table)."""
    if snap.run is None or not ws.has_table(table):
        return pd.DataFrame(columns=list(rc.TABLES[table]))
    got = ws.run_rows(table, snap.run.run_id, where=where, params=params)
    cleaned = rc.clean(got, table, f"run {snap.run.run_id}")
    return cleaned if cleaned is not None else pd.DataFrame(columns=list(rc.TABLES[table]))


def has_care(ws: Workspace, snap: Snapshot) -> bool:
    """Whether the latest run stored any care row."""
    if snap.run is None or not ws.has_table("care_index"):
        return False
    sql = 'SELECT 1 FROM "care_index" WHERE run_id = ? LIMIT 1'
    return bool(ws.duckdb().execute(sql, [snap.run.run_id]).fetchall())


def _care_index(
    ws: Workspace, snap: Snapshot, where: str, params: list
) -> tuple[dict, int, pd.DataFrame] | None:
    """The latest run's care notes, its k (``min_respondents``) and its ``care_index`` rows
    matching ``where``; None when the run has no care answers at all."""
    if not has_care(ws, snap):
        return None
    notes = _notes(snap)
    k, _ = rc.settings_of(notes)
    return notes, k, _rows(ws, snap, "care_index", where, params)


def _first(rows: pd.DataFrame, **match: str) -> dict | None:
    mask = pd.Series(True, index=rows.index)
    for column, value in match.items():
        mask &= rows[column] == value
    found = rows[mask]
    return found.iloc[0].to_dict() if len(found) else None


def meter_care(ws: Workspace, snap: Snapshot, rep_id: str) -> MeterCare | None:
    """A rep's own care, or None when the latest run has no care answers at all. Employees'
    care of a leader is read as a leader's (against the leaders' mean); the figures are the
    same as the rep row's (the same answers)."""
    got = _care_index(
        ws, snap, "(level IN ('rep', 'leader') AND unit_id = ?) OR level = 'company'", [rep_id]
    )
    if got is None:
        return None
    notes, k, index = got
    lines = []
    for source in rc.SOURCES:
        row = _first(index, level="leader", unit_id=rep_id, source=source) or _first(
            index, level="rep", unit_id=rep_id, source=source
        )
        cell = rc.cell(row, k)
        company = rc.cell(_first(index, level="company", source=source), k)
        if row is None:
            text = f"no answers {_window(notes)}".strip()
        else:
            text = rc.index_text(cell)
        lines.append(
            CareLine(
                source=source,
                raters=rc.RATERS[source].capitalize(),
                cell=cell,
                text=text,
                label=LABELS.get(cell.label, ""),
                reason=str(row["reason"]) if row is not None and cell.shown else "",
                company=company.value if company.shown else "",
                company_index=company.mean,
            )
        )
    trend_rows = _rows(ws, snap, "care_trend", "level = 'rep' AND unit_id = ?", [rep_id])
    trend, hidden = _trend(trend_rows, k)
    periods = sorted(set(trend_rows["period"]))[-TREND_QUARTERS:]
    name = snap.rep_name(rep_id)
    return MeterCare(
        window=_window(notes),
        k=k,
        lines=lines,
        trend=trend,
        trend_svg=_trend_svg(trend, periods, name),
        hidden=(
            f"{fmt.plural(hidden, 'quarterly figure')} not shown: fewer than {k} respondents (or "
            "hidden with them, so that theirs cannot be worked out)."
            if hidden
            else ""
        ),
    )


def _trend(rows: pd.DataFrame, k: int) -> tuple[list[TrendRow], int]:
    """The last quarters with a shown cell (oldest first) and how many cells are not shown."""
    if rows.empty:
        return [], 0
    periods = sorted(set(rows["period"]))[-TREND_QUARTERS:]
    rows = rows[rows["period"].isin(periods)]
    hidden = int(rows["suppressed"].sum())
    out = []
    for period in periods:
        cells = {}
        for r in rows[(rows["period"] == period) & ~rows["suppressed"]].to_dict("records"):
            c = rc.cell(r, k)
            if c.shown:
                cells[r["source"]] = c
        if cells:
            out.append(TrendRow(period, cells))
    return out, hidden


def _trend_svg(trend: list[TrendRow], periods: list[str], name: str) -> Markup:
    """A small chart of the shown quarters: each source's index with its 95% interval, over
    ``periods`` (the quarters not shown stay empty)."""
    data = pd.DataFrame(
        [
            {
                "period": t.period,
                "source": rc.RATERS[s].capitalize(),
                "index": c.mean,
                "lower": c.lower_95 if c.lower_95 is not None else c.mean,
                "upper": c.upper_95 if c.upper_95 is not None else c.mean,
            }
            for t in trend
            for s, c in t.cells.items()
        ],
        columns=["period", "source", "index", "lower", "upper"],
    )
    if data.empty:
        return Markup("")
    sources = [rc.RATERS[s].capitalize() for s in rc.SOURCES]
    colour = alt.Color(
        "source:N",
        scale=alt.Scale(domain=sources, range=[COLOURS[s] for s in rc.SOURCES]),
        legend=alt.Legend(title=None, orient="top"),
    )
    low = max(0.0, float(data["lower"].min()) - 5)
    high = min(100.0, float(data["upper"].max()) + 5)
    y_scale = alt.Scale(domain=[(low // 10) * 10, min(100.0, -(-high // 10) * 10)], nice=False)
    x = alt.X(
        "period:O",
        title=None,
        sort=periods,
        scale=alt.Scale(domain=periods),
        axis=alt.Axis(labelAngle=0),
    )
    offset = alt.XOffset("source:N", sort=sources, scale=alt.Scale(domain=sources))
    bars = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2)
        .encode(
            x=x,
            xOffset=offset,
            y=alt.Y("lower:Q", scale=y_scale, title="Care index (0-100)"),
            y2="upper:Q",
            color=colour,
        )
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=60, opacity=1)
        .encode(x=x, xOffset=offset, y=alt.Y("index:Q", scale=y_scale), color=colour)
    )
    chart = alt.layer(bars, dots).properties(
        width=max(240, 90 * len(periods)),
        height=150,
        description=(
            f"{name}: care index by quarter with 95% intervals, customers and employees; "
            "quarters with too few respondents are not drawn."
        ),
    )
    return Markup(charts.to_svg(charts.base_config(chart)))


def team_care(ws: Workspace, snap: Snapshot, team_id: str, reps: list[str]) -> TeamCare | None:
    """The team's own customers' care and its reps' and leaders' care bright spots and
    candidates (no one else is named); None when the latest run has no care answers."""
    got = _care_index(
        ws,
        snap,
        "(level = 'team' AND unit_id = ? AND source = 'customer') "
        "OR (level = 'company' AND source = 'customer') "
        "OR (level IN ('rep', 'leader') AND label IN ('bright_spot', 'candidate'))",
        [team_id],
    )
    if got is None:
        return None
    notes, k, index = got
    own = _first(index, level="team", unit_id=team_id)
    customers = ""
    if own is not None:
        cell = rc.cell(own, k)
        customers = f"Customers rate {snap.team_name(team_id)}’s care {rc.index_text(cell)}"
        company = rc.cell(_first(index, level="company"), k)
        if cell.shown and company.shown:
            customers += f"; the company’s: {company.value}"
        customers += "."
    mine = index[
        index["level"].isin(["rep", "leader"])
        & index["unit_id"].isin(reps)
        & index["label"].isin(list(LABELS))
        & ~index["suppressed"]
    ]
    mine = rc.one_per_person(mine)
    named = []
    for r in mine.to_dict("records"):
        cell = rc.cell(r, k)
        named.append(
            CareNamed(
                unit_id=r["unit_id"],
                name=snap.rep_name(r["unit_id"]),
                level=r["level"],
                raters=rc.RATERS.get(r["source"], r["source"]).capitalize(),
                label=LABELS[r["label"]],
                index=cell.mean,
                text=rc.index_text(cell),
                reason=r["reason"],
            )
        )
    named.sort(key=lambda n: (n.label != LABELS["bright_spot"], n.name.casefold(), n.raters))
    return TeamCare(window=_window(notes), customers=customers, named=named)
