"""The working-day calendar: deadline arithmetic, and the official arrangements an administrator loads (each load
recomputes every provisional deadline of the running cases)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from adapters.outside.db import CalendarYear
from tasks.calendar import ArrangementError, arrangement_to_dict, parse_arrangement
from tasks.errors import InvalidInput
from workflows import clock
from workflows.engine import load_calendar, run_step
from workflows.on_progress import OnProgress, no_progress
from workflows.service.base import Capability, audit_system, local
from workflows.service.commands import RecomputeDeadlines


class Calendar(Capability):
    """Working days, as the official calendar and the loaded arrangements make them."""

    def add(self, start: date | datetime, days: int) -> dict[str, Any]:
        with self.uow() as uow:
            calendar = load_calendar(uow)
        return calendar.within_working_days(start, days).to_dict()

    def load(self, data: object, actor: str = "admin", on_progress: OnProgress = no_progress) -> dict[str, Any]:
        """Store a year's official arrangement, then recompute every pending provisional deadline."""
        if not isinstance(data, dict):
            raise InvalidInput("节假日安排文件必须是一个 JSON 对象")
        try:
            arrangement = parse_arrangement(data)
        except ArrangementError as exc:
            raise InvalidInput(f"节假日安排文件有误：{exc}") from None
        with self.uow() as uow:
            uow.repo.delete_calendar_year(arrangement.year)  # a reload replaces the year
            uow.repo.note_calendar_change()  # every process's calendar is read again (workflows.engine)
            stored = arrangement_to_dict(arrangement)
            uow.repo.add(CalendarYear(year=arrangement.year, arrangement=stored, source=arrangement.source,
                                      loaded_at=clock.now(), loaded_by=actor))
            digest = hashlib.sha256(repr(sorted(stored.items())).encode()).hexdigest()[:12]
            audit_system(uow, actor, "calendar_loaded",
                          f"载入 {arrangement.year} 年节假日安排：{arrangement.source or '（未注明来源）'}",
                          year=arrangement.year, holidays=len(arrangement.holidays),
                          workdays=len(arrangement.workdays), digest=digest)
            uow.commit()
            instance_ids = uow.repo.instances_with_provisional_deadlines()
        recomputed: list[str] = []
        for done, instance_id in enumerate(instance_ids):
            on_progress(done, len(instance_ids), "重新计算暂定期限")
            with self.uow() as uow:
                instance = uow.repo.instance_by_id(instance_id)
                if instance is None:
                    continue
                run_step(uow, instance.case_id, RecomputeDeadlines(), actor)
                uow.commit()
                recomputed.append(instance.case_id)
        on_progress(len(instance_ids), len(instance_ids), "重新计算暂定期限")
        return {"year": arrangement.year, "recomputed_cases": recomputed}

    def years(self) -> list[dict[str, Any]]:
        with self.uow() as uow:
            return [{"year": r.year, "source": r.source, "loaded_at": local(r.loaded_at), "loaded_by": r.loaded_by}
                    for r in uow.repo.calendar_years()]
