"""Brief periods: an ISO week ("2026-W47"), a calendar month ("2026-11") or a quarter ("2026-Q4").

A period is a span of local days (the workspace time zone), first and last day inclusive. Beside
it a brief uses two more spans:

* the **assessment window**, over which deviations are judged: the period itself for a month or
  a quarter; for a week, the 13 weeks ending with it (one week holds too few deals to judge);
* the **previous 13 weeks**, the 91 days just before the assessment window: each unit's own
  recent past, which its buyer-impact rate and response time are compared with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from brightspots.errors import BrightspotsError

Kind = Literal["week", "month", "quarter"]
ROLLING_WEEKS = 13
FORMS = "a week like 2026-W47, a month like 2026-11 or a quarter like 2026-Q4"
MONTHS = (
    "January February March April May June July August September October November December"
).split()

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


class PeriodError(BrightspotsError):
    """A period that is not an ISO week, a month or a quarter."""


def day_words(d: date) -> str:
    """'22 November 2026'."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def span_words(start: date, end: date) -> str:
    """'16-22 November 2026', '28 December 2026 - 3 January 2027'."""
    if start == end:
        return day_words(start)
    if start.year != end.year:
        return f"{day_words(start)} - {day_words(end)}"
    if start.month != end.month:
        return f"{start.day} {MONTHS[start.month - 1]} - {day_words(end)}"
    return f"{start.day}-{day_words(end)}"


@dataclass(frozen=True)
class Period:
    label: str
    kind: Kind
    start: date
    end: date

    @property
    def words(self) -> str:
        """'week 47 of 2026 (16-22 November 2026)', 'November 2026', 'Q4 2026 (October to
        December)'."""
        if self.kind == "week":
            year, week = self.label.split("-W")
            return f"week {int(week)} of {year} ({span_words(self.start, self.end)})"
        if self.kind == "month":
            return f"{MONTHS[self.start.month - 1]} {self.start.year}"
        q = self.label.split("-Q")[1]
        first, last = MONTHS[self.start.month - 1], MONTHS[self.end.month - 1]
        return f"Q{q} {self.start.year} ({first} to {last})"

    @property
    def short(self) -> str:
        """'week 47', 'November 2026', 'Q4 2026'."""
        if self.kind == "week":
            return f"week {int(self.label.split('-W')[1])}"
        if self.kind == "month":
            return self.words
        return f"Q{self.label.split('-Q')[1]} {self.start.year}"

    @property
    def window_start(self) -> date:
        """First day of the assessment window (the 13 weeks ending with a week's brief)."""
        if self.kind == "week":
            return self.start - timedelta(weeks=ROLLING_WEEKS - 1)
        return self.start

    @property
    def window_words(self) -> str:
        if self.kind == "week":
            return f"the {ROLLING_WEEKS} weeks to {day_words(self.end)}"
        return self.words

    @property
    def previous_start(self) -> date:
        return self.window_start - timedelta(weeks=ROLLING_WEEKS)

    @property
    def previous_end(self) -> date:
        return self.window_start - timedelta(days=1)

    def days(self) -> int:
        return (self.end - self.start).days + 1

    def before(self) -> Period:
        """The period of the same kind just before this one."""
        return containing(self.start - timedelta(days=1), self.kind)

    def after(self) -> Period:
        return containing(self.end + timedelta(days=1), self.kind)


def week(year: int, number: int) -> Period:
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        last = date(year, 12, 28).isocalendar().week
        raise PeriodError(
            f"{year}-W{number:02d} does not exist: ISO year {year} has weeks 1 to {last}"
        ) from None
    return Period(f"{year}-W{number:02d}", "week", monday, monday + timedelta(days=6))


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def month(year: int, number: int) -> Period:
    if not 1 <= number <= 12:
        raise PeriodError(f"{year}-{number:02d}: a month is 01 to 12")
    return Period(f"{year}-{number:02d}", "month", date(year, number, 1), _month_end(year, number))


def quarter(year: int, number: int) -> Period:
    first = 3 * (number - 1) + 1
    return Period(f"{year}-Q{number}", "quarter", date(year, first, 1), _month_end(year, first + 2))


def parse(text: str) -> Period:
    """'2026-W47', '2026-11' or '2026-Q4' (case and the dash before W or Q optional)."""
    s = str(text).strip()
    for pattern, make in ((_WEEK, week), (_MONTH, month), (_QUARTER, quarter)):
        m = pattern.match(s)
        if m:
            year = int(m.group(1))
            if not 1900 <= year <= 9998:
                raise PeriodError(f"period {text!r}: the year {year} is out of range")
            return make(year, int(m.group(2)))
    raise PeriodError(f"period {text!r} is not {FORMS}")


def containing(day: date, kind: Kind) -> Period:
    """The week, month or quarter holding ``day``."""
    if kind == "week":
        iso = day.isocalendar()
        return week(iso.year, iso.week)
    if kind == "month":
        return month(day.year, day.month)
    return quarter(day.year, (day.month - 1) // 3 + 1)
