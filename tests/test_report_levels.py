"""The report's teams and regions, several outcomes, caterpillar plots, the quarters view, the
history across runs, and runs made before any of these existed.

The hand-made run and its two earlier runs come from test_report.py (loaded by path: the tests
folder is not a package).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from brightspots.report import (
    Diagnostics,
    PastRun,
    ReportContext,
    caterpillar,
    quarters,
    render_html,
    report_view,
    unit_histories,
    words,
)
from brightspots.report.history import Point, trend_word
from conftest import load_sibling

F = load_sibling("test_report.py")


@pytest.fixture(scope="module")
def ctx() -> ReportContext:
    return F.fake_context()


@pytest.fixture(scope="module")
def page(ctx: ReportContext) -> str:
    return render_html(ctx)


@pytest.fixture(scope="module")
def view(ctx: ReportContext):
    return report_view(ctx)


# ---------------------------------------------------------------- teams and regions


def test_team_section_names_teams_at_or_above_expectation_only(page: str) -> None:
    teams = F.section(page, '<section id="teams"', "</section>")
    assert "Of 4 teams, 1 is a bright spot and none is a candidate." in teams
    assert "Judged over the last 24 months (1 Jan 2023 to 31 Dec 2024)." in teams
    svg = F.section(teams, '<figure class="chart funnel" id="funnel-team"', "</figure>")
    assert ">Benelux</text>" in svg and ">Nordics</text>" in svg  # 1.16 and 1.04
    assert "Iberia" not in svg and "Alps" not in svg  # 0.87 and 0.94: unnamed points
    table = F.section(teams, '<table id="team-table"', "</table>")
    assert "Benelux won 283 of 782 deals where 243.9 were expected (1.16 times)." in table
    assert "Nordics won 250 of 700 deals where 240.0 were expected (1.04 times)." in table
    assert "Iberia" not in table and "Alps" not in table
    assert (
        "2 teams below expectation are not listed by name (drawn as unnamed points in the plot)."
        in teams
    )
    assert table.count('<tr class="row-bright_spot">') == 1
    assert table.count('<tr class="row-none">') == 1  # Nordics: listed, no label
    # revenue for teams: 283 wins * 50,000 booked where 243.9 * 50,000 was expected
    assert "Benelux booked $14,150,000 in won deals where $12,195,000 was expected" in table
    assert "Above expectation in 4 of the last 4 quarters" in table
    # one line per outcome on the spread between teams
    assert (
        "Teams&#39; results spread 2.50 times as much as chance alone (φ); beyond chance, true "
        "ratios differ by about 0.06 (τ² = 0.0040); rankability ρ = 0.30, so ranks are hidden."
    ) in teams


def test_team_funnel_axis_fits_the_teams(ctx: ReportContext) -> None:
    from brightspots.report import funnel

    # the farthest team from 1 is Iberia, 200 / 230 = 0.870: half = ceil(0.130 * 1.3 + 0.08)
    # to a tenth = 0.3
    assert funnel.close_range(ctx.units("team")) == pytest.approx((0.7, 1.3))


def test_team_points_cover_every_team(ctx: ReportContext) -> None:
    from brightspots.report import funnel

    teams = ctx.units("team")
    spec = funnel.funnel_chart(
        teams,
        ctx.funnel_curve,
        min_volume=20,
        description="x",
        noun="team",
        named=teams["oe"] >= 1,
    ).to_dict()
    rows = [
        r
        for data in spec["datasets"].values()
        if data and set(data[0]) == {"expected", "oe", "group"}
        for r in data
    ]
    assert sorted(r["group"] for r in rows) == [
        "Bright spot",
        "Other team",
        "Other team",
        "Other team",
    ]
    names = [
        r["name"] for data in spec["datasets"].values() if data and "name" in data[0] for r in data
    ]
    assert sorted(set(names)) == ["Benelux", "Nordics"]


def test_region_table_is_short(page: str, view) -> None:
    regions = F.section(page, '<section id="regions"', "</section>")
    assert "EMEA won 883 of 2,632 deals where 873.9 were expected (1.01 times)." in regions
    assert "<svg " not in regions.replace('<svg class="marks"', "")  # no funnel for regions
    assert view.regions.hidden == ""
    assert "Ranks are not published: rankability could not be estimated" in regions
    assert "beyond chance they do not differ (τ² = 0)" in regions


def test_unit_sentence_for_a_team_of_one_deal() -> None:
    assert words.unit_sentence("Solo", 1, 1, 1.0, 1.0) == (
        "Solo won 1 of 1 deal where 1.0 was expected (1.00 times)."
    )


# ---------------------------------------------------------------- outcomes and caterpillars


def test_outcome_words_in_the_table(view) -> None:
    by_name = {r.name: r for r in view.spots}
    assert by_name[F.SCRIPT_NAME].rests_on == "on win rate and won revenue"
    assert by_name["Nadia Rahman"].rests_on == "on won revenue"
    # the evidence of the outcome(s) the label rests on
    assert [e.outcome for e in by_name["Nadia Rahman"].evidence] == ["won revenue"]
    assert [e.outcome for e in by_name["Ana Silva"].evidence] == ["win rate"]
    # revenue shrinkage by hand for Nadia: E = 14.7 * 50,000, V = 1.116 * 14.7 * 50,000^2
    e = 14.7 * 50_000
    s = math.sqrt(0.62 * 1.8 * 14.7) * 50_000 / e
    w = F.REV_TAU2 / (F.REV_TAU2 + s * s)
    theta = 1 + w * (1.5 * 16 / 14.7 - 1)
    half = 1.959964 * math.sqrt(w) * s
    assert by_name["Nadia Rahman"].evidence[0].shrunk == (
        f"{theta:.2f} ({theta - half:.2f} to {theta + half:.2f})"
    )
    assert by_name["Nadia Rahman"].sentences[1] == (
        "Nadia Rahman booked $1,200,000 in won deals where $735,000 was expected (1.63 times)."
    )


def test_caterpillar_names_labelled_reps_only(page: str, ctx: ReportContext) -> None:
    cat = F.section(page, '<section id="caterpillar"', "</section>")
    win = F.section(cat, '<figure class="chart caterpillar" id="caterpillar-win_rate"', "</figure>")
    for name in ("Ana Silva", "Chen Wei"):
        assert f">{name}</text>" in win
    assert '&lt;script&gt;alert("x")&lt;/script&gt; Bo</text>' in win
    assert "Nadia Rahman" not in win  # her label rests on won revenue
    rev = F.section(
        cat, '<figure class="chart caterpillar" id="caterpillar-won_revenue"', "</figure>"
    )
    assert ">Nadia Rahman</text>" in rev and "Ana Silva" not in rev
    for name in F.ORDINARY:
        assert str(escape(name)) not in cat
    assert "Each vertical line is a rep with at least 20 closed deals" in win
    # every eligible rep is an interval, sorted by shrunken O/E
    data = caterpillar.eligible(ctx.units("rep"), 20)
    assert len(data) == 27 and data["shrunk_oe"].is_monotonic_increasing
    assert data["name"].iloc[-1] == F.SCRIPT_NAME  # the highest estimate, at the right


def test_caterpillar_spec_has_no_names_on_points(ctx: ReportContext) -> None:
    reps = ctx.units("rep")
    spec = caterpillar.caterpillar_chart(reps, min_volume=20, description="x").to_dict()
    names = []
    for data in spec["datasets"].values():
        if data and "name" in data[0]:
            names += [r["name"] for r in data]
        else:
            assert not any("name" in r for r in data)
    assert sorted(names) == sorted([F.SCRIPT_NAME, "Ana Silva", "Chen Wei", "Nadia Rahman"])
    intervals = [
        r for data in spec["datasets"].values() if data and "lower" in data[0] for r in data
    ]
    assert len(intervals) == 27
    assert all(r["lower"] <= r["estimate"] <= r["upper"] for r in intervals)


def test_caterpillar_is_a_note_when_tau2_is_zero() -> None:
    page = render_html(F.fake_context(tau2=0.0))
    cat = F.section(page, '<section id="caterpillar"', "</section>")
    assert 'id="caterpillar-win_rate"' in cat
    note = F.section(cat, 'id="caterpillar-win_rate"', "</div>")
    assert "<svg" not in note
    assert (
        "No caterpillar plot for win rate: the spread between reps is no more than chance "
        "(τ² = 0), so shrinkage pulls every rep to 1 and the plot would be a flat line." in note
    )
    assert '<figure class="chart caterpillar" id="caterpillar-won_revenue"' in cat
    # and the shrunken win rate in the table says why it is missing
    table = F.section(page, '<table id="bright-spots"', "</table>")
    assert escape(words.NOT_SHRUNK) in table


def test_detectability_in_the_headline() -> None:
    levels = F.fake_diagnostics()["levels"]
    levels["rep"]["outcomes"]["win_rate"].update(n_detectable=12, effect=1.5)
    page = render_html(F.fake_context(levels=levels))
    head = F.section(page, '<section id="headline"', "</section>")
    assert (
        "For 12 of the 30 reps, a true win rate 1.5 times what is expected would very likely be "
        "found; the others have too few closed deals to tell it from chance: for them, no label "
        "does not mean no difference." in head
    )
    assert 'id="detectability"' not in render_html(F.fake_context())  # older runs: no sentence


# ---------------------------------------------------------------- the quarters view


def test_quarters_parse_and_words() -> None:
    assert quarters.parse("2026-Q1 1.86; 2026-Q2 2.25") == [("2026-Q1", 1.86), ("2026-Q2", 2.25)]
    assert quarters.parse("") == []
    with pytest.raises(ValueError, match="'2026-Q1' is not a quarter and its O/E"):
        quarters.parse("2026-Q1")
    assert quarters.sentence(4, 4, 4) == "Above expectation in 4 of the last 4 quarters"
    assert quarters.sentence(1, 2, 4) == (
        "Above expectation in 1 of the last 4 quarters (2 without closed deals)"
    )
    assert quarters.sentence(0, 0, 4) == "No closed deals in the last 4 quarters"
    v = quarters.view(2, 3, "2024-Q1 1.40; 2024-Q3 0.95; 2024-Q4 1.20", F.QUARTERS)
    assert v is not None
    assert v.detail == "2024-Q1 1.40 · 2024-Q2 – · 2024-Q3 0.95 · 2024-Q4 1.20"
    assert quarters.view(None, None, "", F.QUARTERS) is None  # an older run stored none


def test_quarter_marks_by_hand() -> None:
    # log scale around the midline at 9 px: O/E 1.5 fills the 9 px above, 1/1.5 the 9 below
    assert quarters.bar(1.5) == pytest.approx((0.0, 9.0))
    assert quarters.bar(1 / 1.5) == pytest.approx((9.0, 9.0))
    assert quarters.bar(1.5**0.5) == pytest.approx((4.5, 4.5))  # half way up
    assert quarters.bar(1.0) == (9.0, 0.0)
    assert quarters.bar(16.0) == (0.0, 9.0)  # clamped to the box
    assert quarters.bar(0.0) == (9.0, 9.0)
    svg = str(quarters.marks([2.0, None, 0.5, 1.2]))
    assert svg.count("<rect") == 3 and svg.count("<circle") == 1  # the gap is a dot
    assert 'aria-hidden="true"' in svg
    assert svg.count(quarters.ABOVE) == 2 and svg.count(quarters.BELOW) == 2


# ---------------------------------------------------------------- history across runs


def _p(oe: float, label: str, day: int = 1) -> Point:
    return Point(f"run-{day}", datetime(2024, 1, day), oe, label)


@pytest.mark.parametrize(
    ("points", "now", "label", "word"),
    [
        ([], 1.5, "bright_spot", "new"),  # the workspace's first run
        ([_p(1.4, ""), _p(1.45, "")], 1.5, "candidate", "new"),
        ([_p(1.6, "bright_spot"), _p(1.5, "candidate")], 1.5, "bright_spot", "sustained"),
        ([_p(1.5, "candidate")], 1.55, "bright_spot", "sustained"),
        ([_p(1.504, "bright_spot")], 1.496, "bright_spot", "sustained"),  # 1.50 both, as shown
        ([_p(1.8, "bright_spot")], 1.6, "bright_spot", "fading"),
        ([_p(1.8, "bright_spot"), _p(1.2, "")], 1.6, "candidate", "returning"),
        ([_p(1.8, "bright_spot"), _p(float("nan"), "candidate")], 1.6, "candidate", "sustained"),
        ([_p(1.8, "bright_spot")], 1.6, "", ""),  # no label now: no word
    ],
)
def test_trend_words(points: list[Point], now: float, label: str, word: str) -> None:
    assert trend_word(points, now, label) == word


def test_history_of_each_named_unit(view, ctx: ReportContext) -> None:
    h = ctx.history
    assert h[("rep", "r01")].word == "sustained"  # 1.45 ◆, 1.50 ◆, now 1.63 ◆
    assert h[("rep", "r02")].word == "new"  # absent from run A, unlabelled in run B
    assert h[("rep", "r03")].word == "fading"  # 1.70 ▲, 1.60 ▲, now 20/14 = 1.43 ▲
    assert h[("rep", "r15")].word == "returning"  # ▲ in A, unlabelled in B, ▲ now
    assert h[("team", "t1")].word == "fading"  # not in run A (old), 1.20 ◆ in B, now 1.16
    assert h[("team", "t2")].word == ""  # listed, not labelled
    assert ("rep", "r04") not in h  # an ordinary rep has no history to show
    rows = {r.name: r for r in view.spots}
    assert rows["Ana Silva"].history.trail == (
        "1 Oct 2024 1.45 ◆",
        "1 Nov 2024 1.50 ◆",
        "now 1.63 ◆",
    )
    assert rows[F.SCRIPT_NAME].history.trail == ("1 Nov 2024 1.10", "now 1.60 ◆")
    assert rows["Chen Wei"].history.trail == (
        "1 Oct 2024 1.70 ▲",
        "1 Nov 2024 1.60 ▲",
        "now 1.43 ▲",
    )
    # Nadia's label rests on won revenue: its O/E is followed; run A (old) has no revenue O/E
    assert h[("rep", "r15")].outcome == "won_revenue"
    assert rows["Nadia Rahman"].history.trail == ("1 Oct 2024 – ▲", "1 Nov 2024 1.20", "now 1.63 ▲")
    teams = {r.name: r for r in view.teams.rows}
    assert teams["Benelux"].history.trail == ("1 Nov 2024 1.20 ◆", "now 1.16 ◆")
    assert teams["Nordics"].history.word == "" and teams["Nordics"].history.trail == (
        "1 Nov 2024 1.01",
        "now 1.04",
    )


def test_history_words_on_the_page(page: str) -> None:
    table = F.section(page, '<table id="bright-spots"', "</table>")
    for word in ("new", "sustained", "fading", "returning"):
        assert f'<span class="trend trend-{word}"' in table
    assert (
        "<span>1 Oct 2024 1.45 ◆</span><span>1 Nov 2024 1.50 ◆</span><span>now 1.63 ◆</span>"
        in (table)
    )
    caption = F.section(table, "<caption>", "</caption>")
    assert (
        "the O/E and label in each of the last 2 earlier runs (oldest first), then now" in caption
    )


def test_history_keeps_the_last_runs_only() -> None:
    frames = F.fake_frames()
    units = F.clean_frame(frames["bright_spots"], "bright_spots", "x", F.HISTORY)
    past = [
        PastRun(f"run-{i}", datetime(2024, 1, 1 + i), units.assign(oe=1.0 + i / 10), None)
        for i in range(8)
    ]
    current = F.fake_context().bright_spots
    h = unit_histories(current, None, past, limit=6)
    assert [p.run_id for p in h[("rep", "r01")].points] == [f"run-{i}" for i in range(2, 8)]
    # run-7 has O/E 1.70 and the label: now 1.63 is lower
    assert h[("rep", "r01")].word == "fading"


def test_first_run_makes_every_named_unit_new() -> None:
    view = report_view(F.fake_context(past=[]))
    assert {r.history.word for r in view.spots} == {"new"}
    assert view.spots[0].history.trail == ("now 1.60 ◆",)
    assert view.history_caption.startswith("Across runs: this is the first run in the workspace")


# ---------------------------------------------------------------- runs made before all this


def test_report_of_an_old_run_renders() -> None:
    ctx = ReportContext(
        workspace_name="acme-sales",
        currency="USD",
        run=F.run_info(),
        diagnostics=Diagnostics.from_dict(F.old_diagnostics()),
        **F.old_frames(),
    )
    assert ctx.deviance is None
    assert ctx.diagnostics.levels is not None and list(ctx.diagnostics.levels) == ["rep"]
    assert ctx.outcomes("rep") == ["win_rate"]
    page = render_html(ctx)
    assert page.count('role="img"') == 3  # the win-rate funnel and caterpillar, calibration
    assert 'id="teams"' not in page and 'id="regions"' not in page
    assert 'id="funnel-won_revenue"' not in page and "levels-headline" not in page
    assert "Outcome assessed: win rate." in page
    head = F.section(page, '<section id="headline"', "</section>")
    assert "from 1 Jan 2024 to 31 Dec 2024" in head  # no window in words: the dates
    table = F.section(page, '<table id="bright-spots"', "</table>")
    assert table.count("not stored for this run") == 3  # no quarters view in old runs
    assert "Ana Silva won 31 of 52 deals" in table and "Nadia Rahman" not in table
    assert '<span class="trend trend-new"' in table
    assert "(win rate)" not in table  # one outcome: nothing to say which


def test_old_rows_in_a_newer_table_read_as_rep_rows() -> None:
    """A stored table read after newer runs added columns holds nulls in them for old rows."""
    frames = F.old_frames()
    bs = frames["bright_spots"]
    for col in F.NEW_COLUMNS:
        bs[col] = None
    curve = frames["funnel_curve"].assign(level=None, outcome=np.nan)
    ctx = ReportContext(
        workspace_name="acme-sales",
        currency="USD",
        run=F.run_info(),
        diagnostics=Diagnostics.from_dict(F.old_diagnostics()),
        **{**frames, "bright_spots": bs, "funnel_curve": curve},
    )
    assert ctx.bright_spots["unit_id"].tolist() == ctx.bright_spots["rep_id"].tolist()
    assert set(ctx.bright_spots["level"]) == {"rep"} and set(ctx.funnel_curve["level"]) == {"rep"}
    assert set(ctx.bright_spots["outcome"]) == {"win_rate"}
    assert ctx.bright_spots["quarters_above"].isna().all()
    assert re.search(r"Ana Silva</text>", render_html(ctx))


def test_unknown_extra_columns_are_ignored() -> None:
    frames = F.fake_frames()
    frames["bright_spots"]["detectable"] = True
    frames["bright_spots"]["some_future_column"] = "x"
    frames["deviance"]["power"] = 0.5
    ctx = F.fake_context(frames)
    assert ctx.bright_spots["detectable"].dtype == bool
    assert isinstance(render_html(ctx), str)


def test_outcome_units_join_the_combined_label(ctx: ReportContext) -> None:
    rev = ctx.outcome_units("rep", "won_revenue")
    assert rev is not None and len(rev) == 30
    nadia = rev[rev["unit_id"] == "r15"].iloc[0]
    assert nadia["label"] == "candidate" and nadia["outcome"] == "won_revenue"
    assert nadia["outcome_label"] == "candidate" and nadia["closed"] == 42
    assert nadia["expected"] == pytest.approx(14.7 * 50_000)
    assert ctx.outcome_units("region", "won_revenue") is not None  # rows exist, no summary
    assert ctx.outcome_units("team", "nope") is None
    assert pd.api.types.is_integer_dtype(rev["closed"])
