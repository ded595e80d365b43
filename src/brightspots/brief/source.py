"""What a brief reads: the latest analysis run's tables and a few small queries on the data.

Every read is filtered to the brief's dates (and, where it is cheap, its reps) before it leaves
the engine or the workspace file. Row-level data comes back only for the period's won deals, the
buyer events answered by the reps a brief may show and the stories (a small table, read whole:
which may be shared is decided with the web app's reviews); everything else is aggregated first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from brightspots import metrics, timezones
from brightspots.brief.period import Period
from brightspots.errors import BrightspotsError
from brightspots.metrics import response as metric_response
from brightspots.practices.features import practice_frame
from brightspots.practices.registry import landmark_days
from brightspots.practices.views import Tables
from brightspots.stories import library, sharing
from brightspots.teams import below
from brightspots.workspace import Run, Workspace

MEETING_TYPES = ("meeting", "demo")
FAST_HOURS = 1.0  # a reply answered within this many hours is a fast one


class BriefError(BrightspotsError):
    """A brief cannot be made as asked (unknown team, no analysis run, ...)."""


@dataclass(frozen=True)
class Scope:
    """The reps a brief covers: one team's with every team under it (``parent_team_id``), or
    everyone's (``team_id == "all"``)."""

    team_id: str
    name: str
    rep_ids: frozenset[str]
    reps: pd.DataFrame  # every rep: rep_id, name, team_id
    teams: dict[str, str]  # team_id -> name, every team
    covered: frozenset[str] = frozenset()  # the team and the teams under it

    @property
    def company(self) -> bool:
        return self.team_id == "all"

    @property
    def rep_names(self) -> dict[str, str]:
        """rep_id -> name (the id when the name is missing), every rep."""
        return {
            str(r): str(n) if pd.notna(n) else str(r)
            for r, n in zip(self.reps["rep_id"], self.reps["name"], strict=True)
        }

    @property
    def rep_teams(self) -> dict[str, str]:
        """rep_id -> team_id ("" when none), every rep."""
        return {
            str(r): str(t) if pd.notna(t) else ""
            for r, t in zip(self.reps["rep_id"], self.reps["team_id"], strict=True)
        }

    def in_scope(self, deals: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``deals`` (with rep_id) owned by the scope's reps."""
        return deals if self.company else deals[deals["rep_id"].isin(self.rep_ids)]

    def team_ids(self) -> list[str]:
        return sorted(self.teams) if self.company else sorted(self.covered)


def scope(ws: Workspace, team: str) -> Scope:
    """The team named ``team``: its exact id first, then "all", then its id or its name in any
    case."""
    reps = ws.execute(ws.table("reps").select("rep_id", "name", "team_id"))
    t = ws.execute(ws.table("teams").select("team_id", "name", "parent_team_id"))
    teams = {
        str(i): str(n) if pd.notna(n) else str(i)
        for i, n in zip(t["team_id"], t["name"], strict=True)
    }
    parents = {
        str(i): str(p)
        for i, p in zip(t["team_id"], t["parent_team_id"], strict=True)
        if pd.notna(p)
    }
    for tid in reps["team_id"].dropna().unique():
        teams.setdefault(str(tid), str(tid))
    wanted = str(team).strip()
    if wanted not in teams and wanted.lower() == "all":
        everyone = frozenset(reps["rep_id"])
        return Scope("all", "the whole company", everyone, reps, teams, frozenset(teams))
    by_id = {i.lower(): i for i in teams}
    by_name = {n.lower(): i for i, n in teams.items()}
    hit = wanted if wanted in teams else by_id.get(wanted.lower()) or by_name.get(wanted.lower())
    if hit is None:
        valid = ", ".join(f"{i} ({n})" if n != i else i for i, n in sorted(teams.items()))
        raise BriefError(f"unknown team {team!r}; use all or one of: {valid or 'no teams'}")
    covered = below(hit, parents)
    mine = frozenset(reps.loc[reps["team_id"].isin(covered), "rep_id"])
    return Scope(hit, teams[hit], mine, reps, teams, covered)


def utc_span(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in naive UTC covering local days ``first`` to ``last`` inclusive."""
    return timezones.utc_start(first, tz), timezones.utc_start(last + timedelta(days=1), tz)


def _between(col: ir.TimestampValue, span: tuple[datetime, datetime]) -> ir.BooleanValue:
    lo = ibis.literal(span[0], type="timestamp")
    hi = ibis.literal(span[1], type="timestamp")
    return (col >= lo) & (col < hi)


def run_for(ws: Workspace) -> Run:
    try:
        return ws.latest_run()
    except BrightspotsError as e:
        raise BriefError(str(e)) from None


def _run_table(ws: Workspace, run: Run, name: str, where: str = "", params=()) -> pd.DataFrame:
    if not ws.has_table(name):
        raise BriefError(
            f"the latest run ({run.run_id}) has no {name} table: it was made by an older "
            f"version; run `brightspots analyze --workspace {ws.root}` again"
        )
    return ws.run_rows(name, run.run_id, where=where, params=params)


def deal_expectations(ws: Workspace, run: Run, first: date, last: date) -> pd.DataFrame:
    """Closed deals of the run's model window closed on local days ``first``..``last``:
    opportunity_id, rep_id, team_id, closed_local, y, amount, p_hat."""
    df = _run_table(
        ws,
        run,
        "deal_expectations",
        "closed_local >= ? AND closed_local < ?",
        (datetime.combine(first, time(0)), datetime.combine(last + timedelta(days=1), time(0))),
    )
    return df.assign(closed_on=pd.to_datetime(df["closed_local"]).dt.date)


def model_span(ws: Workspace, run: Run) -> tuple[date, date]:
    """The first and last local close day the run's case-mix model scored; an error when the
    run has no scored deals (a run made by an older version)."""
    missing = BriefError(
        f"the latest run ({run.run_id}) has no deal_expectations: it was made by an older "
        f"version; run `brightspots analyze --workspace {ws.root}` again"
    )
    if not ws.has_table("deal_expectations"):
        raise missing
    lo, hi = (
        ws.duckdb()
        .execute(
            "SELECT min(closed_local), max(closed_local) FROM deal_expectations WHERE run_id = ?",
            [run.run_id],
        )
        .fetchall()[0]
    )
    if lo is None:
        raise missing
    return pd.Timestamp(lo).date(), pd.Timestamp(hi).date()


def practice_deals(ws: Workspace, run: Run, opportunity_ids: list[str]) -> pd.DataFrame:
    if not ws.has_table("practice_deals") or not opportunity_ids:
        return pd.DataFrame(columns=["opportunity_id", "rep_id", "y"])
    con = ws.duckdb()
    con.register("_bs_ids", pd.DataFrame({"opportunity_id": opportunity_ids}))
    try:
        df = con.execute(
            "SELECT p.* FROM practice_deals p JOIN _bs_ids USING (opportunity_id) "
            "WHERE p.run_id = ?",
            [run.run_id],
        ).df()
    finally:
        con.unregister("_bs_ids")
    return df.drop(columns=["run_id"])


def run_frame(ws: Workspace, run: Run, name: str) -> pd.DataFrame | None:
    """A whole (small) run table, or None when the run has none."""
    if not ws.has_table(name):
        return None
    return ws.run_results(name, run.run_id)


def effort_rows(
    ws: Workspace, run: Run, first: date, last: date, every: str = "week"
) -> pd.DataFrame:
    """The run's effort rows for reps and teams by ``every`` (day or week), periods starting
    ``first``..``last``."""
    return _run_table(
        ws,
        run,
        "effort_impact",
        "every = ? AND grain IN ('rep', 'team') AND period >= ? AND period <= ?",
        (every, first, last),
    )


def won_deals(ws: Workspace, sc: Scope, period: Period) -> pd.DataFrame:
    """The period's won deals of the scope's reps: opportunity_id, deal, account_id, account,
    rep_id, amount, closed_at (UTC), closed_on (local day)."""
    tz = ws.timezone
    o, a = ws.table("opportunities"), ws.table("accounts")
    won = o.filter(
        (o.stage == "won")
        & o.closed_at.notnull()
        & _between(o.closed_at, utc_span(period.start, period.end, tz))
    )
    if not sc.company:
        won = won.filter(won.owner_rep_id.isin(sorted(sc.rep_ids)))
    acc = a.select(acc_id="account_id", account="name")
    j = won.left_join(acc, won.account_id == acc.acc_id)
    df = ws.execute(
        j.select(
            "opportunity_id",
            deal=j.product,
            account_id=j.account_id,
            account=j.account,
            rep_id=j.owner_rep_id,
            amount=j.amount.cast("float64"),
            closed_at=j.closed_at,
        )
    )
    return df.assign(closed_on=timezones.local_days(df["closed_at"], tz))


def closed_count(ws: Workspace, sc: Scope, first: date, last: date) -> int:
    """Won and lost deals of the scope closed on local days ``first``..``last``."""
    o = ws.table("opportunities")
    hit = o.filter(
        o.stage.isin(["won", "lost"]) & _between(o.closed_at, utc_span(first, last, ws.timezone))
    )
    if not sc.company:
        hit = hit.filter(hit.owner_rep_id.isin(sorted(sc.rep_ids)))
    return int(ws.execute(hit.count().as_table()).iloc[0, 0])


def deal_facts(ws: Workspace, deals: pd.DataFrame) -> pd.DataFrame:
    """Per deal of ``deals`` (opportunity_id, account_id): touches, contacts, meetings (and
    demos), replies (buyer events on the deal a touch by its owner answered), fast_replies
    (answered within ``FAST_HOURS``) and median_response_hours."""
    cols = ["touches", "contacts", "meetings", "replies", "fast_replies", "median_response_hours"]
    if not len(deals):
        return pd.DataFrame(columns=["opportunity_id", *cols])
    ids = sorted(set(deals["opportunity_id"]))
    accounts = sorted(set(deals["account_id"].dropna()))
    acts = metrics.touches(ws.table("activities"))
    on_deal = acts.filter(acts.opportunity_id.isin(ids))
    work = ws.execute(
        on_deal.group_by("opportunity_id").agg(
            touches=on_deal.count(),
            contacts=on_deal.contact_id.nunique(),
            meetings=on_deal["type"].isin(list(MEETING_TYPES)).sum(),
        )
    )
    events = ws.table("buyer_events")
    events = events.filter(events.opportunity_id.isin(ids))
    nearby = acts.filter(acts.account_id.isin(accounts))
    times = metrics.response_times(nearby, events, ws.table("opportunities"), ws.table("accounts"))
    ev = events.select(ev_id="event_id", opportunity_id="opportunity_id")
    times = times.join(ev, times.event_id == ev.ev_id)
    answered = times.filter(times.response_hours.notnull())
    fast = ibis.literal(FAST_HOURS, type="float64")
    resp = ws.execute(
        answered.group_by("opportunity_id").agg(
            replies=answered.count(),
            fast_replies=(answered.response_hours <= fast).sum(),
            median_response_hours=answered.response_hours.median(),
        )
    )
    out = pd.DataFrame({"opportunity_id": ids})
    out = out.merge(work, on="opportunity_id", how="left").merge(
        resp, on="opportunity_id", how="left"
    )
    for c in ("touches", "contacts", "meetings", "replies", "fast_replies"):
        out[c] = out[c].fillna(0).astype("int64")
    out["median_response_hours"] = out["median_response_hours"].astype("float64")
    return out[["opportunity_id", *cols]]


def response_cap(ws: Workspace) -> timedelta:
    """``[brief] response_cap``: a buyer event's response time is counted up to this long; one
    left unanswered that long counts as that long."""
    return metric_response.response_cap(ws.config)


def _responses(ws: Workspace, period: Period, stamp: datetime | None) -> ir.Table:
    """Every buyer event of the previous 13 weeks and the assessment window that has a
    responsible rep and is at least ``response_cap`` old at the data's as-of time ``stamp``
    (``metrics.response.capped_responses``): responsible_rep_id, team_id (of that rep),
    account_id, window ("now" or "before") and response_hours, capped at ``response_cap``
    (unanswered events count as the cap)."""
    rows = metric_response.capped_responses(
        ws, period.previous_start, period.end, stamp, cap=response_cap(ws)
    )
    now_from = ibis.literal(timezones.utc_start(period.window_start, ws.timezone), type="timestamp")
    return rows.select(
        "responsible_rep_id",
        "team_id",
        "account_id",
        window=ibis.ifelse(rows.occurred_at >= now_from, "now", "before"),
        response_hours=rows.response_hours,
    )


def _unit(t: ir.Table, grain: str) -> ir.Value:
    if grain == "rep":
        return t.responsible_rep_id
    if grain == "team":
        return t.team_id
    return ibis.literal("all", type="string")


class Responses:
    """The buyer events of a brief's 26 weeks (see ``_responses``), computed once and kept in
    the engine (crediting responses is a window over touches and events) while every level
    reads them."""

    def __init__(self, ws: Workspace, period: Period, stamp: datetime | None) -> None:
        self.ws = ws
        self.rows = _responses(ws, period, stamp).cache()

    def __enter__(self) -> Responses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rows.release()

    def _of(self, grain: str) -> ir.Table:
        t = self.rows.mutate(unit_id=_unit(self.rows, grain))
        return t.filter(t.unit_id.notnull())

    def summary(self, grain: str) -> pd.DataFrame:
        """Per unit of ``grain`` (rep, team or company) and window: n answered events and the
        median response hours (aggregated in the engine)."""
        t = self._of(grain)
        return self.ws.execute(
            t.group_by(["unit_id", "window"]).agg(n=t.count(), median=t.response_hours.median())
        )

    def values(self, grain: str, unit_ids: list[str]) -> pd.DataFrame:
        """The response hours of a few units' events: unit_id, window, account_id, hours."""
        if not unit_ids:
            return pd.DataFrame(columns=["unit_id", "window", "account_id", "hours"])
        t = self._of(grain)
        t = t.filter(t.unit_id.isin(unit_ids))
        return self.ws.execute(t.select("unit_id", "window", "account_id", hours=t.response_hours))


def opened_deals(
    ws: Workspace, sc: Scope, periods: list[Period], practices: list, stamp: datetime | None
) -> pd.DataFrame:
    """The scope's deals opened in each of ``periods``: opportunity_id, opened (the period's
    label), old_enough (open at least ``[practices] landmark_days`` by the data's as-of time
    ``stamp`` (see ``as_of``), so
    the practice's primary measure covers the same span of every deal) and ``primary__<id>``
    per practice.

    Practices are measured over all of the scope's deals, then filtered: a practice of the
    owner's month (cadence regularity) needs the owner's other deals."""
    empty = pd.DataFrame(columns=["opportunity_id", "opened", "old_enough"])
    if not practices or not periods:
        return empty
    tz = ws.timezone
    o = ws.table("opportunities")
    first, last = min(p.start for p in periods), max(p.end for p in periods)
    if not sc.company:
        o = o.filter(o.owner_rep_id.isin(sorted(sc.rep_ids)))
    new = o.filter(_between(o.created_at, utc_span(first, last, tz)))
    ids = ws.execute(new.select("opportunity_id", "created_at"))
    if not len(ids):
        return empty
    stamp = stamp or pd.Timestamp(last).to_pydatetime()
    lo = ws.execute(o.created_at.min().as_table()).iloc[0, 0]
    lo = pd.Timestamp(lo if lo is not None and pd.notna(lo) else first) - pd.Timedelta(days=40)
    hi = pd.Timestamp(max(pd.Timestamp(stamp), pd.Timestamp(last))) + pd.Timedelta(days=2)

    def local(ts: ir.TimestampValue) -> ir.TimestampValue:
        return timezones.to_local(ts, tz, lo.to_pydatetime(), hi.to_pydatetime())

    tables = Tables.of(ws)
    days = landmark_days(ws.config)
    measured = practice_frame(
        Tables(**{**tables.__dict__, "opportunities": o}),
        practices,
        landmark_days=days,
        local=local,
        impact_window=metrics.settings(ws)["impact_window"],
        as_of=pd.Timestamp(stamp).to_pydatetime(),
    )
    wanted = new.select(want_id="opportunity_id")
    measured = measured.semi_join(wanted, measured.opportunity_id == wanted.want_id)
    frame = ws.execute(measured)
    created = pd.to_datetime(ids["created_at"])
    day = timezones.local_days(created, tz)
    label = pd.Series("", index=ids.index)
    for p in periods:
        label[(day >= p.start) & (day <= p.end)] = p.label
    old = created + pd.Timedelta(days=days) <= pd.Timestamp(stamp)
    ids = ids.assign(opened=label, old_enough=old)[["opportunity_id", "opened", "old_enough"]]
    keep = ["opportunity_id", *[c for c in frame.columns if c.startswith("primary__")]]
    return ids.merge(frame[keep], on="opportunity_id", how="left")


STORY_COLUMNS = (
    "story_id",
    "title",
    "body",
    "tags",
    "created_at",
    "created_on",
    "rep_id",
    "account_id",
    "account",
    "opportunity_id",
    "deal",
    "deal_stage",
    "win_opportunity_id",
    "source",
)


def _names(ws: Workspace, table: str, key: str, ids: list[str], **cols: str) -> pd.DataFrame:
    """``key`` and ``cols`` (new name -> column) of the rows of ``table`` with a key in ``ids``."""
    if not ids:
        return pd.DataFrame(columns=[key, *cols])
    t = ws.table(table)
    t = t.filter(t[key].isin(ids))
    return ws.execute(t.select(key, **{new: t[old] for new, old in cols.items()}))


def _win_ties(found: pd.DataFrame, wins: pd.DataFrame) -> pd.Series:
    """Per story, the period win it is tied to: its own deal when that is a win, else the first
    win (in ``wins``' order) on its account; None when neither."""
    won = set(wins["opportunity_id"].astype(str)) if len(wins) else set()
    on_account: dict[str, str] = {}
    if len(wins):
        for opp, acc in zip(wins["opportunity_id"], wins["account_id"], strict=True):
            if pd.notna(acc):
                on_account.setdefault(str(acc), str(opp))
    ties = []
    for opp, acc in zip(found["opportunity_id"], found["account_id"], strict=True):
        if opp is not None and str(opp) in won:
            ties.append(str(opp))
        else:
            ties.append(on_account.get(str(acc)) if acc is not None else None)
    return pd.Series(ties, index=found.index, dtype=object)


def stories(
    ws: Workspace,
    sc: Scope,
    period: Period,
    wins: pd.DataFrame,
    *,
    data_end: datetime | None = None,
) -> pd.DataFrame:
    """The stories a brief may show (``STORY_COLUMNS``), oldest first: those that pass
    ``stories.sharing.shared``, told by the scope's reps, and either created in the period or
    tied to one of its wins (``wins``: opportunity_id, account_id; the story names the won deal
    or its account) and created by the end of the data (``data_end``, naive UTC; default
    ``as_of``). Imported stories and those written in the web app alike, with their account's
    and deal's names; ``win_opportunity_id`` is the win a story is tied to (None: none)."""
    every = library.all_stories(ws, library.app_state(ws))
    found = sharing.shared(ws, every)
    if not sc.company:
        found = found[found["rep_id"].isin(sc.rep_ids)]
    lo, hi = utc_span(period.start, period.end, ws.timezone)
    created = pd.to_datetime(found["created_at"])
    in_period = (created >= pd.Timestamp(lo)) & (created < pd.Timestamp(hi))
    ties = _win_ties(found, wins)
    end = data_end if data_end is not None else as_of(ws)
    bound = pd.Timestamp(end) if end is not None else pd.Timestamp(hi)
    found = found.assign(win_opportunity_id=ties)[in_period | (ties.notna() & (created <= bound))]
    accounts = _names(
        ws, "accounts", "account_id", sorted(set(found["account_id"].dropna())), account="name"
    )
    deals = _names(
        ws,
        "opportunities",
        "opportunity_id",
        sorted(set(found["opportunity_id"].dropna())),
        deal="product",
        deal_stage="stage",
    )
    out = found.merge(accounts, on="account_id", how="left").merge(
        deals, on="opportunity_id", how="left"
    )
    out = out.sort_values(["created_at", "story_id"], kind="stable").reset_index(drop=True)
    out["created_on"] = timezones.local_days(out["created_at"], ws.timezone)
    return out[list(STORY_COLUMNS)]


def data_days(ws: Workspace, sc: Scope, period: Period) -> tuple[date | None, date | None, int]:
    """The first and last local day inside the period with a row of the scope (an activity by
    one of its reps, a deal of theirs closed; for the whole company also a buyer event), and
    how many such rows there are."""
    span = utc_span(period.start, period.end, ws.timezone)
    reps = sorted(sc.rep_ids)
    parts = []
    for name, col, rep in (
        ("activities", "occurred_at", "rep_id"),
        ("buyer_events", "occurred_at", None),
        ("opportunities", "closed_at", "owner_rep_id"),
    ):
        if not sc.company and rep is None:
            continue
        t = ws.table(name)
        hit = t.filter(_between(t[col], span))
        if not sc.company:
            hit = hit.filter(hit[rep].isin(reps))
        parts.append(ws.execute(hit.aggregate(lo=hit[col].min(), hi=hit[col].max(), n=hit.count())))
    got = pd.concat(parts, ignore_index=True)
    n = int(got["n"].sum())
    if not n:
        return None, None, 0
    lo, hi = (pd.Timestamp(v).to_pydatetime() for v in (got["lo"].min(), got["hi"].max()))
    return timezones.local_day(lo, ws.timezone), timezones.local_day(hi, ws.timezone), n


def as_of(ws: Workspace) -> datetime | None:
    """The latest timestamp in activities and buyer events (UTC), as the metrics define it."""
    v = ws.execute(metrics.data_as_of(ws.table("activities"), ws.table("buyer_events")).as_table())
    v = v.iloc[0, 0]
    return None if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()
