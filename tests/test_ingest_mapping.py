"""Mapping files: any export's files and columns into the canonical tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brightspots.ingest import IngestError, import_path
from brightspots.ingest.mapping import MappingError, load_mapping
from brightspots.workspace import init_workspace

REPS = """Full name;E-mail;Team
Ana Silva;ana@example.com;North
Ben Okafor;ben@example.com;North
Chris Lee;chris1@example.com;South
Chris Lee;chris2@example.com;South
"""

COMPANIES = """Company;Country;Owner;Potential
Acme GmbH;DE;Ana Silva;1.200.000,50
Borealis AB;SE;ben@example.com;"80.000"
"""

DEALS = """Deal;Company;Country;Owner;Stage;Created;Closed;Amount;Pipeline
Acme renewal;Acme GmbH;DE;Ana Silva;Closed Won;03/04/2024 14:05;20/05/2024 09:00;EUR 12.500,00;Sales
Acme upsell;Acme GmbH;DE;Ana Silva;Verhandlung;15/05/2024 08:00;;3.000;Sales
Borealis pilot;Borealis AB;SE;Ben Okafor;Closed Lost;01/02/2024;13/02/2024;900;Sales
Test deal;Acme GmbH;DE;Ana Silva;Closed Won;01/01/2024;02/01/2024;1;Test
Twin deal;Acme GmbH;DE;Chris Lee;Closed Lost;01/03/2024;05/03/2024;10;Sales
"""

MAPPING = """
[source]
date_order = "day_first"
timezone = "Europe/Berlin"
decimal = ","

[tables.reps]
file = "Users.csv"
[tables.reps.columns]
rep_id = { column = "E-mail" }
name = "Full name"
email = "e-mail"
team_id = { sql = "lower(\\"Team\\")" }

[tables.accounts]
file = "Companies.csv"
[tables.accounts.columns]
account_id = { key = ["Company", "Country"] }
name = "Company"
owner_rep_id = { column = "Owner", rep = "name" }
annual_potential = "Potential"
region = "Country"

[tables.opportunities]
file = "Deals.csv"
skip = "\\"Pipeline\\" = 'Test'"
[tables.opportunities.columns]
opportunity_id = { key = ["Deal", "Company"] }
account_id = { key = ["Company", "Country"] }
owner_rep_id = { column = "Owner", rep = "name" }
created_at = "Created"
closed_at = "Closed"
amount = "Amount"
source = { value = "outbound" }

[tables.opportunities.columns.stage]
column = "Stage"
values = { "Closed Won" = "won", "closed lost" = "lost" }
default = "open"
"""


def _write(folder: Path, mapping: str = MAPPING, deals: str = DEALS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Users.csv").write_text(REPS, encoding="utf-8")
    (folder / "Companies.csv").write_text(COMPANIES, encoding="utf-8")
    (folder / "Deals.csv").write_text(deals, encoding="utf-8")
    path = folder / "mapping.toml"
    path.write_text(mapping, encoding="utf-8")
    return path


def test_a_mapped_export_lands_in_the_contract(tmp_path):
    mapping = _write(tmp_path / "export")
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, tmp_path / "export", mapping=mapping)
        reps = ws.read("reps").set_index("rep_id")
        assert reps.loc["ana@example.com", "name"] == "Ana Silva"
        assert reps.loc["ana@example.com", "team_id"] == "north"  # an SQL expression
        accounts = ws.read("accounts").set_index("name")
        acme = accounts.loc["Acme GmbH"]
        assert acme["owner_rep_id"] == "ana@example.com"  # by name
        assert accounts.loc["Borealis AB", "owner_rep_id"] == "ben@example.com"  # already an id
        assert acme["annual_potential"] == pytest.approx(1_200_000.50)  # decimal comma
        assert acme["account_id"].startswith("K") and len(acme["account_id"]) == 21
        opps = ws.read("opportunities").set_index("opportunity_id")
        assert len(opps) == 3  # the Test pipeline row is skipped, the twin-name row quarantined
        won = opps[opps["stage"] == "won"].iloc[0]
        # 03/04/2024 14:05 in Berlin (summer time from 31 March) is 12:05 UTC on 3 April
        assert str(won["created_at"]) == "2024-04-03 12:05:00"
        assert won["amount"] == pytest.approx(12_500.0)
        assert won["source"] == "outbound"
        assert won["account_id"] == acme["account_id"]
        assert sorted(opps["stage"]) == ["lost", "open", "won"]
        counts = {f.file: f for f in result.files}
        deals = counts["Deals.csv"]
        assert (deals.read, deals.inserted, deals.skipped, deals.quarantined) == (5, 3, 1, 1)
        assert any("'Chris Lee', a name 2 reps share" in w for w in result.warnings)
        assert (
            "Deals.csv: opportunity_id made from each row's Deal, Company (the export has no id)"
            in " ".join(result.warnings)
        )
        q = ws.read("quarantine")
        row = q[q["table_name"] == "opportunities"].iloc[0]
        assert row["reason"] == "missing_reference"
        assert row["line"] == 6 and row["file"] == "Deals.csv"
        assert row["column"] == "owner_rep_id (file column 'Owner')"
        assert json.loads(row["raw"])["Deal"] == "Twin deal"  # the row as the file had it
        extras = ws.read("extra_columns")
        kept = extras[extras["table_name"] == "opportunities"]["data"].map(json.loads)
        assert all(set(d) == {"Deal", "Company", "Country", "Pipeline"} for d in kept)


def test_reimporting_the_same_export_changes_nothing(tmp_path):
    mapping = _write(tmp_path / "export")
    with init_workspace(tmp_path / "ws") as ws:
        import_path(ws, tmp_path / "export", mapping=mapping)
        again = import_path(ws, tmp_path / "export", mapping=mapping)
        assert all(f.inserted == 0 and f.updated == 0 for f in again.files)


def test_ambiguous_dates_are_never_guessed(tmp_path):
    mapping = _write(tmp_path / "export", MAPPING.replace('date_order = "day_first"\n', ""))
    with init_workspace(tmp_path / "ws") as ws, pytest.raises(MappingError) as err:
        import_path(ws, tmp_path / "export", mapping=mapping)
        assert ws.row_count("reps") == 0
    text = str(err.value)
    assert text.startswith("mapping.toml, tables.opportunities.columns.created_at: Deals.csv, ")
    assert "line 2: a date written '03/04/2024 14:05' could be day-first or month-first" in text


def test_month_first_and_an_explicit_format(tmp_path):
    us = DEALS.replace("03/04/2024 14:05", "04/03/2024 14:05").replace("20/05/2024", "05/20/2024")
    us = us.replace("15/05/2024", "05/15/2024").replace("13/02/2024", "02/13/2024")
    text = MAPPING.replace('"day_first"', '"month_first"').replace(
        'closed_at = "Closed"', 'closed_at = { column = "Closed", format = "%m/%d/%Y %H:%M" }'
    )
    mapping = _write(tmp_path / "export", text, us)
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, tmp_path / "export", mapping=mapping)
        opps = ws.read("opportunities")
        won = opps[opps["stage"] == "won"].iloc[0]
        assert str(won["created_at"]) == "2024-04-03 12:05:00"
        assert str(won["closed_at"]) == "2024-05-20 07:00:00"
        # values the format does not fit (no time) are quarantined naming their text
        q = ws.read("quarantine").sort_values("line")
        bad = q[q["column"] == "closed_at (file column 'Closed')"]
        assert bad["line"].tolist() == [4, 6]
        assert "'02/13/2024'" in bad.iloc[0]["detail"]
        assert {f.file: f.quarantined for f in result.files}["Deals.csv"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                'owner_rep_id = { column = "Owner", rep = "name" }\ncreated_at',
                'owner_rep_id = "Seller"\ncreated_at',
            ),
            "tables.opportunities.columns.owner_rep_id: Deals.csv has no column 'Seller'; its "
            "columns are: Deal, Company",
        ),
        (
            ('amount = "Amount"', 'amount = { sql = "\\"Amount\\" * " }'),
            "tables.opportunities.columns.amount.sql: not a valid SQL expression",
        ),
        (
            ('amount = "Amount"', 'amount = { sql = "(SELECT 1)" }'),
            "tables.opportunities.columns.amount.sql: must be one SQL expression",
        ),
        (
            ('amount = "Amount"', 'amounts = "Amount"'),
            "tables.opportunities.columns.amounts: opportunities has no column 'amounts'",
        ),
        (
            ('amount = "Amount"', 'amount = { column = "Amount", value = "1" }'),
            "tables.opportunities.columns.amount: give exactly one of column, value, sql or key "
            "(found column, value)",
        ),
        (
            ('file = "Deals.csv"', 'file = "Deal.csv"'),
            "tables.opportunities.file: no file 'Deal.csv' in",
        ),
        (
            ('date_order = "day_first"', 'date_order = "dmy"'),
            "source.date_order: 'dmy' is not one of 'day_first', 'month_first'",
        ),
        (('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlinn"'), "source.timezone: "),
        (
            ("[tables.opportunities]", "[tables.deals]"),
            "tables.deals: not a table of the data contract",
        ),
        (
            ('amount = "Amount"', 'amount = { sql = "no_such(\\"Amount\\")" }'),
            "tables.opportunities: Deals.csv: the mapping fails (Catalog Error",
        ),
        (
            ('amount = "Amount"', 'amount = { sql = "\\"Amount\\" || \\"Price\\"" }'),
            "the expression reads 'Price', which Deals.csv does not have",
        ),
    ],
)
def test_a_bad_mapping_names_the_key_and_what_is_wrong(tmp_path, change, message):
    old, new = change
    assert old in MAPPING
    mapping = _write(tmp_path / "export", MAPPING.replace(old, new, 1))
    with init_workspace(tmp_path / "ws") as ws:
        with pytest.raises(IngestError) as err:
            import_path(ws, tmp_path / "export", mapping=mapping)
        assert ws.row_count("reps") == 0  # nothing half-written
    assert str(err.value).startswith("mapping.toml, "), str(err.value)
    assert message in str(err.value), str(err.value)


def test_a_mapping_file_that_is_not_toml(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[source\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"^m\.toml: not valid TOML"):
        load_mapping(path)
    with pytest.raises(MappingError, match="no such mapping file"):
        load_mapping(tmp_path / "missing.toml")


def test_the_readme_mapping_example_is_a_valid_mapping(tmp_path):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("A mapping file, in full:\n\n```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "mapping.toml"
    path.write_text(block, encoding="utf-8")
    m = load_mapping(path)
    (deals,) = m.tables
    assert (m.date_order, m.timezone, m.decimal, m.encoding) == (
        "day_first",
        "Europe/Berlin",
        ",",
        "cp1252",
    )
    assert deals.columns["stage"].values == {"closed won": "won", "closed lost": "lost"}
    assert deals.columns["owner_rep_id"].rep == "name"
    assert (m.currency, m.rates, deals.currency) == ("EUR", {"EUR": 1.08, "GBP": 1.27}, "Currency")


CURRENCY_DEALS = """Deal;Company;Country;Owner;Stage;Created;Closed;Amount;Currency;Pipeline
Acme renewal;Acme GmbH;DE;Ana Silva;Closed Won;03/04/2024 14:05;20/05/2024 09:00;12.500,00;EUR;Sales
Acme upsell;Acme GmbH;DE;Ana Silva;Offen;15/05/2024 08:00;;3.000;GBP;Sales
Borealis pilot;Borealis AB;SE;Ben Okafor;Closed Lost;01/02/2024;13/02/2024;900;USD;Sales
Tokyo pilot;Acme GmbH;DE;Ana Silva;Offen;01/03/2024;;150.000;JPY;Sales
Euro sign;Borealis AB;SE;Ben Okafor;Offen;02/03/2024;;1.000,00 €;;Sales
"""


def test_amounts_in_several_currencies_are_converted_with_their_rate_kept(tmp_path):
    text = MAPPING.replace(
        'decimal = ","', 'decimal = ","\ncurrency = "EUR"\n\n[rates]\nEUR = 1.08\nGBP = 1.27'
    ).replace(
        'skip = "\\"Pipeline\\" = \'Test\'"',
        'skip = "\\"Pipeline\\" = \'Test\'"\ncurrency = "Currency"',
    )
    assert 'currency = "Currency"' in text
    mapping = _write(tmp_path / "export", text, CURRENCY_DEALS)
    with init_workspace(tmp_path / "ws") as ws:  # the workspace currency is USD
        result = import_path(ws, tmp_path / "export", mapping=mapping)
        opps = ws.read("opportunities").set_index("opportunity_id")
        extras = ws.read("extra_columns")
        kept = {
            k: json.loads(d)
            for k, d in zip(extras["key"], extras["data"], strict=True)
            if k in opps.index
        }
        by_name = {kept[k]["Deal"]: (opps.loc[k, "amount"], kept[k]) for k in opps.index}
        assert by_name["Acme renewal"][0] == pytest.approx(12_500 * 1.08)
        assert by_name["Acme renewal"][1]["currency"] == "EUR"
        assert by_name["Acme renewal"][1]["conversion_rate"] == "1.08"
        assert by_name["Acme upsell"][0] == pytest.approx(3_000 * 1.27)
        assert by_name["Borealis pilot"][0] == pytest.approx(900)  # already in USD
        assert by_name["Euro sign"][0] == pytest.approx(1_000 * 1.08)  # from the [source] currency
        q = ws.read("quarantine")
        tokyo = q[q["table_name"] == "opportunities"].iloc[0]
        assert tokyo["column"] == "amount"
        assert "150.000 (no rate for JPY)" in tokyo["detail"]
        assert {f.file: f.quarantined for f in result.files}["Deals.csv"] == 1
        # the rates are recorded with the import
        assert (
            "amounts converted to USD with the mapping's rates (per one unit): EUR 1.08, GBP 1.27"
            in result.warnings
        )
        logged = ws.read("imports")["warnings"].iloc[-1]
        assert "EUR 1.08, GBP 1.27" in logged


def test_bad_rates_are_refused(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(MAPPING + "\n[rates]\nEURO = 1.1\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"rates\.EURO: is not a three-letter currency code"):
        load_mapping(path)
    path.write_text(MAPPING + "\n[rates]\nEUR = 0\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"rates\.EUR: 0 is not a rate above 0"):
        load_mapping(path)


def test_a_folder_of_parquet_parts_is_one_table(tmp_path):
    import pandas as pd

    folder = tmp_path / "lake"
    (folder / "deals").mkdir(parents=True)
    (folder / "reps.csv").write_text("rep_id,name\nR1,Ann\nR2,Bob\n", encoding="utf-8")
    (folder / "accounts.csv").write_text("account_id,name\nA1,Acme\n", encoding="utf-8")
    rows = [
        ("D1", "A1", "R1", "2024-01-02 10:00:00", "Won", "2024-02-01 10:00:00", 100.0),
        ("D2", "A1", "R2", "2024-01-03 10:00:00", "Lost", "2024-02-02 10:00:00", 50.0),
        ("D3", "A1", "R9", "2024-01-04 10:00:00", "Open", None, 70.0),
    ]
    cols = ["DealId", "AccountId", "OwnerId", "Created", "Status", "Closed", "Value"]
    pd.DataFrame(rows[:2], columns=cols).to_parquet(folder / "deals" / "part-0.parquet")
    pd.DataFrame(rows[2:], columns=cols).to_parquet(folder / "deals" / "part-1.parquet")
    mapping = folder / "mapping.toml"
    mapping.write_text(
        """
[tables.reps]
file = "reps.csv"
[tables.accounts]
file = "accounts.csv"
[tables.opportunities]
file = "deals/"
[tables.opportunities.columns]
opportunity_id = "DealId"
account_id = "AccountId"
owner_rep_id = "OwnerId"
created_at = "Created"
closed_at = "Closed"
amount = "Value"
[tables.opportunities.columns.stage]
column = "Status"
values = { won = "won", lost = "lost" }
default = "open"
""",
        encoding="utf-8",
    )
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, folder, mapping=mapping)
        deals = {f.file: f for f in result.files}["deals/*.parquet"]
        assert (deals.read, deals.inserted, deals.quarantined) == (3, 2, 1)
        q = ws.read("quarantine")
        bad = q[q["table_name"] == "opportunities"].iloc[0]
        assert bad["line"] == 4 and bad["reason"] == "missing_reference"  # row 3 of the parts
        assert sorted(ws.read("opportunities")["stage"]) == ["lost", "won"]


@pytest.mark.parametrize(
    ("decimal", "written", "stored"),
    [
        (".", "1,200.50", 1200.5),
        (".", "(1,200.00)", -1200.0),
        (".", "USD 1,200", 1200.0),
        (".", "$ 99.90", 99.9),
        (".", "1 200.50", 1200.5),
        (",", "1.200,50", 1200.5),
        (",", "1 200,50 EUR", 1200.5),
        (",", "12,5", 12.5),
        (",", "3.000", 3000.0),
        (".", "1,5", None),  # a comma that does not group by three: never guessed
        (".", "1.234,56", None),
        (".", "1.5M", None),
        (".", "12-15", None),
        (",", "1.200.000,5.5", None),
    ],
)
def test_amounts_are_read_only_when_unambiguous(tmp_path, decimal, written, stored):
    deals = DEALS.replace("EUR 12.500,00", written.replace(";", ""))
    text = MAPPING.replace('decimal = ","', f'decimal = "{decimal}"')
    mapping = _write(tmp_path / "export", text, deals)
    companies = COMPANIES.replace("1.200.000,50", "1200000").replace('"80.000"', "80000")
    (tmp_path / "export" / "Companies.csv").write_text(companies, encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        import_path(ws, tmp_path / "export", mapping=mapping)
        opps = ws.read("opportunities")
        won = opps[opps["stage"] == "won"]
        if stored is None:
            assert won.empty
            q = ws.read("quarantine")
            assert f"amount '{written}' is not a number" in " ".join(q["detail"])
        else:
            assert won.iloc[0]["amount"] == pytest.approx(stored)


def test_two_digit_years(tmp_path):
    deals = DEALS.replace("03/04/2024 14:05", "03/04/24 14:05")
    mapping = _write(tmp_path / "export", MAPPING, deals)
    with init_workspace(tmp_path / "ws") as ws:
        import_path(ws, tmp_path / "export", mapping=mapping)
        won = ws.read("opportunities").query("stage == 'won'").iloc[0]
        assert str(won["created_at"]) == "2024-04-03 12:05:00"
