"""Score detection against planted truth (a synthetic org's ``truth.json``).

Used by the acceptance tests and ``bench/detection.py``: precision and recall of the reps labelled
``bright_spot`` against the planted ones, beside the naive raw leaderboard (the top k reps by won
amount, k = the number of planted bright spots) for contrast. ``run_synthetic`` (and
``analyse_synthetic``, ``practice_recovery``) generate, load and analyse the org that is scored:
through the importer, or straight into the workspace (``insert_org``) when the import is not
what a test measures. For care: ``care_source`` reads a generated org's tables in memory (no
import, no analysis), ``score_care`` scores a ``care_index`` table against the planted high-care
reps, and ``workspace_settings`` gives the settings an org's truth needs (a reverse-coded item).
For a planted practice experiment: ``experiment_deals`` (each deal's team, creation and hidden
truth), ``experiment_cells`` (a fit's post cells with their teams and weights) and
``experiment_truth`` (the true effect on the share won within H days, with the analysis' own
cells and weights).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from brightspots.generations import WorkspaceError

if TYPE_CHECKING:
    from brightspots.synth import Org
    from brightspots.workspace import Workspace


@dataclass(frozen=True)
class Detection:
    """Rep-level detection. Precision counts as correct a label on a planted bright spot or on a
    rep of a planted coached team (their true ratio is above 1 too: a real, smaller deviance);
    recall is over planted bright spots only. Coached reps labelled are also counted apart."""

    planted: int
    labelled: int
    true_positives: int
    rich_labelled: int  # planted rich-territory reps wrongly labelled bright_spot
    raw_true_positives: int  # planted bright spots in the raw top k
    raw_rich_in_top: int  # rich-territory reps in the raw top k
    coached_labelled: int = 0  # reps of a coached team labelled bright_spot
    teams_planted: int = 0
    teams_found: int = 0  # planted coached teams labelled bright_spot at team level
    teams_labelled: int = 0  # teams labelled bright_spot
    detectable: int = 0  # planted reps whose power to be labelled at their true ratio is >= 0.8
    detectable_found: int = 0
    teams_detectable: int = 0  # coached teams likewise
    teams_detectable_found: int = 0

    @property
    def precision(self) -> float:
        correct = self.true_positives + self.coached_labelled
        return correct / self.labelled if self.labelled else float("nan")

    @property
    def recall(self) -> float:
        return self.true_positives / self.planted if self.planted else float("nan")

    @property
    def detectable_recall(self) -> float:
        return self.detectable_found / self.detectable if self.detectable else float("nan")

    @property
    def raw_precision(self) -> float:
        return self.raw_true_positives / self.planted if self.planted else float("nan")

    def __add__(self, other: Detection) -> Detection:
        return Detection(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


def detectable_planted(
    deviance: pd.DataFrame, truth: dict, target: float = 0.8, level: str = "rep"
) -> set[str]:
    """Planted units (reps, or coached teams with ``level="team"``) whose computed power to be
    labelled on win rate, at their true ratio, is at least ``target`` (``deviance`` is a run's
    per-outcome table)."""
    from brightspots.deviance import detection_power

    planted = truth.get("bright_spots" if level == "rep" else "bright_spot_teams", [])
    d = deviance[
        (deviance["level"] == level)
        & (deviance["outcome"] == "win_rate")
        & deviance["unit_id"].isin(planted)
    ]
    if d.empty:
        return set()
    if "true_expected" in d.columns:
        # what the method can see: truly expected wins over the model's expected wins, on the
        # deals of the analysis window (see ``visible_ratios``)
        ratio = (d["true_expected"] / d["expected"]).to_numpy(float)
    elif level == "rep":
        true_ratio = {r["rep_id"]: r["true_ratio"] for r in truth.get("reps", [])}
        ratio = d["unit_id"].map(true_ratio).to_numpy(float)
    else:
        effects = truth.get("team_effects", {})
        ratio = d["unit_id"].map(lambda t: effects[t]["true_ratio"]).to_numpy(float)
    power = detection_power(
        ratio=ratio,
        threshold=d["needed_oe"].to_numpy(float),
        n=d["n"].to_numpy(float),
        expected=d["expected"].to_numpy(float),
        variance=d["variance"].to_numpy(float),
        third=d["third"].to_numpy(float),
        expected_odd=d["expected_odd"].to_numpy(float),
        expected_even=d["expected_even"].to_numpy(float),
        counts=True,
    )
    return set(d.loc[power >= target, "unit_id"])


def score(
    bright_spots: pd.DataFrame, truth: dict, deviance: pd.DataFrame | None = None
) -> Detection:
    """Compare a run's ``bright_spots`` table (rep_id, label, won_amount) with planted truth;
    with the run's ``deviance`` table, also recall among detectable planted reps."""
    if "level" in bright_spots.columns:
        teams = bright_spots[bright_spots["level"] == "team"]
        bright_spots = bright_spots[bright_spots["level"] == "rep"]
    else:
        teams = bright_spots.iloc[0:0].assign(unit_id=[])
    planted = set(truth.get("bright_spots", []))
    rich = set(truth.get("rich_territory_reps", []))
    coached = {r["rep_id"] for r in truth.get("reps", []) if r.get("team_effect")}
    planted_teams = set(truth.get("bright_spot_teams", []))
    labelled = set(bright_spots.loc[bright_spots["label"] == "bright_spot", "rep_id"])
    detectable = detectable_planted(deviance, truth) if deviance is not None else set()
    teams_detectable = (
        detectable_planted(deviance, truth, level="team") if deviance is not None else set()
    )
    teams_labelled = set(teams.loc[teams["label"] == "bright_spot", "unit_id"])
    k = len(planted)
    top = bright_spots.sort_values(["won_amount", "rep_id"], ascending=[False, True]).head(k)
    raw = set(top["rep_id"])
    return Detection(
        planted=len(planted),
        labelled=len(labelled),
        true_positives=len(labelled & planted),
        rich_labelled=len(labelled & rich),
        raw_true_positives=len(raw & planted),
        raw_rich_in_top=len(raw & rich),
        coached_labelled=len((labelled & coached) - planted),
        teams_planted=len(planted_teams),
        teams_found=len(teams_labelled & planted_teams),
        teams_labelled=len(teams_labelled),
        detectable=len(detectable),
        detectable_found=len(detectable & labelled),
        teams_detectable=len(teams_detectable),
        teams_detectable_found=len(teams_detectable & teams_labelled),
    )


#: how ``synthetic_run`` puts a generated org into its workspace (see ``insert_org``)
LOADS = ("import", "direct")


def insert_org(ws: Workspace, org: Org) -> None:
    """Insert a clean generated org's canonical tables into an empty workspace as they are.

    The rows ``import_path`` stores from the org's files, so the same ``Workspace.fingerprint``,
    without reading, checking or logging them: no quarantine, no record sources, no import log.
    For tests and benchmarks of the statistics on clean synthetic orgs, where the import is not
    what is measured (a default org: 0.9 s instead of the import's 4.7 s)."""
    from brightspots import schema
    from brightspots.synth import SynthError

    if org.config.dirty > 0:
        raise SynthError(
            f"insert_org takes a clean org (dirty={org.config.dirty:g}): bad rows are for "
            "import_path to quarantine"
        )
    with ws.transaction() as con:
        for name, table in org.tables.items():
            if ws.row_count(name):
                raise WorkspaceError(
                    f"{ws.root}: {name} already holds rows; insert_org fills an empty workspace"
                )
            cols = ", ".join(f'"{c}"' for c in schema.table(name).column_names)
            con.register(_SCRATCH, table)
            try:
                con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM {_SCRATCH}')
            finally:
                con.unregister(_SCRATCH)


_SCRATCH = "_bs_insert_org"


@contextmanager
def synthetic_run(
    folder: Path, config: Any, *, practices: bool, load: str = "import"
) -> Iterator[tuple]:
    """Generate a synthetic org into ``folder``/data, load it into ``folder``/ws and analyse
    it; yields (open workspace, run, planted truth, data folder).

    ``load="import"`` reads the written files with ``import_path``, as a user's export would be
    read; ``load="direct"`` inserts the generated tables (``insert_org``: clean orgs only) for
    tests of the statistics that the import would only slow down. Both write the same files and
    truth and give the analysis the same rows."""
    from brightspots import synth
    from brightspots.analysis import analyze
    from brightspots.ingest import import_path
    from brightspots.workspace import init_workspace

    if load not in LOADS:
        raise ValueError(f"load must be one of {', '.join(LOADS)}, got {load!r}")
    data = folder / "data"
    if load == "import":
        org = None
        truth = synth.synthesize(config, data, fmt="parquet")
    else:
        org = synth.generate(config)
        synth.write(org, data, fmt="parquet")  # truth.json and the deal truth, as synthesize
        truth = org.truth
    with init_workspace(folder / "ws") as ws:
        settings = workspace_settings(truth)
        if settings:
            ws.update_config(settings)
        if org is None:
            import_path(ws, data)
        else:
            insert_org(ws, org)
            del org
        # bright spots only: no key-account plan or care tables either (nothing scored reads
        # them)
        yield ws, analyze(ws, practices=practices, accounts_and_care=practices), truth, data


@dataclass(frozen=True)
class SyntheticResult:
    """What the acceptance tests read of one analysed synthetic org (see ``run_synthetic``)."""

    bright_spots: pd.DataFrame  # the run's bright_spots table
    truth: dict  # the planted truth
    diagnostics: dict  # the run's diagnostics
    deviance: pd.DataFrame  # per outcome, with ``true_expected`` where deal truth was written
    practice_effects: pd.DataFrame | None  # the run's practice_effects (with practices only)


def run_synthetic(
    folder: Path, config: Any, *, practices: bool = False, load: str = "import"
) -> SyntheticResult:
    """Generate a synthetic org into ``folder``, load it (see ``synthetic_run``), analyse it
    (with ``practices`` or bright spots only) and read back what the acceptance tests score.
    ``config`` is a ``synth.SynthConfig``."""
    with synthetic_run(folder, config, practices=practices, load=load) as (ws, run, truth, data):
        table = ws.run_results("bright_spots", run.run_id)
        per_outcome = ws.run_results("deviance", run.run_id)
        effects = ws.run_results("practice_effects", run.run_id) if practices else None
        deal_truth = data / "truth_opportunities.parquet"
        if deal_truth.exists():
            start = run.diagnostics["levels"]["rep"]["window_start"]
            opportunities = ws.read("opportunities")
            true_expected = visible_expected(opportunities, deal_truth, start)
            rows = (per_outcome["level"] == "rep") & (per_outcome["outcome"] == "win_rate")
            per_outcome.loc[rows, "true_expected"] = (
                per_outcome.loc[rows, "unit_id"].map(true_expected).fillna(0.0)
            )
            team_start = run.diagnostics["levels"].get("team", {}).get("window_start")
            by_rep = visible_expected(opportunities, deal_truth, team_start)
            team_of = ws.read("reps").set_index("rep_id")["team_id"]
            by_team = by_rep.groupby(by_rep.index.map(team_of)).sum()
            rows = (per_outcome["level"] == "team") & (per_outcome["outcome"] == "win_rate")
            per_outcome.loc[rows, "true_expected"] = (
                per_outcome.loc[rows, "unit_id"].map(by_team).fillna(0.0)
            )
    return SyntheticResult(table, truth, run.diagnostics, per_outcome, effects)


def analyse_synthetic(
    folder: Path, config: Any, *, load: str = "import"
) -> tuple[pd.DataFrame, dict, dict, pd.DataFrame]:
    """Generate a synthetic org into ``folder``, load it (see ``synthetic_run``), analyse it.

    Returns the run's ``bright_spots`` table, the planted truth, the run's diagnostics and its
    ``deviance`` table. ``config`` is a ``synth.SynthConfig``.
    """
    r = run_synthetic(folder, config, load=load)
    return r.bright_spots, r.truth, r.diagnostics, r.deviance


def visible_expected(opportunities: pd.DataFrame, deal_truth: Path, start: str | None) -> pd.Series:
    """Per rep, the sum of the true win probabilities of their closed deals in the window."""
    p = pd.read_parquet(deal_truth)
    o = opportunities[opportunities["stage"].isin(["won", "lost"])]
    if start is not None:
        o = o[o["closed_at"] > pd.Timestamp(start)]
    o = o.merge(p, on="opportunity_id", how="inner")
    return o.groupby("owner_rep_id")["p_win"].sum()


def practice_recovery(
    folder: Path, config: Any, *, load: str = "import"
) -> tuple[pd.DataFrame, dict]:
    """Generate a synthetic org into ``folder``, load it (see ``synthetic_run``), analyse it
    with practices.

    Returns the run's ``practice_effects`` table and the planted truth, whose
    ``true_practices`` and ``decoy_practices`` name the built-in that measures each
    (``registry_id``).
    """
    r = run_synthetic(folder, config, practices=True, load=load)
    assert r.practice_effects is not None
    return r.practice_effects, r.truth


# ---------------------------------------------------------------------------------------- care
def workspace_settings(truth: dict) -> dict[str, dict[str, Any]]:
    """The workspace settings an org's truth needs to be read as planted ({section: {key:
    value}}, for ``Workspace.update_config``): ``[care] reverse_items`` when the org has a
    reverse-coded care item; nothing otherwise."""
    reverse = list((truth.get("care") or {}).get("reverse_items") or [])
    return {"care": {"reverse_items": reverse}} if reverse else {}


class OrgSource:
    """A generated org's canonical tables as Ibis tables on an in-memory DuckDB, with the
    workspace's default time zone: what the care pipeline reads of a workspace
    (``care.config.Source``), without an import or an analysis. Tables are loaded on first use,
    timestamps as the workspace stores them (microseconds, naive UTC)."""

    def __init__(self, tables: dict[str, pa.Table], timezone: str = "UTC") -> None:
        import ibis

        self._tables = tables
        self._con = ibis.duckdb.connect()
        self._loaded: set[str] = set()
        self.timezone = timezone

    def table(self, name: str):
        from brightspots import schema

        schema.table(name)  # raises on unknown names
        if name not in self._loaded:
            self._con.create_table(name, _workspace_types(name, self._tables.get(name)))
            self._loaded.add(name)
        return self._con.table(name)

    def execute(self, expr: Any) -> pd.DataFrame:
        return self._con.execute(expr)


def _workspace_types(name: str, table: pa.Table | None) -> pa.Table:
    """``table`` (None: no rows) with the workspace's column types (timestamps in microseconds)."""
    from brightspots import schema
    from brightspots.synth import ARROW_TYPES

    columns = schema.table(name).columns
    fields = [
        pa.field(
            c.name,
            pa.timestamp("us") if c.type == schema.ColumnType.TIMESTAMP else ARROW_TYPES[c.type],
        )
        for c in columns
    ]
    want = pa.schema(fields)
    if table is None:
        return want.empty_table()
    return table.select([c.name for c in columns]).cast(want)


def care_source(org: Org, timezone: str = "UTC") -> OrgSource:
    """A clean generated org's tables as a care ``Source`` (see ``OrgSource``)."""
    from brightspots.synth import SynthError

    if org.config.dirty > 0:
        raise SynthError(
            f"care_source takes a clean org (dirty={org.config.dirty:g}): bad rows are for "
            "import_path to quarantine"
        )
    return OrgSource(org.tables, timezone)


def score_care(
    care_index: pd.DataFrame,
    truth: dict,
    *,
    level: str = "rep",
    source: str = "customer",
    min_volume: int = 10,
) -> Detection:
    """Compare a ``care_index`` table (level, unit_id, source, respondents, mean, label) with
    the planted high-care reps (``level="rep"``, customers' care) or leaders
    (``level="leader"``, ``source="employee"``). Recall is over the planted units; ``detectable``
    counts those with at least ``min_volume`` respondents (``[care] min_volume``: below it no
    label is possible); the raw contrast is the top k units by mean (k = the planted)."""
    care = truth.get("care") or {}
    planted = set(care.get("high_care_reps" if level == "rep" else "high_care_leaders", []))
    rows = care_index[(care_index["level"] == level) & (care_index["source"] == source)]
    labelled = set(rows.loc[rows["label"] == "bright_spot", "unit_id"])
    rich = set(truth.get("rich_territory_reps", [])) if level == "rep" else set()
    shown = rows[rows["mean"].notna()]
    top = shown.sort_values(["mean", "unit_id"], ascending=[False, True]).head(len(planted))
    raw = set(top["unit_id"])
    volume = pd.to_numeric(rows["respondents"], errors="coerce").fillna(0)
    detectable = set(rows.loc[volume >= min_volume, "unit_id"]) & planted
    return Detection(
        planted=len(planted),
        labelled=len(labelled),
        true_positives=len(labelled & planted),
        rich_labelled=len(labelled & rich),
        raw_true_positives=len(raw & planted),
        raw_rich_in_top=len(raw & rich),
        detectable=len(detectable),
        detectable_found=len(detectable & labelled),
    )


# ----------------------------------------------------------------------------- experiments
#: the columns of ``experiment_deals`` (one row per opportunity)
EXPERIMENT_DEAL_COLUMNS = [
    "opportunity_id",
    "team_id",
    "created_at",
    "p_win",
    "exp_p0",
    "close_if_won",
]
#: the columns of ``experiment_cells`` (one row per post cell and treated team in it)
EXPERIMENT_CELL_COLUMNS = ["g", "t", "team_id", "team_weight", "cell_weight"]


def org_deal_truth(org: Org) -> pd.DataFrame:
    """A generated org's deal truth as ``truth_opportunities.parquet`` holds it: opportunity_id,
    p_win and, with a planted experiment, exp_p0 and close_if_won (naive UTC; NaT for a
    follow-on deal)."""
    from brightspots.synth.tables import NO_TIME

    ids = org.tables["opportunities"].column("opportunity_id").to_pylist()
    out = pd.DataFrame({"opportunity_id": ids, "p_win": org.hidden["p_win"]})
    if "exp_p0" in org.hidden:
        close = pd.Series(org.hidden["close_if_won"])
        out["exp_p0"] = org.hidden["exp_p0"]
        out["close_if_won"] = pd.to_datetime(close.where(close != NO_TIME), unit="s")
    return out


def experiment_deals(
    opportunities: pd.DataFrame, reps: pd.DataFrame, deal_truth: pd.DataFrame | Path
) -> pd.DataFrame:
    """Every opportunity with what ``experiment_truth`` needs (``EXPERIMENT_DEAL_COLUMNS``):
    its owner's current team (as the experiment panels count it), its creation (naive UTC) and
    its deal truth (``truth_opportunities.parquet`` or ``org_deal_truth``). Without a planted
    experiment exp_p0 is NaN and close_if_won NaT: nothing is treated."""
    truth = pd.read_parquet(deal_truth) if isinstance(deal_truth, Path) else deal_truth
    truth = truth.copy()
    if "exp_p0" not in truth.columns:
        truth["exp_p0"] = float("nan")
        truth["close_if_won"] = pd.NaT
    o = opportunities[["opportunity_id", "owner_rep_id", "created_at"]]
    o = o.merge(reps[["rep_id", "team_id"]], left_on="owner_rep_id", right_on="rep_id", how="left")
    o = o.merge(truth, on="opportunity_id", how="inner")
    for column in ("created_at", "close_if_won"):  # one resolution, whatever was read
        o[column] = pd.to_datetime(o[column]).astype("datetime64[us]")
    return o[EXPERIMENT_DEAL_COLUMNS].reset_index(drop=True)


def experiment_cells(
    fit: Any, panel: Any, *, baseline_weeks: int, anticipation: int = 0
) -> pd.DataFrame:
    """The post cells of a ``did.fit`` of ``panel`` as ``experiment_truth`` reads them
    (``EXPERIMENT_CELL_COLUMNS``): one row per cell and treated team in it (g and t the Mondays
    of its wave's start and of its week), with the team's weight w_i and the cell's W_c. A cell's
    treated teams are its wave's teams with a baseline (the ``baseline_weeks`` before the
    ``anticipation`` weeks before the start, at least half of them with data) and a figure that
    week, as the fit's (pass the fit's own ``anticipation``); their weights must add up to the
    cell's (``ValueError`` otherwise)."""
    import math

    import numpy as np

    y = panel.observed()
    w = np.asarray(panel.weight, dtype=float)
    start = np.asarray(panel.start)
    rows = []
    for c in fit.cells:
        if c.t < c.g:
            continue
        end = c.g - anticipation  # the baseline: the K weeks before the anticipation weeks
        window = np.isfinite(y[:, max(0, end - baseline_weeks) : max(0, end)])
        based = window.sum(axis=1) >= math.ceil(baseline_weeks / 2)
        units = np.flatnonzero((start == c.g) & based & np.isfinite(y[:, c.t]))
        if len(units) != c.n_treated or not math.isclose(w[units].sum(), c.weight, rel_tol=1e-9):
            raise ValueError(
                f"cell (g={c.g}, t={c.t}): {len(units)} treated units of weight "
                f"{w[units].sum():g}, the fit has {c.n_treated} of {c.weight:g} (baseline_weeks "
                "or anticipation differs from the fit's?)"
            )
        for i in units:
            rows.append(
                {
                    "g": panel.weeks[c.g],
                    "t": panel.weeks[c.t],
                    "team_id": panel.units[i],
                    "team_weight": float(w[i]),
                    "cell_weight": float(c.weight),
                }
            )
    return pd.DataFrame(rows, columns=EXPERIMENT_CELL_COLUMNS)


def experiment_truth(
    deal_truth: pd.DataFrame,
    result_cells: pd.DataFrame,
    horizon: Any,
    *,
    tz: str = "UTC",
) -> float:
    """The true overall effect of a planted experiment on the share of new deals won within
    ``horizon`` (days, or a timedelta) of creation, aggregated with an analysis' own cells and
    team weights: sum_c W_c sum_{i in c} (w_i / W_c) tau_it / sum_c W_c, the estimand of the
    overall difference in differences.

    ``deal_truth`` has ``EXPERIMENT_DEAL_COLUMNS`` (``experiment_deals``): a treated deal
    changes its team-week's share by (p_win - exp_p0) * 1(close_if_won - created_at <= horizon)
    / the team-week's new deals (the outcome's uniform is the only draw the practice changes);
    weeks are local ISO weeks (Mondays) in ``tz``, as the panels'. ``result_cells`` has
    ``EXPERIMENT_CELL_COLUMNS`` (``experiment_cells``). NaN without cells."""
    from datetime import timedelta

    if result_cells.empty:
        return float("nan")
    h = horizon if isinstance(horizon, timedelta) else timedelta(days=int(horizon))
    d = deal_truth
    created = pd.to_datetime(d["created_at"])
    within = (pd.to_datetime(d["close_if_won"]) - created) <= pd.Timedelta(h)
    gain = (d["p_win"] - d["exp_p0"]).where(d["exp_p0"].notna() & within, 0.0)
    local = created.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    week = (local - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.date
    tau = (
        pd.DataFrame({"team_id": d["team_id"], "t": week, "gain": gain})
        .groupby(["team_id", "t"])["gain"]
        .mean()
        .rename("tau")
    )
    cells = result_cells.merge(tau, left_on=["team_id", "t"], right_index=True, how="left")
    if cells["tau"].isna().any():
        missing = cells.loc[cells["tau"].isna(), ["team_id", "t"]].head(3).to_dict("records")
        raise ValueError(f"no deals in the deal truth for the cells' team-weeks {missing}")
    cells["wt"] = cells["team_weight"] * cells["tau"]
    by_cell = cells.groupby(["g", "t"]).agg(
        wt=("wt", "sum"), w=("team_weight", "sum"), cell=("cell_weight", "first")
    )
    return float((by_cell["cell"] * by_cell["wt"] / by_cell["w"]).sum() / by_cell["cell"].sum())
