"""Care and results: the account frame's rules on a hand org, the estimates against statsmodels
(clustered by rep, t quantiles), the logit offset, the minimums and the sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from brightspots.care import responses, results
from brightspots.care.config import CareSettings
from brightspots.care.results import COVARIATES, CareEffect, design, estimate
from brightspots.care.words import covariate_words, results_sentence
from brightspots.practices.effects.logit import fit_clustered
from brightspots.windows import Window
from test_care_responses import MemSource, answer, ts

AS_OF = pd.Timestamp("2026-12-31")
YEAR = Window(months=12)


def opp(oid, account, created, closed, stage, owner="R1"):
    return {
        "opportunity_id": oid,
        "account_id": account,
        "owner_rep_id": owner,
        "created_at": ts(created),
        "closed_at": ts(closed) if closed else None,
        "stage": stage,
    }


def hand_org() -> MemSource:
    reps = pd.DataFrame(
        {"rep_id": ["R1", "R2", "R3"], "name": ["a", "b", "c"], "team_id": ["T1", "T1", "T2"]}
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "name": ["a1", "a2", "a3", "a4"],
            "owner_rep_id": ["R1", "R2", "R3", "R1"],
            "segment": ["smb", "smb", "enterprise", "smb"],
            "annual_potential": [100.0, 300.0, None, 500.0],
        }
    )
    surveys = [
        # A1: the index survey (two items: s = (1 + 0.5) / 2) and a later one, not used
        answer("1", "q1", 5, who="C1", subject="R2", account="A1", at="2025-03-01 10:00"),
        answer("2", "q2", 3, who="C1", subject="R2", account="A1", at="2025-03-01 10:00"),
        answer("3", "q1", 1, who="C9", subject="R2", account="A1", at="2025-06-01 10:00"),
        # A2: surveyed less than a year before the end of the data: no outcome yet
        answer("4", "q1", 5, who="C2", subject="R2", account="A2", at="2026-02-01 10:00"),
        # A3: no subject: the owner R3
        answer("5", "q1", 2, who="C3", subject=None, account="A3", at="2025-01-15 10:00"),
        # A4: employees only
        answer("6", "q1", 4, who=None, kind="employee", subject="R1", account="A4"),
        answer("7", "nps", 9, dim="loyalty", lo=0.0, hi=10.0, who="C4", account="A4"),
    ]
    opps = [
        opp("O1", "A1", "2025-04-01", "2025-09-01", "won"),  # counts
        opp("O2", "A1", "2025-02-01", "2025-05-01", "won"),  # created before the survey
        opp("O3", "A1", "2025-05-01", "2026-04-01", "won"),  # won after survey + 12 months
        opp("O4", "A1", "2025-05-01", "2025-08-01", "lost"),  # lost
        opp("O5", "A1", "2025-05-01", None, "open"),  # open
        opp("O6", "A3", "2025-02-01", "2025-03-01", "won"),
        opp("O7", "A3", "2025-06-01", "2026-01-14", "won"),  # just inside the 12 months
        opp("O8", "A2", "2026-03-01", "2026-04-01", "won"),
    ]
    return MemSource(
        {
            "reps": reps,
            "teams": pd.DataFrame({"team_id": ["T1", "T2"], "name": ["N", "S"]}),
            "accounts": accounts,
            "survey_responses": pd.DataFrame(surveys),
            "opportunities": pd.DataFrame(opps),
        }
    )


def test_account_frame_reads_the_first_survey_and_repeat_wins_within_the_window():
    src = hand_org()
    rows = responses.answers(src, CareSettings(), lambda t: t)
    frame = results.account_frame(src, rows, as_of=AS_OF, window=YEAR).set_index("account_id")
    assert list(frame.index) == ["A1", "A3"]
    a1, a3 = frame.loc["A1"], frame.loc["A3"]
    assert (a1["rep_id"], a1["s"], a1["n_items"]) == ("R2", 0.75, 2)
    assert (a1["y"], a1["repeat_deals"]) == (1, 1)
    assert a1["surveyed_at"] == pd.Timestamp("2025-03-01 10:00")
    assert (a3["rep_id"], a3["s"], a3["y"], a3["repeat_deals"]) == ("R3", 0.25, 1, 2)
    # covariates fixed before the survey: segment, potential, the rep's book, the quarter
    assert (a1["segment"], a1["annual_potential"], a1["quarter"]) == ("smb", 100.0, "2025-Q1")
    assert a1["territory_potential"] == 300.0  # R2's book: A2
    assert math.isnan(a3["annual_potential"]) and math.isnan(a3["territory_potential"])

    # deals after the survey, closed within the window, that the case-mix model scored
    scored = MemSource(
        {
            "opportunities": pd.DataFrame(
                [
                    opp(o, a, "2025-01-01", c, "won")
                    for o, a, c in (
                        ("O1", "A1", "2025-09-01"),
                        ("O4", "A1", "2025-08-01"),
                        ("O3", "A1", "2026-04-01"),
                        ("O7", "A3", "2026-01-14"),
                    )
                ]  # fmt: skip
            )
        }
    ).table("opportunities")
    scored = scored.select(
        "opportunity_id",
        "account_id",
        "closed_at",
        y=(scored.opportunity_id != "O4").cast("int64"),
        p_hat=scored.closed_at.month().cast("float64") / 20,
    )
    deals = results.deal_frame(src, rows, scored, as_of=AS_OF, window=YEAR)
    assert deals["opportunity_id"].tolist() == ["O1", "O4", "O7"]  # O5 open, O2 and O6 before
    assert deals["rep_id"].tolist() == ["R2", "R2", "R3"]
    assert deals["y"].tolist() == [1, 0, 1]
    assert deals["p_hat"].tolist() == pytest.approx([0.45, 0.4, 0.05])


def simulated(n=600, reps=40, beta=2.0, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rep = rng.integers(0, reps, n)
    rep_effect = rng.normal(0, 0.4, reps)[rep]
    s = np.clip(rng.normal(0.65, 0.15, n) + 0.05 * rep_effect, 0, 1)
    segment = rng.choice(["smb", "mid", "enterprise", "gov"], n, p=[0.5, 0.3, 0.17, 0.03])
    potential = np.exp(rng.normal(11, 1, n))
    potential[rng.random(n) < 0.1] = np.nan
    quarter = rng.choice(["2025-Q1", "2025-Q2", "2025-Q3"], n)
    eta = -2.3 + beta * s + 0.3 * (segment == "enterprise") + rep_effect
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    deals = y * rng.integers(1, 3, n)
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "rep_id": [f"R{r:02d}" for r in rep],
            "s": s,
            "y": y,
            "repeat_deals": deals,
            "segment": segment,
            "annual_potential": potential,
            "territory_potential": np.exp(rng.normal(12, 0.5, n)),
            "quarter": quarter,
        }
    )


def test_repeat_business_equals_statsmodels_clustered_by_rep_with_t_intervals():
    frame = simulated()
    effects = estimate(frame, covariates=COVARIATES, pool_min_cases=30)
    repeat, deals = effects[0], effects[1]
    assert (repeat.outcome, deals.outcome) == ("repeat_12m", "repeat_deals_12m")
    X, names = design(frame, COVARIATES, pool_min_cases=30)
    # "gov" (about 18 accounts) is pooled into the reference; potential has a missing indicator
    assert names[-1] == "s" and "segment[gov]" not in names and "segment[(other)]" in names
    assert "annual_potential[missing]" in names
    groups = pd.factorize(frame["rep_id"], sort=True)[0]
    ref = sm.GLM(frame["y"].to_numpy(float), X, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    assert repeat.estimate == pytest.approx(ref.params[-1], rel=1e-6)
    assert repeat.se == pytest.approx(ref.bse[-1], rel=1e-5)
    t = stats.t.ppf(0.975, 39)
    assert repeat.n_reps == 40 and repeat.n == 600 and repeat.n_events == frame["y"].sum()
    assert repeat.lower_95 == pytest.approx(repeat.estimate - t * repeat.se)
    assert repeat.upper_95 == pytest.approx(repeat.estimate + t * repeat.se)
    assert repeat.ratio_per_10 == pytest.approx(math.exp(repeat.estimate / 10))
    assert repeat.ratio_lower_95 == pytest.approx(math.exp(repeat.lower_95 / 10))
    assert repeat.p_value == pytest.approx(2 * stats.t.sf(abs(ref.params[-1] / ref.bse[-1]), 39))
    # percentage points per 10 points: the average change from s - 0.05 to s + 0.05
    up, down = X.copy(), X.copy()
    up[:, -1] += 0.05
    down[:, -1] -= 0.05
    expected = 100 * np.mean(ref.predict(up) - ref.predict(down))
    assert repeat.pp_per_10 == pytest.approx(expected, rel=1e-5)
    assert repeat.pp_lower_95 < repeat.pp_per_10 < repeat.pp_upper_95

    ref_count = sm.GLM(frame["repeat_deals"].to_numpy(float), X, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    assert deals.estimate == pytest.approx(ref_count.params[-1], rel=1e-6)
    assert deals.se == pytest.approx(ref_count.bse[-1], rel=1e-6)
    assert deals.ratio_per_10 == pytest.approx(math.exp(deals.estimate / 10))
    assert math.isnan(deals.pp_per_10)
    assert "rate ratio" in deals.sentence and deals.note == ""


def test_the_offset_fit_equals_statsmodels():
    rng = np.random.default_rng(5)
    n = 800
    s = rng.uniform(0, 1, n)
    offset = rng.normal(-0.5, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(offset + 0.2 + 0.8 * s)))).astype(float)
    groups = rng.integers(0, 30, n)
    X = np.column_stack([np.ones(n), s])
    fit = fit_clustered(y, X, groups, offset=offset)
    ref = sm.GLM(y, X, family=sm.families.Binomial(), offset=offset).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-7)
    np.testing.assert_allclose(fit.cov, ref.cov_params(), rtol=1e-6)
    # no offset is the fit without one, bit for bit
    plain = fit_clustered(y, X, groups)
    zero = fit_clustered(y, X, groups, offset=np.zeros(n))
    np.testing.assert_allclose(plain.params, zero.params, rtol=1e-12)

    deals = pd.DataFrame(
        {"rep_id": groups.astype(str), "y": y, "s": s, "p_hat": 1 / (1 + np.exp(-offset))}
    )
    win = estimate(simulated(), covariates=COVARIATES, deals=deals)[2]
    assert win.outcome == "account_win_rate" and win.n == n and win.n_reps == 30
    assert win.estimate == pytest.approx(ref.params[1], rel=1e-5)
    assert win.se == pytest.approx(ref.bse[1], rel=1e-5)
    assert "than the case-mix model expected" in win.sentence
    # percentage points per 10 points: the chances with the offset, from s - 0.05 to s + 0.05
    up, down = X.copy(), X.copy()
    up[:, -1] += 0.05
    down[:, -1] -= 0.05
    expected = ref.predict(up, offset=offset) - ref.predict(down, offset=offset)
    assert win.pp_per_10 == pytest.approx(100 * np.mean(expected), rel=1e-5)
    assert win.pp_lower_95 < win.pp_per_10 < win.pp_upper_95


def test_minimums_say_what_is_missing():
    small = simulated(n=90, reps=8)
    repeat = estimate(small, covariates=COVARIATES)[0]
    assert math.isnan(repeat.estimate)
    assert repeat.note == (
        "Care and repeat business was not estimated: it needs 100 accounts (found 90), "
        "10 reps (found 8)."
    )
    rare = simulated(n=300).assign(y=0, repeat_deals=0)
    rare.loc[:4, ["y", "repeat_deals"]] = 1
    assert estimate(rare, covariates=COVARIATES)[0].note == (
        "Care and repeat business was not estimated: it needs 20 accounts with and 20 without "
        "a repeat win (found 5 and 295)."
    )
    assert repeat.sentence == repeat.note
    table = results.results_table(estimate(small, covariates=COVARIATES))
    assert list(table.columns) == list(results.RESULT_COLUMNS)
    assert table["estimate"].isna().all() and len(table) == 2
    empty = results.results_table([])
    assert list(empty.columns) == list(results.RESULT_COLUMNS) and empty.empty


def effect(lo: float, hi: float, **kw) -> CareEffect:
    base = dict(
        outcome="repeat_12m",
        model="logit",
        n=842,
        n_events=300,
        n_reps=193,
        estimate=2.5,
        se=0.6,
        ratio_per_10=1.28,
        ratio_lower_95=lo,
        ratio_upper_95=hi,
        pp_per_10=4.2,
        pp_lower_95=2.1,
        pp_upper_95=6.3,
    )
    return CareEffect(**{**base, **kw})


def test_sentences_say_which_way_and_that_it_is_an_association():
    words = covariate_words(COVARIATES)
    assert words == "segment, size, territory and quarter"
    assert results_sentence(effect(1.14, 1.44), words) == (
        "Accounts whose customers rated care 10 points higher (of 100) bought again within 12 "
        "months more often: odds ratio 1.28 (95% CI 1.14 to 1.44), about 4 percentage points "
        "(2 to 6), compared with accounts of the same segment, size, territory and quarter "
        "(842 accounts, 193 reps). This is an association: reps who care may differ in other "
        "ways, so it does not show that care causes repeat business."
    )
    unclear = results_sentence(effect(0.9, 1.2, pp_per_10=0.4, pp_lower_95=-1.23), words)
    assert "did not clearly buy again more often within 12 months" in unclear
    assert "about 0.4 percentage points (\u22121.2 to 6.3)" in unclear
    below = results_sentence(effect(0.7, 0.9, ratio_per_10=0.8), words, within="within 6 months")
    assert "bought again within 6 months less often: odds ratio 0.80" in below
    count = results_sentence(effect(1.05, 1.3, outcome="repeat_deals_12m"), words)
    assert "won more repeat deals within 12 months: rate ratio 1.28" in count
    assert "percentage" not in count
    failed = effect(math.nan, math.nan, estimate=math.nan, note="Care and ... not estimated.")
    assert results_sentence(failed, words) == "Care and ... not estimated."


def test_an_index_survey_needs_a_full_outcome_window():
    with pytest.raises(Exception, match="outcome_window"):
        CareSettings.from_config({"care": {"outcome_window": "all"}})
