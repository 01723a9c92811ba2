"""Migration 0003 (outbox, message waits, stuck cases, failure count) on a database with running cases: down to 0002
and up again keeps every case, and `beian init` then projects the waits of cases that were already waiting for an
outside message (they have no row, since the projection did not exist when they started waiting)."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import delete, inspect, select

from adapters.outside.db import Instance, MessageWait, Sequence
from adapters.outside.schema import alembic_config, migrating
from tests.conftest import Beian
from tests.support.scenarios import apply, complete
from workflows.service import Beian as ServiceApp


def test_down_and_up_keeps_cases_and_init_projects_the_waits_of_running_cases(
        beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    complete(beian, case, "acceptance", {"decision": "supplement", "reasons": "缺少考评人员名单"},
             "2026-09-28T10:00:00+08:00")  # now waiting for the resubmission
    app = ServiceApp(beian.url)
    try:
        with app.uow() as uow:
            waits = list(uow.session.scalars(select(MessageWait)))
            assert [(w.case_id, w.message) for w in waits] == [(case, "resubmission")]
        config = alembic_config(beian.url)
        with app.engine.connect() as connection, migrating(connection):
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        tables = set(inspect(app.engine).get_table_names())
        assert not tables & {"outbox", "message_waits", "stuck_cases"} and "instances" in tables
        with app.engine.connect() as connection, migrating(connection):
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        with app.uow() as uow:  # as a database that had never had the projection
            uow.session.execute(delete(Sequence).where(Sequence.name == "projection:message_waits"))
            uow.commit()
    finally:
        app.close()

    beian("init")
    app = ServiceApp(beian.url)
    try:
        with app.uow() as uow:
            instance = uow.repo.instance(case)
            assert instance is not None and instance.status == "applied"
            waits = list(uow.session.scalars(select(MessageWait)))
            assert [(w.case_id, w.message, w.since) for w in waits] == [(case, "resubmission", instance.updated_at)]
            assert uow.session.scalar(select(Instance.error_count).where(Instance.case_id == case)) == 0
    finally:
        app.close()
    beian("init")  # once per database: a second init changes nothing
    assert beian.json("show", case)["status"] == "applied"
