"""Which clock may run on a database: the virtual clock cannot harm a live system.

A virtual clock (`--now`, the demo) that writes to a database real time runs on fires its timers early, stamps
decisions, filing numbers and notices with dates that have not come, and hands those notices to the live delivery
job. So every database says, in its `database_clock` row (migration 0006), which clock may write to it:

- **practice** — created as a practice database (`beian init --practice`; the demo's own database; the simulation's
  and benchmark's scratch databases): the virtual clock writes freely, and real-time use does not change that.
- **live** — real time has run on it: `beian up` started on it, the web app started on it, a Prefect flow run
  (sweep, deliveries, stuck watch, registry check, retry) ran on it, or a command that changes cases or the
  operational state ran on it without `--now` (`apply`, `complete`, `send`, `sweep`, `deliver`, `retry`,
  `registry-check`, `stuck`, `calendar load`, `bpmn migrate`). A virtual clock may then only read it; writing needs
  the explicit override (`--allow-virtual-clock`), which is audited.
- **neither** — a fresh database, or one only set up (`beian init`, `bpmn deploy`, `users …` and reading commands do
  not mark it): the virtual clock may write to it; its first real-time use makes it live.

A database older than the marker (schema before 0006) counts as live when it has an account or a sign-in attempt, the
rule migration 0006 records when it upgrades one: accounts exist for the web app, which runs in real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from adapters.outside.db import DatabaseClock, SignInAttempt, User
from tasks.calendar import SHANGHAI
from tasks.errors import IllegalEvent, VirtualClockRefused
from workflows import clock

if TYPE_CHECKING:
    from workflows.service import Beian

MARKER_ID = 1
# What migration 0006 writes for an existing database with accounts or sign-ins (the same words).
LEGACY_LIVE = "升级前已有账号或登录记录（迁移 0006 推定）"
OVERRIDE_OPTION = "--allow-virtual-clock"
PRACTICE_HINT = "练习请用单独的练习数据库，例如：beian --db practice.sqlite3 init --practice"


@dataclass(frozen=True)
class ClockMarker:
    practice: bool = False
    real_time_by: str | None = None  # what ran on it in real time first; None: real time never has
    real_time_since: datetime | None = None

    @property
    def live(self) -> bool:
        return not self.practice and self.real_time_by is not None

    @property
    def kind(self) -> str:
        return "practice" if self.practice else "live" if self.live else "new"

    def describe(self) -> str:
        """Since when and by what real time has run on it, in Chinese."""
        since = self.real_time_since.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if self.real_time_since else ""
        return (f"自 {since} 起，" if since else "") + (self.real_time_by or "")


_MISSING = ClockMarker(real_time_by="时钟标记缺失，按正式数据库保护")


def _marker_of(row: DatabaseClock | None) -> ClockMarker:
    """A database stripped of its marker row is protected like a live one."""
    return _MISSING if row is None else ClockMarker(row.practice, row.real_time_by, row.real_time_since)


def _wall_clock() -> datetime:
    """The moment something really happened, whatever clock the command runs on."""
    return datetime.now(UTC)


def read_marker(app: Beian) -> ClockMarker:
    """The database's marker. A database without tables is new; one whose schema predates the marker is judged by
    migration 0006's rule (see the module's docstring)."""
    with app.uow() as uow:
        try:
            return _marker_of(uow.session.get(DatabaseClock, MARKER_ID))
        except SQLAlchemyError:
            uow.rollback()
            tables = set(inspect(uow.session.connection()).get_table_names())
            if "database_clock" in tables:
                raise
            return _before_the_marker(uow.session, tables)


def _before_the_marker(session: Session, tables: set[str]) -> ClockMarker:
    used = any(table.__tablename__ in tables and session.scalar(select(1).select_from(table).limit(1)) is not None
               for table in (User, SignInAttempt))
    return ClockMarker(real_time_by=LEGACY_LIVE) if used else ClockMarker()


def mark_real_time(app: Beian, by: str) -> None:
    """Record that real time runs on this database (the first time only; never on a practice database). Does nothing
    under a virtual clock, or on a database whose schema predates the marker (migration 0006 judges it)."""
    if not clock.is_real():
        return
    statement = (update(DatabaseClock)
                 .where(DatabaseClock.id == MARKER_ID, DatabaseClock.real_time_since.is_(None),
                        DatabaseClock.practice.is_(False))
                 .values(real_time_since=_wall_clock(), real_time_by=by[:200]))
    with app.uow() as uow:
        try:
            uow.session.execute(statement)
        except SQLAlchemyError:
            uow.rollback()
            if inspect(uow.session.connection()).has_table("database_clock"):
                raise
            return
        uow.commit()


def mark_practice(app: Beian, actor: str) -> bool:
    """Make the database a practice database (`beian init --practice`); False if it was one already. Refused on a
    database that real time has run on: a live system cannot be turned into a playground."""
    with app.uow() as uow:
        row = uow.session.get(DatabaseClock, MARKER_ID, with_for_update=True)
        marker = _marker_of(row)
        if marker.practice:
            return False
        refuse_practice(marker)
        assert row is not None  # a missing row reads as live
        row.practice, row.practice_since, row.practice_by = True, _wall_clock(), actor[:100]
        uow.repo.audit(at=clock.now(), case_id=None, actor=actor, action="database_practice",
                       summary="设为练习数据库：可用虚拟时钟（--now）办理", article="", detail={})
        uow.commit()
        return True


def refuse_practice(marker: ClockMarker) -> None:
    """`beian init --practice` is for a database real time has never run on."""
    if marker.live:
        raise IllegalEvent(f"该数据库已按真实时间运行（{marker.describe()}），不能改作练习数据库；{PRACTICE_HINT}")


def check_virtual_write(app: Beian, instant: datetime, command: str, actor: str, override: bool = False) -> None:
    """Before a command writes to the database on a virtual clock at `instant`: refused on a live database unless
    `override`, which is recorded in the audit log (at the wall-clock moment, with the virtual one)."""
    marker = read_marker(app)
    if not marker.live:
        return
    shown = instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if not override:
        raise VirtualClockRefused(
            f"该数据库已按真实时间运行（{marker.describe()}），不能用虚拟时钟（{shown}）在其上运行 {command}："
            f"定时事件会提前触发，决定、编号和文书会带上虚拟日期，通知会由正式的送达任务发出；未作任何更改。"
            f"{PRACTICE_HINT}；确需在此数据库上使用虚拟时钟，请加 {OVERRIDE_OPTION}（记入审计日志）")
    with app.uow() as uow:
        uow.repo.audit(
at=_wall_clock(), case_id=None, actor=actor, action="virtual_clock_override",
summary=f"在按真实时间运行的数据库上以虚拟时钟 {shown} 运行 {command}（{OVERRIDE_OPTION}）", article="",
detail={"virtual_now": instant.isoformat(), "command": command, "os_user": _os_user(), "real_time_since":
        marker.real_time_since.isoformat() if marker.real_time_since else None,
        "real_time_by": marker.real_time_by})
        uow.commit()


def _os_user() -> str | None:
    """Who was logged in to the machine: `--user` is only what the command was told."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
