"""The report's care section, and the care figures the web app shows: what customers and
employees say about the care of reps, leaders and teams (``care_index`` and its companions).

Anonymity comes first. The care tables are stored through ``care.disclosure.disclose``: a cell
of fewer than ``[care] min_respondents`` respondents (or one hidden beside it so that it cannot
be worked out by subtraction) has ``suppressed`` set and no figures. Here a suppressed row is
never drawn or listed with a figure (``clean`` blanks its figures again, whatever was stored);
it is only counted ("4 reps not shown: ..."). Nothing on the page comes from a suppressed row
but that count, so two workspaces that differ only in suppressed answers render the same page.

Who is named follows the report's rule: a rep or leader only as a care bright spot or
candidate. The funnel plot draws every shown rep as a point and names only those. Teams are
aggregates of at least ``min_respondents`` people and are listed in a table, alphabetically.

``read`` gathers a run's care tables and notes; ``clean`` checks them (the context calls both);
``care_section`` makes the section. ``cell`` and ``index_text`` format one row for any page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from brightspots.report import charts, fmt, funnel, words
from brightspots.report.tables import ReportError

if TYPE_CHECKING:
    from brightspots.report.context import ReportContext
    from brightspots.workspace import Workspace

#: the run tables of care and the columns the report reads from each
TABLES: dict[str, tuple[str, ...]] = {
    "care_index": (
        "level",
        "unit_id",
        "name",
        "team_id",
        "source",
        "suppressed",
        "respondents",
        "mean",
        "se",
        "lower_95",
        "upper_95",
        "label",
        "reason",
    ),
    "care_trend": (
        "level",
        "unit_id",
        "source",
        "period",
        "suppressed",
        "respondents",
        "mean",
        "lower_95",
        "upper_95",
    ),
    "care_reliability": (
        "source",
        "survey",
        "n_items",
        "submissions",
        "alpha",
        "min_item_rest",
        "note",
    ),
    "care_results": ("outcome", "sentence"),
}
#: figures a suppressed row never carries into a page
FIGURES = ("respondents", "mean", "se", "lower_95", "upper_95", "alpha", "min_item_rest")
TEXT = ("level", "unit_id", "name", "team_id", "source", "period", "label", "reason", "survey",
        "note", "outcome", "sentence")  # fmt: skip
SOURCES = ("customer", "employee")
RATERS = {"customer": "customers", "employee": "employees"}
NOUNS = {"rep": "rep", "leader": "leader", "team": "team"}
LEVEL_ORDER = {"rep": 0, "leader": 1, "team": 2}
LABEL_TEXT = {"bright_spot": "Care bright spot", "candidate": "Care candidate"}
LABEL_MARK = {"bright_spot": "◆", "candidate": "▲"}
K_DEFAULT = 5
MIN_VOLUME_DEFAULT = 10
#: the outcome of care_results read first (the acceptance estimate)
PRIMARY_RESULT = "repeat_12m"


# ----------------------------------------------------------------------------- reading


def read(ws: Workspace, run_id: str, notes: dict | None) -> dict[str, Any]:
    """The context's care fields of run ``run_id``: each care table (None when the workspace
    has none or the run stored no row) and ``care_notes`` (the run's ``diagnostics["care"]``)."""
    out: dict[str, Any] = {}
    for name in TABLES:
        frame = ws.run_results(name, run_id) if ws.has_table(name) else None
        out[name] = frame if frame is not None and len(frame) else None
    out["care_notes"] = notes if isinstance(notes, dict) else None
    return out


def _text(v: Any) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def clean(frame: pd.DataFrame | None, name: str, where: str) -> pd.DataFrame | None:
    """A care table checked for the columns the report reads (``TABLES``), with text as str,
    ``suppressed`` as bool (a missing flag counts as suppressed) and numbers as floats. The
    figures of every suppressed row are blanked. None (or no row) stays None."""
    if frame is None or frame.empty:
        return None
    missing = [c for c in TABLES[name] if c not in frame.columns]
    if missing:
        raise ReportError(f"{name} ({where}): missing column(s) {', '.join(missing)}")
    out = frame.copy()
    for c in TEXT:
        if c in out.columns:
            out[c] = [_text(v) for v in out[c]]
    if "suppressed" in out.columns:
        flags = out["suppressed"].astype(object)
        out["suppressed"] = [True if pd.isna(v) else bool(v) for v in flags]
    else:
        out["suppressed"] = False
    for c in FIGURES:
        if c in out.columns:
            try:
                values = pd.to_numeric(out[c].astype(object), errors="raise").astype(float)
            except (TypeError, ValueError):
                raise ReportError(f"{name} ({where}): column {c!r} holds non-numbers") from None
            out[c] = values.where(~out["suppressed"].to_numpy(bool), np.nan)
    if "label" in out.columns:
        out.loc[out["suppressed"].to_numpy(bool), "label"] = ""
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------- one row


def points(x: Any) -> str:
    """0-1 as whole points of 100: 0.7806 -> '78'."""
    return fmt.MISSING if fmt.is_missing(x) else f"{100 * float(x):.0f}"


@dataclass(frozen=True)
class CareCell:
    """One unit's care from one source, display-ready. ``shown`` False: no figure at all."""

    shown: bool
    value: str  # '78' (of 100)
    interval: str  # '70 to 86' ('' without one)
    respondents: str  # '18'
    label: str  # 'bright_spot', 'candidate' or ''
    note: str  # why nothing is shown ('' when shown)
    mean: float | None  # 0-100, for the API
    lower_95: float | None
    upper_95: float | None
    n_respondents: int | None


def not_shown(k: int) -> str:
    return f"fewer than {k} respondents: not shown"


def _num(x: Any) -> float | None:
    return None if fmt.is_missing(x) else round(100 * float(x), 1)


def cell(row: Any | None, k: int) -> CareCell:
    """The cell of a ``care_index`` or ``care_trend`` row (a mapping or a namedtuple); None
    means no answers at all."""
    if row is None:
        return CareCell(False, "", "", "", "", "no answers", None, None, None, None)
    get = row.get if isinstance(row, dict) else lambda c: getattr(row, c, None)
    mean = get("mean")
    if bool(get("suppressed")) or fmt.is_missing(mean):
        return CareCell(False, "", "", "", "", not_shown(k), None, None, None, None)
    lo, hi, n = get("lower_95"), get("upper_95"), get("respondents")
    interval = "" if fmt.is_missing(lo) or fmt.is_missing(hi) else f"{points(lo)} to {points(hi)}"
    label = _text(get("label"))
    return CareCell(
        shown=True,
        value=points(mean),
        interval=interval,
        respondents=fmt.integer(n),
        label=label if label in LABEL_TEXT else "",
        note="",
        mean=_num(mean),
        lower_95=_num(lo),
        upper_95=_num(hi),
        n_respondents=None if fmt.is_missing(n) else int(n),
    )


def index_text(c: CareCell) -> str:
    """'78 of 100 (95% CI 70 to 86, 18 respondents)', or why not shown."""
    if not c.shown:
        return c.note
    inside = ", ".join(
        p for p in (f"95% CI {c.interval}" if c.interval else "", _respondents(c)) if p
    )
    return f"{c.value} of 100 ({inside})"


def _respondents(c: CareCell) -> str:
    n = c.n_respondents
    return f"{c.respondents} respondent{'' if n == 1 else 's'}" if c.respondents else ""


def settings_of(notes: dict | None) -> tuple[int, int]:
    """(min_respondents, min_volume) of the run's care notes (the defaults without them)."""
    notes = notes or {}
    k = notes.get("min_respondents")
    v = notes.get("min_volume")
    return (
        int(k) if isinstance(k, int | float) and not isinstance(k, bool) else K_DEFAULT,
        int(v) if isinstance(v, int | float) and not isinstance(v, bool) else MIN_VOLUME_DEFAULT,
    )


def hidden_phrase(n: int, noun: str, k: int, scope: str = "") -> str:
    """'4 reps not shown for customers' care: fewer than 5 respondents (or hidden with them, so
    that theirs cannot be worked out by subtraction).' ('' when none)."""
    if n <= 0:
        return ""
    return (
        f"{fmt.plural(n, noun)} not shown{' ' + scope if scope else ''}: fewer than {k} "
        "respondents (or hidden with them, so that theirs cannot be worked out by subtraction)."
    )


# ----------------------------------------------------------------------------- the section


@dataclass(frozen=True)
class CareSpot:
    """A named care bright spot or candidate."""

    name: str
    team: str
    level: str  # rep, leader or team
    raters: str  # 'Customers' or 'Employees'
    label: str
    label_text: str
    label_mark: str
    value: str  # '78 of 100 (95% CI 70 to 86, 18 respondents)'
    reason: str


@dataclass(frozen=True)
class CareTeamRow:
    name: str
    customer: CareCell
    employee: CareCell
    company: bool  # the reference row


@dataclass(frozen=True)
class ReliabilityRow:
    raters: str
    survey: str
    items: str
    submissions: str
    alpha: str
    item_rest: str
    note: str


@dataclass(frozen=True)
class CareSection:
    present: bool  # the run has care answers
    headline: str = ""
    window: str = ""
    funnel_svg: Markup = Markup("")
    funnel_caption: str = ""
    legend: tuple[tuple[Markup, str], ...] = ()
    spots: tuple[CareSpot, ...] = ()
    teams: tuple[CareTeamRow, ...] = ()
    teams_caption: str = ""
    hidden: tuple[str, ...] = ()  # what is not shown, counted
    reliability: tuple[ReliabilityRow, ...] = ()
    results: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()


ABSENT = CareSection(False)


def _window(notes: dict) -> str:
    start = _day(notes.get("window_start"))
    end = _day(notes.get("window_end"))
    return words.window_phrase(notes.get("window_words"), start, end)


def _day(v: Any):
    if not v:
        return None
    try:
        return pd.Timestamp(v).date()
    except (TypeError, ValueError):
        return None


def _rows(index: pd.DataFrame, level: str, source: str | None = None) -> pd.DataFrame:
    mask = index["level"] == level
    if source is not None:
        mask &= index["source"] == source
    return index[mask]


def _company_phrase(index: pd.DataFrame, k: int) -> str:
    parts = []
    for source in SOURCES:
        rows = _rows(index, "company", source)
        if rows.empty:
            continue
        c = cell(rows.iloc[0].to_dict(), k)
        raters = RATERS[source]
        parts.append(f"{raters} rate the company's care {index_text(c)}")
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def _labelled_phrase(index: pd.DataFrame) -> str:
    """'Care bright spots: 2 reps (customers). Candidates: 1 leader (employees).'"""
    out = []
    for label, title in (("bright_spot", "Care bright spots"), ("candidate", "Care candidates")):
        rows = one_per_person(index[index["label"] == label])
        if rows.empty:
            out.append(f"No {title[0].lower() + title[1:-1]}.")
            continue
        parts = []
        for level in LEVEL_ORDER:
            for source in SOURCES:
                n = len(_rows(rows, level, source))
                if n:
                    parts.append(f"{fmt.plural(n, NOUNS[level])} ({RATERS[source]})")
        out.append(f"{title}: {fmt.words_list(parts)}.")
    return " ".join(out)


def one_per_person(rows: pd.DataFrame) -> pd.DataFrame:
    """Labelled rows with a person's employees' care once: as a leader (against the leaders'
    mean) when labelled both as a leader and as a rep (the same answers)."""
    people = rows["level"].isin(["rep", "leader"])
    first = rows.assign(_order=rows["level"].map({"leader": 0}).fillna(1))
    first = first.sort_values("_order", kind="stable")
    twice = (
        people.loc[first.index]
        & first.duplicated(["unit_id", "source"])
        & (first["level"] != "team")
    )
    return first[~twice].drop(columns="_order").sort_index()


def _spots(index: pd.DataFrame, teams: dict[str, str], k: int) -> list[CareSpot]:
    rows = index[index["label"].isin(list(LABEL_TEXT)) & ~index["suppressed"]]
    rows = one_per_person(rows[rows["level"].isin(list(LEVEL_ORDER))])
    out = []
    for r in rows.to_dict("records"):
        c = cell(r, k)
        out.append(
            CareSpot(
                name=r["name"] or r["unit_id"],
                team="" if r["level"] == "team" else teams.get(r["team_id"], r["team_id"]),
                level=r["level"],
                raters=RATERS.get(r["source"], r["source"]).capitalize(),
                label=r["label"],
                label_text=LABEL_TEXT[r["label"]],
                label_mark=LABEL_MARK[r["label"]],
                value=index_text(c),
                reason=r["reason"],
            )
        )
    return sorted(
        out,
        key=lambda s: (
            s.label != "bright_spot",
            LEVEL_ORDER[s.level],
            s.raters,
            s.name.casefold(),
        ),
    )


def _teams(index: pd.DataFrame, k: int) -> tuple[list[CareTeamRow], int]:
    """The team table (teams with a shown cell, alphabetically, then the company) and how many
    teams have no shown cell."""
    teams = _rows(index, "team")
    rows, hidden = [], 0
    for team_id in sorted(set(teams["unit_id"])):
        mine = teams[teams["unit_id"] == team_id]
        cells = {}
        for source in SOURCES:
            got = mine[mine["source"] == source]
            cells[source] = cell(got.iloc[0].to_dict() if len(got) else None, k)
        if not any(c.shown for c in cells.values()):
            hidden += 1
            continue
        name = next((n for n in mine["name"] if n), team_id)
        rows.append(CareTeamRow(name, cells["customer"], cells["employee"], company=False))
    rows.sort(key=lambda r: r.name.casefold())
    company = _rows(index, "company")
    if len(company):
        cells = {}
        for source in SOURCES:
            got = company[company["source"] == source]
            cells[source] = cell(got.iloc[0].to_dict() if len(got) else None, k)
        rows.append(CareTeamRow("Company", cells["customer"], cells["employee"], company=True))
    return rows, hidden


def _hidden(index: pd.DataFrame, k: int, teams_hidden: int) -> list[str]:
    """What is not shown, per level and source: counts only."""
    out = []
    for level in ("rep", "leader"):
        for source in SOURCES:
            n = int(_rows(index, level, source)["suppressed"].sum())
            if n:
                out.append(hidden_phrase(n, NOUNS[level], k, f"for {RATERS[source]}' care"))
    if teams_hidden:
        out.append(hidden_phrase(teams_hidden, "team", k, "in the team table"))
    return out


def _alpha(v: float) -> str:
    return fmt.MISSING if fmt.is_missing(v) else f"{v:.2f}"


def _reliability(rel: pd.DataFrame | None, k: int) -> tuple[list[ReliabilityRow], int]:
    if rel is None:
        return [], 0
    rows, hidden = [], 0
    for r in rel.to_dict("records"):
        if r["suppressed"]:
            hidden += 1
            continue
        alpha = r["alpha"]
        note = r["note"]
        if not note and not fmt.is_missing(alpha):
            note = (
                f"The care items agree well enough to be averaged into one index "
                f"(Cronbach's α {_alpha(alpha)}; 0.6 or more is asked for)."
            )
        rows.append(
            ReliabilityRow(
                raters=RATERS.get(r["source"], r["source"]).capitalize(),
                survey=r["survey"],
                items=fmt.integer(r["n_items"]),
                submissions=fmt.integer(r["submissions"]),
                alpha=_alpha(alpha),
                item_rest=_alpha(r["min_item_rest"]),
                note=note,
            )
        )
    return rows, hidden


def _results(results: pd.DataFrame | None) -> list[str]:
    if results is None:
        return []
    order = results.assign(_first=results["outcome"] != PRIMARY_RESULT)
    order = order.sort_values("_first", kind="stable")
    return [s for s in order["sentence"] if s]


# ----------------------------------------------------------------------------- the funnel


def limit_curve(
    mu: float, sigma_r2: float, tau2: float, g_max: float, steps: int = 160
) -> pd.DataFrame:
    """The care funnel's limits against respondents G, on the 0-100 scale, in the columns of
    ``funnel_curve`` (``expected`` is G): exact (chance only) mu -+ t_{G-1}·sqrt(sigma_r2/G),
    and allowing for overdispersion mu -+ t_{df}·sqrt(sigma_r2/G + tau2) with Satterthwaite's
    df = (G-1)(s² + tau2)²/s⁴, as ``deviance.assess_means`` tests each unit."""
    from brightspots.deviance import Z95, Z998
    from brightspots.deviance.means import z_to_t

    g = np.linspace(2.0, max(float(g_max), 3.0), steps)
    s2 = sigma_r2 / g
    df = g - 1.0
    tau2 = max(float(tau2), 0.0) if math.isfinite(tau2) else 0.0
    df_eff = df * (s2 + tau2) ** 2 / s2**2
    out = {"expected": g}
    for name, z in (("95", Z95), ("998", Z998)):
        exact = z_to_t(z, df) * np.sqrt(s2)
        adj = z_to_t(z, df_eff) * np.sqrt(s2 + tau2)
        out[f"lower_{name}"] = np.clip(mu - exact, 0.0, 1.0) * 100
        out[f"upper_{name}"] = np.clip(mu + exact, 0.0, 1.0) * 100
        out[f"adj_lower_{name}"] = np.clip(mu - adj, 0.0, 1.0) * 100
        out[f"adj_upper_{name}"] = np.clip(mu + adj, 0.0, 1.0) * 100
    return pd.DataFrame(out)


def _sigma_r2(shown: pd.DataFrame) -> float:
    """The variance of one respondent's answers, as the limits need it: the median of se²·G
    over the shown reps (so that the curve rests on shown rows only); NaN without one."""
    se = shown["se"].to_numpy(float)
    g = shown["respondents"].to_numpy(float)
    ok = np.isfinite(se) & (se > 0) & np.isfinite(g) & (g >= 2)
    return float(np.median(se[ok] ** 2 * g[ok])) if ok.any() else math.nan


def _legend_text(text: str, min_volume: int) -> str:
    if text == "Below minimum volume":
        return f"Below minimum volume (fewer than {min_volume} respondents)"
    if text in ("Bright spot", "Candidate"):
        return f"Care {text.lower()}"
    return text


def _funnel(
    index: pd.DataFrame, notes: dict, k: int, min_volume: int
) -> tuple[Markup, str, list[tuple[Markup, str]]]:
    """The rep funnel of customers' care: (svg, caption, legend); an empty svg when there is
    nothing to draw."""
    reps = _rows(index, "rep", "customer")
    shown = reps[~reps["suppressed"] & np.isfinite(reps["mean"]) & (reps["respondents"] > 0)]
    company = _rows(index, "company", "customer")
    summary = (notes.get("levels") or {}).get("rep_customer") or {}
    mu = summary.get("mu")
    if not isinstance(mu, int | float) or not math.isfinite(mu):
        mu = float(company["mean"].iloc[0]) if len(company) else math.nan
    if shown.empty or not math.isfinite(mu):
        return Markup(""), "", []
    sigma_r2 = _sigma_r2(shown)
    if not math.isfinite(sigma_r2) or sigma_r2 <= 0:
        return Markup(""), "", []
    tau2 = summary.get("tau2")
    tau2 = float(tau2) if isinstance(tau2, int | float) and math.isfinite(tau2) else 0.0
    units = pd.DataFrame(
        {
            "expected": shown["respondents"].to_numpy(float),
            "oe": shown["mean"].to_numpy(float) * 100,
            "closed": shown["respondents"].to_numpy(float).astype(int),
            "label": shown["label"].to_numpy(object),
            "name": [n or u for n, u in zip(shown["name"], shown["unit_id"], strict=True)],
        }
    )
    x_top = float(units["expected"].max()) * 1.06
    curve = limit_curve(float(mu), sigma_r2, tau2, x_top)
    low = float(min(units["oe"].min(), 100 * mu)) - 8
    high = float(max(units["oe"].max(), 100 * mu)) + 8
    y_range = (max(0.0, math.floor(low / 10) * 10), min(100.0, math.ceil(high / 10) * 10))
    named = units[units["label"].isin(charts.LABELLED)]
    spots = sorted(named.loc[named["label"] == "bright_spot", "name"], key=str.casefold)
    cands = sorted(named.loc[named["label"] == "candidate", "name"], key=str.casefold)
    desc = (
        f"Funnel plot of {fmt.plural(len(units), 'rep')}: customers' care index (0 to 100) "
        f"against the number of customers who answered, with 95% and 99.8% limits around the "
        f"company's {points(mu)}."
        + (f" Care bright spots: {fmt.words_list(spots)}." if spots else " No care bright spots.")
        + (f" Care candidates: {fmt.words_list(cands)}." if cands else "")
    )
    chart = funnel.funnel_chart(
        units,
        curve,
        min_volume=min_volume,
        description=desc,
        axis_titles=("Customers who answered (respondents)", "Customers' care index (0-100)"),
        y_range=y_range,
        height=400,
        target=(100 * mu, f"{points(mu)} = the company"),
    )
    groups = funnel.funnel_groups(units, min_volume)
    legend = [
        (Markup(symbol), _legend_text(text, min_volume))
        for symbol, text in charts.legend_entries(groups)
    ]
    hidden = int(reps["suppressed"].sum())
    caption = (
        "Each point is a rep: how customers rate their care, against how many customers "
        f"answered. The lines are the limits around the company's {points(mu)} within which a "
        "rep's index would fall by chance, exact and allowing for real differences between "
        "reps (drawn for a typical spread of answers; each rep is tested with their own). "
        "Only care bright spots and candidates are named."
        + (f" Not drawn: {hidden_phrase(hidden, 'rep', k)}" if hidden else "")
    )
    return Markup(charts.to_svg(chart)), caption, legend


# ----------------------------------------------------------------------------- assembled


def _caveats(notes: dict) -> list[str]:
    out = [str(w) for w in notes.get("warnings") or [] if w]
    summary = (notes.get("levels") or {}).get("rep_customer") or {}
    for key in ("tau2_zero_note", "shrink_note"):
        text = summary.get(key)
        if text:
            out.append(f"Customers' care of reps: {text}")
    return out


def care_section(ctx: ReportContext) -> CareSection:
    """The care section of a report (absent when the run has no care answers)."""
    index = ctx.care_index
    if index is None or index.empty:
        return ABSENT
    notes = ctx.care_notes or {}
    k, min_volume = settings_of(notes)
    results_teams = ctx.units("team")
    names = dict(zip(results_teams["unit_id"], results_teams["name"], strict=True))
    for r in _rows(index, "team").itertuples(index=False):
        names[r.unit_id] = r.name or names.get(r.unit_id, r.unit_id)
    svg, caption, legend = _funnel(index, notes, k, min_volume)
    teams, teams_hidden = _teams(index, k)
    reliability, rel_hidden = _reliability(ctx.care_reliability, k)
    hidden = _hidden(index, k, teams_hidden)
    if rel_hidden:
        hidden.append(hidden_phrase(rel_hidden, "survey", k, "in the reliability table"))
    window = _window(notes)
    company = _company_phrase(index, k)
    headline = " ".join(
        t
        for t in (
            f"{company}, {window}." if company else "",
            _labelled_phrase(index[~index["suppressed"]]),
        )
        if t
    )
    return CareSection(
        present=True,
        headline=headline,
        window=window,
        funnel_svg=svg,
        funnel_caption=caption,
        legend=tuple(legend),
        spots=tuple(_spots(index, names, k)),
        teams=tuple(teams),
        teams_caption=(
            "Each team's own care index (0 to 100) with its 95% interval and respondents, "
            "alphabetically (not ranked); the company's is the reference. Employees rate their "
            f"team's leader. A cell of fewer than {k} respondents is not shown."
        ),
        hidden=tuple(hidden),
        reliability=tuple(reliability),
        results=tuple(_results(ctx.care_results)),
        caveats=tuple(_caveats(notes)),
    )
