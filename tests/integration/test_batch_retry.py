"""Batch retry: every case stuck for one reason, waiting on one outside system, or on one process version is retried,
each once, and no other case is touched. Real cases through the service layer on the virtual clock (SQLite and
PostgreSQL), the outside system over HTTP on the sandbox, and the command line for `beian retry --reason …`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from adapters.outside.db import OutboxMessage
from adapters.outside.sandbox import SandboxServer
from adapters.outside.settings import Settings
from tasks.errors import InvalidInput
from tests.conftest import Beian as Cli
from tests.support.scenarios import RECEIVED, apply_by_service, at
from workflows.batch_retry import Selection, cases_to_retry, retry_batch
from workflows.delivery import deliver_due
from workflows.service import Beian

NOW = "2026-10-21T10:00:00+08:00"  # every example case's acceptance is overdue, its escalation timer late


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def settings(sandbox: SandboxServer) -> Settings:
    sandbox.reset()
    return Settings(sandbox_url=sandbox.url, outside_down_minutes=0, delivery_backoff_seconds=3600)


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    with at(RECEIVED):
        service.init()
    yield service
    service.close()


def retries(app: Beian, case: str) -> int:
    return sum(1 for entry in app.records.show(case)["history"] if entry["action"] == "retry_requested")


def fail(app: Beian, case: str) -> None:
    """The case's last step failed and the sweep gave up on it."""
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None
        instance.error, instance.error_at = "数据库错误：连接中断", datetime.fromisoformat(NOW)
        instance.error_count = 3
        uow.commit()


def report(app: Beian, case: str) -> None:
    """A report to the national registry recorded for the case, due now."""
    with app.uow() as uow:
        uow.repo.add(OutboxMessage(key=f"{case}/report", case_id=case, system="national_registry",
                                   path="filing-events", summary="报送", payload={"case": case}, status="pending",
                                   attempts=0, next_attempt_at=datetime.fromisoformat(NOW),
                                   created_at=datetime.fromisoformat(NOW)))
        uow.commit()


def test_each_selection_retries_exactly_its_cases_once(app: Beian, settings: Settings,
                                                       sandbox: SandboxServer) -> None:
    broken, also_broken, waiting, other = (apply_by_service(app) for _ in range(4))
    fail(app, broken)
    fail(app, also_broken)
    report(app, waiting)
    sandbox.set_mode("national_registry", "fail", status=503)
    with at(NOW):
        assert deliver_due(app, settings)["retrying"] == 1  # the registry is down: waiting's report waits

        by_reason = Selection(reason="instance_error")
        assert sorted(cases_to_retry(app, settings, by_reason)) == sorted([broken, also_broken])
        assert cases_to_retry(app, settings, Selection(reason="流程出错")) == cases_to_retry(app, settings, by_reason)
        assert cases_to_retry(app, settings, Selection(system="national_registry")) == [waiting]
        assert cases_to_retry(app, settings, Selection(reason="system_down")) == [waiting]
        assert cases_to_retry(app, settings, Selection(process="filing_application", version=2)) == []

        result = retry_batch(app, settings, by_reason)
    assert sorted(result["cases"]) == sorted([broken, also_broken])
    assert [retries(app, case) for case in (broken, also_broken, waiting, other)] == [1, 1, 0, 0]

    # Every case of the process version has several stuck rows (an overdue task, a late timer …): retried once each.
    with at(NOW):
        everyone = retry_batch(app, settings, Selection(process="filing_application", version=1))
    assert sorted(everyone["cases"]) == sorted([broken, also_broken, waiting, other])
    assert [retries(app, case) for case in (broken, also_broken, waiting, other)] == [2, 2, 1, 1]


def test_a_system_that_answers_again_is_probed_first_and_its_cases_retried(app: Beian, settings: Settings,
                                                                           sandbox: SandboxServer) -> None:
    waiting, other = apply_by_service(app), apply_by_service(app)
    report(app, waiting)
    sandbox.set_mode("national_registry", "fail", status=503)
    with at(NOW):
        deliver_due(app, settings)
        still_down = retry_batch(app, settings, Selection(system="national_registry"))
    assert still_down["cases"] == [waiting] and still_down["systems_back"] == [] and not still_down["ok"]
    assert sandbox.received("national_registry") == []

    sandbox.set_mode("national_registry", "ok")
    with at(NOW):
        back = retry_batch(app, settings, Selection(system="national_registry"))
    assert back["systems_back"] == ["national_registry"]
    assert back["cases"] == []  # the probe sent the waiting report: nothing left to retry
    assert len(sandbox.received("national_registry")) == 1
    assert [retries(app, case) for case in (waiting, other)] == [1, 0]


def test_a_selection_says_what_is_missing_or_unknown() -> None:
    with pytest.raises(InvalidInput):
        Selection()
    with pytest.raises(InvalidInput):
        Selection(version=3)
    with pytest.raises(InvalidInput):
        Selection(reason="deployment_paused")
    with pytest.raises(InvalidInput):
        Selection(system="weather_service")


def test_the_command_line_retries_by_reason(beian: Cli) -> None:
    beian("apply", "examples/application.json", now=RECEIVED)
    result = beian.json("retry", "--reason", "task_overdue", now=NOW)
    assert len(result["cases"]) == 1 and result["selection"]["reason"] == "task_overdue"
    assert "至少一项" in beian("retry", "--version", "2", now=NOW, expect=4).err  # an invalid input
