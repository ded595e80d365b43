"""Effort versus buyer impact: credit, outcomes, response times and the ``effort_impact`` table.

A small hand-made organisation covers the edges (window edges, ties, bulk e-mails, credit tiers,
dark/pending/followed at the 30-day edge, a non-UTC time zone, ISO weeks across a year end); the
Ibis result must equal a plain pandas computation written here, at every grain and period, on it
and on the ``small_org`` synthetic organisation.
"""

from __future__ import annotations

import shutil
import statistics
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import ibis
import numpy as np
import pandas as pd
import pytest

from brightspots import metrics, timezones
from brightspots.export import ExportError, export_table, table_frame
from brightspots.ingest import import_path
from brightspots.metrics import COLUMNS, EVERY, GRAINS, DurationError, parse_duration
from brightspots.schema import ACTIVITY_TYPES
from brightspots.workspace import Workspace, init_workspace

TZ = "America/New_York"  # UTC-5 in winter: 03:00 UTC is 22:00 the day before
WINDOW, DARK = timedelta(days=7), timedelta(days=30)

# ------------------------------------------------------------------------------ the small org
REPS = [
    ("R1", "Ana", "T1"),
    ("R2", "Ben", "T1"),
    ("R3", "Cai", "T2"),
    ("R4", "Dee", ""),  # no team: left out of the team grain
]
ACCOUNTS = [
    ("A1", "R1"),
    ("A2", "R2"),
    ("A3", "R3"),
    ("A4", "R4"),
    ("A5", "R1"),
    ("A6", ""),  # no owner: its events have no responsible rep
    ("A7", "R3"),
]
CONTACTS = [("C1", "A1"), ("C2", "A1"), ("C3", "A2"), ("C4", "A3")]
OPPORTUNITIES = [
    ("O1", "A1", "R1"),
    ("O2", "A1", "R2"),  # owned by R2 on R1's account
    ("O3", "A2", "R2"),
    ("O4", "A3", "R3"),  # buyer events but no activities
    ("O5", "A1", "R1"),  # neither: in no row of the table
]
# activity_id, rep, account, opportunity, contact, type, occurred_at (UTC), is_bulk
ACTIVITIES = [
    # window edges on A2
    ("AT-01", "R2", "A2", "O3", "C3", "call", "2025-12-01 09:00:00", "false"),
    ("AT-02", "R2", "A2", "O3", "C3", "email", "2025-12-10 08:59:59", "false"),
    ("AT-03", "R2", "A2", "O3", "C3", "meeting", "2025-12-17 12:30:00", "false"),
    ("AT-14", "R2", "A2", "", "", "other", "2025-12-20 10:00:00", ""),  # NULL bulk: a touch
    # a tie at the instant of an event, and a bulk e-mail, on A1
    ("AT-10", "R1", "A1", "O1", "C1", "call", "2025-12-02 10:00:00", "false"),
    ("AT-11", "R1", "A1", "O1", "C1", "email", "2025-12-02 10:00:00", "false"),
    ("AT-12", "R1", "A1", "O1", "C1", "call", "2025-12-05 09:00:00", "false"),
    ("AT-13", "R1", "A1", "O1", "C1", "email", "2025-12-05 15:00:00", "true"),
    # credit tiers on A1
    ("AT-20", "R1", "A1", "O1", "C1", "call", "2025-12-08 09:00:00", "false"),
    ("AT-21", "R2", "A1", "O2", "C2", "email", "2025-12-09 09:00:00", "false"),
    ("AT-22", "R1", "A1", "", "C1", "call", "2025-12-15 09:00:00", "false"),
    ("AT-23", "R1", "A1", "", "", "other", "2025-12-19 09:00:00", "false"),
    ("AT-24", "R2", "A1", "O2", "C1", "meeting", "2025-12-22 09:00:00", "false"),
    # A3: an event before any touch
    ("AT-30", "R3", "A3", "", "C4", "call", "2025-11-21 12:00:00", "false"),
    # dark and pending at the 30-day edge (as of 2027-01-10 12:00:00)
    ("AT-40", "R4", "A4", "", "", "call", "2026-12-11 12:00:00", "false"),
    ("AT-41", "R4", "A4", "", "", "email", "2026-12-11 12:00:01", "false"),
    # followed at exactly 30 days, dark at 30 days + 1 s
    ("AT-50", "R1", "A5", "", "", "call", "2026-10-01 08:00:00", "false"),
    ("AT-51", "R1", "A5", "", "", "demo", "2026-11-05 08:00:00", "false"),
    # local days and ISO weeks (America/New_York)
    ("AT-60", "R3", "A3", "", "", "call", "2026-01-05 03:00:00", "false"),  # Sun 4 Jan local
    ("AT-61", "R3", "A3", "", "", "email", "2025-12-28 15:00:00", "false"),  # 2025-W52
    ("AT-62", "R3", "A3", "", "", "email", "2027-01-02 15:00:00", "false"),  # 2026-W53
    ("AT-63", "R3", "A3", "", "", "call", "2027-01-04 04:59:59", "false"),  # still 2026-W53
    ("AT-64", "R3", "A3", "", "", "proposal", "2027-01-04 05:00:00", "false"),  # 2027-W01
    # followed only by an event at the same instant, credited to the other touch of that instant
    ("AT-71", "R3", "A7", "", "", "email", "2026-03-01 10:00:00", "false"),
    ("AT-70", "R3", "A7", "", "", "call", "2026-03-01 10:00:00", "false"),
    ("AT-99", "R3", "A3", "", "", "call", "2027-01-10 12:00:00", "false"),  # the as-of time
]
# event_id, account, opportunity, contact, type, occurred_at (UTC)
EVENTS = [
    ("BE-01", "A2", "O3", "C3", "reply", "2025-12-08 09:00:00"),  # exactly 7 days: credited
    ("BE-02", "A2", "O3", "C3", "reply", "2025-12-17 09:00:00"),  # 7 days + 1 s: not
    ("BE-14", "A2", "", "", "content_viewed", "2025-12-21 10:00:00"),
    ("BE-10", "A1", "O1", "C1", "reply", "2025-12-02 10:00:00"),
    ("BE-11", "A1", "O1", "C1", "reply", "2025-12-05 18:00:00"),
    ("BE-20", "A1", "O1", "C2", "reply", "2025-12-10 09:00:00"),
    ("BE-21", "A1", "O2", "C1", "reply", "2025-12-20 09:00:00"),
    ("BE-22", "A1", "O2", "", "proposal_viewed", "2025-12-21 09:00:00"),
    ("BE-30", "A3", "O4", "C4", "inbound_request", "2025-11-20 12:00:00"),
    ("BE-31", "A3", "O4", "C4", "reply", "2025-11-22 12:00:00"),
    ("BE-50", "A5", "", "", "reply", "2026-10-31 08:00:00"),
    ("BE-51", "A5", "", "", "reply", "2026-12-05 08:00:01"),
    ("BE-60", "A6", "", "", "inbound_request", "2026-06-01 12:00:00"),
    ("BE-70", "A7", "", "", "reply", "2026-03-01 10:00:00"),
]

#: hand-checked: event -> (credited touch, tier)
CREDIT = {
    "BE-01": ("AT-01", "opportunity"),  # the touch exactly 7 days before
    "BE-02": (None, None),  # AT-02 is 7 days and 1 second before
    "BE-14": ("AT-14", "account"),  # no opportunity, no contact; AT-14 is later than AT-03
    "BE-10": ("AT-10", "opportunity"),  # same instant as AT-10 and AT-11: smallest id
    "BE-11": ("AT-12", "opportunity"),  # AT-13 is later but bulk
    "BE-20": ("AT-20", "opportunity"),  # AT-21 is later, but on another opportunity
    "BE-21": ("AT-22", "contact"),  # no O2 touch within 7 days; AT-23 later but account only
    "BE-22": ("AT-23", "account"),  # no O2 touch within 7 days, no contact
    "BE-30": (None, None),  # before any touch on A3
    "BE-31": ("AT-30", "contact"),  # O4 has no activities
    "BE-50": (None, None),
    "BE-51": (None, None),
    "BE-60": (None, None),
    "BE-70": ("AT-70", "account"),
}
#: hand-checked touch outcomes (AT-13 is bulk: not a touch)
OUTCOMES = {
    "AT-01": "impact",
    "AT-02": "followed",  # BE-02, 7 days + 1 s later, credited to no one
    "AT-03": "followed",  # BE-14, credited to AT-14
    "AT-14": "impact",
    "AT-10": "impact",
    "AT-11": "followed",  # BE-10 at the same instant, credited to AT-10
    "AT-12": "impact",
    "AT-20": "impact",
    "AT-21": "followed",  # BE-20
    "AT-22": "impact",
    "AT-23": "impact",
    "AT-24": "dark",  # nothing on A1 after it
    "AT-30": "impact",
    "AT-40": "dark",  # exactly 30 days before the as-of time
    "AT-41": "pending",  # 1 s less
    "AT-50": "followed",  # BE-50 exactly 30 days later
    "AT-51": "dark",  # BE-51 30 days + 1 s later
    "AT-60": "dark",
    "AT-61": "dark",
    "AT-62": "pending",
    "AT-63": "pending",
    "AT-64": "pending",
    "AT-70": "impact",
    "AT-71": "followed",
    "AT-99": "pending",
}
#: hand-checked response hours (None: unanswered)
RESPONSE = {
    "BE-01": 172799 / 3600,  # AT-02, 2 days less 1 s later
    "BE-02": 3.5,  # AT-03
    "BE-14": None,  # R2 never touches A2 again
    "BE-10": 0.0,  # AT-10 at the same instant
    "BE-11": 63.0,  # AT-20 (the bulk AT-13 does not answer)
    "BE-20": 120.0,  # AT-22
    "BE-21": 48.0,  # O2's owner R2: AT-24
    "BE-22": 24.0,
    "BE-30": 24.0,  # AT-30
    "BE-31": 867.0,  # AT-61, 36 days and 3 hours later
    "BE-50": 120.0,  # the account owner R1: AT-51
    "BE-51": None,
    "BE-60": None,  # no responsible rep
    "BE-70": 0.0,
}


def write_small_org(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)

    def csv(name: str, columns: list[str], rows: list[tuple]) -> None:
        pd.DataFrame(rows, columns=columns).to_csv(out / f"{name}.csv", index=False)

    csv("teams", ["team_id", "name"], [("T1", "East"), ("T2", "West")])
    csv("reps", ["rep_id", "name", "team_id"], REPS)
    csv("accounts", ["account_id", "owner_rep_id"], ACCOUNTS)
    accounts = pd.read_csv(out / "accounts.csv", dtype=str)
    accounts.insert(1, "name", "Account " + accounts["account_id"])
    accounts.to_csv(out / "accounts.csv", index=False)
    csv("contacts", ["contact_id", "account_id"], CONTACTS)
    csv(
        "opportunities",
        ["opportunity_id", "account_id", "owner_rep_id", "created_at", "stage"],
        [(o, a, r, "2025-11-01", "open") for o, a, r in OPPORTUNITIES],
    )
    csv(
        "activities",
        [
            "activity_id",
            "rep_id",
            "account_id",
            "opportunity_id",
            "contact_id",
            "type",
            "occurred_at",
            "is_bulk",
        ],
        ACTIVITIES,
    )
    csv(
        "buyer_events",
        ["event_id", "account_id", "opportunity_id", "contact_id", "type", "occurred_at"],
        EVENTS,
    )
    return out


@pytest.fixture(scope="module")
def hand_ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("metrics") / "ws"
    with init_workspace(root) as ws:
        import_path(ws, write_small_org(root.parent / "data"))
        assert ws.row_count("activities") == len(ACTIVITIES)
        assert ws.row_count("buyer_events") == len(EVENTS)
        cfg = ws.config
        cfg["workspace"]["timezone"] = TZ
        ws.save_config(cfg)
    return root


# ------------------------------------------------------------------------------ reference
def records(df: pd.DataFrame, tz: str) -> list[SimpleNamespace]:
    """Rows as plain objects: ``at`` (UTC) and the local ``day`` and ``week`` (its Monday)."""
    utc = df["occurred_at"]
    days = utc.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    out = []
    for row, at, day in zip(
        df.to_dict("records"), utc.dt.to_pydatetime(), days.dt.to_pydatetime(), strict=True
    ):
        week = day - timedelta(days=day.weekday())
        out.append(SimpleNamespace(**row, at=at, day=day, week=week))
    return out


def reference(tables: dict[str, pd.DataFrame], tz: str, window: timedelta, dark: timedelta):
    """The effort_impact table computed row by row, as plainly as possible."""
    acts = records(tables["activities"], tz)
    events = records(tables["buyer_events"], tz)
    team_of = {r.rep_id: r.team_id for r in tables["reps"].itertuples() if pd.notna(r.team_id)}
    opp_owner = {o.opportunity_id: o.owner_rep_id for o in tables["opportunities"].itertuples()}
    acct_owner = {
        a.account_id: a.owner_rep_id
        for a in tables["accounts"].itertuples()
        if pd.notna(a.owner_rep_id)
    }
    touches = [a for a in acts if not (pd.notna(a.is_bulk) and bool(a.is_bulk))]
    as_of = max(r.at for r in acts + events)
    touches_on = defaultdict(list)
    for t in touches:
        touches_on[t.account_id].append(t)
    events_on = defaultdict(list)
    for e in events:
        events_on[e.account_id].append(e)

    # credit: tier by tier, the latest touch in the window, ties to the smallest id
    credit = {}
    for e in events:
        near = [t for t in touches_on[e.account_id] if e.at - window <= t.at <= e.at]
        tiers = []
        if pd.notna(e.opportunity_id):
            tiers.append([t for t in near if t.opportunity_id == e.opportunity_id])
        if pd.notna(e.contact_id):
            tiers.append([t for t in near if t.contact_id == e.contact_id])
        tiers.append(near)
        for pool in tiers:
            if pool:
                latest = max(t.at for t in pool)
                credit[e.event_id] = min(t.activity_id for t in pool if t.at == latest)
                break
    n_credited = defaultdict(int)
    for touch_id in credit.values():
        n_credited[touch_id] += 1

    outcome = {}
    for t in touches:
        if n_credited[t.activity_id] > 0:
            outcome[t.activity_id] = "impact"
        elif any(t.at <= e.at <= t.at + dark for e in events_on[t.account_id]):
            outcome[t.activity_id] = "followed"
        elif t.at + dark <= as_of:
            outcome[t.activity_id] = "dark"
        else:
            outcome[t.activity_id] = "pending"

    responsible, response = {}, {}
    for e in events:
        owner = opp_owner.get(e.opportunity_id) if pd.notna(e.opportunity_id) else None
        owner = owner if owner is not None else acct_owner.get(e.account_id)
        responsible[e.event_id] = owner
        later = [t.at for t in touches_on[e.account_id] if t.rep_id == owner and t.at >= e.at]
        if later:
            response[e.event_id] = (min(later) - e.at).total_seconds() / 3600

    cells = defaultdict(lambda: defaultdict(float))
    hours = defaultdict(list)

    def add(units: dict[str, object], row: SimpleNamespace, counts: dict[str, int], h=None):
        for grain, unit in units.items():
            if unit is None or pd.isna(unit):
                continue
            for every in ("day", "week"):
                key = (grain, unit, every, getattr(row, every))
                for name, n in counts.items():
                    cells[key][name] += n
                if h is not None:
                    hours[key].append(h)
                cells[key]["touches"] += 0  # the row exists

    rep_of_touch = {t.activity_id: t.rep_id for t in touches}
    for t in touches:
        o = outcome[t.activity_id]
        add(
            {
                "rep": t.rep_id,
                "team": team_of.get(t.rep_id),
                "account": t.account_id,
                "opportunity": t.opportunity_id,
            },
            t,
            {
                "touches": 1,
                "touches_with_impact": o == "impact",
                "touches_followed": o == "followed",
                "touches_in_dark": o == "dark",
                "touches_pending": o == "pending",
                f"{t.type}_touches": 1,
                f"credited_{t.type}": n_credited[t.activity_id],
            },
        )
    for e in events:
        rep = rep_of_touch[credit[e.event_id]] if e.event_id in credit else None
        rep = rep if rep is not None else responsible[e.event_id]
        add(
            {
                "rep": rep,
                "team": team_of.get(rep),
                "account": e.account_id,
                "opportunity": e.opportunity_id,
            },
            e,
            {
                "buyer_events": 1,
                "events_credited": e.event_id in credit,
                "events_unanswered": e.event_id not in response,
            },
            response.get(e.event_id),
        )

    rows = []
    for (grain, unit, every, period), c in cells.items():
        n = int(c["touches"])
        row = {
            "grain": grain,
            "unit_id": unit,
            "every": every,
            "period": period,
            "week_label": (
                f"{period.isocalendar().year}-W{period.isocalendar().week:02d}"
                if every == "week"
                else ""
            ),
            "touches": n,
            "touches_with_impact": int(c["touches_with_impact"]),
            "impact_rate": c["touches_with_impact"] / n if n else np.nan,
        }
        for name in (
            "touches_followed",
            "touches_in_dark",
            "touches_pending",
            "buyer_events",
            "events_credited",
            "events_unanswered",
        ):
            row[name] = int(c[name])
        for ty in ACTIVITY_TYPES:
            k = c[f"{ty}_touches"]
            row[f"events_per_{ty}_touch"] = c[f"credited_{ty}"] / k if k else np.nan
        for ty in ACTIVITY_TYPES:
            row[f"{ty}_touches"] = int(c[f"{ty}_touches"])
        h = hours[(grain, unit, every, period)]
        row["median_response_hours"] = statistics.median(h) if h else np.nan
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.sort_values(["grain", "every", "unit_id", "period"]).reset_index(drop=True)


def read_tables(ws: Workspace) -> dict[str, pd.DataFrame]:
    names = ("activities", "buyer_events", "opportunities", "accounts", "reps")
    return {name: ws.read(name) for name in names}


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(COLUMNS)
    got = got.assign(period=pd.to_datetime(got["period"]))
    for grain in GRAINS:
        for every in EVERY:
            g = got[(got.grain == grain) & (got.every == every)].reset_index(drop=True)
            w = want[(want.grain == grain) & (want.every == every)].reset_index(drop=True)
            pd.testing.assert_frame_equal(
                g, w, check_dtype=False, check_exact=False, rtol=1e-12, atol=1e-12
            )
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want, check_dtype=False, rtol=1e-12, atol=1e-12
    )


# ------------------------------------------------------------------------------ building blocks
def test_credit_follows_the_window_the_tiers_and_the_ties(hand_ws):
    with Workspace.open(hand_ws) as ws:
        t = metrics.touches(ws.table("activities"))
        got = ws.execute(metrics.credited(t, ws.table("buyer_events"), impact_window=WINDOW))
    got = got.set_index("event_id")
    assert len(got) == len(EVENTS)
    for event_id, (touch, tier) in CREDIT.items():
        row = got.loc[event_id]
        assert (None if pd.isna(row.activity_id) else row.activity_id) == touch, event_id
        assert (None if pd.isna(row.credit_tier) else row.credit_tier) == tier, event_id


def test_bulk_activities_are_not_touches(hand_ws):
    with Workspace.open(hand_ws) as ws:
        t = ws.execute(metrics.touches(ws.table("activities")))
    assert "AT-13" not in set(t["activity_id"])  # is_bulk true
    assert "AT-14" in set(t["activity_id"])  # is_bulk empty: a touch
    assert len(t) == len(ACTIVITIES) - 1


def test_touch_outcomes_at_the_thirty_day_edge(hand_ws):
    with Workspace.open(hand_ws) as ws:
        a, e = ws.table("activities"), ws.table("buyer_events")
        t = metrics.touches(a)
        cr = metrics.credited(t, e, impact_window=WINDOW)
        out = metrics.touch_outcomes(t, e, cr, dark_after=DARK, as_of=metrics.data_as_of(a, e))
        got = ws.execute(out).set_index("activity_id")
    assert got["outcome"].to_dict() == OUTCOMES
    assert got.loc["AT-10", "events_credited"] == 1 and got.loc["AT-11", "events_credited"] == 0
    assert set(got["outcome"]) <= set(metrics.OUTCOMES)


def test_response_hours_to_the_responsible_reps_next_touch(hand_ws):
    with Workspace.open(hand_ws) as ws:
        t = metrics.touches(ws.table("activities"))
        r = metrics.response_times(
            t, ws.table("buyer_events"), ws.table("opportunities"), ws.table("accounts")
        )
        got = ws.execute(r).set_index("event_id")
    assert got.loc["BE-21", "responsible_rep_id"] == "R2"  # the opportunity's owner
    assert got.loc["BE-50", "responsible_rep_id"] == "R1"  # no opportunity: the account's owner
    assert pd.isna(got.loc["BE-60", "responsible_rep_id"])
    for event_id, hours in RESPONSE.items():
        value = got.loc[event_id, "response_hours"]
        if hours is None:
            assert pd.isna(value), event_id
        else:
            assert value == pytest.approx(hours, abs=1e-12), event_id


def test_iso_week_labels_across_year_ends():
    days = pd.to_datetime(["2025-12-28", "2025-12-29", "2026-01-04", "2027-01-03", "2027-01-04"])
    t = ibis.memtable(pd.DataFrame({"d": days}))
    monday = metrics.week_start(t.d.date())
    e = t.select(monday=monday, label=metrics.iso_week_label(monday))
    got = ibis.duckdb.connect().execute(e)
    assert got["monday"].astype(str).tolist() == [
        "2025-12-22",
        "2025-12-29",
        "2025-12-29",
        "2026-12-28",
        "2027-01-04",
    ]
    assert got["label"].tolist() == ["2025-W52", "2026-W01", "2026-W01", "2026-W53", "2027-W01"]


# ------------------------------------------------------------------------------ the table
def test_effort_impact_equals_the_pandas_reference_on_the_small_org(hand_ws):
    with Workspace.open(hand_ws) as ws:
        got = metrics.compute(ws)
        want = reference(read_tables(ws), TZ, WINDOW, DARK)
    assert_same_table(got, want)
    # opportunities without activities: O4 has rows of events only, O5 none at all
    o4 = got[(got.grain == "opportunity") & (got.unit_id == "O4") & (got.every == "day")]
    assert len(o4) == 2 and o4["touches"].sum() == 0 and o4["buyer_events"].sum() == 2
    assert o4["impact_rate"].isna().all()
    assert "O5" not in set(got["unit_id"])
    days = got[got.every == "day"]
    touches_by_grain = days.groupby("grain")["touches"].sum()
    events_by_grain = days.groupby("grain")["buyer_events"].sum()
    assert touches_by_grain["account"] == touches_by_grain["rep"] == len(ACTIVITIES) - 1
    assert touches_by_grain["team"] == len(ACTIVITIES) - 3  # R4 has no team: AT-40, AT-41
    assert set(days[days.grain == "team"]["unit_id"]) == {"T1", "T2"}
    assert events_by_grain["account"] == len(EVENTS)
    assert events_by_grain["rep"] == len(EVENTS) - 1  # BE-60: no credited touch, no owner
    # every touch has exactly one outcome
    outcomes = days[
        ["touches_with_impact", "touches_followed", "touches_in_dark", "touches_pending"]
    ].sum(axis=1)
    assert (outcomes == days["touches"]).all()


def test_hand_checked_rows(hand_ws):
    with Workspace.open(hand_ws) as ws:
        got = metrics.compute(ws)
    day = got[got.every == "day"].set_index(["grain", "unit_id", "period"])
    # AT-60 at 03:00 UTC on Monday 5 Jan is Sunday 4 Jan in New York, in 2026-W01
    at60 = day.loc[("account", "A3", pd.Timestamp("2026-01-04"))]
    assert at60["touches"] == 1 and at60["touches_in_dark"] == 1
    assert ("account", "A3", pd.Timestamp("2026-01-05")) not in day.index
    week = got[got.every == "week"].set_index(["grain", "unit_id", "week_label"])
    assert week.loc[("account", "A3", "2026-W01"), "touches"] == 1
    assert week.loc[("account", "A3", "2026-W53"), "touches"] == 2  # AT-62, AT-63
    assert week.loc[("account", "A3", "2027-W01"), "touches"] == 2  # AT-64 (local midnight), AT-99
    assert week.loc[("account", "A3", "2025-W52"), "touches"] == 1
    # R1 in the week of Monday 1 Dec 2025 (local): AT-10, AT-11, AT-12 (AT-13 bulk)
    r1 = week.loc[("rep", "R1", "2025-W49")]
    assert r1["touches"] == 3 and r1["touches_with_impact"] == 2 and r1["touches_followed"] == 1
    assert r1["impact_rate"] == pytest.approx(2 / 3)
    assert r1["call_touches"] == 2 and r1["email_touches"] == 1
    assert r1["events_per_call_touch"] == 1.0 and r1["events_per_email_touch"] == 0.0
    assert np.isnan(r1["events_per_meeting_touch"])
    assert r1["buyer_events"] == 2 and r1["events_credited"] == 2  # BE-10, BE-11
    assert r1["median_response_hours"] == pytest.approx((0.0 + 63.0) / 2)
    # O2's events in the week of 15 Dec: one contact-tier, one account-tier credit
    o2 = week.loc[("opportunity", "O2", "2025-W51")]
    assert o2["buyer_events"] == 2 and o2["events_credited"] == 2 and o2["touches"] == 0
    assert np.isnan(o2["impact_rate"])
    assert o2["median_response_hours"] == pytest.approx(36.0)  # 48 h and 24 h


def test_default_as_of_is_the_latest_row_and_matches_compute(hand_ws):
    with Workspace.open(hand_ws) as ws:
        acts, events = ws.table("activities"), ws.table("buyer_events")
        span = (pd.Timestamp("2025-11-01"), pd.Timestamp("2027-02-01"))

        def local(ts):
            return timezones.to_local(ts, TZ, *span)

        expr = metrics.effort_impact(
            acts,
            events,
            ws.table("opportunities"),
            ws.table("accounts"),
            ws.table("reps"),
            local=local,
            impact_window=WINDOW,
            dark_after=DARK,
        )
        # in no particular order as an expression; compute sorts by the key
        got = ws.execute(expr.order_by(*metrics.ORDER))
        pd.testing.assert_frame_equal(got, metrics.compute(ws))
        as_of = ws.execute(metrics.data_as_of(acts, events))
    assert pd.Timestamp(as_of) == pd.Timestamp("2027-01-10 12:00:00")


def test_a_longer_window_and_shorter_wait_from_the_config(hand_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(hand_ws, root)
    with Workspace.open(root) as ws:
        cfg = ws.config
        cfg["metrics"] = {"impact_window": "216h", "dark_after": "10d"}
        ws.save_config(cfg)
        got = metrics.compute(ws)
        want = reference(read_tables(ws), TZ, timedelta(hours=216), timedelta(days=10))
    assert_same_table(got, want)
    # with 9 days, BE-02 (7 days + 1 s after AT-02) is credited too
    a2 = got[(got.grain == "account") & (got.unit_id == "A2") & (got.every == "week")]
    assert a2["events_credited"].sum() == 3


def test_synthetic_org_equals_the_pandas_reference(small_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        cfg = ws.config
        cfg["workspace"]["timezone"] = "Europe/Paris"  # daylight saving inside the data
        ws.save_config(cfg)
        got = metrics.compute(ws)
        want = reference(read_tables(ws), "Europe/Paris", WINDOW, DARK)
    assert len(got) > 10_000
    for outcome in ("touches_with_impact", "touches_followed", "touches_in_dark"):
        assert got[outcome].sum() > 0, outcome
    assert_same_table(got, want)


def test_an_empty_workspace_gives_an_empty_table(tmp_path):
    with init_workspace(tmp_path / "ws") as ws:
        got = metrics.compute(ws)
    assert got.empty and list(got.columns) == list(COLUMNS)


# ------------------------------------------------------------------------------ settings
def test_durations_parse_and_name_the_setting():
    assert parse_duration("7d", setting="x") == timedelta(days=7)
    assert parse_duration(" 48h ", setting="x") == timedelta(hours=48)
    assert parse_duration("30 days", setting="x") == timedelta(days=30)
    for bad in ("7", "7w", "0d", "-1d", "", 7, True):
        with pytest.raises(DurationError, match=r"\[metrics\] impact_window = "):
            parse_duration(bad, setting="[metrics] impact_window")


def test_a_bad_setting_is_named_before_any_work(hand_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(hand_ws, root)
    with Workspace.open(root) as ws:
        cfg = ws.config
        cfg["metrics"]["dark_after"] = "a month"
        ws.save_config(cfg)
        with pytest.raises(DurationError, match=r"\[metrics\] dark_after = 'a month'"):
            metrics.compute(ws)


# ------------------------------------------------------------------------------ export
@pytest.fixture(scope="module")
def run_ws(hand_ws, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("metrics_run") / "ws"
    shutil.copytree(hand_ws, root)
    with Workspace.open(root) as ws:
        run = ws.new_run(fingerprint=ws.fingerprint())
        ws.save_run(run, {"effort_impact": metrics.compute(ws)})
    return root


def test_export_filters_by_grain_and_period(run_ws, tmp_path):
    with Workspace.open(run_ws) as ws:
        everything = table_frame(ws, "effort_impact")
        n = export_table(ws, "effort_impact", tmp_path / "t.csv", grain="team", every="week")
        only_days = table_frame(ws, "effort_impact", every="day")
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    want = everything[(everything.grain == "team") & (everything.every == "week")]
    assert n == len(back) == len(want) > 0
    assert list(back.columns) == list(COLUMNS)
    assert back["unit_id"].tolist() == want["unit_id"].tolist()
    assert back["period"].tolist() == want["period"].astype(str).str[:10].tolist()
    assert set(only_days["every"]) == {"day"} and set(only_days["grain"]) == set(GRAINS)


def test_export_refuses_unknown_grains_and_other_tables(run_ws, tmp_path):
    with Workspace.open(run_ws) as ws:
        with pytest.raises(ExportError, match="unknown grain 'region'; choose one of rep, team"):
            export_table(ws, "effort_impact", tmp_path / "x.csv", grain="region")
        with pytest.raises(ExportError, match="unknown period 'month'.*day, week"):
            export_table(ws, "effort_impact", tmp_path / "x.csv", every="month")
        with pytest.raises(ExportError, match="apply to --table effort_impact, not to 'reps'"):
            export_table(ws, "reps", tmp_path / "x.csv", grain="rep")
    assert not (tmp_path / "x.csv").exists()


def test_export_command_line(run_ws, tmp_path):
    from typer.testing import CliRunner

    from brightspots.cli import app

    out = tmp_path / "rep_days.csv"
    args = ["export", "--workspace", str(run_ws), "--table", "effort_impact", "--out", str(out)]
    r = CliRunner().invoke(app, [*args, "--grain", "rep", "--every", "day"])
    assert r.exit_code == 0, r.output
    back = pd.read_csv(out, keep_default_na=False)
    assert set(back["grain"]) == {"rep"} and set(back["every"]) == {"day"}
    assert set(back["unit_id"]) == {"R1", "R2", "R3", "R4"}
    r = CliRunner().invoke(app, [*args, "--grain", "deal"])
    assert r.exit_code != 0 and "unknown grain 'deal'" in str(r.exception)


@pytest.mark.parametrize("seed", [1, 2])
def test_median_response_is_the_median_aggregate_bit_for_bit(seed):
    # effort_impact's median response comes from a window over the sorted responses (which the
    # engine can spill to disk), not from the median aggregate (which cannot): the same numbers,
    # for groups of one, two (the mean of both) and more responses, ties included
    from brightspots.metrics.effort import _medians

    rng = np.random.default_rng(seed)
    n = 5000
    frame = pd.DataFrame(
        {
            "_unit": rng.integers(0, 900, n).astype(str),
            "day": rng.integers(0, 4, n),
            "response_hours": np.round(rng.gamma(1.0, 10.0, n), 1),
        }
    )
    t = ibis.memtable(frame)
    con = ibis.duckdb.connect()
    got = con.execute(_medians(t, "day")).sort_values(["m_unit", "m_period"])
    by = frame.groupby(["_unit", "day"])["response_hours"]
    assert set(by.size()) >= {1, 2, 3, 4}
    expected = by.median().sort_index()
    assert got["median_response_hours"].tolist() == expected.tolist()
    aggregate = con.execute(
        t.group_by(m_unit=t._unit, m_period=t.day).agg(m=t.response_hours.median())
    ).sort_values(["m_unit", "m_period"])
    assert got["median_response_hours"].tolist() == aggregate["m"].tolist()
