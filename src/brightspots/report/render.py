"""The report as one self-contained HTML file: context -> view -> Jinja2 template -> file.

``render_html`` fills the template from a ``ReportContext``; ``write_report`` reads a workspace
run and writes the file atomically.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from brightspots.files import write_atomic
from brightspots.report.context import ReportContext, build_context
from brightspots.report.tables import ReportError
from brightspots.report.view import report_view
from brightspots.templating import environment

if TYPE_CHECKING:
    from brightspots.workspace import Workspace


def render_html(ctx: ReportContext) -> str:
    """The whole report as one HTML document (inline CSS and SVG, no script, no remote link)."""
    template = environment("brightspots.report").get_template("report.html.j2")
    view = report_view(ctx)
    return template.render({f.name: getattr(view, f.name) for f in fields(view)})


def write_report(ws: Workspace, out: Path, run_id: str | None = None) -> Path:
    """Write the report of a stored run (the latest by default) to ``out``, atomically: the file
    is written beside ``out`` under a temporary name, then renamed over it."""
    out = Path(out)
    if out.is_dir():
        raise ReportError(f"{out} is a folder; give a file name such as {out / 'report.html'}")
    return write_atomic(out, render_html(build_context(ws, run_id)))
