"""The brief's charts: weekly sparklines, the meeting pulse, practice bars and the funnel plot.

Sparklines and the pulse chart are small hand-written SVG (a brief can hold dozens of them, and
an Altair round trip per 160-pixel line is not worth it); the practice bars and the funnel plot
are Altair charts rendered offline by ``brightspots.report.charts.to_svg``. Every SVG carries
``role="img"`` and a ``<title>``; none holds a script or a link. The Markdown brief gets the same
trends as unicode block characters (``text_sparkline``).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

import altair as alt
import pandas as pd

from brightspots.brief.model import Funnel, Point, Practice, Pulse
from brightspots.report.charts import FONT, LABELLED, base_config, to_svg
from brightspots.report.funnel import drawable, funnel_chart

WIDTH, HEIGHT, PAD = 160, 36, 3
PAST_INK, WINDOW_INK, WINDOW_FILL = "#9aa5b1", "#c2410c", "#fff1e8"
BLOCKS = "▁▂▃▄▅▆▇█"
GAP = "·"
FUNNEL_WIDTH, FUNNEL_HEIGHT = 470, 280  # the plot area; axes and labels add about 130 px


def in_window(week: date, window_start: date) -> bool:
    """A week (its Monday) belongs to the window when any of its days does."""
    return week + timedelta(days=6) >= window_start


def _segments(xs: list[float], ys: list[float | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive present values: a missing week breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [r for r in runs if r]


def _draw(run: list[tuple[float, float]], ink: str, width: float = 1.6) -> str:
    if len(run) == 1:
        x, y = run[0]
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" fill="{ink}"/>'
    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f} {y:.1f}" for i, (x, y) in enumerate(run))
    return (
        f'<path d="{d}" fill="none" stroke="{ink}" stroke-width="{width}" '
        f'stroke-linejoin="round" stroke-linecap="round"/>'
    )


def _value(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _svg(width: int, height: int, title: str, body: str, cls: str) -> str:
    return (
        f'<svg class="{cls}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" focusable="false"><title>{escape(title)}</title>{body}</svg>'
    )


def sparkline(
    points: Sequence[Point], *, higher_is_better: bool, window_start: date, title: str
) -> str:
    """A 160 x 36 inline SVG of weekly values: the previous weeks in grey, the assessment window
    shaded and drawn in colour, a dot on the latest value. A missing week is a gap in the line.
    ``title`` (with which direction is better appended) is what a screen reader announces."""
    better = "higher is better" if higher_is_better else "lower is better"
    full = f"{title} ({better}; grey: before the window, orange: the window)"
    pts = sorted(points, key=lambda p: p.week)
    values = [_value(p.value) for p in pts]
    present = [v for v in values if v is not None]
    if not present:
        body = (
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2 + 4}" text-anchor="middle" font-size="11" '
            f'fill="#52606d" font-family="{escape(FONT)}">no weekly data</text>'
        )
        return _svg(WIDTH, HEIGHT, f"{title}: no weekly data", body, "spark")
    first = pts[0].week
    span = max((pts[-1].week - first).days / 7, 1.0)
    step = (WIDTH - 2 * PAD) / span
    xs = [PAD + (p.week - first).days / 7 * step for p in pts]
    low, high = min(present), max(present)
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    ys = [
        None if v is None else HEIGHT - PAD - (v - low) / (high - low) * (HEIGHT - 2 * PAD)
        for v in values
    ]
    parts = []
    inside = [in_window(p.week, window_start) for p in pts]
    if any(inside):
        k = inside.index(True)
        left = PAD if k == 0 else (xs[k - 1] + xs[k]) / 2
        parts.append(
            f'<rect x="{left:.1f}" y="0" width="{WIDTH - left:.1f}" height="{HEIGHT}" '
            f'fill="{WINDOW_FILL}"/>'
        )
    else:
        k = len(pts)
    # the past line runs up to the first window week so the two parts join
    for run in _segments(xs[: k + 1], ys[: k + 1]):
        parts.append(_draw(run, PAST_INK, 1.3))
    for run in _segments(xs[k:], ys[k:]):
        parts.append(_draw(run, WINDOW_INK))
    last = max(i for i, y in enumerate(ys) if y is not None)
    ink = WINDOW_INK if inside[last] else PAST_INK
    parts.append(f'<circle cx="{xs[last]:.1f}" cy="{ys[last]:.1f}" r="2.6" fill="{ink}"/>')
    return _svg(WIDTH, HEIGHT, full, "".join(parts), "spark")


def text_blocks(values: Sequence[float | None]) -> str:
    """Values as unicode blocks, lowest ▁ to highest █; ``·`` for a missing value."""
    clean = [_value(v) for v in values]
    present = [v for v in clean if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    out = []
    for v in clean:
        if v is None:
            out.append(GAP)
        elif high - low < 1e-12:
            out.append(BLOCKS[3])
        else:
            out.append(BLOCKS[min(7, int((v - low) / (high - low) * 8))])
    return "".join(out)


def text_sparkline(points: Sequence[Point], *, window_start: date) -> str:
    """The weekly trend as unicode blocks for chat tools: '▂▃▂·▃│▅▆▇' (``·`` a week without
    data, ``│`` where the assessment window starts)."""
    pts = sorted(points, key=lambda p: p.week)
    blocks = text_blocks([p.value for p in pts])
    if not blocks:
        return ""
    inside = [in_window(p.week, window_start) for p in pts]
    if all(inside) or not any(inside):
        return blocks
    k = inside.index(True)
    return blocks[:k] + "│" + blocks[k:]


def pulse_chart(pulse: Sequence[Pulse]) -> str | None:
    """Energy and ideas (1 to 5) meeting by meeting, oldest first; None with fewer than two."""
    if len(pulse) < 2:
        return None
    width, height, left, right, top, bottom = 320, 120, 26, 58, 8, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [left + i * plot_w / (len(pulse) - 1) for i in range(len(pulse))]

    def y(v: float) -> float:
        return top + (5 - min(max(v, 1.0), 5.0)) / 4 * plot_h

    parts = []
    for level in (1, 3, 5):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            f'stroke="#e4e7eb"/><text x="{left - 6}" y="{y(level) + 4:.1f}" text-anchor="end" '
            f'font-size="10" fill="#52606d">{level}</text>'
        )
    for i, p in enumerate(pulse):
        anchor = "start" if i == 0 else ("end" if i == len(pulse) - 1 else "middle")
        parts.append(
            f'<text x="{xs[i]:.1f}" y="{height - 6}" text-anchor="{anchor}" font-size="10" '
            f'fill="#52606d">{escape(p.period)}</text>'
        )
    ends = {"energy": y(pulse[-1].energy), "ideas": y(pulse[-1].ideas)}
    if abs(ends["energy"] - ends["ideas"]) < 12:  # keep the two end labels apart
        middle = (ends["energy"] + ends["ideas"]) / 2
        upper = "energy" if pulse[-1].energy >= pulse[-1].ideas else "ideas"
        lower = "ideas" if upper == "energy" else "energy"
        ends[upper], ends[lower] = middle - 6, middle + 6
    for attr, ink, dash in (
        ("energy", "#c2410c", ""),
        ("ideas", "#0072b2", ' stroke-dasharray="5 3"'),
    ):
        run = [(x, y(getattr(p, attr))) for x, p in zip(xs, pulse, strict=True)]
        d = " ".join(f"{'M' if i == 0 else 'L'}{a:.1f} {b:.1f}" for i, (a, b) in enumerate(run))
        parts.append(f'<path d="{d}" fill="none" stroke="{ink}" stroke-width="2"{dash}/>')
        parts.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.8" fill="{ink}"/>' for a, b in run)
        parts.append(
            f'<text x="{run[-1][0] + 6:.1f}" y="{ends[attr] + 4:.1f}" font-size="11" '
            f'fill="{ink}">{attr}</text>'
        )
    first, last = pulse[0], pulse[-1]
    title = (
        f"Meeting pulse over {len(pulse)} meetings, on a scale of 1 to 5: energy went from "
        f"{first.energy:.1f} to {last.energy:.1f}, ideas from {first.ideas:.1f} to {last.ideas:.1f}"
    )
    body = f'<g font-family="{escape(FONT)}">{"".join(parts)}</g>'
    return _svg(width, height, title, body, "pulse")


def _share(n: int | None, of: int) -> float | None:
    return None if n is None or of <= 0 else n / of


def practice_bars(practices: Sequence[Practice]) -> str | None:
    """For each binary practice, the share of this period's wins where it happened beside the
    share of its losses, as horizontal bars labelled '4 of 6 wins'. None when no binary practice
    has a win or a loss to measure."""
    charts = []
    for p in practices:
        if p.kind != "binary" or p.wins + p.losses == 0:
            continue
        rows = []
        for group, n, of, one, many in (
            ("Wins", p.wins_with, p.wins, "win", "wins"),
            ("Losses", p.losses_with, p.losses, "loss", "losses"),
        ):
            share = _share(n, of)
            text = (
                f"no {many} to measure"
                if share is None
                else f"{n} of {of} {one if of == 1 else many}"
            )
            rows.append({"group": group, "share": share or 0.0, "text": text})
        data = pd.DataFrame(rows)
        y = alt.Y("group:N", title=None, sort=["Wins", "Losses"], axis=alt.Axis(labelFontSize=11))
        x = alt.X(
            "share:Q",
            title=None,
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=".0%", tickCount=5, labelFontSize=10),
        )
        colour = alt.Color(
            "group:N",
            scale=alt.Scale(domain=["Wins", "Losses"], range=["#c2410c", "#9aa5b1"]),
            legend=None,
        )
        bars = alt.Chart(data).mark_bar(height=14, aria=False).encode(x=x, y=y, color=colour)
        labels = (
            alt.Chart(data)
            .mark_text(align="left", dx=4, fontSize=11, color="#1f2933")
            .encode(x=x, y=y, text="text:N")
        )
        title = alt.TitleParams(
            text=textwrap.wrap(p.phrase[:1].upper() + p.phrase[1:], 60) or [p.practice_id],
            anchor="start",
            fontSize=12,
            fontWeight="bold",
            color="#1f2933",
        )
        charts.append(
            alt.layer(bars, labels).properties(width=300, height=alt.Step(20), title=title)
        )
    if not charts:
        return None

    def count(n: int | None, of: int, one: str, many: str) -> str:
        return f"{n} of {of} {one if of == 1 else many}"

    described = ", ".join(
        f"{p.phrase}: {count(p.wins_with, p.wins, 'win', 'wins')} and "
        f"{count(p.losses_with, p.losses, 'loss', 'losses')}"
        for p in practices
        if p.kind == "binary" and p.wins + p.losses > 0
    )
    lead = "How often each practice happened on this period's wins and losses."
    chart = alt.vconcat(*charts, spacing=14).properties(description=f"{lead} {described}")
    return to_svg(base_config(chart))


def funnel(f: Funnel, *, noun: str = "rep") -> str:
    """The period's funnel plot (``brightspots.report.funnel.funnel_chart``), at most about 640
    pixels wide so it fits the printable width of A4 and Letter. Only points with a name are
    named, and of those only bright spots, candidates and reps at or above the minimum volume."""
    units = pd.DataFrame(
        {
            "expected": [p.expected for p in f.points],
            "oe": [p.oe for p in f.points],
            "closed": [p.closed for p in f.points],
            "label": [p.label for p in f.points],
            "name": [p.name for p in f.points],
        },
        columns=["expected", "oe", "closed", "label", "name"],
    ).astype({"expected": float, "oe": float, "closed": int, "label": str, "name": str})
    # report.charts has no name ink for points below the minimum volume, so those stay unnamed
    named = (units["name"] != "") & (
        units["label"].isin(LABELLED) | (units["closed"] >= f.min_volume)
    )
    n = len(drawable(units))
    description = (
        f"Deals won against expectation for {n} {noun}{'' if n == 1 else 's'} over "
        f"{f.window_words}: each point is a {noun}; above the line at 1 means more wins than "
        f"their territory and deal mix predicted, and points outside the curved limits are "
        f"unlikely to be luck."
    )
    chart = funnel_chart(
        units,
        pd.DataFrame(list(f.curve)),
        min_volume=f.min_volume,
        description=description,
        noun=noun,
        named=named,
        axis_titles=("Expected wins (from territory and deal mix)", "Wins ÷ expected wins"),
        width=FUNNEL_WIDTH,
        height=FUNNEL_HEIGHT,
    )
    return to_svg(chart)
