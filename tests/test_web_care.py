"""Care in the web app: a rep's meter shows their own care index (customers and employees) with
its interval and respondents, or "fewer than 5 respondents: not shown", and the quarters that
may be shown; the team and coach pages name only care bright spots and candidates; the API
says the same. Everything is read from the stored care tables; a suppressed cell never shows a
figure, even when the stored row holds one."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from brightspots.web.app import create_app
from brightspots.workspace import Workspace
from conftest import sign_in

K = 5
NOT_SHOWN = f"fewer than {K} respondents: not shown"


@pytest.fixture(scope="module")
def care(web_ws) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(care_index, care_trend, reps) of the web workspace's latest run."""
    with Workspace.open(web_ws.root) as ws:
        return ws.run_results("care_index"), ws.run_results("care_trend"), ws.read("reps")


def part(page: str) -> str:
    """The care section of a page."""
    i = page.index('<section aria-labelledby="care-h" id="care">')
    return page[i : page.index("</section>", i)]


def _row(index: pd.DataFrame, rep: str, source: str) -> pd.Series | None:
    for level in ("leader", "rep"):
        got = index[(index["level"] == level) & (index["unit_id"] == rep)]
        got = got[got["source"] == source]
        if len(got):
            return got.iloc[0]
    return None


def check_meter(c: TestClient, rep_id: str, index: pd.DataFrame, trend: pd.DataFrame) -> dict:
    """The meter of ``rep_id`` and its API twin against the stored tables; the API's care."""
    section = part(c.get(f"/reps/{rep_id}").text)
    api = c.get(f"/api/v1/reps/{rep_id}").json()["care"]
    assert api["min_respondents"] == K and api["window"] == "over the last 12 months"
    got = {s["source"]: s for s in api["sources"]}
    assert set(got) == {"customer", "employee"}
    for source, out in got.items():
        row = _row(index, rep_id, source)
        line = section[section.index(f'id="care-{source}"') :]
        line = line[: line.index("</tr>")]
        if row is None:
            assert not out["shown"] and "no answers" in out["text"] and "no answers" in line
        elif row["suppressed"]:
            assert not out["shown"] and out["index"] is None and out["respondents"] is None
            assert out["text"] == NOT_SHOWN and NOT_SHOWN in line
        else:
            assert out["shown"] and out["index"] == pytest.approx(100 * row["mean"], abs=0.051)
            assert out["respondents"] == row["respondents"]
            assert f'<td class="num">{100 * row["mean"]:.0f}</td>' in line
            lo, hi = f"{100 * row['lower_95']:.0f}", f"{100 * row['upper_95']:.0f}"
            assert f"{lo} to {hi}" in line and f">{row['respondents']}<" in line
    # the quarters: the rep's shown ones only, as stored
    mine = trend[(trend["level"] == "rep") & (trend["unit_id"] == rep_id)]
    recent = sorted(set(mine["period"]))[-6:]
    shown = mine[~mine["suppressed"] & mine["period"].isin(recent)]
    assert {(q["period"], q["source"]) for q in api["quarters"]} == set(
        zip(shown["period"], shown["source"], strict=True)
    )
    for q in api["quarters"]:
        stored = shown[(shown["period"] == q["period"]) & (shown["source"] == q["source"])]
        assert q["index"] == pytest.approx(100 * stored["mean"].iloc[0], abs=0.051)
    hidden = int(mine.loc[mine["period"].isin(recent), "suppressed"].sum())
    assert (f"{hidden} quarterly figure" in api["hidden"]) if hidden else api["hidden"] == ""
    if len(shown):
        assert 'id="care-trend"' in section and "<svg" in section
    return api


def test_the_own_meter_shows_the_own_care_index(web_ws, as_, care):
    index, trend, _ = care
    c = as_(web_ws.rep)
    assert "How customers and employees rate your care" in part(
        c.get(f"/reps/{web_ws.rep_id}").text
    )
    check_meter(c, web_ws.rep_id, index, trend)
    # and a rep whose customers' care is shown, as their manager (an admin) sees it
    reps = index[(index["level"] == "rep") & (index["source"] == "customer")]
    shown = reps[~reps["suppressed"]].sort_values("unit_id")
    assert len(shown), "the small workspace has reps with enough customers answering"
    api = check_meter(as_(web_ws.admin), shown["unit_id"].iloc[0], index, trend)
    assert next(s for s in api["sources"] if s["source"] == "customer")["shown"]


def test_a_suppressed_rep_sees_not_shown_and_no_figure(web_ws, as_, care):
    index, _, reps = care
    hidden = index[(index["level"] == "rep") & index["suppressed"]]
    assert len(hidden), "the small workspace has reps below the minimum of respondents"
    rep = hidden.iloc[0]
    c = as_(web_ws.admin)  # an admin may open every meter
    section = part(c.get(f"/reps/{rep['unit_id']}").text)
    line = section[section.index(f'id="care-{rep["source"]}"') :]
    line = line[: line.index("</tr>")]
    company = index[(index["level"] == "company") & (index["source"] == rep["source"])]
    # the one figure on the line is the company's, for reference
    assert NOT_SHOWN in line
    assert re.findall(r'<td class="num">(\d+)</td>', line) == [
        f"{100 * company['mean'].iloc[0]:.0f}"
    ]
    api = c.get(f"/api/v1/reps/{rep['unit_id']}").json()["care"]
    out = next(s for s in api["sources"] if s["source"] == rep["source"])
    assert not out["shown"] and out["index"] is None and out["lower_95"] is None
    assert out["respondents"] is None


def test_team_pages_name_only_care_bright_spots_and_candidates(web_ws, as_, care):
    index, _, reps = care
    people = index[index["level"].isin(["rep", "leader"])]
    labelled = set(people.loc[people["label"].isin(["bright_spot", "candidate"]), "unit_id"])
    assert labelled, "the small workspace has a care bright spot"
    names = dict(zip(reps["rep_id"], reps["name"], strict=True))
    c = as_(web_ws.admin)
    seen = set()
    for team in sorted(set(reps["team_id"].dropna())):
        members = set(reps.loc[reps["team_id"] == team, "rep_id"])
        for route in (f"/teams/{team}", f"/teams/{team}/coach"):
            section = part(c.get(route).text)
            named = {r for r in members if names[r] in section}
            assert named <= labelled, f"{route} names {sorted(named - labelled)}"
            seen |= named
        api = c.get(f"/api/v1/teams/{team}").json()["care"]
        ids = {b["id"] for b in api["bright_spots"]}
        assert ids == labelled & members
        assert all(
            b["label"] in ("care bright spot", "care candidate") for b in api["bright_spots"]
        )
        own = index[(index["level"] == "team") & (index["unit_id"] == team)]
        own = own[own["source"] == "customer"]
        if len(own) and not own["suppressed"].iloc[0]:
            assert f"{100 * own['mean'].iloc[0]:.0f} of 100" in api["customers"]
        elif len(own):
            assert NOT_SHOWN in api["customers"]
    assert seen == labelled & set(reps["rep_id"])  # every one of them is named somewhere


def test_a_stored_figure_of_a_suppressed_row_is_never_shown(web_ws, tmp_path, care):
    """Belt and braces: were a suppressed row stored with figures, the pages still show none."""
    index, _, _ = care
    rep = index[(index["level"] == "rep") & index["suppressed"]].iloc[0]
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    with Workspace.open(root) as ws, ws.transaction() as con:
        con.execute(
            "UPDATE care_index SET mean = 0.987, lower_95 = 0.9, upper_95 = 1.0, "
            "respondents = 4, label = 'bright_spot' WHERE suppressed"
        )
        con.execute("UPDATE care_trend SET mean = 0.987, respondents = 4 WHERE suppressed")
    with TestClient(create_app(root), follow_redirects=False) as c:
        assert sign_in(c, web_ws.admin).status_code == 303
        meter = c.get(f"/reps/{rep['unit_id']}").text
        assert "99 " not in part(meter) and ">99<" not in part(meter)
        api = c.get(f"/api/v1/reps/{rep['unit_id']}").json()["care"]
        assert all(s["index"] != 98.7 for s in api["sources"])
        assert all(q["index"] != 98.7 for q in api["quarters"])
        team = c.get(f"/api/v1/teams/{rep['team_id']}").json()["care"]
        assert rep["unit_id"] not in {b["id"] for b in team["bright_spots"]}


def test_without_care_answers_there_is_no_care_section(web_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    with Workspace.open(root) as ws, ws.transaction() as con:
        con.execute("DELETE FROM care_index")
        con.execute("DELETE FROM care_trend")
    with TestClient(create_app(root), follow_redirects=False) as c:
        assert sign_in(c, web_ws.rep).status_code == 303
        assert 'id="care"' not in c.get(f"/reps/{web_ws.rep_id}").text
        assert c.get(f"/api/v1/reps/{web_ws.rep_id}").json()["care"] is None
        assert 'id="care"' not in c.get(f"/teams/{web_ws.team_id}").text
        assert c.get(f"/api/v1/teams/{web_ws.team_id}").json()["care"] is None
