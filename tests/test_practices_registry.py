"""The practice registry: built-ins as entries like a user's own, words that read as sentences,
and the workspace config validated before any analysis."""

from __future__ import annotations

import pytest
import tomli_w

from brightspots.practices.builtin import BUILTINS
from brightspots.practices.registry import (
    Practice,
    PracticeConfigError,
    check_unique,
    landmark_days,
    registry,
)
from brightspots.workspace import Workspace, init_workspace

REQUIRED_IDS = [
    "multithreading",
    "contacts_touched",
    "executive_engaged",
    "response_within_4h",
    "response_within_24h",
    "meeting_before_proposal",
    "first_touch_within_1d",
    "cadence",
    "cadence_regularity",
    "call_share",
    "meeting_share",
    "email_share",
    "emails_per_opportunity",
    "demos_per_opportunity",
    "touches_per_opportunity",
    "impact_share",
]


def test_the_builtins_are_the_issues_list_in_order():
    assert [p.id for p in BUILTINS] == REQUIRED_IDS


@pytest.mark.parametrize("p", BUILTINS, ids=[p.id for p in BUILTINS])
def test_each_builtin_is_a_complete_registry_entry(p: Practice):
    assert p.source == "builtin" and callable(p.build)
    assert p.description.endswith(".") and p.description[0].isupper()
    if p.level == "rep_period":
        assert p.primary == "prior_period"
    else:
        assert p.primary in ("landmark", "stage")
    if p.primary == "stage":
        assert p.stage.startswith("deals that ")
    # the plain sentences: "Deals where <phrase> were won ..." or "Deals with more <phrase> ..."
    assert p.phrase == p.phrase.strip() and not p.phrase[0].isupper()
    assert not p.phrase.endswith(".")
    assert not p.phrase.lower().startswith(("deals", "more ", "where "))
    if p.kind == "binary":
        assert " " in p.phrase and p.unit == ""
    else:
        assert p.unit, "a measured practice names its unit"
    if p.kind in ("share",) or p.id.startswith("response_within"):
        assert p.absent == "undefined"
    else:
        assert p.absent == "zero"


def test_the_sentences_read_as_the_issue_writes_them():
    words = {p.id: p for p in BUILTINS}
    assert (
        f"Deals where {words['multithreading'].phrase} were won 14 points more often"
        == "Deals where 3+ people at the buyer were contacted were won 14 points more often"
    )
    assert f"Deals with more {words['cadence'].phrase}" == "Deals with more touches per open week"
    assert words["meeting_before_proposal"].stage == "deals that reached a proposal"


def test_duplicate_ids_are_refused_naming_both():
    builtin = BUILTINS[0]
    twin = Practice(
        id=builtin.id,
        description="My own threading.",
        level="opportunity",
        higher_is_better=True,
        kind="count",
        primary="landmark",
        phrase="threads",
        source="custom",
    )
    with pytest.raises(PracticeConfigError) as err:
        check_unique([*BUILTINS, twin])
    text = str(err.value)
    assert "practice id 'multithreading' is used twice" in text
    assert "a built-in practice ('Three or more distinct people" in text
    assert "[[practices.custom]] in the config ('My own threading.')" in text


def test_the_default_config_gives_the_builtins(tmp_path):
    with init_workspace(tmp_path / "ws") as ws:
        assert [p.id for p in registry(ws.config)] == REQUIRED_IDS


CONFIG = """
[practices]
landmark_days = 21

[[practices.custom]]
id = "exec_calls"
description = "Calls with an executive at the buyer."
level = "opportunity"
higher_is_better = true
kind = "count"
unit = "calls"
sql = '''
  SELECT a.opportunity_id, count(*) AS value
  FROM activities a JOIN contacts c USING (contact_id)
  WHERE a.type = 'call' AND c.seniority = 'executive'
  GROUP BY 1
'''
"""


def test_custom_practices_come_from_brightspots_toml_after_the_builtins(tmp_path):
    with init_workspace(tmp_path / "ws") as ws:
        cfg = ws.config
    del cfg["practices"]
    (tmp_path / "ws" / "brightspots.toml").write_text(tomli_w.dumps(cfg) + CONFIG)
    with Workspace.open(tmp_path / "ws") as ws:
        assert landmark_days(ws.config) == 21
        practices = registry(ws.config)
    assert [p.id for p in practices] == [*REQUIRED_IDS, "exec_calls"]
    mine = practices[-1]
    assert (mine.source, mine.kind, mine.unit, mine.primary) == (
        "custom",
        "count",
        "calls",
        "landmark",
    )
    assert "c.seniority = 'executive'" in mine.sql


@pytest.mark.parametrize("bad", [0, -3, 2.5, "14", True])
def test_landmark_days_must_be_a_whole_number_of_days(bad):
    with pytest.raises(PracticeConfigError, match=r"\[practices\] landmark_days = .* whole"):
        landmark_days({"practices": {"landmark_days": bad}})
    with pytest.raises(PracticeConfigError):
        registry({"practices": {"landmark_days": bad, "custom": []}})


def test_a_bad_custom_practice_stops_the_registry_before_any_analysis():
    config = {
        "practices": {
            "landmark_days": 14,
            "custom": [
                {
                    "id": "champion_calls",
                    "description": "Calls with the champion.",
                    "level": "opportunity",
                    "higher_is_better": True,
                    "sql": "SELECT opportunity_id, count(*) AS value FROM deals GROUP BY 1",
                }
            ],
        }
    }
    with pytest.raises(PracticeConfigError) as err:
        registry(config)
    assert str(err.value) == (
        "practice 'champion_calls' in brightspots.toml: its sql reads table 'deals', which is "
        "not one of the practice views (opportunities, activities, buyer_events, contacts, "
        "accounts, reps)"
    )
