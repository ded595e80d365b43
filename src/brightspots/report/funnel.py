"""The funnel plot: each unit's O/E against its expected result, with the 95% and 99.8% limits,
exact and allowing for overdispersion.

Which units are named is the caller's decision (``named``; by default the bright spots and
candidates); every other unit is a point without a name: the point layers carry no names at all,
so no other unit's name can reach the SVG (not even in an aria-label).
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from brightspots.report.charts import (
    INK,
    KINDS,
    LABELLED,
    LIMITS,
    Frame,
    base_config,
    group_order,
    name_layers,
    place_labels,
    style,
    unit_group,
)

WIN_AXIS = ("Expected wins (from territory and deal mix)", "Deals won ÷ expected (O/E)")


def drawable(units: pd.DataFrame) -> pd.DataFrame:
    return units[(units["expected"] > 0) & np.isfinite(units["oe"].astype(float))]


def funnel_groups(units: pd.DataFrame, min_volume: int, noun: str = "rep") -> list[str]:
    """The point groups present in the funnel plot, in legend order."""
    drawn = drawable(units)
    found = {
        unit_group(lab, int(c), min_volume, noun)
        for lab, c in zip(drawn["label"], drawn["closed"], strict=True)
    }
    return group_order(found)


def funnel_y_top(units: pd.DataFrame, min_volume: int) -> float:
    """Top of the O/E axis: room for every assessed or named unit (at least 2). A unit below the
    minimum volume can have a huge ratio on a tiny book; such points are drawn on the top edge
    instead of squashing the funnel (see ``off_scale``)."""
    drawn = drawable(units)
    shown = drawn[(drawn["closed"] >= min_volume) | (drawn["label"] != "")]
    top = float(shown["oe"].max()) if len(shown) else 1.0
    return max(2.0, top * 1.08)


def close_range(units: pd.DataFrame) -> tuple[float, float]:
    """A y range around 1 that fits every drawn unit with room, for levels whose units all have
    large books (teams): their funnel is narrow, and an axis from 0 would leave it a thin band."""
    drawn = drawable(units)
    spread = float(np.max(np.abs(drawn["oe"].astype(float) - 1.0))) if len(drawn) else 0.2
    half = math.ceil((spread * 1.3 + 0.08) * 10) / 10
    return max(0.0, 1.0 - half), 1.0 + half


def off_scale(units: pd.DataFrame, min_volume: int) -> int:
    """How many units lie above the top of the funnel plot (drawn on its edge)."""
    drawn = drawable(units)
    return int((drawn["oe"] > funnel_y_top(units, min_volume)).sum())


def _curve_long(curve: pd.DataFrame, y_cap: float) -> pd.DataFrame:
    rows = []
    for level, suffix in (("99.8% limits", "998"), ("95% limits", "95")):
        for kind, prefix in (("allowing for overdispersion", "adj_"), ("exact (chance only)", "")):
            for bound in ("lower", "upper"):
                part = pd.DataFrame(
                    {
                        "expected": curve["expected"].astype(float),
                        "value": curve[f"{prefix}{bound}_{suffix}"].astype(float),
                    }
                )
                part = part[np.isfinite(part["value"]) & (part["expected"] > 0)]
                part["value"] = part["value"].clip(lower=-0.5 * y_cap, upper=1.5 * y_cap)
                part["level"], part["kind"], part["line"] = level, kind, f"{level}{kind}{bound}"
                rows.append(part)
    return pd.concat(rows, ignore_index=True).sort_values(["line", "expected"])


def _labels(named: pd.DataFrame, groups: list[str], frame: Frame) -> pd.DataFrame:
    labels = pd.DataFrame(
        {
            "expected": named["expected"].astype(float).to_numpy(),
            "oe": named["oe"].astype(float).to_numpy(),
            "name": named["name"].astype(str).to_numpy(),
            "group": groups,
        }
    )
    px = frame.px(labels["expected"])
    widths = np.array([6.6 * len(n) + 10 for n in labels["name"]], dtype=float)
    right = px + widths + 8 > frame.width
    start = np.where(right, px - 8 - widths, px + 8)
    labels["point_px"] = frame.py(labels["oe"].clip(lower=frame.y_min, upper=frame.y_max))
    labels["label_px"] = place_labels(start, labels["point_px"], widths, height=frame.height)
    labels["label_y"] = frame.y_from_px(labels["label_px"])
    labels["side"] = np.where(right, "left", "right")
    return labels


def funnel_chart(
    units: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    min_volume: int,
    description: str,
    noun: str = "rep",
    named: pd.Series | None = None,
    axis_titles: tuple[str, str] = WIN_AXIS,
    x_format: str | None = None,
    y_range: tuple[float, float] | None = None,
    width: int = 860,
    height: int = 470,
    target: tuple[float, str] = (1.0, "1 = as expected"),
) -> alt.TopLevelMixin:
    """O/E against expected results with the 95% and 99.8% limits, bright spots and candidates
    highlighted. ``units``: expected, oe, closed, label, name per unit. ``named`` (a boolean
    Series aligned with ``units``) says whose name is drawn; by default the labelled units'.
    ``y_range``: the O/E axis (default from 0 to ``funnel_y_top``). ``target``: where the
    horizontal reference line is drawn and its words (a funnel on means: the company's mean)."""
    if named is None:
        named = units["label"].isin(LABELLED)
    ref_value, ref_text = float(target[0]), target[1]
    ok = drawable(units)
    y_min, y_top = y_range if y_range is not None else (0.0, funnel_y_top(units, min_volume))
    groups = [
        unit_group(lab, int(c), min_volume, noun)
        for lab, c in zip(ok["label"], ok["closed"], strict=True)
    ]
    points = pd.DataFrame(
        {
            "expected": ok["expected"].astype(float).to_numpy(),
            "oe": ok["oe"].astype(float).clip(lower=y_min, upper=y_top).to_numpy(),
            "group": groups,
        }
    )
    x_top = float(max(points["expected"].max() if len(points) else 1.0, 1.0)) * 1.06
    frame = Frame(width, height, x_top, y_top, y_min)
    show = named.reindex(ok.index).fillna(False).astype(bool).to_numpy()
    labels = _labels(ok[show], [g for g, s in zip(groups, show, strict=True) if s], frame)

    # each label formatted on its own (an axis format shares one SI prefix: '0M', '2M', ...)
    axis = alt.Axis(labelExpr=f"format(datum.value, '{x_format}')") if x_format else alt.Axis()
    x = alt.X(
        "expected:Q",
        title=axis_titles[0],
        scale=alt.Scale(domain=[0, x_top], nice=False, zero=True),
        axis=axis,
    )
    y_scale = alt.Scale(domain=[y_min, y_top], nice=False, zero=y_min == 0)
    limits = (
        alt.Chart(_curve_long(curve, y_top))
        .mark_line(clip=True, strokeWidth=1.6)
        .encode(
            x=x,
            y=alt.Y("value:Q", scale=y_scale, title=axis_titles[1]),
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
    ref_line = (
        alt.Chart(pd.DataFrame({"oe": [ref_value]}))
        .mark_rule(color=INK, strokeWidth=1.2)
        .encode(y=alt.Y("oe:Q", scale=y_scale))
    )
    ref_label = (
        alt.Chart(pd.DataFrame({"expected": [x_top], "oe": [ref_value], "t": [ref_text]}))
        .mark_text(align="left", baseline="middle", dx=6, color=INK, fontSize=11)
        .encode(x=x, y=alt.Y("oe:Q", scale=y_scale), text="t:N")
    )
    dots = []
    for g in reversed(funnel_groups(units, min_volume, noun)):  # bright spots last, on top
        colour, shape, size, fill = style(g)
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
    layers = [
        limits,
        ref_line,
        ref_label,
        *dots,
        *name_layers(labels, x, y_scale, "expected", "oe"),
    ]
    chart = alt.layer(*layers).properties(width=width, height=height, description=description)
    return base_config(chart.resolve_scale(color="independent"))
