"""The forest plot of practice effects: one row per practice, the adjusted odds ratio of winning
with its 95% interval on a log scale, a line at 1 (no difference), and the whole-deal estimate
beside it as a hollow point with a thin interval.

The status of a practice colours its primary estimate: linked with winning (q < 0.05 and not
suspect), suspect (linked only over the whole deal) or no clear link.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from brightspots.report.charts import INK, base_config

STATUS: dict[str, tuple[str, str]] = {
    # status: (colour, words)
    "linked": ("#0072b2", "Linked with winning (q < 0.05)"),
    "suspect": ("#b45309", "Suspect: linked only over the whole deal"),
    "unclear": ("#7b8794", "No clear link"),
}
WHOLE_INK = "#3e4c59"
ANALYSES = ("primary", "whole deal")
#: the log axis keeps within these bounds; intervals beyond them are cut at the edge
BOUNDS = (1 / 50, 50.0)
#: round odds ratios for ticks, and those added (in this order) when the axis is short of ticks
MAJOR_TICKS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
MINOR_TICKS = (1.5, 0.67, 3.0, 0.33, 0.8, 1.25, 4.0, 0.25)


def status(q: float, suspect: bool) -> str:
    """'linked' (q < 0.05, not suspect), 'suspect' or 'unclear'."""
    if suspect:
        return "suspect"
    return "linked" if (not math.isnan(q) and q < 0.05) else "unclear"


def domain(values: np.ndarray) -> tuple[float, float]:
    """A log-axis domain around the finite positive ``values`` and 1, padded by a factor of 1.15
    on each side and kept within ``BOUNDS``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo = min(float(v.min()) if len(v) else 1.0, 1.0) / 1.15
    hi = max(float(v.max()) if len(v) else 1.0, 1.0) * 1.15
    return max(lo, BOUNDS[0]), min(hi, BOUNDS[1])


def log_ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """Tick values within [lo, hi]: the round ones (``MAJOR_TICKS``, 1 among them), then
    ``MINOR_TICKS`` in order while there are fewer than ``most``; ascending."""
    ticks = [t for t in MAJOR_TICKS if lo <= t <= hi]
    for t in MINOR_TICKS:
        if len(ticks) >= most:
            break
        if lo <= t <= hi:
            ticks.append(t)
    return sorted(ticks)


#: the estimates a forest row draws: the primary one with its interval, then the whole-deal one
INTERVAL_COLUMNS = (
    "odds_ratio",
    "or_low",
    "or_high",
    "whole_deal_odds_ratio",
    "whole_deal_or_low",
    "whole_deal_or_high",
)


def forest_chart(effects: pd.DataFrame, *, description: str, width: int = 520) -> alt.TopLevelMixin:
    """``effects`` has ``label`` (the row's name, in display order), ``status``, ``odds_ratio``,
    ``or_low``, ``or_high`` and ``whole_deal_odds_ratio``, ``whole_deal_or_low``,
    ``whole_deal_or_high`` (NaN where not estimated)."""
    labels = list(effects["label"])
    values = effects[list(INTERVAL_COLUMNS)].to_numpy(float)
    lo, hi = domain(values.ravel())
    x_scale = alt.Scale(type="log", domain=[lo, hi], clamp=True, nice=False)
    ticks = log_ticks(lo, hi)
    x_axis = alt.Axis(values=ticks, format="~g", grid=True)
    y = alt.Y(
        "label:N",
        sort=labels,
        title=None,
        scale=alt.Scale(domain=labels, paddingInner=0.2, paddingOuter=0.1),
        axis=alt.Axis(labelLimit=260, labelFontSize=12, ticks=False, domain=False),
    )
    offset = alt.YOffset("analysis:N", scale=alt.Scale(domain=list(ANALYSES), paddingInner=0.2))
    colour = alt.Color(
        "status:N",
        scale=alt.Scale(domain=list(STATUS), range=[c for c, _ in STATUS.values()]),
        legend=None,
    )

    def part(prefix: str, analysis: str) -> pd.DataFrame:
        cols = [f"{prefix}odds_ratio", f"{prefix}or_low", f"{prefix}or_high"]
        out = effects[["label", "status", *cols]].rename(
            columns=dict(zip(cols, ["estimate", "low", "high"], strict=True))
        )
        out = out[np.isfinite(out["estimate"].astype(float))]
        return out.assign(analysis=analysis)

    primary, whole = part("", "primary"), part("whole_deal_", "whole deal")
    x_title = "Adjusted odds ratio of winning, more against less of the practice (log scale)"
    x = alt.X("estimate:Q", scale=x_scale, axis=x_axis, title=x_title)
    one = (
        alt.Chart(pd.DataFrame({"estimate": [1.0]}))
        .mark_rule(color=INK, strokeWidth=1.2, aria=False)
        .encode(x=alt.X("estimate:Q", scale=x_scale))
    )
    layers: list[alt.Chart] = [one]
    if len(whole):
        w = whole.dropna(subset=["low", "high"])
        layers += [
            alt.Chart(w)
            .mark_rule(color=WHOLE_INK, strokeWidth=1, opacity=0.7, aria=False)
            .encode(x=alt.X("low:Q", scale=x_scale), x2="high:Q", y=y, yOffset=offset),
            alt.Chart(whole)
            .mark_point(shape="circle", filled=False, color=WHOLE_INK, size=42, strokeWidth=1.5)
            .encode(x=x, y=y, yOffset=offset),
        ]
    if len(primary):
        p = primary.dropna(subset=["low", "high"])
        layers += [
            alt.Chart(p)
            .mark_rule(strokeWidth=2.6, aria=False)
            .encode(
                x=alt.X("low:Q", scale=x_scale), x2="high:Q", y=y, yOffset=offset, color=colour
            ),
            alt.Chart(primary)
            .mark_point(shape="circle", filled=True, size=70, opacity=1)
            .encode(x=x, y=y, yOffset=offset, color=colour),
        ]
    missing = effects[~np.isfinite(effects["odds_ratio"].astype(float))]
    if len(missing):
        note = missing[["label"]].assign(estimate=lo, analysis="primary", t="not estimated")
        layers.append(
            alt.Chart(note)
            .mark_text(align="left", dx=4, color="#52606d", fontSize=11, fontStyle="italic")
            .encode(x=alt.X("estimate:Q", scale=x_scale), y=y, yOffset=offset, text="t:N")
        )
    height = 30 * len(labels)
    chart = alt.layer(*layers).properties(width=width, height=height, description=description)
    return base_config(chart)
