"""The worklist's queries: a page of open tasks in urgency order read off an index, and a count that stops at a bound.

Why the shape: a page must cost the same with a thousand or a hundred thousand open tasks. So
- the order is `(sort_due, created_at, id)`, all never NULL (`sort_due` is the due time with "none" as the far
  future, computed by the database), which the index `(authority, role, [claimed_by,] sort_due, created_at, id)`
  follows: no sort of every matching task;
- pages are found by keyset (the last row's order key, the "cursor"), never by OFFSET, which reads and drops every
  row before the page;
- the caller's roles are one branch each (`role = ?`, a single index range in order), merged by UNION ALL with at
  most one page from each: `role IN (...)` would make the database sort the union of the ranges;
- the count reads at most COUNT_BOUND + 1 rows per branch: beyond the bound the worklist says "1000 项以上", as
  mature tools do, instead of scanning every task to say 100,000.

Filters that are not in the index (process, where the case is located) are checked row by row while reading in
index order, so a page reads about page-size ÷ selectivity rows, whatever the total. The case's status is on the
task (`case_status`, kept by the database) and in an index of its own, (authority, role, case_status, sort_due,
created_at, id): a page of one status is read off it, and which statuses a caseworker's tasks are in (the status
filter's options) is one existence probe per known status and role, a seek each, not a scan of every open task.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import Session, aliased, undefer

from adapters.outside.db import HumanTask, Instance

# Counts stop here: a tab or a total above it reads "1000+" (web) or says it is at least that.
COUNT_BOUND = 1000

_ORDER = (HumanTask.sort_due, HumanTask.created_at, HumanTask.id)
_STAMP = "%Y%m%d%H%M%S%f"


@dataclass(frozen=True)
class WorklistFilter:
    """Which open tasks: those of `roles` handled by `authority`, narrowed by the optional filters.

    `claimed_by` (claimed by that user), `unclaimed_only`, `overdue_at` (due at or before that instant), `process`,
    `case_status` (the case's status), `region` (a division code: the cases located in it — a city's code covers
    its districts)."""

    roles: Sequence[str]
    authority: str
    claimed_by: str | None = None
    unclaimed_only: bool = False
    overdue_at: datetime | None = None
    process: str | None = None
    case_status: str | None = None
    region: str | None = None

    def branches(self) -> list[list[Any]]:
        """The WHERE conditions of each role's branch (one per distinct role; none for no role)."""
        shared: list[Any] = [HumanTask.authority == self.authority]
        if self.claimed_by is not None:
            shared.append(HumanTask.claimed_by == self.claimed_by)
        if self.unclaimed_only:
            shared.append(HumanTask.claimed_by.is_(None))
        if self.overdue_at is not None:
            shared.append(HumanTask.sort_due <= self.overdue_at)  # a range of the index's order column
        if self.process is not None:
            shared.append(HumanTask.process_id == self.process)
        if self.case_status is not None:
            shared.append(HumanTask.case_status == self.case_status)
        if self.region is not None:
            shared.append(_of_the_case(Instance.region).startswith(region_prefix(self.region)))
        return [[HumanTask.role == role, *shared] for role in sorted(set(self.roles))]


@dataclass(frozen=True)
class WorklistPage:
    """One page in urgency order; `after`/`before` are the cursors of the next and previous pages (None: none)."""

    rows: list[HumanTask]
    after: str | None
    before: str | None


def region_prefix(region: str) -> str:
    """The code prefix of the divisions inside `region`: a province's two digits, a city's four, else all six."""
    return region[:2] if region.endswith("0000") else region[:4] if region.endswith("00") else region


def cursor_of(task: HumanTask) -> str:
    """The task's place in the urgency order, as text for a link or a command line."""
    return f"{_stamp(task.sort_due)}.{_stamp(task.created_at)}.{task.id}"


def parse_cursor(text: str) -> tuple[datetime, datetime, str] | None:
    """The order key a cursor names, or None when it is not one (a hand-edited link)."""
    parts = text.split(".", 2)
    if len(parts) != 3 or not parts[2]:
        return None
    try:
        due, created = (datetime.strptime(part, _STAMP).replace(tzinfo=UTC) for part in parts[:2])
    except ValueError:
        return None
    return due, created, parts[2]


def page(session: Session, where: WorklistFilter, *, limit: int, after: str | None = None,
         before: str | None = None) -> WorklistPage:
    """The `limit` most urgent tasks after the cursor `after` (or, with `before`, the `limit` just before it)."""
    return _page(session, where.branches(), limit=limit, after=after, before=before)


def open_tasks_page(session: Session, *, case_id: str | None = None, limit: int,
                    after: str | None = None) -> WorklistPage:
    """Every open task (of one case), in the same order and by the same cursors: the command line's `beian tasks`,
    read off the index on (sort_due, created_at, id)."""
    return _page(session, [[HumanTask.case_id == case_id] if case_id else []], limit=limit, after=after)


def _page(session: Session, branches: list[list[Any]], *, limit: int, after: str | None = None,
          before: str | None = None) -> WorklistPage:
    backwards = before is not None
    key = parse_cursor(before if backwards else after or "") if (before or after) else None
    rows = _read(session, branches, limit=limit + 1, key=key, backwards=backwards)
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        if not more and len(rows) < limit:
            # Tasks before it were done meanwhile: the previous page is the first page, filled.
            return _page(session, branches, limit=limit)
    if not rows:
        return WorklistPage([], None, None)
    has_next = more if not backwards else True
    has_previous = (more if backwards else key is not None)
    return WorklistPage(rows, cursor_of(rows[-1]) if has_next else None,
                        cursor_of(rows[0]) if has_previous else None)


def bounded_count(session: Session, where: WorklistFilter, bound: int = COUNT_BOUND) -> int:
    """How many tasks match, read no further than `bound` + 1 per role: a result above `bound` means "more"."""
    # Ordered like a page, so that the database reads the worklist index in order and stops at the bound, as it
    # does for a page (unordered, PostgreSQL may prefer a bitmap over a whole role, or a join by case).
    branches = [select(literal(1).label("one")).where(*conditions).order_by(*_ORDER).limit(bound + 1)
                for conditions in where.branches()]
    if not branches:
        return 0
    counted = branches[0].subquery() if len(branches) == 1 else union_all(
        *(select(branch.subquery()) for branch in branches)).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    return min(total, bound + 1)


def present_statuses(session: Session, *, roles: Sequence[str], authority: str, among: Iterable[str]) -> list[str]:
    """Which of the statuses `among` (a short fixed list: workflows.operators STATUSES) the open tasks of `roles`
    handled by `authority` are in, in the order given. One statement: per status, an existence probe per role,
    each a seek into the status index that stops at the first task, so it costs the same at any number of tasks."""
    statuses, distinct_roles = list(among), sorted(set(roles))
    if not statuses or not distinct_roles:
        return []
    # The first task in a page's order (as bounded_count orders its reads), not EXISTS: PostgreSQL drops the order
    # from an EXISTS and may then take a sequential scan it expects to stop early, which reads the whole table when
    # the status's tasks are at its end.
    probes = [or_(*(select(literal(1)).where(HumanTask.authority == authority, HumanTask.role == role,
                                             HumanTask.case_status == status)
                    .order_by(*_ORDER).limit(1).scalar_subquery().is_not(None)
                    for role in distinct_roles))
              for status in statuses]
    found = session.execute(select(*(probe.label(f"s{n}") for n, probe in enumerate(probes)))).one()
    return [status for status, present in zip(statuses, found, strict=True) if present]


def _read(session: Session, branches: list[list[Any]], *, limit: int, key: tuple[datetime, datetime, str] | None,
          backwards: bool) -> list[HumanTask]:
    order = [column.desc() for column in _ORDER] if backwards else list(_ORDER)
    selects: list[Select[Any]] = []
    for conditions in branches:
        if key is not None:
            conditions = [*conditions, tuple_(*_ORDER) < key if backwards else tuple_(*_ORDER) > key]
        selects.append(select(HumanTask).options(undefer(HumanTask.sort_due)).where(*conditions).order_by(*order)
                       .limit(limit))
    if not selects:
        return []
    if len(selects) == 1:
        return list(session.scalars(selects[0]))
    merged = union_all(*(select(branch.subquery()) for branch in selects)).subquery()
    task = aliased(HumanTask, merged)
    columns = (merged.c.sort_due, merged.c.created_at, merged.c.id)
    merged_order = [column.desc() for column in columns] if backwards else list(columns)
    return list(session.scalars(select(task).options(undefer(task.sort_due)).order_by(*merged_order).limit(limit)))


def _of_the_case(column: Any) -> Any:
    """A column of the task's case, read per task in the index's order: a correlated scalar subquery, which neither
    SQLite nor PostgreSQL turns into a join (a join by case would read every task of the role, then sort them)."""
    return select(column).where(Instance.id == HumanTask.instance_id).scalar_subquery()


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_STAMP)
