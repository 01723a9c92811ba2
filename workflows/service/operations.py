"""Operations: the timer sweep and the retry of a stuck case (what `beian sweep`/`beian retry` and the Prefect
deployments run; the sweep itself is workflows.sweep, the deliveries workflows.delivery)."""

from __future__ import annotations

from typing import Any

import workflows.operators  # noqa: F401  (registers the expression functions and service operators every step needs)
from adapters.outside.settings import Settings, load_settings
from tasks.errors import NotFound
from workflows import clock
from workflows.delivery import deliver_case, requeue_failed
from workflows.service.base import Capability, audit_system
from workflows.sweep import advance_case, sweep


class Operations(Capability):
    """Firing due timers, and running a stuck case again."""

    def sweep(self, limit: int = 1000, actor: str = "timer", max_attempts: int | None = None) -> dict[str, Any]:
        """Fire every timer due at the clock's now, one case per transaction (see workflows.sweep)."""
        return sweep(self, limit=limit, max_attempts=max_attempts, actor=actor)

    def retry(self, case_id: str, actor: str = "ops", settings: Settings | None = None) -> dict[str, Any]:
        """Run a case again now (`beian retry CASE`, the Prefect "beian-retry" deployment, Prefect's Retry on a failed
        sweep or delivery run for each case that failed in it): step it (fire what is due; when nothing is due but its
        last step failed, step it all the same), queue its failed deliveries again, and send everything it has
        pending now, including what waits out a backoff.

        The failure count is not reset beforehand: a step that succeeds clears it (workflows.engine), one that fails
        adds to it. A case the sweep gave up on therefore stays with ops after a failed retry instead of coming back
        for `sweep_max_attempts` more failing sweeps."""
        settings = settings or load_settings()
        with self.uow() as uow:
            instance = uow.repo.instance(case_id, for_update=True)
            if instance is None and not uow.repo.outbox_of_case(case_id):
                raise NotFound(f"案件 {case_id} 不存在")
            # A case of no instance has deliveries only (the portal's one-time codes, under ZH-<credit code>).
            instance_id, previous_error = (instance.id, instance.error) if instance is not None else (None, None)
            if instance_id is not None:
                audit_system(uow, actor, "retry_requested",
                             "要求重新处理" + (f"（上次出错：{previous_error}）" if previous_error else ""),
                             case_id=case_id)
                uow.commit()
        step = (advance_case(self, instance_id, case_id, clock.now(), actor, wake=previous_error is not None)
                if instance_id is not None else None)
        requeued = requeue_failed(self, case_id, actor)
        delivery = deliver_case(self, settings, case_id, self._pending_now(case_id))
        return {"case": case_id, "step": step.to_dict() if step else None, "requeued": requeued,
                "delivery": delivery.to_dict(), "ok": (step is None or step.error is None) and delivery.ok}

    def _pending_now(self, case_id: str) -> list[int]:
        """The case's pending deliveries, those waiting out a backoff made due now (ops asked for them)."""
        with self.uow() as uow:
            now = clock.now()
            pending = [row for row in uow.repo.outbox_of_case(case_id) if row.status == "pending"]
            for row in pending:
                if row.next_attempt_at is None or row.next_attempt_at > now:
                    row.next_attempt_at = now
            uow.commit()
            return [row.id for row in pending]
