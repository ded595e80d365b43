"""The synthetic org's planted practice experiment (``synth.experiment``): off, nothing changes
(main's pinned digests, no truth block, no extra deal-truth columns); on, the teams, reps,
accounts, contacts and the untreated deals are the same rows in every column, the treated deals
only take the practice up and move the outcome the way their win probability does (the same
uniform), adoption rises by about ``adoption`` of the deals that did not do it, the truth block
and the deal-truth columns hold what was planted, and the ``--experiment`` text is checked.

The rows are compared with plain pandas and numpy here (not the product's panels), so a
disagreement points at the generator.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from brightspots import evaluate, synth
from brightspots.synth.experiment import Plant, parse_spec, shape_factor
from brightspots.synth.model import PRACTICE_EFFECT, PRACTICES

SPEC = (
    "practice=multi_threading,teams=6,start=2026-03-02,waves=2,every=4w,adoption=0.5,"
    "effect=default,shape=constant"
)
BASE = synth.SynthConfig(reps=120, months=10, seed=3)
K = PRACTICES.index("multi_threading")
DAY = 86400


@pytest.fixture(scope="module")
def pair() -> tuple[synth.Org, synth.Org]:
    """The same org without and with the plant."""
    return synth.generate(BASE), synth.generate(replace(BASE, experiment=parse_spec(SPEC)))


def _base(org: synth.Org) -> int:
    """The number of base deals (the follow-on deals come after them)."""
    return org.tables["opportunities"].num_rows - org.truth["opportunities"]["follow_on"]


# ----------------------------------------------------------------------------- off
def test_off_changes_nothing():
    """With ``experiment=None`` the base tables are main's bytes (the pinned digests of
    test_synth_care), the truth has no experiment and the deal truth no extra column."""
    from test_synth_care import MAIN_DIGESTS, _digest

    org = synth.generate(synth.SynthConfig(reps=40, seed=7, experiment=None))
    got = {name: _digest(org.tables[name]) for name in ("teams", "reps", "accounts", "contacts")}
    got["opportunities"] = _digest(org.tables["opportunities"].slice(0, _base(org)))
    assert got == {k: MAIN_DIGESTS[k] for k in got}
    assert "experiment" not in org.truth and "experiment" not in org.truth["config"]
    assert not [k for k in org.hidden if k.startswith("exp_") or k == "close_if_won"]
    assert list(evaluate.org_deal_truth(org).columns) == ["opportunity_id", "p_win"]


# ----------------------------------------------------------------------------- on
def test_untreated_rows_are_the_same_in_every_column(pair):
    off, on = pair
    for name in ("teams", "reps", "accounts", "contacts"):
        assert on.tables[name].equals(off.tables[name]), name
    n = _base(off)
    assert _base(on) == n
    a = off.tables["opportunities"].slice(0, n).to_pandas()
    b = on.tables["opportunities"].slice(0, n).to_pandas()
    treated = on.hidden["exp_treated"][:n]
    assert 0 < treated.sum() < n
    pd.testing.assert_frame_equal(a[~treated], b[~treated])
    # treated deals keep what does not depend on their outcome
    same = ["opportunity_id", "account_id", "owner_rep_id", "created_at", "initial_amount"]
    same += ["source", "product"]
    pd.testing.assert_frame_equal(a.loc[treated, same], b.loc[treated, same])
    for key in ("p_win", "won", "eta0", "has_proposal", *PRACTICES):
        assert np.array_equal(off.hidden[key][:n][~treated], on.hidden[key][:n][~treated]), key


def test_treated_deals_are_the_waves_deals_from_their_start(pair):
    off, on = pair
    n = _base(on)
    exp = on.truth["experiment"]
    assert [w["start"] for w in exp["waves"]] == ["2026-03-02", "2026-03-30"]
    assert [len(w["teams"]) for w in exp["waves"]] == [3, 3]
    start = {t: date.fromisoformat(w["start"]) for w in exp["waves"] for t in w["teams"]}
    opp = on.tables["opportunities"].slice(0, n).to_pandas()
    reps = on.tables["reps"].to_pandas().set_index("rep_id")
    teams = pd.DataFrame(on.truth["territories"]).set_index("team_id")
    team = opp["owner_rep_id"].map(reps["team_id"])
    local = opp["created_at"] + pd.to_timedelta(team.map(teams["utc_offset_hours"]), unit="h")
    begins = pd.to_datetime(team.map(start))
    expected = (local >= begins).fillna(False).to_numpy()
    assert np.array_equal(on.hidden["exp_treated"][:n], expected)
    assert exp["treated_deals"] == int(expected.sum())


def test_treated_deals_only_take_the_practice_up_and_keep_their_uniform(pair):
    off, on = pair
    n = _base(on)
    treated, flipped = on.hidden["exp_treated"][:n], on.hidden["exp_flipped"][:n]
    before, after = off.hidden[PRACTICES[K]][:n], on.hidden[PRACTICES[K]][:n]
    assert np.array_equal(after, before | flipped)
    assert not (flipped & (before | ~treated)).any()
    for other in PRACTICES:
        if other != PRACTICES[K]:
            assert np.array_equal(off.hidden[other][:n], on.hidden[other][:n])
    # the win probability rises by the effect on flipped deals only; exp_p0 is the one without
    p0, p1 = off.hidden["p_win"][:n], on.hidden["p_win"][:n]
    logit = np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))
    assert np.allclose(logit[flipped], PRACTICE_EFFECT[K])
    assert np.array_equal(p0[treated & ~flipped], p1[treated & ~flipped])
    assert np.array_equal(on.hidden["exp_p0"][:n][treated], p0[treated])
    assert np.isnan(on.hidden["exp_p0"][~np.r_[treated, np.zeros(len(p1) - n, bool)]]).all()
    # coupling: the same uniform, so a deal won without the plant is won with it
    w0, w1 = off.hidden["won"][:n], on.hidden["won"][:n]
    assert not (w0 & ~w1).any() and (w1 & ~w0).sum() > 0
    assert np.array_equal(w0[~flipped], w1[~flipped])
    truth = on.truth["experiment"]
    assert truth["flipped_deals"] == int(flipped.sum())


def test_adoption_rises_by_the_share_planted(pair):
    """The share of treated deals doing the practice goes from r to about r + 0.5 (1 - r)."""
    off, on = pair
    n = _base(on)
    treated = on.hidden["exp_treated"][:n]
    r0 = off.hidden[PRACTICES[K]][:n][treated].mean()
    r1 = on.hidden[PRACTICES[K]][:n][treated].mean()
    assert 0.15 < r0 < 0.6
    assert r1 == pytest.approx(r0 + 0.5 * (1 - r0), abs=0.03)


def test_close_if_won_is_the_close_of_a_won_deal(pair):
    _, on = pair
    n = _base(on)
    opp = on.tables["opportunities"].to_pandas()
    close = on.hidden["close_if_won"]
    won = (opp["stage"] == "won").to_numpy()
    got = pd.to_datetime(close[:n][won[:n]], unit="s")
    assert (got == opp["closed_at"][:n][won[:n]].to_numpy()).all()
    # a deal closes after its creation, won ones within the cycle's clip (400 business days)
    created = opp["created_at"].to_numpy().astype("datetime64[s]").astype(np.int64)[:n]
    span = (close[:n] - created) / DAY
    assert span.min() > 1.5 and span.max() < 600


def test_truth_block_and_deal_truth_files(tmp_path):
    # two years: the planted repeat business has follow-on deals (never treated)
    plant = parse_spec(SPEC.replace("teams=6", "teams=4"))
    cfg = replace(BASE, reps=100, months=24, experiment=plant)
    truth = synth.synthesize(cfg, tmp_path, fmt="parquet")
    org = synth.generate(cfg)
    exp = json.loads((tmp_path / "truth.json").read_text())["experiment"]
    assert exp == truth["experiment"] == org.truth["experiment"]
    assert truth["config"]["experiment"] == cfg.experiment.spec()
    assert exp["practice"] == "multi_threading" and exp["registry_id"] == "multithreading"
    assert exp["effect"] == pytest.approx(PRACTICE_EFFECT[K])
    assert (exp["adoption"], exp["shape"]) == (0.5, "constant")
    assert exp["treated_deals"] == int(org.hidden["exp_treated"].sum()) > exp["flipped_deals"] > 0
    assert 0.005 < exp["att_win_rate_90d"] < 0.08
    deal = pq.read_table(tmp_path / "truth_opportunities.parquet")
    assert deal.column_names == ["opportunity_id", "p_win", "exp_p0", "close_if_won"]
    mine = evaluate.org_deal_truth(org)
    read = deal.to_pandas()
    pd.testing.assert_frame_equal(
        read.drop(columns="close_if_won"), mine.drop(columns="close_if_won")
    )
    assert (read["close_if_won"].isna() == mine["close_if_won"].isna()).all()
    assert (read["close_if_won"].dropna() == mine["close_if_won"].dropna()).all()
    follow = pc.starts_with(deal["opportunity_id"], "OP-F").to_numpy(zero_copy_only=False)
    assert follow.any() and read.loc[follow, "close_if_won"].isna().all()
    assert read["exp_p0"].notna().sum() == exp["treated_deals"]
    # experiment_deals reads the files as the in-memory org
    opp = pq.read_table(tmp_path / "opportunities.parquet").to_pandas()
    reps = pq.read_table(tmp_path / "reps.parquet").to_pandas()
    a = evaluate.experiment_deals(opp, reps, tmp_path / "truth_opportunities.parquet")
    b = evaluate.experiment_deals(opp, reps, mine)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert list(a.columns) == evaluate.EXPERIMENT_DEAL_COLUMNS and a["team_id"].notna().all()


def test_experiment_truth_aggregates_by_cell_and_team_weight():
    """A hand example: two cells, teams of different weights, one deal out of the horizon."""
    t0 = pd.Timestamp("2026-03-02 09:00")
    deals = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c", "d", "e"],
            "team_id": ["T1", "T1", "T2", "T1", "T2"],
            "created_at": [t0, t0, t0, t0 + pd.Timedelta(days=7), t0 + pd.Timedelta(days=7)],
            "p_win": [0.5, 0.3, 0.4, 0.6, 0.9],
            "exp_p0": [0.3, math.nan, 0.2, 0.4, 0.5],
            "close_if_won": [
                t0 + pd.Timedelta(days=30),
                pd.NaT,
                t0 + pd.Timedelta(days=30),
                t0 + pd.Timedelta(days=100),  # past 90 days: no effect on the cohort
                t0 + pd.Timedelta(days=40),
            ],
        }
    )
    g, t1 = date(2026, 3, 2), date(2026, 3, 9)
    cells = pd.DataFrame(
        {
            "g": [g, g, g, g],
            "t": [g, g, t1, t1],
            "team_id": ["T1", "T2", "T1", "T2"],
            "team_weight": [1.0, 3.0, 1.0, 3.0],
            "cell_weight": [4.0, 4.0, 2.0, 2.0],
        }
    )
    # week 1: T1 (0.2 + 0) / 2 = 0.1, T2 0.2 -> (0.1 + 0.6) / 4 = 0.175; week 2: T1 0,
    # T2 0.4 -> 1.2 / 4 = 0.3; overall (4 * 0.175 + 2 * 0.3) / 6
    got = evaluate.experiment_truth(deals, cells, 90)
    assert got == pytest.approx((4 * 0.175 + 2 * 0.3) / 6)
    assert evaluate.experiment_truth(deals, cells, timedelta(days=120)) > got
    # weeks are local: in Tokyo, T1's Monday 09:00 UTC deals stay in the same week
    assert evaluate.experiment_truth(deals, cells, 90, tz="Asia/Tokyo") == pytest.approx(got)
    with pytest.raises(ValueError, match="no deals"):
        evaluate.experiment_truth(deals, cells.assign(team_id="T9"), 90)
    assert math.isnan(evaluate.experiment_truth(deals, cells.iloc[:0], 90))


# ----------------------------------------------------------------------------- effect and shape
def test_shapes():
    e = np.array([0, 3, 7, 8, 12, 20])
    assert shape_factor("constant", e).tolist() == [1.0] * 6
    assert shape_factor("grow", e).tolist() == [1 / 8, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert shape_factor("fade", e).tolist() == [1.0, 1 - 3 / 16, 1 - 7 / 16, 0.5, 0.25, 0.25]


def test_grow_scales_the_effect_by_the_weeks_since_the_start(pair):
    off, on = pair
    n = _base(off)
    grow = synth.generate(
        replace(BASE, experiment=replace(parse_spec(SPEC), effect=0.8, shape="grow"))
    )
    flipped = grow.hidden["exp_flipped"][:n]
    assert np.array_equal(flipped, on.hidden["exp_flipped"][:n])  # the same uniforms
    p0, p1 = off.hidden["p_win"][:n][flipped], grow.hidden["p_win"][:n][flipped]
    eighths = (np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))) / 0.8 * 8
    assert np.allclose(eighths, np.round(eighths))
    assert set(np.round(eighths).astype(int)) == set(range(1, 9))
    assert grow.truth["experiment"]["shape"] == "grow"


def test_null_experiment_adopts_without_effect(pair):
    off, _ = pair
    n = _base(off)
    plant = replace(parse_spec(SPEC), effect=0.0)
    null = synth.generate(replace(BASE, experiment=plant))
    assert null.hidden["exp_flipped"].sum() > 0
    assert np.array_equal(null.hidden["p_win"][:n], off.hidden["p_win"][:n])
    assert np.array_equal(null.hidden["won"][:n], off.hidden["won"][:n])
    assert null.truth["experiment"]["att_win_rate_90d"] == 0.0
    # a null org takes a null experiment only
    synth.SynthConfig(reps=120, months=10, null=True, experiment=plant).check()
    with pytest.raises(synth.SynthError, match="effect=0"):
        synth.SynthConfig(reps=120, months=10, null=True, experiment=parse_spec(SPEC)).check()


# ----------------------------------------------------------------------------- the spec
def test_parse_spec_reads_every_key_and_round_trips():
    p = parse_spec(SPEC)
    assert p == Plant("multi_threading", date(2026, 3, 2), 6, 2, 28, 0.5, None, "constant")
    assert p.spec() == SPEC and parse_spec(p.spec()) == p
    assert p.starts() == (date(2026, 3, 2), date(2026, 3, 30))
    q = parse_spec(
        " practice = response_within_4h , start=2026-04-01, teams=TM-002;TM-005 ,"
        "every=10d,waves=2,effect=-0.3,shape=FADE,adoption=1"
    )
    assert (q.practice, q.teams, q.every_days, q.effect, q.shape, q.adoption) == (
        "fast_response",
        ("TM-002", "TM-005"),
        10,
        -0.3,
        "fade",
        1.0,
    )
    assert parse_spec(q.spec()) == q
    d = parse_spec("practice=meeting_before_proposal,start=2026-03-02")
    assert (d.teams, d.waves, d.every_days, d.adoption, d.effect, d.shape, d.spill_days) == (
        6,
        1,
        28,
        0.5,
        None,
        "constant",
        0,
    )
    # spill: the days before a start whose new deals take the practice up too
    s = parse_spec(SPEC + ",spill=2w")
    assert s.spill_days == 14 and s.spec() == SPEC + ",spill=2w" and parse_spec(s.spec()) == s
    assert parse_spec(SPEC + ",spill=10d").spill_days == 10
    assert parse_spec(SPEC + ",spill=0") == p


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "practice= is missing"),
        ("practice=multi_threading", "start= is missing"),
        ("practice=multi_threading,start", "not key=value"),
        ("practice=multi_threading,start=2026-03-02,colour=red", "unknown key 'colour'"),
        ("practice=multi_threading,start=2026-03-02,start=2026-04-06", "start is given twice"),
        ("practice=cold_calls,start=2026-03-02", "unknown practice 'cold_calls'"),
        ("practice=multi_threading,start=2 March", "start must be a date"),
        ("practice=multi_threading,start=2026-03-02,teams=0", "teams must be at least 1"),
        ("practice=multi_threading,start=2026-03-02,teams=TM 1", "teams must be a count or ids"),
        ("practice=multi_threading,start=2026-03-02,teams=A;A", "listed twice"),
        ("practice=multi_threading,start=2026-03-02,teams=2,waves=3", "waves must be between"),
        ("practice=multi_threading,start=2026-03-02,waves=two", "waves must be a whole"),
        ("practice=multi_threading,start=2026-03-02,every=1m", "every must be weeks or days"),
        ("practice=multi_threading,start=2026-03-02,every=0w", "every must be at least"),
        ("practice=multi_threading,start=2026-03-02,adoption=0", "adoption must be above 0"),
        ("practice=multi_threading,start=2026-03-02,adoption=1.5", "adoption must be above 0"),
        ("practice=multi_threading,start=2026-03-02,effect=big", "effect must be a number"),
        ("practice=multi_threading,start=2026-03-02,effect=9", "effect must be default"),
        ("practice=multi_threading,start=2026-03-02,effect=nan", "effect must be default"),
        ("practice=multi_threading,start=2026-03-02,shape=wobble", "unknown shape 'wobble'"),
        ("practice=multi_threading,start=2026-03-02,spill=yes", "spill must be weeks or days"),
        ("practice=multi_threading,start=2026-03-02,spill=14w", "spill must be from 0 to 91"),
    ],
)
def test_parse_spec_errors(spec, message):
    with pytest.raises(synth.SynthError, match=message):
        parse_spec(spec)


def test_the_org_and_window_are_checked():
    late = parse_spec("practice=multi_threading,start=2026-10-05,waves=2,every=4w")
    with pytest.raises(synth.SynthError, match="outside the data's window"):
        synth.SynthConfig(reps=120, months=10, experiment=late).check()
    early = parse_spec("practice=multi_threading,start=2025-12-01")
    with pytest.raises(synth.SynthError, match="outside the data's window"):
        synth.generate(synth.SynthConfig(reps=120, months=10, experiment=early))
    many = parse_spec("practice=multi_threading,start=2026-03-02,teams=11")
    with pytest.raises(synth.SynthError, match="leave at least two"):
        synth.generate(synth.SynthConfig(reps=120, months=10, experiment=many))
    ghost = parse_spec("practice=multi_threading,start=2026-03-02,teams=TM-002;TM-099")
    with pytest.raises(synth.SynthError, match="no team TM-099"):
        synth.generate(synth.SynthConfig(reps=120, months=10, experiment=ghost))


def test_listed_teams_make_the_waves_in_order():
    plant = parse_spec(
        "practice=multi_threading,start=2026-03-02,teams=TM-005;TM-002;TM-009,waves=2,every=2w"
    )
    org = synth.generate(synth.SynthConfig(reps=120, months=10, experiment=plant))
    waves = org.truth["experiment"]["waves"]
    assert waves == [
        {"start": "2026-03-02", "teams": ["TM-005", "TM-002"]},
        {"start": "2026-03-16", "teams": ["TM-009"]},
    ]


def test_cli_takes_the_spec(tmp_path):
    """``brightspots synth --experiment``: the plant lands in truth.json; a bad text is one
    line."""

    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    env.pop("BRIGHTSPOTS_DEBUG", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "brightspots.cli",
                "synth",
                "--reps",
                "60",
                "--months",
                "10",
                "--format",
                "parquet",
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    r = run(
        "--out",
        str(tmp_path / "d"),
        "--experiment",
        "practice=multithreading,teams=3,start=2026-03-02",
    )
    assert r.returncode == 0, r.stderr
    truth = json.loads((tmp_path / "d" / "truth.json").read_text())
    assert len(truth["experiment"]["waves"][0]["teams"]) == 3
    r = run("--out", str(tmp_path / "e"), "--experiment", "practice=multithreading,start=soon")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: experiment: start must be a date YYYY-MM-DD, got 'soon'"
    ]


def test_spill_is_recovered_with_anticipation_and_attenuated_without(pair):
    """Review M5: ``spill=14d``, the deals opened in the 14 days before a team's start take the
    practice up too (a team told to use it from a date also uses it on the deals it has just
    opened). They are not treated (the estimand stays the effect on new deals), but they sit
    in the two weeks before the start: in the baseline, unless those weeks are anticipation
    weeks. On the true change of every deal's chance of a win within 90 days (no noise), the
    estimator with 2 anticipation weeks gives the truth exactly; without, it loses a fifth."""
    from brightspots.experiments import compare, did, panels

    off, on = pair
    spilled = synth.generate(replace(BASE, experiment=parse_spec(SPEC + ",spill=14d")))
    n = _base(spilled)
    exp = spilled.truth["experiment"]
    assert exp["spill_days"] == 14 and exp["spec"].endswith(",spill=2w")
    assert np.array_equal(spilled.hidden["exp_treated"], on.hidden["exp_treated"])
    extra = spilled.hidden["exp_flipped"][:n] & ~on.hidden["exp_flipped"][:n]
    assert extra.sum() == exp["spilled_deals"] > 0
    assert exp["att_win_rate_90d"] == on.truth["experiment"]["att_win_rate_90d"]
    starts = {t: date.fromisoformat(w["start"]) for w in exp["waves"] for t in w["teams"]}
    opp = spilled.tables["opportunities"].to_pandas()
    reps = spilled.tables["reps"].to_pandas()
    team = opp["owner_rep_id"].map(reps.set_index("rep_id")["team_id"])
    day = opp["created_at"].dt.normalize()  # UTC: the teams' offsets (+1, -5) keep the day
    begins = pd.to_datetime(team.map(starts))
    ahead = (begins - day)[:n][extra]
    assert ahead.min() >= pd.Timedelta(days=1) and ahead.max() <= pd.Timedelta(days=14)
    # each deal's true change against the org without the plant, counted within 90 days
    close = pd.to_datetime(pd.Series(spilled.hidden["close_if_won"][:n]), unit="s")
    within = (close - opp["created_at"][:n]) <= pd.Timedelta(days=90)
    gain = np.zeros(len(opp))
    gain[:n] = (spilled.hidden["p_win"][:n] - off.hidden["p_win"][:n]) * within.to_numpy()
    week = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.date
    f = pd.DataFrame({"unit_id": team, "week": week, "gain": gain})
    f = f.groupby(["unit_id", "week"])["gain"].agg(value="mean", volume="size").reset_index()
    as_of = pd.Timestamp("2026-10-31 23:59").to_pydatetime()
    weekly = panels.Weekly("win_rate", "team", f.assign(mature=True), timedelta(90), as_of)
    hist = compare.history_weeks(min(starts.values()), 26)
    weeks = panels.weeks_between(hist[0], as_of.date())
    units = sorted(set(reps["team_id"].dropna()))
    panel = panels.to_panel(weekly, units, weeks, starts, weight_weeks=hist)
    deals = evaluate.experiment_deals(opp, reps, evaluate.org_deal_truth(spilled))
    got = {}
    for a in (0, 2):
        fit = did.fit(panel, baseline_weeks=12, draws=99, seed=0, anticipation=a)
        cells = evaluate.experiment_cells(fit, panel, baseline_weeks=12, anticipation=a)
        got[a] = (fit.overall.estimate, evaluate.experiment_truth(deals, cells, 90))
    estimate, truth = got[2]
    assert 0.01 < truth and estimate == pytest.approx(truth, rel=1e-9)
    estimate, truth = got[0]
    assert estimate < 0.9 * truth, got


def test_experiment_cells_read_the_baseline_before_the_anticipation_weeks():
    """A treated team with figures only from 7 weeks before its start has no baseline when
    the 2 weeks before the start are anticipation weeks (5 of the 12 weeks before them, fewer
    than half): the fit leaves it out, and so must ``experiment_cells`` given the fit's
    anticipation; read without it, the cells hold that team and disagree with the fit."""
    import experiment_sim as sim
    from brightspots.experiments import did

    rng = np.random.default_rng(5)
    units, weeks, k, a = 10, 24, 12, 2
    start = np.full(units, -1)
    start[:4] = k + a
    y = rng.normal(0.3, 0.02, (units, weeks))
    y[0, :7] = np.nan  # figures from week 7 only: weeks 7-11 of the baseline 0-11
    panel = sim.make_panel(y, np.full((units, weeks), 20.0), start)
    fit = did.fit(panel, baseline_weeks=k, draws=99, seed=0, anticipation=a)
    cells = evaluate.experiment_cells(fit, panel, baseline_weeks=k, anticipation=a)
    assert len(cells) and "U00" not in set(cells["team_id"])
    assert set(cells["team_id"]) == {"U01", "U02", "U03"}
    with pytest.raises(ValueError, match="anticipation differs"):
        evaluate.experiment_cells(fit, panel, baseline_weeks=k)
