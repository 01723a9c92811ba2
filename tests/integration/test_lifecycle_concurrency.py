"""Two outside events about the same filing at the same moment, on PostgreSQL.

An event that opens a procedure on a filing locks the filing row (`SELECT … FOR UPDATE`) before it checks whether
the procedure may be opened, so two such events are serialised: the second one is checked against what the first
committed. Each race here is made certain, not left to the scheduler: the first event keeps the filing locked until
the second one is seen waiting for that lock (the second has by then read the filing without a lock, as every
request does), and only then goes on. Each thread runs its own application on the same database, on the virtual
clock. They need BEIAN_TEST_POSTGRES_URL (see tests/conftest.py): skipped locally without it, failing on CI.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from adapters.db import make_engine
from tests.conftest import Beian
from tests.integration.test_postgresql import _sessions_waiting_for_a_lock, _wait_until
from tests.scenarios.test_lifecycle import WINDOW_OPENS, do, file_institution, history, status_changes
from workflows import clock
from workflows import service as service_module
from workflows.errors import BeianError, IllegalEvent
from workflows.service import Beian as App

RENEWAL_WINDOW_DAY = "2029-08-01T10:00:00+08:00"  # within the window of a filing valid until 16 October 2029
INVESTIGATION_DAY = "2027-04-01T10:00:00+08:00"
# 30 working days of public notice from Monday 2 November 2026 end on 11 December: a request is possible from 14th.
TERMINATION_DAY = "2026-12-14T10:00:00+08:00"
VOLUNTARY_REQUEST = {"notice_started": "2026-11-02", "wrapup_plan": "上传证书数据，退还未评价考生费用"}
VIOLATION = {"ground": "beyond_scope", "facts": "超出备案职业开展评价"}


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def cli(postgres_url: str) -> Beian:
    cli = Beian(postgres_url)
    assert cli.backend == "postgresql"
    cli("init")
    return cli


@pytest.fixture
def filing_number(cli: Beian, write_json: Any, application: dict[str, Any]) -> str:
    return file_institution(cli, write_json, application)[1]


def _race(url: str, now: str, first: tuple[str, dict[str, Any]], second: tuple[str, dict[str, Any]], target: str,
          pg: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Send `first` and `second` (message, payload) to `target` from two threads, each with its own application,
    the first holding the filing's row lock until the second waits for it. Returns each thread's result or the
    BeianError it raised, keyed "first" / "second"; any other exception fails the test."""
    first_holds_the_lock = threading.Event()
    real_open_procedure = service_module.open_procedure
    order: list[str] = []

    def open_and_hold(*args: Any, **kwargs: Any) -> Any:
        # Runs right after the filing row was locked: the first event keeps its lock until the second one is seen
        # waiting for it, so both have read the filing before either has committed.
        order.append(threading.current_thread().name)
        if len(order) == 1:
            first_holds_the_lock.set()
            _wait_until(lambda: _sessions_waiting_for_a_lock(pg) == 1, "the second event waits for the filing lock")
        return real_open_procedure(*args, **kwargs)

    monkeypatch.setattr(service_module, "open_procedure", open_and_hold)
    outcomes: dict[str, Any] = {}
    crashes: list[BaseException] = []
    instant = clock.parse_instant(now)

    def send(name: str, message: str, payload: dict[str, Any]) -> None:
        app = App(url)
        try:
            with clock.using_clock(clock.VirtualClock(instant)):  # a context variable: set in each thread
                outcomes[name] = app.send(message, target, payload)
        except BeianError as exc:
            outcomes[name] = exc
        except BaseException as exc:  # reported by the main thread
            crashes.append(exc)
            first_holds_the_lock.set()
        finally:
            app.close()

    threads = [threading.Thread(target=send, args=("first", *first), name="first"),
               threading.Thread(target=send, args=("second", *second), name="second")]
    threads[0].start()
    assert first_holds_the_lock.wait(20)
    threads[1].start()
    for thread in threads:
        thread.join(30)
    monkeypatch.undo()
    assert not any(thread.is_alive() for thread in threads), "an event never finished (deadlock?)"
    assert crashes == [], crashes
    assert order == ["first", "second"]  # the second event was checked only after the first had committed
    return outcomes


def _cases(cli: Beian, number: str, process: str) -> list[dict[str, Any]]:
    return [c for c in cli.json("show", number)["cases"] if c["process"] == process]


def _filing_row(pg: Engine, number: str) -> dict[str, Any]:
    with pg.connect() as connection:
        row = connection.execute(text(
            "SELECT status, base_status, suspended_by, termination_kind FROM filings WHERE filing_number = :n"),
            {"n": number}).mappings().one()
    return dict(row)


def test_two_renewal_applications_at_once_open_one_renewal(cli: Beian, pg: Engine, filing_number: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cli.json("sweep", now=WINDOW_OPENS)  # the window has opened (reminder sent) before either application
    before = len(history(cli, filing_number))
    outcomes = _race(cli.url, RENEWAL_WINDOW_DAY, ("renewal_application", {"summary": "申请续期（窗口一）"}),
                     ("renewal_application", {"summary": "申请续期（窗口二）"}), filing_number, pg, monkeypatch)
    opened = outcomes["first"]
    assert isinstance(opened, dict) and opened["process"] == "renewal", opened
    refused = outcomes["second"]
    assert isinstance(refused, IllegalEvent), refused
    assert opened["case"] in refused.message and "未作任何更改" in refused.message

    renewals = _cases(cli, filing_number, "renewal")
    assert [c["case"] for c in renewals] == [opened["case"]]
    assert [c["open"] for c in _cases(cli, filing_number, "filing_validity")] == [False]  # the watch was cancelled
    shown = cli.json("show", filing_number)
    assert shown["status"] == "renewal_review"
    new_entries = [h for h in shown["history"]][before:]
    assert [h["action"] for h in new_entries].count("case_opened") == 1
    assert all("窗口二" not in h["summary"] for h in new_entries)


def test_two_violation_reports_at_once_open_one_ordered_termination(cli: Beian, pg: Engine, filing_number: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = _race(cli.url, INVESTIGATION_DAY, ("violation_report", VIOLATION),
                     ("violation_report", {**VIOLATION, "facts": "同一线索经另一渠道举报"}), filing_number, pg,
                     monkeypatch)
    opened = outcomes["first"]
    assert isinstance(opened, dict) and opened["process"] == "ordered_termination", opened
    refused = outcomes["second"]
    assert isinstance(refused, IllegalEvent), refused
    assert opened["case"] in refused.message

    assert [c["case"] for c in _cases(cli, filing_number, "ordered_termination")] == [opened["case"]]
    row = _filing_row(pg, filing_number)
    assert (row["status"], row["suspended_by"]) == ("suspended", [opened["case"]])
    investigations = [t for t in cli.json("tasks", now=INVESTIGATION_DAY) if t["bpmn_id"] == "termination_investigation"]
    assert [t["case"] for t in investigations] == [opened["case"]]


@pytest.mark.parametrize("order", ["deregistered_first", "termination_request_first"])
def test_deregistration_and_voluntary_termination_at_once_end_in_one_termination(
        cli: Beian, pg: Engine, filing_number: str, monkeypatch: pytest.MonkeyPatch, order: str) -> None:
    deregistered = ("deregistered", {"reason": "deregistered", "date": "2026-12-10"})
    request = ("termination_request", VOLUNTARY_REQUEST)
    first, second = (deregistered, request) if order == "deregistered_first" else (request, deregistered)
    outcomes = _race(cli.url, TERMINATION_DAY, first, second, filing_number, pg, monkeypatch)
    # Both procedures may be opened: neither excludes the other.
    assert all(isinstance(o, dict) for o in outcomes.values()), outcomes
    by_process = {o["process"]: o["case"] for o in outcomes.values()}
    assert set(by_process) == {"automatic_termination", "voluntary_termination"}
    automatic = by_process["automatic_termination"]

    # Whatever the order, the filing is suspended by the investigation and, underneath, winding up: exactly what
    # the two events give one after the other (the second must see what the first committed).
    row = _filing_row(pg, filing_number)
    assert row == {"status": "suspended", "base_status": "winding_up", "suspended_by": [automatic],
                   "termination_kind": None}, row
    assert cli.json("show", filing_number)["status"] == "suspended"

    open_tasks = sorted(t["bpmn_id"] for t in cli.json("tasks", now=TERMINATION_DAY))
    assert open_tasks == ["automatic_verification", "risk_assessment"]
    do(cli, filing_number, "automatic_verification", {"decision": "terminate", "opinion": "机构已注销"},
       "2026-12-15T10:00:00+08:00")
    shown = cli.json("show", filing_number)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "automatic")
    assert cli.json("tasks", now="2026-12-15T10:00:00+08:00") == []  # the risk assessment went with its case
    assert all(not c["open"] for c in shown["cases"])
    terminated = [h for h in status_changes(cli, filing_number) if "已终止备案" in h["summary"].split("→")[-1]]
    assert len(terminated) == 1, terminated
    with pg.connect() as connection:
        recorded = connection.scalar(text(
            "SELECT count(*) FROM audit_log WHERE action = 'filing_status_changed' "
            "AND CAST(detail AS jsonb) ->> 'status' = 'terminated'"))
    assert recorded == 1
    assert datetime.fromisoformat(shown["status_since"]).date().isoformat() == "2026-12-15"
