"""The HTML report: context checks, sentences, naming rules, self-containment, workspace path."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from scipy.stats import norm

from brightspots.report import (
    Diagnostics,
    ReportContext,
    ReportError,
    RunInfo,
    build_context,
    charts,
    fmt,
    render_html,
    report_view,
    words,
    write_report,
)
from brightspots.workspace import init_workspace

SCRIPT_NAME = '<script>alert("x")</script> Bo'
TAU2 = 0.01

# rep_id, name, team_id, closed, observed, expected, label
# r01..r03 are the named ones; r28..r30 are below the minimum volume of 20.
REPS: list[tuple[str, str, str, int, int, float, str]] = [
    ("r01", "Ana Silva", "t1", 52, 31, 19.0, "bright_spot"),
    ("r02", SCRIPT_NAME, "t2", 64, 40, 25.0, "bright_spot"),
    ("r03", "Chen Wei", "t1", 40, 20, 14.0, "candidate"),
    ("r04", "O'Brien & Daughters", "t3", 80, 29, 28.5, ""),
    ("r05", "Dmitri Volkov", "t2", 75, 25, 26.0, ""),
    ("r06", "Eva Lindqvist", "t3", 70, 24, 24.4, ""),
    ("r07", "Farah Haddad", "t1", 66, 22, 23.1, ""),
    ("r08", "Goran Petrovic", "t2", 61, 21, 21.9, ""),
    ("r09", "Hana Sato", "t3", 58, 19, 20.0, ""),
    ("r10", "Ivo Bauer", "t1", 55, 17, 18.6, ""),
    ("r11", "Jana Novak", "t2", 50, 18, 17.5, ""),
    ("r12", "Kwame Mensah", "t3", 48, 15, 16.8, ""),
    ("r13", "Lena Fischer", "t1", 46, 17, 16.1, ""),
    ("r14", "Marco Rossi", "t2", 44, 14, 15.4, ""),
    ("r15", "Nadia Rahman", "t3", 42, 16, 14.7, ""),
    ("r16", "Oskar Nilsson", "t1", 39, 12, 13.7, ""),
    ("r17", "Priya Nair", "t2", 37, 14, 13.0, ""),
    ("r18", "Quentin Moreau", "t3", 35, 11, 12.3, ""),
    ("r19", "Rosa Jimenez", "t1", 33, 12, 11.6, ""),
    ("r20", "Sven Aalto", "t2", 31, 10, 10.9, ""),
    ("r21", "Tomas Horvat", "t3", 30, 11, 10.5, ""),
    ("r22", "Uma Iyer", "t1", 28, 9, 9.8, ""),
    ("r23", "Viktor Lund", "t2", 27, 10, 9.5, ""),
    ("r24", "Wen Li", "t3", 25, 8, 8.8, ""),
    ("r25", "Xavier Costa", "t1", 24, 9, 8.4, ""),
    ("r26", "Yara Khalil", "t2", 22, 7, 7.7, ""),
    ("r27", "Zoe Martin", "t3", 21, 8, 7.4, ""),
    ("r28", "Abel Ortiz", "t1", 15, 7, 5.2, ""),
    ("r29", "Bea Kovac", "t2", 12, 3, 4.2, ""),
    ("r30", "Cyrus Farahani", None, 8, 2, 2.8, ""),
]
# won amount per rep: ordinary big territories lead, so only Ana Silva makes the raw top 10
WON_AMOUNT = {
    "r04": 2_450_000.0,
    "r05": 2_210_500.0,
    "r06": 1_980_250.0,
    "r01": 1_875_000.0,
    "r07": 1_760_000.0,
    "r08": 1_640_400.0,
    "r09": 1_500_000.0,
    "r10": 1_420_000.0,
    "r03": 1_390_000.0,
    "r11": 1_300_000.0,
    "r12": 1_250_000.0,  # rank 11: never named anywhere
}
ORDINARY = [r[1] for r in REPS if r[6] == ""]
NAMED = [r[1] for r in REPS if r[6] != ""]


def fake_frames() -> dict[str, pd.DataFrame]:
    """Hand-made result tables shaped like a real run's (30 reps, 2 bright spots, 1 candidate)."""
    df = pd.DataFrame(
        REPS, columns=["rep_id", "name", "team_id", "closed", "observed", "expected", "label"]
    )
    e = df["expected"].to_numpy()
    o = df["observed"].to_numpy().astype(float)
    v = 0.62 * e
    oe = o / e
    s = np.sqrt(v) / e
    z = (oe - 1) / s
    sa = np.sqrt(s**2 + TAU2)
    z_od = (oe - 1) / sa
    w = TAU2 / (TAU2 + s**2)
    theta = 1 + w * (oe - 1)
    post = np.sqrt(w) * s
    eligible = df["closed"].to_numpy() >= 20
    p = 1 - norm.cdf(z_od)
    q = np.where(eligible, np.minimum(1.0, 3 * p), np.nan)
    out = df.assign(
        oe=oe,
        lower_95=1 - 1.959964 * s,
        upper_95=1 + 1.959964 * s,
        lower_998=1 - 3.090232 * s,
        upper_998=1 + 3.090232 * s,
        adj_lower_95=1 - 1.959964 * sa,
        adj_upper_95=1 + 1.959964 * sa,
        adj_lower_998=1 - 3.090232 * sa,
        adj_upper_998=1 + 3.090232 * sa,
        reason=[
            "Above the 99.8% limit after allowing for overdispersion, above expectation in both "
            "halves of the sample."
            if lab == "bright_spot"
            else "Above expectation but not beyond doubt."
            if lab == "candidate"
            else ""
            for lab in df["label"]
        ],
        variance=v,
        s=s,
        z=z,
        z_od=z_od,
        p_value=p,
        q_value=q,
        shrunk_oe=theta,
        shrunk_lower_95=theta - 1.959964 * post,
        shrunk_upper_95=theta + 1.959964 * post,
        reliability=w,
        p_above_1=1 - norm.cdf((1 - theta) / post),
        p_extreme=0.1,
        expected_rank=pd.Series(-theta).rank().to_numpy(),
        observed_odd=o / 2,
        expected_odd=e / 2,
        observed_even=o / 2,
        expected_even=e / 2,
        sustained=df["label"] == "bright_spot",
        needed_oe=np.where(eligible, np.nan, 1 + 3.090232 * sa),
        won_amount=[WON_AMOUNT.get(r, 400_000.0 - i * 1000) for i, r in enumerate(df["rep_id"])],
    )
    # the documented column order, label after the limits
    cols = list(out.columns)
    cols.remove("label")
    cols.insert(cols.index("adj_upper_998") + 1, "label")
    bright = out[cols]

    lb = bright.sort_values("won_amount", ascending=False).reset_index(drop=True)
    leaderboard = pd.DataFrame(
        {
            "rank": np.arange(1, len(lb) + 1),
            "rep_id": lb["rep_id"],
            "name": lb["name"],
            "team_id": lb["team_id"],
            "won_amount": lb["won_amount"],
            "won": lb["observed"],
            "closed": lb["closed"],
            "win_rate": lb["observed"] / lb["closed"],
            "label": lb["label"],
        }
    )
    grid = np.linspace(0.5, 30, 60)
    sg = np.sqrt(0.62 * grid) / grid
    sga = np.sqrt(sg**2 + TAU2)
    curve = pd.DataFrame(
        {
            "expected": grid,
            "lower_95": 1 - 1.959964 * sg,
            "upper_95": 1 + 1.959964 * sg,
            "lower_998": 1 - 3.090232 * sg,
            "upper_998": 1 + 3.090232 * sg,
            "adj_lower_95": 1 - 1.959964 * sga,
            "adj_upper_95": 1 + 1.959964 * sga,
            "adj_lower_998": 1 - 3.090232 * sga,
            "adj_upper_998": 1 + 3.090232 * sga,
        }
    )
    predicted = np.array([0.05, 0.12, 0.2, 0.27, 0.33, 0.4, 0.47, 0.55, 0.62, 0.78])
    gaps = np.array([0.01, -0.02, 0.0, 0.02, -0.01, 0.01, 0.0, 0.02, -0.04, 0.01])
    calibration = pd.DataFrame(
        {
            "decile": np.arange(1, 11),
            "n": [110] * 10,
            "mean_expected": predicted,
            # largest gap: decile 9, 62% predicted, 58% won
            "observed_rate": predicted + gaps,
        }
    )
    return {
        "bright_spots": bright,
        "funnel_curve": curve,
        "raw_leaderboard": leaderboard,
        "calibration": calibration,
    }


def fake_diagnostics(**over: object) -> dict[str, object]:
    d: dict[str, object] = {
        "auc": 0.7412,
        "n_cases": 1234,
        "n_wins": 456,
        "covariates": ["segment", "deal_size", "source", "territory_potential"],
        "warnings": [
            "No amount at creation: the current amount was used for deal size; it may carry the "
            "outcome."
        ],
        "phi": 1.84,
        "tau2": TAU2,
        "mu": 1.0,
        "rankability": 0.3,
        "n_units": 30,
        "n_eligible": 27,
        "n_bright_spots": 2,
        "n_candidates": 1,
        "min_volume": 20,
        "window_start": "2024-01-01",
        "window_end": "2024-12-31 00:00:00",
    }
    d.update(over)
    return d


def fake_context(frames: dict[str, pd.DataFrame] | None = None, **diag: object) -> ReportContext:
    return ReportContext(
        workspace_name="acme-sales",
        currency="USD",
        run=RunInfo("20250101T120000-abc123", datetime(2025, 1, 1, 12, 0), "duckdb", "f00dfeed"),
        diagnostics=Diagnostics.from_dict(fake_diagnostics(**diag)),
        **(frames or fake_frames()),
    )


def section(page: str, start: str, end: str) -> str:
    i = page.index(start)
    return page[i : page.index(end, i)]


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(fake_context())


# ---------------------------------------------------------------- formatting and sentences


def test_numbers_are_written_for_people() -> None:
    assert fmt.integer(12345.4) == "12,345"
    assert fmt.decimal(19.04) == "19.0"
    assert fmt.ratio(1.6316) == "1.63"
    assert fmt.percent(0.596) == "60%"
    assert fmt.money(1234567.8, "USD") == "$1,234,568"
    assert fmt.money(-1500, "eur") == "−€1,500"
    assert fmt.money(1234567.8, "CHF") == "1,234,568 CHF"
    assert fmt.day("2024-03-05") == "5 Mar 2024"
    assert fmt.moment(datetime(2025, 1, 2, 9, 5)) == "2 Jan 2025, 09:05 UTC"
    assert fmt.ratio(float("nan")) == fmt.integer(None) == fmt.money(None, "USD") == "–"
    assert fmt.words_list(["a", "b", "c"]) == "a, b and c"


def test_rep_sentence_is_built_from_the_numbers() -> None:
    assert words.rep_sentence("Ana Silva", 31, 52, 19.0, 31 / 19) == (
        "Ana Silva won 31 of 52 deals where 19.0 were expected from their territory and deal mix "
        "(1.63 times expected)."
    )
    assert words.rep_sentence("Bo", 1, 1, 0.98, 1 / 0.98) == (
        "Bo won 1 of 1 deal where 1.0 was expected from their territory and deal mix "
        "(1.02 times expected)."
    )


def test_headline_sentence() -> None:
    text = words.headline(
        n_units=30,
        n_eligible=27,
        n_bright_spots=2,
        n_candidates=1,
        min_volume=20,
        n_cases=1234,
        n_wins=456,
        start=date(2024, 1, 1),
        end=date(2024, 12, 31),
    )
    assert text == (
        "Of 30 reps, 2 are bright spots and 1 is a candidate, judged on 1,234 closed deals "
        "(456 won) from 1 Jan 2024 to 31 Dec 2024. 27 closed at least 20 deals and were "
        "assessed; 3 closed fewer and are shown but not labelled."
    )
    none = words.headline(
        n_units=5,
        n_eligible=5,
        n_bright_spots=0,
        n_candidates=0,
        min_volume=20,
        n_cases=300,
        n_wins=90,
        start=None,
        end=None,
    )
    assert none.startswith("Of 5 reps, none is a bright spot and none is a candidate")
    assert "All 5 reps closed at least 20 deals" in none


def test_place_labels_moves_overlapping_labels_apart() -> None:
    y = charts.place_labels(
        np.array([10.0, 12.0, 10.0, 400.0]),
        np.array([100.0, 105.0, 200.0, 104.0]),
        np.array([80.0, 80.0, 80.0, 80.0]),
        height=430,
    )
    # the second label shares the first's column: pushed one line (13 px) below it;
    # the far-right one and the low one keep their own height
    assert y.tolist() == [100.0, 113.0, 200.0, 104.0]


def test_to_svg_is_inline_ready_and_titled() -> None:
    chart = charts.calibration_chart(fake_frames()["calibration"], description="Cal <b>")
    svg = charts.to_svg(chart)
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert 'role="img"' in svg and "<title>Cal &lt;b&gt;</title>" in svg
    assert "xmlns" not in svg and "http" not in svg


# ---------------------------------------------------------------- the rendered page


def test_page_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"\b(src|href)\s*=", page, re.I)
    assert "@import" not in page
    assert not re.search(r"url\((?!#)", page)  # only references to ids inside the page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # two inline charts, no clashing clip-path ids
    # the funnel plot and the calibration chart, inline (the rest are legend symbols)
    assert page.count('role="img"') == 2
    assert "<style>" in page and "@media print" in page


def test_headline_and_caveats_come_first(page: str) -> None:
    head = section(page, '<section id="headline"', "</section>")
    assert (
        "Of 30 reps, 2 are bright spots and 1 is a candidate, judged on 1,234 closed deals "
        "(456 won) from 1 Jan 2024 to 31 Dec 2024." in head
    )
    assert "Read with care" in head
    assert "No amount at creation: the current amount was used for deal size" in head


def test_funnel_names_bright_spots_and_candidates_only(page: str) -> None:
    funnel = section(page, '<section id="funnel"', "</section>")
    svg = section(funnel, "<svg", "</svg>")
    for name in ("Ana Silva", "Chen Wei"):
        assert f">{name}</text>" in svg
    assert '&lt;script&gt;alert("x")&lt;/script&gt; Bo</text>' in svg
    for name in ORDINARY:
        assert name not in svg and str(escape(name)) not in svg
        assert name.replace("'", "&#39;").replace("&", "&amp;") not in svg
    # every rep with expected wins is a point: 27 ordinary + 3 named
    assert svg.count('aria-roledescription="text mark"') >= 3
    assert "<title>Funnel plot of 30 reps" in svg
    assert "Only bright spots and candidates are named." in funnel


def test_points_cover_every_rep() -> None:
    ctx = fake_context()
    spec = charts.funnel_chart(
        ctx.bright_spots, ctx.funnel_curve, min_volume=20, description="x"
    ).to_dict()
    datasets = spec["datasets"].values()
    point_rows = [
        r for rows in datasets if rows and set(rows[0]) == {"expected", "oe", "group"} for r in rows
    ]
    groups = pd.Series([r["group"] for r in point_rows]).value_counts().to_dict()
    assert groups == {
        "Other rep": 24,
        "Below minimum volume": 3,
        "Bright spot": 2,
        "Candidate": 1,
    }


def test_bright_spot_table_sentences_and_labels(page: str) -> None:
    table = section(page, '<table id="bright-spots"', "</table>")
    assert (
        "Ana Silva won 31 of 52 deals where 19.0 were expected from their territory and deal mix "
        "(1.63 times expected)." in table
    )
    assert "Chen Wei won 20 of 40 deals where 14.0 were expected" in table
    assert table.count('<tr class="row-bright_spot">') == 2
    assert table.count('<tr class="row-candidate">') == 1
    assert "Above the 99.8% limit after allowing for overdispersion" in table
    # shrunk O/E with its 95% range, by hand: s = sqrt(0.62*19)/19, w = .01/(.01+s^2)
    s = math.sqrt(0.62 * 19) / 19
    w = TAU2 / (TAU2 + s * s)
    theta = 1 + w * (31 / 19 - 1)
    half = 1.959964 * math.sqrt(w) * s
    assert f"{theta:.2f} ({theta - half:.2f} to {theta + half:.2f})" in table
    for name in ORDINARY:
        assert str(escape(name)) not in table


def test_ranks_hidden_when_rankability_is_low(page: str) -> None:
    assert "Expected rank" not in page
    assert "Ranks are not published: rankability is 0.30, below 0.5" in page
    table = section(page, '<table id="bright-spots"', "</table>")
    # alphabetical within label: the script name sorts before Ana Silva ('<' < 'A')
    assert table.index("&lt;script&gt;") < table.index("Ana Silva") < table.index("Chen Wei")


def test_ranks_shown_when_rankability_is_high() -> None:
    page = render_html(fake_context(rankability=0.62))
    assert "Ranks are not published" not in page
    table = section(page, '<table id="bright-spots"', "</table>")
    assert "Expected rank" in table and "of 30" in table
    # the script rep has the higher shrunk O/E, so the better expected rank
    assert re.search(r'<td class="num">1\.0</td>\s*<th scope="row">&lt;script&gt;', table)
    assert table.index("&lt;script&gt;") < table.index("Ana Silva")


def test_leaderboard_top_ten_for_contrast(page: str) -> None:
    board = section(page, '<table id="leaderboard-table"', "</table>")
    body = section(board, "<tbody>", "</tbody>")
    assert body.count("<tr ") == 10
    top10 = fake_frames()["raw_leaderboard"].head(10)
    for rank, name in zip(top10["rank"], top10["name"], strict=True):
        assert f'<td class="num">{rank}</td>\n        <th scope="row">{escape(name)}' in body
    assert "$2,450,000" in body and "29 of 80" in body and "36%" in body
    assert "Kwame Mensah" not in page  # rank 11, ordinary: never named
    assert (
        "1 of the top 10 by won amount is a bright spot and 1 is a candidate; 1 of the 2 bright "
        "spots does not appear here. Raw results mostly follow territory and deal size"
    ) in page


def test_model_section(page: str) -> None:
    model = section(page, '<section id="model"', "</section>")
    assert "AUC</span> 0.74" in model
    assert "the model gives the won deal the higher chance 74% of the time" in model
    assert "(0.5 is a coin toss, 1.0 is perfect). Good." in model
    assert "account segment, deal size, lead source and territory potential" in model
    assert "The largest gap is 4 percentage points (band 9: 62% predicted, 58% won)." in model
    assert "φ = 1.84" in model and "τ² = 0.0100" in model and "ρ = 0.30" in model
    assert "<svg " in model


def test_tau2_zero_note_is_visible() -> None:
    note = "The spread between reps is no more than chance: shrinkage pulls everyone to the mean."
    page = render_html(fake_context(tau2=0.0, tau2_zero_note=note))
    head = section(page, '<section id="headline"', "</section>")
    model = section(page, '<section id="model"', "</section>")
    assert note in head and note in model


def test_user_text_is_escaped(page: str) -> None:
    assert SCRIPT_NAME not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Bo" in page
    assert "O&#39;Brien &amp; Daughters" in page  # in the raw top 10


def test_no_bright_spots_says_so() -> None:
    frames = fake_frames()
    frames["bright_spots"]["label"] = ""
    frames["raw_leaderboard"]["label"] = ""
    page = render_html(fake_context(frames, n_bright_spots=0, n_candidates=0))
    assert "No rep is a bright spot or a candidate in this run." in page
    assert "none is a bright spot and none is a candidate" in page
    assert "Ana Silva</text>" not in page


# ---------------------------------------------------------------- bad input


def test_missing_column_is_named() -> None:
    frames = fake_frames()
    frames["bright_spots"] = frames["bright_spots"].drop(columns=["oe", "q_value"])
    with pytest.raises(ReportError, match=r"bright_spots \(run 2025.*'oe', 'q_value'"):
        fake_context(frames)


def test_bad_value_names_row_and_column() -> None:
    frames = fake_frames()
    bs = frames["bright_spots"].astype({"oe": object})
    bs.loc[4, "oe"] = "abc"
    frames["bright_spots"] = bs
    with pytest.raises(
        ReportError, match=r"bright_spots .*row 5 \(rep_id 'r05'\), column 'oe': 'abc' is not a"
    ):
        fake_context(frames)
    frames = fake_frames()
    frames["raw_leaderboard"].loc[2, "label"] = "star"
    with pytest.raises(ReportError, match=r"raw_leaderboard .*row 3 .*column 'label': 'star'"):
        fake_context(frames)
    frames = fake_frames()
    frames["calibration"].loc[0, "decile"] = 11
    with pytest.raises(ReportError, match=r"calibration .*row 1, column 'decile'"):
        fake_context(frames)


def test_bad_diagnostics_are_named() -> None:
    d = fake_diagnostics()
    del d["phi"]
    with pytest.raises(ReportError, match="run x diagnostics: missing 'phi'"):
        Diagnostics.from_dict(d, source="run x diagnostics")
    with pytest.raises(ReportError, match="'n_cases' = 12.5 is not a whole number"):
        Diagnostics.from_dict(fake_diagnostics(n_cases=12.5))
    with pytest.raises(ReportError, match="n_bright_spots = 3 but the bright_spots table has 2"):
        fake_context(n_bright_spots=3)
    with pytest.raises(ReportError, match="'window_end' = 'soon' is not a date"):
        Diagnostics.from_dict(fake_diagnostics(window_end="soon"))


def test_estimates_that_could_not_be_made_read_as_such() -> None:
    d = Diagnostics.from_dict(
        fake_diagnostics(auc=None, rankability=float("nan"), phi=float("nan"), window_start="NaT")
    )
    assert d.auc is None and d.window_start is None
    assert words.auc(d.auc) == "The model's discrimination (AUC) was not computed for this run."
    assert words.phi(d.phi).startswith("Overdispersion could not be estimated")
    assert words.window(d.window_start, d.window_end) == "up to 31 Dec 2024"
    assert not words.ranks_published(d.rankability)


# ---------------------------------------------------------------- from a workspace


def _store(ws, frames: dict[str, pd.DataFrame], **diag: object) -> str:
    run = ws.new_run(fingerprint=ws.fingerprint())
    run.diagnostics = fake_diagnostics(**diag)
    ws.save_run(run, frames)
    return run.run_id


def test_write_report_from_workspace(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "acme")
    first = _store(ws, fake_frames())
    changed = fake_frames()
    changed["bright_spots"].loc[0, "name"] = "Ana Souza"
    second = _store(ws, changed, auc=0.81)

    out = write_report(ws, tmp_path / "out" / "report.html")
    assert out == tmp_path / "out" / "report.html"
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temp file left
    latest = out.read_text(encoding="utf-8")
    assert "<h1>acme</h1>" in latest and second in latest and "AUC</span> 0.81" in latest
    assert "Ana Souza</text>" in latest
    assert "Cyrus Farahani" not in latest  # no team, below volume: still never named

    again = write_report(ws, out, run_id=first).read_text(encoding="utf-8")
    assert first in again and "Ana Silva</text>" in again and "Ana Souza" not in again

    ctx = build_context(ws, first)
    assert ctx.currency == "USD" and ctx.run.engine == "duckdb"
    assert ctx.diagnostics.window_end == date(2024, 12, 31)
    assert ctx.bright_spots["team_id"].iloc[-1] == ""
    assert ctx.bright_spots["sustained"].dtype == bool

    with pytest.raises(ReportError, match="no run 'nope'"):
        write_report(ws, out, run_id="nope")
    with pytest.raises(ReportError, match="is a folder"):
        write_report(ws, tmp_path / "out")
    ws.close()


def test_workspace_without_results_says_so(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "empty")
    frames = fake_frames()
    del frames["calibration"]
    _store(ws, frames)
    with pytest.raises(ReportError, match="stored no 'calibration' table"):
        build_context(ws)
    ws.close()


def test_small_books_do_not_squash_the_funnel() -> None:
    frames = fake_frames()
    bs = frames["bright_spots"]
    bs.loc[bs["rep_id"] == "r30", ["observed", "expected", "oe"]] = [8, 1.2, 8 / 1.2]
    bs.loc[bs["rep_id"] == "r29", ["observed", "expected", "oe"]] = [0, 0.0, np.nan]
    ctx = fake_context(frames)
    # the axis stops just above the highest assessed or named rep: Ana Silva, 31/19 = 1.63
    assert charts.funnel_y_top(ctx.bright_spots, 20) == 2.0
    bs.loc[bs["rep_id"] == "r01", "oe"] = 2.5
    assert charts.funnel_y_top(bs, 20) == pytest.approx(2.7)
    page = render_html(ctx)
    caption = section(page, "<figcaption>", "</figcaption>")
    assert "1 rep with no expected wins is not drawn." in caption
    assert "1 rep below the minimum volume lies above the top of the chart" in caption


def test_view_is_the_template_contract() -> None:
    view = report_view(fake_context(rankability=0.62))
    assert view.tiles == [
        ("Bright spots", "2"),
        ("Candidates", "1"),
        ("Reps assessed", "27 of 30"),
        ("Closed deals", "1,234"),
    ]
    assert [r.name for r in view.spots] == [SCRIPT_NAME, "Ana Silva", "Chen Wei"]
    assert [r.rank for r in view.spots] == ["1.0", "2.0", "3.0"]
    assert view.spots[1].p_above_1 == "95%" and view.spots[1].label_text == "Bright spot"
    assert [r.rank for r in view.leaders] == [str(i) for i in range(1, 11)]
    assert view.leaders[0].won_amount == "$2,450,000" and view.leaders[0].won_closed == "29 of 80"
    assert view.ranks_published and view.ranks_note == ""
    assert view.auc == "0.74" and view.window == "from 1 Jan 2024 to 31 Dec 2024"
    assert view.calibration_rows[8] == ("9", "62%", "58%", "110")
    assert [text for _, text in view.funnel_legend][:4] == [
        "Bright spot",
        "Candidate",
        "Other rep",
        "Below minimum volume (fewer than 20 closed deals)",
    ]
    assert view.funnel_not_drawn == ""


def test_report_of_a_real_analysis(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """End to end on the shared synthetic workspace, once the analysis pipeline exists."""
    pytest.importorskip("brightspots.analysis", reason="the analysis pipeline is not built yet")
    from brightspots.workspace import Workspace

    root = request.getfixturevalue("small_ws")
    with Workspace.open(root) as ws:
        ctx = build_context(ws)
        out = write_report(ws, tmp_path / "report.html")
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<script", page, re.I) and "https://" not in page
    assert page.count('role="img"') == 2
    named = ctx.bright_spots[ctx.bright_spots["label"] != ""]
    # one row per named rep in the bright-spot table, plus the leaderboard's top 10
    assert page.count('<tr class="row-') == len(named) + len(ctx.raw_leaderboard.head(10))
