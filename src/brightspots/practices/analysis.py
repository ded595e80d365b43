"""Practices in one analysis run: measure every registered practice on the closed deals of the
window (Ibis, on the workspace's engine), bring back one row per deal, and estimate which
practices go with winning (``effects``), plus each rep's own practice rates for personal views.

When more closed deals are analysed than ``[analysis] max_driver_rows`` (0: no cap), no deal
row leaves the engine: the measured deals are kept there, the models are fitted on grouped
covariate cells (``cells``, ``effects.estimate_grouped_effects``), each rep's rates come from
the same cells, and the run's ``practice_deals`` table is handed to the caller as an expression
on the kept deals (stored from the engine, ``Workspace.save_run``). Incremental reuse of a
previous run's measures is skipped then: every deal is measured.

Above the cap the deals are measured in buckets of reps (``rep_buckets``: about
``BUCKET_ACTIVITIES`` activities of the workspace per bucket): each bucket's practice views are
kept in the engine while its deals are measured, then released, so the engine never holds the
views of every deal at once (at 100M activities they filled the disk). A built-in practice reads
its own deal's rows, or (``rep_period``) its owner's deals, and a rep's deals are all in one
bucket: the values are those of one pass over every deal. A workspace's own SQL may read any deal:
those practices are measured over every deal at once, from views left as expressions.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from brightspots.metrics import settings as metric_settings
from brightspots.practices import cells as cell_mod
from brightspots.practices.effects import (
    PracticeEffectsError,
    estimate_effects,
    estimate_grouped_effects,
)
from brightspots.practices.effects.screen import (
    REP_CODE,
    does,
    peer_median,
    rep_counts,
    rep_means,
)
from brightspots.practices.features import practice_frame, variant_views
from brightspots.practices.registry import Practice, PracticeConfigError, landmark_days
from brightspots.practices.views import Tables, Views, kept
from brightspots.workspace import Workspace

#: columns of the run table ``practice_reps``
REP_COLUMNS = ["rep_id", "practice", "deals", "value", "does"]
#: ``[analysis] max_driver_rows`` when the config does not set it
DEFAULT_MAX_DRIVER_ROWS = 2_000_000
#: above the cap, the deals are measured in buckets of reps: one per this many activities of the
#: workspace (a bucket's kept views then hold a few million rows)
BUCKET_ACTIVITIES = 8_000_000


@dataclass(frozen=True)
class PracticeResults:
    effects: pd.DataFrame
    by_segment: pd.DataFrame
    reps: pd.DataFrame
    n_deals: int
    #: one row per analysed deal: opportunity_id, rep_id, y and each practice's two variants; an
    #: Ibis expression on the workspace's engine when grouped (store it with ``save_run`` before
    #: releasing ``kept``)
    deals: pd.DataFrame | ir.Table
    #: deals whose opportunity-level built-in practices were measured in this run (the others
    #: kept a previous run's measures, ``Reuse``)
    n_measured: int = 0
    #: engine tables ``deals`` reads: the caller releases them (``.release()``) once stored
    kept: tuple[ir.Table, ...] = ()
    #: for the run's diagnostics: {"grouped": True, "n_cells": ..., "max_cells": ...,
    #: "max_driver_rows": ...} when the models were fitted on grouped cells, else empty
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def grouped(self) -> bool:
        return bool(self.notes.get("grouped"))


@dataclass(frozen=True)
class KeptDeals:
    """``kept_deals``: the measured deals kept in the engine (``cells.deal_table``'s rows, the
    union of ``tables``), ``cells.checks``' row about them, the engine tables that hold them
    (``release`` when done) and the number of buckets of reps they were measured in."""

    deals: ir.Table
    found: pd.Series
    tables: tuple[ir.Table, ...]
    buckets: int

    def release(self) -> None:
        for t in self.tables:
            t.release()


@dataclass(frozen=True)
class Reuse:
    """A previous run's measures that still hold: ``frame``, that run's ``practice_deals``, and
    ``dirty``, a table of the opportunity_ids whose practice inputs changed since
    (``refresh.practices``). A deal of the window that is dirty or not in ``frame`` is measured
    again; a practice that reads more than its own deal (rep_period, custom SQL) is measured on
    every deal."""

    frame: pd.DataFrame
    dirty: ir.Table


def _own_deal_only(p: Practice) -> bool:
    """Whether a practice's value for a deal reads only that deal's views (built-in,
    opportunity level), so a deal whose inputs did not change keeps its value."""
    return p.level == "opportunity" and not p.sql


def _columns_of(practices: list[Practice]) -> list[str]:
    return [c for p in practices for c in (f"primary__{p.id}", f"whole__{p.id}")]


def _measure_reusing(
    ws: Workspace,
    cases: ir.Table,
    practices: list[Practice],
    reuse: Reuse,
    *,
    covariates: list[str],
    **kw,
) -> tuple[pd.DataFrame, int]:
    """``measure`` where a previous run's measures hold (``Reuse``); the frame and the number
    of deals measured again."""
    own = [p for p in practices if _own_deal_only(p)]
    wide = [p for p in practices if not _own_deal_only(p)]
    keep = ["opportunity_id", "rep_id", "y", *[f"x_{c}" for c in covariates]]
    cols = _columns_of(own)
    if any(c not in reuse.frame.columns for c in cols):
        frame = measure(ws, cases, practices, covariates=covariates, **kw)
        return frame, len(frame)
    ids = ws.execute(cases.select("opportunity_id"))["opportunity_id"]
    dirty = set(ws.execute(reuse.dirty.select("opportunity_id"))["opportunity_id"])
    known = set(reuse.frame["opportunity_id"])
    todo = sorted(i for i in ids if i in dirty or i not in known)
    if wide:
        frame = measure(ws, cases, wide, covariates=covariates, **kw)
    else:
        frame = ws.execute(cases.select(*keep))
    again = pd.DataFrame({"opportunity_id": pd.Series(todo, dtype=object)})
    if todo and own:
        todo_t = ibis.memtable(again)
        subset = cases.semi_join(todo_t, cases.opportunity_id == todo_t.opportunity_id)
        again = measure(ws, subset, own, covariates=covariates, **kw)
    kept_rows = reuse.frame[~reuse.frame["opportunity_id"].isin(set(todo))]
    values = pd.concat([kept_rows[["opportunity_id", *cols]], again.reindex(
        columns=["opportunity_id", *cols])], ignore_index=True)  # fmt: skip
    frame = frame.merge(values, on="opportunity_id", how="left")
    frame = frame[[*keep, *_columns_of(practices)]]
    return frame.sort_values("opportunity_id").reset_index(drop=True), len(todo)


def rep_practices(
    frame: pd.DataFrame, practices: list[Practice], *, peers: set[str], most_deals: float
) -> pd.DataFrame:
    """Each rep's rate of each practice over their analysed deals (the primary variant): deals
    measured, mean value, and whether they do it (binary: on at least ``most_deals`` of their
    deals; otherwise on the better side of the peers' median, as the screen counts it)."""
    # integer rep codes: each practice's grouping by rep reads them instead of the ids
    frame = frame.assign(**{REP_CODE: pd.factorize(frame["rep_id"])[0]})
    rows = [_rep_rows(frame, p, peers=peers, most_deals=most_deals) for p in practices]
    return _rep_table(rows)


def _rep_table(rows: list[pd.DataFrame]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=REP_COLUMNS)
    return pd.concat(rows, ignore_index=True)[REP_COLUMNS]


def _rep_rows(
    frame: pd.DataFrame, p: Practice, *, peers: set[str], most_deals: float
) -> pd.DataFrame:
    """``rep_practices``' rows of one practice, from its deals or its grouped primary cells
    (``effects.WEIGHT``: a rep's rate is then the deal-weighted mean of their cells)."""
    column = f"primary__{p.id}"
    means = rep_means(frame, column)
    counts = rep_counts(frame, column)
    threshold = peer_median(p, means[means.index.isin(peers)].to_numpy(float))
    doing = does(p, means.to_numpy(float), threshold, most_deals)
    return pd.DataFrame(
        {
            "rep_id": means.index,
            "practice": p.id,
            "deals": counts.reindex(means.index).fillna(0).astype("int64").to_numpy(),
            "value": means.to_numpy(float),
            "does": doing,
        }
    )


def max_driver_rows(config: dict[str, Any]) -> int:
    """``[analysis] max_driver_rows``: the most closed deals whose rows may be brought back for
    the practice models (0: no cap)."""
    value = config.get("analysis", {}).get("max_driver_rows", DEFAULT_MAX_DRIVER_ROWS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PracticeConfigError(
            f"[analysis] max_driver_rows = {value!r} in brightspots.toml: use a whole number of "
            "closed deals (e.g. 2000000), or 0 for no cap"
        )
    return value


def measure(
    ws: Workspace,
    cases: ir.Table,
    practices: list[Practice],
    *,
    covariates: list[str],
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    credited: ir.Table | None = None,
) -> pd.DataFrame:
    """One row per deal of ``cases`` (the closed deals of the window: ``casemix.case_table`` rows):
    opportunity_id, rep_id, y, the ``x_*`` covariates, then ``primary__<id>`` and ``whole__<id>``
    per practice. ``as_of``: the latest timestamp in the data (open deals are measured up to it);
    ``local`` must be valid up to it. ``credited``: the ledger's credited buyer events, when the
    caller has them."""
    with _kept_views(ws, cases, local=local, as_of=as_of, credited=credited) as (tables, views, kw):
        measured = ws.execute(practice_frame(tables, practices, views=views, **kw))
    keep = ["opportunity_id", "rep_id", "y", *[f"x_{c}" for c in covariates]]
    frame = ws.execute(cases.select(*keep)).merge(measured, on="opportunity_id", how="left")
    return frame.sort_values("opportunity_id").reset_index(drop=True)


def _tables(
    ws: Workspace,
    cases: ir.Table,
    *,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    credited: ir.Table | None,
) -> tuple[Tables, dict[str, Any]]:
    """The practice tables of ``cases``' deals and the measuring settings."""
    tables = Tables.of(ws, credited)
    in_window = cases.select(case_id="opportunity_id")
    opps = tables.opportunities
    opps = opps.semi_join(in_window, opps.opportunity_id == in_window.case_id)
    tables = Tables(**{**tables.__dict__, "opportunities": opps})
    kw = {
        "landmark_days": landmark_days(ws.config),
        "local": local,
        "impact_window": metric_settings(ws)["impact_window"],
        "as_of": pd.Timestamp(as_of).to_pydatetime(),
    }
    return tables, kw


@contextmanager
def _kept_views(
    ws: Workspace,
    cases: ir.Table,
    *,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    credited: ir.Table | None,
) -> Iterator[tuple[Tables, tuple[Views, Views], dict[str, Any]]]:
    """The practice tables of ``cases``' deals, their whole and landmark views kept in the engine
    while the block runs, and the measuring settings."""
    tables, kw = _tables(ws, cases, local=local, as_of=as_of, credited=credited)
    # every practice reads the same views: they are computed once and kept while measuring
    (whole, whole_kept), (landmark, landmark_kept) = map(kept, variant_views(tables, **kw))
    try:
        yield tables, (whole, landmark), kw
    finally:
        for t in whole_kept + landmark_kept:
            t.release()


def rep_buckets(counts: pd.DataFrame, k: int) -> list[list[str | None]]:
    """The reps of ``counts`` (``rep_id``, ``n``: their deals; a None rep_id stands for the deals
    without a rep) in at most ``k`` buckets of about equal deals: the most deals first, each
    into the bucket with the fewest deals so far (the lowest on a tie). Every rep is in exactly
    one bucket; no bucket is empty; the same counts give the same buckets."""
    reps = [None if pd.isna(r) else str(r) for r in counts["rep_id"]]
    rows = sorted(
        zip(reps, counts["n"].astype("int64").tolist(), strict=True),
        key=lambda r: (-r[1], r[0] is not None, r[0] or ""),
    )
    k = max(1, min(int(k), len(rows)))
    buckets: list[list[str | None]] = [[] for _ in range(k)]
    load = [(0, i) for i in range(k)]
    for rep, n in rows:
        deals, i = heapq.heappop(load)
        buckets[i].append(rep)
        heapq.heappush(load, (deals + n, i))
    return [b for b in buckets if b]


def _in_bucket(cases: ir.Table, reps: list[str | None]) -> ir.Table:
    """The deals of ``cases`` whose rep is one of ``reps`` (None: the deals without a rep), as
    a list of values in the query (an in-memory table of them is not seen by every engine's
    cached tables)."""
    named = [r for r in reps if r is not None]
    cond = cases.rep_id.isnull() if None in reps else ibis.literal(False)
    if named:
        cond = cond | cases.rep_id.isin(named)
    return cases.filter(cond)


def _bucketed(p: Practice) -> bool:
    """Whether a practice may be measured bucket by bucket of reps: a built-in reads its deal's
    rows, or its owner's deals (rep_period); a workspace's own SQL may read any deal."""
    return not p.sql


def kept_deals(
    ws: Workspace,
    cases: ir.Table,
    practices: list[Practice],
    *,
    covariates: list[str],
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    credited: ir.Table | None = None,
) -> KeptDeals:
    """``measure``'s rows kept in the engine (``cells.deal_table``) and ``cells.checks``' row
    about them (their number in ``deals``), as ``KeptDeals``. A value no model takes
    (infinite; binary and not 0 or 1) or a deal without a rep raises ``PracticeEffectsError``
    naming the column and a deal.

    The deals are measured bucket by bucket of reps (``rep_buckets``, one per
    ``BUCKET_ACTIVITIES`` activities of the workspace): each bucket's views are kept while its
    deals are measured and released before the next, its deals kept in a table of their own;
    ``deals`` is their union. A workspace's own SQL practices are measured first, over every
    deal (views left as expressions), kept while the buckets are measured and joined to each
    bucket's deals."""
    mkw = {"local": local, "as_of": as_of, "credited": credited}
    counts = ws.execute(cases.group_by("rep_id").agg(n=cases.count()))
    k = math.ceil(ws.data_rows("activities") / BUCKET_ACTIVITIES)
    own = [p for p in practices if _bucketed(p)]
    wide = [p for p in practices if not _bucketed(p)]
    kept: list[ir.Table] = []
    every = None
    try:
        if wide:
            tables, kw = _tables(ws, cases, **mkw)
            every = practice_frame(tables, wide, **kw).cache()
        buckets = rep_buckets(counts, k)
        for reps in buckets:
            part = cases if len(buckets) == 1 else _in_bucket(cases, reps)
            with _kept_views(ws, part, **mkw) as (tables, views, kw):
                measured = practice_frame(tables, own, views=views, **kw)
                if every is not None:
                    e = every.rename(e_id="opportunity_id")
                    measured = measured.left_join(e, measured.opportunity_id == e.e_id)
                deals = cell_mod.deal_table(part, measured, practices, covariates)
                # kept in the order of the deals: a cell's mean value then sums its deals in
                # the same order however they were bucketed
                kept.append(deals.order_by("opportunity_id").cache())
        deals = kept[0] if len(kept) == 1 else ibis.union(*kept, distinct=False)
        found = ws.execute(cell_mod.checks(deals, practices)).iloc[0]
        _check_deals(ws, deals, practices, found)
    except BaseException:
        for t in kept:
            t.release()
        raise
    finally:
        if every is not None:
            every.release()
    return KeptDeals(deals, found, tuple(kept), len(buckets))


def _check_deals(
    ws: Workspace, deals: ir.Table, practices: list[Practice], found: pd.Series
) -> None:
    problems = []
    if int(found["no_rep"]):
        problems.append(("rep_id", deals.rep_id.isnull(), "a rep id"))
    for p in practices:
        for name in cell_mod.columns_of(p):
            if int(found[f"bad__{name}"]):
                expected = "0 or 1 (the practice is binary)" if p.kind == "binary" else "finite"
                problems.append((name, cell_mod.bad_value(deals[name], p), expected))
    if not problems:
        return
    column, where, expected = problems[0]
    hit = deals.filter(where).order_by("opportunity_id").limit(1)
    row = ws.execute(hit.select("opportunity_id", value=hit[column])).iloc[0]
    raise PracticeEffectsError(
        f"practice frame: opportunity_id={row['opportunity_id']!r}, column {column!r} has "
        f"{row['value']!r}; expected {expected}"
    )


def run(
    ws: Workspace,
    cases: ir.Table,
    *,
    covariates: list[str],
    bright: set[str],
    peers: set[str],
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    pool_min_cases: int,
    as_of: pd.Timestamp,
    practices: list[Practice],
    credited: ir.Table | None = None,
    reuse: Reuse | None = None,
) -> PracticeResults:
    """``practices`` (the workspace's ``registry``) measured on ``cases`` (see ``measure``),
    their effects (``effects.estimate_effects``) and each rep's rates (``rep_practices``).
    ``reuse``: a previous run's measures that still hold (an incremental refresh)."""
    most = float(ws.config["practices"]["most_deals"])
    kw = {"local": local, "as_of": as_of, "credited": credited}
    cap = max_driver_rows(ws.config)
    if cap and int(ws.execute(cases.count())) > cap:
        return _grouped(
            ws, cases, practices, covariates=covariates, bright=bright, peers=peers,
            most_deals=most, pool_min_cases=pool_min_cases, cap=cap, **kw,
        )  # fmt: skip
    if reuse is None:
        frame = measure(ws, cases, practices, covariates=covariates, **kw)
        n_measured = len(frame)
    else:
        frame, n_measured = _measure_reusing(
            ws, cases, practices, reuse, covariates=covariates, **kw
        )
    effects, by_segment = estimate_effects(
        frame,
        practices,
        covariates=covariates,
        bright=bright,
        peers=peers,
        segment="x_segment",
        most_deals=most,
        pool_min_cases=pool_min_cases,
    )
    reps = rep_practices(frame, practices, peers=peers, most_deals=most)
    deals = frame[[c for c in frame.columns if not c.startswith("x_")]]
    return PracticeResults(
        effects=effects,
        by_segment=by_segment,
        reps=reps,
        n_deals=len(frame),
        deals=deals,
        n_measured=n_measured,
    )


def _grouped(
    ws: Workspace,
    cases: ir.Table,
    practices: list[Practice],
    *,
    covariates: list[str],
    bright: set[str],
    peers: set[str],
    most_deals: float,
    pool_min_cases: int,
    cap: int,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    credited: ir.Table | None,
) -> PracticeResults:
    """``run`` above the cap: the deals kept in the engine, the models fitted on their grouped
    cells (one practice's cells brought back at a time), each rep's rates from the same cells."""
    got = kept_deals(
        ws, cases, practices, covariates=covariates, local=local, as_of=as_of, credited=credited
    )
    deals, found = got.deals, got.found
    n_deals = int(found["deals"])
    n_cells = most_cells = 0
    try:
        edges = cell_mod.edges(ws.execute, deals, cell_mod.binned(practices, found))
        keys = ["rep_id", *[f"x_{c}" for c in covariates]]
        rep_rows: list[pd.DataFrame] = []

        def source(p: Practice) -> tuple[pd.DataFrame, pd.DataFrame]:
            nonlocal n_cells, most_cells
            got = ws.execute(cell_mod.cell_table(deals, p, keys, edges))
            primary, whole = cell_mod.split(got, p, keys)
            rep_rows.append(_rep_rows(primary, p, peers=peers, most_deals=most_deals))
            n_cells += len(got)
            most_cells = max(most_cells, len(got))
            return primary, whole

        effects, by_segment = estimate_grouped_effects(
            source,
            practices,
            covariates=covariates,
            bright=bright,
            peers=peers,
            segment="x_segment",
            most_deals=most_deals,
            pool_min_cases=pool_min_cases,
        )
    except BaseException:
        got.release()
        raise
    return PracticeResults(
        effects=effects,
        by_segment=by_segment,
        reps=_rep_table(rep_rows),
        n_deals=n_deals,
        deals=deals.select(*[c for c in deals.columns if not c.startswith("x_")]),
        n_measured=n_deals,
        kept=got.tables,
        # n_cells: cells brought back over all practices; max_cells: the most for one practice
        # (what the driver held at once); buckets: of reps whose deals were measured together
        notes={
            "grouped": True,
            "n_cells": n_cells,
            "max_cells": most_cells,
            "max_driver_rows": cap,
            "buckets": got.buckets,
        },
    )
