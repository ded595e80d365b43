"""The caterpillar plot: every eligible unit's O/E after shrinkage with its 95% interval, ordered
from lowest to highest estimate, with the line of 1 (as expected).

Only the units the caller marks as labelled (bright spots and candidates) are highlighted and
named; the other units are intervals and dots without names (no name reaches their layers).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from brightspots.report.charts import (
    INK,
    base_config,
    group_order,
    name_layers,
    place_labels,
    style,
    unit_group,
)

#: the interval colour of units that are not highlighted (lighter than their dots)
QUIET = "#cbd2d9"


def eligible(units: pd.DataFrame, min_volume: int) -> pd.DataFrame:
    """Units with the minimum volume and a finite shrunken estimate and interval, lowest first
    (ties in unit order, so the drawing is reproducible)."""
    est = units[["shrunk_oe", "shrunk_lower_95", "shrunk_upper_95"]].astype(float)
    ok = (units["closed"] >= min_volume).to_numpy() & np.isfinite(est.to_numpy()).all(axis=1)
    out = units[ok].assign(_est=est["shrunk_oe"][ok], _id=units["unit_id"][ok])
    out = out.sort_values(["_est", "_id"], kind="stable").drop(columns=["_est", "_id"])
    return out.reset_index(drop=True)


def y_domain(lower: np.ndarray, upper: np.ndarray) -> tuple[float, float]:
    """The O/E axis: every interval and the line of 1, with a little room."""
    lo = float(min(np.min(lower), 1.0)) if len(lower) else 0.9
    hi = float(max(np.max(upper), 1.0)) if len(upper) else 1.1
    pad = max(0.05, 0.06 * (hi - lo))
    return max(0.0, lo - pad), hi + pad


def caterpillar_chart(
    units: pd.DataFrame,
    *,
    min_volume: int,
    description: str,
    noun: str = "rep",
    y_title: str = "O/E after shrinkage (95% interval)",
    volume: str = "closed deals",
    width: int = 620,
    height: int = 320,
) -> alt.TopLevelMixin:
    """``units``: unit_id, name, closed, label, shrunk_oe, shrunk_lower_95, shrunk_upper_95.
    Highlighted and named: the units whose ``label`` is bright_spot or candidate."""
    data = eligible(units, min_volume)
    n = len(data)
    groups = [unit_group(lab, min_volume, min_volume, noun) for lab in data["label"]]
    points = pd.DataFrame(
        {
            "position": np.arange(1, n + 1, dtype=float),
            "estimate": data["shrunk_oe"].astype(float).to_numpy(),
            "lower": data["shrunk_lower_95"].astype(float).to_numpy(),
            "upper": data["shrunk_upper_95"].astype(float).to_numpy(),
            "group": groups,
        }
    )
    y0, y1 = y_domain(points["lower"].to_numpy(), points["upper"].to_numpy())
    x_max = n + 1.0
    x = alt.X(
        "position:Q",
        title=f"{n} {noun}s with at least {min_volume:,} {volume}, lowest to highest estimate",
        scale=alt.Scale(domain=[0, x_max], nice=False, zero=True),
        axis=alt.Axis(labels=False, ticks=False, grid=False),
    )
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    y = alt.Y("estimate:Q", scale=y_scale, title=y_title)
    thick = float(np.clip(0.35 * width / max(n, 1), 1.0, 3.0))

    def px(v: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=float) / x_max * width

    def py(v: np.ndarray) -> np.ndarray:
        return height - (np.asarray(v, dtype=float) - y0) / (y1 - y0) * height

    highlighted = data["label"].isin(["bright_spot", "candidate"]).to_numpy()
    chosen = points[highlighted]
    labels = pd.DataFrame(
        {
            "position": chosen["position"].to_numpy(),
            "estimate": chosen["estimate"].to_numpy(),
            "name": data["name"][highlighted].astype(str).to_numpy(),
            "group": chosen["group"].to_numpy(),
        }
    )
    widths = np.array([6.6 * len(t) + 10 for t in labels["name"]], dtype=float)
    # names sit left of their point (the highest estimates are at the right edge) unless there
    # is no room on the left
    left_room = px(labels["position"]) - 8 - widths >= 0
    start = np.where(left_room, px(labels["position"]) - 8 - widths, px(labels["position"]) + 8)
    labels["point_px"] = py(labels["estimate"])
    labels["label_px"] = place_labels(start, labels["point_px"], widths, height=height)
    labels["label_y"] = y0 + (height - labels["label_px"]) / height * (y1 - y0)
    labels["side"] = np.where(left_room, "left", "right")

    target = (
        alt.Chart(pd.DataFrame({"estimate": [1.0]}))
        .mark_rule(color=INK, strokeWidth=1.2)
        .encode(y=y)
    )
    target_text = (
        alt.Chart(pd.DataFrame({"position": [x_max], "estimate": [1.0], "t": ["1 = as expected"]}))
        .mark_text(align="left", baseline="middle", dx=6, color=INK, fontSize=11)
        .encode(x=x, y=y, text="t:N")
    )
    layers: list[alt.Chart] = [target, target_text]
    for g in reversed(group_order(set(groups))):  # highlighted units last, on top
        colour, shape, size, _ = style(g)
        part = points[points["group"] == g]
        quiet = g not in ("Bright spot", "Candidate")
        layers.append(
            alt.Chart(part)
            .mark_rule(color=QUIET if quiet else colour, strokeWidth=thick, aria=False)
            .encode(x=x, y=alt.Y("lower:Q", scale=y_scale), y2="upper:Q")
        )
        layers.append(
            alt.Chart(part[["position", "estimate"]])
            .mark_point(
                shape=shape,
                size=16 if quiet else size,
                color=colour,
                filled=True,
                opacity=1,
                aria=False,
            )
            .encode(x=x, y=y)
        )
    layers += name_layers(labels, x, y_scale, "position", "estimate")
    chart = alt.layer(*layers).properties(width=width, height=height, description=description)
    return base_config(chart.resolve_scale(color="independent"))
