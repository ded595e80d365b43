"""Analysis windows in words and arithmetic."""

from __future__ import annotations

import pandas as pd
import pytest

from brightspots.windows import Window, WindowError, parse_window


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("12m", Window(months=12)),
        ("90d", Window(days=90)),
        ("all", Window()),
        (" 6 months ", Window(months=6)),
        ("30 days", Window(days=30)),
        (18, Window(months=18)),
        (0, Window()),
    ],
)
def test_parse(text, window):
    assert parse_window(text) == window


@pytest.mark.parametrize("bad", ["12", "0m", "12w", "-3m", "lots", -1])
def test_bad_windows_are_named(bad):
    with pytest.raises(WindowError, match="window"):
        parse_window(bad)


def test_start_and_words():
    end = pd.Timestamp("2026-10-31 12:00")
    assert Window(months=12).start(end) == pd.Timestamp("2025-10-31 12:00")
    assert Window(days=90).start(end) == pd.Timestamp("2026-08-02 12:00")
    assert Window().start(end) is None
    assert Window(days=90).words() == "the last 90 days" and str(Window(months=12)) == "12m"
