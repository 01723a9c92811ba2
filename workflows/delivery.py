"""Delivering the outbox: side effects recorded by steps, sent to the outside systems after commit.

A row is claimed under a lease (so two deliverers never send it at the same time, and a crashed deliverer's row
is picked up again when the lease runs out), sent outside any transaction with its idempotency key, and its
outcome recorded in the case's history. Retryable failures come back with exponential backoff; a row that used up
its attempts, or that the outside system refused outright, becomes `failed`: it stays on the case, the stuck watch
lists it, and `beian retry CASE` queues it again. Nothing is dropped; a resend carries the same key, so the
receiver recognises it and nothing is recorded twice.

Rows of one case for one system go out in the order they were recorded: when one fails, the later ones wait with it
(a termination must not reach the national registry before the filing it terminates).

An outside system that is down is handled as a whole, not message by message (`outside_systems`, migration 0019): the
first delivery that fails for want of an answer (no connection, timeout, 5xx, an unusable answer) marks the system
down. While it is down, a delivery run sends it one probe, the waiting message due first (`probe_down_systems`), and
holds its other messages back; their failures do not use up their attempts, so an outage never turns them `failed`.
The first answer (a delivery, or even a refusal) marks the system up again and clears the backoff of every message
waiting for it, so they go out in the same run. A message the system refuses, or that keeps failing while the system
answers others, still becomes `failed` on its own. The stuck watch shows a system down longer than
BEIAN_OUTSIDE_DOWN_MINUTES as one row with the cases waiting on it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from adapters.outside.db import OutboxMessage, OutsideSystemState
from adapters.outside.repository import UnitOfWork, UnitsOfWork
from adapters.outside.settings import OUTSIDE_SYSTEMS, Settings
from adapters.outside.systems import OutsideError, backoff_delay, deliver
from workflows import clock

if TYPE_CHECKING:
    import httpx  # imported where deliveries run: the stuck watch reads this module's queries without it

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

    def merge(self, other: CaseDelivery) -> None:
        """Add what another pass over the same case did (a probe, then the case's own pass)."""
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed


@dataclass(frozen=True)
class Probe:
    """One probe of a system that was down: the message it was sent and what came of it."""

    system: str
    case: str | None  # None: no message waits for the system any more, so it is no longer taken for down
    outcome: CaseDelivery | None = None

    @property
    def answered(self) -> bool:
        return self.outcome is not None and bool(self.outcome.delivered or self.outcome.failed)


def due_deliveries(app: UnitsOfWork, now: datetime, limit: int = 1000) -> dict[str, list[int]]:
    """Pending deliveries due at `now`, grouped by case (each case's in recorded order)."""
    by_case: dict[str, list[int]] = defaultdict(list)
    with app.uow() as uow:
        for outbox_id, case_id in uow.repo.due_deliveries(now, limit):
            by_case[case_id].append(outbox_id)
    return dict(by_case)


def deliver_case(app: UnitsOfWork, settings: Settings, case_id: str, ids: list[int],
                 client: httpx.Client | None = None, held: frozenset[str] = frozenset()) -> CaseDelivery:
    """Send the case's rows among `ids` that may go now. Rows for a system in `held` (down, probed this run
    without answer) stay where they are, and so do the later rows of that system."""
    result = CaseDelivery(case_id)
    now = clock.now()
    claimed = _claim(app, case_id, ids, now,
                     now + timedelta(seconds=settings.http_timeout_seconds) + LEASE_MARGIN, held)
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
    """Probe the systems that are down, then deliver every due row, case by case (`beian deliver`)."""
    now = clock.now()
    results: dict[str, CaseDelivery] = {}
    import httpx

    with httpx.Client() as client:
        probes = probe_down_systems(app, settings, client)
        for probe in probes:
            if probe.outcome is not None:
                results[probe.outcome.case] = probe.outcome
        held = still_down(probes)
        for case_id, ids in due_deliveries(app, clock.now(), limit).items():
            outcome = deliver_case(app, settings, case_id, ids, client, held)
            if case_id in results:
                results[case_id].merge(outcome)
            else:
                results[case_id] = outcome
    return delivery_summary(now, list(results.values()))


def system_label(system: str) -> str:
    """The system's name as ops read it ("公示公告网站")."""
    return OUTSIDE_SYSTEMS.get(system, system)


def still_down(probes: list[Probe]) -> frozenset[str]:
    """The systems whose probe got no answer this run: their other messages wait for the next run's probe."""
    return frozenset(probe.system for probe in probes if probe.case is not None and not probe.answered)


def down_systems(uow: UnitOfWork) -> dict[str, OutsideSystemState]:
    """The systems currently taken for down, by key."""
    query = select(OutsideSystemState).where(OutsideSystemState.down_since.is_not(None))
    return {state.key: state for state in uow.session.scalars(query)}


def probe_down_systems(app: UnitsOfWork, settings: Settings, client: httpx.Client | None = None) -> list[Probe]:
    """Send each system taken for down its waiting message due first (one request per system and run).

    An answer marks the system up and clears its messages' backoff (see `_system_answered`), so the caller's
    `due_deliveries`, read afterwards, finds them all. A system no message waits for is simply no longer down."""
    with app.uow() as uow:
        systems = sorted(down_systems(uow))
    probes = []
    for system in systems:
        probes.append(probe_system(app, settings, system, client))
    return probes


def probe_system(app: UnitsOfWork, settings: Settings, system: str, client: httpx.Client | None = None) -> Probe:
    now = clock.now()
    with app.uow() as uow:
        row = _probe_candidate(uow, system, now)
        if row is None:
            state = uow.session.get(OutsideSystemState, system)
            if state is not None:
                state.down_since = None
            uow.commit()
            return Probe(system, None)
        outbox_id, case_id = row.id, row.case_id
        row.next_attempt_at = min(row.next_attempt_at, now)  # due now: the probe does not wait out its backoff
        uow.commit()
    # The probe goes through the ordinary claim: the lease, the order within the case and exactly-once all hold.
    return Probe(system, case_id, deliver_case(app, settings, case_id, [outbox_id], client))


def waiting_on(uow: UnitOfWork, system: str) -> list[str]:
    """The cases with a message waiting for `system` (pending, not yet delivered), in the order they began waiting."""
    query = (select(OutboxMessage.case_id).where(OutboxMessage.system == system, OutboxMessage.status == "pending")
             .group_by(OutboxMessage.case_id).order_by(func.min(OutboxMessage.id)))
    return list(uow.session.scalars(query))


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
            uow.repo.audit(at=now, case_id=case_id, actor=actor, action="delivery_requeued",
                           summary=f"重新发送：{row.summary}", article="", detail={"outbox_id": row.id})
        uow.commit()
        return len(rows)


def _claim(app: UnitsOfWork, case_id: str, ids: list[int], now: datetime, lease_until: datetime,
           held: frozenset[str] = frozenset()) -> list[_Claimed]:
    """Lease the rows that may go now: due, not held by another deliverer, for a system not `held`, and with no
    earlier undelivered row of the same system waiting (a failed one, or one not yet due again)."""
    with app.uow() as uow:
        rows = [r for r in uow.repo.claim_deliveries(ids, now) if r.system not in held]
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
        _system_answered(uow, row.system, now)
        uow.repo.audit(at=now, case_id=row.case_id, actor="outbox", action="delivered",
                       summary=f"已送达{OUTSIDE_SYSTEMS[row.system]}：{row.summary}（回执 {reference}）",
                       article="", detail={"outbox_id": row.id, "system": row.system,
                                           "reference": reference})
        uow.commit()


def _record_failure(app: UnitsOfWork, settings: Settings, claimed: _Claimed, error: OutsideError) -> datetime | None:
    """Keep the error; schedule the next attempt, or give up. Returns when it comes back (None: gave up).

    A failure for want of an answer marks the system down; once it is down, such failures are the system's, not the
    message's, and do not count against the message's attempts. A refusal is an answer: the system is up."""
    with app.uow() as uow:
        row = _row(uow.repo.outbox_message(claimed.id))
        now = clock.now()
        if error.retryable:
            state = _system_state(uow, row.system)
            counted = state.down_since is None
            if counted:
                state.down_since = now
            state.last_error, state.last_failure_at = error.message, now
        else:
            counted = True
            _system_answered(uow, row.system, now)
        row.attempts = claimed.attempts + (1 if counted else 0)
        row.lease_until, row.last_error = None, error.message
        retry_at: datetime | None = None
        if error.retryable and (not counted or row.attempts < settings.delivery_max_attempts):
            delay = backoff_delay(max(row.attempts, 1), settings.delivery_backoff_seconds,
                                  settings.delivery_backoff_max_seconds)
            retry_at = now + timedelta(seconds=delay)
            row.next_attempt_at = retry_at
        else:
            row.status = "failed"
            why = "外部系统拒绝" if not error.retryable else f"已重试 {row.attempts} 次"
            uow.repo.audit(at=now, case_id=row.case_id, actor="outbox", action="delivery_failed",
                           summary=f"送达失败（{why}）：{row.summary}：{error.message}", article="",
                           detail={"outbox_id": row.id, "system": row.system, "attempts": row.attempts})
        uow.commit()
        return retry_at


def _probe_candidate(uow: UnitOfWork, system: str, now: datetime) -> OutboxMessage | None:
    """The message to probe `system` with: pending, not leased, first of its case for that system (order within a
    case holds for probes too), due first; a failed probe moves it back, so probes take turns."""
    earlier = aliased(OutboxMessage)
    blocked = exists().where(earlier.case_id == OutboxMessage.case_id, earlier.system == OutboxMessage.system,
                             earlier.id < OutboxMessage.id, earlier.status != "delivered")
    query = (select(OutboxMessage)
             .where(OutboxMessage.system == system, OutboxMessage.status == "pending", ~blocked,
                    or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1))
    return uow.session.scalars(query).first()


def _system_state(uow: UnitOfWork, system: str) -> OutsideSystemState:
    """The system's row, made on first need (a savepoint: a deliverer beside us may be making it too)."""
    state = uow.session.get(OutsideSystemState, system)
    if state is None:
        try:
            with uow.session.begin_nested():
                state = OutsideSystemState(key=system)
                uow.session.add(state)
        except IntegrityError:
            state = uow.session.get(OutsideSystemState, system)
    assert state is not None
    return state


def _system_answered(uow: UnitOfWork, system: str, now: datetime) -> None:
    """The system answered: it is up. If it was down, its waiting messages are due at once, not after their
    backoff (their lease, status and order are untouched, so nothing can go twice)."""
    state = uow.session.get(OutsideSystemState, system)
    if state is None or state.down_since is None:  # the usual case: no write, no lock on the system's row
        return
    state.down_since, state.last_success_at = None, now
    uow.session.execute(update(OutboxMessage)
                        .where(OutboxMessage.system == system, OutboxMessage.status == "pending",
                               OutboxMessage.next_attempt_at > now)
                        .values(next_attempt_at=now)
                        .execution_options(synchronize_session=False))


def _row(row: OutboxMessage | None) -> OutboxMessage:
    if row is None:
        raise LookupError("outbox row vanished while it was being delivered")
    return row
