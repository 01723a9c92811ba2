"""The stuck watch: which cases are stuck, why, since when, and where to open them.

A case is stuck when something it waits for is late or broken:

* ``task_overdue``    an open human task is past its statutory due time;
* ``timer_late``      a timer is due for more than two sweep intervals and has not fired (is the sweep running?);
* ``instance_error``  stepping the case failed (the sweep retries it up to `sweep_max_attempts`, then gives up);
* ``delivery_late``   a delivery is due for more than two delivery intervals and nobody attempted it (is the
                      delivery deployment running?);
* ``delivery_failed`` a delivery to an outside system used up its retries;
* ``reply_overdue``   an outside message (a resubmission, a report) is later than the setting expects.

Besides cases, two kinds of rows concern many cases at once (their `case_id` is empty):

* ``system_down``        an outside system has failed every delivery for longer than BEIAN_OUTSIDE_DOWN_MINUTES: one
                         row per system, listing the cases whose deliveries wait for it (workflows/delivery.py);
* ``deployment_paused``, ``deployment_failing``
                         a background deployment whose schedule is paused or whose last runs all failed; only the
                         Prefect watch can see these (workflows/ops_watch.py), so a check without Prefect leaves
                         their rows alone.

Every cause is read from an indexed projection (human_tasks.due_at, timers.due_at, outbox status, message_waits.since)
joined to a few columns of its instance: the watch never deserialises a workflow, so its cost follows the number of
stuck things, not the number of cases alive. `record_stuck` keeps the watch's memory (`stuck_cases`) so that a case
that *newly* becomes stuck can be announced once (the Prefect flow emits an event for it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import or_, select

from adapters.outside.db import (
    HumanTask,
    Instance,
    MessageWait,
    OutboxMessage,
    OutsideSystemState,
    ProcessDefinition,
    StuckCase,
    Timer,
)
from adapters.outside.repository import UnitOfWork
from adapters.outside.settings import OUTSIDE_SYSTEMS, Settings, load_settings
from tasks.calendar import SHANGHAI, Deadline, WorkingDayCalendar
from tasks.roles import role_by_key
from workflows import clock
from workflows.delivery import waiting_on as cases_waiting_on
from workflows.engine import load_calendar
from workflows.lifecycle import PROCESS_LABELS
from workflows.messages import MESSAGES

if TYPE_CHECKING:
    from workflows.service import Beian

ReasonCode = Literal["task_overdue", "timer_late", "instance_error", "delivery_late", "delivery_failed",
                     "reply_overdue", "system_down", "deployment_paused", "deployment_failing"]

# What ops read in the summary line and the table, one label per cause, in the order they are summarised.
REASON_LABELS: dict[str, str] = {
    "task_overdue": "法定期限超期",
    "timer_late": "定时事件延误",
    "instance_error": "流程出错",
    "delivery_late": "外部投递延误",
    "delivery_failed": "外部投递失败",
    "reply_overdue": "外部回复超期",
    "system_down": "外部系统不可用",
    "deployment_paused": "后台部署已暂停",
    "deployment_failing": "后台部署连续失败",
}

# Rows that concern the whole system before the rows of single cases.
_GROUP = {"deployment_paused": 0, "deployment_failing": 0, "system_down": 1}

# The reasons only the Prefect watch can see: a check without Prefect keeps their rows as they are.
PREFECT_REASONS = ("deployment_paused", "deployment_failing")

# A predicate on a stuck row (case, reason key): which rows one check may add, refresh or clear.
Scope = Callable[[str, str], bool]

# The verb for a delivery to each outside system ("向…报送失败").
_DELIVERY_VERBS: dict[str, str] = {
    "credit_registry": "查询",
    "enterprise_registry": "查询",
    "notice_website": "发布",
    "national_registry": "报送",
    "notifications": "发送",
    "certificate_registry": "报送",
}

# Instance columns the watch shows; selecting them (not the entity) keeps the workflow state out of the query.
_CASE_COLUMNS = (Instance.case_id, Instance.institution_name, Instance.process_id, Instance.region)

_ONE_DAY = timedelta(days=1)


class _Case(NamedTuple):
    case_id: str
    institution_name: str
    process_id: str
    region: str


@dataclass(frozen=True)
class StuckItem:
    """One reason one case is stuck, as ops see it in the Prefect UI."""

    case_id: str
    institution: str
    process: str  # the process's Chinese label
    region: str
    reason_code: ReasonCode
    reason_key: str  # stable per cause, e.g. "task_overdue:<task id>": the key of the watch's memory
    waiting_on: str  # the task, timer, outside system or message the case waits for (Chinese)
    since: datetime  # aware: when the cause began
    overdue_working_days: int  # whole working days past the due/expected instant (Asia/Shanghai, official calendar)
    reason: str  # a Chinese sentence saying what is wrong and what to do
    link: str  # the case in the web app
    provisional: bool = False  # the deadline lies in a year whose official holiday arrangement is not loaded
    due_at: datetime | None = None  # the instant it was due or expected (None for errors and failed deliveries)
    brief: str = ""  # the reason in a few words, for the table (the sentence is in `reason`)
    cases: tuple[str, ...] = ()  # for a row of no single case (a system down): the cases it holds up
    process_id: str = ""  # the BPMN process id and deployed version of the case (batch retry picks by them)
    version: int | None = None

    @property
    def reason_label(self) -> str:
        return REASON_LABELS[self.reason_code]

    @property
    def key(self) -> str:
        """The row's identity in the watch's memory and in the cleared list: "case/reason_key"."""
        return f"{self.case_id}/{self.reason_key}"

    def to_row(self) -> dict[str, Any]:
        """One row of the stuck table, as plain values (workflows/stuck_table.py renders it)."""
        return {
            "案件": self.case_id or "、".join(self.cases),
            "机构": self.institution,
            "流程": self.process,
            "等待": self.waiting_on,
            "自何时（北京时间）": beijing_text(self.since),
            "超期(工作日)": self.overdue_working_days,
            "原因": self.brief or self.reason_label,
            "链接": self.link,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.astimezone(SHANGHAI).isoformat()
        data["due_at"] = self.due_at.astimezone(SHANGHAI).isoformat() if self.due_at else None
        data["reason_label"] = self.reason_label
        data["cases"] = list(self.cases)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StuckItem:
        """The item `to_dict` wrote (the watch's memory keeps it), for a table published between two checks."""
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        fields["since"] = datetime.fromisoformat(data["since"])
        fields["due_at"] = datetime.fromisoformat(data["due_at"]) if data.get("due_at") else None
        fields["cases"] = tuple(data.get("cases") or ())
        return cls(**fields)


def beijing_text(instant: datetime) -> str:
    """An instant as ops read it everywhere in the stuck list: "2026-12-04 10:00（北京时间）"."""
    return f"{instant.astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）"


def _order(item: StuckItem) -> tuple[Any, ...]:
    return (_GROUP.get(item.reason_code, 2), -item.overdue_working_days, item.due_at or item.since, item.case_id,
            item.reason_key)


def find_stuck(uow: UnitOfWork, settings: Settings, now: datetime) -> list[StuckItem]:
    """Every current reason a case is stuck at `now`, the most overdue first."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    calendar = load_calendar(uow)
    finder = _Finder(uow, settings, now, calendar)
    items = [*finder.systems_down(), *finder.overdue_tasks(), *finder.late_timers(), *finder.errors(),
             *finder.late_deliveries(), *finder.failed_deliveries(), *finder.overdue_replies()]
    return sorted(finder.with_versions(items), key=_order)


def record_stuck(uow: UnitOfWork, items: list[StuckItem], now: datetime,
                 scope: Scope | None = None) -> tuple[list[StuckItem], list[str]]:
    """Bring `stuck_cases` in line with `items`; the caller commits.

    Returns the items that were not stuck at the last run ("newly stuck") and, as "case/reason_key", the reasons
    that went away (their rows are deleted). A reason still present keeps its first_seen; its since and detail are
    refreshed (a recomputed deadline moves its since). With `scope`, only rows it accepts are added, refreshed or
    cleared: the others are left as they are."""
    known = {(row.case_id, row.reason_key): row for row in uow.session.scalars(select(StuckCase))
             if scope is None or scope(row.case_id, row.reason_key)}
    newly: list[StuckItem] = []
    current: set[tuple[str, str]] = set()
    for item in items:
        key = (item.case_id, item.reason_key)
        if key in current or (scope is not None and not scope(*key)):  # one row per reason, even if passed twice
            continue
        current.add(key)
        row = known.get(key)
        if row is None:
            uow.session.add(StuckCase(case_id=item.case_id, reason_key=item.reason_key, since=item.since,
                                      first_seen=now, detail=item.to_dict()))
            newly.append(item)
        else:
            row.since, row.detail = item.since, item.to_dict()
    cleared: list[str] = []
    for key, row in sorted(known.items()):
        if key not in current:
            uow.session.delete(row)
            cleared.append(f"{row.case_id}/{row.reason_key}")
    uow.session.flush()
    return newly, cleared


def stored_stuck(uow: UnitOfWork) -> list[StuckItem]:
    """What the watch's memory holds now, in the table's order."""
    return sorted((StuckItem.from_dict(row.detail) for row in uow.session.scalars(select(StuckCase))), key=_order)


@dataclass(frozen=True)
class StuckCheck:
    """One run of the watch: what is stuck now (the whole memory), what became stuck since the last run, what
    cleared."""

    now: datetime
    items: list[StuckItem]
    newly: list[StuckItem]
    cleared: list[str]

    @property
    def summary(self) -> str:
        return summary_line(self.items, self.newly, self.cleared)

    def to_report(self) -> dict[str, Any]:
        return {
            "now": self.now.astimezone(SHANGHAI).isoformat(),
            "stuck": [item.to_dict() for item in self.items],
            "newly_stuck": [item.to_dict() for item in self.newly],
            "cleared": self.cleared,
            "markdown_summary": self.summary,
        }


def check_stuck(app: Beian, settings: Settings | None = None,
                prefect_items: list[StuckItem] | None = None) -> StuckCheck:
    """Find the stuck cases at the clock's now and remember them, in one unit of work.

    `prefect_items` are the deployment rows the Prefect watch found; without them (`beian stuck`), the rows of
    those reasons are left as the last watch wrote them."""
    settings = settings or load_settings()
    now = clock.now()
    with app.uow() as uow:
        items = find_stuck(uow, settings, now)
        if prefect_items is None:
            newly, cleared = record_stuck(uow, items, now, scope=_not_prefect)
        else:
            newly, cleared = record_stuck(uow, [*items, *prefect_items], now)
        uow.commit()
        stored = stored_stuck(uow)
    return StuckCheck(now, stored, newly, cleared)


def recheck_stuck(app: Beian, settings: Settings, cases: Iterable[str] = (),
                  systems: Iterable[str] = ()) -> StuckCheck | None:
    """Clear at once the stuck rows a run has just resolved (a sweep fired the timer, a retry went through, a system
    answered again), instead of at the next check: only the rows of `cases` and of the `systems` down are looked
    at, and only to refresh or clear them (nothing new is announced between two checks). None when those have no
    rows (nothing to publish)."""
    case_set, system_keys = set(cases), {f"system_down:{key}" for key in systems}
    if not case_set and not system_keys:
        return None
    now = clock.now()
    with app.uow() as uow:
        rows = {(row.case_id, row.reason_key) for row in uow.session.scalars(
            select(StuckCase).where(or_(StuckCase.case_id.in_(case_set), StuckCase.reason_key.in_(system_keys))))}
        if not rows:
            return None
        items = find_stuck(uow, settings, now)
        newly, cleared = record_stuck(uow, items, now, scope=lambda case, key: (case, key) in rows)
        uow.commit()
        stored = stored_stuck(uow)
    return StuckCheck(now, stored, newly, cleared)


def _not_prefect(case_id: str, reason_key: str) -> bool:
    return not reason_key.startswith(PREFECT_REASONS)


def stuck_report(app: Beian, settings: Settings | None = None) -> dict[str, Any]:
    """`beian stuck`: the check as JSON-safe data."""
    return check_stuck(app, settings).to_report()


def summary_line(items: list[StuckItem], newly: list[StuckItem] | None = None,
                 cleared: list[str] | None = None) -> str:
    """A short Chinese line for the artifact's description, e.g. “共 5 个案件卡住：法定期限超期 2，流程出错 1”."""
    cases = len({case for item in items for case in ((item.case_id,) if item.case_id else item.cases)})
    counts = Counter(item.reason_code for item in items)
    parts = "，".join(f"{label} {counts[code]}" for code, label in REASON_LABELS.items() if counts[code])
    if not items:
        text = "没有卡住的案件"
    elif cases:
        text = f"共 {cases} 个案件卡住：{parts}"
    else:
        text = f"没有卡住的案件，但有：{parts}"
    changes = []
    if newly:
        changes.append(f"新增 {len(newly)} 项")
    if cleared:
        changes.append(f"解除 {len(cleared)} 项")
    return text + (f"（本次{'，'.join(changes)}）" if changes else "")


def working_days_overdue(calendar: WorkingDayCalendar, due: datetime, now: datetime) -> int:
    """Whole working days between `due` and `now` (Asia/Shanghai): the days wholly inside that span that are
    working days. A deadline due at the end of Thursday is 1 working day overdue from the end of Friday."""
    if now <= due:
        return 0
    due_local = due.astimezone(SHANGHAI)
    first = due_local.date() if due_local.time() == time(0) else due_local.date() + _ONE_DAY
    return calendar.working_days_in(first, now.astimezone(SHANGHAI).date() - _ONE_DAY)


class _Finder:
    """The queries of one run, sharing its settings, instant and calendar.

    They read the session directly rather than through Repository: they are the watch's own read model (columns
    picked to leave the workflow state unread), used nowhere else."""

    def __init__(self, uow: UnitOfWork, settings: Settings, now: datetime, calendar: WorkingDayCalendar) -> None:
        self._uow = uow
        self.session = uow.session
        self.settings = settings
        self.now = now
        self.calendar = calendar

    def _item(self, case: Any, code: ReasonCode, key: str, waiting_on: str, since: datetime, overdue: int,
              reason: str, brief: str, *, provisional: bool = False, due_at: datetime | None = None) -> StuckItem:
        return StuckItem(
            case_id=case.case_id, institution=case.institution_name,
            process=PROCESS_LABELS.get(case.process_id, case.process_id), region=case.region, reason_code=code,
            reason_key=key, waiting_on=waiting_on, since=since, overdue_working_days=overdue, reason=reason,
            link=f"{self.settings.web_url.rstrip('/')}/cases/{case.case_id}", provisional=provisional, due_at=due_at,
            brief=brief, process_id=case.process_id or "")

    def with_versions(self, items: list[StuckItem]) -> list[StuckItem]:
        """The items with the deployed version each case runs (batch retry picks cases by it), in one query."""
        case_ids = sorted({item.case_id for item in items if item.case_id})
        if not case_ids:
            return items
        query = (select(Instance.case_id, ProcessDefinition.version)
                 .join(ProcessDefinition, ProcessDefinition.id == Instance.definition_id)
                 .where(Instance.case_id.in_(case_ids)))
        versions = {case_id: version for case_id, version in self.session.execute(query)}
        return [replace(item, version=versions.get(item.case_id)) if item.case_id else item for item in items]

    def systems_down(self) -> Iterable[StuckItem]:
        """One row per outside system that has failed every delivery for longer than the setting."""
        threshold = self.now - timedelta(minutes=self.settings.outside_down_minutes)
        query = (select(OutsideSystemState).where(OutsideSystemState.down_since <= threshold)
                 .order_by(OutsideSystemState.key))
        for state in self.session.scalars(query):
            cases = cases_waiting_on(self._uow, state.key)
            if not cases or state.down_since is None:
                continue
            label = OUTSIDE_SYSTEMS.get(state.key, state.key)
            listed = "、".join(cases[:20]) + (f" 等 {len(cases)} 个案件" if len(cases) > 20 else "")
            down_for = _duration_text(self.now - state.down_since)
            reason = (f"{label}自{_instant_text(state.down_since)}起无法送达，已 {down_for}"
                      f"（最近一次：{state.last_error or '无错误信息'}）。等待它的案件：{listed}。"
                      "外部投递每次运行向它发送一次探测，恢复后等待的投递在同一次运行中发出，不会重复发送；"
                      f"确认恢复后也可执行 beian retry --system {state.key}")
            brief = f"不可用已 {down_for}，{len(cases)} 个案件等待"
            yield StuckItem(case_id="", institution="", process="", region="", reason_code="system_down",
                            reason_key=f"system_down:{state.key}", waiting_on=label, since=state.down_since,
                            overdue_working_days=self._overdue(state.down_since), reason=reason, link="",
                            brief=brief, cases=tuple(cases))

    def _overdue(self, due: datetime) -> int:
        return working_days_overdue(self.calendar, due, self.now)

    def overdue_tasks(self) -> Iterable[StuckItem]:
        query = (select(HumanTask, *_CASE_COLUMNS).join(Instance, Instance.id == HumanTask.instance_id)
                 .where(HumanTask.due_at < self.now, Instance.completed_at.is_(None)))
        for row in self.session.execute(query):
            task: HumanTask = row[0]
            assert task.due_at is not None
            overdue = self._overdue(task.due_at)
            deadline = task.deadline or {}
            due_text = _due_day_text(task.due_at, deadline.get("last_day"))
            basis = f"，依据{task.article}" if task.article else ""
            reason = f"“{task.name}”已超过法定期限（{due_text}到期{basis}），{_overdue_text(overdue)}"
            if task.provisional:
                reason += "；该期限为暂定（所涉年份的节假日安排尚未载入）"
            brief = f"“{task.name}”{_overdue_text(overdue)}"
            yield self._item(row, "task_overdue", f"task_overdue:{task.id}", _task_waiting_on(task), task.due_at,
                             overdue, reason, brief, provisional=task.provisional, due_at=task.due_at)

    def late_timers(self) -> Iterable[StuckItem]:
        # A case whose step failed keeps its due timer: the error is the cause and is reported as such.
        grace = timedelta(seconds=2 * self.settings.sweep_interval_seconds)
        query = (select(Timer, *_CASE_COLUMNS).join(Instance, Instance.id == Timer.instance_id)
                 .where(Timer.due_at < self.now - grace, Instance.completed_at.is_(None), Instance.error.is_(None)))
        for row in self.session.execute(query):
            timer: Timer = row[0]
            reason = (f"定时事件“{timer.name}”应于{_instant_text(timer.due_at)}触发，"
                      f"已延误 {_duration_text(self.now - timer.due_at)}，请检查计时扫描是否在运行")
            brief = f"定时事件已延误 {_duration_text(self.now - timer.due_at)}，检查计时扫描"
            yield self._item(row, "timer_late", f"timer_late:{timer.id}", f"定时事件“{timer.name}”", timer.due_at,
                             self._overdue(timer.due_at), reason, brief, provisional=timer.provisional,
                             due_at=timer.due_at)

    def errors(self) -> Iterable[StuckItem]:
        query = select(Instance.error, Instance.error_at, Instance.error_count, Instance.updated_at,
                       *_CASE_COLUMNS).where(Instance.error_at.is_not(None), Instance.error.is_not(None))
        limit = self.settings.sweep_max_attempts
        for row in self.session.execute(query):
            since = row.error_at or row.updated_at
            attempts = row.error_count or 0
            if attempts >= limit:
                waiting_on, brief = "人工处理", f"流程出错 {attempts} 次，需重试"
                what = f"已连续失败 {attempts} 次，计时扫描不再重试，需人工处理：beian retry {row.case_id}"
            elif attempts:
                waiting_on, brief = "计时扫描重试", f"流程出错 {attempts} 次，自动重试中"
                what = f"已失败 {attempts} 次，计时扫描将自动重试，最多 {limit} 次；也可执行 beian retry {row.case_id}"
            else:
                waiting_on, brief = "人工处理", "流程出错，需重试"
                what = f"排除原因后执行 beian retry {row.case_id}"
            # The engine's messages already say which case failed and where ("案件 … 的流程执行出错（环节 …）：…").
            error = row.error if row.error.startswith(f"案件 {row.case_id} ") else f"流程执行出错：{row.error}"
            yield self._item(row, "instance_error", "instance_error", waiting_on, since, self._overdue(since),
                             f"{error}（{what}）", brief)

    def late_deliveries(self) -> Iterable[StuckItem]:
        """Pending deliveries nobody attempted in time: not a failing outside system (that is retried with backoff,
        and `next_attempt_at` moves), but a delivery deployment that is not running."""
        grace = timedelta(seconds=2 * self.settings.delivery_interval_seconds)
        query = (select(OutboxMessage, Instance.institution_name, Instance.process_id, Instance.region)
                 .outerjoin(Instance, Instance.case_id == OutboxMessage.case_id)
                 .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at < self.now - grace,
                        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < self.now),
                        # a system taken for down holds its messages back on purpose: its own row tells of them
                        OutboxMessage.system.not_in(
                            select(OutsideSystemState.key).where(OutsideSystemState.down_since.is_not(None)))))
        for message, institution, process_id, region in self.session.execute(query):
            row = _Case(message.case_id, institution or "", process_id or "", region or "")
            system = OUTSIDE_SYSTEMS.get(message.system, message.system)
            verb = _DELIVERY_VERBS.get(message.system, "投递")
            due = message.next_attempt_at
            attempt = f"第 {message.attempts + 1} 次" if message.attempts else "首次"
            reason = (f"向{system}{verb}“{message.summary}”应于{_instant_text(due)}{attempt}发出，"
                      f"已延误 {_duration_text(self.now - due)}，请检查投递部署是否在运行")
            brief = f"投递延误 {_duration_text(self.now - due)}，检查外部投递"
            yield self._item(row, "delivery_late", f"delivery_late:{message.id}", system, due, self._overdue(due),
                             reason, brief, due_at=due)

    def failed_deliveries(self) -> Iterable[StuckItem]:
        # Also for finished cases: a registry that was never told is wrong whatever the case's state.
        # An outer join: a delivery must show even if its case row were missing.
        query = (select(OutboxMessage, Instance.institution_name, Instance.process_id, Instance.region)
                 .outerjoin(Instance, Instance.case_id == OutboxMessage.case_id)
                 .where(OutboxMessage.status == "failed"))
        for message, institution, process_id, region in self.session.execute(query):
            row = _Case(message.case_id, institution or "", process_id or "", region or "")
            system = OUTSIDE_SYSTEMS.get(message.system, message.system)
            verb = _DELIVERY_VERBS.get(message.system, "投递")
            # The outbox keeps no first-failure time; the first attempt is made as soon as the step commits.
            since = message.created_at
            reason = (f"向{system}{verb}“{message.summary}”失败 {message.attempts} 次，已停止重试："
                      f"{message.last_error or '（无错误信息）'}（排除原因后执行 beian retry {row.case_id}）")
            brief = f"{verb}失败 {message.attempts} 次，需重试"
            yield self._item(row, "delivery_failed", f"delivery_failed:{message.id}", system, since,
                             self._overdue(since), reason, brief)

    def overdue_replies(self) -> Iterable[StuckItem]:
        expected: dict[tuple[date, int], Deadline] = {}  # many waits begin on the same day
        for message_name, days in sorted(self.settings.expected_reply_days.items()):
            if days < 1:
                continue
            # N working days span at least N calendar days: a wait that began later cannot be overdue yet, so the
            # indexed `since` bounds the rows read; the exact count follows per row.
            query = (select(MessageWait, *_CASE_COLUMNS).join(Instance, Instance.id == MessageWait.instance_id)
                     .where(MessageWait.message == message_name, MessageWait.since < self.now - timedelta(days=days),
                            Instance.completed_at.is_(None)))
            label = MESSAGES.get(message_name, message_name)
            for row in self.session.execute(query):
                wait: MessageWait = row[0]
                start = wait.since.astimezone(SHANGHAI).date()
                deadline = expected.get((start, days))
                if deadline is None:
                    deadline = expected[(start, days)] = self.calendar.within_working_days(start, days)
                if deadline.due_at >= self.now:
                    continue
                overdue = self._overdue(deadline.due_at)
                reason = (f"自{_day_text(start)}起等待“{label}”，按设置应在 {days} 个工作日内"
                          f"（至{_day_text(deadline.last_day)}）收到，{_overdue_text(overdue)}")
                if deadline.provisional:
                    reason += "；预期时间为暂定（所涉年份的节假日安排尚未载入）"
                yield self._item(row, "reply_overdue", f"reply_overdue:{wait.id}", label, wait.since, overdue, reason,
                                 f"回复{_overdue_text(overdue)}", provisional=deadline.provisional,
                                 due_at=deadline.due_at)


def _task_waiting_on(task: HumanTask) -> str:
    try:
        return f"{task.name}（{role_by_key(task.role).label}）"
    except ValueError:
        return task.name


def _day_text(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _instant_text(instant: datetime) -> str:
    local = instant.astimezone(SHANGHAI)
    return f"{_day_text(local.date())} {local:%H:%M}（北京时间）"


def _due_day_text(due_at: datetime, last_day: str | None) -> str:
    """The deadline's last day ("2026年10月15日") when the deadline says so, else the due instant."""
    if last_day:
        return _day_text(date.fromisoformat(last_day))
    return _instant_text(due_at)


def _overdue_text(days: int) -> str:
    return f"已超期 {days} 个工作日" if days else "已超期（不足 1 个工作日）"


def _duration_text(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时" + (f" {minutes} 分钟" if minutes else "")
    return f"{hours // 24} 天" + (f" {hours % 24} 小时" if hours % 24 else "")
