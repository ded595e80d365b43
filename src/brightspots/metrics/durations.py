"""Durations in the ``[metrics]`` config: ``"7d"`` (days) or ``"48h"`` (hours)."""

from __future__ import annotations

import re
from datetime import timedelta

from brightspots.errors import BrightspotsError

_PATTERN = re.compile(r"^\s*(\d+)\s*(d|days?|h|hours?)\s*$", re.IGNORECASE)


class DurationError(BrightspotsError):
    """A duration setting that is not a whole number of days or hours."""


def parse_duration(text: str | int, *, setting: str) -> timedelta:
    """``"7d"`` -> 7 days, ``"48h"`` -> 48 hours; anything else names ``setting`` in the error.

    ``setting`` is how the user finds the value, e.g. ``"[metrics] impact_window"``.
    """
    m = _PATTERN.match(str(text)) if not isinstance(text, bool) else None
    if m is None or int(m.group(1)) == 0:
        raise DurationError(
            f"{setting} = {text!r}: use a positive whole number of days like '7d' or of hours "
            "like '48h'"
        )
    n = int(m.group(1))
    return timedelta(days=n) if m.group(2).lower().startswith("d") else timedelta(hours=n)
