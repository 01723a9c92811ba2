"""Migration 0007 (web sessions in the database): down to 0006 removes the table and keeps every case and account; up
again brings it back empty (everyone signs in once more). SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select

from adapters.outside.db import WebSession
from tests.conftest import Beian
from tests.support.migrations import downgrade
from tests.support.scenarios import apply
from workflows.service import Beian as Service
from workflows.sessions import live_sessions, session_of, start_session
from workflows.users import add_user, list_users

SECRET = "migration-test-secret"


def _down_to_0006(url: str) -> None:
    assert "web_sessions" not in downgrade(url, "0006")


def test_sessions_go_with_the_downgrade_and_come_back_empty(beian: Beian, write_json: Any,
                                                            application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    service = Service(beian.url)
    try:
        add_user(service, "li.na", "李娜", "correct-horse-1", ["intake"], "510100", actor="test")
        token, _ = start_session(service, SECRET, "li.na", client="127.0.0.1", user_agent="test")
        assert session_of(service, SECRET, token) is not None
    finally:
        service.close()

    _down_to_0006(beian.url)
    assert beian.json("show", case)["status"] == "applied"

    assert beian.json("init")  # upgrades to the head again
    service = Service(beian.url)
    try:
        assert "web_sessions" in inspect(service.engine).get_table_names()
        with service.reading() as uow:
            assert list(uow.session.scalars(select(WebSession))) == []
        assert session_of(service, SECRET, token) is None  # the session before the downgrade is gone
        assert live_sessions(service) == []
        assert [user.username for user in list_users(service)] == ["li.na"]
    finally:
        service.close()
    assert beian.json("show", case)["status"] == "applied"
