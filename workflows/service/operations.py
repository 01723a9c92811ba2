"""Operations: the timer sweep and the retry of a stuck case (what `beian sweep`/`beian retry` and the Prefect
deployments run; the sweep itself is workflows.sweep, the deliveries workflows.delivery)."""

from __future__ import annotations

from typing import Any

from adapters.outside.settings import Settings, load_settings
from tasks.errors import BeianError, NotFound
from workflows import clock
from workflows.delivery import deliver_case, requeue_failed
from workflows.engine import Wake, run_step
from workflows.service.base import Capability, audit_system
from workflows.sweep import CaseAdvance, advance_case, record_failure, sweep


class Operations(Capability):
    """Firing due timers, and running a stuck case again."""

    def sweep(self, limit: int = 1000, actor: str = "timer", max_attempts: int | None = None) -> dict[str, Any]:
        """Fire every timer due at the clock's now, one case per transaction (see workflows.sweep)."""
        return sweep(self, limit=limit, max_attempts=max_attempts, actor=actor)

    def retry(self, case_id: str, actor: str = "ops", settings: Settings | None = None) -> dict[str, Any]:
        """Run a stuck case again now (`beian retry CASE`, the Prefect "beian-retry" deployment): clear its failure
        count and fire what is due, queue its failed deliveries again, and deliver everything it has pending."""
        settings = settings or load_settings()
        with self.uow() as uow:
            instance = uow.repo.instance(case_id, for_update=True)
            if instance is None and not uow.repo.outbox_of_case(case_id):
                raise NotFound(f"案件 {case_id} 不存在")
        if instance is None:
            # Deliveries of no case (the portal's one-time codes, under ZH-<credit code>): only those to send again.
            requeued = requeue_failed(self, case_id, actor)
            with self.uow() as uow:
                pending = [row.id for row in uow.repo.outbox_of_case(case_id) if row.status == "pending"]
            delivery = deliver_case(self, settings, case_id, pending)
            return {"case": case_id, "step": None, "requeued": requeued, "delivery": delivery.to_dict(),
                    "ok": delivery.ok}
        with self.uow() as uow:
            instance = uow.repo.instance(case_id, for_update=True)
            assert instance is not None
            instance_id, previous_error = instance.id, instance.error
            instance.error_count = 0
            audit_system(uow, actor, "retry_requested",
                          "要求重新处理" + (f"（上次出错：{previous_error}）" if previous_error else ""),
                          case_id=case_id)
            uow.commit()
        step = advance_case(self, instance_id, case_id, clock.now(), actor)
        if step.skipped and previous_error:  # nothing due any more, but the last attempt failed: step it anyway
            step = self._wake(instance_id, case_id, actor)
        requeued = requeue_failed(self, case_id, actor)
        with self.uow() as uow:
            pending = [row.id for row in uow.repo.outbox_of_case(case_id) if row.status == "pending"]
        delivery = deliver_case(self, settings, case_id, pending)
        return {"case": case_id, "step": step.to_dict(), "requeued": requeued, "delivery": delivery.to_dict(),
                "ok": step.error is None and delivery.ok}

    def _wake(self, instance_id: int, case_id: str, actor: str) -> Any:
        try:
            with self.uow() as uow:
                ctx = run_step(uow, case_id, Wake(), actor)
                uow.commit()
                return CaseAdvance(case_id, fired=list(ctx.fired), status=ctx.instance.status)
        except BeianError as exc:
            return record_failure(self, instance_id, case_id, exc.message, actor)
