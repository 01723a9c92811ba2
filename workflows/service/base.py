"""What every capability of the service layer shares: its units of work, the system's audit entries, one step on a
case in its own transaction, and how a failed user step is shown."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.outside.repository import UnitOfWork
from tasks.calendar import SHANGHAI
from tasks.errors import StepFailed
from workflows import clock
from workflows.transient import rerun_if_transient


class Capability:
    """One room of the service layer, working on the application's database through units of work."""

    def __init__(self, uow: Callable[[], UnitOfWork], reading: Callable[[], UnitOfWork]) -> None:
        self.uow = uow
        self.reading = reading  # for queries: see Beian.reading

    @rerun_if_transient
    def _step(self, case_id: str, event: Any, actor: str) -> None:
        """One step of one case (a migration, say), in a transaction of its own."""
        # Imported here: a capability that only reads (beian tasks) does not load the engine. A module that runs
        # steps itself imports workflows.operators at its top.
        import workflows.operators  # noqa: F401  (registers the expression functions and service operators)
        from workflows.engine import run_step

        with self.uow() as uow:
            run_step(uow, case_id, event, actor)
            uow.commit()

    @contextlib.contextmanager
    def _failures_shown(self, actor: str) -> Iterator[Failing]:
        """Around a user's step: when the engine fails on it (the diagram, not the user's input: an expression over
        its limits, a broken service), the user is told why and nothing of the step is saved; the case also shows
        the failure to ops (the stuck list: 流程出错) until a later step succeeds. Unlike the sweep's failures it
        does not count towards the sweep's attempts, which must keep firing the case's statutory timers."""
        failing = Failing()
        try:
            yield failing
        except StepFailed as exc:
            if failing.case_id is not None:
                with self.uow() as uow:
                    instance = uow.repo.instance(failing.case_id, for_update=True)
                    if instance is not None:
                        instance.error, instance.error_at = exc.message, clock.now()
                        audit_system(uow, actor, "step_failed", f"办理失败：{exc.message}", case_id=failing.case_id)
                        uow.commit()
            raise


@dataclass
class Failing:
    """The case a user's step is on, once known (set inside `_failures_shown`)."""

    case_id: str | None = None


def audit_system(uow: UnitOfWork, actor: str, action: str, summary: str, case_id: str | None = None,
                 **detail: Any) -> None:
    uow.repo.audit(at=clock.now(), case_id=case_id, actor=actor, action=action, summary=summary,
                   article="", detail=detail)


def minute(value: datetime) -> str:
    """A moment as people read it: Beijing time to the minute."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def local(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None
