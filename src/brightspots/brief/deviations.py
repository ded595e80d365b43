"""Section 2, positive deviations: who beat their expected value over the assessment window.

Three metrics, each with the comparison the issue asks for:

* **Win rate against the case-mix expectation.** Observed wins against the sum of the run's
  model probabilities of the deals closed in the window, per rep and per team, assessed like the
  main analysis (``deviance.assess_outcome``: exact limits, overdispersion estimated over every
  unit of the company with the minimum volume, BH q-values). "Sustained" marks a unit the run
  labels a bright spot (above expectation in both halves of its own window).
* **Buyer-impact rate against the unit's own previous 13 weeks and the peer median.** Touches
  with buyer impact over settled touches (touches of weeks that ended at least the impact window
  before the data's as-of time: later ones can still gain a response). A change the whole
  company shares (a season, a new tool) is no deviation: a rep or team must improve by more than
  the company did (difference in differences), tested one-sided with a two-proportion z whose
  variance is inflated by the run's design effect (touches cluster in accounts); the company's
  own change, over far more touches, is taken as known.
* **Response time against the unit's own previous 13 weeks and the peer median.** Median hours
  from a buyer event to the responsible rep's next touch. Again net of the company's change:
  each window's hours are divided by the company's median of that window, and a one-sided
  Mann-Whitney test asks whether the unit's scaled times got shorter.

Chance, in words: "beyond chance" is the label rule's statistical bar (z >= 3.09, or BH q <= 0.05
over the units tested on that metric at that level), "likely" z >= 1.96 (one-sided p <= 0.025),
else "could be chance". A unit is shown only when it is better than its reference on every
figure shown (``Figure``), and only "beyond chance" or "likely": the rest above their reference
are counted, not named. The peer median is over units of the same kind (reps or teams) in the
whole company with the minimum volume in the window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import special, stats

from brightspots import deviance
from brightspots.brief.model import Chance, Deviation, Figure, Point, Unit
from brightspots.deviance.constants import Q_THRESHOLD, Z95, Z998
from brightspots.report import fmt

SHOWN: tuple[Chance, ...] = ("beyond chance", "likely")
P_DECIMALS = 4
SPARK_WEEKS = 4  # win-rate sparkline: O/E over the 4 weeks ending each week


def chance(z: float, q: float) -> Chance:
    if (math.isfinite(z) and z >= Z998) or (math.isfinite(q) and q <= Q_THRESHOLD):
        return "beyond chance"
    if math.isfinite(z) and z >= Z95:
        return "likely"
    return "could be chance"


def _chance_words(c: Chance) -> str:
    return {
        "beyond chance": "beyond what chance gives",
        "likely": "probably more than chance",
        "could be chance": "within what chance gives",
    }[c]


@dataclass(frozen=True)
class Context:
    """What every deviation row needs to be named and placed."""

    names: Mapping[str, str]  # unit_id -> name
    teams: Mapping[str, str]  # rep_id -> team_id (teams: itself)
    in_scope: frozenset[str]  # unit ids the brief may show
    window_words: str
    unit: Unit


# ------------------------------------------------------------------ win rate


def win_units(deals: pd.DataFrame, unit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per unit the columns ``deviance.assess_outcome`` takes for win rate, and the binned
    probabilities for exact limits. ``deals``: deal_expectations rows (``unit``, y, p_hat,
    closed_local)."""
    d = deals[deals[unit].notna()].copy()
    p = d["p_hat"].astype(float)
    y = d["y"].astype(float)
    odd = pd.to_datetime(d["closed_local"]).dt.month % 2 == 1
    d = d.assign(
        _p=p,
        _y=y,
        _v=p * (1 - p),
        _t=p * (1 - p) * (1 - 2 * p),
        _yo=y.where(odd, 0.0),
        _po=p.where(odd, 0.0),
        _ye=y.where(~odd, 0.0),
        _pe=p.where(~odd, 0.0),
    )
    g = d.groupby(unit, sort=True)
    units = pd.DataFrame(
        {
            "n": g.size(),
            "observed": g["_y"].sum(),
            "expected": g["_p"].sum(),
            "variance": g["_v"].sum(),
            "third": g["_t"].sum(),
            "observed_odd": g["_yo"].sum(),
            "expected_odd": g["_po"].sum(),
            "observed_even": g["_ye"].sum(),
            "expected_even": g["_pe"].sum(),
        }
    )
    units = units.rename_axis("unit_id").reset_index()
    probs = (
        d.assign(p=d["_p"].round(P_DECIMALS))
        .groupby([unit, "p"], sort=True)
        .size()
        .rename("count")
        .reset_index()
        .rename(columns={unit: "unit_id"})
    )
    return units, probs


def assess_win_rate(
    deals: pd.DataFrame, unit: str, *, min_deals: int, noun: str, phi_method: str
) -> tuple[pd.DataFrame, dict]:
    """The window's win-rate assessment of every unit with a closed deal (empty without any)."""
    units, probs = win_units(deals, unit)
    if not len(units):
        return pd.DataFrame(), {}
    return deviance.assess_outcome(
        units,
        outcome="win_rate",
        min_volume=min_deals,
        noun=noun,
        probs=probs,
        phi_method=phi_method,
    )


def win_sentence(name: str, wins: int, closed: int, expected: float, window: str) -> str:
    return (
        f"{name} won {fmt.integer(wins)} of {fmt.plural(closed, 'closed deal')} over {window}, "
        f"where deals like theirs would bring {fmt.decimal(expected)} wins "
        f"({fmt.ratio(wins / expected)} times the expected)."
    )


def win_spark(deals: pd.DataFrame, unit: str, unit_id: str, weeks: list[date]) -> tuple:
    """O/E over the ``SPARK_WEEKS`` weeks ending each week (None when under one expected win)."""
    d = deals[deals[unit] == unit_id]
    day = pd.to_datetime(d["closed_local"]).dt.normalize()
    out = []
    for monday in weeks:
        end = pd.Timestamp(monday) + pd.Timedelta(days=7)
        start = end - pd.Timedelta(weeks=SPARK_WEEKS)
        hit = d[(day >= start) & (day < end)]
        e = float(hit["p_hat"].sum())
        out.append(Point(monday, float(hit["y"].sum()) / e if e >= 1 else None))
    return tuple(out)


def win_rate_deviations(
    assessed: pd.DataFrame, ctx: Context, *, sustained: frozenset[str], sparks: Mapping
) -> tuple[list[Deviation], int]:
    """Rows for units in scope above expectation, beyond chance or likely; and how many more in
    scope were above expectation within chance (counted, never named)."""
    if not len(assessed):
        return [], 0
    eligible = assessed[assessed["unit_id"].isin(ctx.in_scope)]
    rows, other = [], 0
    for _, r in eligible.sort_values(["z_od", "unit_id"], ascending=[False, True]).iterrows():
        e, o = float(r["expected"]), float(r["observed"])
        if not (e > 0 and o > e and math.isfinite(float(r["q_value"]))):
            continue  # below expected, or under the minimum volume (no q-value)
        c = chance(float(r["z_od"]), float(r["q_value"]))
        if c not in SHOWN:
            other += 1
            continue
        uid = str(r["unit_id"])
        name = ctx.names.get(uid, uid)
        words = win_sentence(name, int(o), int(r["n"]), e, ctx.window_words)
        words += f" That is {_chance_words(c)}"
        words += "; and a bright spot over the whole analysis too." if uid in sustained else "."
        rows.append(
            Deviation(
                unit=ctx.unit,
                unit_id=uid,
                name=name,
                team_id=ctx.teams.get(uid, ""),
                metric="win_rate",
                value=o / e,
                volume=int(r["n"]),
                observed=o,
                expected=e,
                previous=None,
                peer_median=None,
                peers=0,
                z=float(r["z_od"]),
                p_value=float(r["p_value"]),
                chance=c,
                sustained=uid in sustained,
                figures=(Figure(o, e, "expected"),),
                sentence=words,
                spark=sparks.get(uid, ()),
            )
        )
    return rows, other


# ------------------------------------------------------------------ buyer impact


def settled_weeks(weeks: pd.Series, as_of: pd.Timestamp | None, impact_window: timedelta):
    """Whether each week's touches have all had the full impact window by ``as_of``."""
    if as_of is None:
        return pd.Series(False, index=weeks.index)
    ends = pd.to_datetime(weeks) + pd.Timedelta(days=7)
    return ends + pd.Timedelta(impact_window) <= pd.Timestamp(as_of)


def impact_totals(
    weeks: pd.DataFrame, grain: str, first: date, last: date, settled: pd.Series
) -> pd.DataFrame:
    """Per unit of ``grain``: n settled touches and k with impact over weeks starting in
    ``first``..``last`` (``weeks``: the run's weekly effort rows)."""
    w = weeks[(weeks["grain"] == grain) & settled.reindex(weeks.index, fill_value=False)]
    day = pd.to_datetime(w["period"]).dt.date
    w = w[(day >= first) & (day <= last)]
    g = w.groupby("unit_id", sort=True)
    return (
        pd.DataFrame(
            {
                "n": g["touches"].sum().astype(float),
                "k": g["touches_with_impact"].sum().astype(float),
            }
        )
        .rename_axis("unit_id")
        .reset_index()
    )


def two_proportion_z(k1, n1, k0, n0, deff: float, shift: float = 0.0) -> np.ndarray:
    """One-sided z for rate 1 above rate 0 by more than ``shift``, the variance inflated by
    ``deff``."""
    k1, n1, k0, n0 = (np.asarray(x, dtype=float) for x in (k1, n1, k0, n0))
    pooled = (k1 + k0) / (n1 + n0)
    se = np.sqrt(max(deff, 1.0) * pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    with np.errstate(all="ignore"):
        return np.where(se > 0, (k1 / n1 - k0 / n0 - shift) / se, np.nan)


def _pct(x: float) -> str:
    return fmt.percent(x)


def impact_deviations(
    now: pd.DataFrame,
    before: pd.DataFrame,
    ctx: Context,
    *,
    deff: float,
    min_touches: int,
    sparks: Mapping,
    peers_of_kind: bool = True,
    company: tuple[float, float] | None = None,
) -> tuple[list[Deviation], int]:
    """Rows for units in scope whose settled buyer-impact rate beat their previous 13 weeks
    by more than the company's change (``company``: its rate before and now; None: no
    company change to net out) and the peer median when ``peers_of_kind``, beyond chance or
    likely."""
    t = now.merge(before, on="unit_id", how="inner", suffixes=("", "_0"))
    t = t[(t["n"] >= min_touches) & (t["n_0"] >= min_touches)].reset_index(drop=True)
    if not len(t):
        return [], 0
    rate = t["k"] / t["n"]
    eligible_now = now[now["n"] >= min_touches]
    peers = eligible_now["k"] / eligible_now["n"]
    peer_median = float(peers.median()) if peers_of_kind and len(peers) else math.nan
    shift = company[1] - company[0] if company is not None else 0.0
    z = two_proportion_z(t["k"], t["n"], t["k_0"], t["n_0"], deff, shift)
    p = special.ndtr(-z)
    q = deviance.bh(p)
    rows, other = [], 0
    order = np.argsort(-np.nan_to_num(z, nan=-np.inf), kind="stable")
    for i in order:
        uid = str(t.at[i, "unit_id"])
        r1, r0 = float(rate.iloc[i]), float(t.at[i, "k_0"] / t.at[i, "n_0"])
        if uid not in ctx.in_scope or not (r1 > r0 and r1 - r0 > shift):
            continue
        figures = [Figure(r1, r0, "previous")]
        if peers_of_kind:
            figures.append(Figure(r1, peer_median, "peer_median"))
        if not all(f.at_or_better for f in figures):
            continue
        c = chance(float(z[i]), float(q[i]))
        if c not in SHOWN:
            other += 1
            continue
        name = ctx.names.get(uid, uid)
        words = (
            f"{_possessive(name)} touches drew a buyer response {_pct(r1)} of the time over "
            f"{ctx.window_words} ({fmt.integer(t.at[i, 'k'])} of "
            f"{fmt.plural(int(t.at[i, 'n']), 'settled touch', 'settled touches')}), up from "
            f"{_pct(r0)} in the 13 weeks before"
        )
        if peers_of_kind:
            words += f"; the median {ctx.unit} was at {_pct(peer_median)}"
        if company is not None:
            words += (
                f", and the company as a whole went from {_pct(company[0])} to {_pct(company[1])}"
            )
        words += f". That is {_chance_words(c)}."
        rows.append(
            Deviation(
                unit=ctx.unit,
                unit_id=uid,
                name=name,
                team_id=ctx.teams.get(uid, ""),
                metric="buyer_impact",
                value=r1,
                volume=int(t.at[i, "n"]),
                observed=float(t.at[i, "k"]),
                expected=None,
                previous=r0,
                peer_median=peer_median if peers_of_kind else None,
                peers=int(len(peers)) if peers_of_kind else 0,
                z=float(z[i]),
                p_value=float(p[i]),
                chance=c,
                sustained=False,
                figures=tuple(figures),
                sentence=words,
                spark=sparks.get(uid, ()),
            )
        )
    return rows, other


def weekly_values(
    weeks: pd.DataFrame, grain: str, column: str, mondays: list[date], settled: pd.Series
) -> dict[str, tuple[Point, ...]]:
    """unit_id -> one Point per Monday: ``column`` (``impact_rate`` counts settled weeks only)."""
    w = weeks[weeks["grain"] == grain]
    if column == "impact_rate":
        w = w[settled.reindex(w.index, fill_value=False)]
    out: dict[str, tuple[Point, ...]] = {}
    day = pd.to_datetime(w["period"]).dt.date
    for uid, g in w.assign(_day=day).groupby("unit_id", sort=True):
        by = dict(zip(g["_day"], g[column], strict=True))
        out[str(uid)] = tuple(
            Point(m, float(by[m]) if m in by and pd.notna(by[m]) else None) for m in mondays
        )
    return out


# ------------------------------------------------------------------ response time


def response_candidates(
    summary: pd.DataFrame,
    *,
    min_responses: int,
    in_scope: frozenset[str],
    peers_of_kind: bool,
    company: tuple[float, float] | None = None,
) -> tuple[list[str], float, int]:
    """Units in scope whose median response time over the window is shorter than over the
    previous 13 weeks, by a larger factor than the company's (``company``: its median before
    and now), and at most the peer median (both windows with ``min_responses``); the peer
    median and how many units it is over. ``summary``: unit_id, window ("now"/"before"), n,
    median."""
    factor = company[1] / company[0] if company is not None and company[0] > 0 else 1.0
    now = summary[summary["window"] == "now"].set_index("unit_id")
    before = summary[summary["window"] == "before"].set_index("unit_id")
    eligible = now[now["n"] >= min_responses]
    peer = float(eligible["median"].median()) if peers_of_kind and len(eligible) else math.nan
    out = []
    for uid, r in eligible.iterrows():
        if uid not in in_scope or uid not in before.index:
            continue
        b = before.loc[uid]
        if b["n"] < min_responses or not r["median"] < min(b["median"], b["median"] * factor):
            continue
        if peers_of_kind and not r["median"] <= peer:
            continue
        out.append(str(uid))
    return sorted(out), peer, int(len(eligible))


def hours(h: float) -> str:
    if h < 1:
        return f"{max(1, round(h * 60))} minutes"
    if h < 48:
        return f"{fmt.decimal(h)} hours"
    return f"{fmt.decimal(h / 24)} days"


def response_deviations(
    values: pd.DataFrame,
    ctx: Context,
    *,
    peer_median: float,
    peers: int,
    n_tested: int,
    sparks: Mapping,
    peers_of_kind: bool = True,
    company: tuple[float, float] | None = None,
) -> tuple[list[Deviation], int]:
    """Rows for the candidate units in ``values`` (unit_id, window, hours: every answered event
    of the window and the previous 13 weeks). ``n_tested``: units the BH correction is over (at
    least the candidates: the others were not better, so their p-values would be large).
    ``company``: the company's median before and now; each window's hours are divided by it
    before the test, so a change everyone shares is not counted."""
    scale0, scale1 = company if company is not None else (1.0, 1.0)
    tested = []
    for uid, g in values.groupby("unit_id", sort=True):
        now = g.loc[g["window"] == "now", "hours"].to_numpy(float)
        before = g.loc[g["window"] == "before", "hours"].to_numpy(float)
        if not len(now) or not len(before):
            continue
        p = float(stats.mannwhitneyu(now / scale1, before / scale0, alternative="less").pvalue)
        tested.append((str(uid), now, before, p))
    if not tested:
        return [], 0
    ps = np.array([t[3] for t in tested] + [1.0] * max(n_tested - len(tested), 0))
    qs = deviance.bh(ps)
    rows, other = [], 0
    for (uid, now, before, p), q in zip(tested, qs, strict=False):
        m1, m0 = float(np.median(now)), float(np.median(before))
        z = float(special.ndtri(1 - p)) if p > 0 else math.inf
        c = chance(z, float(q))
        if c not in SHOWN:
            other += 1
            continue
        figures = [Figure(m1, m0, "previous", higher_is_better=False)]
        if peers_of_kind:
            figures.append(Figure(m1, peer_median, "peer_median", higher_is_better=False))
        name = ctx.names.get(uid, uid)
        words = (
            f"{name} answered buyers in a median {hours(m1)} over {ctx.window_words} "
            f"({fmt.plural(len(now), 'answered buyer event')}), down from {hours(m0)} in the 13 "
            "weeks before"
        )
        if peers_of_kind:
            words += f"; the median {ctx.unit} took {hours(peer_median)}"
        if company is not None:
            words += (
                f", and the company as a whole went from {hours(company[0])} to {hours(company[1])}"
            )
        words += f". That is {_chance_words(c)}."
        rows.append(
            Deviation(
                unit=ctx.unit,
                unit_id=uid,
                name=name,
                team_id=ctx.teams.get(uid, ""),
                metric="response_hours",
                value=m1,
                volume=len(now),
                observed=None,
                expected=None,
                previous=m0,
                peer_median=peer_median if peers_of_kind else None,
                peers=peers if peers_of_kind else 0,
                z=z,
                p_value=p,
                chance=c,
                sustained=False,
                figures=tuple(figures),
                sentence=words,
                spark=sparks.get(uid, ()),
            )
        )
    rows.sort(key=lambda d: (-d.z, d.unit_id))
    return rows, other


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"
