"""The plan's optimisation: every capacity and rule holds, time follows priority, conflicts are
named (hypothesis over random books and rules)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brightspots.plan.optimize import Book, PlanError, Rules, solve, target

TIERS = ("strategic", "key", "core", "maintain")


def _book(tiers, priority, minutes, capacity_h: float) -> Book:
    n = len(tiers)
    return Book(
        rep_id="R1",
        account_id=np.array([f"A{i}" for i in range(n)]),
        tier=np.array(tiers),
        priority=np.array(priority, dtype=float),
        minutes=np.array(minutes, dtype=float),
        capacity=capacity_h * 60.0,
    )


@st.composite
def books(draw):
    n = draw(st.integers(1, 40))
    tiers = draw(st.lists(st.sampled_from(TIERS), min_size=n, max_size=n))
    priority = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(1.0, 1e6, allow_nan=False)), min_size=n, max_size=n
        )
    )
    minutes = draw(st.lists(st.sampled_from([5.0, 10.0, 15.0, 30.0, 45.0, 60.0]), min_size=n,
                            max_size=n))  # fmt: skip
    capacity = draw(st.floats(0.5, 200.0))
    mins = {t: draw(st.integers(0, 4)) for t in TIERS if draw(st.booleans())}
    maxs = {t: draw(st.integers(0, 6)) for t in TIERS if draw(st.booleans())}
    months = draw(st.integers(1, 4))
    return _book(tiers, priority, minutes, capacity), Rules(mins, maxs), months


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_every_capacity_and_rule_holds_or_the_conflict_is_named(case):
    book, rules, months = case
    lo = np.array([rules.min_touches.get(t, 0) for t in book.tier], dtype=float)
    hi = np.array([rules.max_touches.get(t, np.inf) for t in book.tier], dtype=float)
    if np.any(lo > hi):
        with pytest.raises(PlanError, match=r"min_touches\.\w+ = \d+ is above max_touches"):
            solve(book, rules, months)
        return
    if np.sum(lo * book.minutes) > book.capacity:
        with pytest.raises(PlanError, match="more than the capacity") as err:
            solve(book, rules, months)
        assert "R1" in str(err.value) and "min_touches" in str(err.value)
        return
    got = solve(book, rules, months)
    x = got.touches
    assert x.shape == (len(book.tier), months) and x.dtype == np.int64
    # each month within capacity and within the tier bounds
    assert np.all((x * book.minutes[:, None]).sum(axis=0) <= book.capacity + 1e-6)
    assert np.all(x >= lo[:, None]) and np.all(x <= hi[:, None])
    # the continuous targets fill the capacity (or every account is at its maximum)
    used = float(np.sum(got.target * book.minutes))
    assert used + got.unused_minutes == pytest.approx(book.capacity, rel=1e-9)
    assert np.all(got.target >= lo - 1e-9) and np.all(got.target <= hi + 1e-9)
    # whole touches never run ahead of an account's pace
    assert np.all(x.sum(axis=1) <= np.ceil(months * got.target - 1e-9) + 1e-9)


@settings(max_examples=30, deadline=None)
@given(books())
def test_where_no_rule_binds_time_follows_priority(case):
    book, _, _ = case
    if not np.any(book.priority > 0):
        return
    t, unused = target(book, np.zeros(len(book.tier)), np.full(len(book.tier), np.inf))
    time_share = t * book.minutes / book.capacity
    assert unused == 0.0
    assert time_share == pytest.approx(book.priority / book.priority.sum(), rel=1e-9, abs=1e-12)


def test_a_hand_checked_plan():
    # 10 hours a month; priorities 3:1:0:0 by value; 30-minute touches; strategic at least 2 a
    # month, maintain at most 1. Water-filling: A0 and A1 share the time 3:1 -> 15 and 5 touches
    # (A2 keeps its minimum of 0, A3 gets 0). Minus nothing: 15 + 5 touches x 30 min = 10 h.
    book = _book(["strategic", "key", "core", "maintain"], [3, 1, 0, 0], [30] * 4, 10.0)
    rules = Rules({"strategic": 2}, {"maintain": 1})
    got = solve(book, rules, 3)
    assert got.target.tolist() == pytest.approx([15.0, 5.0, 0.0, 0.0])
    assert got.touches.tolist() == [[15, 15, 15], [5, 5, 5], [0, 0, 0], [0, 0, 0]]


def test_a_fractional_pace_is_spread_over_the_months():
    # 90 minutes a month, priority 2:1: A0 (30-minute touches) 60 minutes = 2 touches a month,
    # A1 (60-minute touches) 30 minutes = half a touch: one every other month, never two at once
    book = _book(["core", "core"], [2, 1], [30, 60], 1.5)
    got = solve(book, Rules({}, {}), 4)
    assert got.target.tolist() == pytest.approx([2.0, 0.5])
    assert got.touches[1].sum() == 2 and got.touches[1].max() == 1
    assert got.touches[0].sum() >= 7


def test_leftover_time_when_every_account_is_capped():
    book = _book(["maintain", "maintain"], [5, 1], [30, 30], 10.0)
    got = solve(book, Rules({}, {"maintain": 1}), 2)
    assert got.touches.tolist() == [[1, 1], [1, 1]]
    assert got.unused_minutes == pytest.approx(600 - 60)


def test_minimums_beyond_capacity_name_the_tiers_and_hours():
    book = _book(["strategic"] * 14 + ["key"] * 3, [1] * 17, [45] * 17, 30.0)
    with pytest.raises(PlanError) as err:
        solve(book, Rules({"strategic": 4, "key": 2}, {}), 3)
    msg = str(err.value)
    assert "14 strategic account(s) x 4 touch(es) = 42.0 h" in msg
    assert "3 key account(s) x 2 touch(es) = 4.5 h" in msg
    assert "46.5 hours a month" in msg and "capacity of 30.0 hours" in msg


def test_no_months_or_no_minutes_is_an_error():
    book = _book(["core"], [1], [30], 1.0)
    with pytest.raises(PlanError, match="at least one month"):
        solve(book, Rules({}, {}), 0)
    with pytest.raises(PlanError, match="minutes per touch above 0"):
        solve(_book(["core"], [1], [0], 1.0), Rules({}, {}), 1)
