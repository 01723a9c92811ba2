"""A database too busy to answer in time (BEIAN_DB_WAIT) is a page that says so — 503 系统繁忙 with Retry-After, and
that nothing was changed — not an internal error; once it is free again the same request goes through. The web
server runs no more requests at once than the pool has connections."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adapters.entrypoints.web.app import create_app
from adapters.outside.db import DB_CONNECTIONS, WebSession
from tests.web.conftest import PASSWORD, Site, csrf


@pytest.fixture
def impatient(backend_url: str, site: Site, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A web app over the site's database that waits 0.3 s for it; its lifespan runs (the thread limit is set)."""
    monkeypatch.setenv("BEIAN_DB_WAIT", "0.3")
    app = create_app(backend_url, secret_key="test-secret")
    with TestClient(app, follow_redirects=False) as client:
        yield client
    app.state.service.close()


def _busy_page(response: object) -> None:
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "5"  # type: ignore[attr-defined]
    assert "系统繁忙" in response.text and "未作任何更改" in response.text  # type: ignore[attr-defined]
    assert "错误编号" not in response.text  # type: ignore[attr-defined]


def test_every_connection_in_use_is_a_busy_page_then_the_page_opens(impatient: TestClient) -> None:
    token = csrf(impatient.get("/login").text)
    assert impatient.post("/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": token,
                                          "next": "/tasks"}).status_code == 303
    engine = impatient.app.state.service.engine  # type: ignore[attr-defined]
    held = [engine.connect() for _ in range(DB_CONNECTIONS)]
    try:
        _busy_page(impatient.get("/tasks"))
    finally:
        for connection in held:
            connection.close()
    assert impatient.get("/tasks").status_code == 200


def test_another_writer_holding_sqlite_is_a_busy_page_and_nothing_is_written(
        backend_url: str, impatient: TestClient, site: Site) -> None:
    if not backend_url.startswith("sqlite:///"):
        pytest.skip("the write lock of a whole database is SQLite's")
    token = csrf(impatient.get("/login").text)
    form = {"username": "li.na", "password": PASSWORD, "csrf_token": token, "next": "/tasks"}
    with site.service.reading() as uow:
        sessions = uow.session.scalar(select(func.count()).select_from(WebSession))
    writer = sqlite3.connect(backend_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        _busy_page(impatient.post("/login", data=form))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with site.service.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(WebSession)) == sessions
    assert impatient.post("/login", data=form).status_code == 303


def test_the_web_server_runs_as_many_requests_at_once_as_there_are_connections(impatient: TestClient) -> None:
    import anyio.to_thread

    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert impatient.portal.call(tokens) == DB_CONNECTIONS  # type: ignore[union-attr]
    pool = impatient.app.state.service.engine.pool  # type: ignore[attr-defined]
    assert pool.size() + pool._max_overflow == DB_CONNECTIONS
