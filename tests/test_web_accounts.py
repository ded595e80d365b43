"""The key-account pages of the web app: a rep's book and one account's page, seen by the owner
and their managers, not found for anyone else."""

from __future__ import annotations

import html
import re

from brightspots.workspace import Workspace
from conftest import WebOrg


def _accounts(o: WebOrg, rep_id: str):
    with Workspace.open(o.root) as ws:
        ap = ws.run_results("account_plan")
    return ap[ap["owner_rep_id"] == rep_id].sort_values("value", ascending=False)


def test_the_owner_and_their_managers_see_the_account(as_, web_ws: WebOrg):
    mine = _accounts(web_ws, web_ws.rep_id)
    assert len(mine), "the rep owns accounts"
    top = mine.iloc[0]
    for who in (web_ws.rep, web_ws.manager, web_ws.region_manager, web_ws.admin):
        c = as_(who)
        r = c.get(f"/accounts/{top['account_id']}")
        assert r.status_code == 200, who
        assert html.escape(top["name"]) in r.text and "Value a year" in r.text
        assert "cross-validation" in r.text or not top["fit_reasons"] and top["tier"] in r.text
        book = c.get(f"/reps/{web_ws.rep_id}/accounts")
        assert book.status_code == 200 and f"/accounts/{top['account_id']}" in book.text
    # a manager of another team, and the rep looking at another rep's account: not found
    theirs = _accounts(web_ws, web_ws.other_rep_id).iloc[0]["account_id"]
    assert as_(web_ws.other_manager).get(f"/accounts/{top['account_id']}").status_code == 404
    assert as_(web_ws.rep).get(f"/accounts/{theirs}").status_code == 404
    assert as_(web_ws.rep).get(f"/reps/{web_ws.other_rep_id}/accounts").status_code == 404
    assert as_(web_ws.rep).get("/accounts/no-such-account").status_code == 404


def test_the_meter_links_to_the_accounts(as_, web_ws: WebOrg):
    page = as_(web_ws.rep).get(f"/reps/{web_ws.rep_id}").text
    assert f"/reps/{web_ws.rep_id}/accounts" in page and "My accounts" in page


def test_a_manager_sees_the_team_accounts(as_, web_ws: WebOrg):
    with Workspace.open(web_ws.root) as ws:
        alloc = ws.run_results("effort_allocation")
        plan = ws.run_results("account_plan")
        reps = ws.read("reps")
    team = alloc[(alloc["level"] == "team") & (alloc["unit_id"] == web_ws.team_id)].iloc[0]
    page = as_(web_ws.manager).get(f"/teams/{web_ws.team_id}").text
    assert 'id="team-books"' in page and f"/teams/{web_ws.team_id}/accounts" in page
    assert f"{int(team['under_served']):,} valuable, well-fitting accounts" in page
    # the list: every flagged account of the team's reps, and no other account
    members = set(reps.loc[reps["team_id"] == web_ws.team_id, "rep_id"])
    flagged = plan[(plan["flag"] != "") & plan["owner_rep_id"].isin(members)]
    listed = as_(web_ws.manager).get(f"/teams/{web_ws.team_id}/accounts")
    assert listed.status_code == 200
    shown = set(re.findall(r'href="/accounts/([^"]+)"', listed.text))
    assert shown == set(flagged["account_id"]) and len(shown) == int(
        team["under_served"] + team["over_served"]
    )
    # not for the rep, nor the manager of the team beside it
    rep_view = as_(web_ws.rep).get(f"/teams/{web_ws.team_id}")
    assert rep_view.status_code == 200 and 'id="team-books"' not in rep_view.text
    for who in (web_ws.rep, web_ws.other_manager):
        assert as_(who).get(f"/teams/{web_ws.team_id}/accounts").status_code == 404


def test_a_parent_teams_manager_sees_the_accounts_of_the_teams_below(as_, web_ws: WebOrg):
    with Workspace.open(web_ws.root) as ws:
        plan = ws.run_results("account_plan")
        reps = ws.read("reps")
        teams = ws.read("teams")
    under = set(teams.loc[teams["parent_team_id"] == web_ws.parent_id, "team_id"])
    assert {web_ws.team_id, web_ws.other_team_id} <= under
    members = set(reps.loc[reps["team_id"].isin(under | {web_ws.parent_id}), "rep_id"])
    mine = plan[plan["owner_rep_id"].isin(members)]
    c = as_(web_ws.region_manager)
    page = c.get(f"/teams/{web_ws.parent_id}").text
    n_under = int((mine["flag"] == "under").sum())
    assert f"Over {len(mine):,} accounts, {n_under:,} valuable" in page
    listed = c.get(f"/teams/{web_ws.parent_id}/accounts").text
    shown = set(re.findall(r'href="/accounts/([^"]+)"', listed))
    assert shown == set(mine.loc[mine["flag"] != "", "account_id"])
