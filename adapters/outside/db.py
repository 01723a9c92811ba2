"""The application database: SQLAlchemy 2 models and engine set-up.

SQLite file by default, any SQLAlchemy URL otherwise (PostgreSQL at scale). The schema itself is owned by the Alembic
migrations in `adapters/outside/migrations`; these models must match them (a test compares the two).

Design for cheap steps: instance state is stored as JSON without the process spec (it references its definition
row); open human tasks and waiting timers are projections with indexed due columns, so finding due work or a
worklist never deserialises an instance.
"""

# No `from __future__ import annotations`: SQLAlchemy reads each model's `Mapped[...]` annotations, and evaluating
# them as strings (eval, once per column) was a tenth of mapping the models at every command's start.
import os
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

DEFAULT_DATABASE_FILE = "beian.sqlite3"
CONNECT_TIMEOUT_SECONDS = 10


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC. SQLite has no time zones; storing UTC everywhere keeps `due_at <= now`
    comparisons in SQL correct on both SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class ProcessDefinition(Base):
    """One deployed version of one BPMN process, with the form schemas it references."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_definition_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))


class Instance(Base):
    """A running or finished process instance: one case."""

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), unique=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    state: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(40), index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_article: Mapped[str] = mapped_column(Text, default="")
    status_since: Mapped[datetime]
    institution_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    authority_level: Mapped[str] = mapped_column(String(20))
    application: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None] = mapped_column(index=True)  # the stuck watch finds failed cases by it
    # Consecutive failed attempts to step the case (reset by a successful step); the sweep stops retrying at the
    # configured maximum and leaves the case to `beian retry`.
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # The filing a lifecycle case concerns (renewal, change, sanction, termination); for a new-filing case, the
    # filing it produced. Every case of one filing shares its history.
    filing_id: Mapped[int | None] = mapped_column(ForeignKey("filings.id"), index=True)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the outside event that opened a lifecycle case
    # How a filing application came in: "online" (the institution's portal), else on paper (registered by intake).
    # Deferred: a command reading a database not yet upgraded (a downgrade, a rolling upgrade) never selects it.
    channel: Mapped[str | None] = mapped_column(String(10), deferred=True)

    # Optimistic concurrency: every UPDATE says WHERE row_version = <read value>; a concurrent writer makes it
    # match nothing and SQLAlchemy raises StaleDataError instead of silently merging two steps.
    __mapper_args__ = {"version_id_col": row_version}


class StateValue(Base):
    """A value an instance's state refers to instead of holding it, once per content (SHA-256 of its canonical JSON):
    the region's profile a case was started with, the same for every case of the region while its rules stay the
    same (workflows/state.py). Append-only: states written at any time may refer to any of them."""

    __tablename__ = "state_values"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # the canonical JSON the digest is of
    created_at: Mapped[datetime]


# The instant standing for "no due time" in `human_tasks.sort_due`: later than any real deadline. Written as SQLAlchemy
# stores a naive UTC datetime on SQLite (text that sorts as time); PostgreSQL reads the literal as a timestamp.
NO_DUE_TIME = datetime(9999, 12, 31, tzinfo=UTC)
SORT_DUE_EXPRESSION = "coalesce(due_at, '9999-12-31 00:00:00.000000')"


class HumanTask(Base):
    """An open (READY) user task: the worklist reads only this table."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # The worklist: one authority's tasks of one role in urgency order, so a page is read off the index
        # (keyset pagination, one branch per role) whatever the number of open tasks; and the same by claim, for
        # 我的待办 (claimed_by = me) and 本角色未认领 (claimed_by IS NULL).
        Index("ix_human_tasks_worklist", "authority", "role", "sort_due", "created_at", "id"),
        Index("ix_human_tasks_worklist_claim", "authority", "role", "claimed_by", "sort_due", "created_at", "id"),
        # Every open task in the same order: `beian tasks` pages through them by the same cursors.
        Index("ix_human_tasks_sort", "sort_due", "created_at", "id"),
        # The status filter: which statuses a role's tasks are in (one probe per status, a seek each), and a page
        # of one status in urgency order.
        Index("ix_human_tasks_worklist_status", "authority", "role", "case_status", "sort_due", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(6))
    # The authority that handles the task (tasks/access.py authority_of): who may work on it.
    authority: Mapped[str] = mapped_column(String(6))
    form: Mapped[str | None] = mapped_column(String(200))
    article: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    # The due time with "no due time" as the far future: the urgency order (due first, earliest first, then
    # oldest, then id) on a column that is never NULL, which an index can follow. Computed by the database, so no
    # writer (the engine, a bulk copy, a migration) can leave it stale.
    sort_due: Mapped[datetime] = mapped_column(UTCDateTime, Computed(SORT_DUE_EXPRESSION, persisted=True),
                                               deferred=True)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    deadline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    # What the caseworker needs to see to decide (e.g. failed pre-checks), named by the task's `context` property.
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    # The case's status (instances.status), kept by the database (triggers of migration 0021: set when the task is
    # inserted, and again whenever the case's status changes), so no writer can leave it stale: the worklist's
    # status filter reads it off the index instead of looking up the case of every task.
    case_status: Mapped[str | None] = mapped_column(String(40), deferred=True)


class Timer(Base):
    """A waiting timer event with its absolute due time: the sweep reads only this table."""

    __tablename__ = "timers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    deadline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    armed_at: Mapped[datetime]


class MessageWait(Base):
    """A case waiting for an outside message (a reply, a report): the stuck watch reads only this table."""

    __tablename__ = "message_waits"

    id: Mapped[str] = mapped_column(String(140), primary_key=True)  # "<SpiffWorkflow task id>:<message>"
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    message: Mapped[str] = mapped_column(String(100))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    since: Mapped[datetime] = mapped_column(index=True)


class OutboxMessage(Base):
    """A side effect on an outside system, recorded in the step that caused it and delivered after commit.

    `key` is sent as the Idempotency-Key, so a resend after a timeout or a crash is recognised by the receiver.
    `pending` rows are retried with backoff until `delivered`, or `failed` once the attempts are used up (then ops
    see it in the stuck list and re-queue it with `beian retry`)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    filing_id: Mapped[int | None] = mapped_column(ForeignKey("filings.id"))
    system: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # While one deliverer is sending, others skip the row until the lease ends (a crashed deliverer's lease runs out).
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class OutsideSystemState(Base):
    """What the deliverers know of one outside system (one row per system key, made on its first failure).

    `down_since` is set by the first delivery that failed for want of an answer (outage, 5xx, timeout) and cleared by
    the next one the system answers: while it is set, the deliverers send the system only one probe per run and its
    other messages wait without spending their attempts (workflows/delivery.py)."""

    __tablename__ = "outside_systems"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    down_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failure_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]  # when it last came back (answered after being down)


class StuckCase(Base):
    """A case the stuck watch currently reports, one row per reason; a row that appears is 'newly stuck'
    (an event is emitted), a row whose reason went away is deleted."""

    __tablename__ = "stuck_cases"

    case_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    since: Mapped[datetime]
    first_seen: Mapped[datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class Filing(Base):
    """A filing record (备案): created with its receipt when a filing application succeeds, then carried through
    renewals, changes, suspensions and its termination by the lifecycle cases."""

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_number: Mapped[str] = mapped_column(String(80), unique=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)  # the new-filing case that created it
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    institution_name: Mapped[str] = mapped_column(String(200))
    institution_type: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(6), index=True)
    authority_level: Mapped[str] = mapped_column(String(20))
    # What people see: terminated, else suspended while `suspended_by` is not empty, else `base_status`
    # (filed | renewal_window | renewal_review | winding_up). workflows/filings.py keeps the two consistent.
    status: Mapped[str] = mapped_column(String(40), index=True)
    base_status: Mapped[str] = mapped_column(String(40), default="filed")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_article: Mapped[str] = mapped_column(Text, default="")
    status_since: Mapped[datetime]
    valid_from: Mapped[date] = mapped_column(Date)  # the current period
    valid_until: Mapped[date] = mapped_column(Date, index=True)
    issued_at: Mapped[datetime]
    receipt_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    # The application as currently filed: approved changes are applied here (their history is filing_changes).
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Cases whose investigation or rectification suspends the filing; suspended while this is not empty.
    suspended_by: Mapped[list[Any]] = mapped_column(JSON, default=list)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("filings.id"), index=True)  # a branch's head office
    rating: Mapped[str | None] = mapped_column(String(10))  # XPCC red/black list (红黑榜)
    termination_kind: Mapped[str | None] = mapped_column(String(20))
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ground, case, documents, obligations
    # Dual filing (XPCC): the national registry's answer once it accepted the filing (national_number,
    # acknowledged_on, recorded_at); None until then, and for regions without dual filing. Deferred (read when used,
    # revision 0012), so a database not yet upgraded still lists its cases.
    national_filing: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)


class FilingPeriod(Base):
    """One validity period of a filing: the first from the receipt, one more per renewal, each continuing the last."""

    __tablename__ = "filing_periods"
    __table_args__ = (UniqueConstraint("filing_id", "period", name="uq_filing_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id"), index=True)
    period: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    case_id: Mapped[str] = mapped_column(String(40))
    granted_at: Mapped[datetime]


class FilingChange(Base):
    """A reported change of the filed particulars and its outcome (Jilin 第十四条): the record's history."""

    __tablename__ = "filing_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(40))
    changes: Mapped[list[Any]] = mapped_column(JSON)  # [{field, label, before, after}]
    approved: Mapped[bool] = mapped_column(Boolean)
    decided_at: Mapped[datetime]


class Violation(Base):
    """The violations archive (违纪违规行为处理档案, Jilin 第四十条): every sanction and ordered termination."""

    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(40))
    ground: Mapped[str] = mapped_column(String(40))
    ground_label: Mapped[str] = mapped_column(Text)
    article: Mapped[str] = mapped_column(Text)
    # interview | warning | certificate_revocation | ordered_termination
    measure: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(index=True)
    # Revoked on review (Jilin 第三十六条): {"on": date, "case": case id, "reason": text}; the row stays as the record
    # of what was decided, and no longer counts against the institution.
    revoked: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), deferred=True)


class FilingOccupation(Base):
    __tablename__ = "filing_occupations"
    __table_args__ = (Index("ix_filing_occupations_code", "occupation_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id"), index=True)
    occupation_code: Mapped[str] = mapped_column(String(20))
    occupation_name: Mapped[str] = mapped_column(String(200))
    levels: Mapped[list[Any]] = mapped_column(JSON)
    basis: Mapped[str] = mapped_column(String(40))


class Document(Base):
    """A notice or receipt as issued: the rendered HTML is kept exactly as sent."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(80))
    html: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    # The authority whose act it is (tasks/issuers.py); None on documents issued before revision 0010. Deferred
    # (read when used), as is the next: a database not yet upgraded still shows its cases' documents.
    issuer: Mapped[str | None] = mapped_column(String(6), deferred=True, deferred_group="issuing")
    # A correction (更正通知书) names the document it corrects; the corrected one itself never changes.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), deferred=True,
                                                    deferred_group="issuing")


class IssuerRow(Base):
    """What an administrator set for one authority's documents (tasks/issuers.py Issuer); an authority without a row
    is printed from its region's defaults."""

    __tablename__ = "issuers"

    authority: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    on_behalf_of: Mapped[str | None] = mapped_column(String(60))
    short_name: Mapped[str] = mapped_column(String(12))
    number_format: Mapped[str] = mapped_column(String(40))
    seal_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class CaseAuthority(Base):
    """An authority that may see a case (tasks/access.py may_see_case): the case's own, and each one the process
    gave a task on it, open or done. Kept as tasks open, so that a list of cases is one indexed query."""

    __tablename__ = "case_authorities"

    case_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    authority: Mapped[str] = mapped_column(String(6), primary_key=True, index=True)


class Material(Base):
    """One version of one checklist item's file for a case, as submitted. Append-only (database triggers refuse
    UPDATE and DELETE): a corrected file is a new version, so what was decided on can always be shown again."""

    __tablename__ = "materials"
    __table_args__ = (UniqueConstraint("case_id", "item", "version", name="uq_material_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    item: Mapped[str] = mapped_column(String(60))  # the key of the region's checklist item (tasks/regions.toml)
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per case and item
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("material_contents.sha256"))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime]


class MaterialContent(Base):
    """The bytes of a material file, once per content (SHA-256): in the database, so every web server of a
    deployment reads the same files, a backup of the database holds them, and a file is stored in the same
    transaction as the step that records it. Listing materials never loads these."""

    __tablename__ = "material_contents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEvent(Base):
    """Append-only history (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    case_id: Mapped[str | None] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(Text)
    article: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class User(Base):
    """A caseworker or administrator account. `region` is the user's authority code (tasks/access.py); the password
    is kept only as an argon2id hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[Any]] = mapped_column(JSON)
    region: Mapped[str] = mapped_column(String(6), index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    password_changed_at: Mapped[datetime]


class AddedRole(Base):
    """A caseworker role an administrator added (tasks/roles.py holds the built-in ones): a lane named by its label
    stands for it, users hold it by its key."""

    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(10))  # province / city / any
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class SignInAttempt(Base):
    """Every sign-in to the web app, successful or not, and each administrator's unlock: the sign-in audit, and what
    the lockout after repeated failures counts (workflows/users.py)."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username_at", "username", "at"),
        Index("ix_sign_in_attempts_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(40))  # as typed (normalised), also for names that do not exist
    client: Mapped[str] = mapped_column(String(64))  # the client's address, or who unlocked
    outcome: Mapped[str] = mapped_column(String(20))  # success | failure | refused (locked) | unlock


class WebSession(Base):
    """A signed-in session of the web app (workflows/sessions.py). The browser holds a random token; the database
    holds only its keyed hash (HMAC-SHA256 with the web app's secret), so a copy of this table opens nothing. Ended
    and expired sessions stay a week for the record, then go."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_username_ended_at", "username", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(40))
    csrf_token: Mapped[str] = mapped_column(String(64))  # every form of the session carries it
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)  # absolute: SESSION_HOURS after the sign-in
    client: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # signed_out | password | disabled | admin


class CalendarYear(Base):
    """An official holiday arrangement for one year, loaded by an administrator."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    arrangement: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(100))


class CatalogueOccupation(Base):
    """One occupation (or 工种) of the national catalogue an administrator loaded (tasks/occupations.py)."""

    __tablename__ = "occupation_catalogue"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(10))
    standard: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(100))


class DatabaseClock(Base):
    """Which clock may run on this database (one row, id 1; workflows/database_clock.py): a practice database takes
    the virtual clock (`--now`) freely; once real time has run on a database that is not one, a virtual clock may
    not write to it without an explicit, audited override. Both moments are wall-clock time."""

    __tablename__ = "database_clock"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    practice: Mapped[bool] = mapped_column(Boolean, default=False)
    practice_since: Mapped[datetime | None]
    practice_by: Mapped[str | None] = mapped_column(String(100))
    # The first real-time use and what it was ("beian up", "网页应用", "beian sweep", …).
    real_time_since: Mapped[datetime | None]
    real_time_by: Mapped[str | None] = mapped_column(String(200))


class Sequence(Base):
    """Named counters (case numbers, filing numbers per region and year), incremented inside the step."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


def database_url(explicit: str | None = None) -> str:
    """`--db`, else BEIAN_DATABASE_URL, else a SQLite file in the working directory."""
    url = explicit or os.environ.get("BEIAN_DATABASE_URL")
    if url:
        return url if "://" in url else f"sqlite:///{Path(url).resolve()}"
    return f"sqlite:///{Path(DEFAULT_DATABASE_FILE).resolve()}"


# The most connections one process opens to the database: one per thread the web server runs requests on (its
# thread limit is set to this, adapters/entrypoints/web/app.py), so a request does not wait for a connection another
# thread holds idle. POOL_KEPT of them stay open between requests; the rest are closed when returned.
DB_CONNECTIONS = 40
POOL_KEPT = 5


def make_engine(url: str) -> Engine:
    from adapters.outside.settings import load_settings

    wait = load_settings().database_wait_seconds
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql") and "connect_timeout=" not in url:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS  # an unreachable host fails soon, not after minutes
    pooled = url.startswith("postgresql") or (url.startswith("sqlite") and ":memory:" not in url and url != "sqlite://")
    pool: dict[str, Any] = ({"pool_size": POOL_KEPT, "max_overflow": DB_CONNECTIONS - POOL_KEPT, "pool_timeout": wait}
                            if pooled else {})
    engine = create_engine(url, future=True, connect_args=connect_args, **pool)
    if engine.dialect.name == "sqlite":
        busy_ms = round(wait * 1000)

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, busy_ms)

        event.listen(engine, "connect", pragmas)
        # pysqlite's own transaction handling defers BEGIN; we emit BEGIN IMMEDIATE ourselves so that a step
        # holds the write lock from its first read, which makes concurrent steps on SQLite serialise cleanly. A unit
        # of work that only reads (READ_ONLY, see adapters.outside.repository) begins deferred instead: in WAL mode it
        # reads the last committed state while a step holds the write lock, so a long step does not hold up the pages.
        event.listen(engine, "begin", _sqlite_begin)
    return engine


# The execution option a read-only unit of work sets on its connection.
READ_ONLY = "beian_read_only"


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, busy_ms: int) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Every commit is synced to disk before it returns (docs/operations.md "The application database on SQLite"):
    # a step's outbox deliveries leave after its commit, so a commit a power cut could still undo is not acceptable.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")  # behind another writer: BEIAN_DB_WAIT
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "after_commit", _state_values_stored)
    event.listen(factory, "after_soft_rollback", _state_values_not_stored)
    return factory


# The state values (StateValue) this process knows each database holds: committed by it, so a step need not store
# them again. Only a commit adds to it (a value written in a transaction or savepoint that was rolled back is not
# there); rows are never deleted.
_STORED_STATE_VALUES: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()
_STORED_LOCK = threading.Lock()
_PENDING_STATE_VALUES = "beian_pending_state_values"  # session.info key: written in the current transaction


def stored_state_values(session: Any) -> frozenset[str]:
    with _STORED_LOCK:
        return frozenset(_STORED_STATE_VALUES.get(session.get_bind(), ()))


def forget_stored_state_values(engine: Engine) -> None:
    """After a change of schema (an upgrade, after a downgrade perhaps): what was stored may be gone."""
    with _STORED_LOCK:
        _STORED_STATE_VALUES.pop(engine, None)


def note_state_values_written(session: Any, digests: Iterable[str]) -> None:
    session.info.setdefault(_PENDING_STATE_VALUES, set()).update(digests)


def _state_values_stored(session: Any) -> None:
    written = session.info.pop(_PENDING_STATE_VALUES, None)
    if written:
        with _STORED_LOCK:
            _STORED_STATE_VALUES.setdefault(session.get_bind(), set()).update(written)


def _state_values_not_stored(session: Any, _previous: Any) -> None:
    # Any rollback, a savepoint's too: which of the written values it undid is not known, so none counts as stored
    # (the next step writes them again, ON CONFLICT DO NOTHING).
    session.info.pop(_PENDING_STATE_VALUES, None)


# History rows a transaction recorded and has not written yet (session.info key): `record_audit`.
# A case's history rows go in with one statement (several per step: task completed, status changed, task opened …):
# nothing reads an audit row's id back, so no ORM object is built or tracked for one.
INSERT_AUDIT = insert(AuditEvent.__table__)


class PublicSubmission(Base):
    """What the public sent through the public pages (an objection during publicity), by address and time: what the
    per-address and per-day limits count (workflows/service/public.py). The objection itself is the case's message."""

    __tablename__ = "public_submissions"
    __table_args__ = (Index("ix_public_submissions_kind_client_at", "kind", "client", "at"),
                      Index("ix_public_submissions_kind_at", "kind", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    client: Mapped[str] = mapped_column(String(64))  # the address the request came from
    at: Mapped[datetime]
    case_id: Mapped[str | None] = mapped_column(String(40))


class InstitutionAccount(Base):
    """A person of an evaluation institution who signs in to the portal (`/portal/`). Its own table, never a caseworker:
    portal sessions and sign-in attempts carry the username as ``portal:<username>``, a name no caseworker account
    can hold, so a portal session can never open a caseworker's page. `credit_code` is the institution the account
    acts for, proven by a one-time code sent to the contact; `is_admin` marks who may invite colleagues."""

    __tablename__ = "institution_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    institution_name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(100))  # a mobile number or an e-mail address, proven by a code
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    password_changed_at: Mapped[datetime]


class OneTimeCode(Base):
    """A code sent to a contact to prove it (registering an institution, accepting an invitation). Only a keyed hash
    of the code is kept; it expires, takes a bounded number of tries and is used once. `details` holds what the code
    confirms (the institution's name; an invitation's username and who invited)."""

    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_contact_created_at", "contact", "created_at"),
                      Index("ix_one_time_codes_client_created_at", "client", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # register | invite
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    contact: Mapped[str] = mapped_column(String(100))
    code_hash: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]
    client: Mapped[str] = mapped_column(String(64))


class PortalDraft(Base):
    """A form an institution's person saved in the portal without sending it (an online application): the text
    fields as posted, one per person and kind, replaced at each save and dropped when the form is sent. Files are not
    kept in a draft: they are chosen when the form is sent."""

    __tablename__ = "portal_drafts"
    __table_args__ = (UniqueConstraint("username", "kind", name="uq_portal_drafts_username_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    credit_code: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(20))  # application
    items: Mapped[list[Any]] = mapped_column(JSON)  # [[name, value], …] as posted
    saved_at: Mapped[datetime]
