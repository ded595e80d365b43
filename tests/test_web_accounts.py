"""The key-account pages of the web app: a rep's book and one account's page, seen by the owner
and their managers, not found for anyone else."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from brightspots.web.app import create_app
from brightspots.workspace import Workspace
from conftest import WebOrg
from test_web_app import sign_in


@pytest.fixture(scope="module")
def app(web_ws: WebOrg):
    return create_app(web_ws.root)


@pytest.fixture
def as_(app):
    clients = []

    def make(email: str) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        assert sign_in(c, email).status_code == 303
        return c

    yield make
    for c in clients:
        c.close()


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


def test_a_manager_sees_the_books_of_the_team(as_, web_ws: WebOrg):
    with Workspace.open(web_ws.root) as ws:
        alloc = ws.run_results("effort_allocation")
    mine = alloc[(alloc["level"] == "rep") & (alloc["unit_id"] == web_ws.rep_id)].iloc[0]
    page = as_(web_ws.manager).get(f"/teams/{web_ws.team_id}").text
    assert 'id="team-books"' in page and f"/reps/{web_ws.rep_id}/accounts" in page
    row = page[page.index(f"/reps/{web_ws.rep_id}/accounts") :].split("</tr>")[0]
    assert f">{int(mine['n_accounts']):,}<" in row and f">{int(mine['under_served']):,}<" in row
    # the rep of the team sees the team page without the other reps' books
    rep_view = as_(web_ws.rep).get(f"/teams/{web_ws.team_id}")
    assert rep_view.status_code == 200 and 'id="team-books"' not in rep_view.text
