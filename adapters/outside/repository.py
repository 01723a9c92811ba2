"""Repository and unit of work over the application database (the service layer's only door to it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, Protocol

from sqlalchemy import bindparam, case, delete, func, insert, inspect, literal, or_, select, text, union_all, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, defer, sessionmaker, undefer

from adapters.outside.db import (
    INSERT_AUDIT,
    AuditEvent,
    CalendarYear,
    CaseAuthority,
    CatalogueOccupation,
    Document,
    Filing,
    FilingChange,
    FilingOccupation,
    FilingPeriod,
    HumanTask,
    Instance,
    IssuerRow,
    Material,
    MaterialContent,
    MessageWait,
    OutboxMessage,
    ProcessDefinition,
    PublicSubmission,
    SignInAttempt,
    StateValue,
    Timer,
    User,
    Violation,
    note_state_values_written,
    stored_state_values,
)
from adapters.outside.db import (
    Sequence as SequenceRow,
)
from adapters.outside.worklist import (
    WorklistFilter,
    WorklistPage,
    bounded_count,
    open_tasks_page,
    present_statuses,
    region_prefix,
)
from adapters.outside.worklist import page as worklist_page

# Statements a step sends every time, built once (building a statement costs more than the cached compiled form).
_PROJECTIONS = (HumanTask, Timer, MessageWait)
_PROJECTION_IDS = union_all(*(select(literal(table.__tablename__), table.id, table.bpmn_id)
                              .where(table.instance_id == bindparam("instance_id")) for table in _PROJECTIONS))
# By one id, sent once per row (executemany): a statement with a list of ids would be rendered anew for each length.
_REMOVE_PROJECTIONS = {table: delete(table.__table__).where(table.id == bindparam("gone_id")) for table in _PROJECTIONS}
# A step's case is read with its version's hash and the ids (→ BPMN element) of its open tasks, armed timers and
# message waits, each list folded into one text: id, unit separator, element; record separator between rows. Neither
# character can occur in a BPMN id or name (XML 1.0 does not allow them) nor in a task id.
_UNIT, _RECORD = "\x1f", "\x1e"
_STEP_INSTANCE = (select(Instance, ProcessDefinition.sha256,
                         *(select(func.aggregate_strings(table.id + _UNIT + table.bpmn_id, _RECORD))
                           .where(table.instance_id == Instance.id).correlate(Instance).scalar_subquery()
                           for table in _PROJECTIONS))
                  .join(ProcessDefinition, ProcessDefinition.id == Instance.definition_id)
                  # What the row holds, also into a copy the session already has: a step writes the instance with a
                  # Core UPDATE the ORM does not track, so a savepoint rolled back (a rehearsal's way on) does not
                  # expire that copy (pending ORM changes are flushed before the query, as always).
                  .execution_options(populate_existing=True))
_BY_CASE = _STEP_INSTANCE.where(Instance.case_id == bindparam("case_id"))
_BY_TASK = (_STEP_INSTANCE.join(HumanTask, HumanTask.instance_id == Instance.id)
            .where(HumanTask.id == bindparam("task_id")))
# Unlocked and locked (PostgreSQL: only the instance row, not its definition's nor the task's).
_INSTANCE_FOR_STEP = {False: _BY_CASE, True: _BY_CASE.with_for_update(of=Instance)}
_INSTANCE_OF_TASK = {False: _BY_TASK, True: _BY_TASK.with_for_update(of=Instance)}
# Built once: a step sends them every time, and building a statement costs as much as sending it. The UPDATE's SET
# clause is the columns of the parameters it is given.
_INSERT_ROWS = {table: insert(table.__table__) for table in _PROJECTIONS}
_UPDATE_INSTANCE = update(Instance.__table__).where(Instance.id == bindparam("instance_id_"),
                                                    Instance.row_version == bindparam("read_version_"))
CALENDAR_COUNTER = "calendar_changes"
_CALENDAR_FINGERPRINT = select(
    func.count(), func.sum(CalendarYear.year), func.max(CalendarYear.loaded_at),
    select(SequenceRow.value).where(SequenceRow.name == CALENDAR_COUNTER).scalar_subquery(),
).select_from(CalendarYear)
# Reads every case start makes, built once (a statement built per call was most of what reading one row cost).
_LATEST_DEFINITION = (select(ProcessDefinition).where(ProcessDefinition.process_id == bindparam("process_id"))
                      .order_by(ProcessDefinition.version.desc()).limit(1)
                      .options(defer(ProcessDefinition.bpmn_xml), defer(ProcessDefinition.forms)))
_DEFINITION_DIGEST = select(ProcessDefinition.sha256).where(ProcessDefinition.id == bindparam("definition_id"))
# The upserts (INSERT … ON CONFLICT), written once in the spelling SQLite (3.35 and later) and PostgreSQL share. Text,
# not SQLAlchemy's dialect INSERT constructs: those have no cache key in SQLAlchemy 2.0, so every execution compiled
# its statement anew — a step that numbers a document compiled two or three. A text statement is compiled once.
_NEXT_VALUE = text(f"INSERT INTO {SequenceRow.__tablename__} (name, value) VALUES (:name, 1) "
                   f"ON CONFLICT (name) DO UPDATE SET value = {SequenceRow.__tablename__}.value + 1 RETURNING value")
_NOTE_AUTHORITY = text(f"INSERT INTO {CaseAuthority.__tablename__} (case_id, authority) VALUES (:case_id, :authority) "
                       "ON CONFLICT DO NOTHING")
_KEEP_STATE_VALUES = text(
    f"INSERT INTO {StateValue.__tablename__} (digest, value, created_at) VALUES (:digest, :value, :created_at) "
    "ON CONFLICT (digest) DO NOTHING",
).bindparams(bindparam("created_at", type_=StateValue.__table__.c.created_at.type))
_KEEP_CONTENT = text(
    f"INSERT INTO {MaterialContent.__tablename__} (sha256, size, content) VALUES (:sha256, :size, :content) "
    "ON CONFLICT (sha256) DO NOTHING",
).bindparams(bindparam("content", type_=MaterialContent.__table__.c.content.type))


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    # --- definitions -------------------------------------------------------------------------------------
    def latest_definition(self, process_id: str) -> ProcessDefinition | None:
        """The latest version of a process. Its diagram and forms (tens of KB, the forms JSON to decode) are read when
        first used: opening a case needs only the version's id and name."""
        return self.session.scalars(_LATEST_DEFINITION, {"process_id": process_id}).first()

    def process_ids(self) -> list[str]:
        return list(self.session.scalars(select(ProcessDefinition.process_id).distinct()
                                         .order_by(ProcessDefinition.process_id)))

    def definitions(self, process_id: str) -> list[ProcessDefinition]:
        return list(self.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                                         .order_by(ProcessDefinition.version)))

    def instance_counts(self, process_id: str) -> dict[int, tuple[int, int]]:
        """Definition id → (running, all) instances of the process."""
        running = func.count().filter(Instance.completed_at.is_(None))
        query = (select(Instance.definition_id, running, func.count()).where(Instance.process_id == process_id)
                 .group_by(Instance.definition_id))
        return {row[0]: (row[1], row[2]) for row in self.session.execute(query)}

    def running_positions(self, process_id: str, definition_id: int | None = None) -> dict[str, int]:
        """BPMN element id → how many running cases of the process (of one version, if given) stand on it: an open
        task, an armed timer or a wait for a message, read from the projections, not from the states."""
        counts: dict[str, set[int]] = {}
        for table in (HumanTask, Timer, MessageWait):
            query = (select(table.bpmn_id, table.instance_id).join(Instance, Instance.id == table.instance_id)
                     .where(Instance.process_id == process_id, Instance.completed_at.is_(None)).distinct())
            if definition_id is not None:
                query = query.where(Instance.definition_id == definition_id)
            for bpmn_id, instance_id in self.session.execute(query):
                counts.setdefault(bpmn_id, set()).add(instance_id)
        return {bpmn_id: len(ids) for bpmn_id, ids in counts.items()}

    def running_positions_of(self, instance_id: int) -> set[str]:
        """The BPMN element ids one case stands on (open tasks, armed timers, awaited messages)."""
        found: set[str] = set()
        for table in (HumanTask, Timer, MessageWait):
            found.update(self.session.scalars(select(table.bpmn_id).where(table.instance_id == instance_id)))
        return found

    def running_instances(self, definition_id: int) -> list[Instance]:
        return list(self.session.scalars(select(Instance).where(Instance.definition_id == definition_id,
                                                                Instance.completed_at.is_(None))
                                         .order_by(Instance.id)))

    def definition(self, definition_id: int) -> ProcessDefinition:
        return self.session.get_one(ProcessDefinition, definition_id)

    def definition_digest(self, definition_id: int) -> str:
        """A version's content hash alone (the key of the parsed-definition cache), not its XML."""
        return self.session.scalars(_DEFINITION_DIGEST, {"definition_id": definition_id}).one()

    def add(self, row: Any) -> None:
        self.session.add(row)

    def audit(self, *, at: datetime, case_id: str | None, actor: str, action: str, summary: str,
              article: str | None = "", detail: dict[str, Any]) -> None:
        """A history row, written now (in this transaction: a rollback, a savepoint's too, takes it back)."""
        self.insert_audit([{"at": at, "case_id": case_id, "actor": actor, "action": action, "summary": summary,
                            "article": article or "", "detail": detail}])

    def insert_audit(self, rows: list[dict[str, Any]]) -> None:
        """History rows in one statement, in their order (a step's, written when it is saved)."""
        if rows:
            self.session.connection().execute(INSERT_AUDIT, rows)

    # --- instances ---------------------------------------------------------------------------------------
    def instance(self, case_id: str, *, for_update: bool = False) -> Instance | None:
        query = select(Instance).where(Instance.case_id == case_id)
        if for_update and self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def instances_of(self, case_ids: Sequence[str]) -> dict[str, Instance]:
        """The cases of `case_ids` by case number, in one query (a page of the worklist, which also says how each
        came in: its deferred `channel` is loaded with it)."""
        if not case_ids:
            return {}
        query = select(Instance).where(Instance.case_id.in_(case_ids)).options(undefer(Instance.channel))
        return {i.case_id: i for i in self.session.scalars(query)}

    def instance_for_step(self, case_id: str | None = None, *, task_id: str | None = None) -> StepRow | None:
        """The case locked for a step (FOR UPDATE on PostgreSQL; SQLite's step holds the write lock already), with
        its definition version's content hash (the parsed version is found in the cache by it) and the ids of its
        projections (what the step's save compares with), in one statement. Found by its number, or by one of its
        open tasks (`task_id`)."""
        locked = self.dialect == "postgresql"
        if task_id is not None:
            query, parameters = _INSTANCE_OF_TASK[locked], {"task_id": task_id}
        else:
            query, parameters = _INSTANCE_FOR_STEP[locked], {"case_id": case_id}
        row = self.session.execute(query, parameters).first()
        if row is None:
            return None
        projections = {table.__tablename__: dict(entry.split(_UNIT, 1) for entry in folded.split(_RECORD))
                       if folded else {} for table, folded in zip(_PROJECTIONS, row[2:], strict=True)}
        return StepRow(row[0], row[1], projections)

    def instance_by_id(self, instance_id: int, *, for_update: bool = False) -> Instance | None:
        query = select(Instance).where(Instance.id == instance_id)
        if for_update and self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def open_instances(self) -> list[Instance]:
        return list(self.session.scalars(select(Instance).where(Instance.completed_at.is_(None))
                                         .order_by(Instance.id)))

    def next_value(self, name: str) -> int:
        """Increment a named counter inside the current transaction (rolled back with it): one upsert that returns
        the new value. A counter created by two transactions at once makes the second wait for the first and go on
        from its value (SELECT … FOR UPDATE cannot lock a row that does not exist yet); on SQLite every step holds
        the write lock from BEGIN IMMEDIATE anyway. RETURNING needs SQLite 3.35, as migration 0021 does."""
        return int(self.session.execute(_NEXT_VALUE, {"name": name}).scalar_one())

    # --- projections -------------------------------------------------------------------------------------
    def human_tasks(self, instance_id: int) -> list[HumanTask]:
        return list(self.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)))

    def human_task(self, task_id: str, *, for_update: bool = False) -> HumanTask | None:
        if for_update:
            return self.session.get(HumanTask, task_id, with_for_update=self.dialect == "postgresql")
        return self.session.get(HumanTask, task_id)

    def open_tasks(self, case_id: str | None = None) -> list[HumanTask]:
        if case_id is None:  # every open task: in the worklist's order, read off its index
            query = select(HumanTask).order_by(HumanTask.sort_due, HumanTask.created_at, HumanTask.id)
            return list(self.session.scalars(query))
        # A case's few tasks in the same order, spelt without `sort_due`: a database not yet upgraded can be read.
        no_due_last = case((HumanTask.due_at.is_(None), 1), else_=0)
        query = select(HumanTask).where(HumanTask.case_id == case_id)
        return list(self.session.scalars(query.order_by(no_due_last, HumanTask.due_at, HumanTask.created_at,
                                                        HumanTask.id)))

    def projection_ids(self, instance_id: int) -> dict[str, dict[str, str]]:
        """The ids (→ BPMN element) of one case's open tasks, armed timers and message waits, by table name, read
        in one statement: what a step compares with the state it saves, loading only the rows that stay."""
        found: dict[str, dict[str, str]] = {table.__tablename__: {} for table in _PROJECTIONS}
        for table_name, row_id, bpmn_id in self.session.connection().execute(_PROJECTION_IDS,
                                                                             {"instance_id": instance_id}):
            found[table_name][row_id] = bpmn_id
        return found

    def projection_rows(self, table: type[Any], ids: Iterable[str]) -> dict[str, Any]:
        """The rows of a projection table (HumanTask, Timer, MessageWait) by id; no statement for no ids."""
        wanted = list(ids)
        if not wanted:
            return {}
        return {row.id: row for row in self.session.scalars(select(table).where(table.id.in_(wanted)))}

    def state_values(self, digests: Iterable[str]) -> dict[str, str]:
        """The values states refer to (digest → canonical JSON), of those stored."""
        wanted = list(digests)
        if not wanted:
            return {}
        rows = self.session.connection().execute(select(StateValue.digest, StateValue.value)
                                                 .where(StateValue.digest.in_(wanted)))
        return {digest: value for digest, value in rows}

    def keep_state_values(self, values: dict[str, str], now: datetime) -> None:
        """Store the values a state about to be saved refers to (digest → canonical JSON), each once: none this
        process saw committed to the database, the others with ON CONFLICT DO NOTHING."""
        stored = stored_state_values(self.session)
        missing = [{"digest": digest, "value": value, "created_at": now}
                   for digest, value in values.items() if digest not in stored]
        if missing:
            self.session.connection().execute(_KEEP_STATE_VALUES, missing)
            note_state_values_written(self.session, (row["digest"] for row in missing))

    def insert_rows(self, table: type[Any], rows: list[dict[str, Any]]) -> None:
        """New rows of `table` (a mapped class) in one statement, outside the ORM's unit of work: a step's new
        projections, which nothing reads back as objects in the same transaction. No statement for no rows."""
        if rows:
            self.session.connection().execute(_INSERT_ROWS[table], rows)

    def update_instance(self, instance: Instance, values: dict[str, Any]) -> bool:
        """Write `values` and the instance's own changes (what services set on it) in one UPDATE if the row still has
        the `row_version` it was read with, the next version with them; False if not (another writer changed it).
        The object then holds what the row holds, with nothing left for the ORM to flush."""
        state = inspect(instance)
        read_version = instance.row_version
        values = {**{key: getattr(instance, key) for key in state.committed_state}, **values,
                  "row_version": read_version + 1}
        parameters = {**values, "instance_id_": instance.id, "read_version_": read_version}
        if self.session.connection().execute(_UPDATE_INSTANCE, parameters).rowcount != 1:
            return False
        state.dict.update(values)
        # What a flush does once it has written an object (SQLAlchemy's own bookkeeping; no public equivalent):
        # every attribute committed, the object no longer counted as modified.
        state._commit_all(state.dict, self.session.identity_map)
        return True

    def remove_projections(self, table: type[Any], ids: Iterable[str]) -> None:
        """Delete projection rows by id in one statement (none for no ids); a copy of one this session holds is
        forgotten, so it is never written back."""
        gone = set(ids)
        if not gone:
            return
        for row in [row for row in self.session.identity_map.values() if isinstance(row, table) and row.id in gone]:
            self.session.expunge(row)
        self.session.connection().execute(_REMOVE_PROJECTIONS[table], [{"gone_id": row_id} for row_id in gone])

    def message_waits(self, instance_id: int) -> list[MessageWait]:
        return list(self.session.scalars(select(MessageWait).where(MessageWait.instance_id == instance_id)))

    def timers(self, instance_id: int) -> list[Timer]:
        return list(self.session.scalars(select(Timer).where(Timer.instance_id == instance_id)))

    def due_cases(self, now: datetime, limit: int, max_attempts: int | None = None) -> list[tuple[int, str]]:
        """(instance id, case) with a timer due before `now`, earliest first; reads the indexed timers table only.

        Due means strictly before `now`, as SpiffWorkflow decides when it refreshes a timer. Cases whose steps
        failed `max_attempts` times in a row are left to `beian retry`."""
        # The due rows are picked in a materialised CTE first: otherwise SQLite's planner scans the whole timers
        # table in instance order to save the GROUP BY a sort, and finding due work grows with the cases alive.
        due = (select(Timer.instance_id, Timer.case_id, Timer.due_at).where(Timer.due_at < now)
               .cte("due").prefix_with("MATERIALIZED"))
        query = (select(due.c.instance_id, due.c.case_id, func.min(due.c.due_at).label("first_due"))
                 .group_by(due.c.instance_id, due.c.case_id).order_by("first_due").limit(limit))
        if max_attempts is not None:
            query = query.join(Instance, Instance.id == due.c.instance_id).where(Instance.error_count < max_attempts)
        return [(row.instance_id, row.case_id) for row in self.session.execute(query)]

    def claim_due_instance(self, instance_id: int, now: datetime) -> Instance | None:
        """The instance, locked for this transaction, if it still has a timer due before `now`.

        On PostgreSQL a row another sweep holds is skipped (FOR UPDATE SKIP LOCKED) instead of waited for; SQLite
        serialises writers (BEGIN IMMEDIATE). The due timer is re-checked in a statement of its own *after* the
        lock is held: under READ COMMITTED that statement sees what a concurrent sweep committed before releasing
        the row, so a timer it already fired is not fired again (a subquery in the locking statement would still
        see the old snapshot)."""
        query = select(Instance).where(Instance.id == instance_id)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        instance = self.session.scalars(query).first()
        if instance is None:
            return None
        due = self.session.scalar(select(Timer.id).where(Timer.instance_id == instance_id, Timer.due_at < now)
                                  .limit(1))
        return instance if due is not None else None

    # --- outbox ------------------------------------------------------------------------------------------
    def due_deliveries(self, now: datetime, limit: int) -> list[tuple[int, str]]:
        """(outbox id, case) of pending deliveries whose next attempt is due and that nobody is sending."""
        query = (select(OutboxMessage.id, OutboxMessage.case_id)
                 .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
                 .order_by(OutboxMessage.id).limit(limit))
        return [(row.id, row.case_id) for row in self.session.execute(query)]

    def claim_deliveries(self, ids: Sequence[int], now: datetime) -> list[OutboxMessage]:
        """Those of `ids` still pending, due and not leased, locked for this transaction (skipping rows another
        deliverer holds on PostgreSQL), in the order they were recorded."""
        query = (select(OutboxMessage)
                 .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending",
                        OutboxMessage.next_attempt_at <= now,
                        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
                 .order_by(OutboxMessage.id))
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.session.scalars(query))

    def outbox_message(self, outbox_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, outbox_id)

    def outbox_of_case(self, case_id: str) -> list[OutboxMessage]:
        return list(self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)))

    def instances_with_provisional_deadlines(self) -> list[int]:
        timers = select(Timer.instance_id).where(Timer.provisional.is_(True))
        tasks = select(HumanTask.instance_id).where(HumanTask.provisional.is_(True))
        return sorted(set(self.session.scalars(timers)) | set(self.session.scalars(tasks)))

    # --- filings -----------------------------------------------------------------------------------------
    def active_filing_numbers(self, credit_code: str, occupation_codes: Sequence[str]) -> dict[str, str]:
        """Of `occupation_codes`, those an active filing of the institution covers, with its number (the latest).

        The institution's occupations are read and the codes picked here: with the codes in the query, a planner
        without statistics (SQLite) may walk the occupation-code index, every filing of a common occupation, instead
        of the institution's few filings: a cost that grew with the filings every application was checked against."""
        wanted = set(occupation_codes)
        query = (select(FilingOccupation.occupation_code, Filing.filing_number)
                 .join(Filing, Filing.id == FilingOccupation.filing_id)
                 .where(Filing.credit_code == credit_code, Filing.termination_kind.is_(None))
                 .order_by(Filing.id, FilingOccupation.id))
        return {code: number for code, number in self.session.execute(query) if code in wanted}

    def filing_for_case(self, case_id: str) -> Filing | None:
        """The filing a case created or concerns."""
        instance = self.instance(case_id)
        if instance is not None and instance.filing_id is not None:
            return self.session.get(Filing, instance.filing_id)
        return self.session.scalars(select(Filing).where(Filing.case_id == case_id)).first()

    def filing(self, filing_id: int, *, for_update: bool = False) -> Filing | None:
        # populate_existing: a filing read earlier in this session (before the lock) must be refreshed from the locked
        # row, or a concurrent step's change (e.g. another case's suspension) would be overwritten.
        return self.session.get(Filing, filing_id, with_for_update=for_update, populate_existing=for_update)

    def filing_by_number(self, number: str) -> Filing | None:
        return self.session.scalars(select(Filing).where(Filing.filing_number == number)).first()

    def filings(self, status: str | None = None, region: str | None = None) -> list[Filing]:
        query = select(Filing)
        if status is not None:
            query = query.where(Filing.status == status)
        if region is not None:
            query = query.where(Filing.region.startswith(region.rstrip("0") or region))
        return list(self.session.scalars(query.order_by(Filing.id)))

    def directory_filings(self, statuses: Sequence[str], *, on_or_after: Any, query: str = "", region: str = "",
                          occupation: str = "", offset: int = 0, limit: int = 20) -> tuple[list[Filing], int]:
        """Filings in one of `statuses` still valid on `on_or_after` (a date), found by part of the name or the whole
        credit code or filing number, within a region (a division code prefix) and naming an occupation code; one
        page of them, by filing number, and how many there are."""
        conditions: list[Any] = [Filing.status.in_(list(statuses)), Filing.valid_until >= on_or_after]
        if query:
            conditions.append(or_(Filing.institution_name.contains(query, autoescape=True),
                                  Filing.credit_code == query.upper(), Filing.filing_number == query))
        if region:
            conditions.append(Filing.region.startswith(region.rstrip("0") or region))
        if occupation:
            conditions.append(Filing.id.in_(select(FilingOccupation.filing_id)
                                            .where(FilingOccupation.occupation_code == occupation)))
        total = self.session.scalar(select(func.count()).select_from(Filing).where(*conditions)) or 0
        rows = self.session.scalars(select(Filing).where(*conditions).order_by(Filing.filing_number)
                                    .offset(offset).limit(limit))
        return list(rows), total

    def cases_in_status(self, process_id: str, status: str) -> list[Instance]:
        return list(self.session.scalars(select(Instance).where(
            Instance.process_id == process_id, Instance.status == status, Instance.completed_at.is_(None))
            .order_by(Instance.received_at, Instance.id)))

    def public_submissions(self, kind: str, since: datetime, client: str | None = None) -> int:
        """How many submissions of `kind` came since `since` (from `client`, if given)."""
        query = select(func.count()).select_from(PublicSubmission).where(
            PublicSubmission.kind == kind, PublicSubmission.at >= since)
        if client is not None:
            query = query.where(PublicSubmission.client == client)
        return self.session.scalar(query) or 0

    def branches(self, filing_id: int) -> list[Filing]:
        return list(self.session.scalars(select(Filing).where(Filing.parent_id == filing_id).order_by(Filing.id)))

    def filing_periods(self, filing_id: int) -> list[FilingPeriod]:
        return list(self.session.scalars(
            select(FilingPeriod).where(FilingPeriod.filing_id == filing_id).order_by(FilingPeriod.period)))

    def filing_occupations(self, filing_id: int) -> list[FilingOccupation]:
        return list(self.session.scalars(select(FilingOccupation).where(FilingOccupation.filing_id == filing_id)))

    def filing_changes(self, filing_id: int) -> list[FilingChange]:
        return list(self.session.scalars(
            select(FilingChange).where(FilingChange.filing_id == filing_id).order_by(FilingChange.id)))

    def violations(self, filing_id: int, since: datetime | None = None, *,
                   in_force: bool = False) -> list[Violation]:
        """The filing's violations archive; `in_force` leaves out what was revoked on review."""
        query = select(Violation).where(Violation.filing_id == filing_id)
        if since is not None:
            query = query.where(Violation.decided_at >= since)
        if in_force:
            query = query.where(Violation.revoked.is_(None))
        return list(self.session.scalars(query.order_by(Violation.id)))

    def case_violations(self, case_id: str) -> list[Violation]:
        return list(self.session.scalars(select(Violation).where(Violation.case_id == case_id)
                                         .order_by(Violation.id)))

    def cases_of_filing(self, filing: Filing) -> list[Instance]:
        """Every case of the filing, the new-filing case first."""
        return list(self.session.scalars(
            select(Instance).where((Instance.filing_id == filing.id) | (Instance.case_id == filing.case_id))
            .order_by(Instance.id)))

    def open_cases_of_filing(self, filing_id: int) -> list[Instance]:
        return list(self.session.scalars(
            select(Instance).where(Instance.filing_id == filing_id, Instance.completed_at.is_(None))
            .order_by(Instance.id)))

    # --- documents and audit -----------------------------------------------------------------------------
    def documents(self, case_ids: str | Sequence[str]) -> list[Document]:
        ids = [case_ids] if isinstance(case_ids, str) else list(case_ids)
        return list(self.session.scalars(select(Document).where(Document.case_id.in_(ids)).order_by(Document.id)))

    def document(self, document_id: int) -> Document | None:
        return self.session.get(Document, document_id)

    # --- materials ---------------------------------------------------------------------------------------
    def issuer_row(self, authority: str) -> IssuerRow | None:
        return self.session.get(IssuerRow, authority)

    def issuer_rows(self) -> list[IssuerRow]:
        return list(self.session.scalars(select(IssuerRow).order_by(IssuerRow.authority)))

    def catalogue(self, codes: Sequence[str]) -> dict[str, CatalogueOccupation]:
        """The catalogue's entries for `codes` (those it has)."""
        rows = self.session.scalars(select(CatalogueOccupation).where(CatalogueOccupation.code.in_(list(codes))))
        return {row.code: row for row in rows}

    def catalogue_size(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(CatalogueOccupation)) or 0)

    def replace_catalogue(self, rows: Sequence[CatalogueOccupation]) -> None:
        self.session.execute(delete(CatalogueOccupation))
        self.session.add_all(rows)

    def case_authority_codes(self) -> list[str]:
        """Every authority that has a case or a task on one."""
        return list(self.session.scalars(select(CaseAuthority.authority).distinct()))

    def add_material(self, case_id: str, item: str, *, file_name: str, media_type: str, sha256: str,
                     content: bytes, uploaded_by: str, uploaded_at: datetime) -> Material:
        """A new version of a case's checklist item. The caller holds the case's lock (its unit of work locked the
        instance row), so the next version number is not taken by a concurrent upload."""
        self._keep_content(sha256, content)
        latest = self.session.scalar(select(func.max(Material.version))
                                     .where(Material.case_id == case_id, Material.item == item))
        material = Material(case_id=case_id, item=item, version=(latest or 0) + 1, file_name=file_name,
                            media_type=media_type, size=len(content), sha256=sha256, uploaded_by=uploaded_by,
                            uploaded_at=uploaded_at)
        self.session.add(material)
        self.session.flush()
        return material

    def _keep_content(self, sha256: str, content: bytes) -> None:
        # The same file sent twice (to two cases, or again after a refusal) is stored once. Another transaction may
        # be storing the same bytes right now: ON CONFLICT DO NOTHING lets both commit.
        values = {"sha256": sha256, "size": len(content), "content": content}
        self.session.execute(_KEEP_CONTENT, values)

    def note_authority(self, case_id: str, authority: str) -> None:
        """Record that `authority` may see the case (its own, or one given a task on it); once is enough."""
        self.session.execute(_NOTE_AUTHORITY, {"case_id": case_id, "authority": authority})

    def case_authorities(self, case_id: str) -> list[str]:
        return list(self.session.scalars(select(CaseAuthority.authority).where(CaseAuthority.case_id == case_id)
                                         .order_by(CaseAuthority.authority)))

    def materials(self, case_ids: str | Sequence[str]) -> list[Material]:
        """Every version of every material of the cases, oldest first (without the files' bytes)."""
        ids = [case_ids] if isinstance(case_ids, str) else list(case_ids)
        return list(self.session.scalars(select(Material).where(Material.case_id.in_(ids))
                                         .order_by(Material.item, Material.version)))

    def material(self, material_id: int) -> Material | None:
        return self.session.get(Material, material_id)

    def material_content(self, sha256: str) -> bytes:
        return self.session.scalars(select(MaterialContent.content).where(MaterialContent.sha256 == sha256)).one()

    def history(self, case_ids: str | Sequence[str]) -> list[AuditEvent]:
        ids = [case_ids] if isinstance(case_ids, str) else list(case_ids)
        return list(self.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id.in_(ids)).order_by(AuditEvent.id)))

    # --- calendar ----------------------------------------------------------------------------------------
    def calendar_years(self) -> list[CalendarYear]:
        return list(self.session.scalars(select(CalendarYear).order_by(CalendarYear.year)))

    def calendar_fingerprint(self) -> tuple[Any, ...]:
        """What changes whenever a year's arrangement is loaded, replaced or removed, by any process: the years, the
        latest load and the calendar's change counter (bumped by `note_calendar_change`), in one small statement."""
        row = self.session.execute(_CALENDAR_FINGERPRINT).one()
        return tuple(row)

    def note_calendar_change(self) -> None:
        """Bump the calendar's change counter (in the transaction that changes a year): other processes holding the
        calendar see their copy is stale (`calendar_fingerprint`)."""
        self.next_value(CALENDAR_COUNTER)

    def calendar_year(self, year: int) -> CalendarYear | None:
        return self.session.get(CalendarYear, year)

    def delete_calendar_year(self, year: int) -> None:
        self.session.execute(delete(CalendarYear).where(CalendarYear.year == year))

    # --- users and the worklist --------------------------------------------------------------------------
    def user(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).first()

    def task_history(self, process_id: str, since: datetime | None = None) -> list[AuditEvent]:
        """The opened and completed human tasks of a process's cases (from the history), oldest first."""
        query = (select(AuditEvent).join(Instance, Instance.case_id == AuditEvent.case_id)
                 .where(Instance.process_id == process_id,
                        AuditEvent.action.in_(("task_opened", "task_completed"))))
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        return list(self.session.scalars(query.order_by(AuditEvent.at, AuditEvent.id)))

    def sign_in_failures(self, *, since: datetime, username: str | None = None,
                         client: str | None = None) -> list[datetime]:
        """When the failed sign-ins after `since` happened, oldest first: of one name (only those after its last
        success or unlock) or from one client address."""
        query = select(SignInAttempt.at).where(SignInAttempt.outcome == "failure", SignInAttempt.at > since)
        if username is not None:
            cleared = (select(func.max(SignInAttempt.at))
                       .where(SignInAttempt.username == username, SignInAttempt.outcome.in_(("success", "unlock")))
                       .scalar_subquery())
            query = query.where(SignInAttempt.username == username,
                                or_(cleared.is_(None), SignInAttempt.at > cleared))
        if client is not None:
            query = query.where(SignInAttempt.client == client)
        return list(self.session.scalars(query.order_by(SignInAttempt.at)))

    def users(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.username)))

    def worklist(self, where: WorklistFilter, *, limit: int, after: str | None = None,
                 before: str | None = None) -> WorklistPage:
        """One page of the open tasks `where` selects, most urgent first: tasks with a due time first, earliest due
        first (tasks without one last), then oldest first, the task id breaking ties. `after`/`before`: the cursor
        of the page's neighbour (adapters/outside/worklist.py: keyset pages read off the index)."""
        return worklist_page(self.session, where, limit=limit, after=after, before=before)

    def open_tasks_page(self, case_id: str | None = None, *, limit: int, after: str | None = None) -> WorklistPage:
        """A page of every open task (of one case), in the worklist's order, after the cursor `after`."""
        return open_tasks_page(self.session, case_id=case_id, limit=limit, after=after)

    def worklist_count(self, where: WorklistFilter) -> int:
        """How many open tasks `where` selects, up to COUNT_BOUND; above it, COUNT_BOUND + 1 ("more than")."""
        return bounded_count(self.session, where)

    def worklist_statuses(self, *, roles: Sequence[str], authority: str, among: Iterable[str]) -> list[str]:
        """Which of the statuses `among` the cases on which `roles` of `authority` have open tasks are in: the
        worklist's status filter offers only these (adapters/outside/worklist.py present_statuses)."""
        return present_statuses(self.session, roles=roles, authority=authority, among=among)

    def search_cases(self, *, seen_by: str | None, text: str | None = None, process: str | None = None,
                     finished: bool | None = None, status: str | None = None, failed: bool = False,
                     region: str | None = None, received_from: datetime | None = None,
                     received_before: datetime | None = None, filed: bool = False, limit: int,
                     offset: int) -> tuple[list[Instance], int]:
        """One page of cases, newest received first, and how many match.

        `seen_by`: an authority code (the cases it may see, CaseAuthority), a province's two digits (every case in
        it: an administrator's view), or None (every case: the command line on the server). `text`: part of the
        institution's name, of the case number or of its filing's number, or the whole credit code. `region`: the
        cases located in that division (a city's code covers its districts). `filed`: only the cases that made a
        filing (one per filing)."""
        conditions: list[Any] = []
        if seen_by is not None:
            authority = CaseAuthority.authority
            visible = select(CaseAuthority.case_id).where(
                authority.startswith(seen_by) if len(seen_by) == 2 else authority == seen_by)
            conditions.append(Instance.case_id.in_(visible))
        if text:
            numbered = select(Filing.id).where(Filing.filing_number.contains(text, autoescape=True))
            conditions.append(or_(Instance.institution_name.contains(text, autoescape=True),
                                  Instance.case_id.contains(text.upper(), autoescape=True),
                                  Instance.credit_code == text.upper(), Instance.filing_id.in_(numbered)))
        if process is not None:
            conditions.append(Instance.process_id == process)
        if finished is not None:
            conditions.append(Instance.completed_at.is_not(None) if finished else Instance.completed_at.is_(None))
        if status is not None:
            conditions.append(Instance.status == status)
        if failed:
            conditions.append(Instance.error_at.is_not(None))
        if filed:  # the cases that made a filing: the list of filings
            conditions.append(Instance.case_id.in_(select(Filing.case_id)))
        if region is not None:
            conditions.append(Instance.region.startswith(region_prefix(region)))
        if received_from is not None:
            conditions.append(Instance.received_at >= received_from)
        if received_before is not None:
            conditions.append(Instance.received_at < received_before)
        total = self.session.scalar(select(func.count()).select_from(Instance).where(*conditions)) or 0
        # The state and the application are the heavy columns; a list shows neither.
        page = (select(Instance).options(defer(Instance.state), defer(Instance.application)).where(*conditions)
                .order_by(Instance.received_at.desc(), Instance.id.desc())
                .limit(limit).offset(offset))
        return list(self.session.scalars(page)), total


class StepRow(NamedTuple):
    """A case as a step reads it (Repository.instance_for_step)."""

    instance: Instance
    digest: str  # its definition version's content hash
    projections: dict[str, dict[str, str]]  # table name → id → BPMN element, as `projection_ids` returns them


class UnitsOfWork(Protocol):
    """What opens units of work on one database: the application (workflows.service.Beian) and each of its
    capabilities. The sweep and the deliveries take this rather than the application, which is built on them."""

    def uow(self) -> UnitOfWork: ...


class UnitOfWork:
    """One transaction. Leaving the block without `commit()` rolls everything back.

    A read-only one (`read_only=True`, from a session factory bound with the READ_ONLY option) may not commit: on
    SQLite it began deferred, beside a step that holds the write lock (adapters.outside.db.make_engine)."""

    def __init__(self, session_factory: sessionmaker, *, read_only: bool = False) -> None:
        self._session_factory = session_factory
        self.read_only = read_only

    def __enter__(self) -> UnitOfWork:
        self.session: Session = self._session_factory()
        self.repo = Repository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


# SQLSTATEs after which the whole transaction may simply be run again: PostgreSQL aborted it to break a deadlock
# or a serialisation conflict; nothing of it was kept.
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """A database error that rolled the transaction back and goes away if it is retried."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(orig)


# PostgreSQL refusing a connection because it has as many as it allows (too_many_connections).
_TOO_MANY_CONNECTIONS = "53300"


def is_busy(exc: BaseException) -> bool:
    """The database could not take the work in time, and nothing was changed: a transient abort (after its retries),
    no free connection in the pool within BEIAN_DB_WAIT, or a server with all its connections in use."""
    if isinstance(exc, SQLAlchemyTimeoutError) or is_transient(exc):
        return True
    orig = getattr(exc, "orig", None)
    return ((getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) == _TOO_MANY_CONNECTIONS
            or "too many clients" in str(orig))  # a refused connection may carry no SQLSTATE, only the message
