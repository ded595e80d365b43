"""Care answers in the engine: rescaling (an empty scale_min), reverse items, the dimension,
the owner fallback, leaders and teams, respondent keys and anonymous waves, local quarters."""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd
import pytest

from brightspots import schema, timezones
from brightspots.care import responses
from brightspots.care.config import CareSettings
from brightspots.care.index import units
from conftest import require_spark


class MemSource:
    """Hand-made canonical tables on an in-memory engine (a care ``Source``): every contract
    table exists, typed as the workspace stores it; those not given are empty."""

    def __init__(self, frames: dict[str, pd.DataFrame], timezone: str = "UTC", con=None):
        self.con = con if con is not None else ibis.duckdb.connect()
        self.timezone = timezone
        self.frames = frames
        self.tables: dict[str, ibis.Table] = {}

    def table(self, name: str):
        if name not in self.tables:  # an in-memory table, registered by the engine that runs it
            t = schema.table(name)
            sch = ibis.schema({c.name: c.ibis_type for c in t.columns})
            df = self.frames.get(name, pd.DataFrame(columns=list(sch.names)))
            df = df.reindex(columns=list(sch.names)).astype(object)
            df = df.where(df.notna(), None)
            self.tables[name] = ibis.memtable(df, schema=sch)
        return self.tables[name]

    def execute(self, expr) -> pd.DataFrame:
        return self.con.execute(expr)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


TEAMS = pd.DataFrame({"team_id": ["T1", "T2"], "name": ["North", "South"]})
REPS = pd.DataFrame(
    {
        "rep_id": ["M1", "R1", "R2", "R3"],
        "name": ["Mia", "Rob", "Ria", "Ray"],
        "team_id": ["T1", "T1", "T1", "T2"],
        "manager_rep_id": [None, "M1", "M1", None],
    }
)
ACCOUNTS = pd.DataFrame(
    {"account_id": ["A1", "A2", "A3"], "name": ["a", "b", "c"], "owner_rep_id": ["R1", "R2", "R3"]}
)


def answer(rid, question, score, *, dim="care", lo=1.0, hi=5.0, who="C1", kind="customer",
           subject="R1", account="A1", at="2026-03-10 12:00", survey="S"):  # fmt: skip
    return {
        "response_id": rid,
        "survey": survey,
        "respondent_id": who,
        "respondent_type": kind,
        "subject_rep_id": subject,
        "account_id": account,
        "question_id": question,
        "dimension": dim,
        "score": float(score),
        "scale_min": lo,
        "scale_max": hi,
        "submitted_at": ts(at),
    }


def source(rows: list[dict], **kw) -> MemSource:
    frames = {"teams": TEAMS, "reps": REPS, "accounts": ACCOUNTS}
    return MemSource({**frames, "survey_responses": pd.DataFrame(rows)}, **kw)


def answers_of(src: MemSource, settings: CareSettings | None = None) -> pd.DataFrame:
    settings = settings or CareSettings()
    t = responses.answers(src, settings, lambda t: t)
    return src.execute(t).sort_values("question_id").reset_index(drop=True)


def test_rescaling_reads_an_empty_scale_min_from_the_question_and_reverses_items():
    rows = [
        answer("1", "five", 4),  # 1-5: (4 - 1) / 4
        answer("2", "ten", 5, lo=None, hi=10.0),  # empty minimum, a 0 elsewhere: 0-10
        answer("3", "ten", 0, lo=None, hi=10.0, who="C2"),
        answer("4", "stars", 2, lo=None, hi=5.0),  # empty minimum, never below 1: 1-5
        answer("5", "rushed", 5),  # reverse-coded: 1 - 1
        answer("6", "nps", 9, dim="loyalty", lo=0.0, hi=10.0),  # another dimension
        answer("7", "upper", 3, dim=" CARE "),  # the dimension is compared case-insensitively
    ]
    got = answers_of(source(rows), CareSettings(reverse_items=("rushed",)))
    x = dict(zip(got["question_id"] + "/" + got["respondent"], got["x"], strict=True))
    assert x == {
        "five/C1": 0.75,
        "ten/C1": 0.5,
        "ten/C2": 0.0,
        "stars/C1": 0.25,
        "rushed/C1": 0.0,
        "upper/C1": 0.5,
    }
    # without the setting the item counts as it stands
    plain = answers_of(source(rows))
    assert plain.loc[plain["question_id"] == "rushed", "x"].tolist() == [1.0]


def test_subject_falls_back_to_the_account_owner_for_customers_only():
    rows = [
        answer("1", "q", 5, subject=None, account="A2"),  # customer: R2 owns A2
        answer("2", "q", 5, subject=None, account="A3", kind="employee", who="E1"),
        answer("3", "q", 5, subject="R1", account="A2", who="C2"),  # a named subject wins
    ]
    src = source(rows)
    counted = src.execute(responses.counts(responses.resolved(src, CareSettings(), lambda t: t)))
    counted = counted.set_index("source")
    assert counted.loc["customer", "owner_fallback"] == 1
    assert counted.loc["employee", "without_subject"] == 1  # no fallback for employees
    got = answers_of(src)
    assert sorted(zip(got["respondent"], got["subject_rep_id"], got["fallback"], strict=True)) == [
        ("C1", "R2", True),
        ("C2", "R1", False),
    ]


def test_leaders_teams_and_respondent_keys():
    rows = [
        # one named customer, two items of one submission, and a second submission
        answer("1", "q1", 5, who="C1", subject="R1"),
        answer("2", "q2", 3, who="C1", subject="R1"),
        answer("3", "q1", 1, who="C1", subject="R1", at="2026-04-10 12:00"),
        answer("4", "q1", 5, who="C2", subject="R3", account="A3"),
        # an employee about their manager (a leader)
        answer("5", "q1", 4, who="E1", kind="employee", subject="M1", account=None),
    ]
    src = source(rows)
    got = answers_of(src)
    leader = dict(zip(got["subject_rep_id"], got["leader"], strict=True))
    assert leader == {"R1": False, "R3": False, "M1": True}
    team = dict(zip(got["subject_rep_id"], got["team_id"], strict=True))
    assert team == {"R1": "T1", "R3": "T2", "M1": "T1"}
    sums = src.execute(
        responses.respondent_sums(responses.answers(src, CareSettings(), lambda t: t))
    )
    by = sums.set_index(["level", "unit_id", "source", "respondent"]).sort_index()
    c1 = by.loc[("rep", "R1", "customer", "C1")]
    assert (c1["n"], c1["sum_x"], c1["submissions"]) == (3, 1.5, 2)
    assert c1["n_odd"] == 2 and c1["sum_odd"] == 1.5  # March; April is even
    assert set(by.loc["leader"].index.get_level_values("unit_id")) == {"M1"}
    team1 = by.loc[("team", "T1")]
    assert sorted(team1.index.get_level_values("respondent")) == ["C1", "E1"]
    company = by.loc[("company", "company", "customer")]
    assert sorted(company.index) == ["C1", "C2"]
    u = (
        units(sums, ["level", "unit_id", "source"])
        .set_index(["level", "unit_id", "source"])
        .sort_index()
    )
    r1 = u.loc[("rep", "R1", "customer")]
    assert r1["mean"] == pytest.approx(0.5)
    assert (r1["respondents"], r1["responses"], r1["clusters"]) == (1, 2, 1)


def test_anonymous_respondents_count_as_the_largest_wave():
    rows = []
    n = 0
    # a quarterly pulse about M1, answered by the same 6 people each quarter (anonymously),
    # and by 7 in the last quarter
    for quarter, people in (("2025-05", 6), ("2025-08", 6), ("2025-11", 6), ("2026-02", 7)):
        for p in range(people):
            n += 1
            at = f"{quarter}-{10 + p:02d} 09:00"
            rows.append(
                answer(
                    str(n),
                    "q1",
                    4,
                    who=None,
                    kind="employee",
                    subject="M1",
                    account=None,
                    at=at,
                    survey="Pulse",
                )  # fmt: skip
            )
            # the same submission's second care item is one answer of the same respondent key
            rows.append(
                answer(
                    f"{n}b",
                    "q2",
                    2,
                    who=None,
                    kind="employee",
                    subject="M1",
                    account=None,
                    at=at,
                    survey="Pulse",
                )  # fmt: skip
            )
    src = source(rows)
    sums = src.execute(
        responses.respondent_sums(responses.answers(src, CareSettings(), lambda t: t))
    )
    u = (
        units(sums, ["level", "unit_id", "source"])
        .set_index(["level", "unit_id", "source"])
        .sort_index()
    )
    for key in (
        ("rep", "M1", "employee"),
        ("leader", "M1", "employee"),
        ("team", "T1", "employee"),
    ):
        row = u.loc[key]
        assert row["respondents"] == 7  # not 25 submissions
        assert row["responses"] == 25
        assert row["clusters"] == 25  # each anonymous submission is one cluster
        assert row["mean"] == pytest.approx(0.5)


def test_quarters_and_months_are_local():
    # 23:30 UTC on 31 December is 08:30 on 1 January in Tokyo: the next quarter, an odd month
    rows = [answer("1", "q", 5, at="2025-12-31 23:30")]
    src = source(rows, timezone="Asia/Tokyo")
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2026-12-31")

    def local(t):
        return timezones.to_local(t, "Asia/Tokyo", start, end)

    got = src.execute(responses.answers(src, CareSettings(), local))
    assert got["period"].tolist() == ["2026-Q1"]
    assert got["odd_month"].tolist() == [True]
    span = responses.span(src, responses.answers(src, CareSettings(), local), CareSettings())
    assert span is not None and span.trend_start == pd.Timestamp("2024-10-01")
    assert span.start == pd.Timestamp("2024-12-31 23:30")


def test_no_care_answers_gives_no_span():
    src = source([answer("1", "nps", 9, dim="loyalty", lo=0.0, hi=10.0)])
    rows = responses.answers(src, CareSettings(), lambda t: t)
    assert responses.span(src, rows, CareSettings()) is None
    assert src.execute(responses.respondent_sums(rows)).empty


@pytest.mark.spark
def test_spark_gives_the_same_sums():
    session = require_spark()  # the session's one Spark, in UTC
    rows = [
        answer("1", "q1", 5, who="C1", subject=None, account="A1"),
        answer("2", "q2", 2, lo=None, hi=5.0, who="C1", subject=None, account="A1"),
        answer("3", "q1", 3, who="C2", subject="R3", account="A3", at="2026-04-01 10:00"),
        answer("4", "q1", 4, who=None, kind="employee", subject="M1", account=None),
        answer(
            "5",
            "q1",
            2,
            who=None,
            kind="employee",
            subject="M1",
            account=None,
            at="2026-03-11 12:00",
        ),  # fmt: skip
    ]
    settings = CareSettings(reverse_items=("q2",))
    keys = ["level", "unit_id", "source", "respondent"]
    results = []
    for src in (source(rows), source(rows, con=ibis.pyspark.connect(session))):
        expr = responses.respondent_sums(responses.answers(src, settings, lambda t: t))
        got = src.execute(expr).sort_values(keys).reset_index(drop=True)
        results.append(got[list(responses.SUM_COLUMNS)])
    duck, spark = results
    # 4 keys (C1, C2, two anonymous submissions): 4 rep, 2 leader, 4 team and 4 company rows
    assert len(duck) == 14
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False)
