"""What is specific to PostgreSQL: the migration on a real server, the append-only trigger, and row locks.

Every scenario test already runs on PostgreSQL too (see the `beian` fixture); these tests cover what SQLite cannot
show: `SELECT … FOR UPDATE` serialising two steps on one case, counters created by two transactions at once, the
append-only trigger including TRUNCATE, and VARCHAR lengths (enforced by PostgreSQL, ignored by SQLite).
They need BEIAN_TEST_POSTGRES_URL (see tests/conftest.py): skipped locally without it, failing on CI.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError

from adapters.outside.db import Base
from adapters.outside.schema import alembic_config
from tasks.errors import BeianError, IllegalEvent, NotFound
from tests.conftest import Beian
from tests.support.postgres import sessions_waiting_for_a_lock, wait_until
from tests.support.scenarios import RECEIVED, apply, task, to_publicity
from workflows import engine as workflow_engine
from workflows.service import Beian as App

APPEND_ONLY_TRIGGERS = {"audit_log_no_change", "audit_log_no_truncate"}


def _triggers(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal")))


def test_migration_creates_the_schema_with_the_append_only_trigger(cli: Beian, pg: Engine) -> None:
    assert set(inspect(pg).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    with pg.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # UTCDateTime is stored as a plain TIMESTAMP by design; any other difference means a missing migration.
    assert [d for d in differences if not (isinstance(d, tuple) and d[0] == "modify_type")] == []
    assert _triggers(pg) == APPEND_ONLY_TRIGGERS
    with pg.connect() as connection:
        history = connection.scalar(text("SELECT count(*) FROM audit_log"))
    assert history > 0  # `init` recorded the deployment

    for statement in ("UPDATE audit_log SET summary = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(DatabaseError, match="append-only") as refused, pg.begin() as connection:
            connection.execute(text(statement))
        assert refused.value.orig.sqlstate == "P0001"  # type: ignore[union-attr]  # RAISE EXCEPTION
    with pg.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM audit_log")) == history


def test_downgrade_removes_everything(cli: Beian, pg: Engine) -> None:
    config = alembic_config(cli.url)
    with pg.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(pg).get_table_names()) == {"alembic_version"}
    with pg.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_log_append_only'")) == 0
    cli("init")  # and back up again
    assert _triggers(pg) == APPEND_ONLY_TRIGGERS


def test_row_lock_serialises_two_caseworkers_completing_the_same_task(cli: Beian, pg: Engine, write_json: Any,
                                                                      application: dict[str, Any],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    case = apply(cli, write_json, application)
    acceptance = task(cli, case, "acceptance", RECEIVED)
    first_holds_the_lock = threading.Event()
    real_load = workflow_engine.load_state
    loads: list[str] = []

    def load_and_hold(state: str, spec: Any, subprocess_specs: Any, fetch: Any = None) -> Any:
        # Runs right after `SELECT … FOR UPDATE` on the instance row: the first step keeps its lock until the
        # second one is seen waiting for it, so the two steps certainly overlap.
        loads.append(threading.current_thread().name)
        if len(loads) == 1:
            first_holds_the_lock.set()
            wait_until(lambda: sessions_waiting_for_a_lock(pg) == 1, "the second step waits for the row lock")
        return real_load(state, spec, subprocess_specs, fetch)

    monkeypatch.setattr(workflow_engine, "load_state", load_and_hold)
    outcomes: dict[str, BeianError | None] = {}
    crashes: list[BaseException] = []

    def attempt(decision: str) -> None:
        app = App(cli.url)
        try:
            app.cases.complete(acceptance["id"], {"decision": decision, "reasons": "并发测试"})
            outcomes[decision] = None
        except BeianError as exc:
            outcomes[decision] = exc
        except BaseException as exc:  # e.g. the second step never waited: reported by the main thread
            crashes.append(exc)
        finally:
            app.engine.dispose()

    first = threading.Thread(target=attempt, args=("accept",), name="accept")
    second = threading.Thread(target=attempt, args=("reject",), name="reject")
    first.start()
    assert first_holds_the_lock.wait(10)
    second.start()
    first.join(20)
    second.join(20)
    monkeypatch.undo()

    assert not first.is_alive() and not second.is_alive(), "both caseworkers' steps must have finished"
    assert crashes == []
    assert loads == ["accept", "reject"]  # the second step read the state only after the first committed
    assert outcomes["accept"] is None
    refused = outcomes["reject"]
    assert isinstance(refused, IllegalEvent | NotFound), refused  # a clear refusal, not a ConcurrentChange
    assert "已不再有效" in refused.message or "不存在" in refused.message
    shown = cli.json("show", case)
    assert shown["status"] == "under_review"
    assert [h["action"] for h in shown["history"]].count("task_completed") == 1


def test_two_transactions_create_the_same_counter_at_once(cli: Beian) -> None:
    # The first transaction inserts the new counter row and keeps it uncommitted while the second asks for the
    # same counter: the second must wait and continue from 1, not fail on the duplicate primary key.
    first_inserted = threading.Event()
    values: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        app = App(cli.url)
        try:
            with app.uow() as uow:
                values["first"] = uow.repo.next_value("case:2099")
                first_inserted.set()
                wait_until(lambda: sessions_waiting_for_a_lock(app.engine) == 1,
                            "the second transaction waits for the new counter row")
                uow.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            first_inserted.set()
        finally:
            app.engine.dispose()

    def second() -> None:
        app = App(cli.url)
        try:
            with app.uow() as uow:
                values["second"] = uow.repo.next_value("case:2099")
                uow.commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            app.engine.dispose()

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_inserted.wait(10)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "a transaction never finished"
    assert errors == []
    assert values == {"first": 1, "second": 2}
    app = App(cli.url)
    with app.uow() as uow:
        assert uow.repo.next_value("case:2099") == 3
    app.engine.dispose()


def test_two_applications_at_once_get_distinct_case_numbers(cli: Beian, write_json: Any,
                                                            application: dict[str, Any]) -> None:
    barrier = threading.Barrier(2)
    cases: list[str] = []
    errors: list[BaseException] = []

    def submit() -> None:
        app = App(cli.url)
        try:
            barrier.wait()
            cases.append(app.cases.apply(application)["case"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            app.engine.dispose()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a submission never finished"
    assert errors == []
    assert len(set(cases)) == 2
    assert [cli.json("show", case)["status"] for case in cases] == ["applied", "applied"]


def test_longest_application_the_schema_allows_is_filed(cli: Beian, pg: Engine, write_json: Any,
                                                        application: dict[str, Any]) -> None:
    # PostgreSQL enforces VARCHAR lengths (SQLite ignores them): every length the application schema allows must
    # fit the columns it is copied into, all the way to the filing record.
    codes = [occupation["code"] for occupation in application["occupations"]]
    text_form = json.dumps(application, ensure_ascii=False)
    for code in codes:  # the longest code: a work type (工种) under the occupation, wherever the code is named
        text_form = text_form.replace(f'"{code}"', f'"{code}-01"')
    application = json.loads(text_form)
    application["institution"]["name"] = "成都锦城精工机械制造有限公司" + "测" * (200 - 14)
    for occupation in application["occupations"]:
        occupation["name"] = occupation["name"] + "工" * (100 - len(occupation["name"]))
    case = apply(cli, write_json, application)
    to_publicity(cli, case)
    cli.json("sweep", now="2026-10-17T00:00:01+08:00")
    shown = cli.json("show", case)
    assert shown["status"] == "filed" and shown["institution"]["name"] == application["institution"]["name"]
    with pg.connect() as connection:
        stored = connection.execute(text(
            "SELECT f.institution_name, o.occupation_code, o.occupation_name FROM filings f "
            "JOIN filing_occupations o ON o.filing_id = f.id WHERE f.case_id = :case ORDER BY o.id"),
            {"case": case}).all()
    assert [tuple(row) for row in stored] == [
        (application["institution"]["name"], o["code"], o["name"]) for o in application["occupations"]]
