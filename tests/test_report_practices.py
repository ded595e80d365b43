"""The report's sections on effort and buyer impact, practices and one example personal view.

Hand-made tables on top of test_report.py's hand-made run (30 reps, teams Benelux, Nordics,
Iberia): two ISO weeks of team effort, four practices (one linked with winning, one suspect, one
with no clear link, one not estimated), each rep's practice values and resources. The numbers
asserted are worked out by hand in the comments. One test renders the shared synthetic workspace
end to end.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from brightspots.report import (
    ReportContext,
    ReportError,
    build_context,
    forest,
    render_html,
    report_view,
    write_report,
)
from brightspots.report import effort_frames as ef
from brightspots.report import practices as prac
from brightspots.report.effort import effort_section
from brightspots.report.personal import example_section
from brightspots.report.practices import practice_section
from brightspots.workspace import init_workspace
from conftest import load_sibling

base = load_sibling("test_report.py")

EFFORT_COLUMNS = [
    "grain",
    "unit_id",
    "every",
    "period",
    "week_label",
    "touches",
    "touches_with_impact",
    "touches_followed",
    "touches_in_dark",
    "touches_pending",
    "buyer_events",
    "events_unanswered",
    "median_response_hours",
]


def _effort_row(grain, unit, every, day, week, t, i, f, d, p, ev, un=0, hours=math.nan):
    rate = i / t if t else math.nan
    return dict(
        zip(
            EFFORT_COLUMNS,
            [grain, unit, every, pd.Timestamp(day), week, t, i, f, d, p, ev, un, hours],
            strict=True,
        )
    ) | {"impact_rate": rate}


def effort_frame() -> pd.DataFrame:
    """Benelux (t1): 20 touches over two weeks, 7 with impact (35%), 5 followed (25%), 5 in the
    dark (25%), 3 pending (15%), 10 buyer events; weekly medians 10 h (6 answered events) and
    30 h (3): weighted median 10.0 h; weekly rates 5/16 and 2/4, so the rate axis tops at 50%.
    Nordics (t2): 3 touches on Sunday 15 Dec, all pending, no events. Iberia (t3): 2 touches.
    Reps: two weeks each, 10 touches and 3 with impact a week; Chen Wei (r03) 8 and 2, one in the
    dark in the first week."""
    rows = [
        _effort_row("team", "t1", "day", "2024-12-02", "", 10, 4, 3, 2, 1, 5),
        _effort_row("team", "t1", "day", "2024-12-03", "", 6, 1, 2, 3, 0, 2),
        _effort_row("team", "t1", "day", "2024-12-10", "", 4, 2, 0, 0, 2, 3),
        _effort_row("team", "t1", "week", "2024-12-02", "2024-W49", 16, 5, 5, 5, 1, 7, 1, 10.0),
        _effort_row("team", "t1", "week", "2024-12-09", "2024-W50", 4, 2, 0, 0, 2, 3, 0, 30.0),
        _effort_row("team", "t2", "day", "2024-12-15", "", 3, 0, 0, 0, 3, 0),
        _effort_row("team", "t2", "week", "2024-12-09", "2024-W50", 3, 0, 0, 0, 3, 0),
        _effort_row("team", "t3", "day", "2024-12-04", "", 2, 1, 1, 0, 0, 1),
        _effort_row("team", "t3", "week", "2024-12-02", "2024-W49", 2, 1, 1, 0, 0, 1, 0, 2.0),
        # an account row: never read by the report
        _effort_row("account", "a1", "day", "2024-12-02", "", 99, 0, 0, 99, 0, 0),
    ]
    for rep in [f"r{i:02d}" for i in range(1, 31)]:
        for monday, week in (("2024-12-02", "2024-W49"), ("2024-12-09", "2024-W50")):
            if rep == "r03":
                dark = 1 if week == "2024-W49" else 0
                rows.append(
                    _effort_row("rep", rep, "week", monday, week, 8, 2, 6 - dark, dark, 0, 2)
                )
            else:
                rows.append(_effort_row("rep", rep, "week", monday, week, 10, 3, 5, 2, 0, 3))
    return pd.DataFrame(rows)


# practice, description, kind, unit, analysis, n, OR, low, high, pp, low, high, q, bright share,
# n bright, peer share, whole OR, whole q, suspect, sentence; in table order (not by evidence,
# to see the linked one listed first among the sentences)
# fmt: off
PRACTICES = [
    ("cadence", "Touches per open week.", "rate", "touches per open week", "landmark", 3591,
     0.95, 0.84, 1.09, -0.96, -3.6, 1.7, 0.66, 0.0, 2, 0.5, 0.37, 1e-35, True, "S cadence."),
    ("multithreading", "Three or more people touched.", "binary", "", "landmark", 3591,
     1.6621, 1.3962, 1.9787, 10.33, 6.7, 13.96, 0.0000596, 1.0, 2, 0.142857, 3.524, 7.7e-54,
     False, "S multithreading."),
    ("response_within_24h", "Replies answered within 24 hours.", "binary", "", "landmark", 1644,
     1.2362, 0.8934, 1.7105, 4.557, -2.3, 11.5, 0.4015, 1.0, 2, 1.0, 1.3237, 0.09, False,
     "S response."),
    ("custom_calls", "A practice from the config.", "count", "calls", "stage", 40,
     np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 2, np.nan, np.nan, np.nan,
     False, "S custom."),
]
# fmt: on


def effects_frame() -> pd.DataFrame:
    cols = [
        "practice", "description", "kind", "unit", "analysis", "n", "odds_ratio", "or_low",
        "or_high", "pp_diff", "pp_low", "pp_high", "q", "bright_share", "n_bright", "peer_share",
        "whole_deal_odds_ratio", "whole_deal_q", "suspect", "sentence",
    ]  # fmt: skip
    df = pd.DataFrame(PRACTICES, columns=cols)
    return df.assign(
        level="opportunity",  # the practice's level: not a report level
        higher_is_better=True,
        whole_deal_or_low=df["whole_deal_odds_ratio"] * 0.85,
        whole_deal_or_high=df["whole_deal_odds_ratio"] * 1.15,
    )


def practice_reps_frame(values: dict[str, float]) -> pd.DataFrame:
    """Each rep's multithreading share (0.5 unless given) and 3 calls on the custom practice."""
    reps = [f"r{i:02d}" for i in range(1, 31)]
    mt = [values.get(r, 0.5) for r in reps]
    return pd.concat(
        [
            pd.DataFrame(
                {"rep_id": reps, "practice": "multithreading", "deals": 20, "value": mt}
            ).assign(does=lambda d: d["value"] >= 0.5),
            pd.DataFrame(
                {"rep_id": reps, "practice": "cadence", "deals": 20, "value": 3.0, "does": False}
            ),
        ],
        ignore_index=True,
    )


def resources_frame() -> pd.DataFrame:
    reps = [f"r{i:02d}" for i in range(1, 31)]
    k = np.arange(30, dtype=float)
    return pd.DataFrame(
        {
            "rep_id": reps,
            "tenure_years": 1 + k % 7,
            "territory_potential": 50_000 + 1000 * k,
            "accounts": 20 + k,
            "deals": 30 + k,
            "median_deal_size": 5000 + 100 * k,
            "segment_share__smb": 0.5,
            "segment_share__enterprise": 0.5,
        }
    )


def segment_frame() -> pd.DataFrame:
    """Multithreading goes with 18 points in smb and 8 in enterprise: a rep half and half gets
    13 points of evidence."""
    return pd.DataFrame(
        {
            "practice": ["multithreading", "multithreading"],
            "segment": ["smb", "enterprise"],
            "n": [900, 800],
            "odds_ratio": [2.2, 1.5],
            "or_low": [1.5, 1.2],
            "or_high": [3.2, 2.0],
            "pp_diff": [18.0, 8.0],
            "pp_low": [10.0, 3.0],
            "pp_high": [26.0, 13.0],
            "differs": [False, False],
        }
    )


def practice_frames(values: dict[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """The issue-5 tables of the hand-made run; ``values``: multithreading shares by rep (Chen
    Wei, r03, a candidate, does it on 10% of deals by default: the only rep with a gap)."""
    return {
        "effort_impact": effort_frame(),
        "practice_effects": effects_frame(),
        "practice_segment_effects": segment_frame(),
        "practice_reps": practice_reps_frame({"r03": 0.1} if values is None else values),
        "rep_resources": resources_frame(),
    }


PRACTICE_NOTES = {"n_deals": 4285, "n_bright_spots": 2, "n_peers": 24, "landmark_days": 14}


def diagnostics(**over: object) -> dict[str, object]:
    return base.fake_diagnostics(practices=PRACTICE_NOTES, timezone="Europe/Amsterdam", **over)


def context(**tables: pd.DataFrame | None) -> ReportContext:
    frames = {**base.fake_frames(), **practice_frames(), **tables}
    return ReportContext(
        workspace_name="acme-sales",
        currency="USD",
        run=base.run_info(),
        diagnostics=base.Diagnostics.from_dict(diagnostics()),
        past_runs=[],
        **frames,
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(context())


# ---------------------------------------------------------------- pure helpers


def test_weighted_median_by_hand() -> None:
    assert ef.weighted_median(np.array([1.0, 2, 3, 4]), np.ones(4)) == 2.5
    assert ef.weighted_median(np.array([1.0, 2, 3]), np.ones(3)) == 2.0
    # 1, 2, 10, 10: the middle two are 2 and 10
    assert ef.weighted_median(np.array([10.0, 1, 2]), np.array([2.0, 1, 1])) == 6.0
    assert ef.weighted_median(np.array([10.0, 30]), np.array([6.0, 3])) == 10.0
    assert ef.weighted_median(np.array([np.nan, 5.0]), np.array([9.0, 1])) == 5.0
    assert math.isnan(ef.weighted_median(np.array([5.0]), np.array([0.0])))


def test_rate_top_and_log_ticks() -> None:
    # 5 points of headroom, then up to the next 10%
    assert ef.rate_top(np.array([0.3125, 0.5, np.nan])) == 0.6
    assert ef.rate_top(np.array([0.31])) == 0.4 and ef.rate_top(np.array([0.35])) == 0.4
    assert ef.rate_top(np.array([0.3])) == 0.4 and ef.rate_top(np.array([0.36])) == 0.5
    assert ef.rate_top(np.array([0.01])) == 0.1 and ef.rate_top(np.array([])) == 0.1
    assert ef.rate_top(np.array([0.97])) == 1.0
    # 0.37 / 1.15 = 0.32 to 4.12 * 1.15 = 4.74
    lo, hi = forest.domain(np.array([0.37, 4.12, np.nan, 1.5]))
    assert lo == pytest.approx(0.37 / 1.15) and hi == pytest.approx(4.12 * 1.15)
    assert forest.log_ticks(lo, hi) == [0.33, 0.5, 0.67, 1.0, 1.5, 2.0, 3.0]
    assert forest.log_ticks(0.8, 2.2) == [0.8, 1.0, 1.25, 1.5, 2.0]
    assert forest.domain(np.array([1e-6, 1e6])) == forest.BOUNDS


def test_practice_words() -> None:
    assert prac.q_text(0.0004) == "< 0.001" and prac.q_text(0.0534) == "0.053"
    assert prac.q_text(0.664) == "0.66" and prac.q_text(np.nan) == "–"
    assert prac.signed(4.25) == "+4.2" and prac.signed(-1.24) == "−1.2"
    assert prac.signed(0.04) == "0.0" and prac.signed(12.6, 0) == "+13"
    assert prac.estimate(1.6621, 1.3962, 1.9787) == "1.66 (1.40 to 1.98)"
    assert prac.estimate(10.33, 6.7, 13.96, points=True) == "+10.3 (+6.7 to +14.0)"
    assert prac.estimate(np.nan, 1, 2) == "not estimated"
    assert prac.analysis_words("landmark", 14) == "first 14 days of the deal"
    assert prac.analysis_words("stage", 14) == "deals that reached the stage"
    assert forest.status(0.01, False) == "linked" and forest.status(0.01, True) == "suspect"
    assert forest.status(np.nan, False) == "unclear" and forest.status(0.2, False) == "unclear"


# ---------------------------------------------------------------- effort


def test_effort_totals_and_days_by_hand() -> None:
    ctx = context()
    effort = ctx.effort_impact
    assert set(effort["grain"]) == {"team", "rep", "account"}  # built by hand: all kept
    s = ef.span(effort)
    assert s == ef.Span(pd.Timestamp("2024-12-02"), pd.Timestamp("2024-12-15"), 2)
    t1 = ef.totals(effort, "team", s)["t1"]
    assert (t1.touches, t1.with_impact, t1.followed, t1.in_dark, t1.pending) == (20, 7, 5, 5, 3)
    assert t1.buyer_events == 10 and t1.response_hours == 10.0 and t1.impact_rate == 0.35
    days = ef.daily(effort, "team", "t1", s)
    assert len(days) == 14 * 4  # every day of the span, each outcome
    impact = days[days["outcome"] == "With buyer impact"].set_index("day")["touches"]
    assert impact["2024-12-02"] == 4 and impact["2024-12-05"] == 0 and impact.sum() == 7
    weeks = ef.weekly(effort, "team", "t1", s)
    assert weeks["rate"].tolist() == [5 / 16, 0.5]
    assert weeks["mid"].tolist() == ["2024-12-05T12:00:00", "2024-12-12T12:00:00"]
    assert math.isnan(ef.totals(effort, "team", s)["t2"].response_hours)


def test_effort_section_values(page: str) -> None:
    sec = effort_section(context())
    assert sec.note == "" and len(sec.charted) == 3
    assert sec.span == (
        "the 2 weeks from 2 Dec 2024 to 15 Dec 2024 (days in the workspace time zone, "
        "Europe/Amsterdam)"
    )
    assert [t.name for t in sec.teams] == ["Benelux", "Iberia", "Nordics"]
    benelux = sec.teams[0]
    assert (benelux.touches, benelux.impact_rate, benelux.followed) == ("20", "35%", "25%")
    assert (benelux.in_dark, benelux.pending, benelux.buyer_events) == ("25%", "15%", "10")
    assert benelux.response_hours == "10.0" and sec.teams[2].response_hours == "–"
    assert "from 0 to 60% in every chart" in sec.how_to_read  # 50% + 5 points, rounded up
    assert "at most 7 days before" in sec.terms and "within 30 days" in sec.terms
    effort = base.section(page, '<section id="effort"', "</section>")
    assert effort.count('role="img"') == 3 and "<h3>Benelux</h3>" in effort
    assert "20 touches, 35% with buyer impact, 25% in the dark." in effort
    table = base.section(effort, '<table id="effort-table"', "</table>")
    row = '<th scope="row">Benelux</th><td class="num">20</td><td class="num">35%</td>'
    assert row in table and '<td class="num">10.0</td>' in table
    assert "a1" not in effort  # account rows are not shown


def test_effort_caps_the_charts_at_the_biggest_teams() -> None:
    sec = effort_section(context(), max_teams=2)
    # Benelux 20 touches, Nordics 3, Iberia 2: Iberia is in the table only
    assert [t.name for t in sec.charted] == ["Benelux", "Nordics"]
    assert [t.name for t in sec.teams] == ["Benelux", "Iberia", "Nordics"]
    assert sec.teams[1].svg == ""
    assert sec.left_out == (
        "Charts for the 2 teams with the most touches; the other 1 team is in the table only."
    )


def test_effort_without_team_rows_says_so() -> None:
    effort = effort_frame()
    sec = effort_section(context(effort_impact=effort[effort["grain"] != "team"]))
    assert sec.note.startswith("No touch or buyer event carries a team") and not sec.teams


# ---------------------------------------------------------------- practices


def test_practice_rows_by_hand() -> None:
    sec = practice_section(context())
    assert [r.practice for r in sec.rows] == [p[0] for p in PRACTICES]  # table order
    assert [r.practice for r in sec.sentences] == [
        "multithreading",  # linked with winning first
        "cadence",
        "response_within_24h",
        "custom_calls",
    ]
    cadence, mt, resp, custom = sec.rows
    assert mt.status == "linked" and mt.odds_ratio == "1.66 (1.40 to 1.98)"
    assert mt.points == "+10.3 (+6.7 to +14.0)" and mt.q == "< 0.001"
    assert (mt.bright, mt.peers, mt.whole, mt.deals) == (
        "2 of 2",
        "14%",
        "3.52 (q < 0.001)",
        "3,591",
    )
    assert mt.analysis == "first 14 days of the deal"
    assert cadence.status == "suspect" and cadence.suspect and cadence.status_tag == "suspect"
    assert cadence.points == "−1.0 (−3.6 to +1.7)" and cadence.whole == "0.37 (q < 0.001)"
    assert resp.status == "unclear" and resp.q == "0.40" and resp.whole == "1.32 (q 0.090)"
    assert custom.odds_ratio == "not estimated" and custom.whole == "not estimated"
    assert custom.analysis == "deals that reached the stage" and custom.bright == "–"
    assert sec.coverage.startswith(
        "4 practices analysed on 4,285 closed deals, with 2 bright spots against 24 peers"
    )
    assert "first 14 days of each deal, on deals still open at day 14" in sec.coverage


def test_forest_plot_marks_suspects(page: str) -> None:
    sec = base.section(page, '<section id="practices"', "</section>")
    figure = base.section(sec, '<figure class="chart forest" id="forest"', "</figure>")
    assert figure.count('role="img"') == 1
    forest_svg = base.section(figure, "<svg", "</svg>")
    assert ">cadence (suspect)</text>" in forest_svg
    assert ">multithreading</text>" in forest_svg and ">not estimated</text>" in forest_svg
    assert "1 practice linked with winning, 1 suspect." in forest_svg  # the chart's title
    # one filled primary point per estimated practice, in its status colour, and hollow
    # whole-deal points
    assert forest_svg.count('fill="#b45309"') == 1 and forest_svg.count('fill="#0072b2"') == 1
    sentences = base.section(sec, '<ul class="practice-sentences"', "</ul>")
    first = sentences.index("S multithreading.")
    assert first < sentences.index("S cadence.") < sentences.index("S response.")
    assert '<span class="tag tag-suspect">suspect</span> <strong>cadence</strong>' in sentences
    table = base.section(sec, '<table id="practice-table"', "</table>")
    assert '<tr class="status-suspect">' in table and "1.66 (1.40 to 1.98)" in table


def test_practice_effects_need_their_columns() -> None:
    with pytest.raises(ReportError, match=r"practice_effects \(run .*\): missing column 'q'"):
        context(practice_effects=effects_frame().drop(columns=["q"]))
    bad = effects_frame()
    bad.loc[2, "n"] = -3
    with pytest.raises(ReportError, match=r"row 3, column 'n': -3 is not a whole count"):
        context(practice_effects=bad)
    effort = effort_frame().astype({"touches": object})
    effort.loc[4, "touches"] = "many"
    with pytest.raises(
        ReportError, match=r"effort_impact .*row 5 \(unit_id 't1'\), column 'touches': 'many'"
    ):
        context(effort_impact=effort)
    effort = effort_frame().astype({"period": object})
    effort.loc[1, "period"] = "someday"
    with pytest.raises(ReportError, match=r"row 2 \(unit_id 't1'\), column 'period': 'someday'"):
        context(effort_impact=effort)


# ---------------------------------------------------------------- the example personal view


def test_example_is_the_rep_with_most_suggestions_named_when_labelled(page: str) -> None:
    sec = example_section(context())
    # Chen Wei (r03, a candidate) does multithreading on 10% of deals, peers on 50%
    assert sec.title == "What Chen Wei sees" and sec.named
    assert sec.why.startswith("This rep has the most suggestions (1)")
    assert sec.command == "brightspots me --rep r03"
    assert sec.results.startswith(
        "You won 20 of 40 closed deals, against 14.0 expected for deals like yours: O/E 1.43"
    )
    assert sec.results.endswith("You are a candidate.")
    # 2 weeks of 8 touches, 2 with impact each (25%), 1 in the dark (1/16 = 6%); peers 3 of 10
    assert (
        sec.effort
        == "In all: 16 touches, 25% with buyer impact (peers like you: 30%), 6% in the dark."
    )
    mt = next(line for line in sec.lines if line.practice == "multithreading")
    assert (mt.you, mt.peers, mt.evidence) == ("10%", "50%", "+13 points")
    assert mt.suggested and mt.linked
    cadence = next(line for line in sec.lines if line.practice == "cadence")
    assert cadence.you == "3.0 touches per open week" and not cadence.suggested
    assert cadence.evidence == "no clear link with winning"
    assert [s.practice for s in sec.suggestions] == ["multithreading"]
    html = base.section(page, '<section id="example"', "</section>")
    assert "What Chen Wei sees: an example personal view" in html
    assert "for the rep and their managers only" in html
    assert html.count('role="img"') == 1 and "<code>brightspots me --rep r03</code>" in html
    assert '<tr class="suggested">' in html


def test_example_of_an_unlabelled_rep_withholds_the_name() -> None:
    # every labelled rep does it on most deals; O'Brien & Daughters (r04, 80 closed, the biggest
    # book) and Jana Novak (r11) do not: the tie of one suggestion goes to the bigger book
    ctx = context(**{"practice_reps": practice_reps_frame({"r04": 0.2, "r11": 0.2})})
    sec = example_section(ctx)
    assert sec.title == "What one rep sees" and not sec.named
    assert sec.command == "brightspots me --rep <rep id>"
    assert "name, id and team are withheld" in sec.privacy
    assert sec.results.startswith("You won 29 of 80 closed deals")  # r04's book
    html = base.section(render_html(ctx), '<section id="example"', "</section>")
    assert "O&#39;Brien" not in html and "r04" not in html and "Jana" not in html


def test_example_without_suggestions_is_the_first_bright_spot() -> None:
    ctx = context(**{"practice_reps": practice_reps_frame({})})
    sec = example_section(ctx)
    # '<script>...' sorts before 'Ana Silva'; the name is text, escaped on the page
    assert sec.title == f"What {base.SCRIPT_NAME} sees" and sec.suggestions == []
    assert sec.why == "No rep has a suggestion in this run; this is the first bright spot by name."
    html = base.section(render_html(ctx), '<section id="example"', "</section>")
    assert f"What {escape(base.SCRIPT_NAME)} sees" in html
    assert "Nothing to suggest" in html


def test_new_sections_are_self_contained(page: str) -> None:
    assert not re.search(r"<script", page, re.I) and "https://" not in page
    assert not re.search(r"\b(src|href)\s*=", page, re.I)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # the new charts' clip paths clash with no other id
    # the six charts of test_report.py, three teams, the forest plot, the example's weeks
    assert page.count('role="img"') == 6 + 3 + 1 + 1


# ---------------------------------------------------------------- old runs and the workspace


def test_diagnostics_of_a_run_without_practices() -> None:
    d = base.Diagnostics.from_dict(base.fake_diagnostics(practices={}))
    assert d.practices is None and d.timezone is None
    d = base.Diagnostics.from_dict(diagnostics())
    assert d.practices is not None and d.practices.landmark_days == 14
    assert d.timezone == "Europe/Amsterdam"
    with pytest.raises(ReportError, match=r"diagnostics, practices: missing 'n_bright_spots'"):
        base.Diagnostics.from_dict(base.fake_diagnostics(practices={"n_deals": 3}))


def test_a_run_without_the_tables_says_analyse_again() -> None:
    view = report_view(base.fake_context())
    for note in (view.effort.note, view.practices.note, view.example.note, view.accounts.note):
        assert "not in this run: analyse again" in note
    empty = context(**{name: frame.iloc[0:0] for name, frame in practice_frames().items()})
    assert empty.effort_impact is None and empty.practice_effects is None
    page = render_html(empty)
    for sid in ("effort", "practices", "example"):
        body = base.section(page, f'<section id="{sid}"', "</section>")
        assert "not in this run: analyse again" in body and 'role="img"' not in body


def test_workspace_runs_with_and_without_the_tables(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "acme")
    old = base.store(ws, base.fake_frames(), base.fake_diagnostics(), base.PAST[0][1])
    new = base.store(ws, {**base.fake_frames(), **practice_frames()}, diagnostics(), base.RUN_TIME)
    ctx = build_context(ws, new)
    # the report reads the team rows and the rep rows by week, never the account rows
    assert set(ctx.effort_impact["grain"]) == {"team", "rep"}
    assert ctx.diagnostics.practices is not None and ctx.diagnostics.practices.n_deals == 4285
    latest = write_report(ws, tmp_path / "new.html").read_text(encoding="utf-8")
    assert 'id="forest"' in latest and "What Chen Wei sees" in latest
    for sid in ("effort", "practices", "example"):
        assert "not in this run" not in base.section(latest, f'<section id="{sid}"', "</section>")
    # these hand-made runs store no account_plan: the key-account section says so
    accounts = base.section(latest, '<section id="accounts"', "</section>")
    assert "key-account view is not in this run: analyse again" in accounts
    before = write_report(ws, tmp_path / "old.html", run_id=old).read_text(encoding="utf-8")
    assert before.count("not in this run: analyse again") == 4
    assert build_context(ws, old).practice_effects is None
    ws.close()


def test_report_of_a_real_analysis(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """End to end on the shared synthetic workspace: every new section drawn, offline."""
    from brightspots.workspace import Workspace

    root = request.getfixturevalue("small_ws")
    with Workspace.open(root) as ws:
        ctx = build_context(ws)
        page = write_report(ws, tmp_path / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script", page, re.I) and "https://" not in page
    assert "not in this run" not in page
    view = report_view(ctx)
    effort = base.section(page, '<section id="effort"', "</section>")
    teams = ctx.effort_impact
    n_teams = teams[(teams["grain"] == "team")]["unit_id"].nunique()
    assert effort.count('role="img"') == min(n_teams, 12) == len(view.effort.charted)
    practices = base.section(page, '<section id="practices"', "</section>")
    assert practices.count('role="img"') == 1
    assert practices.count("<li class=") == len(ctx.practice_effects)
    for r in view.practices.rows:
        if r.suspect:
            assert f">{r.practice} (suspect)</text>" in practices
    ex = view.example
    html = base.section(page, '<section id="example"', "</section>")
    assert html.count('role="img"') == 1 and f"{escape(ex.title)}: an example" in html
    reps = ctx.units("rep")
    if not ex.named:  # an unlabelled rep is never named
        for name in reps.loc[reps["label"] == "", "name"]:
            assert f"What {escape(name)} sees" not in page
