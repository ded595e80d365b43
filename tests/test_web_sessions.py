"""Logging in: sessions, signed cookies, CSRF tokens, expiry and throttling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from brightspots.web import sessions
from brightspots.web.appstate import AppState
from brightspots.web.sessions import LoginThrottled, csrf_ok, login, logout, session_for
from brightspots.web.users import add_user, set_disabled
from brightspots.workspace import init_workspace

PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 26, 9, 0, 0)


@pytest.fixture
def state(tmp_path) -> AppState:
    init_workspace(tmp_path / "ws").close()
    s = AppState(tmp_path / "ws")
    add_user(s, "lee@acme.example", "rep", PASSWORD, rep_id="R-0001")
    return s


def test_a_session_from_the_right_password(state) -> None:
    token, s = login(state, "Lee@Acme.example", PASSWORD, client="10.0.0.1", now=T0)
    assert s.user.email == "lee@acme.example" and s.expires_at == T0 + timedelta(hours=12)
    assert len(token) >= 43 and token not in s.csrf
    again = session_for(state, token, now=T0 + timedelta(hours=11))
    assert again is not None and again.user == s.user and again.csrf == s.csrf
    # only the token's hash is stored
    with state.read() as con:
        stored = [r[0] for r in con.execute("SELECT token_hash FROM sessions")]
    assert token not in stored and len(stored) == 1
    assert session_for(state, token, now=T0 + timedelta(hours=12)) is None  # expired
    assert session_for(state, "made-up", now=T0) is None
    logout(state, token)
    assert session_for(state, token, now=T0) is None


def test_wrong_passwords_and_unknown_accounts_get_nothing(state) -> None:
    assert login(state, "lee@acme.example", PASSWORD + "x", client="c", now=T0) is None
    assert login(state, "nobody@acme.example", PASSWORD, client="c", now=T0) is None
    set_disabled(state, "lee@acme.example", True)
    assert login(state, "lee@acme.example", PASSWORD, client="c", now=T0) is None


def test_a_disabled_account_loses_its_session(state) -> None:
    token, _ = login(state, "lee@acme.example", PASSWORD, client="c", now=T0)
    set_disabled(state, "lee@acme.example", True)
    assert session_for(state, token, now=T0) is None


def test_signed_cookies_refuse_any_change(state) -> None:
    token, _ = login(state, "lee@acme.example", PASSWORD, client="c", now=T0)
    value = sessions.cookie_value(state, token)
    assert sessions.token_of(state, value) == token
    assert sessions.token_of(state, value[:-1] + ("A" if value[-1] != "A" else "B")) is None
    assert sessions.token_of(state, "x" + value) is None
    assert sessions.token_of(state, token) is None  # unsigned
    assert sessions.token_of(state, None) is None


def test_csrf_tokens(state) -> None:
    _, s = login(state, "lee@acme.example", PASSWORD, client="c", now=T0)
    assert csrf_ok(s, s.csrf)
    assert not csrf_ok(s, s.csrf[:-1]) and not csrf_ok(s, "") and not csrf_ok(s, None)


def test_five_failures_lock_the_account_for_a_while(state) -> None:
    for i in range(5):
        assert login(state, "lee@acme.example", "wrong password!", client=f"c{i}", now=T0) is None
    with pytest.raises(LoginThrottled) as e:
        login(state, "lee@acme.example", PASSWORD, client="c9", now=T0 + timedelta(minutes=1))
    assert 0 < e.value.retry_after <= 15 * 60
    # once the failures leave the 15-minute window the right password works again
    assert login(state, "lee@acme.example", PASSWORD, client="c9", now=T0 + timedelta(minutes=16))


def test_one_client_failing_on_many_accounts_is_locked(state) -> None:
    for i in range(20):
        login(state, f"guess{i}@acme.example", "wrong password!", client="10.9.9.9", now=T0)
    with pytest.raises(LoginThrottled):
        login(state, "lee@acme.example", PASSWORD, client="10.9.9.9", now=T0)
    # another client is not affected
    assert login(state, "lee@acme.example", PASSWORD, client="10.0.0.2", now=T0) is not None


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(tmp_path):
    import threading

    from brightspots.web.appstate import AppState
    from brightspots.web.sessions import MAX_FAILS_PER_ACCOUNT, LoginThrottled, login
    from brightspots.web.users import add_user
    from brightspots.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    state = AppState(ws.root)
    add_user(state, "a@example.com", "admin", "the right password")
    tried, throttled = [], []

    def guess(i: int) -> None:
        try:
            login(state, "a@example.com", f"wrong guess {i}", client=f"10.0.0.{i}")
            tried.append(i)
        except LoginThrottled:
            throttled.append(i)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tried) == MAX_FAILS_PER_ACCOUNT and len(throttled) == 16 - MAX_FAILS_PER_ACCOUNT
