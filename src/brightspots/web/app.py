"""The web app: ``create_app(workspace)`` is a FastAPI application; ``brightspots serve`` runs it.

Security headers on every response: a Content-Security-Policy that allows scripts from this
site only (the vendored htmx; no inline script, no eval), no framing (``frame-ancestors
'none'``), no referrer, no MIME sniffing; pages behind a login are not cached. Everything is
served from the package: no CDN, works offline.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from brightspots import __version__
from brightspots.web import api, auth, library, pages
from brightspots.web.appstate import AppState
from brightspots.web.data import Snapshots
from brightspots.workspace import Workspace

STATIC = Path(__file__).parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    # inline SVG charts carry style attributes; no script may be inline
    "style-src 'self' 'unsafe-inline'; font-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


MAX_FORM = 64 * 1024  # bytes of any form but an upload: sign-in, stories, settings
MAX_UPLOAD = 2 * 1024**3  # bytes of an admin's upload of data files


class BodyLimit:
    """Refuse request bodies beyond ``MAX_FORM`` before they are read (FastAPI reads a form
    before the route's login check runs). Uploads to ``/admin/data`` may reach ``MAX_UPLOAD``,
    and only from a signed-in admin; anyone else gets 404 there before a byte is stored."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = MAX_FORM
        if scope["path"] == "/admin/data":
            if not self._admin(scope):
                await _plain(send, 404, b"Not found")
                return
            limit = MAX_UPLOAD
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > limit:
            await _plain(send, 413, b"Request body too large")
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _plain(send, 413, b"Request body too large")

    def _admin(self, scope: Any) -> bool:
        session = auth.current(Request(scope))
        return session is not None and session.user.role == "admin"


class _TooLarge(Exception):
    pass


async def _plain(send: Any, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
                *[(k.lower().encode(), v.encode()) for k, v in HEADERS.items()],
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("brightspots.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    return env


def create_app(workspace: str | Path, *, https: bool = False) -> FastAPI:
    """The app over ``workspace`` (a folder made by ``brightspots init``). ``https``: the
    server is reached over HTTPS (cookies are then marked Secure)."""
    root = Path(workspace)
    Workspace.open(root)  # a clear error now, not at the first request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.snapshots.close()

    app = FastAPI(
        lifespan=lifespan,
        title="brightspots",
        version=__version__,
        description="Positive deviance for B2B sales: the JSON API of a workspace.",
        docs_url=None,  # Swagger UI loads from a CDN and runs inline script: not here
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.root = root
    app.state.https = https
    app.state.appstate = AppState(root)
    app.state.snapshots = Snapshots(root)
    app.state.templates = _templates()
    app.state.jobs = {}
    app.state.jobs_lock = threading.Lock()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router, include_in_schema=False)
    app.include_router(library.router, include_in_schema=False)
    app.include_router(api.router, prefix="/api/v1")
    app.add_middleware(BodyLimit)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(auth.LoginRequired)
    async def login_required(request: Request, exc: auth.LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(auth.CsrfFailed)
    async def csrf_failed(request: Request, exc: auth.CsrfFailed) -> Response:
        return _error(request, 403, "This form has expired. Go back, reload the page and retry.")

    @app.exception_handler(pages.NotFound)
    async def not_found(request: Request, exc: pages.NotFound) -> Response:
        return _error(request, 404, "There is no such page, or it is not yours to see.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # a page path answered only by POST is, to a browser, a page that is not there
        if exc.status_code == 404 or (exc.status_code == 405 and not _is_api(request)):
            return _error(request, 404, "There is no such page, or it is not yours to see.")
        return await http_exception_handler(request, exc)

    def _error(request: Request, status: int, text: str) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": text}, status_code=status)
        page = app.state.templates.get_template("error.html.j2").render(
            status=status, text=text, user=None, csrf="", path=request.url.path, nav=[]
        )
        return HTMLResponse(page, status_code=status)

    return app


def from_environment() -> FastAPI:
    """The app of ``BRIGHTSPOTS_WORKSPACE`` (how ``brightspots serve`` starts each worker)."""
    import os

    root = os.environ.get("BRIGHTSPOTS_WORKSPACE")
    if not root:
        raise RuntimeError("BRIGHTSPOTS_WORKSPACE is not set: start the app with brightspots serve")
    return create_app(root, https=bool(os.environ.get("BRIGHTSPOTS_HTTPS")))
