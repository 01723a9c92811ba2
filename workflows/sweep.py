"""The timer sweep: find the cases with a timer due, and advance each in its own transaction.

The same functions run under `beian sweep` (tests, simulation, cron) and under the Prefect flow, which makes each
case a task run named after it. Exactly-once firing rests on the database, not on who calls:

* finding due work reads only the indexed `timers.due_at`, so its cost follows the number due, not the number alive;
* each case is claimed under a lock with its due timer re-checked (`Repository.claim_due_instance`), stepped and
  saved in one transaction: a timer is fired by the transaction that removes it from `timers`, and a crash before
  the commit leaves the timer due for the next sweep;
* a failing case is recorded on its row (`error`, `error_count`) and in its history; the sweep retries it on the
  following runs until `sweep_max_attempts`, then leaves it to `beian retry` and the stuck watch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

import workflows.operators  # noqa: F401  (registers the expression functions and service operators every step needs)
from adapters.outside.repository import UnitsOfWork
from tasks.errors import BeianError
from workflows import clock
from workflows.engine import Wake, run_step
from workflows.transient import rerun_if_transient


@dataclass
class CaseAdvance:
    """What one sweep did to one case."""

    case: str
    fired: list[str] = field(default_factory=list)
    status: str | None = None
    skipped: bool = False  # nothing was due any more (another sweep got there first) or the case was locked
    error: str | None = None
    attempts: int = 0  # consecutive failures so far, after this attempt

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"case": self.case}
        if self.skipped:
            data["skipped"] = True
        if self.error is not None:
            data.update(error=self.error, attempts=self.attempts)
        else:
            data.update(timers=self.fired, status=self.status)
        return data


def due_cases(app: UnitsOfWork, now: datetime, limit: int, max_attempts: int | None) -> list[tuple[int, str]]:
    with app.uow() as uow:
        return uow.repo.due_cases(now, limit, max_attempts)


def advance_case(app: UnitsOfWork, instance_id: int, case_id: str, now: datetime, actor: str = "timer", *,
                 wake: bool = False) -> CaseAdvance:
    """Fire the case's due timers (those due before `now`) in one transaction; record a failure on the case.

    `wake`: step the case even when no timer is due (ops retrying a case whose last step failed)."""

    @rerun_if_transient
    def step() -> CaseAdvance:
        with app.uow() as uow:
            instance = uow.repo.claim_due_instance(instance_id, now)
            if instance is None and wake:
                instance = uow.repo.instance_by_id(instance_id, for_update=True)
            if instance is None:
                return CaseAdvance(case_id, skipped=True)
            ctx = run_step(uow, case_id, Wake(), actor)
            uow.commit()
            return CaseAdvance(case_id, fired=list(ctx.fired), status=ctx.instance.status)

    try:
        return step()
    except DBAPIError as exc:
        return record_failure(app, instance_id, case_id, f"数据库错误：{exc.orig}", actor)
    except BeianError as exc:
        return record_failure(app, instance_id, case_id, exc.message, actor)
    except Exception as exc:  # noqa: BLE001 — e.g. a state that no longer restores: one case must not stop
        # the sweep of all the others; it is recorded, retried, then left to ops like any failed step.
        return record_failure(app, instance_id, case_id,
                              f"案件 {case_id} 处理时发生内部错误（{type(exc).__name__}：{exc}）；案件保持原状态",
                              actor)


def record_failure(app: UnitsOfWork, instance_id: int, case_id: str, message: str, actor: str) -> CaseAdvance:
    """Keep the failure on the case (its state is unchanged: the step rolled back) for ops and the next sweep."""
    with app.uow() as uow:
        instance = uow.repo.instance_by_id(instance_id, for_update=True)
        if instance is None:
            return CaseAdvance(case_id, error=message)
        now = clock.now()
        instance.error, instance.error_at = message, now
        instance.error_count = (instance.error_count or 0) + 1
        uow.repo.audit(at=now, case_id=case_id, actor=actor, action="step_failed",
                       summary=f"定时处理失败（第 {instance.error_count} 次）：{message}",
                       article="", detail={"attempts": instance.error_count})
        attempts = instance.error_count
        uow.commit()
    return CaseAdvance(case_id, error=message, attempts=attempts)


def sweep(app: UnitsOfWork, *, limit: int = 1000, max_attempts: int | None = None,
          actor: str = "timer") -> dict[str, Any]:
    """Fire every timer due at the clock's now, one case per transaction (`beian sweep`)."""
    now = clock.now()
    results = [advance_case(app, instance_id, case_id, now, actor)
               for instance_id, case_id in due_cases(app, now, limit, max_attempts)]
    return summarise(now, results)


def summarise(now: datetime, results: list[CaseAdvance]) -> dict[str, Any]:
    return {
        "now": now.isoformat(),
        "fired": [r.to_dict() for r in results if not r.skipped and r.error is None],
        "failed": [r.to_dict() for r in results if r.error is not None],
        "skipped": [r.case for r in results if r.skipped],
    }
