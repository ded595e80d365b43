"""Numbers, money and dates written for people: thousands separators, 2 decimals for ratios.

Every function accepts a missing value (None or NaN) and returns an en dash for it, so a gap in
the data shows as a gap on the page and never as "nan".
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd

MISSING = "–"

#: symbols written before the amount; other currencies are written as a code after it
CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "AUD": "A$",
    "CAD": "C$",
    "BRL": "R$",
}


def is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def integer(x: Any) -> str:
    """12345 -> '12,345'."""
    if is_missing(x):
        return MISSING
    return f"{round(float(x)):,}"


def decimal(x: Any, places: int = 1) -> str:
    """19.04 -> '19.0'; 12345.678 -> '12,345.7'."""
    if is_missing(x):
        return MISSING
    if math.isinf(float(x)):
        return "∞" if float(x) > 0 else "−∞"
    return f"{float(x):,.{places}f}"


def ratio(x: Any) -> str:
    """An O/E ratio or a statistic: 1.6316 -> '1.63'."""
    return decimal(x, 2)


def percent(x: Any, places: int = 0) -> str:
    """A share in [0, 1]: 0.596 -> '60%'."""
    if is_missing(x):
        return MISSING
    return f"{100 * float(x):,.{places}f}%"


def money(x: Any, currency: str) -> str:
    """Whole units with separators: (1234567.8, 'USD') -> '$1,234,568', 'CHF' -> '1,234,568 CHF'."""
    if is_missing(x):
        return MISSING
    value = round(float(x))
    sign = "−" if value < 0 else ""
    body = f"{abs(value):,}"
    code = currency.upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {code}"


def hours(x: Any) -> str:
    """A duration given in hours, as a person says it: 0.5 -> '30 minutes', 2.25 -> '2.3 hours',
    60 -> '2.5 days'."""
    if is_missing(x):
        return MISSING
    h = float(x)
    if h < 1:
        return plural(max(1, round(h * 60)), "minute")
    if h < 48:
        return f"{decimal(h)} hours"
    return f"{decimal(h / 24)} days"


def day(x: Any) -> str:
    """A date or timestamp as '5 Mar 2024' (no leading zero, no time of day)."""
    if is_missing(x):
        return MISSING
    d = x if isinstance(x, date) else pd.Timestamp(x).to_pydatetime()
    if isinstance(d, datetime):
        d = d.date()
    return f"{d.day} {d.strftime('%b %Y')}"


def run_dates(moments: list[Any], year: int | None = None) -> list[str]:
    """Short labels for runs: '5 Mar' ('5 Mar 2024' when any is not in ``year``), with the time
    of day added when two runs fall on the same day ('5 Mar 14:02', seconds when needed)."""
    stamps = [pd.Timestamp(m) for m in moments]
    same_year = year is not None and all(t.year == year for t in stamps)
    days = [f"{t.day} {t.strftime('%b')}" if same_year else day(t) for t in stamps]
    labels = days
    for clock in (" %H:%M", " %H:%M:%S"):
        if len(set(labels)) == len(labels):
            break
        labels = [d + t.strftime(clock) for d, t in zip(days, stamps, strict=True)]
    return labels


def moment(x: Any) -> str:
    """A timestamp as '5 Mar 2024, 14:02 UTC' (stored timestamps are UTC)."""
    if is_missing(x):
        return MISSING
    t = pd.Timestamp(x)
    return f"{day(t)}, {t.strftime('%H:%M')} UTC"


def plural(n: int, one: str, many: str | None = None) -> str:
    """(1, 'rep') -> '1 rep'; (3, 'rep') -> '3 reps'; (2, 'is', 'are') -> '2 are'."""
    word = one if n == 1 else (many if many is not None else one + "s")
    return f"{integer(n)} {word}"


def words_list(items: list[str]) -> str:
    """['a'] -> 'a'; ['a', 'b'] -> 'a and b'; ['a', 'b', 'c'] -> 'a, b and c'."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
