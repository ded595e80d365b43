"""The HTML report of an analysis run: one self-contained file (inline CSS and SVG, no script).

``write_report(ws, Path("report.html"))`` writes the latest run's report; ``render_html(ctx)``
renders a ``ReportContext`` the caller built (``build_context(ws, run_id)`` reads a stored run).
"""

from brightspots.report.context import (
    Diagnostics,
    ReportContext,
    ReportError,
    RunInfo,
    build_context,
)
from brightspots.report.render import render_html, write_report
from brightspots.report.view import ReportView, report_view

__all__ = [
    "Diagnostics",
    "ReportContext",
    "ReportError",
    "ReportView",
    "RunInfo",
    "build_context",
    "render_html",
    "report_view",
    "write_report",
]
