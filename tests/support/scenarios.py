"""The one set of scenario helpers: a case applied for, its tasks found and completed, a filing made, lifecycle
messages sent, through the command line as typed (`beian`, tests/conftest.py) or through the service (`at`, `step`).
Dates are chosen around the official 2026 holidays: Mid-Autumn 25-27 September, National Day 1-7 October, with
Sunday 20 September and Saturday 10 October worked."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows import clock

if TYPE_CHECKING:
    from tests.conftest import Beian
    from workflows.service import Beian as Service

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "application.json"
RECEIVED = "2026-09-24T10:00:00+08:00"          # a Thursday
ACCEPTANCE_DUE = "2026-10-16T00:00:00+08:00"    # end of 15 Oct, the 10th working day after 24 Sep
FILED_AT = "2026-10-17T00:00:01+08:00"
WINDOW_OPENS = "2029-07-16T00:00:01+08:00"
SECOND_REMINDER = "2029-09-16T00:00:01+08:00"
EXPIRED = "2029-10-17T00:00:01+08:00"
ILLEGAL = 5  # tasks.errors.IllegalEvent
INVALID = 4  # tasks.errors.InvalidInput


def apply(beian: Beian, write_json: Any, application: dict[str, Any], received: str = RECEIVED) -> str:
    path = write_json(application, "application.json")
    return beian.json("apply", path, "--received-at", received, now=received)["case"]


def task(beian: Beian, case: str, bpmn_id: str, now: str | None = None) -> dict[str, Any]:
    tasks = [t for t in beian.json("tasks", "--case", case, now=now) if t["bpmn_id"] == bpmn_id]
    assert len(tasks) == 1, f"expected one open {bpmn_id} task, got {tasks}"
    return tasks[0]


def complete(beian: Beian, case: str, bpmn_id: str, data: dict[str, Any], now: str) -> dict[str, Any]:
    return beian.json("complete", task(beian, case, bpmn_id, now)["id"], "--data", json.dumps(data), now=now)


def to_publicity(beian: Beian, case: str) -> None:
    complete(beian, case, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    complete(beian, case, "expert_review", {"result": "pass", "opinion": "材料齐全，评价能力符合要求"},
             "2026-10-09T10:00:00+08:00")
    complete(beian, case, "site_inspection", {"result": "pass", "opinion": "场地设备符合要求"},
             "2026-10-10T10:00:00+08:00")
    # The example application is municipal in Sichuan: the province reviews it before publicity.
    complete(beian, case, "higher_review", {"result": "pass"}, "2026-10-12T09:00:00+08:00")


def actions(beian: Beian, case: str) -> list[str]:
    return [h["action"] for h in beian.json("show", case)["history"]]


def file_institution(beian: Beian, write_json: Any, application: dict[str, Any]) -> tuple[str, str]:
    case = apply(beian, write_json, application)
    if application["authority_level"] == "municipal":
        to_publicity(beian, case)
    else:  # the provincial path has no higher-level review
        complete(beian, case, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
        for bpmn_id in ("expert_review", "site_inspection"):
            complete(beian, case, bpmn_id, {"result": "pass", "opinion": "符合"}, "2026-10-10T10:00:00+08:00")
    beian.json("sweep", now=FILED_AT)
    if any(t["bpmn_id"] == "administrative_review" for t in beian.json("tasks", "--case", case, now=FILED_AT)):
        # Where the region deliberates after the publicity (XPCC 第十三条（四）: 局长办公会), on the day it ends.
        complete(beian, case, "administrative_review", {"result": "pass", "meeting": "2026年第12次局长办公会"},
                 FILED_AT)
    shown = beian.json("show", case)
    assert shown["status"] == "filed"
    if shown["open"]:  # dual filing (XPCC 第十三条（四）): the national registry accepts it the same day
        send(beian, "national_filing", case, {"result": "accepted", "national_number": "NATL-2026-0001",
                                              "acknowledged_on": FILED_AT[:10]}, FILED_AT)
        assert not beian.json("show", case)["open"]
    return case, shown["filing_number"]


def send(beian: Beian, message: str, target: str, data: dict[str, Any] | None, now: str, expect: int = 0) -> Any:
    args = ["send", message, "--case", target] + (["--data", json.dumps(data, ensure_ascii=False)] if data else [])
    result = beian(*args, now=now, expect=expect)
    return result.json if expect == 0 else result.err


def history(beian: Beian, target: str) -> list[dict[str, Any]]:
    return beian.json("show", target)["history"]


def status_changes(beian: Beian, target: str) -> list[dict[str, Any]]:
    return [h for h in history(beian, target) if h["action"] == "filing_status_changed"]


def case_task(beian: Beian, filing: str, bpmn_id: str, now: str) -> tuple[str, dict[str, Any]]:
    open_tasks = [t for t in beian.json("tasks", now=now) if t["bpmn_id"] == bpmn_id]
    assert len(open_tasks) == 1, f"expected one open {bpmn_id}, got {open_tasks}"
    return open_tasks[0]["case"], open_tasks[0]


def do(beian: Beian, filing: str, bpmn_id: str, data: dict[str, Any], now: str) -> str:
    case, open_task = case_task(beian, filing, bpmn_id, now)
    beian.json("complete", open_task["id"], "--data", json.dumps(data, ensure_ascii=False), now=now)
    return case


def assert_each_status_change_once_with_article(beian: Beian, target: str) -> None:
    changes = status_changes(beian, target)
    assert changes, "no status change recorded"
    for change in changes:
        assert change["article"], change
    summaries = [c["summary"] for c in changes]
    assert len(summaries) == len(set((c["at"], c["summary"]) for c in changes)), summaries


# --- through the service (workflows.service.Beian), on the virtual clock -----------------------------------------

def at(instant: str) -> contextlib.AbstractContextManager[clock.Clock]:
    """`with at("2026-09-24T10:00:00+08:00"):` runs the block on the virtual clock at that instant."""
    return clock.using_clock(clock.VirtualClock(datetime.fromisoformat(instant)))


def example_application() -> dict[str, Any]:
    """A fresh copy of examples/application.json (成都锦城精工机械制造有限公司, municipal, Chengdu)."""
    return dict(json.loads(EXAMPLE.read_text(encoding="utf-8")))


def apply_by_service(app: Service, application: dict[str, Any] | None = None, received: str = RECEIVED) -> str:
    """The application (the example's by default) received at `received`; its case number."""
    with at(received):
        return str(app.cases.apply(application or example_application())["case"])


def open_task(app: Service, case: str, bpmn_id: str) -> dict[str, Any]:
    """The case's one open task of `bpmn_id` (the service's view of it)."""
    (found,) = [t for t in app.cases.tasks(case) if t["bpmn_id"] == bpmn_id]
    return found


def step(app: Service, case: str, bpmn_id: str, data: dict[str, Any], now: str, actor: str = "caseworker") -> None:
    """Complete the case's open task `bpmn_id` with `data` at `now`."""
    with at(now):
        app.cases.complete(open_task(app, case, bpmn_id)["id"], data, actor=actor)


def to_publicity_by_service(app: Service, case: str) -> None:
    """The example case through acceptance and the reviews into its publicity (published Monday 12 October 2026,
    over at the end of Friday 16 October)."""
    step(app, case, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    step(app, case, "expert_review", {"result": "pass", "opinion": "材料齐全"}, "2026-10-09T10:00:00+08:00")
    step(app, case, "site_inspection", {"result": "pass", "opinion": "符合要求"}, "2026-10-10T10:00:00+08:00")
    step(app, case, "higher_review", {"result": "pass"}, "2026-10-12T09:00:00+08:00")


# What the reviewers decide on the way to publicity (the example passes each).
REVIEWS_PASSED: tuple[tuple[str, dict[str, Any]], ...] = (
    ("acceptance", {"decision": "accept"}),
    ("expert_review", {"result": "pass", "opinion": "材料齐全"}),
    ("site_inspection", {"result": "pass", "opinion": "符合要求"}),
    ("higher_review", {"result": "pass"}),
)


def to_publicity_now(app: Service, case: str, *, skip: int = 0) -> None:
    """The case through acceptance and the reviews into its publicity on the clock as it is (the web and browser
    tests' cases, received today); `skip` the first steps already done."""
    for bpmn_id, data in REVIEWS_PASSED[skip:]:
        app.cases.complete(open_task(app, case, bpmn_id)["id"], dict(data), actor="test")


def filed_now(app: Service, case: str, *, skip: int = 0) -> None:
    """The case to filed on the clock as it is: into its publicity, then the sweep just after it ends."""
    to_publicity_now(app, case, skip=skip)
    (publicity_end,) = app.records.show(case)["deadlines"]
    with clock.using_clock(clock.VirtualClock(clock.parse_instant(publicity_end["due"]) + timedelta(seconds=1))):
        app.operations.sweep()


def file_by_service(app: Service, case: str) -> None:
    """The example case to filed: its publicity over, the sweep issues the receipt."""
    to_publicity_by_service(app, case)
    with at(FILED_AT):
        app.operations.sweep()
