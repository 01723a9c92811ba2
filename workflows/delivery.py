"""Delivering the outbox: side effects recorded by steps, sent to the outside systems after commit.

A row is claimed under a lease (so two deliverers never send it at the same time, and a crashed deliverer's row
is picked up again when the lease runs out), sent outside any transaction with its idempotency key, and its
outcome recorded in the case's history. Retryable failures come back with exponential backoff; a row that used up
its attempts, or that the outside system refused outright, becomes `failed`: it stays on the case, the stuck watch
lists it, and `beian retry CASE` queues it again. Nothing is dropped; a resend carries the same key, so the
receiver recognises it and nothing is recorded twice.

Rows of one case for one system go out in the order they were recorded: when one fails, the later ones wait with it
(a termination must not reach the national registry before the filing it terminates).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from adapters.outside.db import AuditEvent, OutboxMessage
from adapters.outside.repository import UnitsOfWork
from adapters.outside.settings import OUTSIDE_SYSTEMS, Settings
from adapters.outside.systems import OutsideError, backoff_delay, deliver
from workflows import clock

# Added to the HTTP timeout for the lease, so a slow but living deliverer keeps its rows.
LEASE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    system: str
    path: str
    summary: str
    payload: dict[str, Any]
    attempts: int


@dataclass
class CaseDelivery:
    """What one delivery run did for one case."""

    case: str
    delivered: list[dict[str, Any]] = field(default_factory=list)
    retrying: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # gave up: needs ops

    @property
    def ok(self) -> bool:
        return not self.retrying and not self.failed

    def problems(self) -> str:
        return "；".join(f"{item['summary']}：{item['error']}" for item in self.retrying + self.failed)

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "delivered": self.delivered, "retrying": self.retrying, "failed": self.failed}


def due_deliveries(app: UnitsOfWork, now: datetime, limit: int = 1000) -> dict[str, list[int]]:
    """Pending deliveries due at `now`, grouped by case (each case's in recorded order)."""
    by_case: dict[str, list[int]] = defaultdict(list)
    with app.uow() as uow:
        for outbox_id, case_id in uow.repo.due_deliveries(now, limit):
            by_case[case_id].append(outbox_id)
    return dict(by_case)


def deliver_case(app: UnitsOfWork, settings: Settings, case_id: str, ids: list[int],
                 client: httpx.Client | None = None) -> CaseDelivery:
    result = CaseDelivery(case_id)
    now = clock.now()
    claimed = _claim(app, case_id, ids, now,
                     now + timedelta(seconds=settings.http_timeout_seconds) + LEASE_MARGIN)
    held_back: dict[str, datetime] = {}  # system → when its failed row comes back
    for row in claimed:
        if row.system in held_back:
            _release(app, row.id, held_back[row.system])
            continue
        try:
            answer = deliver(settings.system(row.system), row.path, row.payload, row.key,
                             timeout=settings.http_timeout_seconds, client=client)
        except OutsideError as exc:
            retry_at = _record_failure(app, settings, row, exc)
            item = {"id": row.id, "summary": row.summary, "error": exc.message, "attempts": row.attempts + 1}
            if retry_at is None:
                result.failed.append(item)
                held_back[row.system] = clock.now()
            else:
                result.retrying.append({**item, "next_attempt_at": retry_at.isoformat()})
                held_back[row.system] = retry_at
            continue
        _record_delivered(app, row, str(answer["reference"]))
        result.delivered.append({"id": row.id, "summary": row.summary, "reference": answer["reference"]})
    return result


def deliver_due(app: UnitsOfWork, settings: Settings, limit: int = 1000) -> dict[str, Any]:
    """Deliver every due row, case by case (`beian deliver`)."""
    now = clock.now()
    with httpx.Client() as client:
        results = [deliver_case(app, settings, case_id, ids, client)
                   for case_id, ids in due_deliveries(app, now, limit).items()]
    return delivery_summary(now, results)


def delivery_summary(now: datetime, results: list[CaseDelivery]) -> dict[str, Any]:
    return {"now": now.isoformat(), "cases": [r.to_dict() for r in results],
            "delivered": sum(len(r.delivered) for r in results),
            "retrying": sum(len(r.retrying) for r in results), "failed": sum(len(r.failed) for r in results)}


def requeue_failed(app: UnitsOfWork, case_id: str, actor: str) -> int:
    """Queue a case's failed deliveries again with fresh attempts (`beian retry`); returns how many."""
    with app.uow() as uow:
        now = clock.now()
        rows = [row for row in uow.repo.outbox_of_case(case_id) if row.status == "failed"]
        for row in rows:
            row.status, row.attempts, row.next_attempt_at, row.lease_until = "pending", 0, now, None
            uow.repo.add(AuditEvent(at=now, case_id=case_id, actor=actor, action="delivery_requeued",
                                    summary=f"重新发送：{row.summary}", article="", detail={"outbox_id": row.id}))
        uow.commit()
        return len(rows)


def _claim(app: UnitsOfWork, case_id: str, ids: list[int], now: datetime, lease_until: datetime) -> list[_Claimed]:
    """Lease the rows that may go now: due, not held by another deliverer, and with no earlier undelivered row
    of the same system waiting (a failed one, or one not yet due again)."""
    with app.uow() as uow:
        rows = uow.repo.claim_deliveries(ids, now)
        claimed_ids = {r.id for r in rows}
        first_blocked: dict[str, int] = {}
        for other in uow.repo.outbox_of_case(case_id):
            if other.status != "delivered" and other.id not in claimed_ids:
                first_blocked.setdefault(other.system, other.id)
        rows = [r for r in rows if r.id < first_blocked.get(r.system, r.id + 1)]
        claimed = [_Claimed(r.id, r.key, r.system, r.path, r.summary, dict(r.payload), r.attempts) for r in rows]
        for row in rows:
            row.lease_until = lease_until
        uow.commit()
    return claimed


def _release(app: UnitsOfWork, outbox_id: int, retry_at: datetime) -> None:
    with app.uow() as uow:
        row = uow.repo.outbox_message(outbox_id)
        if row is not None:
            row.lease_until, row.next_attempt_at = None, retry_at
        uow.commit()


def _record_delivered(app: UnitsOfWork, claimed: _Claimed, reference: str) -> None:
    with app.uow() as uow:
        row = _row(uow.repo.outbox_message(claimed.id))
        now = clock.now()
        row.status, row.reference, row.delivered_at = "delivered", reference, now
        row.attempts, row.lease_until, row.last_error = claimed.attempts + 1, None, None
        uow.repo.add(AuditEvent(at=now, case_id=row.case_id, actor="outbox", action="delivered",
                                summary=f"已送达{OUTSIDE_SYSTEMS[row.system]}：{row.summary}（回执 {reference}）",
                                article="", detail={"outbox_id": row.id, "system": row.system,
                                                    "reference": reference}))
        uow.commit()


def _record_failure(app: UnitsOfWork, settings: Settings, claimed: _Claimed, error: OutsideError) -> datetime | None:
    """Keep the error; schedule the next attempt, or give up. Returns when it comes back (None: gave up)."""
    with app.uow() as uow:
        row = _row(uow.repo.outbox_message(claimed.id))
        now = clock.now()
        row.attempts, row.lease_until, row.last_error = claimed.attempts + 1, None, error.message
        retry_at: datetime | None = None
        if error.retryable and row.attempts < settings.delivery_max_attempts:
            delay = backoff_delay(row.attempts, settings.delivery_backoff_seconds,
                                  settings.delivery_backoff_max_seconds)
            retry_at = now + timedelta(seconds=delay)
            row.next_attempt_at = retry_at
        else:
            row.status = "failed"
            why = "外部系统拒绝" if not error.retryable else f"已重试 {row.attempts} 次"
            uow.repo.add(AuditEvent(at=now, case_id=row.case_id, actor="outbox", action="delivery_failed",
                                    summary=f"送达失败（{why}）：{row.summary}：{error.message}", article="",
                                    detail={"outbox_id": row.id, "system": row.system, "attempts": row.attempts}))
        uow.commit()
        return retry_at


def _row(row: OutboxMessage | None) -> OutboxMessage:
    if row is None:
        raise LookupError("outbox row vanished while it was being delivered")
    return row
