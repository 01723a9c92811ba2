"""Migration 0002 carries a database made before the filing lifecycle (revision 0001) into it.

The database is created at revision 0001 and given, with SQL on the tables as they were then (reflected from the
database, not the current models), what the new-filing code of that time wrote: a filing made by a completed
new-filing case (status 'active', no lifecycle columns) with its occupations and receipt, and a second application
still waiting for its acceptance task. The serialised engine state of the two cases is a placeholder: neither the
migration nor `beian init` nor `beian show` reads it. Runs once per backend (the PostgreSQL variant needs
BEIAN_TEST_POSTGRES_URL, see tests/conftest.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.engine import Connection, Engine

from adapters.outside.db import make_engine
from adapters.outside.schema import alembic_config, migrating, upgrade
from tasks.application import validate_application
from tasks.credit_code import check_character
from tasks.filing import format_filing_number
from tasks.regions import profile_for_region
from tests.conftest import EXAMPLE_APPLICATION, Beian
from workflows.definitions import bundled_sources

ISSUED_AT = datetime(2026, 10, 16, 16, 0, 1)  # 2026-10-17 00:00:01 in Shanghai, stored as naive UTC
RECEIVED_AT = datetime(2026, 9, 24, 2, 0, 0)
VALID_FROM, VALID_UNTIL = date(2026, 10, 17), date(2029, 10, 16)
FILED_CASE, OPEN_CASE = "BA2026-00001", "BA2026-00002"
INIT_AT = "2027-01-10T10:00:00+08:00"
WINDOW_OPENS = "2029-07-16T00:00:00+08:00"  # three calendar months before the last valid day
LIFECYCLE_TABLES = {"filing_periods", "filing_changes", "violations"}
LIFECYCLE_FILING_COLUMNS = {"base_status", "status_reason", "status_article", "status_since", "record",
                            "suspended_by", "parent_id", "rating", "termination_kind", "terminated_on",
                            "termination"}


@dataclass(frozen=True)
class OldDatabase:
    url: str
    engine: Engine
    filing_number: str
    filing_id: int
    application: dict[str, Any]


def _migrate(engine: Engine, url: str, revision: str, *, down: bool = False) -> None:
    config = alembic_config(url)
    with engine.connect() as connection, migrating(connection):  # as adapters.outside.schema.upgrade does
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _tables(connection: Connection) -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return dict(metadata.tables)


def _insert_issue_2_rows(connection: Connection, application: dict[str, Any]) -> tuple[str, int]:
    """What the new-filing code of revision 0001 (issue 2) left in the database: returns (filing number, id)."""
    t = _tables(connection)
    source = next(s for s in bundled_sources() if s.process_id == "filing_application")
    definition_id = connection.execute(t["process_definitions"].insert().values(
        process_id=source.process_id, version=1, name=source.name, file_name=source.file_name,
        bpmn_xml=source.bpmn_xml, forms=source.forms, sha256=source.sha256, deployed_at=RECEIVED_AT,
        deployed_by="admin")).inserted_primary_key[0]
    institution = application["institution"]
    common = {"process_id": "filing_application", "definition_id": definition_id, "state": "{}",
              "status_article": "", "region": application["region"],
              "authority_level": application["authority_level"], "received_at": RECEIVED_AT,
              "started_at": RECEIVED_AT, "error": None, "error_at": None}
    connection.execute(t["instances"].insert().values(
        case_id=FILED_CASE, status="filed", status_reason="已备案", status_since=ISSUED_AT,
        institution_name=institution["name"], credit_code=institution["credit_code"], application=application,
        updated_at=ISSUED_AT, completed_at=ISSUED_AT, row_version=9, **common))
    other = copy.deepcopy(application)
    other["institution"]["name"] = "成都示例职业技能评价有限公司"
    other["institution"]["credit_code"] = "91510100MA6CB1239" + check_character("91510100MA6CB1239")
    open_id = connection.execute(t["instances"].insert().values(
        case_id=OPEN_CASE, status="applied", status_reason="已申请（受理审查中）", status_since=RECEIVED_AT,
        institution_name=other["institution"]["name"], credit_code=other["institution"]["credit_code"],
        application=other, updated_at=RECEIVED_AT, completed_at=None, row_version=1, **common)).inserted_primary_key[0]
    connection.execute(t["human_tasks"].insert().values(
        id="00000000-0000-4000-8000-000000000002", instance_id=open_id, case_id=OPEN_CASE,
        process_id="filing_application", bpmn_id="acceptance", name="受理审查", role="intake",
        region=application["region"], form="acceptance", article="", due_at=datetime(2026, 10, 15, 16, 0),
        provisional=False, deadline=None, created_at=RECEIVED_AT, context={}, claimed_by=None))

    profile = profile_for_region(application["region"])
    number = format_filing_number(profile, VALID_FROM.year, 1, application["authority_level"],
                                  application["region"])
    receipt_id = connection.execute(t["documents"].insert().values(
        case_id=FILED_CASE, kind="filing_receipt", title="职业技能等级评价机构备案回执", number=number,
        html=f"<html><body>备案编号 {number}</body></html>", issued_at=ISSUED_AT)).inserted_primary_key[0]
    filing_id = connection.execute(t["filings"].insert().values(
        filing_number=number, case_id=FILED_CASE, credit_code=institution["credit_code"],
        institution_name=institution["name"], institution_type=institution["type"], region=application["region"],
        authority_level=application["authority_level"], status="active", valid_from=VALID_FROM,
        valid_until=VALID_UNTIL, issued_at=ISSUED_AT, receipt_document_id=receipt_id)).inserted_primary_key[0]
    for occupation in application["occupations"]:
        connection.execute(t["filing_occupations"].insert().values(
            filing_id=filing_id, occupation_code=occupation["code"], occupation_name=occupation["name"],
            levels=occupation["levels"], basis=occupation["basis"]))
    connection.execute(t["audit_log"].insert().values(
        at=ISSUED_AT, case_id=FILED_CASE, actor="timer", action="filing_issued",
        summary=f"准予备案：备案编号 {number}，有效期 {VALID_FROM} 至 {VALID_UNTIL}", article="", detail={}))
    connection.execute(t["sequences"].insert(), [{"name": "case:2026", "value": 2},
                                                 {"name": f"filing:{profile.key}:2026", "value": 1}])
    return number, filing_id


@pytest.fixture
def old_database(backend_url: str) -> Iterator[OldDatabase]:
    engine = make_engine(backend_url)
    _migrate(engine, backend_url, "0001")
    application = validate_application(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))
    with engine.begin() as connection:
        number, filing_id = _insert_issue_2_rows(connection, application)
    yield OldDatabase(backend_url, engine, number, filing_id, application)
    engine.dispose()


def _assert_carried_into_the_lifecycle(old: OldDatabase) -> None:
    with old.engine.connect() as connection:
        t = _tables(connection)
        filing = connection.execute(select(t["filings"])).mappings().one()
        assert (filing["status"], filing["base_status"]) == ("filed", "filed")
        assert filing["status_since"] == ISSUED_AT
        assert filing["record"] == old.application
        assert filing["suspended_by"] == [] and filing["termination_kind"] is None and filing["parent_id"] is None
        instances = dict(connection.execute(select(t["instances"].c.case_id, t["instances"].c.filing_id)).all())
        assert instances == {FILED_CASE: old.filing_id, OPEN_CASE: None}
        periods = connection.execute(select(t["filing_periods"])).mappings().all()
        assert [(p["filing_id"], p["period"], p["valid_from"], p["valid_until"], p["case_id"], p["granted_at"])
                for p in periods] == [(old.filing_id, 1, VALID_FROM, VALID_UNTIL, FILED_CASE, ISSUED_AT)]
        # Nothing that was there is lost, in particular the rows that refer to the two tables the migration alters
        # (on SQLite it rebuilds them): the filing's occupations, the open application's task.
        assert connection.scalar(select(func.count()).select_from(t["filing_occupations"])) == 2
        assert connection.scalar(select(t["human_tasks"].c.case_id)) == OPEN_CASE


def _assert_at_0001(old: OldDatabase) -> None:
    inspector = inspect(old.engine)
    assert not LIFECYCLE_TABLES & set(inspector.get_table_names())
    assert not LIFECYCLE_FILING_COLUMNS & {c["name"] for c in inspector.get_columns("filings")}
    assert not {"filing_id", "request"} & {c["name"] for c in inspector.get_columns("instances")}
    with old.engine.connect() as connection:
        t = _tables(connection)
        assert connection.execute(select(t["filings"].c.status, t["filings"].c.issued_at)).all() == [
            ("active", ISSUED_AT)]
        assert connection.scalar(select(func.count()).select_from(t["filing_occupations"])) == 2
        assert connection.scalar(select(t["human_tasks"].c.case_id)) == OPEN_CASE


def _validity_watches(cli: Beian, number: str) -> list[dict[str, Any]]:
    return [c for c in cli.json("show", number)["cases"] if c["process"] == "filing_validity"]


def test_an_issue_2_filing_is_carried_into_the_lifecycle_and_watched(old_database: OldDatabase) -> None:
    old = old_database
    upgrade(old.engine)  # what `beian init` runs first
    _assert_carried_into_the_lifecycle(old)

    cli = Beian(old.url)
    cli("init", now=INIT_AT)
    watches = _validity_watches(cli, old.filing_number)
    assert len(watches) == 1 and watches[0]["open"] and watches[0]["case"].startswith("YX2027-")
    cli("init", now="2027-01-11T10:00:00+08:00")
    assert _validity_watches(cli, old.filing_number) == watches  # a second init opens no other watch

    shown = cli.json("show", old.filing_number, now=INIT_AT)
    assert (shown["status"], shown["status_since"]) == ("filed", "2026-10-17T00:00:01+08:00")
    assert shown["case"] == FILED_CASE and shown["institution"] == old.application["institution"]
    assert [(c["case"], c["open"]) for c in shown["cases"]] == [(FILED_CASE, False), (watches[0]["case"], True)]
    assert [(w["case"], w["due"]) for w in shown["waiting_for"]] == [(watches[0]["case"], WINDOW_OPENS)]
    assert [(p["period"], p["valid_from"], p["valid_until"], p["case"]) for p in shown["filing"]["periods"]] == [
        (1, "2026-10-17", "2029-10-16", FILED_CASE)]
    assert "filing_receipt" in [d["kind"] for d in shown["documents"]]
    assert [f["filing_number"] for f in cli.json("filings", "--status", "filed")] == [old.filing_number]
    # The open application is untouched: still waiting for its acceptance.
    assert [(t["case"], t["bpmn_id"]) for t in cli.json("tasks", now=INIT_AT)] == [(OPEN_CASE, "acceptance")]

    # The watch works on the migrated record: the renewal window opens with its reminder.
    swept = cli.json("sweep", now="2029-07-16T00:00:01+08:00")
    assert [f["case"] for f in swept["fired"]] == [watches[0]["case"]] and swept["failed"] == []
    shown = cli.json("show", old.filing_number)
    assert shown["status"] == "renewal_window"
    assert [d["kind"] for d in shown["documents"]].count("renewal_reminder") == 1


def test_downgrade_to_0001_and_back(old_database: OldDatabase) -> None:
    old = old_database
    upgrade(old.engine)
    _migrate(old.engine, old.url, "0001", down=True)
    _assert_at_0001(old)
    upgrade(old.engine)
    _assert_carried_into_the_lifecycle(old)  # one period again, not a second one

    cli = Beian(old.url)
    cli("init", now=INIT_AT)
    assert len(_validity_watches(cli, old.filing_number)) == 1

