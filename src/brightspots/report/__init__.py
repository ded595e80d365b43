"""The HTML report of an analysis run: one self-contained file (inline CSS and SVG, no script).

``write_report(ws, Path("report.html"))`` writes the latest run's report; ``render_html(ctx)``
renders a ``ReportContext`` the caller built (``build_context(ws, run_id)`` reads a stored run
and the earlier runs its history is drawn from).
"""

from brightspots.report.context import ReportContext, RunInfo, build_context
from brightspots.report.diagnostics import Diagnostics, LevelSummary, OutcomeSummary
from brightspots.report.history import PastRun, UnitHistory, unit_histories
from brightspots.report.render import render_html, write_report
from brightspots.report.tables import ReportError
from brightspots.report.view import ReportView, report_view

__all__ = [
    "Diagnostics",
    "LevelSummary",
    "OutcomeSummary",
    "PastRun",
    "ReportContext",
    "ReportError",
    "ReportView",
    "RunInfo",
    "UnitHistory",
    "build_context",
    "render_html",
    "report_view",
    "unit_histories",
    "write_report",
]
