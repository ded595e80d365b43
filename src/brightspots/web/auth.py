"""Who is asking: the session behind a request's cookie, login-required and CSRF checks.

The session cookie is HttpOnly, SameSite=Lax and (behind HTTPS) Secure; its value is the
session token signed with the workspace's secret (``sessions``). Every form and every htmx
request that changes something carries the session's CSRF token (a hidden field, or the
``X-CSRF-Token`` header that the page's ``hx-headers`` adds); a missing or wrong one is 403.
The login form, before any session, uses a double-submit token (a cookie and a field that must
match).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from brightspots.web import sessions
from brightspots.web.appstate import AppState
from brightspots.web.sessions import Session

COOKIE = "bs_session"
LOGIN_COOKIE = "bs_login"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No live session: pages redirect to the login form, the API answers 401."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token: 403."""


def state_of(request: Request) -> AppState:
    return request.app.state.appstate


def current(request: Request) -> Session | None:
    """The request's live session, or None (looked up once per request)."""
    if not hasattr(request.state, "session"):
        state = state_of(request)
        token = sessions.token_of(state, request.cookies.get(COOKIE))
        request.state.session = sessions.session_for(state, token)
    return request.state.session


def require(request: Request) -> Session:
    s = current(request)
    if s is None:
        raise LoginRequired()
    return s


def check_csrf(request: Request, session: Session, submitted: str | None) -> None:
    token = submitted or request.headers.get(CSRF_HEADER)
    if not sessions.csrf_ok(session, token):
        raise CsrfFailed()


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_token_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE)
    return bool(cookie and submitted) and hmac.compare_digest(
        str(cookie).encode(), str(submitted).encode()
    )


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"
