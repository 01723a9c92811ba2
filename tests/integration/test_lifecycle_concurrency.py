"""Two outside events about the same filing at the same moment, on PostgreSQL.

An event that opens a procedure on a filing locks the filing row (`SELECT … FOR UPDATE`) before it checks whether
the procedure may be opened, so two such events are serialised: the second one is checked against what the first
committed. Each race here is made certain, not left to the scheduler: the first event keeps the filing locked until
the second one is seen waiting for that lock (the second has by then read the filing without a lock, as every
request does), and only then goes on. Each thread runs its own application on the same database, on the virtual
clock. They need BEIAN_TEST_POSTGRES_URL (see tests/conftest.py): skipped locally without it, failing on CI.
(SQLite needs no such test: every transaction there starts with BEGIN IMMEDIATE, so none reads before another's
commit.) The last test, an event arriving while a timer has fallen due but not been swept, runs on both backends.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tasks.errors import BeianError, IllegalEvent
from tests.conftest import Beian
from tests.support.postgres import sessions_waiting_for_a_lock, wait_until
from tests.support.scenarios import WINDOW_OPENS, do, file_institution, history, status_changes
from workflows import clock, lifecycle
from workflows.service import Beian as App

RENEWAL_WINDOW_DAY = "2029-08-01T10:00:00+08:00"  # within the window of a filing valid until 16 October 2029
INVESTIGATION_DAY = "2027-04-01T10:00:00+08:00"
# 30 working days of public notice from Monday 2 November 2026 end on 11 December: a request is possible from 14th.
TERMINATION_DAY = "2026-12-14T10:00:00+08:00"
VOLUNTARY_REQUEST = {"notice_started": "2026-11-02", "wrapup_plan": "上传证书数据，退还未评价考生费用"}
VIOLATION = {"ground": "beyond_scope", "facts": "超出备案职业开展评价"}


@pytest.fixture
def filing_number(cli: Beian, write_json: Any, application: dict[str, Any]) -> str:
    return file_institution(cli, write_json, application)[1]


def _race(url: str, now: str, first: tuple[str, dict[str, Any]], second: tuple[str, dict[str, Any]], target: str,
          pg: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Send `first` and `second` (message, payload) to `target` from two threads, each with its own application,
    the first holding the filing's row lock until the second waits for it. Returns each thread's result or the
    BeianError it raised, keyed "first" / "second"; any other exception fails the test."""
    first_holds_the_lock = threading.Event()
    real_open_procedure = lifecycle.open_procedure
    order: list[str] = []

    def open_and_hold(*args: Any, **kwargs: Any) -> Any:
        # Runs right after the filing row was locked: the first event keeps its lock until the second one is seen
        # waiting for it, so both have read the filing before either has committed.
        order.append(threading.current_thread().name)
        if len(order) == 1:
            first_holds_the_lock.set()
            wait_until(lambda: sessions_waiting_for_a_lock(pg) == 1, "the second event waits for the filing lock")
        return real_open_procedure(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "open_procedure", open_and_hold)  # imported by Cases.send when it runs
    outcomes: dict[str, Any] = {}
    crashes: list[BaseException] = []
    instant = clock.parse_instant(now)

    def send(name: str, message: str, payload: dict[str, Any]) -> None:
        app = App(url)
        try:
            with clock.using_clock(clock.VirtualClock(instant)):  # a context variable: set in each thread
                outcomes[name] = app.cases.send(message, target, payload)
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
    assert [h["action"] for h in shown["history"][before:]].count("case_opened") == 1


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
    investigations = [t["case"] for t in cli.json("tasks", now=INVESTIGATION_DAY)
                      if t["bpmn_id"] == "termination_investigation"]
    assert investigations == [opened["case"]]


def _status_changes_of(pg: Engine, case: str) -> list[dict[str, Any]]:
    """The `filing_status_changed` entries a case recorded, with their detail (previous, status)."""
    with pg.connect() as connection:
        rows = connection.execute(text(
            "SELECT CAST(detail AS jsonb) ->> 'previous' AS previous, CAST(detail AS jsonb) ->> 'status' AS status "
            "FROM audit_log WHERE action = 'filing_status_changed' AND case_id = :case ORDER BY id"),
            {"case": case}).mappings().all()
    return [dict(row) for row in rows]


def _terminated_entries(pg: Engine) -> int:
    with pg.connect() as connection:
        return connection.scalar(text(
            "SELECT count(*) FROM audit_log WHERE action = 'filing_status_changed' "
            "AND CAST(detail AS jsonb) ->> 'status' = 'terminated'"))


@pytest.mark.parametrize("deregistered_first", [True, False], ids=["deregistered_first", "request_first"])
def test_deregistration_and_voluntary_termination_at_once_end_in_one_termination(
        cli: Beian, pg: Engine, filing_number: str, monkeypatch: pytest.MonkeyPatch, deregistered_first: bool) -> None:
    deregistered = ("deregistered", {"reason": "deregistered", "date": "2026-12-10"})
    request = ("termination_request", VOLUNTARY_REQUEST)
    first, second = (deregistered, request) if deregistered_first else (request, deregistered)
    outcomes = _race(cli.url, TERMINATION_DAY, first, second, filing_number, pg, monkeypatch)
    automatic = outcomes["first" if deregistered_first else "second"]
    assert isinstance(automatic, dict) and automatic["process"] == "automatic_termination", outcomes
    voluntary = outcomes["second" if deregistered_first else "first"]
    if deregistered_first:
        # No voluntary exit while an automatic termination investigates: the second event sees the first's case.
        assert isinstance(voluntary, IllegalEvent), voluntary
        assert automatic["case"] in voluntary.message and "未作任何更改" in voluntary.message
        expected = {"status": "suspended", "base_status": "filed", "suspended_by": [automatic["case"]],
                    "termination_kind": None}
    else:
        assert isinstance(voluntary, dict) and voluntary["process"] == "voluntary_termination", voluntary
        expected = {"status": "suspended", "base_status": "winding_up", "suspended_by": [automatic["case"]],
                    "termination_kind": None}
        # The suspension is recorded against what the filing was when it came: winding up, not "filed".
        assert _status_changes_of(pg, automatic["case"]) == [{"previous": "winding_up", "status": "suspended"}]
    assert _filing_row(pg, filing_number) == expected

    expected_tasks = ["automatic_verification"] + ([] if deregistered_first else ["risk_assessment"])
    assert sorted(t["bpmn_id"] for t in cli.json("tasks", now=TERMINATION_DAY)) == expected_tasks
    if not deregistered_first:
        do(cli, filing_number, "risk_assessment", {"opinion": "风险可控", "wrapup_days": 10},
           "2026-12-15T10:00:00+08:00")
    do(cli, filing_number, "automatic_verification", {"decision": "terminate", "opinion": "机构已注销"},
       "2026-12-16T10:00:00+08:00")
    shown = cli.json("show", filing_number)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "automatic")
    assert cli.json("tasks", now="2026-12-16T10:00:00+08:00") == []
    assert all(not c["open"] for c in shown["cases"])
    assert _terminated_entries(pg) == 1
    assert [c for c in status_changes(cli, filing_number) if "已终止备案" in c["summary"].split("→")[-1]] != []


@pytest.mark.parametrize("violation_first", [True, False], ids=["violation_first", "deregistered_first"])
def test_two_investigations_opened_at_once_both_suspend_the_filing(
        cli: Beian, pg: Engine, filing_number: str, monkeypatch: pytest.MonkeyPatch, violation_first: bool) -> None:
    # An ordered and an automatic termination may run side by side; each suspends the filing until it ends, so the
    # filing stays suspended while either is open. The second event must add its suspension to the first one's.
    violation = ("violation_report", VIOLATION)
    deregistered = ("deregistered", {"reason": "closed"})
    first, second = (violation, deregistered) if violation_first else (deregistered, violation)
    outcomes = _race(cli.url, INVESTIGATION_DAY, first, second, filing_number, pg, monkeypatch)
    assert all(isinstance(o, dict) for o in outcomes.values()), outcomes
    cases = {o["process"]: o["case"] for o in outcomes.values()}
    ordered, automatic = cases["ordered_termination"], cases["automatic_termination"]
    assert _filing_row(pg, filing_number) == {
        "status": "suspended", "base_status": "filed", "termination_kind": None,
        "suspended_by": [outcomes["first"]["case"], outcomes["second"]["case"]]}
    # One change of status (filed → suspended), by the first; the second found the filing already suspended.
    assert _status_changes_of(pg, outcomes["first"]["case"]) == [{"previous": "filed", "status": "suspended"}]
    assert _status_changes_of(pg, outcomes["second"]["case"]) == []

    # The automatic termination finds nothing: its suspension ends, the ordered termination's goes on.
    do(cli, filing_number, "automatic_verification", {"decision": "lift", "opinion": "主体仍存续"},
       "2027-04-02T10:00:00+08:00")
    assert _filing_row(pg, filing_number)["suspended_by"] == [ordered]
    assert cli.json("show", filing_number)["status"] == "suspended"
    do(cli, filing_number, "termination_investigation", {"decision": "dismiss", "opinion": "线索不实"},
       "2027-04-06T10:00:00+08:00")
    assert _filing_row(pg, filing_number) == {"status": "filed", "base_status": "filed", "suspended_by": [],
                                              "termination_kind": None}
    assert automatic != ordered


# --- an event and a timer that fell due but has not been swept yet (both backends) -------------------------------


def test_renewal_application_before_the_sweep_opened_the_window_is_under_review(
        beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    # The window opened at 00:00 on 16 July 2029, but the sweep has not run since (a delayed timer job): a renewal
    # application on 1 August is in time, and the filing must then be under renewal review. The validity watch it
    # cancels still holds the overdue "window opens" timer; that must not put the filing back into the window.
    _, number = file_institution(beian, write_json, application)
    opened = beian.json("send", "renewal_application", "--case", number, "--data", '{"summary": "申请续期"}',
                        now=RENEWAL_WINDOW_DAY)
    assert opened["process"] == "renewal"
    shown = beian.json("show", number)
    assert [(c["process"], c["open"]) for c in shown["cases"] if c["process"] != "filing_application"] == [
        ("filing_validity", False), ("renewal", True)]
    assert shown["status"] == "renewal_review", [h["summary"] for h in status_changes(beian, number)]
