"""The synthetic organisation: files per the contract, determinism, planted structure visible in
the rows (bright spots, the coached team, booked amounts), effect sizes as parameters, dirty rows
exactly as truth.json says, null mode, scaling.

Rows are checked by an independent validator written here with the csv module (not the product's
importer), so a disagreement points at the generator.
"""

from __future__ import annotations

import csv
import math
import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brightspots import schema, synth
from brightspots.schema import ColumnType, Reason

SMALL = synth.SynthConfig(reps=30, months=12, seed=5)
MEDIUM = synth.SynthConfig(reps=80, months=18, seed=3)  # 8 teams: one of them coached
MISALLOCATED = replace(SMALL, misallocation=0.15)  # the account-effort model on


# ------------------------------------------------------------------------ a reference validator
def _parse(ctype: ColumnType, v: str) -> object:
    """The value, or raise ValueError when it does not parse as the contract's type."""
    if ctype == ColumnType.INT:
        if not re.fullmatch(r"[+-]?\d+", v.strip()):
            raise ValueError(v)
        return int(v)
    if ctype in (ColumnType.FLOAT, ColumnType.MONEY):
        x = float(v)
        if not np.isfinite(x):
            raise ValueError(v)
        return x
    if ctype == ColumnType.BOOL:
        low = v.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(v)
        return low in ("true", "1", "yes")
    if ctype == ColumnType.DATE:
        return date.fromisoformat(v)
    if ctype == ColumnType.TIMESTAMP:
        t = datetime.fromisoformat(v)
        return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t
    return v


def _row_reason(t: schema.Table, row: dict[str, str]) -> tuple[str, str] | None:
    """The first failing per-row rule (contract order), with its column."""
    if not row[t.key]:
        return Reason.MISSING_KEY, t.key
    for c in t.columns:
        if not c.nullable and not row[c.name]:
            return Reason.MISSING_REQUIRED, c.name
    parsed = {}
    for c in t.columns:
        if row[c.name]:
            try:
                parsed[c.name] = _parse(c.type, row[c.name])
            except ValueError:
                return Reason.BAD_VALUE, c.name
    for c in t.columns:
        if c.enum and not c.open_enum and row[c.name]:
            if row[c.name].strip().lower() not in c.enum:
                return Reason.BAD_ENUM, c.name
    if Reason.CLOSED_AT_REQUIRED in t.row_rules:
        stage = row["stage"].strip().lower()
        if stage in ("won", "lost") and not row["closed_at"]:
            return Reason.CLOSED_AT_REQUIRED, "closed_at"
        if row["closed_at"] and parsed["closed_at"] < parsed["created_at"]:
            return Reason.CLOSED_BEFORE_CREATED, "closed_at"
    if Reason.BAD_SCALE in t.row_rules:
        lo, hi = parsed.get("scale_min"), parsed["scale_max"]
        if (hi <= 0) if lo is None else (lo >= hi):
            return Reason.BAD_SCALE, "scale_max"
        if not (0 if lo is None else lo) <= parsed["score"] <= hi:
            return Reason.SCORE_OUT_OF_SCALE, "score"
    return None


def validate(folder: Path) -> tuple[dict[tuple[str, int], str], set[tuple[str, int]], dict]:
    """Quarantine reasons by (file, line), exact repeats, and counts per file, per the contract."""
    bad: dict[tuple[str, int], str] = {}
    repeats: set[tuple[str, int]] = set()
    counts: dict[str, dict[str, int]] = {}
    valid_keys: dict[str, set[str]] = {}
    for t in schema.TABLES:
        name = f"{t.name}.csv"
        with open(folder / name, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            assert header == t.column_names, f"{name}: header {header}"
            records = []
            start = reader.line_num + 1
            for rec in reader:
                records.append((start, dict(zip(header, rec, strict=True))))
                start = reader.line_num + 1
        first: dict[str, dict[str, str]] = {}
        candidates = []
        for line, row in records:
            found = _row_reason(t, row)
            if found:
                bad[(name, line)] = found[0]
            elif row[t.key] in first:
                if first[row[t.key]] == row:
                    repeats.add((name, line))
                else:
                    bad[(name, line)] = Reason.CONFLICT
            else:
                first[row[t.key]] = row
                candidates.append((line, row))
        # references, against valid rows of earlier tables and (iteratively) of this one
        ok = {line: row for line, row in candidates}
        while True:
            mine = {row[t.key] for row in ok.values()}
            dropped = []
            for line, row in ok.items():
                for c in t.columns:
                    if c.references and row[c.name]:
                        ref = c.references.split(".")[0]
                        keys = mine if ref == t.name else valid_keys[ref]
                        if row[c.name] not in keys:
                            dropped.append(line)
                            break
            if not dropped:
                break
            for line in dropped:
                bad[(name, line)] = Reason.MISSING_REFERENCE
                del ok[line]
        valid_keys[t.name] = {row[t.key] for row in ok.values()}
        counts[name] = {
            "rows": len(records),
            "valid": len(ok),
            "quarantined": sum(1 for f, _ in bad if f == name),
            "repeats": sum(1 for f, _ in repeats if f == name),
        }
    return bad, repeats, counts


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for t in schema.TABLES:
        df = pd.read_csv(folder / f"{t.name}.csv", keep_default_na=False, na_values=[""])
        for c in t.columns:
            if c.type in (ColumnType.TIMESTAMP, ColumnType.DATE):
                df[c.name] = pd.to_datetime(df[c.name])
        out[t.name] = df
    return out


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[synth.Org, Path, dict[str, pd.DataFrame]]:
    out = tmp_path_factory.mktemp("synth_small")
    org = synth.generate(SMALL)
    synth.write(org, out)
    return org, out, _read(out)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("synth_dirty")
    truth = synth.synthesize(synth.SynthConfig(reps=30, months=12, seed=8, dirty=0.05), out)
    return truth, out


@pytest.fixture(scope="module")
def misallocated() -> tuple[synth.Org, dict[str, pd.DataFrame]]:
    """SMALL with the account-effort model on (``misallocation`` 0.15): the org and its tables."""
    org = synth.generate(MISALLOCATED)
    return org, {name: t.to_pandas() for name, t in org.tables.items()}


@pytest.fixture(scope="module")
def medium() -> tuple[synth.Org, pd.DataFrame, pd.DataFrame]:
    """An org with a coached team: the org, its truth per rep, its opportunities (with the
    hidden case-mix log-odds ``eta0`` and latent outcome)."""
    org = synth.generate(MEDIUM)
    reps = pd.DataFrame(org.truth["reps"]).set_index("rep_id")
    o = org.tables["opportunities"].to_pandas()
    o["eta0"], o["latent_won"] = org.hidden["eta0"], org.hidden["won"]
    return org, reps, o.join(reps[["team_id", "bright_spot", "team_effect"]], on="owner_rep_id")


def _closed(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    o = tables["opportunities"]
    c = o[o.stage != "open"].set_index("opportunity_id").copy()
    c["won"] = c.stage == "won"
    return c


def _touches(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    a = tables["activities"]
    a = a[~a.is_bulk.astype(bool) & a.opportunity_id.notna()]
    o = tables["opportunities"][["opportunity_id", "created_at"]]
    a = a.merge(o, on="opportunity_id")
    return a.merge(tables["contacts"][["contact_id", "seniority"]], on="contact_id", how="left")


# ----------------------------------------------------------------------------- contract
def test_config_is_checked(tmp_path):
    for bad in (dict(reps=5), dict(months=1), dict(dirty=0.7), dict(activities=10)):
        with pytest.raises(synth.SynthError):
            synth.generate(synth.SynthConfig(**bad))
    for bad, message in (
        (dict(bright_spot_odds_ratio=0.5), "above 1"),
        (dict(bright_spot_odds_ratio=1.0), "above 1"),
        (dict(team_odds_ratio=float("nan")), "above 1"),
        (dict(null=True, bright_spot_odds_ratio=2.0), "null=True"),
        (dict(null=True, coached_teams=1), "null=True"),
        (dict(coached_teams=-1), "0 or more"),
        (dict(coached_teams=0, team_odds_ratio=2.0), "at least one coached team"),
        (dict(reps=40, coached_teams=3), "can be coached"),  # 4 teams: 2 at most
    ):
        with pytest.raises(synth.SynthError, match=message):
            synth.generate(synth.SynthConfig(**{"months": 3, **bad}))
    with pytest.raises(synth.SynthError, match="csv or parquet"):
        synth.synthesize(synth.SynthConfig(reps=10, months=3), tmp_path, fmt="xlsx")


def test_clean_files_follow_the_contract(small):
    org, out, tables = small
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{t.name}.csv" for t in schema.TABLES] + ["truth.json", "truth_opportunities.parquet"]
    )
    bad, repeats, counts = validate(out)
    assert bad == {} and repeats == set()
    for t in schema.TABLES:
        assert counts[f"{t.name}.csv"]["rows"] == org.tables[t.name].num_rows > 0
        df = tables[t.name]
        assert df[t.key].is_unique
        for c in t.columns:
            if c.enum and not c.open_enum:
                assert set(df[c.name].dropna()) <= set(c.enum), (t.name, c.name)
    o = tables["opportunities"]
    assert set(o.stage) == {"open", "won", "lost"}
    assert o.loc[o.stage == "open", "closed_at"].isna().all()
    assert (o.closed_at.dropna() >= o.loc[o.closed_at.notna(), "created_at"]).all()
    assert set(o.source.dropna()) == set(schema.SOURCES)
    end = pd.Timestamp(SMALL.end) + pd.Timedelta(days=1)
    for name, col in (("activities", "occurred_at"), ("buyer_events", "occurred_at")):
        assert (tables[name][col] < end).all()


def test_rows_are_realistic(small):
    org, _, tables = small
    reps, a, o = tables["reps"], tables["activities"], tables["opportunities"]
    assert reps.name.is_unique and reps.email.is_unique
    regions = {t["region"] for t in org.truth["territories"]}
    assert reps.manager_rep_id.isna().sum() == len(regions)  # one head per region
    hired_in_window = pd.to_datetime(reps.hire_date) > pd.Timestamp(org.truth["window"]["start"])
    assert hired_in_window.any() and not hired_in_window.all()
    teams = tables["teams"]
    assert teams.parent_team_id.isna().sum() == len(regions)
    assert teams.parent_team_id.notna().sum() == len(org.truth["territories"])
    # some activities without an opportunity, some without a contact, bulk e-mails, durations
    assert 0.02 < a.opportunity_id.isna().mean() < 0.2
    assert 0.01 < a.contact_id.isna().mean() < 0.2
    assert 0.03 < a.is_bulk.mean() < 0.15 and set(a.loc[a.is_bulk, "type"]) == {"email"}
    assert a.loc[a.type == "email", "duration_minutes"].isna().all()
    assert a.loc[a.type == "meeting", "duration_minutes"].between(30, 90).all()
    # activities on a deal never precede its creation
    j = a.dropna(subset=["opportunity_id"]).merge(o[["opportunity_id", "created_at"]])
    assert (j.occurred_at >= j.created_at).all()
    # volume: about 10-15 activities per opportunity
    assert 10 <= len(a) / len(o) <= 16
    # customer and employee surveys with a care dimension; stories on won deals
    s = tables["survey_responses"]
    assert set(s.respondent_type) == {"customer", "employee"} and "care" in set(s.dimension)
    assert (s.score >= s.scale_min).all() and (s.score <= s.scale_max).all()
    st = tables["stories"]
    assert len(st) > 0 and st.body.str.contains("\n").any()  # multi-line values, quoted


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    cfg = synth.SynthConfig(reps=20, months=6, seed=3)
    synth.synthesize(cfg, tmp_path / "a")
    synth.synthesize(cfg, tmp_path / "b")
    synth.synthesize(synth.SynthConfig(reps=20, months=6, seed=4), tmp_path / "c")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == len(schema.TABLES) + 2  # the tables, truth.json, the deal truth
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n
    differ = [
        n for n in names if (tmp_path / "a" / n).read_bytes() != (tmp_path / "c" / n).read_bytes()
    ]
    assert "opportunities.csv" in differ and "activities.csv" in differ


def test_parquet_has_the_contract_types(tmp_path):
    synth.synthesize(synth.SynthConfig(reps=10, months=3, seed=1), tmp_path, fmt="parquet")
    for t in schema.TABLES:
        s = pq.read_schema(tmp_path / f"{t.name}.parquet")
        assert s.names == t.column_names
        for c in t.columns:
            typ = s.field(c.name).type
            if c.type == ColumnType.TIMESTAMP:  # Parquet stores seconds as milliseconds
                assert typ == pa.timestamp("ms"), (t.name, c.name)
            else:
                assert typ == synth.ARROW_TYPES[c.type], (t.name, c.name)


def test_truth_follows_the_written_format(tmp_path):
    org = synth.generate(synth.SynthConfig(reps=10, months=3, seed=2))
    synth.write(org, tmp_path / "p", fmt="parquet")
    d = org.truth["dirty"]
    assert d["rate"] == 0 and d["bad_rows"] == [] and d["format"] == "parquet"
    assert d["files"]["activities.parquet"]["valid"] == org.tables["activities"].num_rows
    assert set(org.truth["counts"]) == {f"{t.name}.parquet" for t in schema.TABLES}
    dirty = synth.apply_dirt(replace(org, config=replace(org.config, dirty=0.1)), fmt="csv")
    with pytest.raises(synth.SynthError, match="laid out for csv"):
        synth.write(dirty, tmp_path / "q", fmt="parquet")


def test_names_stay_unique_in_large_orgs():
    org = synth.generate(synth.SynthConfig(reps=6000, months=3, opportunities_per_rep_month=0.3))
    reps = org.tables["reps"].to_pandas()
    assert reps.name.is_unique and reps.email.is_unique
    assert reps.name.str.fullmatch(r"\S+ [A-Z]\. \S+.*").any()  # middle initials when needed


def test_progress_is_reported(tmp_path):
    seen: list[tuple[str, float]] = []
    synth.synthesize(
        synth.SynthConfig(reps=10, months=3), tmp_path, progress=lambda s, f: seen.append((s, f))
    )
    fractions = [f for _, f in seen]
    assert len(seen) > 5 and fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0


# ----------------------------------------------------------------------------- planted truth
def test_truth_records_the_plant(small):
    org, out, _ = small
    truth = org.truth
    assert "generated_at" not in truth and truth["seed"] == SMALL.seed and truth["null"] is False
    reps = pd.DataFrame(truth["reps"]).set_index("rep_id")
    assert list(reps.index) == list(org.tables["reps"].column("rep_id").to_pylist())
    bright = truth["bright_spots"]
    assert len(bright) == 3 and set(bright) == set(reps.index[reps.bright_spot])
    assert not set(bright) & set(truth["rich_territory_reps"])
    # planted reps stand out in true ratio, nobody else is far above 1
    others = reps.drop(index=bright)
    assert reps.loc[bright, "true_ratio"].min() > 1.5
    assert others.true_ratio.max() < 1.4
    assert (reps.loc[truth["rich_territory_reps"], "true_ratio"] == 1.0).all()
    # some bright spots work in poor territories
    poorest = reps.territory_potential.min()
    assert (reps.loc[bright, "territory_potential"] == poorest).any()
    pots = [t["potential"] for t in truth["territories"]]
    assert max(pots) / min(pots) > 2.5  # with 3 teams; about 10 with 20
    assert [p["id"] for p in truth["true_practices"]] == list(synth.PRACTICES)
    assert all(p["log_odds"] > 0 for p in truth["true_practices"])
    assert len(truth["decoy_practices"]) == 2
    assert (out / "truth.json").read_text(encoding="utf-8").startswith("{")


def test_rich_territory_reps_top_the_raw_leaderboard(small):
    org, _, tables = small
    c = _closed(tables)
    won_amount = c[c.won].groupby("owner_rep_id").amount.sum().sort_values(ascending=False)
    rich = org.truth["rich_territory_reps"]
    assert set(rich) <= set(won_amount.index[: len(rich) + 1])


def test_bright_spots_win_more_than_their_teammates(small):
    org, _, tables = small
    c = _closed(tables)
    rate = c.groupby("owner_rep_id").won.mean()
    team = tables["reps"].set_index("rep_id").team_id
    margins = []
    for rep in org.truth["bright_spots"]:
        mates = team.index[(team == team[rep]) & (team.index != rep)]
        margins.append(rate[rep] - rate.reindex(mates).median())
    assert min(margins) > 0 and np.mean(margins) > 0.1, margins


def test_true_practices_are_measurable_from_the_rows(small):
    org, _, tables = small
    c = _closed(tables)
    touches = _touches(tables)
    hidden = pd.DataFrame(
        {p: org.hidden[p] for p in synth.PRACTICES},
        index=org.tables["opportunities"].column("opportunity_id").to_pylist(),
    ).loc[c.index]

    # multi-threading: 3+ distinct contacts incl. an executive in the first 14 days
    early = touches[touches.occurred_at < touches.created_at + pd.Timedelta(days=14)]
    g = early.groupby("opportunity_id")
    mt = (g.contact_id.nunique() >= 3) & g.seniority.agg(lambda s: (s == "executive").any())
    c["mt"] = mt.reindex(c.index, fill_value=False).astype(bool)
    assert (c.mt == hidden.multi_threading).all()
    assert c.loc[c.mt, "won"].mean() > c.loc[~c.mt, "won"].mean() + 0.05

    # meeting before proposal, among deals with a proposal
    first_prop = touches[touches.type == "proposal"].groupby("opportunity_id").occurred_at.min()
    meet = touches[touches.type.isin(["meeting", "demo"])].merge(
        first_prop.rename("prop"), left_on="opportunity_id", right_index=True
    )
    mbp = (meet.occurred_at < meet.prop).groupby(meet.opportunity_id).any()
    with_prop = c.loc[c.index.intersection(first_prop.index)].copy()
    with_prop["mbp"] = mbp.reindex(with_prop.index, fill_value=False).astype(bool)
    assert (with_prop.mbp == hidden.loc[with_prop.index, "meeting_before_proposal"]).all()
    assert with_prop.loc[with_prop.mbp, "won"].mean() > with_prop.loc[~with_prop.mbp, "won"].mean()

    # fast response: the next rep touch on the deal within 4 hours of most buyer replies
    ev = tables["buyer_events"]
    replies = ev[(ev.type == "reply") & ev.opportunity_id.notna()].sort_values("occurred_at")
    nxt = pd.merge_asof(
        replies[["opportunity_id", "occurred_at"]],
        touches[["opportunity_id", "occurred_at"]]
        .sort_values("occurred_at")
        .rename(columns={"occurred_at": "answer"}),
        left_on="occurred_at",
        right_on="answer",
        by="opportunity_id",
        direction="forward",
    )
    nxt["fast"] = nxt.answer - nxt.occurred_at <= pd.Timedelta(hours=4)
    fr = nxt.groupby("opportunity_id").fast.mean() >= 0.5
    measured = c.loc[c.index.intersection(fr.index)].copy()
    measured["fr"] = fr.reindex(measured.index).astype(bool)
    agree = (measured.fr == hidden.loc[measured.index, "fast_response"]).mean()
    assert 0.75 < agree < 1.0  # a noisy but honest proxy
    assert measured.loc[measured.fr, "won"].mean() > measured.loc[~measured.fr, "won"].mean()


def test_decoys_follow_territory_and_deal_length(small):
    _, _, tables = small
    c = _closed(tables)
    touches = _touches(tables)
    per = touches.groupby(["opportunity_id", "type"]).size().unstack(fill_value=0)
    c = c.join(per, how="left").fillna({k: 0 for k in per.columns})
    # demos per deal follow the territory's potential (mean account potential of the team)
    acc = tables["accounts"].merge(tables["reps"], left_on="owner_rep_id", right_on="rep_id")
    team_pot = acc.groupby("team_id").annual_potential.mean()
    rep_team = tables["reps"].set_index("rep_id").team_id
    c["territory"] = np.log(c.owner_rep_id.map(rep_team).map(team_pot))
    assert np.corrcoef(c.demo, c.territory)[0, 1] > 0.2
    # calls and e-mails grow with deal length, and won deals last longer
    c["days"] = (c.closed_at - c.created_at).dt.total_seconds() / 86400
    volume = c.call + c.email
    assert np.corrcoef(volume, c.days)[0, 1] > 0.6
    assert c.loc[c.won, "days"].mean() > 1.3 * c.loc[~c.won, "days"].mean()
    assert volume[c.won].mean() > 1.3 * volume[~c.won].mean()
    weekly = volume / np.maximum(c.days, 1) * 7
    assert weekly[c.won].mean() < 1.1 * weekly[~c.won].mean()  # no more per open week


def test_null_mode_plants_no_deviants():
    org = synth.generate(synth.SynthConfig(reps=60, months=12, seed=5, null=True))
    truth = org.truth
    assert truth["null"] is True and truth["bright_spots"] == []
    assert truth["bright_spot_teams"] == [] and truth["team_effects"] == {}
    assert truth["rich_territory_reps"]  # case mix stays
    reps = pd.DataFrame(truth["reps"])
    assert (reps.skill == 0).all() and not reps.bright_spot.any()
    assert not reps.team_effect.any() and (reps.team_log_odds == 0).all()
    assert reps.true_ratio.dropna().eq(1.0).all()
    assert reps.true_revenue_ratio.dropna().eq(1.0).all() and (reps.amount_uplift == 0).all()
    assert all(v == 0 for d in reps.practice_offset for v in d.values())
    assert all(t["true_ratio"] == 1.0 for t in truth["territories"])


# ------------------------------------------------------------------ misallocated account effort
def test_account_effort_model_is_off_by_default(small):
    org, _, tables = small
    m = org.truth["misallocation"]
    assert m["share"] == 0.0 and m["proportional_rep"] is None and m["neglect_keep"] == {}
    assert m["reps"] == m["neglected_accounts"] == m["over_served_accounts"] == []
    assert all(r["effort_policy"] is None for r in org.truth["reps"])
    # the plain generator's account-level touches: a few, each around a deal of its account
    a, o = tables["activities"], tables["opportunities"]
    touches = a[~a.is_bulk.astype(bool)]
    no_opp = touches[touches.opportunity_id.isna()]
    assert 0.015 < len(no_opp) / len(touches) < 0.04
    assert set(no_opp.account_id) <= set(o.account_id)
    # misallocation 0 is the same organisation, table for table
    zero = synth.generate(replace(SMALL, misallocation=0.0))
    for name, table in org.tables.items():
        assert zero.tables[name].equals(table), name
    assert zero.truth["misallocation"] == m


def test_account_effort_model_covers_accounts_by_value(misallocated, small):
    org, tables = misallocated
    a, o, acc = tables["activities"], tables["opportunities"], tables["accounts"]
    touches = a[~a.is_bulk]
    # account-level touches are about 40-45% of the touches, 21-23 activities a deal
    assert 0.35 < touches.opportunity_id.isna().mean() < 0.5
    assert 19 <= len(a) / len(o) <= 25
    # accounts without a deal are covered too, bigger ones more
    no_deal = acc[~acc.account_id.isin(o.account_id) & acc.owner_rep_id.notna()].copy()
    no_deal["touches"] = no_deal.account_id.map(touches.groupby("account_id").size()).fillna(0)
    assert (no_deal.touches > 0).mean() > 0.8
    big = no_deal.annual_potential > no_deal.annual_potential.median()
    assert no_deal[big].touches.mean() > 1.3 * no_deal[~big].touches.mean()
    # the same opportunities as without the model (its draws come from a stream of their own)
    assert org.tables["opportunities"].equals(small[0].tables["opportunities"])


def test_proportional_rep_covers_accounts_in_proportion_to_value(misallocated):
    org, tables = misallocated
    a, o = tables["activities"], tables["opportunities"]
    acc = tables["accounts"].copy()
    won = o[o.stage == "won"].groupby("account_id").amount.sum()
    acc["touches"] = acc.account_id.map(a[~a.is_bulk].groupby("account_id").size()).fillna(0)
    acc["value"] = 0.25 * acc.annual_potential + acc.account_id.map(won).fillna(0)

    def gap(rep: str) -> float:
        """Half the summed gap between the book's shares of touches and of value."""
        book = acc[acc.owner_rep_id == rep]
        return (book.touches / book.touches.sum() - book.value / book.value.sum()).abs().sum() / 2

    # the value here is a proxy from the rows (the generator's also counts expected revenue and
    # open pipeline): seed 5 gives 0.09 against a median 0.18, seeds 1-4 0.07-0.14 against 0.18-0.19
    policy = {r["rep_id"]: r["effort_policy"] for r in org.truth["reps"]}
    value_reps = [r for r, p in policy.items() if p == "value" and r in set(acc.owner_rep_id)]
    assert gap(org.truth["misallocation"]["proportional_rep"]) < 0.75 * np.median(
        [gap(r) for r in value_reps]
    )


def test_truth_records_the_misallocation(misallocated):
    org, tables = misallocated
    m = org.truth["misallocation"]
    reps = pd.DataFrame(org.truth["reps"]).set_index("rep_id")
    assert m["share"] == 0.15 and len(m["reps"]) == round(0.15 * SMALL.reps) == 4
    assert set(m["reps"]) == set(reps.index[reps.effort_policy == "misallocating"])
    assert reps.loc[m["proportional_rep"], "effort_policy"] == "proportional"
    assert (reps.effort_policy == "proportional").sum() == 1
    assert m["proportional_rep"] not in m["reps"]
    assert not reps.loc[m["reps"] + [m["proportional_rep"]], "manager"].any()
    assert not reps.loc[m["reps"] + [m["proportional_rep"]], "hired_in_window"].any()
    acc = tables["accounts"].set_index("account_id")
    neglected, over = acc.loc[m["neglected_accounts"]], acc.loc[m["over_served_accounts"]]
    assert 2 * len(m["reps"]) <= len(neglected) <= 3 * len(m["reps"])
    assert len(over) == 3 * len(m["reps"]) and not set(neglected.index) & set(over.index)
    assert set(neglected.owner_rep_id) == set(over.owner_rep_id) == set(m["reps"])
    # neglected: large accounts (the company's top tenth by expected value, so mostly
    # enterprise, far above the median potential); over-served: the small ones of their book
    assert (neglected.segment != "smb").all() and (neglected.segment == "enterprise").mean() > 0.7
    assert neglected.annual_potential.min() > 4 * acc.annual_potential.median()
    small_end = acc.groupby("owner_rep_id").annual_potential.quantile(0.25)
    assert (over.annual_potential <= over.owner_rep_id.map(small_end)).all()
    assert set(m["neglect_keep"]) == set(m["reps"])
    assert all(0.1 <= k <= 0.2 for k in m["neglect_keep"].values())


def test_misallocating_reps_neglect_large_accounts_in_the_rows(misallocated):
    org, tables = misallocated
    m = org.truth["misallocation"]
    a, o = tables["activities"], tables["opportunities"]
    touches = a[~a.is_bulk.astype(bool)].groupby("account_id").size()
    won = o[o.stage == "won"].groupby("account_id").amount.sum()
    acc = tables["accounts"].copy()
    acc["touches"] = acc.account_id.map(touches).fillna(0)
    # a value from the rows: a quarter of the potential and the revenue won in the window
    acc["value"] = 0.25 * acc.annual_potential + acc.account_id.map(won).fillna(0)
    acc["per_value"] = acc.touches / acc.value
    for rep in m["reps"]:
        book = acc[acc.owner_rep_id == rep].sort_values("value", ascending=False)
        neglected = book.account_id.isin(m["neglected_accounts"])
        # the next most valuable accounts of the same book get at least twice the touches per
        # unit of value (the neglected keep their deals' practice touches, so not 10-20%)
        peers = book[~neglected].head(5)
        assert book[neglected].per_value.median() < 0.5 * peers.per_value.median(), rep
        over = book[book.account_id.isin(m["over_served_accounts"])]
        assert over.per_value.min() > 3 * book.per_value.median(), rep


def test_misallocation_share_is_a_parameter():
    base = dict(reps=40, months=3, seed=3)
    more = synth.generate(synth.SynthConfig(**base, misallocation=0.25)).truth["misallocation"]
    assert len(more["reps"]) == 10 and more["proportional_rep"] is not None
    assert more["share"] == 0.25
    few = synth.generate(synth.SynthConfig(**base, misallocation=0.01)).truth["misallocation"]
    assert len(few["reps"]) == 1  # at least one rep whenever the share is above 0
    for off in (dict(null=True), dict(null=True, misallocation=0.0), {}):
        truth = synth.generate(synth.SynthConfig(**base, **off)).truth
        assert truth["misallocation"]["reps"] == [] and truth["misallocation"]["share"] == 0.0
        assert truth["misallocation"]["proportional_rep"] is None
    for bad, message in (
        (dict(misallocation=0.7), "between 0 and 0.5"),
        (dict(misallocation=-0.1), "between 0 and 0.5"),
        (dict(null=True, misallocation=0.2), "null=True"),
    ):
        with pytest.raises(synth.SynthError, match=message):
            synth.generate(synth.SynthConfig(**{**base, **bad}))


# ----------------------------------------------------------------------------- coached team
def test_truth_records_the_coached_team_and_regions(medium):
    org, reps, _ = medium
    truth = org.truth
    terr = pd.DataFrame(truth["territories"]).set_index("team_id")
    assert len(terr) == 8
    (coached,) = truth["bright_spot_teams"]  # about 1 team in 20, at least one
    effect = truth["team_effects"][coached]
    assert 0.30 <= effect["log_odds"] <= 0.40
    assert effect["odds_ratio"] == pytest.approx(math.exp(effect["log_odds"]), abs=1e-4)
    # every rep of the team, manager included, and nobody else
    members = reps.index[reps.team_id == coached]
    assert set(reps.index[reps.team_effect]) == set(members) and effect["reps"] == len(members)
    assert reps.loc[members, "manager"].any()
    assert (reps.loc[members, "team_log_odds"] == effect["log_odds"]).all()
    assert (reps.drop(index=members).team_log_odds == 0).all()
    # not the richest or poorest territory, no rich-territory rep, no planted bright spot
    assert terr.potential.min() < terr.loc[coached, "potential"] < terr.potential.max()
    assert not reps.loc[members, "rich_territory"].any()
    assert not reps.loc[members, "bright_spot"].any() and terr.loc[coached, "bright_spots"] == 0
    # planted bright spots: at most one per team (8 teams, 4 bright spots)
    assert reps[reps.bright_spot].team_id.is_unique
    assert terr.bright_spots.sum() == len(truth["bright_spots"]) == 4
    # every coached rep modestly above expectation, none as far as a planted bright spot
    ratios = reps.loc[members, "true_ratio"]
    assert ratios.min() > 1.1 and ratios.max() < reps[reps.bright_spot].true_ratio.min() - 0.3
    # the team stands out: its true ratio tops every team without a planted bright spot
    assert effect["true_ratio"] == terr.loc[coached, "true_ratio"] > 1.15
    plain = terr[(terr.bright_spots == 0) & (terr.index != coached)]
    assert terr.loc[coached, "true_ratio"] > plain.true_ratio.max() + 0.1
    # ... and every team once its planted individual bright spots are left out
    without = terr.true_ratio_excluding_bright_spots
    assert without[coached] == terr.loc[coached, "true_ratio"]
    assert without[coached] > without.drop(index=coached).max() + 0.1
    hosts = terr[terr.bright_spots > 0]
    assert (hosts.true_ratio > without[hosts.index]).all()
    # regions: region id -> its teams, as in the teams table
    teams = org.tables["teams"].to_pandas().set_index("team_id")
    regions = truth["regions"]
    assert sorted(t for ts in regions.values() for t in ts) == sorted(terr.index)
    for region, team_ids in regions.items():
        assert (teams.loc[team_ids, "parent_team_id"] == region).all()
        assert (terr.loc[team_ids, "region_id"] == region).all()
        assert teams.loc[region, "name"] == terr.loc[team_ids[0], "region"]


def test_coached_team_wins_above_its_case_mix_peers(medium):
    """In the rows: each closed deal's expected win rate is that of its case-mix peers (deals of
    unplanted reps in the same twentile of the true case-mix log-odds); the coached team's wins
    exceed that expectation clearly, and more than any other team's."""
    org, _, o = medium
    c = o[(o.stage != "open") & ~o.bright_spot].copy()
    c["won"] = (c.stage == "won").astype(float)
    c["band"] = pd.qcut(c.eta0, 20, labels=False)
    peers = c[~c.team_effect].groupby("band").won.mean()
    c["p"] = c.band.map(peers)
    g = c.groupby("team_id").agg(O=("won", "sum"), E=("p", "sum"))
    g["V"] = (c.p * (1 - c.p)).groupby(c.team_id).sum()
    g["ratio"], g["z"] = g.O / g.E, (g.O - g.E) / np.sqrt(g.V)
    (coached,) = org.truth["bright_spot_teams"]
    assert g.loc[coached, "ratio"] > 1.1 and g.loc[coached, "z"] > 2  # 1.22 and 5.0 here
    others = g.drop(index=coached)
    assert g.loc[coached, "ratio"] > others.ratio.max() + 0.05
    assert others.z.max() < 2.5  # no other team clearly above its peers


# ----------------------------------------------------------------------------- effect sizes
def test_odds_ratio_parameters_set_the_plant_exactly():
    base = dict(reps=40, months=12, seed=4)
    beta = None
    means: dict[str, list[float]] = {"bright": [], "team": [], "bright_rows": []}
    first = None
    for ratio in (1.5, 2.0, 3.0):
        org = synth.generate(
            synth.SynthConfig(**base, bright_spot_odds_ratio=ratio, team_odds_ratio=ratio)
        )
        truth = org.truth
        reps = pd.DataFrame(truth["reps"]).set_index("rep_id")
        beta = np.array([p["log_odds"] for p in truth["true_practices"]])
        # each deal of a planted rep (bright spot or coached) has exactly `ratio` times the odds
        # of the same deal with the same practices in an average rep's hands
        rep_ids = np.array(org.tables["opportunities"].column("owner_rep_id").to_pylist())
        practices = np.stack([org.hidden[p] for p in synth.PRACTICES], axis=1)
        lift = np.log(org.hidden["p_win"] / (1 - org.hidden["p_win"]))
        lift -= org.hidden["eta0"] + practices @ beta
        planted = reps.bright_spot | reps.team_effect
        assert planted.sum() >= 3 + 4
        on_planted = pd.Series(rep_ids).map(planted).to_numpy()
        np.testing.assert_allclose(lift[on_planted], math.log(ratio), atol=1e-9)
        assert (reps.loc[reps.bright_spot, "skill"] == round(math.log(ratio), 4)).all()
        assert (reps.loc[reps.team_effect, "skill"] == 0).all()
        assert (reps.loc[reps.team_effect, "team_log_odds"] == round(math.log(ratio), 4)).all()
        for rows in (reps[reps.bright_spot], reps[reps.team_effect]):
            assert all(v == 0 for d in rows.practice_offset for v in d.values())
            # odds times r, probabilities times less than r: 1 < true ratio < r
            assert (rows.true_ratio > 1).all() and (rows.true_ratio < ratio).all()
        means["bright"].append(reps[reps.bright_spot].true_ratio.mean())
        means["team"].append(reps[reps.team_effect].true_ratio.mean())
        o = org.tables["opportunities"].to_pandas()
        mine = o[o.owner_rep_id.isin(reps.index[reps.bright_spot]) & (o.stage != "open")]
        means["bright_rows"].append((mine.stage == "won").mean())
        # the effect size changes nothing else: same plant, same accounts, same deals
        same = (truth["bright_spots"], truth["bright_spot_teams"], org.tables["accounts"])
        if first is None:
            first = same + (o.created_at, o.initial_amount)
        else:
            assert same[:2] == first[:2] and same[2].equals(first[2])
            assert o.created_at.equals(first[3]) and o.initial_amount.equals(first[4])
    for key, values in means.items():
        assert values == sorted(values) and values[-1] > values[0] + 0.1, (key, values)


def test_coached_teams_can_be_set():
    org = synth.generate(synth.SynthConfig(reps=80, months=3, seed=3, coached_teams=0))
    assert org.truth["bright_spot_teams"] == [] and org.truth["team_effects"] == {}
    org = synth.generate(synth.SynthConfig(reps=80, months=3, seed=3, coached_teams=2))
    assert len(org.truth["bright_spot_teams"]) == len(org.truth["team_effects"]) == 2
    # with team_odds_ratio, small orgs (3 teams) get their coached team too
    org = synth.generate(synth.SynthConfig(reps=30, months=3, seed=3, team_odds_ratio=2.0))
    assert len(org.truth["bright_spot_teams"]) == 1


# ----------------------------------------------------------------------------- won revenue
def test_booked_amounts_follow_the_amount_at_creation(medium):
    org, reps, o = medium
    won = o[o.stage == "won"]
    drift = won.amount / won.initial_amount
    # a quarter never updated (a few more round back to the initial amount)
    assert 0.22 < (drift == 1).mean() < 0.35
    assert np.corrcoef(np.log(won.amount), np.log(won.initial_amount))[0, 1] > 0.95
    # expected drift 0.25 + 0.75 * exp(0.06 + 0.28**2 / 2) = 0.25 + 0.75 * 1.10429 = 1.07821
    model = org.truth["amount_model"]
    assert model["won_amount_factor_average"] == 1.0782
    assert drift[~won.bright_spot].mean() == pytest.approx(1.0782, abs=0.03)
    # bright spots book their updated won deals larger (log uplift 0.05-0.12)
    moved = np.log(drift[drift != 1])
    bright = won.bright_spot[drift != 1]
    assert moved[bright].mean() > moved[~bright].mean() + 0.03
    uplift = reps.amount_uplift
    assert uplift[reps.bright_spot].between(0.05, 0.12).all()
    assert (uplift[~reps.bright_spot] == 0).all()
    # lost deals mostly keep their amount
    lost = o[o.stage == "lost"]
    assert (lost.amount == lost.initial_amount).mean() > 0.55


def test_truth_has_true_revenue_ratios(medium):
    org, reps, _ = medium
    books = reps[reps.closed >= 20]  # expected revenue is rounded to whole units
    ratio = books.expected_revenue_true / books.expected_revenue_average_rep
    np.testing.assert_allclose(books.true_revenue_ratio, ratio, atol=2e-4)
    bright = reps[reps.bright_spot]
    assert (bright.true_revenue_ratio > bright.true_ratio).all()  # the amount uplift
    assert (bright.true_revenue_ratio > 1.5).all()
    rich = reps[reps.rich_territory]
    assert (rich.true_revenue_ratio == 1.0).all()
    # without an uplift, revenue and win ratios differ only through deal sizes
    plain = reps[~reps.bright_spot]
    assert (plain.true_revenue_ratio - plain.true_ratio).abs().max() < 0.1
    terr = pd.DataFrame(org.truth["territories"]).set_index("team_id")
    (coached,) = org.truth["bright_spot_teams"]
    assert terr.loc[coached, "true_revenue_ratio"] > 1.15


# ----------------------------------------------------------------------------- dirty rows
def test_dirty_rows_are_exactly_as_recorded(dirty):
    truth, out = dirty
    d = truth["dirty"]
    recorded = {(r["file"], r["line"]): r["reason"] for r in d["bad_rows"]}
    assert len(recorded) == len(d["bad_rows"])
    assert {r["reason"] for r in d["bad_rows"]} == {str(r) for r in Reason}
    bad, repeats, counts = validate(out)
    assert bad == recorded
    assert repeats == {(r["file"], r["line"]) for r in d["repeats"]} != set()
    for file, c in counts.items():
        f = d["files"][file]
        assert (f["rows"], f["valid"], f["quarantined"], f["repeats"]) == (
            c["rows"], c["valid"], c["quarantined"], c["repeats"]
        )  # fmt: skip
        assert f["rows"] == f["valid"] + f["quarantined"] + f["repeats"]
    # cascades: rows whose parent row was made bad
    assert sum(f["cascaded"] for f in d["files"].values()) > 0
    conflict = next(r for r in d["bad_rows"] if r["reason"] == "conflict")
    assert conflict["first_line"] < conflict["line"]


def test_dirty_files_carry_harmless_variations(dirty):
    truth, out = dirty
    text = (out / "opportunities.csv").read_text(encoding="utf-8")
    assert re.search(r'"(Won|Lost|Open)"', text)
    assert re.search(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)"', text)
    assert sum(f["cosmetic"] for f in truth["dirty"]["files"].values()) > 0


def test_dirty_parquet_lines_are_row_numbers(tmp_path):
    truth = synth.synthesize(
        synth.SynthConfig(reps=20, months=6, seed=2, dirty=0.05), tmp_path, fmt="parquet"
    )
    rows = {
        t.name: pq.read_table(tmp_path / f"{t.name}.parquet").to_pylist() for t in schema.TABLES
    }
    keys = {r["file"]: 0 for r in truth["dirty"]["bad_rows"]}
    assert keys
    for r in truth["dirty"]["bad_rows"]:
        name = r["file"].removesuffix(".parquet")
        row = rows[name][r["line"] - 2]
        if r["reason"] == "missing_key":
            assert row[schema.table(name).key] is None
        if r["reason"] == "bad_enum":
            assert row[r["column"]].lower() not in schema.table(name).column(r["column"]).enum


# ----------------------------------------------------------------------------- scale
def test_activities_target_scales_volume():
    org = synth.generate(synth.SynthConfig(reps=20, months=6, seed=1, activities=60_000))
    assert 48_000 < org.tables["activities"].num_rows < 72_000
    # with the account-effort model on, a deal brings more activities: fewer deals
    on = synth.generate(
        synth.SynthConfig(reps=20, months=6, seed=1, activities=60_000, misallocation=0.15)
    )
    assert 48_000 < on.tables["activities"].num_rows < 72_000
    assert on.tables["opportunities"].num_rows < 0.75 * org.tables["opportunities"].num_rows


@pytest.mark.slow
def test_default_size_timing(tmp_path):
    t0 = time.perf_counter()
    org = synth.generate(synth.SynthConfig())
    t1 = time.perf_counter()
    rows = synth.write(org, tmp_path)
    t2 = time.perf_counter()
    print(f"\ndefault org: generate {t1 - t0:.1f}s, write {t2 - t1:.1f}s, rows {rows}")
    closed = org.truth["reps"]
    assert np.median([r["closed"] for r in closed]) >= 100
    assert 10 <= rows["activities.csv"] / rows["opportunities.csv"] <= 15


def test_deal_truth_gives_each_opportunity_its_true_win_probability(tmp_path):
    import pandas as pd

    from brightspots import synth

    synth.synthesize(synth.SynthConfig(reps=20, months=6, seed=3), tmp_path)
    p = pd.read_parquet(tmp_path / "truth_opportunities.parquet")
    opps = pd.read_csv(tmp_path / "opportunities.csv")
    assert p["opportunity_id"].tolist() == opps["opportunity_id"].tolist()
    assert p["p_win"].between(0, 1).all()
    closed = opps.merge(p, on="opportunity_id")
    closed = closed[closed["stage"].isin(["won", "lost"])]
    # wins are drawn from these probabilities: the totals agree within a few standard errors
    se = (closed["p_win"] * (1 - closed["p_win"])).sum() ** 0.5
    assert abs((closed["stage"] == "won").sum() - closed["p_win"].sum()) < 4 * se
    synth.synthesize(synth.SynthConfig(reps=20, months=6, seed=3, dirty=0.05), tmp_path / "d")
    assert not (tmp_path / "d" / "truth_opportunities.parquet").exists()
