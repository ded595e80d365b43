"""``brightspots map``: a proposed mapping that imports, with its guesses marked."""

from __future__ import annotations

import pytest

from brightspots.ingest import import_path
from brightspots.ingest.errors import IngestError
from brightspots.ingest.mapping import MappingError, load_mapping
from brightspots.ingest.propose import propose
from brightspots.workspace import init_workspace

OWNERS = "Name,Email\nAna Silva,ana@example.com\nBen Okafor,ben@example.com\n"
COMPANIES = (
    "Record ID,Company name,Company owner,Industry,Number of Employees,Country/Region\n"
    "101,Acme GmbH,Ana Silva,Software,250,Germany\n"
    "102,Borealis AB,Ben Okafor,Retail,40,Sweden\n"
)
DEALS = (
    "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Deal owner,"
    "Associated Company IDs (Primary),Pipeline\n"
    "9001,Acme renewal,Closed Won,12500,2024-05-20 09:00,2024-04-03 14:05,Ana Silva,101,Sales\n"
    "9002,Acme upsell,Contract sent,3000,,2024-05-15 08:00,Ana Silva,101,Sales\n"
    "9003,Borealis pilot,Closed Lost,900,2024-02-13 00:00,2024-02-01 00:00,Ben Okafor,102,Sales\n"
)


def _export(folder, deals=DEALS):
    folder.mkdir()
    (folder / "owners.csv").write_text(OWNERS, encoding="utf-8")
    (folder / "hubspot-crm-exports-all-companies-2024-05-31.csv").write_text(COMPANIES)
    (folder / "hubspot-crm-exports-all-deals-2024-05-31.csv").write_text(deals)
    return folder


def test_a_proposed_mapping_imports_an_unknown_export(tmp_path):
    folder = _export(tmp_path / "export")
    text, summary = propose(folder)
    assert summary == [
        "hubspot-crm-exports-all-companies-2024-05-31.csv -> accounts (6 of 9 columns matched)",
        "hubspot-crm-exports-all-deals-2024-05-31.csv -> opportunities (7 of 10 columns matched)",
        "owners.csv -> reps (2 of 8 columns matched)",
    ]
    # the guesses are marked for review
    assert (
        'stage = { column = "Deal Stage", values = { "Closed Lost" = "lost", "Closed Won" = '
        '"won" }, default = "open" }  # guess: review' in text
    )
    assert 'owner_rep_id = { column = "Deal owner", rep = "name" }  # guess: review' in text
    assert 'rep_id = "Email"  # guess: review: no id column, the e-mail serves' in text
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    mapping = load_mapping(path)
    assert [t.table for t in mapping.tables] == ["reps", "accounts", "opportunities"]
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, folder, mapping=mapping)
        assert sum(f.quarantined for f in result.files) == 0
        opps = ws.read("opportunities").set_index("opportunity_id")
        assert opps.loc["9001", "stage"] == "won" and opps.loc["9002", "stage"] == "open"
        assert opps.loc["9001", "account_id"] == "101"
        assert opps.loc["9001", "owner_rep_id"] == "ana@example.com"  # by name


def test_dates_the_data_cannot_order_are_left_to_the_user(tmp_path):
    deals = DEALS.replace("2024-05-20 09:00", "05/04/2024").replace(
        "2024-04-03 14:05", "03/04/2024"
    )
    deals = deals.replace("2024-05-15 08:00", "05/03/2024")
    deals = deals.replace("2024-02-13 00:00", "02/12/2024").replace(
        "2024-02-01 00:00", "02/01/2024"
    )
    folder = _export(tmp_path / "export", deals)
    text, _ = propose(folder)
    assert '# date_order = "day_first"  # STATE THIS' in text
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws, pytest.raises(MappingError, match="day-first or"):
        import_path(ws, folder, mapping=path)
    # one date past the 12th tells the order: proposed, and marked
    text, _ = propose(_export(tmp_path / "other", deals.replace("02/12/2024", "13/02/2024")))
    assert 'date_order = "day_first"  # guess: review' in text


def test_map_needs_a_folder_of_files(tmp_path):
    with pytest.raises(IngestError, match="no .csv, .parquet or .xlsx files"):
        propose(tmp_path)
