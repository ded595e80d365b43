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

Chance, in words (``finalize``): "beyond chance" is a Benjamini-Hochberg q <= 0.05 over every
test of the brief at once (every metric, every level, every unit the brief could show), so a
brief as a whole keeps its false discoveries near 5% however many people it looks at; "likely"
(shown as "worth a look") is a one-sided p <= 0.025, which about 1 in 40 units pass by luck
alone, and says so; else "could be chance". A unit is shown only when it is better than its
reference on every figure shown (``Figure``), and only "beyond chance" or "likely": the rest
above their reference are counted, not named. The peer median is over units of the same kind
(reps or teams) in the whole company with the minimum volume in the window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import special, stats

from brightspots import deviance
from brightspots.brief.model import Chance, Deviation, Figure, Point, Unit
from brightspots.deviance.constants import Q_THRESHOLD, Z95
from brightspots.report import fmt

P_DECIMALS = 4
SPARK_WEEKS = 4  # win-rate sparkline: O/E over the 4 weeks ending each week
LIKELY_P = float(special.ndtr(-Z95))  # one-sided 0.025: "worth a look"
KEEP_P = 0.05  # rows kept until the brief-wide correction decides


@dataclass(frozen=True)
class Family:
    """One metric at one level: the rows that may be shown (in scope, better than their
    references, one-sided p <= ``KEEP_P``), how many more in scope were better but with a
    larger p, and the p-values of every unit tested (for the brief-wide correction)."""

    metric: str
    rows: list[Deviation]
    other: int
    p_values: np.ndarray

    @classmethod
    def none(cls, metric: str) -> Family:
        return cls(metric, [], 0, np.array([]))


def cutoff(p_values: np.ndarray, alpha: float = Q_THRESHOLD) -> float:
    """The Benjamini-Hochberg cut over every test of a brief: p-values at or under it have
    q <= ``alpha`` (0 when none has)."""
    p = np.sort(np.asarray(p_values, dtype=float)[np.isfinite(p_values)])
    if not len(p):
        return 0.0
    ok = p <= alpha * np.arange(1, len(p) + 1) / len(p)
    return float(p[np.flatnonzero(ok)[-1]]) if ok.any() else 0.0


def chance(p: float, cut: float) -> Chance:
    """'beyond chance': BH q <= 0.05 over every test of the brief (every metric and level);
    'likely' (shown as "worth a look"): one-sided p <= 0.025, which about 1 in 40 units pass
    by luck alone; else 'could be chance'."""
    if math.isfinite(p) and p <= cut:
        return "beyond chance"
    if math.isfinite(p) and p <= LIKELY_P:
        return "likely"
    return "could be chance"


def finalize(families: list[Family]) -> tuple[list[Deviation], dict[str, int]]:
    """Every family's rows with their chance decided over the whole brief (one BH correction
    across all metrics and levels and every unit the brief could show, so the brief as a whole
    keeps its false discoveries near 5%) and their sentence completed; rows that turn out
    "could be chance" are counted per metric, not shown."""
    tested = [f.p_values for f in families if len(f.p_values)]
    cut = cutoff(np.concatenate(tested)) if tested else 0.0
    rows: list[Deviation] = []
    counted: dict[str, int] = {}
    for f in families:
        for d in f.rows:
            c = chance(d.p_value, cut)
            if c == "could be chance":
                counted[d.metric] = counted.get(d.metric, 0) + 1
                continue
            said = d.sentence.rstrip(".") + "."
            if d.sustained:
                said += " They are a bright spot over the whole analysis too."
            rows.append(replace(d, chance=c, sentence=said))
        if f.other:
            counted[f.metric] = counted.get(f.metric, 0) + f.other
    return rows, counted


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
    assessed: pd.DataFrame, ctx: Context, *, sustained: frozenset[str]
) -> Family:
    """Units in scope above expectation and at least the peer median O/E (the median over the
    units with the minimum volume), with the assessment's skew-aware, overdispersed p-value.
    Rows come without sparklines (``win_spark`` draws one for a row that is shown)."""
    if not len(assessed):
        return Family.none("win_rate")
    measured = assessed[np.isfinite(assessed["q_value"].astype(float))]
    peer_oe = float(measured["oe"].median()) if len(measured) else math.nan
    rows, other = [], 0
    mine = assessed[assessed["unit_id"].isin(ctx.in_scope)]
    for _, r in mine.iterrows():
        e, o = float(r["expected"]), float(r["observed"])
        if not (e > 0 and o > e and math.isfinite(float(r["q_value"]))):
            continue  # below expected, or under the minimum volume (no q-value)
        if not o / e >= peer_oe:
            continue
        p = float(r["p_value"])
        if not p <= KEEP_P:
            other += 1
            continue
        uid = str(r["unit_id"])
        name = ctx.names.get(uid, uid)
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
                peer_median=peer_oe,
                peers=int(len(measured)),
                z=float(r["z_od"]),
                p_value=p,
                chance="could be chance",
                sustained=uid in sustained,
                figures=(Figure(o, e, "expected"), Figure(o / e, peer_oe, "peer_median")),
                sentence=win_sentence(name, int(o), int(r["n"]), e, ctx.window_words),
            )
        )
    tested = measured[measured["unit_id"].isin(ctx.in_scope)]
    return Family("win_rate", rows, other, tested["p_value"].to_numpy(float))


# ------------------------------------------------------------------ buyer impact


def settled(
    starts: pd.Series, as_of: pd.Timestamp | None, impact_window: timedelta, days: int = 7
) -> pd.Series:
    """Whether each period's touches (periods of ``days`` days beginning on ``starts``) have all
    had the full impact window by ``as_of`` (later ones can still draw a response)."""
    if as_of is None:
        return pd.Series(False, index=starts.index)
    ends = pd.to_datetime(starts) + pd.Timedelta(days=days)
    return ends + pd.Timedelta(impact_window) <= pd.Timestamp(as_of)


def impact_totals(
    rows: pd.DataFrame, grain: str, first: date, last: date, ok: pd.Series
) -> pd.DataFrame:
    """Per unit of ``grain``: n settled touches and k with impact over the periods beginning
    ``first``..``last`` (``rows``: the run's effort rows by day or week; ``ok``: ``settled``)."""
    w = rows[(rows["grain"] == grain) & ok.reindex(rows.index, fill_value=False)]
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
) -> Family:
    """Rows for units in scope whose settled buyer-impact rate beat their previous 13 weeks
    by more than the company's change (``company``: its rate before and now; None: no
    company change to net out) and the peer median when ``peers_of_kind``."""
    t = now.merge(before, on="unit_id", how="inner", suffixes=("", "_0"))
    t = t[(t["n"] >= min_touches) & (t["n_0"] >= min_touches)].reset_index(drop=True)
    if not len(t):
        return Family.none("buyer_impact")
    rate = t["k"] / t["n"]
    eligible_now = now[now["n"] >= min_touches]
    peers = eligible_now["k"] / eligible_now["n"]
    peer_median = float(peers.median()) if peers_of_kind and len(peers) else math.nan
    shift = company[1] - company[0] if company is not None else 0.0
    z = two_proportion_z(t["k"], t["n"], t["k_0"], t["n_0"], deff, shift)
    p = special.ndtr(-z)
    rows, other = [], 0
    for i in range(len(t)):
        uid = str(t.at[i, "unit_id"])
        r1, r0 = float(rate.iloc[i]), float(t.at[i, "k_0"] / t.at[i, "n_0"])
        if uid not in ctx.in_scope or not (r1 > r0 and r1 - r0 > shift):
            continue
        figures = [Figure(r1, r0, "previous")]
        if peers_of_kind:
            figures.append(Figure(r1, peer_median, "peer_median"))
        if not all(f.at_or_better for f in figures):
            continue
        if not p[i] <= KEEP_P:
            other += 1
            continue
        name = ctx.names.get(uid, uid)
        words = (
            f"{possessive(name)} touches drew a buyer response {fmt.percent(r1)} of the time over "
            f"{ctx.window_words} ({fmt.integer(t.at[i, 'k'])} of "
            f"{fmt.plural(int(t.at[i, 'n']), 'settled touch', 'settled touches')}), up from "
            f"{fmt.percent(r0)} in the 13 weeks before"
        )
        if peers_of_kind:
            words += f"; the median {ctx.unit} was at {fmt.percent(peer_median)}"
        if company is not None:
            words += (
                f", and the company as a whole went from {fmt.percent(company[0])} to "
                f"{fmt.percent(company[1])}"
            )

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
                chance="could be chance",
                sustained=False,
                figures=tuple(figures),
                sentence=words,
                spark=sparks.get(uid, ()),
            )
        )
    mine = t["unit_id"].astype(str).isin(ctx.in_scope).to_numpy()
    return Family("buyer_impact", rows, other, np.asarray(p, dtype=float)[mine])


def weekly_values(
    weeks: pd.DataFrame, grain: str, column: str, mondays: list[date], ok: pd.Series
) -> dict[str, tuple[Point, ...]]:
    """unit_id -> one Point per Monday: ``column`` (``impact_rate`` counts settled weeks only,
    ``ok``: ``settled``)."""
    w = weeks[weeks["grain"] == grain]
    if column == "impact_rate":
        w = w[ok.reindex(w.index, fill_value=False)]
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
) -> Family:
    """Rows for the candidate units in ``values`` (unit_id, window, hours and, optionally,
    account_id: every buyer event of the window and the previous 13 weeks, see
    ``source.Responses``). ``n_tested``: units in scope the correction is over (at least the
    candidates: the others were not better, so their p-values would be large). ``company``: the
    company's median before and now; each window's hours are divided by it before the test, so
    a change everyone shares is not counted.

    Events on one account share answers (one touch often answers several of them), so the test
    compares accounts, not events: each account's median time in each window."""
    scale0, scale1 = company if company is not None else (1.0, 1.0)
    tested = []
    for uid, g in values.groupby("unit_id", sort=True):
        now = g.loc[g["window"] == "now", "hours"].to_numpy(float)
        before = g.loc[g["window"] == "before", "hours"].to_numpy(float)
        if not len(now) or not len(before):
            continue
        if "account_id" in g.columns:
            by = g.groupby(["window", "account_id"], sort=True)["hours"].median()
            a_now = by.get("now", pd.Series(dtype=float)).to_numpy(float)
            a_before = by.get("before", pd.Series(dtype=float)).to_numpy(float)
        else:
            a_now, a_before = now, before
        p = float(stats.mannwhitneyu(a_now / scale1, a_before / scale0, alternative="less").pvalue)
        tested.append((str(uid), now, before, p))
    if not tested:
        return Family.none("response_hours")
    ps = np.array([t[3] for t in tested] + [1.0] * max(n_tested - len(tested), 0))
    rows, other = [], 0
    for uid, now, before, p in tested:
        m1, m0 = float(np.median(now)), float(np.median(before))
        z = float(special.ndtri(1 - p)) if p > 0 else math.inf
        if not p <= KEEP_P:
            other += 1
            continue
        figures = [Figure(m1, m0, "previous", higher_is_better=False)]
        if peers_of_kind:
            figures.append(Figure(m1, peer_median, "peer_median", higher_is_better=False))
        name = ctx.names.get(uid, uid)
        words = (
            f"{name} answered buyers in a median {fmt.hours(m1)} over {ctx.window_words} "
            f"({fmt.plural(len(now), 'buyer message')}), down from {fmt.hours(m0)} in the 13 "
            "weeks before"
        )
        if peers_of_kind:
            words += f"; the median {ctx.unit} took {fmt.hours(peer_median)}"
        if company is not None:
            words += (
                f", and the company as a whole went from {fmt.hours(company[0])} to "
                f"{fmt.hours(company[1])}"
            )

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
                chance="could be chance",
                sustained=False,
                figures=tuple(figures),
                sentence=words,
                spark=sparks.get(uid, ()),
            )
        )
    return Family("response_hours", rows, other, ps)


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"
