"""Local time on any engine: stored timestamps are UTC; days, weeks and months are local.

Ibis has no portable time-zone conversion for naive timestamps, so the conversion is built as an
expression: the zone's UTC offsets over the data's time span (from ``zoneinfo``) become a ``CASE``
over the few intervals between daylight-saving transitions, and the local time is the UTC time
plus that offset. DuckDB, Spark and every other backend run the same arithmetic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import ibis.expr.types as ir
import pandas as pd

from brightspots.errors import BrightspotsError


class TimezoneError(BrightspotsError):
    """An unknown time-zone name in the workspace config."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimezoneError(
            f"unknown time zone {name!r} in [workspace] timezone; use an IANA name such as "
            "'UTC', 'Europe/Paris' or 'America/New_York'"
        ) from None


def offsets(name: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant from which it applies, offset in seconds) over [start, end], naive UTC."""
    tz = zone(name)
    start = start.replace(tzinfo=UTC) - timedelta(days=1)
    end = end.replace(tzinfo=UTC) + timedelta(days=1)

    def off(t: datetime) -> int:
        return int(t.astimezone(tz).utcoffset().total_seconds())

    out = [(start.replace(tzinfo=None), off(start))]
    day = start
    while day < end:
        nxt = min(day + timedelta(days=1), end)
        if off(nxt) != off(day):
            # the change is the first second with the new offset: bisect (a zone changes at
            # most once a day); stepping from ``start`` would find it late when the data does
            # not begin on a quarter hour
            lo, hi = day, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)
                lo, hi = (mid, hi) if off(mid) == off(lo) else (lo, mid)
            out.append((hi.replace(tzinfo=None), off(hi)))
        day = nxt
    return out


def to_local(ts: ir.TimestampValue, name: str, start: datetime, end: datetime) -> ir.TimestampValue:
    """``ts`` (naive UTC) as naive local wall time in zone ``name``, valid over [start, end]."""
    table = offsets(name, start, end)
    if all(o == 0 for _, o in table):
        return ts
    if len({o for _, o in table}) == 1:  # a fixed offset (no daylight saving in the span)
        return ts + ibis.literal(table[0][1], type="int64").as_interval("s")
    branches = [
        (ts < ibis.literal(since_next, type="timestamp"), ibis.literal(offset, type="int64"))
        for (_, offset), (since_next, _) in zip(table, table[1:], strict=False)
    ]
    seconds = ibis.cases(*branches, else_=ibis.literal(table[-1][1], type="int64"))
    return ts + seconds.as_interval("s")


# ------------------------------------------------------------------ the same, in Python, for values
# brought back from the engine (a few rows: a brief's wins, stories, the data's as-of time)


def local_wall(ts: datetime, name: str) -> datetime:
    """A naive UTC ``ts`` as naive local wall time in zone ``name``."""
    return ts.replace(tzinfo=UTC).astimezone(zone(name)).replace(tzinfo=None)


def local_day(ts: datetime, name: str) -> date:
    """The local day of a naive UTC ``ts`` in zone ``name``."""
    return local_wall(ts, name).date()


def utc_start(day: date, name: str) -> datetime:
    """The naive UTC instant at which local ``day`` begins in zone ``name``."""
    return datetime.combine(day, time(0), tzinfo=zone(name)).astimezone(UTC).replace(tzinfo=None)


def local_days(stamps: pd.Series, name: str) -> pd.Series:
    """The local day of each naive UTC timestamp of ``stamps`` in zone ``name``."""
    at = pd.to_datetime(stamps).dt.tz_localize("UTC").dt.tz_convert(zone(name))
    return at.dt.date
