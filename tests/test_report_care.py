"""The report's care section: the rep funnel of customers' care naming only care bright spots
and candidates, the team table, reliability, care and results, and counts of what is not shown.
A suppressed row is never drawn or listed with a figure, whatever the stored table holds; the
section is there only when the run has care answers. Hand-made frames on test_report.py's run,
and the shared small workspace end to end."""

from __future__ import annotations

import re
from html import escape

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brightspots.report import ReportContext, ReportError, build_context, render_html
from brightspots.report import care as rc
from brightspots.report.view import report_view
from brightspots.workspace import Workspace
from conftest import load_sibling

base = load_sibling("test_report.py")

K = 5
HIDDEN = ("Hidden Person", "Comp Lement")  # suppressed reps: never on the page
UNLABELLED = ("Ola Plain", "Nia Norm")  # shown, not labelled: points without names
INDEX_COLUMNS = ["level", "unit_id", "name", "team_id", "source", "suppressed", "respondents",
                 "mean", "se", "lower_95", "upper_95", "label", "reason"]  # fmt: skip
PRIMARY = "Fewer than 5 respondents: not shown, to protect their anonymity."
COMPLEMENT = "Not shown, so that the answers of fewer than 5 respondents beside it cannot be ..."


def index_frame(hidden_mean: float = 0.11, hidden_n: int = 3) -> pd.DataFrame:
    """Reps, a leader, three teams and the company. The suppressed rows carry figures here
    (``hidden_mean``, ``hidden_n``), as a faulty store might: the report must not show them."""
    hm, hn = hidden_mean, hidden_n
    rows = [
        ("rep", "c1", "Cara Kind", "T1", "customer", False, 18, 0.85, 0.03, 0.79, 0.91,
         "bright_spot", "Customers rate this rep's care 85 of 100 (95% CI 79 to 91, 18 "
         "respondents), above the company's 58 beyond the 99.8% limit, in both halves."),
        ("rep", "c2", "Ola Plain", "T1", "customer", False, 12, 0.52, 0.04, 0.44, 0.60, "",
         "Customers rate this rep's care 52 of 100, not above the company's 58."),
        ("rep", "c3", "Hidden Person", "T1", "customer", True, hn, hm, 0.2, hm, hm, "candidate",
         PRIMARY),
        ("rep", "c4", "Comp Lement", "T2", "customer", True, hn + 4, hm, 0.2, hm, hm, "",
         COMPLEMENT),
        ("rep", "c5", "Nia Norm", "T2", "customer", False, 9, 0.58, 0.05, 0.47, 0.69, "",
         "Customers rate this rep's care 58 of 100 (9 respondents): a care label needs 10."),
        ("rep", "m1", "Lee Leader", "T1", "employee", False, 11, 0.80, 0.04, 0.71, 0.89,
         "candidate", "Employees rate this rep's care 80 of 100, above the company's 70."),
        ("leader", "m1", "Lee Leader", "T1", "employee", False, 11, 0.80, 0.04, 0.71, 0.89,
         "candidate", "Employees rate this leader's care 80 of 100, above the leaders' 70."),
        ("team", "T1", "Benelux", "T1", "customer", False, 40, 0.60, 0.02, 0.56, 0.64, "",
         "Customers rate this team's care 60 of 100."),
        ("team", "T1", "Benelux", "T1", "employee", False, 11, 0.80, 0.04, 0.71, 0.89, "",
         "Employees rate this team's care 80 of 100."),
        ("team", "T2", "Nordics", "T2", "customer", False, 20, 0.55, 0.03, 0.49, 0.61, "",
         "Customers rate this team's care 55 of 100."),
        ("team", "T2", "Nordics", "T2", "employee", True, hn, hm, 0.1, hm, hm, "", PRIMARY),
        ("team", "T3", "Tiny Team", "T3", "customer", True, hn, hm, 0.1, hm, hm, "", PRIMARY),
        ("company", "company", "Company", None, "customer", False, 64, 0.58, 0.015, 0.55, 0.61,
         "", "Customers rate the company's care 58 of 100: the reference."),
        ("company", "company", "Company", None, "employee", False, 25, 0.70, 0.03, 0.64, 0.76,
         "", "Employees rate the company's care 70 of 100: the reference."),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def reliability_frame(hidden_alpha: float = 0.5) -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("customer", "Onboarding", 3, 120, 0.82, 0.55, "", False),
            (
                "employee",
                "Pulse",
                2,
                0,
                np.nan,
                np.nan,
                "Pulse has no respondent ids: anonymous answers are not grouped into people, so "
                "no alpha.",
                False,
            ),
            ("customer", "Tiny survey", 2, 4, hidden_alpha, 0.1, "", True),
        ],  # fmt: skip
        columns=[
            "source",
            "survey",
            "n_items",
            "submissions",
            "alpha",
            "min_item_rest",
            "note",
            "suppressed",
        ],  # fmt: skip
    )


RESULTS = pd.DataFrame(
    {
        "outcome": ["repeat_deals_12m", "repeat_12m"],
        "sentence": ["SECOND: repeat deals.", "FIRST: accounts bought again more often."],
    }
)
NOTES = {
    "min_respondents": K,
    "min_volume": 10,
    "window_words": "the last 12 months",
    "window_start": "2024-01-01 00:00:00",
    "window_end": "2024-12-31 00:00:00",
    "warnings": ["The care items of Onboarding do not agree (check reverse_items)."],
    "levels": {
        "rep_customer": {
            "mu": 0.58,
            "tau2": 0.001,
            "min_volume": 10,
            "shrink_note": None,
            "tau2_zero_note": None,
        }
    },
}


def context(**care) -> ReportContext:
    frames = {
        "care_index": index_frame(),
        "care_reliability": reliability_frame(),
        "care_results": RESULTS,
        "care_notes": NOTES,
    }
    return ReportContext(
        workspace_name="acme-sales",
        currency="USD",
        run=base.run_info(),
        diagnostics=base.Diagnostics.from_dict(base.fake_diagnostics()),
        past_runs=[],
        **base.fake_frames(),
        **(frames | care),
    )


def care_part(page: str) -> str:
    return base.section(page, '<section id="care"', "</section>")


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(context())


def test_the_section_names_only_care_bright_spots_and_candidates(page: str) -> None:
    part = care_part(page)
    assert "Customers rate the company&#39;s care 58 of 100 (95% CI 55 to 61, 64 respondents)" in (
        part
    )
    assert "over the last 12 months (1 Jan 2024 to 31 Dec 2024)" in part
    assert "Care bright spots: 1 rep (customers)." in part
    assert "Care candidates: 1 leader (employees)." in part  # once, as a leader
    svg = base.section(part, '<figure class="chart funnel" id="care-funnel"', "</figure>")
    assert ">Cara Kind</text>" in svg
    for name in UNLABELLED:  # drawn as points without a name
        assert name not in page
    for name in HIDDEN:  # neither drawn nor listed
        assert name not in page
    spots = base.section(part, '<ul class="care-list" id="care-spots">', "</ul>")
    assert spots.index("Cara Kind") < spots.index("Lee Leader")
    assert spots.count("Lee Leader") == 1 and "leader · employees" in spots
    assert "Care bright spot" in spots and "Care candidate" in spots
    assert "The care items of Onboarding do not agree" in part  # the run's warnings


def test_the_team_table_lists_shown_cells_only(page: str) -> None:
    part = care_part(page)
    table = base.section(part, '<table id="care-teams"', "</table>")
    rows = re.findall(r'<th scope="row">([^<]+)</th>', table)
    assert rows == ["Benelux", "Nordics", "Company"]  # alphabetical, the reference last
    nordics = base.section(table, ">Nordics<", "</tr>")
    assert "55 <span" in nordics and "(49 to 61)" in nordics and ">20<" in nordics
    assert f"fewer than {K} respondents: not shown" in nordics
    assert "Tiny Team" not in page
    hidden = base.section(part, 'id="care-hidden"', "</ul>")
    assert f"2 reps not shown for customers&#39; care: fewer than {K} respondents" in hidden
    assert "1 team not shown in the team table" in hidden
    assert "1 survey not shown in the reliability table" in hidden


def test_reliability_and_results(page: str) -> None:
    part = care_part(page)
    rel = base.section(part, '<table id="care-reliability"', "</table>")
    assert "Onboarding" in rel and ">0.82<" in rel and ">0.55<" in rel
    assert "Pulse has no respondent ids" in rel and "Tiny survey" not in rel
    results = base.section(part, 'id="care-results"', "</ul>")
    assert results.index("FIRST") < results.index("SECOND")  # repeat business first


def test_suppressed_figures_never_reach_the_page(page: str) -> None:
    """Two runs that differ only in what their suppressed rows hold render the same page."""
    other = render_html(
        context(care_index=index_frame(0.99, 4), care_reliability=reliability_frame(0.95))
    )
    assert page == other
    view = report_view(context())
    cells = [c for t in view.care.teams for c in (t.customer, t.employee) if not c.shown]
    assert cells and all(c.value == c.respondents == "" and c.mean is None for c in cells)


def test_absent_without_care_answers() -> None:
    view = report_view(context(care_index=None, care_reliability=None, care_results=None))
    assert not view.care.present
    page = render_html(context(care_index=index_frame().iloc[:0]))
    assert 'id="care"' not in page and "Care bright spot" not in page


def test_a_missing_column_is_named() -> None:
    with pytest.raises(ReportError, match=r"care_index .*missing column\(s\) respondents"):
        context(care_index=index_frame().drop(columns=["respondents"]))


def test_the_limits_are_those_of_the_test() -> None:
    """Exact: mu -+ t_{G-1} sqrt(sigma_r2 / G); allowing for overdispersion: Satterthwaite's
    df over s² + tau2 (with tau2 = 0 the two are the same)."""
    mu, s2, tau2 = 0.6, 0.04, 0.002
    curve = rc.limit_curve(mu, s2, tau2, g_max=40, steps=39)  # G = 2, 3, ..., 40
    at = curve.set_index("expected").loc[10.0]
    half = stats.t.ppf(0.975, 9) * np.sqrt(s2 / 10)
    assert at["upper_95"] == pytest.approx(100 * (mu + half))
    assert at["lower_95"] == pytest.approx(100 * (mu - half))
    v = s2 / 10 + tau2
    df = 9 * v**2 / (s2 / 10) ** 2
    assert at["adj_upper_998"] == pytest.approx(100 * (mu + stats.t.ppf(0.999, df) * np.sqrt(v)))
    flat = rc.limit_curve(mu, s2, 0.0, g_max=40, steps=39)
    assert np.allclose(flat["adj_upper_95"], flat["upper_95"])
    assert (curve[[c for c in curve.columns if c != "expected"]].to_numpy() <= 100).all()


def test_cells_and_words() -> None:
    row = {"suppressed": False, "mean": 0.7806, "lower_95": 0.697, "upper_95": 0.865,
           "respondents": 18, "label": "bright_spot"}  # fmt: skip
    c = rc.cell(row, K)
    assert (c.value, c.interval, c.respondents, c.label) == ("78", "70 to 86", "18", "bright_spot")
    assert rc.index_text(c) == "78 of 100 (95% CI 70 to 86, 18 respondents)"
    assert (c.mean, c.lower_95, c.n_respondents) == (78.1, 69.7, 18)
    hidden = rc.cell({**row, "suppressed": True}, K)
    assert not hidden.shown and hidden.mean is None and hidden.value == ""
    assert rc.index_text(hidden) == f"fewer than {K} respondents: not shown"
    assert rc.cell(None, K).note == "no answers"
    assert rc.hidden_phrase(0, "rep", K) == ""


def test_the_report_of_a_real_run(small_ws) -> None:
    """The shared workspace end to end: the section is there, its funnel names exactly the
    shown, labelled reps of customers' care, and no suppressed rep is named in it."""
    with Workspace.open(small_ws) as ws:
        ctx = build_context(ws)
    assert ctx.care_index is not None and ctx.care_notes is not None
    section = rc.care_section(ctx)
    assert section.present and section.teams and section.results
    care = ctx.care_index
    reps = care[(care["level"] == "rep") & (care["source"] == "customer")]
    labelled = reps[reps["label"].isin(["bright_spot", "candidate"])]
    svg = str(section.funnel_svg)
    assert svg.startswith("<svg")
    named = set(re.findall(r">([^<>]+)</text>", svg)) & set(reps["name"])
    assert named == set(labelled["name"])
    people = care[care["level"].isin(["rep", "leader"])]
    hidden = set(people.loc[people["suppressed"], "name"]) - set(
        people.loc[people["label"] != "", "name"]
    )
    shown = " | ".join([svg, *(s.name for s in section.spots), *(t.name for t in section.teams)])
    for name in hidden:
        assert f">{escape(name)}<" not in svg and f" {name} " not in f" {shown} "
    for t in section.teams:
        if not t.company:
            row = care[(care["level"] == "team") & (care["name"] == t.name)]
            shown = row[~row["suppressed"]]
            assert {c.value for c in (t.customer, t.employee) if c.shown} == {
                f"{100 * m:.0f}" for m in shown["mean"]
            }
