"""Periods of local time: the day, and the ISO week (Monday start) with its "2026-W07" label."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

EVERY = ("day", "week")


def days(n: ir.IntegerValue | int) -> ir.IntervalValue:
    value = n if isinstance(n, ir.Expr) else ibis.literal(n, type="int64")
    return value.as_interval("D")


def week_start(day: ir.DateValue) -> ir.DateValue:
    """The Monday of the ISO week that holds ``day``."""
    return day - days(day.day_of_week.index().cast("int64"))


def iso_week_label(monday: ir.DateValue) -> ir.StringValue:
    """``"2026-W07"`` for the ISO week starting on ``monday``; the ISO year is the year of the
    week's Thursday (so 2025-12-29 starts 2026-W01)."""
    thursday = monday + days(3)
    week = (thursday.day_of_year().cast("int64") - 1) // 7 + 1
    return thursday.year().cast("string") + "-W" + week.cast("string").lpad(2, "0")
