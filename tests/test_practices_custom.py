"""A workspace's own practices: SQL over the practice views, checked at config load, run on the
engine like a built-in."""

from __future__ import annotations

import numpy as np
import pytest

from brightspots.practices.builtin import BUILTINS
from brightspots.practices.custom import custom_practices
from brightspots.practices.features import practice_frame
from brightspots.practices.registry import PracticeConfigError
from brightspots.practices.views import Tables
from brightspots.workspace import Workspace
from test_practices_features import HAND_ORG, write_org

BUILTIN_IDS = {p.id for p in BUILTINS}


def entry(**over) -> dict:
    base = {
        "id": "champion_calls",
        "description": "Calls on the deal.",
        "level": "opportunity",
        "higher_is_better": True,
        "sql": "SELECT opportunity_id, count(*) AS value FROM activities "
        "WHERE type = 'call' GROUP BY opportunity_id",
    }
    return {**base, **over}


def utc(ts):
    return ts


# ------------------------------------------------------------------ checked at config load

BAD = [
    ({"sql": "SELECT 1 AS value; SELECT 2 AS value"}, "its sql holds 2 statements"),
    ({"sql": "DELETE FROM activities"}, "its sql is a DELETE statement; write a single SELECT"),
    ({"sql": "SELEC opportunity_id FROM"}, "its sql does not parse as SQL"),
    (
        {"sql": "SELECT opportunity_id, count(*) AS value FROM deals GROUP BY 1"},
        "its sql reads table 'deals', which is not one of the practice views (opportunities, "
        "activities, buyer_events, contacts, accounts, reps)",
    ),
    (
        {"sql": "SELECT opportunity_id, 1 AS value FROM main.activities"},
        "its sql reads table 'main.activities'",
    ),
    (
        {"sql": "SELECT opportunity_id, 1 AS value FROM read_csv('secrets.csv')"},
        "which is not one of the practice views",
    ),
    (
        {
            "sql": "SELECT opportunity_id, count(*) AS value FROM activities WHERE kind = 'x' "
            "GROUP BY 1"
        },
        "its sql reads column 'kind', which the views it reads do not have (activities: "
        "activity_id,",
    ),
    (
        {"sql": "SELECT opportunity_id, amount AS value FROM opportunities"},
        "amount is an outcome, left out of the opportunities view",
    ),
    (
        {"sql": "SELECT opportunity_id, count(*) AS n FROM activities GROUP BY 1"},
        "its sql returns (opportunity_id, n); an 'opportunity' practice returns "
        "(opportunity_id, value)",
    ),
    (
        {
            "sql": "SELECT rep_id, strftime(occurred_local, '%Y-%m') AS period, count(*) AS value "
            "FROM activities GROUP BY 1, 2"
        },
        "its level is 'opportunity' but its sql returns (rep_id, period, value), the columns of "
        "a 'rep_period' practice",
    ),
    (
        {"level": "rep_period"},
        "its level is 'rep_period' but its sql returns (opportunity_id, value)",
    ),
    (
        {"sql": "SELECT opportunity_id, max(type) AS value FROM activities GROUP BY 1"},
        "its value column is VARCHAR; a practice value must be a number",
    ),
    (
        {
            "level": "rep_period",
            "sql": "SELECT rep_id, date_trunc('month', occurred_local) AS "
            "period, 1 AS value FROM activities",
        },
        "its period column is TIMESTAMP; a period is the text 'YYYY-MM'",
    ),
    (
        {
            "sql": "WITH activities AS (SELECT 1 AS x) SELECT opportunity_id, 1 AS value "
            "FROM opportunities"
        },
        "its sql defines a WITH table named 'activities', the name of a practice view",
    ),
    (
        {"sql": "SELECT opportunity_id, no_such_function(1) AS value FROM opportunities"},
        "its sql fails: Catalog Error: Scalar Function with name no_such_function does not exist",
    ),
    ({"id": "Champion Calls"}, "practice 'Champion Calls' in brightspots.toml: the id must be"),
    ({"id": "cadence"}, "'cadence' is the id of a built-in practice; choose another id"),
    ({"sqll": "SELECT 1"}, "unknown field 'sqll'"),
    ({"level": "team"}, "level = 'team'; use one of 'opportunity', 'rep_period'"),
    ({"kind": "ratio"}, "kind = 'ratio'; use one of 'binary', 'count'"),
    ({"higher_is_better": "yes"}, "field 'higher_is_better' = 'yes' must be true or false"),
    ({"absent": "nan"}, "absent = 'nan'; use one of 'zero', 'undefined'"),
    ({"description": " "}, "field 'description' = ' ' must be text"),
]


@pytest.mark.parametrize(("over", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_a_bad_custom_practice_is_refused_naming_it_and_what_is_wrong(over, message):
    pid = over.get("id", "champion_calls")
    with pytest.raises(PracticeConfigError) as err:
        custom_practices([entry(**over)], reserved=BUILTIN_IDS)
    text = str(err.value)
    assert text.startswith(f"practice {pid!r} in brightspots.toml: "), text
    assert message in text, text


@pytest.mark.parametrize("field", ["description", "level", "higher_is_better", "sql"])
def test_a_missing_field_is_named(field):
    bad = entry()
    del bad[field]
    with pytest.raises(
        PracticeConfigError,
        match=f"practice 'champion_calls' in brightspots.toml: missing field '{field}'",
    ):
        custom_practices([bad], reserved=BUILTIN_IDS)


def test_an_entry_without_id_or_twice_the_same_id_is_refused():
    nameless = entry()
    del nameless["id"]
    with pytest.raises(PracticeConfigError, match=r"\[\[practices.custom\]\] entry 2 .* no id"):
        custom_practices([entry(id="other"), nameless], reserved=BUILTIN_IDS)
    with pytest.raises(PracticeConfigError, match="defined twice, by .* entries 1 and 2"):
        custom_practices([entry(), entry()], reserved=BUILTIN_IDS)
    with pytest.raises(PracticeConfigError, match="must be a list"):
        custom_practices({"id": "x"}, reserved=BUILTIN_IDS)


def test_defaults_follow_the_kind_and_level():
    count, share, monthly = custom_practices(
        [
            entry(),
            entry(
                id="call_mix",
                kind="share",
                sql="SELECT opportunity_id, avg(CASE WHEN type = 'call' THEN 1 ELSE 0 END) "
                "AS value FROM activities GROUP BY 1",
            ),
            entry(
                id="monthly_touches",
                level="rep_period",
                sql="SELECT rep_id, strftime(occurred_local, '%Y-%m') AS period, "
                "count(*) AS value FROM activities GROUP BY 1, 2",
            ),
        ],
        reserved=BUILTIN_IDS,
    )
    assert (count.kind, count.absent, count.primary, count.source) == (
        "count",
        "zero",
        "landmark",
        "custom",
    )
    assert count.phrase == "calls on the deal"
    assert (share.kind, share.absent) == ("share", "undefined")
    assert (monthly.level, monthly.primary) == ("rep_period", "prior_period")


# ------------------------------------------------------------------ run like a built-in

EQUIVALENT = [
    entry(
        id="threads",
        kind="binary",
        sql="SELECT opportunity_id, count(DISTINCT contact_id) >= 3 AS value "
        "FROM activities GROUP BY opportunity_id",
    ),
    entry(
        id="weekly_touches",
        kind="rate",
        sql="""
        WITH stamped AS (
            SELECT opportunity_id, activity_id, epoch(occurred_at) AS s, 1 AS kind
            FROM activities
            UNION ALL
            SELECT opportunity_id, NULL AS activity_id, epoch(occurred_at) AS s, 0 AS kind
            FROM buyer_events WHERE type = 'reply'
        ), lagged AS (
            SELECT opportunity_id, kind, s,
                   lag(kind) OVER (PARTITION BY opportunity_id ORDER BY s, kind, activity_id)
                       AS prev_kind
            FROM stamped
        ), n AS (
            SELECT opportunity_id, count(*) AS k FROM lagged
            WHERE kind = 1 AND coalesce(prev_kind <> 0, true)
            GROUP BY 1
        )
        SELECT o.opportunity_id,
               coalesce(n.k, 0) / (greatest(epoch(o.cutoff) - epoch(o.created_at), 86400)
                                   / 604800.0) AS value
        FROM opportunities AS o LEFT JOIN n ON n.opportunity_id = o.opportunity_id
        """,
    ),
    entry(
        id="mail_mix",
        kind="share",
        sql="SELECT opportunity_id, avg(CASE WHEN type = 'email' THEN 1.0 ELSE 0.0 END) AS value "
        "FROM activities GROUP BY 1",
    ),
]
SAME_AS = {"threads": "multithreading", "weekly_touches": "cadence", "mail_mix": "email_share"}


def test_a_custom_practice_gives_the_same_values_as_the_equivalent_builtin(small_ws):
    custom = custom_practices(EQUIVALENT, reserved=BUILTIN_IDS)
    builtins = [p for p in BUILTINS if p.id in SAME_AS.values()]
    with Workspace.open(small_ws) as ws:
        expr = practice_frame(Tables.of(ws), builtins + custom, landmark_days=14, local=utc)
        got = ws.execute(expr)
    assert len(got) > 1000
    for mine, theirs in SAME_AS.items():
        for variant in ("primary", "whole"):
            np.testing.assert_allclose(
                got[f"{variant}__{mine}"].to_numpy(float),
                got[f"{variant}__{theirs}"].to_numpy(float),
                rtol=1e-12,
                atol=1e-12,
                equal_nan=True,
                err_msg=f"{variant} {mine}",
            )
        assert got[f"primary__{mine}"].isna().sum() > 0  # deals closed before day 14


@pytest.fixture(scope="module")
def hand_ws(tmp_path_factory):
    ws = write_org(tmp_path_factory.mktemp("custom") / "ws", HAND_ORG)
    yield ws
    ws.close()


def _frame(ws, entries):
    practices = custom_practices(entries, reserved=BUILTIN_IDS)
    expr = practice_frame(Tables.of(ws), practices, landmark_days=14, local=utc)
    return ws.execute(expr).set_index("opportunity_id").sort_index()


def test_a_rep_period_practice_gives_each_deal_its_owners_previous_month(hand_ws):
    got = _frame(
        hand_ws,
        [
            entry(
                id="monthly_touches",
                level="rep_period",
                sql="SELECT rep_id, strftime(occurred_local, '%Y-%m') AS period, count(*) AS value "
                "FROM activities GROUP BY 1, 2",
            )
        ],
    )
    # R1's own rows on its deals in March: a1 a2 a3 a4 a13 a11 a6 a7 (O1) and b1 b2 b3 (O2) = 11;
    # only O4 (April) has a previous month with data
    expected = [np.nan, np.nan, np.nan, 11.0]
    for variant in ("primary", "whole"):
        np.testing.assert_allclose(got[f"{variant}__monthly_touches"], expected, equal_nan=True)


def test_the_landmark_views_hide_everything_after_day_n(hand_ws):
    got = _frame(
        hand_ws,
        [
            entry(
                id="late_rows",
                sql="SELECT a.opportunity_id, count(*) AS value FROM activities AS a "
                "JOIN opportunities AS o ON a.opportunity_id = o.opportunity_id "
                "WHERE a.occurred_at >= o.cutoff OR a.occurred_at < o.created_at GROUP BY 1",
            ),
            entry(
                id="replies",
                sql="SELECT opportunity_id, count(*) AS value FROM buyer_events "
                "WHERE type = 'reply' GROUP BY 1",
            ),
        ],
    )
    np.testing.assert_allclose(got["primary__late_rows"], [0, np.nan, 0, 0], equal_nan=True)
    np.testing.assert_allclose(got["whole__late_rows"], [0, 0, 0, 0])
    # O1: e1 e2 e8 before day 14, e4 too by the close; O2 e5; O3 e7
    np.testing.assert_allclose(got["primary__replies"], [3, np.nan, 1, 0], equal_nan=True)
    np.testing.assert_allclose(got["whole__replies"], [4, 1, 1, 0])


# ------------------------------------------------------------------ checked on the engine

ENGINE_BAD = [
    (
        entry(sql="SELECT opportunity_id, 1 AS value FROM activities"),
        "its sql returns 10 rows for opportunity_id 'O1' (whole views); return at most one "
        "row per opportunity",
    ),
    (
        entry(
            level="rep_period",
            sql="SELECT rep_id, strftime(occurred_local, '%Y/%m') AS period, 1 AS value "
            "FROM activities GROUP BY 1, 2",
        ),
        "its sql returns period '2025/03'",
    ),
]


@pytest.mark.parametrize(("bad", "message"), ENGINE_BAD, ids=["repeat", "period"])
def test_what_only_the_engine_can_tell_is_refused_naming_the_practice(hand_ws, bad, message):
    with pytest.raises(PracticeConfigError) as err:
        _frame(hand_ws, [bad])
    assert str(err.value).startswith("practice 'champion_calls' in brightspots.toml: ")
    assert message in str(err.value), str(err.value)


def test_a_custom_practice_is_analysed_like_a_builtin(small_ws, tmp_path):
    """A practice from the config gets its row in practice_effects, with the same estimates as
    the built-in it mirrors, and appears in each rep's practice rates."""
    import shutil

    from brightspots.analysis import analyze

    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    threads = EQUIVALENT[0]  # 3+ distinct contacts: the built-in multithreading
    with Workspace.open(root) as ws:
        cfg = ws.config
        cfg["practices"]["custom"] = [threads]
        ws.save_config(cfg)
    with Workspace.open(root) as ws:
        run = analyze(ws)
        effects = ws.run_results("practice_effects", run.run_id).set_index("practice")
        reps = ws.run_results("practice_reps", run.run_id)
    mine, builtin = effects.loc[threads["id"]], effects.loc["multithreading"]
    assert mine["n"] == builtin["n"] > 0
    for col in ("odds_ratio", "or_low", "or_high", "pp_diff", "p", "whole_deal_odds_ratio"):
        assert mine[col] == pytest.approx(builtin[col], rel=1e-9), col
    assert isinstance(mine["sentence"], str) and mine["sentence"]
    ours = reps[reps["practice"] == threads["id"]].set_index("rep_id")["value"]
    theirs = reps[reps["practice"] == "multithreading"].set_index("rep_id")["value"]
    assert ours.sort_index().tolist() == pytest.approx(theirs.sort_index().tolist())
