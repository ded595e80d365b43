"""The importer's fast paths give the answers of the full rules (issue 9).

The fast paths: dates and timestamps in common shapes read by a pattern and a plain cast; the
search for duplicate keys skipped when the keys are proven distinct (sorted, or counted); no
comparison with stored rows when the table is empty; ``record_sources`` kept unique without an
index; encoding detection skipping ASCII blocks; line counting while DuckDB reads. Each test
puts bad or tricky rows where a fast path could miss them and checks the quarantine's line,
column, reason and words, worked out by hand.
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from brightspots import schema
from brightspots.ingest import encoding, import_path
from brightspots.ingest.layout import Layout
from brightspots.ingest.parse import DATE_RE, TIMESTAMP_RE, typed
from brightspots.ingest.sql import lit
from brightspots.ingest.tables import RECORDS
from brightspots.ingest.validate import has_duplicate_keys
from brightspots.workspace import Workspace, init_workspace

REPS = "rep_id,name\nR1,Ann\nR2,Bob\n"
ACCOUNTS = "account_id,name,owner_rep_id\nA1,Acme,R1\n"
OPPS = "opportunity_id,account_id,owner_rep_id,created_at,stage\nO1,A1,R1,2024-01-02,open\n"
ACT_HEADER = "activity_id,rep_id,account_id,type,occurred_at"


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "ws")
    yield w
    w.close()


def folder_with(path: Path, **files: str) -> Path:
    """reps, accounts and opportunities as above; ``files`` adds or replaces (``x__csv``)."""
    path.mkdir(parents=True, exist_ok=True)
    texts = {"reps.csv": REPS, "accounts.csv": ACCOUNTS, "opportunities.csv": OPPS}
    texts.update({k.replace("__", "."): textwrap.dedent(v) for k, v in files.items()})
    for name, text in texts.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def quarantine(ws: Workspace, file: str) -> list[tuple[int, str, str, str]]:
    return (
        ws.duckdb()
        .execute(
            'SELECT line, "column", reason, detail FROM quarantine WHERE file = ? ORDER BY line',
            [file],
        )
        .fetchall()
    )


# --------------------------------------------------------------------------- dates and times
def _reference_timestamp(v: str) -> str:
    """The timestamp rule as first written: the full pattern, then a time-zone-aware cast."""
    return (
        f"CASE WHEN regexp_full_match({v}, {lit(TIMESTAMP_RE)}) "
        f"THEN timezone('UTC', TRY_CAST(upper({v}) AS TIMESTAMPTZ)) END"
    )


def _reference_date(v: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({v}, {lit(DATE_RE)}) THEN TRY_CAST(left({v}, 10) AS DATE) END"
    )


TRICKY = [
    "2024-03-31 16:05:00",  # the shapes of the fast path ...
    "2024-03-31T16:05:00",
    "2024-03-31T16:05:00Z",
    "2024-03-31T16:05:00.250Z",
    "2024-03-31",
    "2024-02-30 10:00:00",  # ... with values a cast refuses
    "2024-02-29",
    "2023-02-29",
    "2024-03-31 24:00:00",
    "2024-03-31 25:00:00",
    "2024-03-31 16:05:60",
    "0000-01-01",
    "2024-03-31T16:05:00+02:00",  # offsets: the full rule
    "2024-03-31T16:05:00-0530",
    "2024-03-31T16:05:00+03",
    "2024-03-31t16:05:00z",
    "2024-03-31 16:05",
    "2024-03-31T16:05:00.1234567",
    "2024-03-31T00:00:00+00",
    "2024-03-31 16:05:00 Europe/Paris",  # not ISO 8601
    "2024-03-31T16:05:00 +02:00",
    "-024-03-31 16:05:00",
    "2024-3-31 16:05:00",
    "2024-03-31  16:05:00",
    "20240331",
    "yesterday",
    "",
]


def test_timestamps_and_dates_read_as_the_full_rule_reads_them():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ts = schema.table("activities").column("occurred_at")
    day = schema.table("reps").column("hire_date")
    assert day.type == schema.ColumnType.DATE
    con.execute("CREATE TABLE v AS SELECT unnest(?::VARCHAR[]) AS v", [TRICKY])
    got = con.execute(
        f"SELECT v, {typed(ts, 'v')}, {_reference_timestamp('v')}, "
        f"{typed(day, 'v')}, {_reference_date('v')} FROM v"
    ).fetchall()
    for v, fast, full, fast_day, full_day in got:
        assert fast == full, v
        assert fast_day == full_day, v
    values = {v: fast for v, fast, *_ in got}
    assert values["2024-03-31T16:05:00+02:00"] == datetime(2024, 3, 31, 14, 5)  # by hand
    assert values["2024-03-31T16:05:00-0530"] == datetime(2024, 3, 31, 21, 35)
    assert values["2024-03-31t16:05:00z"] == datetime(2024, 3, 31, 16, 5)
    assert values["2024-03-31"] == datetime(2024, 3, 31)
    assert values["2024-02-30 10:00:00"] is None
    assert values["-024-03-31 16:05:00"] is None
    assert {v: d for v, _, _, d, _ in got}["2024-02-29"] == date(2024, 2, 29)


def test_bad_timestamps_among_plain_ones_are_quarantined_on_their_lines(ws, tmp_path):
    rows = [f"T{i:03d},R1,A1,call,2024-03-{1 + i % 28:02d} 10:{i % 60:02d}:00" for i in range(40)]
    rows[9] = "T009,R1,A1,call,2024-02-30 10:00:00"  # line 11: the pattern fits, the day does not
    rows[19] = "T019,R1,A1,call,2024-03-31T16:05:00+02:00"  # line 21: an offset, kept
    rows[29] = "T029,R1,A1,call,2024-03-31 16:05:00 CET"  # line 31: not ISO 8601
    rows[39] = "T039,R1,A1,call,2024-03-31T16:05:00.250Z"  # line 41: kept
    folder = folder_with(tmp_path / "d", activities__csv="\n".join([ACT_HEADER, *rows]) + "\n")
    result = import_path(ws, folder)

    (acts,) = [f for f in result.files if f.file == "activities.csv"]
    assert (acts.read, acts.inserted, acts.quarantined) == (40, 38, 2)
    expected = (
        " is not an ISO 8601 timestamp "
        "(e.g. 2024-03-31, 2024-03-31T14:05:00Z, 2024-03-31T16:05:00+02:00)"
    )
    assert quarantine(ws, "activities.csv") == [
        (11, "occurred_at", "bad_value", "occurred_at '2024-02-30 10:00:00'" + expected),
        (31, "occurred_at", "bad_value", "occurred_at '2024-03-31 16:05:00 CET'" + expected),
    ]
    stored = dict(
        ws.duckdb()
        .execute("SELECT activity_id, occurred_at FROM activities WHERE activity_id IN (?, ?)",
                 ["T019", "T039"])
        .fetchall()
    )  # fmt: skip
    assert stored == {
        "T019": datetime(2024, 3, 31, 14, 5),
        "T039": datetime(2024, 3, 31, 16, 5, 0, 250000),
    }


# --------------------------------------------------------------------------- duplicate keys
def _keys_layout(con: duckdb.DuckDBPyConnection, keys: list[str | None]) -> Layout:
    con.execute("DROP VIEW IF EXISTS _bs_src")
    con.execute("DROP TABLE IF EXISTS k")
    con.execute("CREATE TABLE k AS SELECT unnest(?::VARCHAR[]) AS c0", [keys])
    con.execute("CREATE VIEW _bs_src AS SELECT rowid + 2 AS line, c0 FROM k")
    return Layout(schema.table("teams"), ("team_id",), {"team_id": 0}, {})


@pytest.mark.parametrize(
    ("keys", "repeated"),
    [
        (["A", "B", "C"], False),  # sorted: proven by one pass
        (["C", "A", "B"], False),  # not sorted: counted
        (["A", "B", "B", "C"], True),  # sorted but for a repeat
        (["B", "A", "B"], True),
        (["A", None, "A"], True),  # an empty key between two equal ones
        (["A", " A"], True),  # equal once trimmed
        (["A", "", "B", None], False),  # empty keys are not keys
        ([], False),
    ],
)
def test_duplicate_keys_are_found_whatever_the_order(keys, repeated):
    con = duckdb.connect()
    assert has_duplicate_keys(con, _keys_layout(con, keys)) is repeated


def test_repeats_and_conflicts_in_a_file_not_sorted_by_key(ws, tmp_path):
    rows = [f"T{(i * 7) % 30:03d},R1,A1,call,2024-03-01 10:00:00" for i in range(30)]  # shuffled
    rows.append("T014,R1,A1,call,2024-03-01 10:00:00")  # line 32: repeats line 4 (i = 2)
    rows.append("T021,R1,A1,email,2024-03-01 10:00:00")  # line 33: T021 is on line 5 (i = 3)
    folder = folder_with(tmp_path / "d", activities__csv="\n".join([ACT_HEADER, *rows]) + "\n")
    result = import_path(ws, folder)

    (acts,) = [f for f in result.files if f.file == "activities.csv"]
    assert (acts.read, acts.inserted, acts.repeats, acts.quarantined) == (32, 30, 1, 1)
    assert quarantine(ws, "activities.csv") == [
        (33, "type", "conflict", "same activity_id as line 5, different content in type")
    ]


# --------------------------------------------------------------------------- record_sources
def _records(ws: Workspace) -> list[tuple]:
    return (
        ws.duckdb()
        .execute(f"SELECT table_name, key, source FROM {RECORDS} ORDER BY table_name, key")
        .fetchall()
    )


def test_record_sources_hold_each_record_once_across_imports(ws, tmp_path):
    acts = f"""\
        {ACT_HEADER}
        T2,R1,A1,call,2024-03-01
        T1,R1,A1,call,2024-03-01
        T2,R1,A1,call,2024-03-01
        T3,R1,A1,call,someday
        ,R1,A1,call,2024-03-01
        """
    folder = folder_with(tmp_path / "d", activities__csv=acts)
    import_path(ws, folder)
    expected = [
        ("accounts", "A1", "generic"),
        ("activities", "T1", "generic"),
        ("activities", "T2", "generic"),
        ("activities", "T3", "generic"),  # quarantined, still delivered by the export
        ("opportunities", "O1", "generic"),
        ("reps", "R1", "generic"),
        ("reps", "R2", "generic"),
    ]
    assert _records(ws) == expected
    import_path(ws, folder, source="crm")
    assert _records(ws) == [(t, k, "crm") for t, k, _ in expected]


def test_record_sources_of_an_earlier_version_lose_their_index_not_their_rows(ws, tmp_path):
    folder = folder_with(tmp_path / "d")
    import_path(ws, folder)
    with ws.transaction() as con:  # as an earlier version wrote it: with a PRIMARY KEY
        con.execute(f"CREATE TABLE old AS SELECT * FROM {RECORDS}")
        con.execute(f"DROP TABLE {RECORDS}")
        con.execute(
            f"""CREATE TABLE {RECORDS} (table_name VARCHAR, key VARCHAR, source VARCHAR,
                import_id VARCHAR, deleted_at TIMESTAMP, origin VARCHAR,
                PRIMARY KEY (table_name, key))"""
        )
        con.execute(f"INSERT INTO {RECORDS} SELECT * FROM old")
        con.execute(
            f"INSERT INTO {RECORDS} VALUES ('reps', 'R9', 'old', 'x', TIMESTAMP '2024-01-01', "
            "'reps:reps.csv')"
        )
        con.execute("DROP TABLE old")
    import_path(ws, folder)
    con = ws.duckdb()
    keys = con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? "
        "AND constraint_type = 'PRIMARY KEY'",
        [RECORDS],
    ).fetchall()
    assert keys == [(0,)]
    assert con.execute(
        f"SELECT key, source, deleted_at FROM {RECORDS} WHERE table_name = 'reps' ORDER BY key"
    ).fetchall() == [("R1", "generic", None), ("R2", "generic", None),
                     ("R9", "old", datetime(2024, 1, 1))]  # fmt: skip


def test_an_import_in_steps_still_changes_nothing_when_a_later_file_fails(ws, tmp_path):
    import_path(ws, folder_with(tmp_path / "first"))
    con = ws.duckdb()
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    before = {
        t: con.execute(f'SELECT count(*), bit_xor(hash(x)) FROM "{t}" AS x').fetchall()
        for t in tables
    }
    folder = folder_with(
        tmp_path / "second",
        reps__csv="rep_id,name\nR1,Changed\nR3,New\n",
        activities__csv=f'{ACT_HEADER}\nT1,R1,A1,call,"2024-03-01\n',  # never closed
    )
    with pytest.raises(Exception, match="activities.csv"):
        import_path(ws, folder)
    con = ws.duckdb()
    after = {
        t: con.execute(f'SELECT count(*), bit_xor(hash(x)) FROM "{t}" AS x').fetchall()
        for t in tables
    }
    assert after == before


# --------------------------------------------------------------------------- encodings, lines
def test_encoding_is_told_from_bytes_past_ascii_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "CHUNK", 8)
    path = tmp_path / "x.csv"
    path.write_bytes(b"abcdefgh" * 3 + "caf\u00e9".encode())  # the last block is not ASCII
    assert encoding.sniff(path) == "utf-8"
    path.write_bytes(b"abcdefg" + "\u00e9".encode() + b"abcdefgh")  # split across two blocks
    assert encoding.sniff(path) == "utf-8"
    path.write_bytes(b"abcdefgh" * 3 + b"caf\xe9")
    assert encoding.sniff(path) == "cp1252"
    path.write_bytes(b"abcdefgh" * 3 + b"caf\xe9 \x81")
    assert encoding.sniff(path) == "latin-1"


def test_line_numbers_counted_alongside_the_read(ws, tmp_path):
    acts = (
        f"{ACT_HEADER}\n"
        "T1,R1,A1,call,2024-03-01\n"
        "\n"
        'T2,R1,A1,"call\nagain",2024-03-01\n'
        "T3,R9,A1,call,2024-03-01\n"
    )
    folder = folder_with(tmp_path / "d")
    (folder / "activities.csv").write_text(acts, encoding="utf-8")
    import_path(ws, folder)
    assert [(line, col, reason) for line, col, reason, _ in quarantine(ws, "activities.csv")] == [
        (4, "type", "bad_enum"),
        (6, "rep_id", "missing_reference"),
    ]
