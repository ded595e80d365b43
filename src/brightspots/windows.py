"""Analysis windows: "12m" (months), "90d" (days) or "all", counted back from the last close."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from brightspots.errors import BrightspotsError

_PATTERN = re.compile(r"^\s*(\d+)\s*(m|months?|d|days?)\s*$", re.IGNORECASE)


class WindowError(BrightspotsError):
    """A window that is not "all", "<N>m" or "<N>d"."""


@dataclass(frozen=True)
class Window:
    months: int = 0
    days: int = 0

    @property
    def is_all(self) -> bool:
        return self.months == 0 and self.days == 0

    def start(self, end: pd.Timestamp) -> pd.Timestamp | None:
        """The instant after which closes count (exclusive), or None for all history."""
        if self.months:
            return pd.Timestamp(end) - pd.DateOffset(months=self.months)
        if self.days:
            return pd.Timestamp(end) - pd.Timedelta(days=self.days)
        return None

    def __str__(self) -> str:
        if self.months:
            return f"{self.months}m"
        if self.days:
            return f"{self.days}d"
        return "all"

    def words(self) -> str:
        if self.months:
            return f"the last {self.months} months"
        if self.days:
            return f"the last {self.days} days"
        return "all history"


def parse_window(text: str | int, *, setting: str = "window") -> Window:
    """``"12m"``, ``"90d"``, ``"all"`` (or a whole number of months) -> ``Window``."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise WindowError(f"{setting} = {text}: a window cannot be negative")
        return Window(months=text)
    value = str(text).strip().lower()
    if value in ("all", "0", ""):
        return Window()
    m = _PATTERN.match(value)
    if not m or int(m.group(1)) == 0:
        raise WindowError(f"{setting} = {text!r}: use 'all', months like '12m' or days like '90d'")
    n = int(m.group(1))
    return Window(months=n) if m.group(2).startswith("m") else Window(days=n)
