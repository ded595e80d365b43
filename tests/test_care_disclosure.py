"""Anonymity: primary and complementary suppression of care cells (design of issue 11, 3.6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightspots.care import DisclosureError, disclose
from brightspots.care.disclosure import (
    complementary_reason,
    parent_reason,
    primary_reason,
    sum_reason,
)

PRIMARY = "Fewer than 5 respondents: not shown, to protect their anonymity."


def _team(respondents: dict[str, int], *, team: str = "T1") -> pd.DataFrame:
    """One team's reps plus the team row (the sum of its reps)."""
    reps = pd.DataFrame(
        {
            "unit_id": list(respondents),
            "parent": team,
            "respondents": list(respondents.values()),
        }
    )
    top = pd.DataFrame(
        {"unit_id": [team], "parent": [None], "respondents": [sum(respondents.values())]}
    )
    frame = pd.concat([top, reps], ignore_index=True)
    frame["responses"] = frame["respondents"] * 2
    frame["mean"] = np.linspace(0.5, 0.9, len(frame))
    frame["label"] = "candidate"
    frame["sustained"] = True
    frame["reason"] = "shown"
    return frame


VALUES = ["mean", "label", "sustained"]


def test_k_below_three_or_not_a_whole_number_is_refused():
    frame = _team({"a": 6})
    for bad in (2, 0, 2.5, True, "5", None):
        with pytest.raises(DisclosureError, match="at least 3"):
            disclose(frame, k=bad, parent="parent", value_cols=VALUES)
    assert not disclose(frame, k=3, parent="parent", value_cols=VALUES)["suppressed"].any()
    assert disclose(frame, k=np.int64(7), parent=None, value_cols=VALUES)["suppressed"].all()


def test_primary_suppression_blanks_every_figure():
    frame = _team({"a": 4, "b": 2, "c": 9, "d": 8}).set_index(pd.Index([10, 11, 12, 13, 14]))
    frame["respondents"] = frame["respondents"].astype("int64")
    out = disclose(frame, k=5, parent=None, value_cols=VALUES)
    assert out.index.tolist() == [10, 11, 12, 13, 14]  # order and index kept
    assert out["suppressed"].tolist() == [False, True, True, False, False]
    hidden = out[out["suppressed"]]
    assert hidden["reason"].tolist() == [PRIMARY, PRIMARY]
    assert hidden["mean"].isna().all() and hidden["respondents"].isna().all()
    assert hidden["responses"].isna().all() and hidden["sustained"].isna().all()
    assert hidden["label"].tolist() == [None, None]
    shown = out[~out["suppressed"]]
    assert shown["reason"].tolist() == ["shown"] * 3
    assert shown["respondents"].tolist() == [23, 9, 8]
    assert shown["label"].tolist() == ["candidate"] * 3
    assert str(out["respondents"].dtype) == "Int64" and str(out["sustained"].dtype) == "boolean"
    assert primary_reason(5) == PRIMARY


def test_one_suppressed_rep_takes_the_smallest_shown_one_with_it():
    # 23 = 3 + 6 + 8 + 6: the team total minus the shown reps would give away rep a (3 people)
    out = disclose(_team({"a": 3, "b": 6, "c": 8, "d": 6}), k=5, parent="parent", value_cols=VALUES)
    by_id = out.set_index("unit_id")
    assert by_id["suppressed"].to_dict() == {
        "T1": False,
        "a": True,
        "b": True,  # fewest shown respondents, tie with d broken by the key
        "c": False,
        "d": False,
    }
    assert by_id.loc["b", "reason"] == complementary_reason(5)
    assert "worked out by subtraction" in by_id.loc["b", "reason"]


def test_enough_suppressed_together_or_none_with_answers_needs_nothing_more():
    two = disclose(_team({"a": 3, "b": 2, "c": 8}), k=5, parent="parent", value_cols=VALUES)
    assert two["suppressed"].tolist() == [False, True, True, False]  # 3 + 2 = 5 >= k
    empty = disclose(_team({"a": 0, "b": 7, "c": 8}), k=5, parent="parent", value_cols=VALUES)
    assert empty["suppressed"].tolist() == [False, True, False, False]  # no answers to protect


def test_parent_left_without_shown_children_is_suppressed_and_counts_upward():
    # a company with teams T1 and T2; T1's only rep has 3 respondents but T1 has 9 (its manager's
    # answers are not any rep's), so T1 passes the primary rule, yet showing it with rep a hidden
    # is all that is left; T1 is then a suppressed child of the company and takes T2 with it
    frame = pd.DataFrame(
        {
            "unit_id": ["C", "T1", "a", "T2", "b", "c"],
            "parent": [None, "C", "T1", "C", "T2", "T2"],
            "respondents": [30, 9, 3, 21, 10, 11],
            "mean": 0.6,
        }
    )
    out = disclose(frame, k=5, parent="parent", value_cols=["mean"]).set_index("unit_id")
    assert out.loc["a", "reason"] == primary_reason(5)
    assert out.loc["T1", "reason"] == parent_reason(5)
    # the company's total minus T2 would give T1 (9 respondents), and with it nothing about a;
    # 9 >= k so T2 stays shown
    assert not out.loc["T2", "suppressed"] and not out.loc["C", "suppressed"]
    # with k = 10, T1 (9) is primary; the company minus T2 would give it away, so T2 goes too;
    # T2 is the sum of its reps b and c, so the smaller of them is hidden as well
    ten = disclose(frame, k=10, parent="parent", value_cols=["mean"]).set_index("unit_id")
    assert ten["suppressed"].to_dict() == {
        "C": False,
        "T1": True,
        "a": True,
        "T2": True,
        "b": True,
        "c": False,
    }
    assert ten.loc["T2", "reason"] == complementary_reason(10)
    assert ten.loc["b", "reason"] == sum_reason(10)


def test_trees_are_separate_per_source_and_parents_outside_the_frame_still_protect():
    a = _team({"a": 3, "b": 6, "c": 8}).assign(source="customer")
    b = _team({"a": 9, "b": 6, "c": 8}).assign(source="employee")
    out = disclose(pd.concat([a, b]), k=5, parent="parent", value_cols=VALUES, by=["source"])
    assert out["suppressed"].tolist() == [False, True, True, False, False, False, False, False]
    # quarters of a window stored elsewhere: the window row is not in the frame
    quarters = pd.DataFrame(
        {"unit_id": ["q1", "q2", "q3"], "parent": "R1", "respondents": [2, 7, 6], "mean": 0.5}
    )
    got = disclose(quarters, k=5, parent="parent", value_cols=["mean"])
    assert got["suppressed"].tolist() == [True, False, True]
    with pytest.raises(DisclosureError, match="lacks column"):
        disclose(quarters, k=5, parent="team_id", value_cols=["mean"])
    with pytest.raises(DisclosureError, match="appears twice"):
        disclose(pd.concat([quarters, quarters]), k=5, parent="parent", value_cols=["mean"])


# ------------------------------------------------------------------------------------------
# Property: over random trees, nothing about fewer than k respondents can be worked out


@st.composite
def trees(draw):
    """A company of teams of reps (additive counts), for one or two sources, and a k."""
    k = draw(st.integers(3, 7))
    rows = []
    for source in draw(st.sampled_from([["customer"], ["customer", "employee"]])):
        team_sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
        company = 0
        for t, size in enumerate(team_sizes):
            reps = draw(st.lists(st.integers(0, 3 * k), min_size=size, max_size=size))
            for r, count in enumerate(reps):
                rows.append((source, f"R{t}.{r}", f"T{t}", count))
            rows.append((source, f"T{t}", "C", sum(reps)))
            company += sum(reps)
        rows.append((source, "C", None, company))
    frame = pd.DataFrame(rows, columns=["source", "unit_id", "parent", "respondents"])
    frame["mean"] = 0.5
    return frame, k


def _determined(frame: pd.DataFrame, hidden: np.ndarray) -> np.ndarray:
    """Which hidden cells an attacker can solve for from the shown totals and the tree's sums.

    Each parent's count is the sum of its children's, a linear equation; a hidden cell is
    determined when its unit vector lies in the row space of the equations over hidden cells.
    """
    pos = {u: i for i, u in enumerate(frame["unit_id"])}
    unknown = {i: j for j, i in enumerate(np.flatnonzero(hidden))}
    rows = []
    for up, children in frame.groupby("parent")["unit_id"]:
        coef = np.zeros(len(unknown))
        for unit, sign in [(up, 1.0), *((c, -1.0) for c in children)]:
            if pos[unit] in unknown:
                coef[unknown[pos[unit]]] += sign
        rows.append(coef)
    a = np.array(rows) if rows else np.zeros((0, len(unknown)))
    rank = np.linalg.matrix_rank(a) if a.size else 0
    out = np.zeros(len(frame), dtype=bool)
    for i, j in unknown.items():
        e = np.zeros(len(unknown))
        e[j] = 1.0
        out[i] = np.linalg.matrix_rank(np.vstack([a, e])) == rank
    return out


@settings(max_examples=150, deadline=None)
@given(trees())
def test_no_suppressed_cell_can_be_worked_out_by_subtraction(case):
    frame, k = case
    out = disclose(frame, k=k, parent="parent", value_cols=["mean"], by=["source"])
    hidden = out["suppressed"].to_numpy()
    resp = frame["respondents"].to_numpy()
    assert (hidden[resp < k]).all()  # primary
    assert out.loc[hidden, "mean"].isna().all() and out.loc[hidden, "respondents"].isna().all()
    for source, part in frame.groupby("source"):
        rows = (frame["source"] == source).to_numpy()
        mask, counts = hidden[rows], resp[rows]
        part = part.reset_index(drop=True)
        # every parent, shown or not: the hidden children with answers hold 0 or >= k, unless
        # every child is hidden and the parent too
        up_pos = {u: i for i, u in enumerate(part["unit_id"])}
        for up, children in part.groupby("parent").groups.items():
            sub = part.index.get_indexer(children)
            total = counts[sub][mask[sub] & (counts[sub] > 0)].sum()
            assert total == 0 or total >= k or (mask[sub].all() and mask[up_pos[up]])
        # and no chain of subtractions isolates a cell about 1 to k - 1 respondents
        small = mask & (counts > 0) & (counts < k)
        assert not (_determined(part, mask) & small).any()
