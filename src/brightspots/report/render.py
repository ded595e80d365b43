"""The report as one self-contained HTML file: context -> view -> Jinja2 template -> file.

``render_html`` fills the template from a ``ReportContext``; ``write_report`` reads a workspace
run and writes the file atomically.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from brightspots.files import write_atomic
from brightspots.report.context import ReportContext, build_context
from brightspots.report.tables import ReportError
from brightspots.report.view import report_view

if TYPE_CHECKING:
    from brightspots.workspace import Workspace


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("brightspots.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(ctx: ReportContext) -> str:
    """The whole report as one HTML document (inline CSS and SVG, no script, no remote link)."""
    template = _environment().get_template("report.html.j2")
    view = report_view(ctx)
    return template.render({f.name: getattr(view, f.name) for f in fields(view)})


def write_report(ws: Workspace, out: Path, run_id: str | None = None) -> Path:
    """Write the report of a stored run (the latest by default) to ``out``, atomically: the file
    is written beside ``out`` under a temporary name, then renamed over it."""
    out = Path(out)
    if out.is_dir():
        raise ReportError(f"{out} is a folder; give a file name such as {out / 'report.html'}")
    return write_atomic(out, render_html(build_context(ws, run_id)))
