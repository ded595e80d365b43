"""No hidden care figure can be recovered from what ``care.index.protect`` and the run notes
keep: a hidden team's mean through its reps' shrinkage toward it, a rep with no team as the
company minus its teams, and a hidden reference's mean in the level notes (review of issue 11,
leaks A1-A3, on hand-made sums)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brightspots.care import index as index_mod
from brightspots.care.config import CareSettings

K = 5
END = pd.Timestamp("2025-01-01")


def answer(level: str, unit: str, respondent: str, x: float, source: str = "customer") -> dict:
    """One respondent's sums for one unit: a single answer x."""
    return dict(
        level=level,
        unit_id=unit,
        source=source,
        respondent=respondent,
        anonymous=False,
        wave="",
        n=1,
        sum_x=x,
        n_odd=1,
        sum_odd=x,
        n_even=0,
        sum_even=0.0,
        submissions=1,
    )


def customer_sums(plan: dict[str | None, dict[str, int]], seed: int) -> pd.DataFrame:
    """Customers' answers to reps by team (team None: reps with no team), rolled up to the team
    and the company."""
    rng = np.random.default_rng(seed)
    rows = []
    for team, reps in plan.items():
        for rep, n in reps.items():
            for i in range(n):
                x = float(rng.integers(0, 5) / 4)
                units = [("rep", rep), ("company", "company")]
                units += [("team", team)] if team else []
                rows += [answer(level, unit, f"{rep}-{i}", x) for level, unit in units]
    return pd.DataFrame(rows)


def indexed(sums: pd.DataFrame, rep_team: dict[str, str]) -> tuple[pd.DataFrame, dict]:
    return index_mod.index_frame(
        sums,
        names=index_mod.Names(
            reps={r: f"Rep {r}" for r in sums.loc[sums["level"] == "rep", "unit_id"]},
            teams={t: f"Team {t}" for t in sums.loc[sums["level"] == "team", "unit_id"]},
            rep_team=rep_team,
        ),
        settings=CareSettings(),
        window_start=None,
        window_end=END,
    )


def protected(index: pd.DataFrame) -> pd.DataFrame:
    out, _, _ = index_mod.protect(
        index,
        index_mod.empty(index_mod.TREND_COLUMNS),
        index_mod.empty(index_mod.RELIABILITY_COLUMNS),
        k=K,
    )
    return out


def row(frame: pd.DataFrame, level: str, unit: str) -> pd.Series:
    return frame[(frame["level"] == level) & (frame["unit_id"] == unit)].iloc[0]


def test_a_hidden_teams_mean_is_not_shown_through_its_reps():
    """leak1: T1 is one rep of 3; T3 is hidden beside it, but its rep G is shown. G was shrunk
    toward T3's own mean, so its prior, shrunk mean and interval and reliability are blank
    (else company - T2 - T3 gives away rep A)."""
    plan = {"T1": {"A": 3}, "T2": {"B": 6, "C": 6, "F": 7}, "T3": {"D": 6, "E": 6, "G": 6}}
    index, _ = indexed(customer_sums(plan, 1), {r: t for t, rs in plan.items() for r in rs})
    out = protected(index)
    assert row(out, "team", "T3")["suppressed"] and not row(out, "rep", "G")["suppressed"]
    g = row(out, "rep", "G")
    assert np.isfinite(g["mean"])  # its own figures stay
    for column in index_mod.TEAM_DERIVED:
        assert pd.isna(g[column]), column
    hidden_means = set(index.loc[index["level"] == "team", "mean"]) - set(
        out.loc[~out["suppressed"] & (out["level"] == "team"), "mean"]
    )
    shown_reps = out[(out["level"] == "rep") & ~out["suppressed"]]
    for column in ("prior_mean", "shrunk_mean"):
        for value in shown_reps[column].dropna():
            assert all(value != pytest.approx(m, abs=1e-12) for m in hidden_means), column
    # the reps of a shown team keep their shrinkage toward it
    t2 = row(out, "team", "T2")
    for rep in ("B", "C", "F"):
        assert row(out, "rep", rep)["prior_mean"] == pytest.approx(row(index, "team", "T2")["mean"])
    assert not t2["suppressed"]


def test_a_rep_with_no_team_is_not_the_company_minus_its_teams():
    """leak3: Z has no team and 3 respondents. It is a part of the company beside the teams, so
    its hidden answers are protected there: what is hidden among them adds up to 0 or >= k."""
    plan = {"T1": {"A": 6, "B": 7}, "T2": {"C": 8, "D": 6}, None: {"Z": 3}}
    rep_team = {r: t for t, rs in plan.items() if t for r in rs}
    index, _ = indexed(customer_sums(plan, 3), rep_team)
    out = protected(index)
    assert row(out, "rep", "Z")["suppressed"]
    assert not row(out, "company", "company")["suppressed"]
    parts = index[
        (index["level"] == "team") | ((index["level"] == "rep") & (index["unit_id"] == "Z"))
    ]
    hidden = [
        int(r["respondents"])
        for _, r in parts.iterrows()
        if row(out, r["level"], r["unit_id"])["suppressed"]
    ]
    assert sum(hidden) >= K
    # and the subtraction of leak3 no longer gives Z's mean
    company = row(out, "company", "company")
    teams = out[(out["level"] == "team") & ~out["suppressed"]]
    rest = float(company["respondents"]) - float(teams["respondents"].sum())
    left = float(company["mean"]) * float(company["respondents"]) - float(
        (teams["mean"] * teams["respondents"].astype(float)).sum()
    )
    assert left / rest != pytest.approx(float(row(index, "rep", "Z")["mean"]))


def test_the_level_notes_keep_no_hidden_references_mean():
    """leak2: two leaders with 2 employee respondents each, every cell hidden: the notes keep no
    mean (nor any figure taken from the answers) of rep_employee, team_employee and
    leader_employee, and no notes keep sigma_r2."""
    rows = []
    for leader, team, xs in (("L1", "T1", [0.25, 0.5]), ("L2", "T2", [0.0, 0.25])):
        for i, x in enumerate(xs):
            for level, unit in (("rep", leader), ("leader", leader), ("team", team)):
                rows.append(answer(level, unit, f"{leader}-{i}", x, "employee"))
            rows.append(answer("company", "company", f"{leader}-{i}", x, "employee"))
    index, notes = indexed(pd.DataFrame(rows), {"L1": "T1", "L2": "T2"})
    out = protected(index)
    assert out["suppressed"].all()
    kept = index_mod.protect_notes(notes, out)
    assert set(kept) == {"rep_employee", "team_employee", "leader_employee"}
    for name, summary in kept.items():
        assert not set(index_mod.REFERENCE_NOTES) & set(summary), name
        assert "sigma_r2" not in summary
        assert summary["n_units"] == 2


def test_the_level_notes_keep_a_shown_references_mean():
    plan = {"T1": {"A": 6, "B": 7}, "T2": {"C": 8, "D": 6}}
    index, notes = indexed(customer_sums(plan, 3), {r: t for t, rs in plan.items() for r in rs})
    out = protected(index)
    kept = index_mod.protect_notes(notes, out)
    company = float(row(out, "company", "company")["mean"])
    for name in ("rep_customer", "team_customer"):
        assert kept[name]["mu"] == pytest.approx(company)
        assert "sigma_r2" not in kept[name]
