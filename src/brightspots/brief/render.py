"""The brief as a file: HTML (one self-contained document: inline CSS and SVG, no script, no
remote link; prints on A4 or Letter), Markdown (``markdown``) or PDF (WeasyPrint typesetting the
same HTML), written atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from brightspots.brief.markdown import render_markdown
from brightspots.brief.model import Brief
from brightspots.brief.view import FORMATS, BriefRenderError, brief_view, paper_size
from brightspots.files import write_atomic
from brightspots.templating import environment

__all__ = [
    "BriefRenderError",
    "check_format",
    "render_html",
    "render_markdown",
    "render_pdf",
    "write_brief",
]


def render_html(brief: Brief, *, paper: str = "A4") -> str:
    """The brief as one self-contained HTML document for ``paper`` ('A4' or 'Letter')."""
    view = brief_view(brief, paper=paper)
    return environment("brightspots.brief").get_template("brief.html.j2").render(v=view)


def render_pdf(brief: Brief, *, paper: str = "A4") -> bytes:
    """The same HTML typeset by WeasyPrint on ``paper``."""
    import weasyprint  # heavy; imported only when a PDF is asked for

    page = render_html(brief, paper=paper)
    return weasyprint.HTML(string=page).write_pdf()


# ----------------------------------------------------------------------------- files


def check_format(fmt: str, paper: str = "A4") -> str:
    """The format in lower case, once ``fmt`` (html, md or pdf) and ``paper`` (A4 or Letter)
    are known good: callers check before the work of building a brief."""
    kind = str(fmt).strip().lower()
    if kind not in FORMATS:
        raise BriefRenderError(f"brief format {fmt!r} is not one of {', '.join(FORMATS)}")
    paper_size(paper)
    return kind


def write_brief(brief: Brief, out: Path, fmt: str, *, paper: str = "A4") -> Path:
    """Write the brief as ``fmt`` (html, md or pdf) to ``out``, atomically: the file is written
    beside ``out`` under a temporary name, synced, then renamed over it."""
    out = Path(out)
    kind = check_format(fmt, paper)
    if out.is_dir():
        raise BriefRenderError(
            f"{out} is a folder; give a file name such as {out / ('brief.' + kind)}"
        )
    makers: dict[str, Callable[[], str | bytes]] = {
        "html": lambda: render_html(brief, paper=paper),
        "md": lambda: render_markdown(brief),
        "pdf": lambda: render_pdf(brief, paper=paper),
    }
    return write_atomic(out, makers[kind]())
