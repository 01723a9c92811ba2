"""Sessions that end (SQLite and PostgreSQL): a copy of a session cookie opens nothing once its session has ended —
by signing out, a password change, disabling the account, an administrator's 全部登出, its age or idleness — on
this web server and on any other sharing the database."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from adapters.entrypoints.web.app import ANONYMOUS_CSRF_COOKIE, SESSION_COOKIE, create_app
from adapters.outside.db import AuditEvent, WebSession
from tests.conftest import Beian as Cli
from tests.web.conftest import PASSWORD, Site, csrf
from workflows import clock
from workflows.sessions import IDLE_MINUTES, KEEP_ENDED, SESSION_HOURS, live_sessions
from workflows.users import set_active, set_password


def _replay(site: Site, token: str, app: object = None) -> TestClient:
    """A browser that has only a copy of the cookie."""
    return TestClient(app or site.app, follow_redirects=False, cookies={SESSION_COOKIE: token})


def _opens_worklist(client: TestClient) -> bool:
    response = client.get("/tasks")
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login")
        return False
    assert response.status_code == 200, response.text
    return True


def _signed_in(site: Site, username: str) -> tuple[TestClient, str]:
    client = site.client(username)
    token = client.cookies.get(SESSION_COOKIE)
    assert token and _opens_worklist(_replay(site, token))
    return client, token


def test_the_cookie_holds_a_random_token_and_the_database_only_its_keyed_hash(site: Site) -> None:
    _, token = _signed_in(site, "li.na")
    with site.service.uow() as uow:
        (token_hash, username), = uow.session.execute(text("SELECT token_hash, username FROM web_sessions")).all()
    assert username == "li.na" and token not in token_hash and len(token_hash) == 64
    assert "li.na" not in token  # nothing readable in the cookie


def test_a_copied_cookie_is_refused_after_signing_out(site: Site) -> None:
    client, token = _signed_in(site, "li.na")
    signed_out = client.post("/logout", data={"csrf_token": csrf(client.get("/tasks").text)})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login"
    assert not _opens_worklist(_replay(site, token))
    assert not _opens_worklist(client)


def test_a_copied_cookie_is_refused_after_a_password_change(site: Site) -> None:
    _, token = _signed_in(site, "li.na")
    _, other_browser = _signed_in(site, "li.na")
    set_password(site.service, "li.na", "another-horse-2", actor="admin")
    assert not _opens_worklist(_replay(site, token))
    assert not _opens_worklist(_replay(site, other_browser))  # every session of the account
    _, colleague = _signed_in(site, "li.wei")
    assert _opens_worklist(_replay(site, colleague))  # nobody else's
    with site.service.uow() as uow:
        (event,) = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "password_changed")).all()
        assert event.detail["sessions_ended"] == 2 and "2 个登录会话随之结束" in event.summary


def test_a_copied_cookie_is_refused_after_the_cli_password_change(site: Site, cli: Cli,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = _signed_in(site, "li.na")
    monkeypatch.setattr("sys.stdin", io.StringIO("another-horse-2\n"))
    cli("users", "passwd", "li.na", "--password-stdin")
    assert not _opens_worklist(_replay(site, token))


def test_a_copied_cookie_is_refused_once_the_account_is_disabled_and_stays_refused(site: Site) -> None:
    _, token = _signed_in(site, "li.na")
    set_active(site.service, "li.na", False, actor="admin")
    assert not _opens_worklist(_replay(site, token))
    set_active(site.service, "li.na", True, actor="admin")
    assert not _opens_worklist(_replay(site, token))  # re-enabling does not bring the old session back


def test_an_administrator_signs_a_caseworker_out_everywhere(site: Site) -> None:
    _, token = _signed_in(site, "li.na")
    _, second = _signed_in(site, "li.na")
    admin = site.client("admin")
    page = admin.get("/admin/sessions")
    assert page.status_code == 200 and "会话管理" in page.text and page.text.count("li.na") >= 2
    done = admin.post("/admin/sessions/signout", data={"csrf_token": csrf(page.text), "username": "li.na"})
    assert done.status_code == 303
    assert "共 2 个" in admin.get(done.headers["location"]).text
    assert not _opens_worklist(_replay(site, token)) and not _opens_worklist(_replay(site, second))
    assert _opens_worklist(admin)  # the administrator's own session goes on


def test_only_administrators_manage_sessions_and_only_with_the_csrf_token(site: Site) -> None:
    _, token = _signed_in(site, "li.na")
    clerk = site.client("li.na")
    refused = clerk.get("/admin/sessions")
    assert refused.status_code == 403 and "只有管理员" in refused.text
    posted = clerk.post("/admin/sessions/signout", data={"csrf_token": csrf(clerk.get("/tasks").text),
                                                          "username": "li.na"})
    assert posted.status_code == 403
    admin = site.client("admin")
    forged = admin.post("/admin/sessions/signout", data={"csrf_token": "x" * 43, "username": "li.na"})
    assert forged.status_code == 403 and "安全校验未通过" in forged.text
    unknown = admin.post("/admin/sessions/signout", data={"csrf_token": csrf(admin.get("/tasks").text),
                                                          "username": "nobody"})
    assert unknown.status_code == 403 and "不存在" in unknown.text
    assert _opens_worklist(_replay(site, token))


def test_a_session_ends_after_its_hours_and_after_idleness(site: Site) -> None:
    start = clock.now()
    with clock.using_clock(clock.VirtualClock(start)):
        _, token = _signed_in(site, "li.na")
    # Used every half hour, it still ends SESSION_HOURS after the sign-in.
    moment = start
    while moment + timedelta(minutes=30) < start + timedelta(hours=SESSION_HOURS):
        moment += timedelta(minutes=30)
        with clock.using_clock(clock.VirtualClock(moment)):
            assert _opens_worklist(_replay(site, token))
    with clock.using_clock(clock.VirtualClock(start + timedelta(hours=SESSION_HOURS, seconds=1))):
        assert not _opens_worklist(_replay(site, token))

    with clock.using_clock(clock.VirtualClock(start)):
        _, idle = _signed_in(site, "li.wei")
    with clock.using_clock(clock.VirtualClock(start + timedelta(minutes=IDLE_MINUTES, seconds=1))):
        assert not _opens_worklist(_replay(site, idle))
        assert [s.username for s in live_sessions(site.service)] == []


def test_web_servers_sharing_the_database_share_the_sessions(site: Site, backend_url: str) -> None:
    other = create_app(backend_url, secret_key="test-secret")
    try:
        client, token = _signed_in(site, "li.na")
        assert _opens_worklist(_replay(site, token, other))
        client.post("/logout", data={"csrf_token": csrf(client.get("/tasks").text)})
        assert not _opens_worklist(_replay(site, token, other))
    finally:
        other.state.service.close()


def test_a_new_web_secret_ends_every_session(site: Site, backend_url: str) -> None:
    _, token = _signed_in(site, "li.na")
    rotated = create_app(backend_url, secret_key="a-new-secret")
    try:
        assert not _opens_worklist(_replay(site, token, rotated))
    finally:
        rotated.state.service.close()


def test_signing_in_needs_the_login_pages_own_token(site: Site) -> None:
    client = site.client()
    page = client.get("/login")
    assert client.cookies.get(ANONYMOUS_CSRF_COOKIE) == csrf(page.text)
    stranger = TestClient(site.app, follow_redirects=False)  # a form posted from another site: no cookie
    refused = stranger.post("/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": csrf(page.text)})
    assert refused.status_code == 403 and SESSION_COOKIE not in stranger.cookies
    signed_in = client.post("/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": csrf(page.text)})
    assert signed_in.status_code == 303 and client.cookies.get(SESSION_COOKIE)


@pytest.fixture
def cli(backend_url: str) -> Iterator[Cli]:
    yield Cli(backend_url)


def test_the_cli_lists_sessions_and_signs_a_user_out(site: Site, cli: Cli) -> None:
    _, token = _signed_in(site, "li.na")
    _signed_in(site, "li.wei")
    listed = cli.json("users", "sessions")
    assert sorted(s["username"] for s in listed) == ["li.na", "li.wei"]
    assert all(set(s) >= {"created_at", "last_seen_at", "expires_at", "client"} for s in listed)
    assert [s["username"] for s in cli.json("users", "sessions", "li.na")] == ["li.na"]
    ended = cli.json("users", "signout", "li.na")
    assert ended == {"username": "li.na", "sessions_ended": 1}
    assert not _opens_worklist(_replay(site, token))
    assert [s["username"] for s in cli.json("users", "sessions")] == ["li.wei"]
    missing = cli("users", "signout", "nobody", expect=3)
    assert "不存在" in missing.err


def test_ended_sessions_are_kept_a_week_for_the_record_then_deleted_at_a_sign_in(site: Site) -> None:
    start = clock.now()
    with clock.using_clock(clock.VirtualClock(start)):
        client, _ = _signed_in(site, "li.na")
        client.post("/logout", data={"csrf_token": csrf(client.get("/tasks").text)})

    def reasons() -> list[tuple[str, str | None]]:
        with site.service.reading() as uow:
            return [(row.username, row.ended_reason) for row in uow.session.scalars(select(WebSession))]

    with clock.using_clock(clock.VirtualClock(start + timedelta(hours=SESSION_HOURS) + KEEP_ENDED
                                              - timedelta(minutes=1))):
        _signed_in(site, "li.wei")
        assert sorted(reasons()) == [("li.na", "signed_out"), ("li.wei", None)]
    with clock.using_clock(clock.VirtualClock(start + timedelta(hours=SESSION_HOURS) + KEEP_ENDED
                                              + timedelta(minutes=1))):
        _signed_in(site, "wang.fang")
        assert sorted(reasons()) == [("li.wei", None), ("wang.fang", None)]


def test_the_session_cookie_is_http_only_and_same_site(site: Site) -> None:
    client = site.client()
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": token})
    cookie = next(value for value in response.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie and "Max-Age=28800" in cookie
