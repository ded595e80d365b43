"""The report's charts as Altair (Vega-Lite) specs, rendered offline to inline SVG.

``funnel_chart`` names only bright spots and candidates: the point layer carries no names at all,
so no other rep's name can reach the SVG (not even in an aria-label).
"""

from __future__ import annotations

import hashlib
import html
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
    # group: (colour, shape, size, fill opacity)
    "Bright spot": ("#c2410c", "diamond", 170, 1.0),
    "Candidate": ("#0072b2", "triangle-up", 130, 1.0),
    "Other rep": ("#7b8794", "circle", 60, 0.8),
    "Below minimum volume": ("#7b8794", "circle", 60, 0.0),
}
LIMITS: dict[str, str] = {"99.8% limits": "#3e4c59", "95% limits": "#9aa5b1"}
KINDS: dict[str, list[float]] = {
    "allowing for overdispersion": [1, 0],
    "exact (chance only)": [5, 4],
}


def _base_config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
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
        colour, shape, _, fill = GROUPS[g]
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


def funnel_groups(reps: pd.DataFrame, min_volume: int) -> list[str]:
    """The point groups present in the funnel plot, in legend order."""
    drawn = reps[(reps["expected"] > 0) & np.isfinite(reps["oe"])]
    found = {
        rep_group(lab, int(c), min_volume)
        for lab, c in zip(drawn["label"], drawn["closed"], strict=True)
    }
    return [g for g in GROUPS if g in found]


def funnel_y_top(reps: pd.DataFrame, min_volume: int) -> float:
    """Top of the O/E axis: room for every assessed or named rep (at least 2). A rep below the
    minimum volume can have a huge ratio on a tiny book; such points are drawn on the top edge
    instead of squashing the funnel (see ``off_scale``)."""
    drawn = reps[(reps["expected"] > 0) & np.isfinite(reps["oe"])]
    shown = drawn[(drawn["closed"] >= min_volume) | (drawn["label"] != "")]
    top = float(shown["oe"].max()) if len(shown) else 1.0
    return max(2.0, top * 1.08)


def off_scale(reps: pd.DataFrame, min_volume: int) -> int:
    """How many reps lie above the top of the funnel plot (drawn on its edge)."""
    drawn = reps[(reps["expected"] > 0) & np.isfinite(reps["oe"])]
    return int((drawn["oe"] > funnel_y_top(reps, min_volume)).sum())


def rep_group(label: str, closed: int, min_volume: int) -> str:
    if label == "bright_spot":
        return "Bright spot"
    if label == "candidate":
        return "Candidate"
    return "Other rep" if closed >= min_volume else "Below minimum volume"


@dataclass(frozen=True)
class Frame:
    """The plotting area: pixel size and data domains (both axes start at 0)."""

    width: int
    height: int
    x_max: float
    y_max: float

    def px(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float) / self.x_max * self.width

    def py(self, y: np.ndarray) -> np.ndarray:
        return self.height - np.asarray(y, dtype=float) / self.y_max * self.height

    def y_from_px(self, py: np.ndarray) -> np.ndarray:
        return (self.height - np.asarray(py, dtype=float)) / self.height * self.y_max


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


def _curve_long(curve: pd.DataFrame, y_cap: float) -> pd.DataFrame:
    rows = []
    for level, suffix in (("99.8% limits", "998"), ("95% limits", "95")):
        for kind, prefix in (("allowing for overdispersion", "adj_"), ("exact (chance only)", "")):
            for bound in ("lower", "upper"):
                part = pd.DataFrame(
                    {
                        "expected": curve["expected"],
                        "value": curve[f"{prefix}{bound}_{suffix}"],
                    }
                )
                part = part[np.isfinite(part["value"]) & (part["expected"] > 0)]
                part["value"] = part["value"].clip(lower=-0.5 * y_cap, upper=1.5 * y_cap)
                part["level"], part["kind"], part["line"] = level, kind, f"{level}{kind}{bound}"
                rows.append(part)
    return pd.concat(rows, ignore_index=True).sort_values(["line", "expected"])


def funnel_chart(
    reps: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    min_volume: int,
    description: str,
    width: int = 860,
    height: int = 470,
) -> alt.TopLevelMixin:
    """O/E against expected wins with the 95% and 99.8% limits; bright spots and candidates
    highlighted and named. ``reps`` is the report's bright_spots frame."""
    ok = reps[(reps["expected"] > 0) & np.isfinite(reps["oe"])]
    y_top = funnel_y_top(reps, min_volume)
    points = pd.DataFrame(
        {
            "expected": ok["expected"].astype(float),
            "oe": ok["oe"].astype(float).clip(upper=y_top),
            "group": [
                rep_group(lab, int(c), min_volume)
                for lab, c in zip(ok["label"], ok["closed"], strict=True)
            ],
        }
    )
    x_top = float(max(points["expected"].max() if len(points) else 1.0, 1.0)) * 1.06
    frame = Frame(width, height, x_top, y_top)

    named = ok[ok["label"].isin(["bright_spot", "candidate"])]
    labels = pd.DataFrame(
        {
            "expected": named["expected"].astype(float),
            "name": named["name"].astype(str),
            "group": ["Bright spot" if x == "bright_spot" else "Candidate" for x in named["label"]],
        }
    )
    px = frame.px(labels["expected"])
    widths = np.array([6.6 * len(n) + 10 for n in labels["name"]], dtype=float)
    right = px + widths + 8 > width
    start = np.where(right, px - 8 - widths, px + 8)
    label_py = place_labels(start, frame.py(named["oe"]), widths, height=height)
    labels["label_y"] = frame.y_from_px(label_py)
    labels["side"] = np.where(right, "left", "right")
    labels["oe"] = named["oe"].astype(float).to_numpy()
    moved = labels[np.abs(label_py - frame.py(named["oe"])) > 4]

    x = alt.X(
        "expected:Q",
        title="Expected wins (from territory and deal mix)",
        scale=alt.Scale(domain=[0, x_top], nice=False, zero=True),
    )
    y_scale = alt.Scale(domain=[0, y_top], nice=False, zero=True)
    present = funnel_groups(reps, min_volume)

    limits = (
        alt.Chart(_curve_long(curve, y_top))
        .mark_line(clip=True, strokeWidth=1.6)
        .encode(
            x=x,
            y=alt.Y("value:Q", scale=y_scale, title="Deals won ÷ expected (O/E)"),
            color=alt.Color(
                "level:N",
                scale=alt.Scale(domain=list(LIMITS), range=list(LIMITS.values())),
                legend=None,
            ),
            strokeDash=alt.StrokeDash(
                "kind:N",
                scale=alt.Scale(domain=list(KINDS), range=list(KINDS.values())),
                legend=None,
            ),
            detail="line:N",
            order="expected:Q",
        )
    )
    target = (
        alt.Chart(pd.DataFrame({"oe": [1.0]}))
        .mark_rule(color=INK, strokeWidth=1.2)
        .encode(y=alt.Y("oe:Q", scale=y_scale))
    )
    target_text = (
        alt.Chart(pd.DataFrame({"expected": [x_top], "oe": [1.0], "t": ["1 = as expected"]}))
        .mark_text(align="left", baseline="middle", dx=6, color=INK, fontSize=11)
        .encode(x=x, y=alt.Y("oe:Q", scale=y_scale), text="t:N")
    )
    dots = []
    for g in reversed(present):  # bright spots drawn last, on top
        colour, shape, size, fill = GROUPS[g]
        dots.append(
            alt.Chart(points[points["group"] == g])
            .mark_point(
                shape=shape,
                size=size,
                color=colour,
                filled=fill > 0,
                fillOpacity=fill if fill > 0 else 1,
                strokeWidth=1.5,
                opacity=1,
                aria=False,
            )
            .encode(x=x, y=alt.Y("oe:Q", scale=y_scale))
        )
    layers: list[alt.Chart] = [limits, target, target_text, *dots]
    if not moved.empty:  # a label pushed off its point gets a thin leader line to it
        layers.append(
            alt.Chart(moved[["expected", "oe", "label_y", "group"]])
            .mark_rule(strokeWidth=1, opacity=0.7, aria=False)
            .encode(
                x=x,
                y=alt.Y("oe:Q", scale=y_scale),
                y2="label_y:Q",
                color=alt.Color(
                    "group:N",
                    scale=alt.Scale(domain=present, range=[GROUPS[g][0] for g in present]),
                    legend=None,
                ),
            )
        )
    for side in ("right", "left"):
        part = labels[labels["side"] == side]
        if part.empty:
            continue
        common = {
            "align": "left" if side == "right" else "right",
            "dx": 8 if side == "right" else -8,
            "baseline": "middle",
            "fontSize": 12,
            "fontWeight": "bold",
        }
        enc = {"x": x, "y": alt.Y("label_y:Q", scale=y_scale), "text": "name:N"}
        halo = (
            alt.Chart(part)
            .mark_text(stroke="white", strokeWidth=4, strokeJoin="round", aria=False, **common)
            .encode(**enc)
        )
        ink = (
            alt.Chart(part)
            .mark_text(**common)
            .encode(
                color=alt.Color(
                    "group:N",
                    scale=alt.Scale(domain=present, range=[GROUPS[g][0] for g in present]),
                    legend=None,
                ),
                **enc,
            )
        )
        layers += [halo, ink]
    chart = alt.layer(*layers).properties(width=width, height=height, description=description)
    return _base_config(chart.resolve_scale(color="independent"))


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
    return _base_config(chart)


_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_IDS = re.compile(r'\bid="([^"]+)"')


def to_svg(chart: alt.TopLevelMixin, *, title: str | None = None) -> str:
    """Render offline to an SVG element ready to inline in HTML.

    The namespace declarations are dropped (HTML puts inline ``<svg>`` in the SVG namespace), the
    element gets ``role="img"`` and a ``<title>`` (``title``, else the chart's description) so a
    screen reader announces what the chart shows, and its internal ids (clip paths) get a prefix
    drawn from the content, so two charts in one page never share an id.
    """
    spec = chart.to_dict()
    svg = vl_convert.vegalite_to_svg(spec)
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
