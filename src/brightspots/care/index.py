"""The care index per rep, leader, team and the company, its trend by quarter, and the
reliability of the care items: pandas over the per-respondent sums ``responses`` brings back.

Every row leaves through :func:`protect`, which runs ``disclosure.disclose`` over the linked
tables: a rep's window row and its quarters, the reps of a team and the teams (and reps of no
team) of the company (the window and each quarter), the leaders and the leaders' mean (their
reference), and a leader and the same person's row as a rep (the same answers). A cell hidden in
one of them is hidden in all, and cells hidden only to protect another count as fewer than k
respondents wherever they are a part, so no hidden figure can be recovered by subtraction across
the tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from brightspots.care.config import CareSettings
from brightspots.care.disclosure import complementary_reason, disclose
from brightspots.care.responses import COMPANY, SOURCES, unit_respondents
from brightspots.care.stats import cluster_means, reliability, shrink_to_groups, t_interval
from brightspots.deviance import Z95, assess_means
from brightspots.deviance.means import floor_se

#: ``care_index`` columns, in order; later work only appends
INDEX_COLUMNS = (
    "level",
    "unit_id",
    "name",
    "team_id",
    "source",
    "window_start",
    "window_end",
    "suppressed",
    "responses",
    "respondents",
    "mean",
    "se",
    "lower_95",
    "upper_95",
    "prior_mean",
    "shrunk_mean",
    "shrunk_lower_95",
    "shrunk_upper_95",
    "reliability",
    "reference",
    "z_od",
    "p_value",
    "q_value",
    "p_above_reference",
    "sustained",
    "adj_lower_998",
    "adj_upper_998",
    "label",
    "reason",
)
#: figures of a care_index row hidden when it is suppressed
INDEX_VALUES = tuple(INDEX_COLUMNS[INDEX_COLUMNS.index("mean") : INDEX_COLUMNS.index("reason")])
#: figures of a rep row derived from its team's mean (blanked when the team is hidden)
TEAM_DERIVED = ("prior_mean", "shrunk_mean", "shrunk_lower_95", "shrunk_upper_95", "reliability")
#: level notes derived from the answers under the level's reference (dropped when it is hidden)
REFERENCE_NOTES = (
    "mu",
    "phi",
    "tau2",
    "rankability",
    "shrink_tau2",
    "n_bright_spots",
    "n_candidates",
    "tau2_zero_note",
    "shrink_note",
)
#: ``care_trend`` columns
TREND_COLUMNS = (
    "level",
    "unit_id",
    "source",
    "period",
    "suppressed",
    "responses",
    "respondents",
    "mean",
    "lower_95",
    "upper_95",
)
TREND_VALUES = ("mean", "lower_95", "upper_95")
#: ``care_reliability`` columns
RELIABILITY_COLUMNS = (
    "source",
    "survey",
    "items",
    "n_items",
    "submissions",
    "alpha",
    "min_item_rest",
    "note",
    "respondents",
    "suppressed",
    "reason",
)
RELIABILITY_VALUES = ("alpha", "min_item_rest")
#: the stored type of each column (empty tables keep them, so later runs append cleanly)
DTYPES = {
    "level": "string",
    "unit_id": "string",
    "name": "string",
    "team_id": "string",
    "source": "string",
    "period": "string",
    "survey": "string",
    "items": "string",
    "note": "string",
    "label": "string",
    "reason": "string",
    "window_start": "datetime64[us]",
    "window_end": "datetime64[us]",
    "suppressed": "bool",
    "sustained": "boolean",
    "responses": "Int64",
    "respondents": "Int64",
    "n_items": "int64",
    "submissions": "int64",
}
LEVEL_ORDER = {"rep": 0, "leader": 1, "team": 2, "company": 3}
RATERS = {"customer": "customers", "employee": "employees"}
#: the pseudo-unit of all leaders, the leaders' reference (kept out of the stored table)
LEADERS = "leaders"
WINDOW = "window"
NO_TEAM = "(no team)"


def empty(columns: tuple[str, ...]) -> pd.DataFrame:
    """A table with no rows and its columns in their stored types."""
    return typed(pd.DataFrame({c: pd.Series([], dtype=object) for c in columns}), columns)


def typed(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with exactly ``columns`` in their stored types (floats unless listed; text as
    pandas strings)."""
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        kind = DTYPES.get(c, "float64")
        col = frame[c] if c in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        if kind == "string":
            # text as pandas strings: stored as VARCHAR even when empty or all NULL
            out[c] = col.astype(object).where(col.notna(), None).astype("string")
        elif kind.startswith("datetime"):
            out[c] = pd.to_datetime(col).astype(kind)
        else:
            out[c] = col.astype(kind)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Names:
    """Display names and teams: rep id -> name, team id -> name, rep id -> team id."""

    reps: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    rep_team: dict[str, str] = field(default_factory=dict)


def units(sums: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per unit (``keys``): mean, se, df and clusters (``cluster_means``), respondents counted
    by wave, responses and the odd- and even-month means."""
    if sums.empty:
        return pd.DataFrame(
            columns=[*keys, "mean", "se", "df", "clusters", "respondents", "responses"]
            + ["mean_odd", "mean_even"]
        )
    means = cluster_means(sums, keys, sum_y="sum_x", n="n")
    means = means.rename(columns={"respondents": "clusters"}).drop(columns=["answers"])
    return means.merge(unit_respondents(sums, keys), on=keys, how="left")


def with_leaders(sums: pd.DataFrame) -> pd.DataFrame:
    """``sums`` plus the leaders' pseudo-unit: every leader answer, per respondent key (the
    leaders' reference; it is never stored)."""
    lead = sums[sums["level"] == "leader"]
    if lead.empty:
        return sums
    keys = ["source", "respondent", "anonymous", "wave"]
    cols = ["n", "sum_x", "n_odd", "sum_odd", "n_even", "sum_even", "submissions"]
    pooled = lead.groupby(keys, sort=True, dropna=False)[cols].sum().reset_index()
    pooled = pooled.assign(level=LEADERS, unit_id=LEADERS)
    return pd.concat([sums, pooled[list(sums.columns)]], ignore_index=True)


def index_frame(
    sums: pd.DataFrame,
    *,
    names: Names,
    settings: CareSettings,
    window_start: pd.Timestamp | None,
    window_end: pd.Timestamp,
) -> tuple[pd.DataFrame, dict]:
    """``care_index`` before disclosure (with the leaders' pseudo-row) and the notes per level
    and source: the funnel summary of ``assess_means`` and the shrinkage toward groups."""
    u = units(with_leaders(sums), ["level", "unit_id", "source"])
    parts, notes = [], {}
    for source in SOURCES:
        of = u[u["source"] == source]
        company = of[of["level"] == "company"]
        if company.empty:
            continue
        mu = float(company["mean"].iloc[0])
        parts.append(_reference_row(company, source, "the company's"))
        leaders = of[of["level"] == LEADERS]
        if not leaders.empty:
            parts.append(_reference_row(leaders, source, "the leaders'"))
        groups = {
            "rep": (mu, "the company's", _team_means(of, mu)),
            "team": (mu, "the company's", None),
            "leader": (
                float(leaders["mean"].iloc[0]) if not leaders.empty else math.nan,
                "the leaders'",
                None,
            ),
        }
        for level, (ref, ref_name, team_means) in groups.items():
            rows = of[of["level"] == level].reset_index(drop=True)
            if rows.empty:
                continue
            assessed, summary = _assess(
                rows, level, source, ref, ref_name, team_means, names, settings
            )
            parts.append(assessed)
            notes[f"{level}_{source}"] = summary
    if not parts:
        return empty(INDEX_COLUMNS), notes
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    frame["window_start"] = pd.Timestamp(window_start) if window_start is not None else pd.NaT
    frame["window_end"] = pd.Timestamp(window_end)
    return frame, notes


def _team_means(of: pd.DataFrame, mu: float) -> dict[str, float]:
    teams = of[of["level"] == "team"]
    means = dict(zip(teams["unit_id"], teams["mean"].astype(float), strict=True))
    return {**means, NO_TEAM: mu}


def _reference_row(row: pd.DataFrame, source: str, whose: str) -> pd.DataFrame:
    """The company (or the leaders' pseudo-unit): the reference, never assessed."""
    r = row.iloc[0]
    se, _ = floor_se(np.array([r["se"]], dtype=float), np.array([r["clusters"]], dtype=float))
    lower, upper = t_interval(r["mean"], se[0], r["df"])
    rater = RATERS[source]
    ci = (
        f"95% CI {100 * float(lower):.0f} to {100 * float(upper):.0f}, "
        if np.isfinite(lower)
        else ""
    )
    n = int(r["respondents"])
    reason = (
        f"{rater[:1].upper()}{rater[1:]} rate {whose} care {100 * float(r['mean']):.0f} of 100 "
        f"({ci}{n:,} respondent{'s' if n != 1 else ''}): the reference the others are compared "
        "with."
    )
    return pd.DataFrame(
        {
            "level": [r["level"]],
            "unit_id": [r["unit_id"]],
            "name": ["Company" if r["level"] == "company" else "All leaders"],
            "team_id": [None],
            "source": [source],
            "responses": [r["responses"]],
            "respondents": [r["respondents"]],
            "mean": [r["mean"]],
            "se": [se[0]],
            "lower_95": [float(lower)],
            "upper_95": [float(upper)],
            "reference": [r["mean"]],
            "label": [""],
            "reason": [reason],
        }
    )


def _assess(
    rows: pd.DataFrame,
    level: str,
    source: str,
    reference: float,
    reference_name: str,
    team_means: dict[str, float] | None,
    names: Names,
    settings: CareSettings,
) -> tuple[pd.DataFrame, dict]:
    """One level and source: the funnel on means, then shrinkage toward each unit's group."""
    assessed, summary = assess_means(
        rows,
        reference=reference,
        min_volume=settings.min_volume,
        noun=level,
        phi_method=settings.phi_method,
        rater=RATERS[source],
        reference_name=reference_name,
    )
    if level == "team":
        team = assessed["unit_id"].astype(object)
        name = team.map(names.teams).fillna(team)
    else:
        team = assessed["unit_id"].map(names.rep_team).astype(object)
        name = assessed["unit_id"].map(names.reps).fillna(assessed["unit_id"])
    if team_means is not None:  # reps toward their team's own mean
        group = team.where(team.isin(list(team_means)), NO_TEAM).to_numpy(dtype=object)
        prior = np.array([team_means[g] for g in group], dtype=float)
        words = "their team's mean"
    else:  # teams toward the company, leaders toward all leaders
        group = np.full(len(assessed), "all", dtype=object)
        prior = np.full(len(assessed), reference)
        words = f"{reference_name} mean"
    s = assessed["s"].to_numpy(float)
    eligible = assessed["respondents"].to_numpy(float) >= settings.min_respondents
    shrunk = shrink_to_groups(
        assessed["mean"].to_numpy(float),
        s,
        group,
        prior,
        phi_method=settings.phi_method,
        eligible=eligible,
    )
    out = assessed.assign(
        level=level,
        source=source,
        name=name.to_numpy(dtype=object),
        team_id=team.where(team.notna(), None).to_numpy(dtype=object),
        se=s,
        prior_mean=np.where(np.isfinite(shrunk.theta), prior, np.nan),
        shrunk_mean=shrunk.theta,
        shrunk_lower_95=np.clip(shrunk.theta - Z95 * shrunk.post_sd, 0.0, 1.0),
        shrunk_upper_95=np.clip(shrunk.theta + Z95 * shrunk.post_sd, 0.0, 1.0),
        reliability=shrunk.weight,
    )
    summary = {
        # sigma_r2 (a median over every unit, hidden ones too) is not kept
        **{k: _plain(v) for k, v in summary.items() if k != "sigma_r2"},
        "shrink_tau2": shrunk.tau2,
        "shrink_toward": words,
        "shrink_note": (
            None
            if shrunk.tau2 > 0
            else f"The {level}s' care differs no more than chance within each group: every "
            f"{level} is pulled to {words} (reliability 0)."
        ),
    }
    return out, summary


def trend_frame(sums: pd.DataFrame) -> pd.DataFrame:
    """``care_trend`` before disclosure: per level, unit, source and quarter the mean and its
    95% interval (t quantiles, the se floored as for the index)."""
    u = units(sums, ["level", "unit_id", "source", "period"])
    if u.empty:
        return empty(TREND_COLUMNS)
    parts = []
    for _, rows in u.groupby(["level", "source"], sort=True):
        se, _ = floor_se(rows["se"].to_numpy(float), rows["clusters"].to_numpy(float))
        lower, upper = t_interval(rows["mean"].to_numpy(float), se, rows["df"].to_numpy(float))
        parts.append(rows.assign(lower_95=lower, upper_95=upper))
    return pd.concat(parts, ignore_index=True)


def reliability_frame(items: pd.DataFrame, matrix_rows: pd.DataFrame) -> pd.DataFrame:
    """``care_reliability`` before disclosure: per source and survey, Cronbach's alpha of its
    care items over named submissions (``stats.reliability`` says why when there is none)."""
    rows = []
    for (source, survey), its in items.groupby(["source", "survey"], sort=True):
        questions = sorted(its["question_id"])
        has_ids = bool((its["named"] > 0).any())
        sub = matrix_rows[(matrix_rows["source"] == source) & (matrix_rows["survey"] == survey)]
        if len(questions) >= 2 and not sub.empty:
            wide = sub.pivot_table(
                index=["respondent", "submitted_at"],
                columns="question_id",
                values="x",
                aggfunc="mean",
            ).reindex(columns=questions)
            matrix = wide.to_numpy(float)
        else:
            matrix = np.empty((0, len(questions)))
        r = reliability(matrix, questions, survey=str(survey), has_ids=has_ids)
        rows.append(
            {
                "source": source,
                "survey": r.survey,
                "items": r.items,
                "n_items": r.n_items,
                "submissions": r.submissions,
                "alpha": r.alpha,
                "min_item_rest": r.min_item_rest,
                "note": r.note,
                # the survey's respondent keys in the window (alpha reads the named ones)
                "respondents": int(its["respondents"].max()),
            }
        )
    if not rows:
        return empty(RELIABILITY_COLUMNS)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- disclosure


def protect(
    index: pd.DataFrame, trend: pd.DataFrame, reliab: pd.DataFrame, *, k: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables as they may be stored: through ``disclose``, over the linked tables.

    The index and the trend are one frame of cells (the window is one more period). Rules, run
    until nothing changes, each a ``disclose`` with complementary suppression:

    * reps within their team and teams within the company (with the reps of no team beside
      them), per source and period;
    * each unit's quarters within its window;
    * leaders within all leaders (their reference), per source;
    * a leader and the same person's employee row as a rep are the same answers: one hidden
      hides the other; a hidden reference (the company, all leaders) hides the rows read
      against it.

    A cell hidden by another rule counts as fewer than k respondents where it is a part (its
    own total could be recovered otherwise). The last ``disclose`` blanks the hidden figures and
    says why; the leaders' pseudo-row is dropped. A shown rep of a hidden team loses the
    figures of its shrinkage toward that team's mean (``TEAM_DERIVED``).
    """
    cells = pd.concat(
        [index.assign(period=WINDOW), trend.assign(team_id=_trend_teams(trend, index))],
        ignore_index=True,
    )
    if cells.empty:
        return empty(INDEX_COLUMNS), empty(TREND_COLUMNS), _reliability_out(reliab, k)
    for column in INDEX_VALUES:  # a figure no row has is an empty column
        if column not in cells.columns:
            cells[column] = np.nan
    level, source = cells["level"].to_numpy(object), cells["source"].to_numpy(object)
    period = cells["period"].to_numpy(object)
    cells["node"] = cells["level"].astype(str) + "|" + cells["unit_id"].astype(str)
    team_node = "team|" + cells["team_id"].astype(str)
    cells["parent_node"] = np.select(
        [level == "rep", level == "team", level == "leader"],
        [team_node.to_numpy(object), "company|" + COMPANY, f"{LEADERS}|{LEADERS}"],
        default=None,
    ).astype(object)
    # a rep with no team is a part of the company beside the teams (company = teams + them)
    no_team = (level == "rep") & cells["team_id"].isna().to_numpy()
    cells.loc[no_team, "parent_node"] = f"company|{COMPANY}"
    cells["time_parent"] = np.where(period == WINDOW, None, WINDOW).astype(object)
    resp = pd.to_numeric(cells["respondents"]).fillna(0).to_numpy(float)
    window = period == WINDOW
    rules = [
        (np.isin(level, ["rep", "team", "company"]), "parent_node", "node", ["source", "period"]),
        (level != LEADERS, "time_parent", "period", ["level", "unit_id", "source"]),
        (np.isin(level, ["leader", LEADERS]) & window, "parent_node", "node", ["source"]),
    ]
    twins = _twins(cells)
    readers = _readers(level, source, window)

    hidden = resp < k
    why = np.full(len(cells), None, dtype=object)
    while True:
        before = hidden.copy()
        for rows, parent, key, by in rules:
            part = cells[rows].assign(respondents=_counted(resp[rows], hidden[rows], k))
            out = disclose(part, k=k, parent=parent, key=key, by=by, value_cols=())
            _mark(
                hidden,
                why,
                np.flatnonzero(rows),
                out["suppressed"].to_numpy(bool),
                out["reason"].to_numpy(object),
            )
        for a, b in twins:
            if hidden[a] != hidden[b]:
                src, dst = (a, b) if hidden[a] else (b, a)
                hidden[dst], why[dst] = True, complementary_reason(k)
        for ref, dependants in readers:
            if hidden[ref]:
                newly = dependants[~hidden[dependants]]
                hidden[newly], why[newly] = True, complementary_reason(k)
        if (hidden == before).all():
            break
    final = disclose(
        cells.assign(respondents=_counted(resp, hidden, k)),
        k=k,
        parent=None,
        value_cols=INDEX_VALUES,
    )
    reason = final["reason"].astype(object).to_numpy().copy()
    fill = hidden & pd.notna(why)
    reason[fill] = why[fill]
    final["reason"] = reason
    final["respondents"] = pd.Series(
        np.where(hidden, None, resp).astype(object), index=final.index
    ).astype("Int64")
    # a rep is shrunk toward its team's own mean: blank that on the reps of a hidden team
    team_hidden = (level == "team") & window & hidden
    ids = cells["unit_id"].to_numpy(object)
    hidden_teams = set(zip(source[team_hidden], ids[team_hidden], strict=True))
    team_of = cells["team_id"].astype(object).where(cells["team_id"].notna(), None)
    in_hidden = [(s, t) in hidden_teams for s, t in zip(source, team_of, strict=True)]
    of_hidden_team = (level == "rep") & window & np.array(in_hidden, dtype=bool)
    final.loc[final.index[of_hidden_team], list(TEAM_DERIVED)] = np.nan
    final = final[final["level"] != LEADERS]
    index_out = _sorted(typed(final[final["period"] == WINDOW], INDEX_COLUMNS))
    trend_out = _sorted(typed(final[final["period"] != WINDOW], TREND_COLUMNS), "period")
    return index_out, trend_out, _reliability_out(reliab, k)


def protect_notes(notes: dict, index: pd.DataFrame) -> dict:
    """The level notes of ``index_frame`` as they may be stored, given the protected
    ``care_index``: a level whose reference is not shown (reps and teams: the company's row of
    the source; leaders: no shown leader row, which would carry the leaders' mean) keeps none of
    the figures taken from its answers (``REFERENCE_NOTES``)."""
    shown = index[~index["suppressed"].astype(bool)]
    out = {}
    for name, summary in notes.items():
        level, _, source = name.partition("_")
        of = shown[shown["source"] == source]
        visible = (of["level"] == level).any() or (
            level in ("rep", "team") and (of["level"] == "company").any()
        )
        out[name] = (
            dict(summary)
            if visible
            else {k: v for k, v in summary.items() if k not in REFERENCE_NOTES}
        )
    return out


def _reliability_out(reliab: pd.DataFrame, k: int) -> pd.DataFrame:
    if reliab.empty:
        return empty(RELIABILITY_COLUMNS)
    out = disclose(reliab, k=k, parent=None, value_cols=RELIABILITY_VALUES)
    return typed(out, RELIABILITY_COLUMNS)


def _trend_teams(trend: pd.DataFrame, index: pd.DataFrame) -> pd.Series:
    """The team of each trend row (a rep's or leader's team, a team's own id)."""
    if trend.empty:
        return pd.Series([], dtype=object)
    teams = index.drop_duplicates(["level", "unit_id"]).set_index(["level", "unit_id"])["team_id"]
    keys = pd.MultiIndex.from_frame(trend[["level", "unit_id"]])
    got = teams.reindex(keys).to_numpy(dtype=object)
    return pd.Series(got, index=trend.index, dtype=object)


def _counted(resp: np.ndarray, hidden: np.ndarray, k: int) -> np.ndarray:
    """Respondents as a rule sees them: a hidden cell counts as fewer than k."""
    return np.where(hidden, np.minimum(resp, k - 1), resp)


def _mark(
    hidden: np.ndarray, why: np.ndarray, pos: np.ndarray, got: np.ndarray, reasons: np.ndarray
) -> None:
    newly = got & ~hidden[pos]
    hidden[pos[newly]] = True
    first = newly & pd.isna(why[pos])
    why[pos[first]] = reasons[first]


def _twins(cells: pd.DataFrame) -> list[tuple[int, int]]:
    """(rep row, leader row) pairs of one person, source and period."""
    keys = list(
        zip(cells["level"], cells["unit_id"], cells["source"], cells["period"], strict=True)
    )
    at = {key: pos for pos, key in enumerate(keys)}
    pairs = []
    for pos, (level, unit, source, period) in enumerate(keys):
        if level == "leader":
            twin = at.get(("rep", unit, source, period))
            if twin is not None:
                pairs.append((twin, pos))
    return pairs


def _readers(
    level: np.ndarray, source: np.ndarray, window: np.ndarray
) -> list[tuple[int, np.ndarray]]:
    """(reference row, rows whose reference it is): the company of reps and teams, the
    leaders' pseudo-row of leaders (window rows: the trend shows no reference)."""
    out = []
    for ref_level, readers in (("company", ["rep", "team"]), (LEADERS, ["leader"])):
        for s in SOURCES:
            ref = np.flatnonzero((level == ref_level) & (source == s) & window)
            if ref.size:
                dependants = np.flatnonzero(np.isin(level, readers) & (source == s) & window)
                out.append((int(ref[0]), dependants))
    return out


def _sorted(frame: pd.DataFrame, *extra: str) -> pd.DataFrame:
    order = frame["level"].map(LEVEL_ORDER)
    keys = frame.assign(_order=order).sort_values(
        ["_order", "source", "unit_id", *extra], kind="mergesort"
    )
    return keys.drop(columns="_order").reset_index(drop=True)


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v
