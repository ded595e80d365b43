"""Built-in practices on a hand-made organisation, every value checked by hand, both variants.

The organisation (UTC unless a test says otherwise; landmark N = 14 days):

* O1 (account A1, owner R1): 2025-03-03 09:00 to 2025-04-14 09:00, won (42 days = 6 weeks).
* O2 (A2, R1): 2025-03-03 09:00 to 2025-03-10 09:00, lost: closed before day 14.
* O3 (A3, R2): 2025-03-03 09:00 to 2025-03-31 09:00, lost, no proposal (28 days = 4 weeks).
* O4 (A1, R1): created 2025-04-01 09:00, open; the data end (as-of) at 2025-04-20 09:00.

Contacts: C1 executive, C2 manager, C3 and C4 staff at A1; C5 executive, C6 staff at A2; C7 staff
at A3. Each activity's comment says why it counts or not.
"""

from __future__ import annotations

import shutil
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from brightspots import timezones
from brightspots.practices.builtin import BUILTINS
from brightspots.practices.features import practice_frame
from brightspots.practices.views import Tables, practice_views
from brightspots.schema import BY_NAME
from brightspots.workspace import Workspace, init_workspace
from conftest import require_spark

NAN = float("nan")
T = pd.Timestamp


def _acts(rows: list[tuple]) -> list[dict]:
    keys = ("activity_id", "opportunity_id", "rep_id", "account_id", "contact_id", "type")
    out = []
    for r in rows:
        d = dict(zip(keys, r[:6], strict=True))
        d["occurred_at"] = T(r[6])
        d["is_bulk"] = r[7] if len(r) > 7 else None
        out.append(d)
    return out


def _events(rows: list[tuple]) -> list[dict]:
    keys = ("event_id", "opportunity_id", "account_id", "contact_id", "type")
    return [{**dict(zip(keys, r[:5], strict=True)), "occurred_at": T(r[5])} for r in rows]


HAND_ORG: dict[str, list[dict]] = {
    "teams": [{"team_id": "T1", "name": "Team"}],
    "reps": [
        {"rep_id": "R1", "name": "Rep One", "team_id": "T1"},
        {"rep_id": "R2", "name": "Rep Two", "team_id": "T1"},
    ],
    "accounts": [
        {"account_id": "A1", "name": "Acme", "owner_rep_id": "R1"},
        {"account_id": "A2", "name": "Bolt", "owner_rep_id": "R1"},
        {"account_id": "A3", "name": "Cask", "owner_rep_id": "R2"},
    ],
    "contacts": [
        {"contact_id": c, "account_id": a, "seniority": s}
        for c, a, s in (
            ("C1", "A1", "executive"),
            ("C2", "A1", "manager"),
            ("C3", "A1", "staff"),
            ("C4", "A1", "staff"),
            ("C5", "A2", "executive"),
            ("C6", "A2", "staff"),
            ("C7", "A3", "staff"),
        )
    ],
    "opportunities": [
        {
            "opportunity_id": o,
            "account_id": a,
            "owner_rep_id": r,
            "created_at": T(c),
            "closed_at": T(x) if x else None,
            "stage": s,
            "amount": 1000.0,
        }
        for o, a, r, c, x, s in (
            ("O1", "A1", "R1", "2025-03-03 09:00", "2025-04-14 09:00", "won"),
            ("O2", "A2", "R1", "2025-03-03 09:00", "2025-03-10 09:00", "lost"),
            ("O3", "A3", "R2", "2025-03-03 09:00", "2025-03-31 09:00", "lost"),
            ("O4", "A1", "R1", "2025-04-01 09:00", None, "open"),
        )
    ],
    "activities": _acts(
        [
            ("a1", "O1", "R1", "A1", "C1", "email", "2025-03-03 10:00", False),  # 1 h in
            ("a2", "O1", "R1", "A1", "C2", "call", "2025-03-04 09:00"),
            ("a3", "O1", "R1", "A1", "C1", "meeting", "2025-03-05 09:00"),
            ("a4", "O1", "R1", "A1", "C1", "email", "2025-03-06 12:00"),  # answers e1 in 4 h
            ("a5", "O1", "R1", "A1", "C3", "email", "2025-03-07 09:00", True),  # bulk: never
            ("a13", "O1", "R1", "A1", "C2", "call", "2025-03-08 10:00"),  # answers e8 in 1 h
            ("a10", "O1", "R2", "A1", "C2", "demo", "2025-03-10 09:00"),  # another rep, linked
            ("a11", "O1", "R1", "A1", "C1", "email", "2025-03-13 20:00"),  # answers e2 in 35 h
            ("a6", "O1", "R1", "A1", "C4", "proposal", "2025-03-20 09:00"),  # after day 14
            ("a7", None, "R1", "A1", "C4", "call", "2025-03-25 09:00"),  # unlinked, owner: O1
            ("a8", None, "R2", "A1", "C2", "call", "2025-03-26 09:00"),  # unlinked, not owner
            ("a12", None, "R1", "A1", "C2", "call", "2025-04-05 09:00"),  # O1 and O4 open
            ("a9", "O1", "R1", "A1", "C1", "email", "2025-04-20 09:00"),  # after the close
            ("b1", "O2", "R1", "A2", "C6", "call", "2025-03-03 09:00"),  # at creation
            ("b2", "O2", "R1", "A2", "C5", "proposal", "2025-03-04 09:00"),
            ("b3", "O2", "R1", "A2", "C6", "meeting", "2025-03-05 09:00"),  # after proposal
            ("b4", "O2", "R1", "A2", "C6", "email", "2025-03-06 09:00", True),  # bulk: no answer
            ("c1", "O3", "R2", "A3", "C7", "call", "2025-03-05 09:00"),
            ("c3", "O3", "R2", "A3", "C7", "meeting", "2025-03-06 09:00"),  # answers e7, 23 h
            ("c2", "O3", "R2", "A3", "C7", "email", "2025-03-20 09:00"),
            ("d1", "O4", "R1", "A1", "C1", "email", "2025-04-02 09:00"),  # exactly 24 h in
        ]
    ),
    "buyer_events": _events(
        [
            ("e1", "O1", "A1", "C1", "reply", "2025-03-06 08:00"),
            ("e8", None, "A1", "C2", "reply", "2025-03-08 09:00"),  # unlinked: O1 is open
            ("e2", "O1", "A1", "C2", "reply", "2025-03-12 09:00"),
            ("e6", "O1", "A1", "C1", "content_viewed", "2025-03-18 09:00"),  # credits a11
            ("e4", "O1", "A1", "C1", "reply", "2025-04-14 08:00"),  # 1 h before the close
            ("e5", "O2", "A2", "C6", "reply", "2025-03-05 10:00"),  # never answered
            ("e7", "O3", "A3", "C7", "reply", "2025-03-05 10:00"),
        ]
    ),
}

#: practice -> deal -> (primary, whole), worked out by hand from the rows above
EXPECTED: dict[str, dict[str, tuple[float, float]]] = {
    # O1 landmark touches a1 a2 a3 a4 a13 a10 a11 (7), whole adds a6 a7 a12 (10)
    "contacts_touched": {"O1": (2, 3), "O2": (NAN, 2), "O3": (1, 1), "O4": (2, 2)},
    "multithreading": {"O1": (0, 1), "O2": (NAN, 0), "O3": (0, 0), "O4": (0, 0)},
    "executive_engaged": {"O1": (1, 1), "O2": (NAN, 1), "O3": (0, 0), "O4": (1, 1)},
    # O1: e1 answered at exactly 4 h, e8 in 1 h, e2 in 35 h; e4 is too close to the close
    "response_within_4h": {"O1": (1, 1), "O2": (NAN, 0), "O3": (0, 0), "O4": (NAN, NAN)},
    "response_within_24h": {"O1": (1, 1), "O2": (NAN, 0), "O3": (1, 1), "O4": (NAN, NAN)},
    "meeting_before_proposal": {"O1": (1, 1), "O2": (0, 0), "O3": (NAN, 0), "O4": (NAN, 0)},
    "first_touch_within_1d": {"O1": (1, 1), "O2": (NAN, 1), "O3": (0, 0), "O4": (1, 1)},
    # counts and rates leave out answers to replies, the next touch after each (a4, a13, a11
    # 35 h after e2, c3); open weeks O1 2 | 6,
    # O2 - | 1, O3 2 | 4, O4 2 | 19/7
    "cadence": {"O1": (2.0, 7 / 6), "O2": (NAN, 3.0), "O3": (0.5, 0.5), "O4": (1.0, 14 / 19)},
    # R1 in March: 6 of 6 deal-weeks touched; O4 (April) gets March; the others February
    "cadence_regularity": {"O1": (NAN, NAN), "O2": (NAN, NAN), "O3": (NAN, NAN), "O4": (1, 1)},
    "call_share": {"O1": (2 / 7, 0.4), "O2": (NAN, 1 / 3), "O3": (0.5, 1 / 3), "O4": (0.5, 0.5)},
    "meeting_share": {"O1": (1 / 7, 0.1), "O2": (NAN, 1 / 3), "O3": (0.5, 1 / 3), "O4": (0, 0)},
    "email_share": {"O1": (3 / 7, 0.3), "O2": (NAN, 0), "O3": (0, 1 / 3), "O4": (0.5, 0.5)},
    "emails_per_opportunity": {"O1": (1, 1), "O2": (NAN, 0), "O3": (0, 1), "O4": (1, 1)},
    "demos_per_opportunity": {"O1": (1, 1), "O2": (NAN, 0), "O3": (0, 0), "O4": (0, 0)},
    "touches_per_opportunity": {"O1": (2, 4), "O2": (NAN, 1), "O3": (1, 2), "O4": (2, 2)},
    # credited: a2 (e8), a3 (e1), a10 (e2), a11 (e6, after day 14), b3 (e5), c1 (e7)
    "impact_share": {"O1": (3 / 7, 0.4), "O2": (NAN, 1 / 3), "O3": (0.5, 1 / 3), "O4": (0, 0)},
}


def write_org(root, rows: dict[str, list[dict]], *, timezone: str = "UTC") -> Workspace:
    """A workspace holding exactly ``rows`` (columns left out are NULL)."""
    ws = init_workspace(root)
    cfg = ws.config
    cfg["workspace"]["timezone"] = timezone
    ws.save_config(cfg)
    with ws.transaction() as con:
        for name, records in rows.items():
            table = BY_NAME[name]
            frame = pd.DataFrame(records, columns=table.column_names).astype(object)
            frame = frame.where(frame.notna(), None)
            con.register("_rows", frame)
            casts = ", ".join(
                f'CAST("{c.name}" AS {_duck(c.ibis_type)}) AS "{c.name}"' for c in table.columns
            )
            con.execute(f'INSERT INTO "{name}" BY NAME SELECT {casts} FROM _rows')
            con.unregister("_rows")
    return ws


def _duck(ibis_type: str) -> str:
    return {
        "string": "VARCHAR",
        "int64": "BIGINT",
        "float64": "DOUBLE",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
    }[ibis_type]


def utc(ts):
    return ts


@pytest.fixture(scope="module")
def hand_ws(tmp_path_factory) -> Workspace:
    ws = write_org(tmp_path_factory.mktemp("hand") / "ws", HAND_ORG)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def hand_frame(hand_ws) -> pd.DataFrame:
    expr = practice_frame(Tables.of(hand_ws), list(BUILTINS), landmark_days=14, local=utc)
    return hand_ws.execute(expr).set_index("opportunity_id").sort_index()


def test_frame_has_one_row_per_opportunity_and_two_float_columns_per_practice(hand_frame):
    assert list(hand_frame.index) == ["O1", "O2", "O3", "O4"]
    want = [f"{v}__{p.id}" for p in BUILTINS for v in ("primary", "whole")]
    assert list(hand_frame.columns) == want
    assert all(str(t) == "float64" for t in hand_frame.dtypes)


@pytest.mark.parametrize("practice", list(EXPECTED))
def test_every_builtin_by_hand_in_both_variants(hand_frame, practice):
    for deal, (primary, whole) in EXPECTED[practice].items():
        got = hand_frame.loc[deal, [f"primary__{practice}", f"whole__{practice}"]].to_numpy()
        np.testing.assert_allclose(
            got, [primary, whole], rtol=0, atol=1e-12, equal_nan=True, err_msg=f"{deal}"
        )


def test_every_builtin_is_checked_by_hand():
    assert set(EXPECTED) == {p.id for p in BUILTINS}


def test_views_keep_only_the_deals_rows_before_the_cutoff(hand_ws):
    tables = Tables.of(hand_ws)
    whole = practice_views(tables, "whole", landmark_days=14, local=utc)
    acts = hand_ws.execute(whole.activities)
    pairs = set(zip(acts["opportunity_id"], acts["activity_id"], strict=True))
    assert ("O1", "a5") not in pairs and ("O2", "b4") not in pairs  # bulk e-mails
    assert ("O1", "a9") not in pairs  # after the close
    assert {("O1", "a7"), ("O1", "a12"), ("O4", "a12")} <= pairs  # unlinked, by the owner
    assert not any(a == "a8" for _, a in pairs)  # unlinked, by another rep
    assert acts.set_index("activity_id").loc["a7", "linked"] == False  # noqa: E712
    deals = hand_ws.execute(whole.opportunities).set_index("opportunity_id")
    assert "stage" not in deals.columns and "closed_at" not in deals.columns
    assert deals.loc["O4", "cutoff"] == T("2025-04-20 09:00")  # open: the data's as-of time
    landmark = practice_views(tables, "landmark", landmark_days=14, local=utc)
    at_risk = hand_ws.execute(landmark.opportunities).set_index("opportunity_id")
    assert sorted(at_risk.index) == ["O1", "O3", "O4"]  # O2 closed on day 7
    assert at_risk.loc["O1", "cutoff"] == T("2025-03-17 09:00")
    events = hand_ws.execute(whole.buyer_events)
    assert set(events.loc[events["event_id"] == "e8", "opportunity_id"]) == {"O1"}


def test_as_of_moves_the_open_deal_only(hand_ws):
    expr = practice_frame(
        Tables.of(hand_ws),
        [p for p in BUILTINS if p.id == "cadence"],
        landmark_days=14,
        local=utc,
        as_of=datetime(2025, 4, 29, 9),
    )
    got = hand_ws.execute(expr).set_index("opportunity_id")
    assert got.loc["O4", "whole__cadence"] == pytest.approx(2 / 4)  # 28 days open
    assert got.loc["O1", "whole__cadence"] == pytest.approx(7 / 6)


def test_a_longer_landmark_drops_deals_not_yet_at_risk(hand_ws):
    expr = practice_frame(
        Tables.of(hand_ws),
        [p for p in BUILTINS if p.id == "touches_per_opportunity"],
        landmark_days=21,
        local=utc,
    )
    got = hand_ws.execute(expr).set_index("opportunity_id").sort_index()
    # O1: a1, a2 (a4, a13, a11 answer replies); a6 (day 17) is a proposal, not a call or
    # e-mail; O3: c2 (day 17) joins; O4 (19 days of data) is not at risk
    np.testing.assert_allclose(
        got["primary__touches_per_opportunity"], [2, NAN, 2, NAN], equal_nan=True
    )


# ------------------------------------------------------------------ local months

TZ_ORG: dict[str, list[dict]] = {
    "reps": [{"rep_id": "S1", "name": "Solo"}],
    "accounts": [{"account_id": "B1", "name": "Bay", "owner_rep_id": "S1"}],
    "contacts": [{"contact_id": "K1", "account_id": "B1", "seniority": "staff"}],
    "opportunities": [
        {
            "opportunity_id": o,
            "account_id": "B1",
            "owner_rep_id": "S1",
            "created_at": T(c),
            "closed_at": T(x),
            "stage": "lost",
        }
        for o, c, x in (
            ("P1", "2025-03-10 09:00", "2025-03-20 09:00"),  # weeks from 03-10 and 03-17
            ("P3", "2025-04-07 09:00", "2025-04-10 09:00"),  # one week, touched
            ("P2", "2025-04-30 22:30", "2025-05-02 09:00"),  # 05-01 00:30 in Paris
        )
    ],
    "activities": _acts(
        [
            ("t1", "P1", "S1", "B1", "K1", "call", "2025-03-11 09:00"),
            ("t2", "P3", "S1", "B1", "K1", "email", "2025-04-08 09:00"),
        ]
    ),
}


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # UTC: March 1/2; April: P3's week touched, P2's week (from 04-30) not: 1/2.
        ("UTC", {"P1": NAN, "P2": 0.5, "P3": 0.5}),
        # Paris: P2 is created (and its week starts) in May, so April is 1/1 and P2 gets April.
        ("Europe/Paris", {"P1": NAN, "P2": 1.0, "P3": 0.5}),
    ],
)
def test_rep_period_uses_the_local_month_before_creation(tmp_path, zone, expected):
    with write_org(tmp_path / "ws", TZ_ORG, timezone=zone) as ws:

        def local(ts):
            return timezones.to_local(ts, zone, datetime(2025, 3, 1), datetime(2025, 6, 1))

        regularity = [p for p in BUILTINS if p.id == "cadence_regularity"]
        expr = practice_frame(Tables.of(ws), regularity, landmark_days=14, local=local)
        got = ws.execute(expr).set_index("opportunity_id")
    for deal, value in expected.items():
        for variant in ("primary", "whole"):
            np.testing.assert_allclose(
                got.loc[deal, f"{variant}__cadence_regularity"], value, equal_nan=True
            )


# ------------------------------------------------------------------ engines

#: one practice per kind of engine work (Spark takes seconds per practice even on a small org):
#: windows, first-of with a condition, epoch arithmetic and rates, week enumeration with local
#: months, buyer-impact credit; the custom practice below adds a join and a distinct count. The
#: other built-ins reuse these operations.
ENGINE_PRACTICES = (
    "response_within_4h",
    "meeting_before_proposal",
    "cadence",
    "cadence_regularity",
    "impact_share",
)
AS_OF = datetime(2026, 11, 1)  # after the synthetic data end: no scalar subquery per engine


def _engine_frame(root, engine: str, practices: list) -> pd.DataFrame:
    with Workspace.open(root, engine=engine) as ws:
        tables = Tables.of(ws)
        start = ws.execute(tables.opportunities.created_at.min())

        def local(ts):
            return timezones.to_local(ts, "Europe/Paris", start, AS_OF)

        expr = practice_frame(tables, practices, landmark_days=14, local=local, as_of=AS_OF)
        return ws.execute(expr).set_index("opportunity_id").sort_index()


def test_duckdb_frame_on_a_synthetic_org_is_sane(small_ws):
    got = _engine_frame(small_ws, "duckdb", list(BUILTINS))
    assert got.index.is_unique and len(got) > 1000
    for p in BUILTINS:
        whole = got[f"whole__{p.id}"]
        assert whole.notna().sum() > 0.5 * len(got), p.id
        if p.kind in ("binary", "share"):
            assert whole.dropna().between(0, 1).all(), p.id
        assert (whole.dropna() >= 0).all(), p.id
    # the landmark is measured on fewer deals, and over 14 days fewer contacts are reached
    assert got["primary__cadence"].notna().sum() < got["whole__cadence"].notna().sum()
    both = got[["primary__contacts_touched", "whole__contacts_touched"]].dropna()
    assert (both.iloc[:, 0] <= both.iloc[:, 1]).all()


@pytest.mark.spark
def test_duckdb_and_spark_agree_on_the_practice_frame(small_ws, tmp_path):
    require_spark()
    from brightspots.practices.custom import custom_practices

    custom = custom_practices(
        [
            {
                "id": "senior_contacts",
                "description": "Managers and executives touched.",
                "level": "opportunity",
                "higher_is_better": True,
                "sql": "SELECT a.opportunity_id, count(DISTINCT a.contact_id) AS value "
                "FROM activities AS a JOIN contacts AS c ON a.contact_id = c.contact_id "
                "WHERE c.seniority <> 'staff' GROUP BY a.opportunity_id",
            }
        ],
        reserved=set(),
    )
    practices = [p for p in BUILTINS if p.id in ENGINE_PRACTICES] + custom
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    duck = _engine_frame(root, "duckdb", practices)
    spark = _engine_frame(root, "spark", practices)
    assert list(duck.index) == list(spark.index)
    assert list(duck.columns) == list(spark.columns)
    for col in duck.columns:
        np.testing.assert_allclose(
            duck[col].to_numpy(float),
            spark[col].to_numpy(float),
            rtol=0,
            atol=1e-9,
            equal_nan=True,
            err_msg=col,
        )
    assert duck["whole__senior_contacts"].max() >= 2


def test_only_the_answer_to_a_reply_is_left_out_of_outreach(tmp_path):
    """The rep's next touch after a buyer reply answers it, however late; touches after that
    answer are outreach again, and two replies before one touch leave out one touch."""
    org = {
        **{k: HAND_ORG[k] for k in ("teams", "reps", "accounts", "contacts")},
        "opportunities": [
            {
                "opportunity_id": "O9",
                "account_id": "A2",
                "owner_rep_id": "R1",
                "created_at": T("2025-03-03 09:00"),
                "closed_at": T("2025-03-31 09:00"),
                "stage": "won",
            }
        ],
        "activities": _acts(
            [
                ("x1", "O9", "R1", "A2", "C6", "call", "2025-03-03 10:00"),  # outreach
                ("x2", "O9", "R1", "A2", "C6", "email", "2025-03-04 10:00"),  # answers y1 (1 h)
                ("x3", "O9", "R1", "A2", "C6", "call", "2025-03-04 12:00"),  # outreach again
                ("x4", "O9", "R1", "A2", "C6", "email", "2025-03-09 10:00"),  # answers y2+y3
                ("x5", "O9", "R1", "A2", "C6", "call", "2025-03-10 10:00"),  # outreach
            ]
        ),
        "buyer_events": _events(
            [
                ("y1", "O9", "A2", "C6", "reply", "2025-03-04 09:00"),
                ("y2", "O9", "A2", "C6", "reply", "2025-03-05 09:00"),
                ("y3", "O9", "A2", "C6", "reply", "2025-03-06 09:00"),  # answered 3 days late
            ]
        ),
    }
    ws = write_org(tmp_path / "ws", org)
    try:
        wanted = [
            p for p in BUILTINS if p.id in ("touches_per_opportunity", "emails_per_opportunity")
        ]
        got = ws.execute(practice_frame(Tables.of(ws), wanted, landmark_days=14, local=utc))
    finally:
        ws.close()
    row = got.set_index("opportunity_id").loc["O9"]
    assert row["whole__touches_per_opportunity"] == 3  # x1, x3, x5
    assert row["whole__emails_per_opportunity"] == 0  # both e-mails answer replies
