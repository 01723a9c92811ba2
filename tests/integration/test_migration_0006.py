"""Migration 0006 (the database clock) on databases made before it: one with accounts is taken as live (the web app,
which runs in real time, is what accounts are for), one without is neither live nor practice; the command line judges
a database not yet upgraded by the same rule. Down and up again keeps every case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.conftest import Beian
from tests.support.cli import clock_marker
from tests.support.migrations import downgrade
from tests.support.scenarios import apply
from workflows.database_clock import LEGACY_LIVE
from workflows.service import Beian as Service
from workflows.users import add_user


def _down_to_0005(url: str) -> None:
    assert "database_clock" not in downgrade(url, "0005")


def test_a_database_with_accounts_is_live_after_the_upgrade(beian: Beian, write_json: Any,
                                                            application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    service = Service(beian.url)
    try:
        add_user(service, "li.na", "李娜", "correct-horse-1", ["intake"], "510100", actor="test")
    finally:
        service.close()
    _down_to_0005(beian.url)

    # Not upgraded yet: judged by the migration's rule, so `--now` may not write to it …
    assert clock_marker(beian.url).real_time_by == LEGACY_LIVE
    refused = beian("sweep", now="2026-10-20T10:00:00+08:00", expect=9)
    assert LEGACY_LIVE in refused.err
    assert beian.json("show", case)["status"] == "applied"  # … but reading works

    assert beian.json("init")["clock"] == "live"
    marker = clock_marker(beian.url)
    assert marker.live and marker.real_time_by == LEGACY_LIVE and marker.real_time_since is not None
    assert beian.json("show", case)["status"] == "applied"


def test_a_database_without_accounts_stays_open_to_the_virtual_clock(beian: Beian, write_json: Any,
                                                                     application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)  # a tester's database, on the virtual clock only
    _down_to_0005(beian.url)
    assert clock_marker(beian.url).kind == "new"
    assert beian.json("init", now="2026-09-25T10:00:00+08:00")["clock"] == "new"
    assert beian.json("show", case)["status"] == "applied"
    beian("complete", [t for t in beian.json("tasks", "--case", case)][0]["id"], "--data",
          '{"decision": "accept"}', now="2026-09-28T10:00:00+08:00")
    assert clock_marker(beian.url).kind == "new"
    engine = Service(beian.url).engine
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT id, practice FROM database_clock")).all() == [(1, False)]
    finally:
        engine.dispose()
