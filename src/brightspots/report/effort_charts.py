"""The effort charts: touches by outcome (with buyer impact, followed, in the dark, no response
yet) as stacked areas by day or bars by week, with the impact rate as a line on its own axis.

Dates are the stored local dates, drawn on a UTC time scale so no viewer's clock shifts a day.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from brightspots.report.charts import INK, base_config
from brightspots.report.effort_frames import OUTCOMES

#: the colour of each touch outcome, in ``OUTCOMES`` order
COLOURS = ("#0072b2", "#a6cee3", "#7b8794", "#e4e7eb")
RATE_INK = INK
PEER_INK = "#c2410c"


def legend_entries(*, peers: bool = False) -> list[tuple[str, str]]:
    """(inline SVG symbol, text) for the effort charts' legend, drawn by the page in HTML."""
    out = []
    for (_, words), colour in zip(OUTCOMES, COLOURS, strict=True):
        box = (
            '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">'
            f'<rect x="1" y="3" width="14" height="10" fill="{colour}" stroke="#9aa5b1" '
            'stroke-width="0.5"/></svg>'
        )
        out.append((box, words))
    line = (
        '<svg width="28" height="16" viewBox="0 0 28 16" aria-hidden="true">'
        f'<line x1="1" y1="8" x2="27" y2="8" stroke="{RATE_INK}" stroke-width="2.2"/></svg>'
    )
    out.append((line, "Impact rate by week (right axis)"))
    if peers:
        dash = (
            '<svg width="28" height="16" viewBox="0 0 28 16" aria-hidden="true">'
            f'<line x1="1" y1="8" x2="27" y2="8" stroke="{PEER_INK}" stroke-width="2" '
            'stroke-dasharray="5 3"/></svg>'
        )
        out.append((dash, "Peers' impact rate, over all their weeks"))
    return out


def _colour() -> alt.Color:
    return alt.Color(
        "outcome:N",
        scale=alt.Scale(domain=[w for _, w in OUTCOMES], range=list(COLOURS)),
        legend=None,
    )


def _stacked_touches(field: str, title: str) -> dict:
    """Touches stacked by outcome, in the legend's order."""
    return {
        "y": alt.Y(
            field, stack="zero", title=title, axis=alt.Axis(tickCount=4, titleColor="#52606d")
        ),
        "color": _colour(),
        "order": alt.Order("order:Q", sort="ascending"),
    }


def _rate_layers(
    weekly: pd.DataFrame, x_field: str, x: alt.X, top: float, peers_rate: float | None
) -> list[alt.Chart]:
    y = alt.Y(
        "rate:Q",
        scale=alt.Scale(domain=[0, top], nice=False, zero=True),
        axis=alt.Axis(format=".0%", orient="right", tickCount=4, grid=False),
        title="Impact rate",
    )
    layers: list[alt.Chart] = []
    if peers_rate is not None and pd.notna(peers_rate):
        ref = pd.DataFrame({"rate": [float(peers_rate)]})
        layers.append(
            alt.Chart(ref)
            .mark_rule(color=PEER_INK, strokeDash=[5, 3], strokeWidth=2, aria=False)
            .encode(y=y)
        )
    if weekly.empty:
        return layers
    data = weekly[[x_field, "rate"]]
    halo = alt.Chart(data).mark_line(
        color="white", strokeWidth=5, interpolate="monotone", aria=False
    )
    line = alt.Chart(data).mark_line(color=RATE_INK, strokeWidth=2.2, interpolate="monotone")
    dots = alt.Chart(data).mark_point(color=RATE_INK, filled=True, size=14, opacity=1)
    layers += [halo.encode(x=x, y=y), line.encode(x=x, y=y), dots.encode(x=x, y=y)]
    return layers


def daily_chart(
    days: pd.DataFrame,
    weekly: pd.DataFrame,
    *,
    first: pd.Timestamp,
    last: pd.Timestamp,
    rate_top: float,
    description: str,
    width: int = 380,
    height: int = 150,
    peers_rate: float | None = None,
) -> alt.TopLevelMixin:
    """Touches by day, stacked by outcome (``effort_frames.daily``), with the weekly impact rate
    (``effort_frames.weekly``) as a line on a right-hand axis from 0 to ``rate_top``, and the
    peers' rate as a dashed rule when given."""
    end = (last + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    scale = alt.Scale(type="utc", domain=[first.strftime("%Y-%m-%d"), end], nice=False)
    axis = alt.Axis(labelExpr="utcFormat(datum.value, '%b')", tickCount="month", grid=False)
    x = alt.X("day:T", scale=scale, axis=axis, title=None)
    # a step is drawn from a day to the next: a closing row of zeros draws the last day's step
    last_day = days[days["day"] == days["day"].max()]
    closed = pd.concat([days, last_day.assign(day=end, touches=0)], ignore_index=True)
    area = (
        alt.Chart(closed)
        .mark_area(interpolate="step-after", strokeWidth=0)
        .encode(x=x, **_stacked_touches("sum(touches):Q", "Touches a day"))
    )
    x_mid = alt.X("mid:T", scale=scale, axis=axis, title=None)
    rates = _rate_layers(weekly, "mid", x_mid, rate_top, peers_rate)
    chart = (
        alt.layer(area, alt.layer(*rates))
        .resolve_scale(y="independent", color="independent")
        .properties(width=width, height=height, description=description)
    )
    return base_config(chart)


def weekly_chart(
    weeks: pd.DataFrame,
    *,
    rate_top: float,
    peers_rate: float | None,
    description: str,
    width: int = 360,
    height: int = 150,
) -> alt.TopLevelMixin:
    """Touches by ISO week as stacked bars, with the week's impact rate and the peers' rate
    (dashed) on a right-hand axis. ``weeks`` has ``week`` (label), ``outcome``, ``order``,
    ``touches`` and, once per week, ``rate``."""
    labels = list(dict.fromkeys(weeks["week"]))
    x = alt.X(
        "week:N",
        sort=labels,
        title=None,
        axis=alt.Axis(labelAngle=-45, labelExpr="slice(datum.value, 5)"),
        scale=alt.Scale(paddingInner=0.15),
    )
    bars = (
        alt.Chart(weeks[["week", "outcome", "order", "touches"]])
        .mark_bar()
        .encode(x=x, **_stacked_touches("touches:Q", "Touches a week"))
    )
    rate = weeks.drop_duplicates("week")[["week", "rate"]].dropna()
    layers = _rate_layers(rate, "week", x, rate_top, peers_rate)
    chart = alt.layer(bars, alt.layer(*layers)).resolve_scale(y="independent", color="independent")
    return base_config(chart.properties(width=width, height=height, description=description))
