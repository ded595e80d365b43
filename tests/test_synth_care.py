"""The synthetic org's planted care: the base tables keep main's draws (pinned digests), the
planted high-care reps, the observed care score S_a of each planted account read back from the
written survey rows, its repeat business (a won follow-on deal iff Y_a, no base repeat win), the
reverse-coded item, caregiver stories, null orgs, and the evaluate helpers.

The rows are read back with pandas here (not the product's care pipeline), so a disagreement
points at the generator.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from brightspots import evaluate, synth
from brightspots.synth.care import OUTCOME_DAYS

ORG = synth.SynthConfig(reps=100, months=24, seed=1)
DAY = pd.Timedelta(days=1)

# sha256 (first 16 hex digits) of the CSV bytes of main's generator at f62197e, 40 reps, seed 7:
# whole tables, the base deals (the follow-on deals are appended after them) and the rows of the
# base deals (without their time-ordered ids, which the follow-on deals' rows shift)
MAIN_DIGESTS = {
    "teams": "a7cbff71a0438f3c",
    "reps": "c57bf299904711c9",
    "accounts": "82f424356c9afff4",
    "contacts": "b599be1f1a07cfcd",
    "opportunities": "07add1e537aa391e",
    "activities": "90394d6d439df636",
    "buyer_events": "fcb9f84576ed2214",
}


def _digest(t: pa.Table) -> str:
    buf = io.BytesIO()
    pacsv.write_csv(t, buf)
    return hashlib.sha256(buf.getvalue()).hexdigest()[:16]


def _is_follow_on(ids: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(pc.starts_with(ids, "OP-F"), False)


@pytest.fixture(scope="module")
def org() -> tuple[synth.Org, dict[str, pd.DataFrame]]:
    o = synth.generate(ORG)
    return o, {name: t.to_pandas() for name, t in o.tables.items()}


def _cut(truth: dict) -> pd.Timestamp:
    return pd.Timestamp(truth["window"]["end"]) + DAY


def _index_surveys(tables: dict[str, pd.DataFrame], truth: dict) -> pd.DataFrame:
    """The §4 rule on the written rows: each account's earliest customer submission with care
    items at least a year before the cut, and S_a = the mean of its care answers on 0-1."""
    sr = tables["survey_responses"]
    a = sr[(sr.respondent_type == "customer") & (sr.dimension == "care")].copy()
    a["x"] = (a.score - a.scale_min) / (a.scale_max - a.scale_min)
    reverse = a.question_id.isin(truth["care"]["reverse_items"])
    a.loc[reverse, "x"] = 1 - a.loc[reverse, "x"]
    keys = ["account_id", "respondent_id", "survey", "submitted_at"]
    sub = a.groupby(keys, as_index=False).agg(S=("x", "mean"), rep_id=("subject_rep_id", "first"))
    sub = sub[sub.submitted_at <= _cut(truth) - OUTCOME_DAYS * DAY]
    sub = sub.sort_values(["account_id", "submitted_at"])
    assert not sub.duplicated(["account_id", "submitted_at"]).any()  # no tie for "earliest"
    return sub.groupby("account_id").head(1).set_index("account_id")


def _planted(truth: dict) -> pd.DataFrame:
    p = pd.DataFrame(truth["care"]["accounts"]).set_index("account_id")
    p["submitted_at"] = pd.to_datetime(p.submitted_at)
    return p


# ----------------------------------------------------------------------------- base tables
def test_base_tables_are_main_generators_rows():
    """Surveys, repeat business and follow-on deals draw from an eighth stream: teams, reps,
    accounts, contacts, the base deals and their activities and buyer events are the bytes of
    the generator before them."""
    o = synth.generate(synth.SynthConfig(reps=40, seed=7))
    t = o.tables
    got = {name: _digest(t[name]) for name in ("teams", "reps", "accounts", "contacts")}
    opp = t["opportunities"]
    follow = _is_follow_on(opp["opportunity_id"])
    n_base = opp.num_rows - pc.sum(follow).as_py()
    assert not pc.any(follow.slice(0, n_base)).as_py() and pc.all(follow.slice(n_base)).as_py()
    assert o.truth["opportunities"]["follow_on"] == opp.num_rows - n_base > 0
    got["opportunities"] = _digest(opp.slice(0, n_base))
    for name, key in (("activities", "activity_id"), ("buyer_events", "event_id")):
        rows = t[name].drop_columns([key])
        on_base = pc.and_(
            pc.is_valid(rows["opportunity_id"]), pc.invert(_is_follow_on(rows["opportunity_id"]))
        )
        got[name] = _digest(rows.filter(on_base))
    assert got == MAIN_DIGESTS


# ----------------------------------------------------------------------------- high care
def test_high_care_reps_are_planted_where_they_can_be_found(org):
    o, tables = org
    reps = pd.DataFrame(o.truth["reps"]).set_index("rep_id")
    care = o.truth["care"]
    high = care["high_care_reps"]
    assert len(high) == round(0.05 * ORG.reps) and reps.high_care.sum() == len(high)
    assert set(reps.index[reps.high_care]) == set(high)
    # non-managers hired before the window
    assert not reps.loc[high, "manager"].any() and not reps.loc[high, "hired_in_window"].any()
    leaders = care["high_care_leaders"]
    assert len(leaders) >= 1 and reps.loc[leaders, "manager"].all()
    # latent care m_r = 0.55 + 0.03 care + 0.30 high
    want = 0.55 + 0.03 * reps.care + 0.30 * reps.high_care
    np.testing.assert_allclose(reps.care_mean, want, atol=2e-4)
    assert care["rep_shift"] == 0.30
    # each has enough customer respondents in the last 12 months to be labelled (min_volume 10)
    sr = tables["survey_responses"]
    recent = sr[
        (sr.respondent_type == "customer")
        & (sr.dimension == "care")
        & (sr.submitted_at > sr.submitted_at.max() - pd.DateOffset(months=12))
    ]
    respondents = recent.groupby("subject_rep_id").respondent_id.nunique()
    assert respondents.reindex(high).min() >= 10
    # their customers rate their care about 0.30 higher (scores on 0-1)
    recent = recent.assign(x=(recent.score - 1) / 4, high=recent.subject_rep_id.isin(high))
    gap = recent.groupby("high").x.mean()
    assert 0.2 < gap[True] - gap[False] < 0.4


def test_surveys_have_several_care_items_and_named_customers(org):
    o, tables = org
    sr = tables["survey_responses"]
    cust = sr[sr.respondent_type == "customer"]
    assert set(cust.question_id) == {
        "cs_care_success",
        "cs_care_listened",
        "cs_care_followup",
        "cs_expertise",
        "cs_recommend",
    }
    assert cust.respondent_id.notna().all() and cust.account_id.notna().all()
    per_sub = cust[cust.dimension == "care"].groupby(["respondent_id", "submitted_at"]).size()
    assert per_sub.min() >= 1 and per_sub.mean() > 2.7  # 5% skipped, at least one kept
    subs = cust.groupby(["respondent_id", "submitted_at"]).ngroups
    assert per_sub.size == subs  # every customer submission has a care answer
    emp = sr[sr.respondent_type == "employee"]
    assert emp.respondent_id.isna().all()
    assert set(emp[emp.dimension == "care"].question_id) == {
        "ep_manager_care",
        "ep_manager_listens",
    }
    assert set(sr.score[sr.dimension == "care"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    items = {q["question_id"]: q for q in o.truth["care"]["items"]}
    assert set(items) == set(sr.question_id) and not any(q["reverse"] for q in items.values())
    assert o.truth["care"]["reverse_items"] == [] and evaluate.workspace_settings(o.truth) == {}


# ----------------------------------------------------------------------------- repeat business
def test_planted_scores_are_the_observed_index_scores(org):
    """S_a read back from the written survey rows by the analysis's rule is truth's score, on
    exactly the planted accounts."""
    o, tables = org
    seen = _index_surveys(tables, o.truth)
    planted = _planted(o.truth)
    effect = o.truth["care"]["repeat_effect"]
    assert len(planted) == effect["planted_accounts"] > 600
    assert set(seen.index) == set(planted.index)
    seen = seen.loc[planted.index]
    np.testing.assert_array_equal(seen.S.to_numpy(), planted.score.to_numpy())
    assert (seen.submitted_at == planted.submitted_at).all()
    assert (seen.rep_id == planted.rep_id).all()
    assert effect["log_odds_per_unit"] == 2.5 and effect["outcome_window_days"] == 365
    assert 0.2 < effect["repeat_rate"] < 0.45 and "earliest customer" in effect["definition"]


def test_repeat_wins_are_the_follow_on_deals_iff_y(org):
    """On planted accounts the only repeat business is the follow-on deal: won within 12 months
    iff Y_a, no base deal won after the index survey within 400 days; follow-on deals belong to
    the surveyed rep, are expansions, and close within 330 days of the survey."""
    o, tables = org
    planted = _planted(o.truth)
    opp = tables["opportunities"].join(planted, on="account_id", how="inner")
    after = opp.created_at > opp.submitted_at
    follow = opp.opportunity_id.str.startswith("OP-F")
    won = opp.stage == "won"
    repeat = after & won & (opp.closed_at <= opp.submitted_at + OUTCOME_DAYS * DAY)
    y = repeat.groupby(opp.account_id).any().reindex(planted.index, fill_value=False)
    assert (y == planted.repeat).all()
    base_repeat = after & won & ~follow & (opp.closed_at <= opp.submitted_at + 400 * DAY)
    assert not base_repeat.any()
    f = opp[follow]
    assert f.account_id.is_unique and (f.owner_rep_id == f.rep_id).all()
    assert (f.source.isna() | (f.source == "expansion")).all()
    assert (f.created_at >= f.submitted_at + 4 * DAY).all()
    assert (f.closed_at <= f.submitted_at + 330 * DAY).all() and f.stage.isin(["won", "lost"]).all()
    assert set(f.account_id[f.stage == "won"]) == set(planted.index[planted.repeat])
    lost = planted.index[~planted.repeat]
    assert 0.3 < f.account_id.isin(lost).sum() / len(lost) < 0.5  # a lost follow-on: 40%
    # deals outside the planted accounts never start with OP-F, and every follow-on has rows
    all_follow = tables["opportunities"].opportunity_id.str.startswith("OP-F")
    assert all_follow.sum() == len(f) == o.truth["opportunities"]["follow_on"]
    acts = tables["activities"]
    assert set(f.opportunity_id) <= set(acts.opportunity_id.dropna())
    # deal truth covers them: the chance a follow-on deal, once opened, is won
    p = pd.Series(o.hidden["p_win"], index=tables["opportunities"].opportunity_id)
    assert len(p) == len(tables["opportunities"]) and p[f.opportunity_id].between(0, 1).all()


def test_caregiver_stories_tell_of_follow_on_wins(org):
    o, tables = org
    st = tables["stories"]
    care = st[st.tags == "care"]
    assert len(care) >= 3
    assert care.rep_id.isin(o.truth["care"]["high_care_reps"]).all()
    opp = tables["opportunities"].set_index("opportunity_id")
    assert care.opportunity_id.str.startswith("OP-F").all()
    assert (opp.loc[care.opportunity_id, "stage"] == "won").all()
    assert (opp.loc[care.opportunity_id, "account_id"].to_numpy() == care.account_id).all()
    assert care.body.str.contains("checked in|looked after|listened|checking in").all()
    assert st.created_at.is_monotonic_increasing and st.story_id.is_unique


# ----------------------------------------------------------------------------- parameters
def test_same_seed_same_files_and_the_effect_is_a_parameter(tmp_path):
    small = synth.SynthConfig(reps=20, months=15, seed=4)
    a = synth.synthesize(small, tmp_path / "a")
    b = synth.synthesize(small, tmp_path / "b")
    assert a == b
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name
    # the effect size changes the outcomes only: same plant, same surveys
    zero = synth.generate(replace(small, care_effect=0.0))
    big = synth.generate(replace(small, care_effect=6.0))
    assert zero.truth["care"]["repeat_effect"]["log_odds_per_unit"] == 0.0
    assert big.truth["care"]["high_care_reps"] == zero.truth["care"]["high_care_reps"]
    assert big.tables["survey_responses"].equals(zero.tables["survey_responses"])
    assert big.tables["accounts"].equals(zero.tables["accounts"])
    s0, s6 = _planted(zero.truth), _planted(big.truth)
    assert (s0.score == s6.score).all()
    # with beta 6 the accounts with better care buy again much more often; with 0 they do not
    good = s6.score > s6.score.median()
    assert s6.repeat[good].mean() - s6.repeat[~good].mean() > 0.12
    assert abs(s0.repeat[good].mean() - s0.repeat[~good].mean()) < 0.12


def test_reverse_coded_item(tmp_path):
    cfg = synth.SynthConfig(reps=40, months=18, seed=2, reverse_coded_item=True)
    o = synth.generate(cfg)
    t = {name: x.to_pandas() for name, x in o.tables.items()}
    assert o.truth["care"]["reverse_items"] == ["cs_care_rushed"]
    assert evaluate.workspace_settings(o.truth) == {"care": {"reverse_items": ["cs_care_rushed"]}}
    sr = t["survey_responses"]
    wide = sr[sr.dimension == "care"].pivot_table(
        index=["respondent_id", "submitted_at"], columns="question_id", values="score"
    )
    # stored the other way round: it disagrees with the other care items
    assert wide["cs_care_rushed"].corr(wide["cs_care_listened"]) < -0.3
    assert wide["cs_care_success"].corr(wide["cs_care_listened"]) > 0.3
    seen = _index_surveys(t, o.truth)
    planted = _planted(o.truth)
    np.testing.assert_array_equal(seen.loc[planted.index, "S"], planted.score)
    # read without reversing, the scores differ
    wrong = _index_surveys(t, {**o.truth, "care": {**o.truth["care"], "reverse_items": []}})
    assert not np.allclose(wrong.loc[planted.index, "S"], planted.score)


def test_null_orgs_plant_no_care_and_the_config_is_checked():
    o = synth.generate(synth.SynthConfig(reps=30, months=15, seed=3, null=True))
    care = o.truth["care"]
    assert care["high_care_reps"] == care["high_care_leaders"] == []
    assert care["repeat_effect"]["log_odds_per_unit"] == 0.0 and care["rep_shift"] == 0.0
    assert {r["care_mean"] for r in o.truth["reps"]} == {0.55}
    for bad in (
        dict(null=True, care_effect=1.0),
        dict(care_effect=math.inf),
        dict(care_effect=11.0),
    ):
        with pytest.raises(synth.SynthError, match="care_effect"):
            synth.SynthConfig(**bad).check()
    synth.SynthConfig(null=True, care_effect=0.0).check()


# ----------------------------------------------------------------------------- evaluate
def test_care_source_reads_the_org_in_memory(org):
    o, tables = org
    src = evaluate.care_source(o)
    assert src.timezone == "UTC"
    sr = src.table("survey_responses")
    assert src.execute(sr.count()) == len(tables["survey_responses"])
    assert str(sr.schema()["submitted_at"]).startswith("timestamp")
    got = src.execute(sr.filter(sr.dimension == "care").score.mean())
    assert got == pytest.approx(
        tables["survey_responses"].query("dimension == 'care'").score.mean()
    )
    with pytest.raises(KeyError):
        src.table("nope")
    dirty = synth.Org(config=replace(ORG, dirty=0.01), tables={}, truth={})
    with pytest.raises(synth.SynthError, match="clean org"):
        evaluate.care_source(dirty)


def test_score_care_counts_planted_high_care_reps():
    truth = {
        "care": {"high_care_reps": ["R1", "R2", "R3"], "high_care_leaders": ["R9"]},
        "rich_territory_reps": ["R7"],
    }
    rows = [
        # level, unit, source, respondents, mean, label
        ("rep", "R1", "customer", 20, 0.90, "bright_spot"),
        ("rep", "R2", "customer", 15, 0.85, "bright_spot"),
        ("rep", "R3", "customer", 8, 0.80, ""),  # too few respondents to be labelled
        ("rep", "R4", "customer", 30, 0.86, "bright_spot"),
        ("rep", "R7", "customer", 12, 0.50, ""),
        ("rep", "R8", "customer", None, None, ""),  # suppressed
        ("rep", "R1", "employee", 20, 0.10, "bright_spot"),  # another source
        ("leader", "R9", "employee", 12, 0.9, "bright_spot"),
    ]
    index = pd.DataFrame(
        rows, columns=["level", "unit_id", "source", "respondents", "mean", "label"]
    )
    d = evaluate.score_care(index, truth)
    assert (d.planted, d.labelled, d.true_positives) == (3, 3, 2)
    assert d.precision == pytest.approx(2 / 3) and d.recall == pytest.approx(2 / 3)
    assert (d.detectable, d.detectable_found) == (2, 2)
    assert d.raw_true_positives == 2  # the top 3 by mean: R1, R4, R2
    leaders = evaluate.score_care(index, truth, level="leader", source="employee")
    assert (leaders.planted, leaders.true_positives, leaders.precision) == (1, 1, 1.0)
