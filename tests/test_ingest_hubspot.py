"""The HubSpot preset on committed exports in English and Spanish (tests/fixtures/hubspot*)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from brightspots.ingest import IngestError, import_path
from brightspots.ingest.presets import detect
from brightspots.workspace import init_workspace

FIXTURES = Path(__file__).parent / "fixtures"
ENGLISH, SPANISH = FIXTURES / "hubspot", FIXTURES / "hubspot_es"


def test_an_english_export(tmp_path):
    assert detect(ENGLISH)[0] == "hubspot"
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, ENGLISH)
        assert result.format == "hubspot"
        counts = {f.file: (f.read, f.inserted, f.skipped, f.quarantined) for f in result.files}
        assert counts["owners (from the export)"] == (2, 2, 0, 0)
        assert counts["hubspot-crm-exports-all-contacts-2024-05-31.csv (contacts)"] == (3, 2, 1, 0)
        assert counts["hubspot-crm-exports-emails-2024-05-31.csv (activities)"] == (3, 1, 2, 0)
        assert counts["hubspot-crm-exports-emails-2024-05-31.csv (buyer_events)"] == (3, 1, 2, 0)
        assert sorted(ws.read("reps")["rep_id"]) == ["Ana Ruiz", "Ben Okafor"]  # owners by name
        opps = ws.read("opportunities").set_index("opportunity_id")
        assert opps["stage"].to_dict() == {
            "10000012345": "won",
            "10000012346": "lost",
            "10000012347": "open",
        }
        assert pd.isna(opps.loc["10000012347", "closed_at"])
        acts = ws.read("activities").set_index("activity_id")
        assert acts.loc["70001", "duration_minutes"] == pytest.approx(412 / 60)  # milliseconds
        assert acts.loc["80001", "duration_minutes"] == pytest.approx(60)
        # a call related to a contact only: the contact's company
        assert acts.loc["70002", "account_id"] == "9018787370"
        assert "80002" not in acts.index  # canceled
        events = ws.read("buyer_events").set_index("event_id")
        assert events["type"].to_dict() == {
            "held-80001": "meeting_held",
            "90002": "reply",
            # form submissions: Jo's first and recent; Eva's recent is her first; Max has none
            "form-first-501": "inbound_request",
            "form-recent-501": "inbound_request",
            "form-first-502": "inbound_request",
        }
        assert events.loc["form-recent-501", "contact_id"] == "501"
        assert str(events.loc["form-recent-501", "occurred_at"]) == "2024-01-05 11:00:00"
        said = " ".join(result.warnings)
        assert "completed meetings as meetings held and incoming e-mails as replies" in said
        assert "form submissions (contacts' conversion dates) as inbound requests" in said


def test_a_spanish_export_needs_its_stages_mapped(tmp_path):
    with init_workspace(tmp_path / "ws") as ws:
        with pytest.raises(IngestError) as err:
            import_path(ws, SPANISH, preset="hubspot")
        text = str(err.value)
        assert "no Is Closed Won column" in text and "3 stage(s) are not mapped" in text
        assert '[stages."Pipeline de ventas"]\n"Cierre ganado" = "won | lost | open"' in text
        assert ws.row_count("reps") == 0
        result = import_path(ws, SPANISH, preset="hubspot", mapping=SPANISH / "stages.toml")
        assert result.format == "hubspot"
        opps = ws.read("opportunities").set_index("opportunity_id")
        assert opps["stage"].to_dict() == {
            "10000012345": "won",
            "10000012346": "lost",
            "10000012347": "open",
        }
        assert opps.loc["10000012345", "amount"] == 48000  # "Valor"
        accounts = ws.read("accounts").set_index("account_id")
        assert accounts.loc["9018787369", "owner_rep_id"] == "Ana Ruiz"
        assert accounts.loc["9018787370", "region"] == "Suecia"
        assert "ignored stages.toml: not read by the hubspot preset" in result.warnings


def test_a_stage_map_with_a_bad_value(tmp_path):
    bad = tmp_path / "stages.toml"
    bad.write_text('[stages."Pipeline de ventas"]\n"Cierre ganado" = "gewonnen"\n', "utf-8")
    with init_workspace(tmp_path / "ws") as ws, pytest.raises(IngestError, match="not won, lost"):
        import_path(ws, SPANISH, preset="hubspot", mapping=bad)


def test_renamed_files_are_recognised_by_their_columns(tmp_path):
    import shutil

    folder = tmp_path / "export"
    folder.mkdir()
    for p in ENGLISH.iterdir():
        shutil.copy(p, folder / p.name.replace("hubspot-crm-exports-", "").replace("all-", ""))
    name, why = detect(folder)
    assert name == "hubspot" and "HubSpot columns" in why
