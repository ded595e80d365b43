"""Import of the canonical format (brightspots.ingest), rule by rule, on small hand-written files.

Each test writes its own files; expected lines, columns and values are worked out by hand from the
text in the test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brightspots.ingest import FileCounts, ImportResult, IngestError, import_path
from brightspots.ingest.lines import blank_offsets, scan_lines
from brightspots.workspace import Workspace, init_workspace

REPS = """\
rep_id,name,team_id,manager_rep_id,region,role,hire_date,email
R1,Ann,,,EMEA,AE,2020-01-02,ann@example.com
R2,Bob,,R1,EMEA,AE,2021-03-04,
"""
ACCOUNTS = """\
account_id,name,owner_rep_id,segment,employees,annual_potential,created_at
A1,Acme,R1,smb,10,1000.5,2023-01-01
A2,Beta,R2,mid,250,20000,2023-01-05T10:00:00+02:00
"""
OPPORTUNITIES = """\
opportunity_id,account_id,owner_rep_id,created_at,closed_at,stage,amount,initial_amount,source,product
O1,A1,R1,2023-02-01,2023-03-01,won,100,90,inbound,core
O2,A2,R2,2023-02-01T09:00:00Z,,open,50,,partner,
"""
OPP_HEADER = "opportunity_id,account_id,owner_rep_id,created_at,closed_at,stage,amount"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(textwrap.dedent(text).encode("utf-8"))
    return path


def base_folder(folder: Path, **override: str) -> Path:
    """reps, accounts and opportunities as above; ``override`` replaces or adds files."""
    files = {"reps.csv": REPS, "accounts.csv": ACCOUNTS, "opportunities.csv": OPPORTUNITIES}
    files.update({k.replace("__", "."): v for k, v in override.items()})
    for name, text in files.items():
        write(folder, name, text)
    return folder


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "ws")
    yield w
    w.close()


def quarantined(ws: Workspace) -> list[tuple[str, int, str, str]]:
    return (
        ws.duckdb()
        .execute('SELECT file, line, "column", reason FROM quarantine ORDER BY file, line')
        .fetchall()
    )


def detail(ws: Workspace, file: str, line: int) -> str:
    return (
        ws.duckdb()
        .execute("SELECT detail FROM quarantine WHERE file = ? AND line = ?", [file, line])
        .fetchone()[0]
    )


def rows(ws: Workspace, sql: str) -> list[tuple]:
    return ws.duckdb().execute(sql).fetchall()


def counts(result: ImportResult, file: str) -> tuple[int, ...]:
    """(read, inserted, updated, unchanged, repeats, skipped, quarantined) of one file."""
    (f,) = [f for f in result.files if f.file == file]
    return (f.read, f.inserted, f.updated, f.unchanged, f.repeats, f.skipped, f.quarantined)


def state(ws: Workspace) -> dict[str, tuple[int, int]]:
    """Row count and an order-free digest of every table in the store."""
    con = ws.duckdb()
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    ]
    return {
        n: tuple(
            con.execute(
                f'SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM "{n}" AS t'
            ).fetchone()
        )
        for n in sorted(names)
    }


# --------------------------------------------------------------------------- valid data, types
def test_valid_files_are_stored_typed_with_timestamps_in_utc(ws, tmp_path):
    result = import_path(ws, base_folder(tmp_path / "data"))

    assert counts(result, "reps.csv") == (2, 2, 0, 0, 0, 0, 0)
    assert counts(result, "accounts.csv") == (2, 2, 0, 0, 0, 0, 0)
    assert counts(result, "opportunities.csv") == (2, 2, 0, 0, 0, 0, 0)
    assert result.quarantine_by_reason == {}
    assert rows(ws, "SELECT rep_id, manager_rep_id, hire_date, email FROM reps ORDER BY 1") == [
        ("R1", None, date(2020, 1, 2), "ann@example.com"),
        ("R2", "R1", date(2021, 3, 4), None),
    ]
    # a date alone is midnight UTC; +02:00 is honoured and stored as UTC
    assert rows(ws, "SELECT account_id, employees, annual_potential, created_at FROM accounts") == [
        ("A1", 10, 1000.5, datetime(2023, 1, 1, 0, 0)),
        ("A2", 250, 20000.0, datetime(2023, 1, 5, 8, 0)),
    ]
    assert rows(ws, "SELECT * FROM opportunities ORDER BY 1") == [
        ("O1", "A1", "R1", datetime(2023, 2, 1), datetime(2023, 3, 1), "won", 100.0, 90.0)
        + ("inbound", "core"),
        ("O2", "A2", "R2", datetime(2023, 2, 1, 9), None, "open", 50.0, None, "partner", None),
    ]
    (logged,) = rows(ws, "SELECT import_id, files FROM imports")
    assert logged[0] == result.import_id
    assert '"file": "opportunities.csv"' in logged[1] and '"inserted": 2' in logged[1]


def test_bom_header_case_spaces_and_enum_case(ws, tmp_path):
    folder = base_folder(tmp_path / "data")
    # a UTF-8 BOM, header names in any case with spaces, values with spaces, enums in any case
    (folder / "opportunities.csv").write_bytes(
        "\ufeff Opportunity_ID ,Account_Id,OWNER_REP_ID,Created_At,closed_at,STAGE,Amount,Source\n"
        " O1 , A1 ,R1,2023-02-01,2023-03-01, Won ,100,Webinar\n"
        "O2,A1,R1,2023-02-01,,OPEN,,PARTNER\n".encode()
    )
    result = import_path(ws, folder)

    assert counts(result, "opportunities.csv") == (2, 2, 0, 0, 0, 0, 0)
    # closed enum values are stored lower case; an open enum keeps unknown text as written
    assert rows(ws, "SELECT opportunity_id, account_id, stage, source FROM opportunities") == [
        ("O1", "A1", "won", "Webinar"),
        ("O2", "A1", "open", "partner"),
    ]


def test_semicolon_and_tab_delimited_files(ws, tmp_path):
    folder = base_folder(
        tmp_path / "data",
        reps__csv='rep_id;name;"hire_date"\nR1;"Ann; A.";2020-01-01\nR2;Bob;\n',
        accounts__csv="account_id\tname\tOwner_Rep_ID\nA1\tAcme\tR2\n",
    )
    result = import_path(ws, folder)
    assert counts(result, "reps.csv") == (2, 2, 0, 0, 0, 0, 0)
    assert rows(ws, "SELECT rep_id, name, hire_date FROM reps ORDER BY 1") == [
        ("R1", "Ann; A.", date(2020, 1, 1)),
        ("R2", "Bob", None),
    ]
    assert rows(ws, "SELECT account_id, name, owner_rep_id FROM accounts") == [("A1", "Acme", "R2")]


TIMESTAMPS = [
    ("2023-02-01", datetime(2023, 2, 1)),
    ("2023-02-01T10:30", datetime(2023, 2, 1, 10, 30)),
    ("2023-02-01 10:30:15", datetime(2023, 2, 1, 10, 30, 15)),
    ("2023-02-01T10:30:15Z", datetime(2023, 2, 1, 10, 30, 15)),
    ("2023-02-01T10:30:15.250Z", datetime(2023, 2, 1, 10, 30, 15, 250000)),
    ("2023-02-01T10:30:15+02:00", datetime(2023, 2, 1, 8, 30, 15)),
    ("2023-02-01T10:30:15-0530", datetime(2023, 2, 1, 16, 0, 15)),
    ("2023-02-01T01:00:00+03", datetime(2023, 1, 31, 22, 0)),
]
BAD_TIMESTAMPS = [
    "2023-02-30",
    "01/02/2023",
    "2023-2-1",
    "2023-02-01T25:00",
    "yesterday",
    "2023-02-01 10:00 Europe/Paris",
    "2023-02-01T10:00:00 +02:00",
]


def test_timestamps_iso_8601_with_offsets(ws, tmp_path):
    lines = [OPP_HEADER]
    for i, (text, _) in enumerate(TIMESTAMPS):
        lines.append(f"G{i},A1,R1,{text},,open,1")
    for i, text in enumerate(BAD_TIMESTAMPS):
        lines.append(f"B{i},A1,R1,{text},,open,1")
    folder = base_folder(tmp_path / "data", opportunities__csv="\n".join(lines) + "\n")
    import_path(ws, folder)

    stored = dict(rows(ws, "SELECT opportunity_id, created_at FROM opportunities"))
    assert stored == {f"G{i}": expected for i, (_, expected) in enumerate(TIMESTAMPS)}
    first_bad = 2 + len(TIMESTAMPS)
    assert quarantined(ws) == [
        ("opportunities.csv", first_bad + i, "created_at", "bad_value")
        for i in range(len(BAD_TIMESTAMPS))
    ]
    assert detail(ws, "opportunities.csv", first_bad) == (
        "created_at '2023-02-30' is not an ISO 8601 timestamp "
        "(e.g. 2024-03-31, 2024-03-31T14:05:00Z, 2024-03-31T16:05:00+02:00)"
    )


def test_numbers_bools_and_dates_parse_or_are_bad_values(ws, tmp_path):
    accounts = """\
        account_id,name,employees,annual_potential
        A1,ok,12,1000.50
        A2,ok,12.0,-3
        A3,ok,,1e3
        A4,bad,1.5,
        A5,bad,1e3,
        A6,bad,abc,
        A7,bad,,$100
        A8,bad,,"1,000"
        A9,bad,,nan
        A10,bad,,inf
        """
    activities = """\
        activity_id,rep_id,account_id,type,occurred_at,is_bulk,duration_minutes
        T1,R1,A1,call,2023-02-01,TRUE,5
        T2,R1,A1,call,2023-02-01,no,
        T3,R1,A1,call,2023-02-01,1,
        T4,R1,A1,call,2023-02-01,0,
        T5,R1,A1,call,2023-02-01,Yes,
        T6,R1,A1,call,2023-02-01,maybe,
        T7,R1,A1,call,2023-02-01,2,
        T8,R1,A1,call,2023-02-01,,five
        """
    reps = """\
        rep_id,name,hire_date
        R1,Ann,2020-01-02
        R2,Bob,2020-01-02T00:00:00
        R3,Cy,2020-01-02T10:00:00
        R4,Di,02/01/2020
        """
    folder = base_folder(
        tmp_path / "data",
        reps__csv=reps,
        accounts__csv=accounts,
        opportunities__csv=OPP_HEADER + "\n",
        activities__csv=activities,
    )
    result = import_path(ws, folder)

    assert rows(ws, "SELECT account_id, employees, annual_potential FROM accounts ORDER BY 1") == [
        ("A1", 12, 1000.5),
        ("A2", 12, -3.0),
        ("A3", None, 1000.0),
    ]
    assert rows(ws, "SELECT activity_id, is_bulk FROM activities ORDER BY 1") == [
        ("T1", True),
        ("T2", False),
        ("T3", True),
        ("T4", False),
        ("T5", True),
    ]
    assert rows(ws, "SELECT rep_id, hire_date FROM reps ORDER BY 1") == [
        ("R1", date(2020, 1, 2)),
        ("R2", date(2020, 1, 2)),
    ]
    assert quarantined(ws) == [
        ("accounts.csv", 5, "employees", "bad_value"),
        ("accounts.csv", 6, "employees", "bad_value"),
        ("accounts.csv", 7, "employees", "bad_value"),
        ("accounts.csv", 8, "annual_potential", "bad_value"),
        ("accounts.csv", 9, "annual_potential", "bad_value"),
        ("accounts.csv", 10, "annual_potential", "bad_value"),
        ("accounts.csv", 11, "annual_potential", "bad_value"),
        ("activities.csv", 7, "is_bulk", "bad_value"),
        ("activities.csv", 8, "is_bulk", "bad_value"),
        ("activities.csv", 9, "duration_minutes", "bad_value"),
        ("reps.csv", 4, "hire_date", "bad_value"),
        ("reps.csv", 5, "hire_date", "bad_value"),
    ]
    assert detail(ws, "accounts.csv", 5) == "employees '1.5' is not a whole number"
    assert detail(ws, "reps.csv", 5) == "hire_date '02/01/2020' is not a date (YYYY-MM-DD)"
    assert counts(result, "accounts.csv") == (10, 3, 0, 0, 0, 0, 7)


# --------------------------------------------------------------------------- row rules, order
def test_each_reason_and_the_first_failing_rule_decides(ws, tmp_path):
    opportunities = f"""\
        {OPP_HEADER}
        ,A9,R9,,,won!,abc
        O3,A1,R1,,,won!,abc
        O4,A1,R1,2023-02-01,,won!,abc
        O5,A1,R1,2023-02-01,,won!,10
        O6,A1,R1,2023-02-01,,won,10
        O7,A1,R1,2023-02-01,2023-01-01,won,10
        O8,A9,R1,2023-02-01,,open,10
        O9,A1,R9,2023-02-01,,open,10
        O10,A9,R9,2023-02-01,2023-01-31T23:00:00-02:00,lost,10
        O11,A1,R1,2023-02-01,2023-03-01,lost,10
        O12,A1,R1,2023-02-01,,,10
        """
    result = import_path(ws, base_folder(tmp_path / "data", opportunities__csv=opportunities))

    f = "opportunities.csv"
    assert quarantined(ws) == [
        (f, 2, "opportunity_id", "missing_key"),  # also empty created_at, bad stage, ...
        (f, 3, "created_at", "missing_required"),  # before the bad amount and stage
        (f, 4, "amount", "bad_value"),  # before the bad stage
        (f, 5, "stage", "bad_enum"),
        (f, 6, "closed_at", "closed_at_required"),
        (f, 7, "closed_at", "closed_before_created"),
        (f, 8, "account_id", "missing_reference"),
        (f, 9, "owner_rep_id", "missing_reference"),
        # 2023-01-31T23:00-02:00 is 2023-02-01T01:00Z: after created_at, so the references decide
        (f, 10, "account_id", "missing_reference"),
        (f, 12, "stage", "missing_required"),
    ]
    assert detail(ws, f, 5) == "stage 'won!' is not one of open, won, lost"
    assert detail(ws, f, 4).startswith("amount 'abc' is not a number")
    assert detail(ws, f, 6) == (
        "closed_at is empty but stage is 'won': a won or lost opportunity needs the date it closed"
    )
    assert detail(ws, f, 7) == "closed_at '2023-01-01' is before created_at '2023-02-01'"
    assert detail(ws, f, 8) == (
        "account_id 'A9' matches no account_id of accounts "
        "(not in the workspace, not a valid row of this import)"
    )
    assert detail(ws, f, 3) == "created_at is empty; every row of opportunities needs it"
    assert detail(ws, f, 2) == "opportunity_id is empty"
    assert counts(result, f) == (11, 1, 0, 0, 0, 0, 10)
    assert result.quarantine_by_reason == {
        "bad_enum": 1,
        "bad_value": 1,
        "closed_at_required": 1,
        "closed_before_created": 1,
        "missing_key": 1,
        "missing_reference": 3,
        "missing_required": 2,
    }
    raw = rows(ws, "SELECT raw FROM quarantine WHERE line = 5")[0][0]
    assert raw == (
        '{"opportunity_id":"O5","account_id":"A1","owner_rep_id":"R1",'
        '"created_at":"2023-02-01","closed_at":null,"stage":"won!","amount":"10"}'
    )


def test_duplicates_first_row_kept_repeat_counted_conflict_names_earlier_line(ws, tmp_path):
    opportunities = f"""\
        {OPP_HEADER}
        O1,A1,R1,2023-02-01,,open,100
        O2,A1,R1,2023-02-01,,open,5
        O1,A1,R1,2023-02-01,,open,100
        O1,A1,R1,2023-02-01,,open,200
        O2,A1,R1,2023-02-01,2023-03-01,won,5
        O3,A1,R1,2023-02-01,,open,x
        O3,A1,R1,2023-02-01,,open,7
        O3,A1,R1,2023-02-01,,open,x
        """
    result = import_path(ws, base_folder(tmp_path / "data", opportunities__csv=opportunities))

    f = "opportunities.csv"
    assert counts(result, f) == (8, 2, 0, 0, 2, 0, 4)
    assert rows(ws, "SELECT opportunity_id, stage, amount FROM opportunities ORDER BY 1") == [
        ("O1", "open", 100.0),
        ("O2", "open", 5.0),
    ]
    assert quarantined(ws) == [
        (f, 5, "amount", "conflict"),
        (f, 6, "closed_at", "conflict"),
        (f, 7, "amount", "bad_value"),  # the first row of O3 is kept, and quarantined for itself
        (f, 8, "amount", "conflict"),  # line 9 repeats line 7 exactly: a repeat
    ]
    assert detail(ws, f, 5) == "same opportunity_id as line 2, different content in amount"
    assert detail(ws, f, 6) == (
        "same opportunity_id as line 3, different content in closed_at, stage"
    )
    assert detail(ws, f, 8) == "same opportunity_id as line 7, different content in amount"


def test_missing_references_cascade_through_tables_and_managers(ws, tmp_path):
    reps = """\
        rep_id,name,manager_rep_id,hire_date
        R1,Ann,,2020-01-01
        R2,Bob,R1,someday
        R3,Cy,R2,2020-01-01
        R4,Di,R3,2020-01-01
        R5,Ed,R6,2020-01-01
        R6,Flo,,2020-01-01
        """
    accounts = """\
        account_id,name,owner_rep_id
        A1,Acme,R1
        A2,Beta,R2
        """
    opportunities = f"""\
        {OPP_HEADER}
        O1,A1,R1,2023-02-01,,open,1
        O2,A2,R1,2023-02-01,,open,1
        O3,A1,R4,2023-02-01,,open,1
        O4,A1,R5,2023-02-01,,open,1
        """
    folder = base_folder(
        tmp_path / "data", reps__csv=reps, accounts__csv=accounts, opportunities__csv=opportunities
    )
    result = import_path(ws, folder)

    # R2 is bad; R3's manager is R2, R4's is R3: both cascade. R5's manager R6 comes later in
    # the same file and is valid. A2 belongs to R2, O2 is on A2, O3 belongs to R4.
    assert quarantined(ws) == [
        ("accounts.csv", 3, "owner_rep_id", "missing_reference"),
        ("opportunities.csv", 3, "account_id", "missing_reference"),
        ("opportunities.csv", 4, "owner_rep_id", "missing_reference"),
        ("reps.csv", 3, "hire_date", "bad_value"),
        ("reps.csv", 4, "manager_rep_id", "missing_reference"),
        ("reps.csv", 5, "manager_rep_id", "missing_reference"),
    ]
    assert detail(ws, "reps.csv", 5) == (
        "manager_rep_id 'R3' matches no rep_id of reps "
        "(not in the workspace, not a valid row of this import)"
    )
    assert rows(ws, "SELECT rep_id FROM reps ORDER BY 1") == [("R1",), ("R5",), ("R6",)]
    assert counts(result, "opportunities.csv") == (4, 2, 0, 0, 0, 0, 2)


def test_references_resolve_against_the_workspace_and_single_files_import(ws, tmp_path):
    import_path(ws, base_folder(tmp_path / "first"))
    later = write(
        tmp_path / "later",
        "Opportunities.csv",
        f"""\
        {OPP_HEADER}
        O3,A2,R2,2023-04-01,,open,7
        O4,A3,R2,2023-04-01,,open,7
        """,
    )
    # only one table: the required ones are already in the workspace
    result = import_path(ws, later.parent)
    assert [f.file for f in result.files] == ["Opportunities.csv"]
    assert counts(result, "Opportunities.csv") == (2, 1, 0, 0, 0, 0, 1)
    assert quarantined(ws) == [("Opportunities.csv", 3, "account_id", "missing_reference")]
    # a single file path works too
    one = write(tmp_path / "one", "accounts.csv", "account_id,name\nA3,Gamma\n")
    assert counts(import_path(ws, one), "accounts.csv") == (1, 1, 0, 0, 0, 0, 0)
    assert ws.row_count("opportunities") == 3


def test_reference_into_a_table_never_imported_is_not_checked(ws, tmp_path):
    reps = "rep_id,name,team_id\nR1,Ann,T1\nR2,Bob,T2\n"
    result = import_path(ws, base_folder(tmp_path / "data", reps__csv=reps))
    assert counts(result, "reps.csv") == (2, 2, 0, 0, 0, 0, 0)
    assert "reps.csv: team_id not checked: no teams in this import or the workspace" in (
        result.warnings
    )
    # once teams exist, team_id is checked
    write(tmp_path / "teams", "teams.csv", "team_id,name\nT1,North\n")
    write(tmp_path / "teams", "reps.csv", reps)
    import_path(ws, tmp_path / "teams")
    assert quarantined(ws) == [("reps.csv", 3, "team_id", "missing_reference")]


# --------------------------------------------------------------------------- idempotence, updates
def test_reimport_changes_nothing_and_does_not_duplicate_the_quarantine(ws, tmp_path):
    bad = OPPORTUNITIES + "O3,A1,R1,2023-02-01,,won!,1,,,\nO1,A1,R1,x,,open,1,,,\n"
    folder = base_folder(tmp_path / "data", opportunities__csv=bad)
    first = import_path(ws, folder)
    before = state(ws)
    fingerprint = ws.fingerprint()

    second = import_path(ws, folder)
    assert counts(second, "opportunities.csv") == (4, 0, 0, 2, 0, 0, 2)
    assert counts(second, "reps.csv") == (2, 0, 0, 2, 0, 0, 0)
    assert ws.fingerprint() == fingerprint
    after = state(ws)
    for table in ("reps", "accounts", "opportunities", "extra_columns"):
        assert after[table] == before[table]
    assert quarantined(ws) == [
        ("opportunities.csv", 4, "stage", "bad_enum"),
        ("opportunities.csv", 5, "created_at", "conflict"),
    ]
    # the quarantine holds the latest import's rows
    assert rows(ws, "SELECT DISTINCT import_id FROM quarantine") == [(second.import_id,)]
    assert rows(ws, "SELECT import_id FROM imports ORDER BY started_at, import_id") == [
        (first.import_id,),
        (second.import_id,),
    ]


def test_a_newer_file_updates_changed_rows_only(ws, tmp_path):
    import_path(ws, base_folder(tmp_path / "first"))
    newer = (
        OPPORTUNITIES.replace("open,50,", "won,55,").replace(
            "2023-02-01T09:00:00Z,,", "2023-02-01T09:00:00Z,2023-05-01,"
        )
        + "O3,A1,R1,2023-04-01,,open,7,,,\n"
    )
    result = import_path(ws, base_folder(tmp_path / "second", opportunities__csv=newer))

    assert counts(result, "opportunities.csv") == (3, 1, 1, 1, 0, 0, 0)
    assert counts(result, "reps.csv") == (2, 0, 0, 2, 0, 0, 0)
    assert rows(
        ws, "SELECT opportunity_id, closed_at, stage, amount FROM opportunities ORDER BY 1"
    ) == [
        ("O1", datetime(2023, 3, 1), "won", 100.0),
        ("O2", datetime(2023, 5, 1), "won", 55.0),
        ("O3", None, "open", 7.0),
    ]


def test_a_newer_file_without_a_nullable_column_empties_it(ws, tmp_path):
    import_path(ws, base_folder(tmp_path / "first"))
    without_email = "rep_id,name,region\nR1,Ann,EMEA\nR2,Bob,EMEA\n"
    result = import_path(ws, base_folder(tmp_path / "second", reps__csv=without_email))
    # R1 had an email, R2 did not; role and hire_date were set for both
    assert counts(result, "reps.csv") == (2, 0, 2, 0, 0, 0, 0)
    assert rows(ws, "SELECT rep_id, role, hire_date, email FROM reps ORDER BY 1") == [
        ("R1", None, None, None),
        ("R2", None, None, None),
    ]


def test_blank_rows_are_skipped_and_counts_add_up(ws, tmp_path):
    opportunities = f"{OPP_HEADER}\nO1,A1,R1,2023-02-01,,open,1\n,,,,,,\n , ,,,,,\n"
    result = import_path(ws, base_folder(tmp_path / "data", opportunities__csv=opportunities))
    assert counts(result, "opportunities.csv") == (3, 1, 0, 0, 0, 2, 0)
    with pytest.raises(AssertionError, match="do not add up"):
        FileCounts("x.csv", "reps", 5, 1, 1, 1, 1, 0, 0)


# --------------------------------------------------------------------------- line numbers
def test_line_numbers_are_physical_with_blank_lines_and_multiline_values(ws, tmp_path):
    lines = [
        "opportunity_id,account_id,owner_rep_id,created_at,closed_at,stage,amount,product",  # 1
        "O1,A1,R1,2023-02-01,,open,10,p",  # 2
        "",  # 3
        'O2,A1,R1,2023-02-01,,open,10,"multi',  # 4
        'line"',  # 5
        "O3,A1,R1,2023-02-01,,won!,10,p",  # 6
        "",  # 7
        'O5,A1,R1,2023-02-01,,open,10,"x',  # 8
        "",  # 9: a blank line inside a quoted value
        'y"',  # 10
        "",  # 11
        "O4,A1,R1,2023-02-01,,open,abc,p",  # 12
        "",  # 13
    ]
    folder = base_folder(tmp_path / "data")
    (folder / "opportunities.csv").write_bytes("\r\n".join(lines).encode())
    result = import_path(ws, folder)

    assert quarantined(ws) == [
        ("opportunities.csv", 6, "stage", "bad_enum"),
        ("opportunities.csv", 12, "amount", "bad_value"),
    ]
    assert counts(result, "opportunities.csv") == (5, 3, 0, 0, 0, 0, 2)
    assert rows(ws, "SELECT product FROM opportunities WHERE opportunity_id = 'O5'") == [
        ("x\r\n\r\ny",)
    ]


@pytest.mark.parametrize(
    ("text", "records", "lines", "blanks"),
    [
        (b"h\n1\n2\n", 2, 3, ()),
        (b"h\n1\n2", 2, 3, ()),
        (b"h\n1\n2\n\n\n", 2, 3, ()),  # blank lines at the end change nothing
        (b"h\n\n1\n2\n", 2, 4, (2,)),
        (b"\nh\n1\n", 1, 3, (1,)),
        (b'h\n"a\n\nb"\n\n2\n', 2, 6, (5,)),  # line 3 is inside quotes
        (b"h\r\n1\r\n\r\n2\r\n", 2, 4, (3,)),
    ],
)
def test_scan_lines(tmp_path, text, records, lines, blanks):
    path = tmp_path / "f.csv"
    path.write_bytes(text)
    scan = scan_lines(path, records)
    assert (scan.lines, scan.blank_lines) == (lines, blanks)


def test_blank_offsets():
    # blank lines at 3 and 4 (both above the record on blank-free line 3), and at 9
    assert blank_offsets((3, 4, 9)) == [(3, 2), (7, 3)]


# --------------------------------------------------------------------------- Parquet, Excel
def test_parquet_files_import_like_csv(ws, tmp_path):
    folder = base_folder(tmp_path / "data")
    (folder / "opportunities.csv").unlink()
    paris = pa.timestamp("us", tz="Europe/Paris")
    table = pa.table(
        {
            "Opportunity_ID": ["O1", "O2", "O3"],
            "account_id": ["A1", "A1", "A2"],
            "owner_rep_id": ["R1", "R1", "R2"],
            "created_at": pa.array([datetime(2023, 2, 1, 10, tzinfo=UTC)] * 3, type=paris),
            "closed_at": pa.array([None, None, datetime(2023, 3, 1, tzinfo=UTC)], type=paris),
            "stage": ["open", "won!", "lost"],
            "amount": pa.array([1.5, None, 3.0], type=pa.float64()),
            "initial_amount": pa.array([1, 2, 3], type=pa.int64()),
        }
    )
    pq.write_table(table, folder / "opportunities.parquet")
    result = import_path(ws, folder)

    assert counts(result, "opportunities.parquet") == (3, 2, 0, 0, 0, 0, 1)
    assert quarantined(ws) == [("opportunities.parquet", 3, "stage", "bad_enum")]
    assert rows(ws, "SELECT * EXCLUDE (source, product) FROM opportunities ORDER BY 1") == [
        ("O1", "A1", "R1", datetime(2023, 2, 1, 10), None, "open", 1.5, 1.0),
        ("O3", "A2", "R2", datetime(2023, 2, 1, 10), datetime(2023, 3, 1), "lost", 3.0, 3.0),
    ]


def _sheet(wb, title: str, data: list[list]) -> None:
    sheet = wb.create_sheet(title)
    for row in data:
        sheet.append(row)


def test_excel_workbook_with_sheets_named_after_tables(ws, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "Reps", [["rep_id", "name", "hire_date"], ["R1", "Ann", datetime(2020, 1, 2)]])
    _sheet(wb, "ACCOUNTS", [["account_id", "name", "employees"], ["A1", "Acme", 12]])
    _sheet(
        wb,
        "opportunities",
        [
            ["opportunity_id", "account_id", "owner_rep_id", "created_at", "stage", "amount"],
            ["O1", "A1", "R1", datetime(2023, 2, 1, 9, 30), "Won", 10.5],
            [],
            ["O2", "A1", "R1", datetime(2023, 2, 1), "open", 3],
            ["O3", "A1", "R1", "not a date", "open", None],
        ],
    )
    _sheet(wb, "Notes", [["anything"]])
    folder = tmp_path / "data"
    folder.mkdir()
    wb.save(folder / "crm.xlsx")
    result = import_path(ws, folder)

    assert [f.file for f in result.files] == [
        "crm.xlsx[Reps]",
        "crm.xlsx[ACCOUNTS]",
        "crm.xlsx[opportunities]",
    ]
    assert "ignored crm.xlsx[Notes]: not a table of the data contract" in result.warnings
    # a won opportunity without closed_at; row 3 of the sheet is empty, not a row
    assert quarantined(ws) == [
        ("crm.xlsx[opportunities]", 2, "closed_at", "closed_at_required"),
        ("crm.xlsx[opportunities]", 5, "created_at", "bad_value"),
    ]
    assert counts(result, "crm.xlsx[opportunities]") == (3, 1, 0, 0, 0, 0, 2)
    assert rows(ws, "SELECT opportunity_id, created_at, amount FROM opportunities") == [
        ("O2", datetime(2023, 2, 1), 3.0)
    ]
    assert rows(ws, "SELECT hire_date FROM reps") == [(date(2020, 1, 2),)]
    assert rows(ws, "SELECT employees FROM accounts") == [(12,)]


def test_excel_one_workbook_per_table(ws, tmp_path):
    import openpyxl

    folder = tmp_path / "data"
    folder.mkdir()
    for name, text in (("reps", REPS), ("accounts", ACCOUNTS), ("opportunities", OPPORTUNITIES)):
        wb = openpyxl.Workbook()
        for line in textwrap.dedent(text).splitlines():
            wb.active.append([cell or None for cell in line.split(",")])
        wb.save(folder / f"{name}.xlsx")
    result = import_path(ws, folder)
    assert [counts(result, f"{t}.xlsx") for t in ("reps", "accounts", "opportunities")] == [
        (2, 2, 0, 0, 0, 0, 0)
    ] * 3
    assert rows(ws, "SELECT created_at FROM accounts ORDER BY account_id") == [
        (datetime(2023, 1, 1),),
        (datetime(2023, 1, 5, 8),),
    ]


# --------------------------------------------------------------------------- extras, unknown files
def test_extra_columns_are_kept_aside_and_unknown_files_reported(ws, tmp_path):
    reps = "rep_id,name,Nickname,\nR1,Ann,annie,\nR2,Bob,,\n"
    folder = base_folder(tmp_path / "data", reps__csv=reps, notes__txt="hello", truth__json="{}")
    result = import_path(ws, folder)

    assert rows(ws, "SELECT table_name, key, data FROM extra_columns") == [
        ("reps", "R1", '{"Nickname":"annie"}')
    ]
    assert "ignored notes.txt: not a table of the data contract" in result.warnings
    assert "ignored truth.json: not a table of the data contract" in result.warnings
    assert "reps.csv: kept extra column(s) aside in extra_columns: Nickname" in result.warnings
    # a changed extra value is a change of the row
    write(folder, "reps.csv", "rep_id,name,Nickname\nR1,Ann,nan\nR2,Bob,\n")
    again = import_path(ws, folder)
    assert counts(again, "reps.csv") == (2, 0, 1, 1, 0, 0, 0)
    assert rows(ws, "SELECT data FROM extra_columns") == [('{"Nickname":"nan"}',)]


# --------------------------------------------------------------------------- errors
ERRORS = {
    "binary file": ({"activities.csv": b"\x89PNG\r\n\x00\x00\x00"}, "activities.csv: not a CSV"),
    "too many cells": (
        {"reps.csv": b"rep_id,name\nR1,Ann\nR2,Bob,extra\n"},
        "reps.csv, line 3: not valid CSV: 3 cells where the header has 2 (R2,Bob,extra)",
    ),
    "unterminated quote": (
        {"reps.csv": b'rep_id,name\nR1,"Ann\n'},
        "reps.csv, line 2: not valid CSV: a quoted value is never closed",
    ),
    "no key column": (
        {"accounts.csv": b"name,owner_rep_id\nAcme,R1\n"},
        "accounts.csv: no account_id column (the key of accounts); the columns are: name, "
        "owner_rep_id",
    ),
    "no required column": (
        {"opportunities.csv": b"opportunity_id,account_id,owner_rep_id,created_at\n"},
        "opportunities.csv: no stage column, which opportunities requires",
    ),
    "same column twice": (
        {"reps.csv": b"rep_id,name,Name\nR1,a,b\n"},
        "reps.csv: column 'Name' appears twice (columns 2 and 3)",
    ),
    "empty file": ({"teams.csv": b""}, "teams.csv: the file is empty"),
    "two files, one table": (
        {"Reps.CSV": REPS.encode(), "reps.parquet": b"PAR1"},
        "both hold table reps",
    ),
    "bad file after good ones": (
        {"reps.csv": b"rep_id,name\nR1,Changed\nR7,New\n", "stories.csv": b"story_id\n\x00"},
        "stories.csv: not a CSV file",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_errors_stop_the_import_and_change_nothing(ws, tmp_path, case):
    import_path(ws, base_folder(tmp_path / "first"))
    before = state(ws)
    files, message = ERRORS[case]
    folder = base_folder(tmp_path / "second")
    for name, data in files.items():
        if name.lower() == "reps.csv":
            (folder / "reps.csv").unlink()
        (folder / name).write_bytes(data)
    with pytest.raises(IngestError) as err:
        import_path(ws, folder)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert state(ws) == before


@pytest.mark.parametrize("limit", ["4MB", "8MB"])
def test_running_out_of_memory_is_named_as_such_and_changes_nothing(ws, tmp_path, limit):
    # 4MB: a file's checks run out; 8MB: DuckDB's CSV reader cannot get its buffer for the big file.
    # Either is the machine's limit, not bad data: never "not valid CSV"
    import_path(ws, base_folder(tmp_path / "first"))
    before = state(ws)
    folder = base_folder(tmp_path / "second")
    with (folder / "activities.csv").open("w") as f:
        f.write("activity_id,rep_id,account_id,occurred_at,type\n")
        f.writelines(f"X{i},R1,A1,2023-02-0{1 + i % 9},call{'_' * 40}\n" for i in range(250_000))
    ws.update_config({"duckdb": {"memory_limit": limit, "threads": 1}})
    with pytest.raises(IngestError) as err:
        import_path(Workspace.open(ws.root), folder)
    said = str(err.value)
    step = "checking [a-z]+.csv" if limit == "4MB" else "reading activities.csv"
    assert re.search(
        f"the import of {re.escape(str(folder))} stopped at step '{step}': DuckDB ran out of "
        "memory",
        said,
    )
    assert f"(memory_limit: {limit})" in said and "not valid CSV" not in said
    assert "Nothing of it was stored" in said and "\n" not in said
    ws.update_config({"duckdb": {"memory_limit": ""}})
    assert state(Workspace.open(ws.root)) == before


def test_missing_required_file_is_an_error_only_for_an_empty_workspace(ws, tmp_path):
    folder = base_folder(tmp_path / "data")
    (folder / "accounts.csv").unlink()
    before = state(ws)
    with pytest.raises(IngestError, match=r"no accounts\.csv; the workspace holds no accounts"):
        import_path(ws, folder)
    assert state(ws) == before
    with pytest.raises(IngestError, match="no such file or folder"):
        import_path(ws, tmp_path / "nowhere")
    with pytest.raises(IngestError, match="no table files found"):
        import_path(ws, write(tmp_path / "empty", "readme.txt", "x").parent)


# --------------------------------------------------------------------------- one transaction
KILL_SCRIPT = """
import sys
from pathlib import Path
from brightspots.ingest import import_path
from brightspots.workspace import Workspace

ws = Workspace.open(sys.argv[1])
import_path(ws, Path(sys.argv[2]), progress=lambda message, fraction: print(message, flush=True))
print("finished", flush=True)
"""


def test_a_killed_import_leaves_every_table_as_it_was(tmp_path):
    root = tmp_path / "ws"
    with init_workspace(root) as ws:
        bad_row = "O9,A1,R1,someday,,open,1,,,\n"
        import_path(ws, base_folder(tmp_path / "first", opportunities__csv=OPPORTUNITIES + bad_row))
        before = state(ws)
    assert before["quarantine"][0] == 1
    # the second import changes reps, adds an account, then 2 million activities
    folder = base_folder(
        tmp_path / "second",
        reps__csv=REPS.replace("Ann", "Anna"),
        accounts__csv=ACCOUNTS + "A3,Gamma,R1,,,,\n",
    )
    duckdb.sql(
        f"""COPY (SELECT 'T' || i AS activity_id, 'R' || (i % 2 + 1) AS rep_id,
                         'A' || (i % 3 + 1) AS account_id, 'call' AS type,
                         '2023-02-01T10:00:00Z' AS occurred_at
                  FROM range(2000000) AS r(i))
            TO '{folder / "activities.csv"}' (HEADER)"""
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(root), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line.strip())
        if line.strip() == "storing activities.csv":
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (seen, proc.stderr.read() if proc.stderr else "")
    assert "storing reps.csv" in seen and "finished" not in seen

    with Workspace.open(root) as ws:
        assert state(ws) == before
        assert rows(ws, "SELECT name FROM reps ORDER BY rep_id") == [("Ann",), ("Bob",)]
        assert ws.row_count("activities") == 0


# --------------------------------------------------------------------------- round trip
OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
names = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
accounts_rows = st.lists(
    st.tuples(
        names,
        st.one_of(st.none(), st.integers(-(10**12), 10**12)),
        st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
        st.one_of(
            st.none(),
            st.datetimes(
                min_value=datetime(1950, 1, 1),
                max_value=datetime(2090, 1, 1),
                timezones=st.sampled_from(OFFSETS),
            ),
        ),
    ),
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts_rows)
def test_valid_rows_round_trip(generated):
    import csv

    with tempfile.TemporaryDirectory() as tmp:
        folder = base_folder(Path(tmp) / "data", opportunities__csv=OPP_HEADER + "\n")
        with (folder / "accounts.csv").open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["account_id", "name", "employees", "annual_potential", "created_at"])
            for i, (name, employees, potential, created) in enumerate(generated):
                out.writerow(
                    [
                        f"A{i}",
                        name,
                        "" if employees is None else employees,
                        "" if potential is None else repr(potential),
                        "" if created is None else created.isoformat(),
                    ]
                )
        with init_workspace(Path(tmp) / "ws") as ws:
            result = import_path(ws, folder)
            stored = rows(
                ws,
                "SELECT account_id, name, employees, annual_potential, created_at FROM accounts "
                "ORDER BY CAST(substr(account_id, 2) AS INT)",
            )
    expected = [
        (
            f"A{i}",
            name,
            employees,
            potential,
            None if created is None else created.astimezone(UTC).replace(tzinfo=None),
        )
        for i, (name, employees, potential, created) in enumerate(generated)
    ]
    assert stored == expected
    assert counts(result, "accounts.csv") == (len(generated), len(generated), 0, 0, 0, 0, 0)


# --------------------------------------------------------------------------- encodings
OPP_MINIMAL = "opportunity_id,account_id,owner_rep_id,created_at,stage\nO1,A1,R1,2024-01-02,open\n"


def test_cp1252_and_latin1_files_are_detected_and_read(ws, tmp_path):
    folder = tmp_path / "enc"
    folder.mkdir()
    # Excel on Windows: cp1252, with the euro sign and curly quotes cp1252 has and latin-1 lacks
    (folder / "reps.csv").write_bytes("rep_id,name,role\nR1,Renée,“AE” €\n".encode("cp1252"))
    (folder / "accounts.csv").write_bytes(
        b"account_id,name,owner_rep_id\nA1,Caf\xe9 \x81,R1\n"  # 0x81: undefined in cp1252
    )
    (folder / "opportunities.csv").write_text(OPP_MINIMAL, encoding="utf-8")
    import_path(ws, folder)
    assert rows(ws, "SELECT name, role FROM reps") == [("Renée", "“AE” €")]
    assert rows(ws, "SELECT name FROM accounts") == [("Café \x81",)]


def test_a_stated_encoding_wins_and_a_wrong_one_is_a_clear_error(ws, tmp_path):
    folder = tmp_path / "enc"
    folder.mkdir()
    (folder / "reps.csv").write_bytes("rep_id,name\nR1,Ann\nR2,Renée\n".encode("cp1252"))
    (folder / "accounts.csv").write_text("account_id,name\nA1,Acme\n", encoding="utf-8")
    (folder / "opportunities.csv").write_text(OPP_MINIMAL, encoding="utf-8")
    with pytest.raises(IngestError, match=r"^reps\.csv, line 3: not valid CSV: not UTF-8 text"):
        import_path(ws, folder, encoding="utf-8")
    assert ws.row_count("reps") == 0
    with pytest.raises(IngestError, match="encoding 'ebcdic': use one of"):
        import_path(ws, folder, encoding="ebcdic")
    import_path(ws, folder, encoding="latin-1")
    assert rows(ws, "SELECT name FROM reps ORDER BY rep_id") == [("Ann",), ("Renée",)]
