"""Local time as an engine expression: offsets across daylight-saving transitions."""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd
import pytest

from brightspots.timezones import TimezoneError, offsets, to_local


def test_offsets_find_the_transitions():
    table = offsets("Europe/Paris", datetime(2025, 1, 1), datetime(2026, 1, 1))
    assert [o for _, o in table] == [3600, 7200, 3600]
    assert table[1][0] == datetime(2025, 3, 30, 1, 0)  # 01:00 UTC = 02:00 CET -> 03:00 CEST
    assert table[2][0] == datetime(2025, 10, 26, 1, 0)
    half_hour = offsets("Australia/Lord_Howe", datetime(2025, 1, 1), datetime(2025, 12, 31))
    assert {o for _, o in half_hour} == {37800, 39600}  # +10:30 and +11:00


@pytest.mark.parametrize("minute", [0, 2, 17, 59])
def test_transitions_are_exact_whatever_second_the_data_starts(minute):
    # the span starts at an odd time of day: the change is still found at its own second
    start = datetime(2025, 1, 1, 7, minute, 12)
    table = offsets("Europe/Paris", start, datetime(2025, 12, 1))
    assert [t for t, _ in table[1:]] == [datetime(2025, 3, 30, 1), datetime(2025, 10, 26, 1)]
    # Santiago changes at local midnight: 2025-04-06 03:00 UTC (-03 -> -04), 2025-09-07 04:00
    table = offsets("America/Santiago", start, datetime(2025, 12, 1))
    assert table[1:] == [(datetime(2025, 4, 6, 3), -14400), (datetime(2025, 9, 7, 4), -10800)]


def test_to_local_on_both_sides_of_each_transition():
    utc = pd.to_datetime(
        [
            "2025-03-30 00:59:59",
            "2025-03-30 01:00:00",
            "2025-10-26 00:59:59",
            "2025-10-26 01:00:00",
            "2025-06-30 22:30:00",
            "2025-12-31 23:30:00",
        ]
    )
    t = ibis.memtable(pd.DataFrame({"ts": utc}))
    e = t.select(local=to_local(t.ts, "Europe/Paris", datetime(2025, 1, 1), datetime(2026, 1, 1)))
    got = ibis.duckdb.connect().execute(e)["local"].astype(str).tolist()
    assert got == [
        "2025-03-30 01:59:59",
        "2025-03-30 03:00:00",
        "2025-10-26 02:59:59",
        "2025-10-26 02:00:00",
        "2025-07-01 00:30:00",
        "2026-01-01 00:30:00",
    ]


def test_utc_is_the_identity_expression():
    t = ibis.table({"ts": "timestamp"}, name="t")
    assert to_local(t.ts, "UTC", datetime(2025, 1, 1), datetime(2026, 1, 1)).equals(t.ts)


def test_unknown_zone_is_named():
    with pytest.raises(TimezoneError, match="unknown time zone 'Mars/Olympus'"):
        offsets("Mars/Olympus", datetime(2025, 1, 1), datetime(2026, 1, 1))


def test_fixed_offset_zone():
    t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime(["2025-01-31 20:00:00"])}))
    e = t.select(local=to_local(t.ts, "Asia/Tokyo", datetime(2025, 1, 1), datetime(2026, 1, 1)))
    assert str(ibis.duckdb.connect().execute(e)["local"].iloc[0]) == "2025-02-01 05:00:00"
