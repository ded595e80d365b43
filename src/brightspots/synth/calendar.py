"""The business-day axis: weekdays, 08:00-18:00 local time, converted to UTC timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np


def epoch_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _add_months(d: date, months: int) -> date:
    m = d.year * 12 + d.month - 1 + months
    return date(m // 12, m % 12 + 1, 1) if d.day == 1 else _clamp_day(m // 12, m % 12 + 1, d.day)


def _clamp_day(y: int, m: int, day: int) -> date:
    while True:
        try:
            return date(y, m, day)
        except ValueError:
            day -= 1


@dataclass(frozen=True)
class Calendar:
    """Business days (weekdays) around the window; ``b`` is a float position on that axis: the
    integer part picks the day, the fraction the time between 08:00 and 18:00 local time."""

    start: date
    end: date
    days: np.ndarray  # epoch day of each business day
    qend: np.ndarray  # per business day: index of the last business day of its quarter
    b_start: int  # first business day of the window
    b_end: int  # first business day after the window
    cut: int  # epoch seconds of the first instant after the window

    @classmethod
    def build(cls, end: date, months: int) -> Calendar:
        start = _add_months(end + timedelta(days=1), -months)
        all_days = np.arange(epoch_day(start) - 150, epoch_day(end) + 1200, dtype=np.int64)
        days = all_days[(all_days + 3) % 7 < 5]  # 1970-01-01 was a Thursday
        quarter = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) // 3
        qend = np.searchsorted(quarter, quarter, side="right") - 1
        return cls(
            start=start,
            end=end,
            days=days,
            qend=qend,
            b_start=int(np.searchsorted(days, epoch_day(start))),
            b_end=int(np.searchsorted(days, epoch_day(end) + 1)),
            cut=(epoch_day(end) + 1) * 86400,
        )

    def seconds(self, b: np.ndarray, tz_hours: np.ndarray) -> np.ndarray:
        """UTC epoch seconds (whole minutes) of business-axis positions in a local time zone."""
        idx = np.clip(np.floor(b).astype(np.int64), 0, len(self.days) - 1)
        frac = np.clip(b - idx, 0.0, 0.9999)
        secs = self.days[idx] * 86400 + 28800 + frac * 36000 - tz_hours * 3600
        return (np.round(secs / 60) * 60).astype(np.int64)

    def b_of_day(self, day: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.days, day).astype(np.float64)

    def month_of(self, b: np.ndarray) -> np.ndarray:
        idx = np.clip(np.floor(b).astype(np.int64), 0, len(self.days) - 1)
        return self.days[idx].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
