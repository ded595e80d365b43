"""Grouped covariate cells of the practice models, computed in the engine (Ibis expressions, no
connection): what leaves the engine when more closed deals are analysed than ``[analysis]
max_driver_rows`` allows to collect (see ``practices.effects``, "Grouped cells").

The deals are one row per closed deal (``deal_table``), kept in the engine. For each practice and
analysis (primary, whole deal) the deals where the practice is defined are grouped by rep, the
coded case-mix covariates, the outcome and the practice value; each cell carries its number of
deals (``n``) and the mean practice value of its deals (``value``).

* Binary practices, and count practices whose values are whole numbers, group on their exact
  value: a cell's deals all have its value.
* Other practices (rates, shares, hours) group on quantile bins of their values (exact
  quantiles, linear between order statistics, at ``levels``): ``BINS`` bins of equal deal
  counts, split finer (1/``FINE`` of the deals) around the quantiles the contrast reads (1st,
  10th, 25th, 75th, 90th and 99th percentiles), so that no wide bin straddles a winsorising
  bound or a contrast end.
  Each bin edge is a bin of its own (a value held by many deals, such as a share of 0 or 1,
  keeps cells of its own), and a cell carries the mean value of its deals.

The edges are exact quantiles, one column at a time (``edges``): a function of the deals'
values, not of the order the engine reads them in, so a run gives the same cells however its
deals were measured (in buckets of reps or at once) and on every engine. The engines'
approximate quantiles (a t-digest) moved with the order of the rows and the threads: two runs
on the same data differed. An exact quantile holds the column's values in memory (8 bytes a
deal, 40 MB for 5M deals): hence one column per query.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots.practices.effects.design import CONTRAST_QUANTILES, WINSOR
from brightspots.practices.effects.weights import WEIGHT
from brightspots.practices.registry import Practice

#: equal-count quantile bins of a practice measured on a continuous scale (rates, shares, hours)
BINS = 64
#: around each quantile the contrast reads, bins of 1/FINE of the deals, FINE_STEPS either side
FINE = 1024
FINE_STEPS = 4
#: the quantiles the contrast reads (``design``): winsorising bounds and the contrast ends
READ = tuple(sorted({*WINSOR, *(q for pair in CONTRAST_QUANTILES for q in pair)} - {0.0, 1.0}))
VARIANTS = ("primary", "whole")


def levels() -> list[float]:
    """The quantile levels of the bin edges: 0, 1/BINS, ..., 1, and k/FINE steps around READ."""
    found = {i / BINS for i in range(BINS + 1)}
    found |= {q + i / FINE for q in READ for i in range(-FINE_STEPS, FINE_STEPS + 1)}
    return sorted(q for q in found if 0.0 <= q <= 1.0)


def columns_of(practice: Practice) -> list[str]:
    return [f"{v}__{practice.id}" for v in VARIANTS]


def deal_table(
    cases: ir.Table, measured: ir.Table, practices: list[Practice], covariates: list[str]
) -> ir.Table:
    """One row per deal of ``cases``: opportunity_id, rep_id, y, the ``x_*`` covariates and the
    practice columns of ``measured`` (``features.practice_frame``), NaN made NULL (undefined),
    as ``practices.analysis.measure`` brings them back."""
    keep = ["opportunity_id", "rep_id", "y", *[f"x_{c}" for c in covariates]]
    c = cases.select(*keep)
    m = measured.rename(m_id="opportunity_id")
    j = c.left_join(m, c.opportunity_id == m.m_id)
    undefined = ibis.null("float64")
    values = {}
    for p in practices:
        for name in columns_of(p):
            v = j[name].cast("float64")
            values[name] = ibis.ifelse(v.isnan(), undefined, v)
    return j.select(*[j[k] for k in keep], **values)


def checks(deals: ir.Table, practices: list[Practice]) -> ir.Table:
    """One row: ``deals`` (their number), ``no_rep`` (deals without a rep) and per practice
    column ``bad__<column>``, its deals with a value no model takes (infinite; binary: not 0
    or 1), and for a count practice ``fraction__<column>``, its deals with a value that is not
    a whole number."""
    out = {"deals": deals.count(), "no_rep": deals.rep_id.isnull().sum()}
    for p in practices:
        for name in columns_of(p):
            v = deals[name]
            out[f"bad__{name}"] = bad_value(v, p).sum()
            if p.kind == "count":
                one = ibis.literal(1.0, type="float64")
                out[f"fraction__{name}"] = (v.notnull() & ~v.isinf() & (v % one != 0)).sum()
    return deals.aggregate(**out)


def binned(practices: list[Practice], found: pd.Series) -> list[str]:
    """The practice columns grouped on quantile bins, from ``checks``' row: all but those of
    binary practices and of count practices whose values are whole numbers."""
    out = []
    for p in practices:
        for name in columns_of(p):
            if p.kind == "binary" or (p.kind == "count" and not int(found[f"fraction__{name}"])):
                continue
            out.append(name)
    return out


def bad_value(value: ir.FloatingValue, practice: Practice) -> ir.BooleanValue:
    """A defined value no model takes: infinite, or (binary) neither 0 nor 1."""
    bad = value.notnull() & value.isinf()
    if practice.kind == "binary":
        bad = bad | (value.notnull() & ~value.isin([0.0, 1.0]))
    return bad


def edge_query(deals: ir.Table, column: str) -> ir.Table:
    """One row: ``q``, the exact quantiles ``levels()`` of the defined values of a binned
    column (``binned``); NULL when no deal has one."""
    return deals.aggregate(q=deals[column].quantile(levels()))


def edges(
    execute: Callable[[ir.Table], pd.DataFrame], deals: ir.Table, columns: list[str]
) -> dict[str, list[float]]:
    """Binned column -> its sorted distinct finite bin edges (``edge_query``, run by
    ``execute`` one column at a time)."""
    return {name: edges_from(execute(edge_query(deals, name)).iloc[0]["q"]) for name in columns}


def edges_from(value) -> list[float]:
    """The sorted distinct finite values of ``edge_query``'s ``q``: an array of quantiles, or
    nothing (no deal has a value)."""
    got = list(value) if isinstance(value, list | tuple | np.ndarray) else []
    return sorted({float(v) for v in got if v is not None and math.isfinite(v)})


def bin_of(value: ir.FloatingValue, edges: list[float]) -> ir.IntegerValue:
    """The bin of a value among sorted ``edges``: 2i + 1 at edge i exactly, 2i below it (and
    above edge i - 1), 2 len(edges) above the last."""
    if not edges:
        return ibis.literal(0, type="int64")
    branches = []
    for i, e in enumerate(edges):
        edge = ibis.literal(e, type="float64")
        branches += [(value < edge, 2 * i), (value == edge, 2 * i + 1)]
    return ibis.cases(*branches, else_=2 * len(edges)).cast("int64")


def cell_table(
    deals: ir.Table, practice: Practice, keys: list[str], edges: dict[str, list[float]]
) -> ir.Table:
    """The practice's cells in both analyses: ``variant`` (0 primary, 1 whole deal), ``keys``
    (rep_id and the covariates), ``y``, ``value`` (the cell's value, or the mean value of its
    deals when binned) and ``n`` (its deals). ``edges``: the bin edges of the binned columns
    (``edges_from``); the other columns group on their exact value."""
    parts = []
    for i, name in enumerate(columns_of(practice)):
        d = deals.filter(deals[name].notnull())
        v = d[name]
        if name not in edges:
            g = d.group_by([*keys, "y", v.name("value")]).agg(n=d.count())
        else:
            g = d.group_by([*keys, "y", bin_of(v, edges[name]).name("bin")]).agg(
                value=v.mean(), n=d.count()
            )
        parts.append(
            g.select(
                variant=ibis.literal(i, type="int8"),
                **{k: g[k] for k in keys},
                y=g.y,
                value=g.value.cast("float64"),
                n=g.n.cast("int64"),
            )
        )
    return ibis.union(*parts, distinct=False)


def split(frame: pd.DataFrame, practice: Practice, keys: list[str]) -> list[pd.DataFrame]:
    """``cell_table``'s rows as the two frames ``estimate_grouped_effects`` reads: the value as
    ``primary__<id>`` / ``whole__<id>``, the deal count as ``WEIGHT``, rows in a fixed order
    (sums over cells then do not depend on the order the engine returned them in)."""
    out = []
    for i, name in enumerate(columns_of(practice)):
        part = frame[frame["variant"] == i].drop(columns="variant")
        part = part.rename(columns={"value": name, "n": WEIGHT})
        part = part.sort_values([*keys, "y", name], kind="mergesort")
        out.append(part.reset_index(drop=True))
    return out
