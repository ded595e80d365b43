"""What each rep has to work with, never what they achieved: the basis of "peers just like me".

A rep's resources are their book (accounts owned and the average annual potential of those
accounts: the territory), the size and segment mix of the deals they worked in the window (at
creation, so not a result) and their tenure. Win rates, revenue and practices are deliberately
absent: peers are chosen on resources, and results are then compared among them.

``profile`` is one Ibis expression (one row per rep); ``nearest_peers`` is plain numpy over the
aggregated profile.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots import casemix

#: numeric resources, and whether they are compared on a log scale (money and counts are skewed)
NUMERIC = {
    "territory_potential": True,
    "accounts": True,
    "deals": True,
    "median_deal_size": True,
    "tenure_years": False,
}
SEGMENT_PREFIX = "segment_share__"
PEERS = 10


def profile(
    deals: ir.Table,
    accounts: ir.Table,
    reps: ir.Table,
    *,
    as_of: pd.Timestamp,
) -> tuple[ir.Table, ir.Table]:
    """(one row per rep, one row per rep and segment) as Ibis expressions.

    Per rep: rep_id, territory_potential, accounts, deals, median_deal_size (at creation) and
    tenure_years at ``as_of``. Per rep and account segment: n deals (``frame`` turns them into
    ``segment_share__<segment>`` columns). ``deals``: the opportunities of the window (rows of
    ``opportunities``: account_id, owner_rep_id, initial_amount).
    """
    owned = accounts.filter(accounts.owner_rep_id.notnull())
    book = owned.group_by(book_rep=owned.owner_rep_id).agg(
        territory_potential=owned.annual_potential.cast("float64").mean(),
        accounts=owned.count(),
    )
    seg = accounts.select(seg_account="account_id", segment=accounts.segment)
    d = deals.left_join(seg, deals.account_id == seg.seg_account)
    d = d.select(
        rep_id=d.owner_rep_id,
        amount=d.initial_amount.cast("float64"),
        segment=casemix.text_code(d.segment),
    )
    work = d.group_by(work_rep=d.rep_id).agg(deals=d.count(), median_deal_size=d.amount.median())
    mix = d.group_by(["rep_id", "segment"]).agg(n=d.count())
    as_of_date = ibis.literal(pd.Timestamp(as_of).date(), type="date")
    r = reps.select(
        "rep_id",
        tenure_years=as_of_date.delta(reps.hire_date, unit="day").cast("float64") / 365.25,
    )
    out = r.left_join(book, r.rep_id == book.book_rep).drop("book_rep")
    out = out.left_join(work, out.rep_id == work.work_rep).drop("work_rep")
    return out, mix


def frame(profile_df: pd.DataFrame, mix_df: pd.DataFrame) -> pd.DataFrame:
    """The executed ``profile`` and segment mix as one frame, one row per rep, shares filled."""
    df = profile_df.copy()
    df["deals"] = df["deals"].fillna(0).astype("int64")
    df["accounts"] = df["accounts"].fillna(0).astype("int64")
    if len(mix_df):
        shares = mix_df.pivot_table(index="rep_id", columns="segment", values="n", aggfunc="sum")
        shares = shares.div(shares.sum(axis=1), axis=0).fillna(0.0)
        shares.columns = [f"{SEGMENT_PREFIX}{c}" for c in shares.columns]
        df = df.merge(shares, left_on="rep_id", right_index=True, how="left")
        cols = [c for c in df.columns if c.startswith(SEGMENT_PREFIX)]
        df[cols] = df[cols].fillna(0.0)
    return df.sort_values("rep_id").reset_index(drop=True)


def _features(df: pd.DataFrame) -> np.ndarray:
    """Standardised resource features; a missing value sits at the mean (distance 0 on it)."""
    cols = []
    for name, logged in NUMERIC.items():
        v = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if logged:
            v = np.log1p(np.clip(v, 0, None))
        cols.append(v)
    seg = [c for c in df.columns if c.startswith(SEGMENT_PREFIX)]
    # the segment mix counts as one resource, however many segments there are
    weight = 1.0 / np.sqrt(len(seg)) if seg else 0.0
    x = np.column_stack(cols) if cols else np.empty((len(df), 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(x, axis=0)
        sd = np.nanstd(x, axis=0)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    z = (x - mean) / sd
    z = np.where(np.isnan(z), 0.0, z)
    if seg:
        s = df[seg].to_numpy(dtype=float)
        s_sd = s.std(axis=0)
        s_sd = np.where(s_sd > 0, s_sd, 1.0)
        z = np.column_stack([z, weight * (s - s.mean(axis=0)) / s_sd])
    return z


def nearest_peers(df: pd.DataFrame, rep_id: str, k: int = PEERS) -> pd.DataFrame:
    """The ``k`` reps closest to ``rep_id`` in resources (standardised Euclidean distance), among
    reps with at least one closed deal in the window; ties by rep_id. Adds a ``distance`` column.
    """
    df = df.reset_index(drop=True)
    hit = np.flatnonzero(df["rep_id"].to_numpy() == rep_id)
    if not len(hit):
        raise KeyError(rep_id)
    z = _features(df)
    d = np.sqrt(((z - z[hit[0]]) ** 2).sum(axis=1))
    out = df.assign(distance=d)
    out = out[(out["rep_id"] != rep_id) & (out["deals"] > 0)]
    return out.sort_values(["distance", "rep_id"]).head(k).reset_index(drop=True)
