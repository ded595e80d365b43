"""What the report's charts share: colours and point styles, the HTML legend, label placement
and name layers, the calibration chart, and rendering to inline SVG (offline, no script).

The funnel plot is in ``funnel``, the caterpillar plot in ``caterpillar``. In every chart the
point layers carry no names at all; names reach the SVG only through the label layers, which
hold exactly the units a chart may name.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import vl_convert

FONT = "Helvetica, Arial, 'Liberation Sans', sans-serif"
INK = "#1f2933"
GRID = "#e4e7eb"

# an orange and a blue that stay distinct for colour-blind readers; shape and size carry the
# same signal, so the chart also reads in greyscale print
GROUPS: dict[str, tuple[str, str, int, float]] = {
    # group: (colour, shape, size, fill opacity); "Other" stands for "Other rep", "Other team"
    "Bright spot": ("#c2410c", "diamond", 170, 1.0),
    "Candidate": ("#0072b2", "triangle-up", 130, 1.0),
    "Other": ("#7b8794", "circle", 60, 0.8),
    "Below minimum volume": ("#7b8794", "circle", 60, 0.0),
}
#: the ink of a name label: bright spots and candidates in their colour, other named units grey
NAME_INK = {
    "Bright spot": "#c2410c",
    "Candidate": "#0072b2",
    "Other": "#52606d",
    "Below minimum volume": "#52606d",
}
LABELLED = ("bright_spot", "candidate")


def style_key(group: str) -> str:
    """'Other team' -> 'Other'; the other groups are their own key."""
    return "Other" if group.startswith("Other ") else group


def style(group: str) -> tuple[str, str, int, float]:
    return GROUPS[style_key(group)]


def unit_group(label: str, closed: int, min_volume: int, noun: str = "rep") -> str:
    """A unit's point group: 'Bright spot', 'Candidate', 'Other rep' or 'Below minimum volume'."""
    if label == "bright_spot":
        return "Bright spot"
    if label == "candidate":
        return "Candidate"
    return f"Other {noun}" if closed >= min_volume else "Below minimum volume"


def group_order(groups: set[str]) -> list[str]:
    """Groups in legend order."""
    return sorted(groups, key=lambda g: list(GROUPS).index(style_key(g)))


LIMITS: dict[str, str] = {"99.8% limits": "#3e4c59", "95% limits": "#9aa5b1"}
KINDS: dict[str, list[float]] = {
    "allowing for overdispersion": [1, 0],
    "exact (chance only)": [5, 4],
}


def base_config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=INK,
            titleColor=INK,
            labelFontSize=11,
            titleFontSize=12,
            titleFontWeight="normal",
            gridColor=GRID,
            domainColor="#9aa5b1",
            tickColor="#9aa5b1",
        )
    )


def legend_entries(groups: list[str]) -> list[tuple[str, str]]:
    """(inline SVG symbol, text) for the funnel plot's legend, which the page draws in HTML so it
    stays readable at any zoom and in print."""
    out = []
    for g in groups:
        colour, shape, _, fill = style(g)
        paint = f'fill="{colour}" fill-opacity="{fill}" stroke="{colour}" stroke-width="1.5"'
        body = {
            "diamond": f'<path d="M8 1 L15 8 L8 15 L1 8 Z" {paint}/>',
            "triangle-up": f'<path d="M8 2 L15 14 L1 14 Z" {paint}/>',
            "circle": f'<circle cx="8" cy="8" r="4.5" {paint}/>',
        }[shape]
        out.append(
            (f'<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">{body}</svg>', g)
        )
    for level, colour in LIMITS.items():
        for kind, dash in KINDS.items():
            dasharray = "" if dash[1] == 0 else f' stroke-dasharray="{dash[0]} {dash[1]}"'
            line = (
                f'<svg width="28" height="16" viewBox="0 0 28 16" aria-hidden="true">'
                f'<line x1="1" y1="8" x2="27" y2="8" stroke="{colour}" stroke-width="1.8"'
                f"{dasharray}/></svg>"
            )
            out.append((line, f"{level}, {kind}"))
    return out


@dataclass(frozen=True)
class Frame:
    """The plotting area: pixel size and data domains (x from 0, y from ``y_min``)."""

    width: int
    height: int
    x_max: float
    y_max: float
    y_min: float = 0.0

    def px(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float) / self.x_max * self.width

    def py(self, y: np.ndarray) -> np.ndarray:
        span = self.y_max - self.y_min
        return self.height - (np.asarray(y, dtype=float) - self.y_min) / span * self.height

    def y_from_px(self, py: np.ndarray) -> np.ndarray:
        span = self.y_max - self.y_min
        return self.y_min + (self.height - np.asarray(py, dtype=float)) / self.height * span


def place_labels(
    px: np.ndarray,
    py: np.ndarray,
    widths: np.ndarray,
    *,
    height: float,
    line: float = 13.0,
) -> np.ndarray:
    """Vertical positions (pixels) for labels so that none overlaps another.

    Labels are taken from the top down; a label whose box would overlap an already placed one
    (horizontal spans intersect and vertical centres closer than ``line``) moves down below it.
    The result stays within [line/2, height - line/2] when there is room.
    """
    px, py, widths = (np.asarray(a, dtype=float) for a in (px, py, widths))
    out = py.copy()
    placed: list[int] = []
    for i in np.argsort(py, kind="stable"):
        y = max(py[i], line / 2)
        moved = True
        while moved:
            moved = False
            for j in placed:
                overlap_x = px[i] < px[j] + widths[j] and px[j] < px[i] + widths[i]
                if overlap_x and abs(y - out[j]) < line:
                    y = out[j] + line
                    moved = True
        out[i] = min(y, height - line / 2)
        placed.append(int(i))
    return out


def name_layers(
    labels: pd.DataFrame,
    x: alt.X,
    y_scale: alt.Scale,
    x_field: str,
    y_field: str,
) -> list[alt.Chart]:
    """Text layers that name points: ``labels`` has ``x_field``, ``y_field`` (the point),
    ``label_y`` (where the text sits), ``name``, ``group``, ``side`` ('right' or 'left' of the
    point). A white halo under each name keeps it readable over lines and points; a name pushed
    off its point gets a thin leader line back to it. Bright spots and candidates are bold."""
    if labels.empty:
        return []
    groups = group_order(set(labels["group"]))
    colour = alt.Color(
        "group:N",
        scale=alt.Scale(domain=groups, range=[NAME_INK[style_key(g)] for g in groups]),
        legend=None,
    )
    layers: list[alt.Chart] = []
    moved = labels[np.abs(labels["label_px"] - labels["point_px"]) > 4]
    if not moved.empty:
        layers.append(
            alt.Chart(moved[[x_field, y_field, "label_y", "group"]])
            .mark_rule(strokeWidth=1, opacity=0.7, aria=False)
            .encode(x=x, y=alt.Y(f"{y_field}:Q", scale=y_scale), y2="label_y:Q", color=colour)
        )
    bold = labels["group"].isin(["Bright spot", "Candidate"])
    for side in ("right", "left"):
        for weight in ("bold", "normal"):
            part = labels[(labels["side"] == side) & (bold == (weight == "bold"))]
            if part.empty:
                continue
            common = {
                "align": "left" if side == "right" else "right",
                "dx": 8 if side == "right" else -8,
                "baseline": "middle",
                "fontSize": 12 if weight == "bold" else 11,
                "fontWeight": weight,
            }
            part = part[[x_field, "label_y", "name", "group"]]
            enc = {"x": x, "y": alt.Y("label_y:Q", scale=y_scale), "text": "name:N"}
            halo = (
                alt.Chart(part)
                .mark_text(stroke="white", strokeWidth=4, strokeJoin="round", aria=False, **common)
                .encode(**enc)
            )
            ink = alt.Chart(part).mark_text(**common).encode(color=colour, **enc)
            layers += [halo, ink]
    return layers


def calibration_chart(
    calibration: pd.DataFrame, *, description: str, size: int = 320
) -> alt.TopLevelMixin:
    """Mean predicted chance against the observed win rate, per decile, with the diagonal."""
    data = calibration[calibration["n"] > 0].sort_values("decile")
    data = pd.DataFrame(
        {
            "decile": data["decile"].astype(int),
            "mean_expected": data["mean_expected"].astype(float),
            "observed_rate": data["observed_rate"].astype(float),
            "n": data["n"].astype(int),
        }
    )
    top = float(np.nanmax([data["mean_expected"].max(), data["observed_rate"].max(), 0.1]))
    top = min(1.0, np.ceil(top * 10.5) / 10)
    scale = alt.Scale(domain=[0, top], nice=False, zero=True)
    axis = alt.Axis(format=".0%", tickCount=6)
    x = alt.X("mean_expected:Q", title="Predicted chance of winning", scale=scale, axis=axis)
    y = alt.Y("observed_rate:Q", title="Actual win rate", scale=scale, axis=axis)
    diag = pd.DataFrame({"mean_expected": [0.0, top], "observed_rate": [0.0, top]})
    diagonal = (
        alt.Chart(diag)
        .mark_line(color="#9aa5b1", strokeDash=[5, 4], strokeWidth=1.4, aria=False)
        .encode(x=x, y=y)
    )
    diag_text = (
        alt.Chart(
            pd.DataFrame(
                {"mean_expected": [top], "observed_rate": [top], "t": ["perfect calibration"]}
            )
        )
        .mark_text(align="right", baseline="top", dx=-2, dy=12, color="#52606d", fontSize=11)
        .encode(x=x, y=y, text="t:N")
    )
    path = (
        alt.Chart(data)
        .mark_line(color="#0072b2", strokeWidth=1.6)
        .encode(x=x, y=y, order="decile:Q")
    )
    dots = alt.Chart(data).mark_point(filled=True, color="#0072b2", size=45).encode(x=x, y=y)
    chart = alt.layer(diagonal, diag_text, path, dots).properties(
        width=size, height=size, description=description
    )
    return base_config(chart)


_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_IDS = re.compile(r'\bid="([^"]+)"')


@functools.lru_cache(maxsize=32)
def _render(spec: str) -> str:
    """Vega-Lite JSON -> SVG text; the same spec always renders the same SVG, so a report (or a
    test suite) drawing one chart twice renders it once."""
    return vl_convert.vegalite_to_svg(json.loads(spec))


def to_svg(chart: alt.TopLevelMixin, *, title: str | None = None) -> str:
    """Render offline to an SVG element ready to inline in HTML.

    The namespace declarations are dropped (HTML puts inline ``<svg>`` in the SVG namespace), the
    element gets ``role="img"`` and a ``<title>`` (``title``, else the chart's description) so a
    screen reader announces what the chart shows, and its internal ids (clip paths) get a prefix
    drawn from the content, so two charts in one page never share an id.
    """
    spec = chart.to_dict()
    svg = _render(json.dumps(spec, sort_keys=True))
    svg = svg.removeprefix('<?xml version="1.0" encoding="utf-8"?>').strip()
    prefix = "c" + hashlib.sha1(svg.encode()).hexdigest()[:8] + "-"
    for old in set(_IDS.findall(svg)):
        svg = svg.replace(f'id="{old}"', f'id="{prefix}{old}"')
        svg = svg.replace(f"url(#{old})", f"url(#{prefix}{old})")
        svg = svg.replace(f'href="#{old}"', f'href="#{prefix}{old}"')
    start = svg.index("<svg")
    end = svg.index(">", start)
    head = _XMLNS.sub("", svg[start:end])
    text = title if title is not None else str(spec.get("description", ""))
    label = f"<title>{html.escape(text)}</title>" if text else ""
    return f'{head} role="img" focusable="false">{label}{svg[end + 1 :]}'
