"""Logging in and staying logged in: throttled password checks, server-side sessions, signed
cookies and CSRF tokens.

* A session is a random token (256 bits) in an HttpOnly, SameSite cookie; the server keeps only
  its SHA-256, with the user, a CSRF token and an absolute expiry (``SESSION_HOURS``). The
  cookie value is also signed (HMAC-SHA256 with a per-workspace secret kept in the app state),
  so a forged or altered cookie is refused before any lookup.
* Login throttling: ``MAX_FAILS_PER_ACCOUNT`` failed attempts for one e-mail, or
  ``MAX_FAILS_PER_CLIENT`` from one client address, within ``WINDOW`` lock further attempts
  until the oldest of them leaves the window. A wrong e-mail and a wrong password look the same
  and take the same time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from brightspots.errors import BrightspotsError
from brightspots.web.appstate import AppState
from brightspots.web.passwords import needs_rehash, rehash, verify
from brightspots.web.users import User, find, from_row

SESSION_HOURS = 12
WINDOW = timedelta(minutes=15)
MAX_FAILS_PER_ACCOUNT = 5
MAX_FAILS_PER_CLIENT = 20
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


class LoginThrottled(BrightspotsError):
    """Too many failed logins: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _stamp(t: datetime) -> str:
    return t.strftime(_STAMP)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _secret(state: AppState) -> bytes:
    """The workspace's cookie-signing secret, made on first use. Every request checks a cookie,
    so the usual path only reads; the write lock is taken once, when the secret is made."""
    query = "SELECT value FROM meta WHERE key = 'cookie_secret'"
    with state.read() as con:
        row = con.execute(query).fetchone()
    if row is None:
        with state.write() as con:
            con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('cookie_secret', ?)", [secrets.token_hex(32)]
            )
            row = con.execute(query).fetchone()
    return bytes.fromhex(row[0])


def _mac(secret: bytes, token: str) -> str:
    raw = hmac.new(secret, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cookie_value(state: AppState, token: str) -> str:
    return f"{token}.{_mac(_secret(state), token)}"


def token_of(state: AppState, cookie: str | None) -> str | None:
    """The session token in a signed cookie value, or None when it is missing or altered."""
    if not cookie or "." not in cookie:
        return None
    token, mac = cookie.rsplit(".", 1)
    return (
        token if hmac.compare_digest(mac.encode(), _mac(_secret(state), token).encode()) else None
    )


def _retry_after(con, key: str, limit: int, now: datetime) -> int:
    since = _stamp(now - WINDOW)
    rows = con.execute(
        "SELECT at FROM login_attempts WHERE key = ? AND ok = 0 AND at > ? ORDER BY at",
        [key, since],
    ).fetchall()
    if len(rows) < limit:
        return 0
    oldest = datetime.strptime(rows[-limit][0], _STAMP)
    return max(1, int((oldest + WINDOW - now).total_seconds()) + 1)


#: argon2 checks at once: each takes 64 MiB and a tenth of a second of CPU, so a burst of
#: sign-ins queues here instead of taking the server's memory (measured in bench/load.py)
_HASHING = threading.BoundedSemaphore(os.cpu_count() or 2)


def login(
    state: AppState, email: str, password: str, *, client: str, now: datetime | None = None
) -> tuple[str, Session] | None:
    """(token, session) for the right password of an enabled account, else None. Raises
    ``LoginThrottled`` once the account or the client has failed too often."""
    now = now or _now()
    keys = (f"email:{email.strip().lower()}", f"client:{client}")
    # the check and a provisional failure are one transaction: parallel attempts each see the
    # ones before them, so a burst cannot try more passwords than the limit
    with state.write() as con:
        wait = max(
            _retry_after(con, keys[0], MAX_FAILS_PER_ACCOUNT, now),
            _retry_after(con, keys[1], MAX_FAILS_PER_CLIENT, now),
        )
        if wait:
            raise LoginThrottled(wait)
        attempts = [
            con.execute("INSERT INTO login_attempts VALUES (?, ?, 0)", [k, _stamp(now)]).lastrowid
            for k in keys
        ]
        con.execute("DELETE FROM login_attempts WHERE at < ?", [_stamp(now - 4 * WINDOW)])
    found = find(state, email)
    with _HASHING:
        ok = verify(found[1] if found else None, password) and not (found and found[0].disabled)
    with state.write() as con:
        if ok:
            con.executemany(
                "UPDATE login_attempts SET ok = 1 WHERE rowid = ?", [(a,) for a in attempts]
            )
        if not ok or found is None:
            return None
        user, stored = found
        if needs_rehash(stored):
            con.execute(
                "UPDATE users SET password_hash = ? WHERE user_id = ?",
                [rehash(password), user.user_id],
            )
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + timedelta(hours=SESSION_HOURS)
        con.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
            [_digest(token), user.user_id, csrf, _stamp(now), _stamp(expires)],
        )
        con.execute("DELETE FROM sessions WHERE expires_at < ?", [_stamp(now)])
    return token, Session(user, csrf, expires)


def session_for(state: AppState, token: str | None, now: datetime | None = None) -> Session | None:
    """The live session of ``token`` (not expired, account enabled), or None."""
    if not token:
        return None
    now = now or _now()
    with state.read() as con:
        row = con.execute(
            "SELECT s.csrf AS session_csrf, s.expires_at AS session_expires, u.* "
            "FROM sessions s JOIN users u USING (user_id) "
            "WHERE s.token_hash = ? AND u.disabled = 0",
            [_digest(token)],
        ).fetchone()
        if row is None:
            return None
        expires = datetime.strptime(row["session_expires"], _STAMP)
        if expires <= now:
            return None
        return Session(from_row(con, row), row["session_csrf"], expires)


def logout(state: AppState, token: str | None) -> None:
    if token:
        with state.write() as con:
            con.execute("DELETE FROM sessions WHERE token_hash = ?", [_digest(token)])


def csrf_ok(session: Session, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf.encode(), str(submitted).encode())
