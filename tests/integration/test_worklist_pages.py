"""The worklist's keyset pages and bounded counts on SQLite and PostgreSQL: every task exactly once in urgency order
across equal and missing due times, forwards and backwards, per claim; counts that stop at the bound; and query
plans that read the worklist index in order (no sort of every matching task) for the role, claim, overdue and region
filters; the case's status kept on its tasks by the database, and the status filter's options found by one seek
per status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from adapters.outside.db import HumanTask, make_engine, make_session_factory
from adapters.outside.repository import UnitOfWork
from adapters.outside.schema import upgrade
from adapters.outside.worklist import (
    COUNT_BOUND,
    WorklistFilter,
    bounded_count,
    cursor_of,
    parse_cursor,
    present_statuses,
)
from tests.conftest import Beian
from tests.support.open_tasks import OPENED, OpenTask, insert_open_tasks

DAY = timedelta(days=1)
ROLES = ["intake", "expert"]


@pytest.fixture
def engine(backend_url: str) -> Iterator[Engine]:
    engine = make_engine(backend_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _mixed() -> list[OpenTask]:
    """Forty-two tasks: groups sharing one due time (and one opening instant: only the id orders them), some without
    a due time, two roles, some claimed, one of another authority and one of a role nobody asked for."""
    tasks = []
    for index in range(40):
        due = None if index % 7 == 3 else OPENED + (index % 4) * DAY
        created = OPENED - (index % 2) * timedelta(hours=1)
        tasks.append(OpenTask(due_at=due, role=ROLES[index % 2], created_at=created,
                              claimed_by="li.si" if index % 5 == 0 else None))
    tasks.append(OpenTask(due_at=OPENED, authority="510100"))
    tasks.append(OpenTask(due_at=OPENED, role="reviewer"))
    return tasks


def _urgency(row: HumanTask) -> tuple[bool, datetime, datetime, str]:
    return (row.due_at is None, row.due_at or OPENED, row.created_at, row.id)


def _walk(uow: UnitOfWork, where: WorklistFilter, limit: int) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = uow.repo.worklist(where, limit=limit, after=after)
        pages.append([row.id for row in page.rows])
        if page.after is None:
            return pages
        after = page.after


def test_keyset_pages_hold_every_task_once_in_urgency_order_forwards_and_backwards(engine: Engine) -> None:
    insert_open_tasks(engine, _mixed())
    where = WorklistFilter(roles=ROLES, authority="510000")
    with UnitOfWork(make_session_factory(engine)) as uow:
        expected = sorted((row for row in uow.repo.open_tasks() if row.authority == "510000" and row.role in ROLES),
                          key=_urgency)
        pages = _walk(uow, where, limit=7)
        assert [len(page) for page in pages] == [7, 7, 7, 7, 7, 5]
        assert [task for page in pages for task in page] == [row.id for row in expected]
        assert expected[-1].due_at is None and expected[0].due_at is not None  # no due time comes last

        # Back from the last page, page by page, to the first, which has no previous page.
        page = uow.repo.worklist(where, limit=7, after=cursor_of(_row(uow, pages[-2][-1])))
        assert [row.id for row in page.rows] == pages[-1]
        for number in range(len(pages) - 2, -1, -1):
            page = uow.repo.worklist(where, limit=7, before=page.before)
            assert [row.id for row in page.rows] == pages[number]
        assert page.before is None and page.after is not None
        assert uow.repo.worklist_count(where) == 40


def test_claimed_and_unclaimed_pages(engine: Engine) -> None:
    insert_open_tasks(engine, _mixed())
    with UnitOfWork(make_session_factory(engine)) as uow:
        rows = sorted((row for row in uow.repo.open_tasks() if row.authority == "510000" and row.role in ROLES),
                      key=_urgency)
        mine = WorklistFilter(roles=ROLES, authority="510000", claimed_by="li.si")
        unclaimed = WorklistFilter(roles=ROLES, authority="510000", unclaimed_only=True)
        assert sum(_walk(uow, mine, limit=3), []) == [row.id for row in rows if row.claimed_by == "li.si"]
        assert sum(_walk(uow, unclaimed, limit=4), []) == [row.id for row in rows if row.claimed_by is None]
        assert (uow.repo.worklist_count(mine), uow.repo.worklist_count(unclaimed)) == (8, 32)
        overdue = WorklistFilter(roles=ROLES, authority="510000", overdue_at=OPENED + DAY)
        assert sum(_walk(uow, overdue, limit=5), []) == [
            row.id for row in rows if row.due_at is not None and row.due_at <= OPENED + DAY]


def test_a_page_after_a_task_done_meanwhile_and_a_hand_edited_cursor(engine: Engine) -> None:
    ids = insert_open_tasks(engine, [OpenTask(due_at=OPENED + n * DAY) for n in range(6)])
    where = WorklistFilter(roles=["intake"], authority="510000")
    with UnitOfWork(make_session_factory(engine)) as uow:
        second = uow.repo.worklist(where, limit=2, after=uow.repo.worklist(where, limit=2).after)
        uow.session.delete(_row(uow, ids[0]))  # done by someone else before "上一页" is followed
        uow.session.flush()
        back = uow.repo.worklist(where, limit=2, before=second.before)
        assert ([row.id for row in back.rows], back.before) == (ids[1:3], None)  # the first page, filled
        assert [row.id for row in uow.repo.worklist(where, limit=2, after="not-a-cursor").rows] == ids[1:3]
    assert parse_cursor("2026.x.y") is None and parse_cursor("") is None


def test_the_count_stops_at_its_bound(engine: Engine) -> None:
    insert_open_tasks(engine, [OpenTask(due_at=OPENED, role=ROLES[n % 2]) for n in range(30)])
    with UnitOfWork(make_session_factory(engine)) as uow:
        where = WorklistFilter(roles=ROLES, authority="510000")
        assert bounded_count(uow.session, where, bound=10) == 11  # "more than 10", not 30
        assert bounded_count(uow.session, where, bound=30) == 30
        assert bounded_count(uow.session, WorklistFilter(roles=["intake"], authority="510000"), bound=14) == 15
        assert bounded_count(uow.session, WorklistFilter(roles=[], authority="510000")) == 0
        assert uow.repo.worklist_count(where) == 30 <= COUNT_BOUND


# --- query plans ---------------------------------------------------------------------------------------------------

def _spread() -> list[OpenTask]:
    """Enough tasks, spread over roles, claims, due times and cities, that a planner has a choice to make."""
    cities = ("510104", "510105", "510704", "510802")
    return [OpenTask(due_at=None if n % 10 == 0 else OPENED + (n % 30) * DAY,
                     role=("intake", "expert", "reviewer")[n % 3], claimed_by="li.si" if n % 4 == 0 else None,
                     located=cities[n % 4], status=STATUSES[n % 7 % len(STATUSES)],
                     created_at=OPENED - (n % 3) * timedelta(hours=1)) for n in range(12_000)]


STATUSES = ("applied", "under_review", "publicity", "filed")


FILTERS: dict[str, dict[str, Any]] = {
    "one role": {"roles": ["intake"]},
    "roles": {"roles": ROLES},
    "mine": {"roles": ROLES, "claimed_by": "li.si"},
    "unclaimed": {"roles": ROLES, "unclaimed_only": True},
    "overdue": {"roles": ["intake"], "overdue_at": OPENED + 5 * DAY},
    "region": {"roles": ROLES, "region": "510100"},
    "status": {"roles": ROLES, "case_status": "publicity"},
}


@contextmanager
def _recorded(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent to the database inside the block, with their parameters, in order."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _spread_and_analysed(engine: Engine) -> None:
    insert_open_tasks(engine, _spread())
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def test_pages_and_counts_read_the_worklist_index_in_order(engine: Engine) -> None:
    _spread_and_analysed(engine)
    for name, options in FILTERS.items():
        where = WorklistFilter(authority="510000", **options)
        with UnitOfWork(make_session_factory(engine)) as uow, _recorded(engine) as sent:
            first = uow.repo.worklist(where, limit=25)
            uow.repo.worklist(where, limit=25, after=first.after)
            page_statement = sent[-1]
            uow.repo.worklist_count(where)
            count_statement = sent[-1]
        page_plan = _plan(engine, *page_statement)
        count_plan = _plan(engine, *count_statement)
        for plan in (page_plan, count_plan):
            shown = (name, "\n".join(plan))
            assert not any(re.search(r"SCAN human_tasks\b|Seq Scan on human_tasks", line) for line in plan), shown
            used = {index for line in plan for index in re.findall(r"INDEX (\w+)|Scan (?:using|on) (ix_\w+)", line)
                    for index in index if index}
            assert used and all(index.startswith("ix_human_tasks_worklist") for index in used
                                if index.startswith("ix_human_tasks")), (name, plan)
            assert any(index.startswith("ix_human_tasks_worklist") for index in used), (name, plan)
        if engine.dialect.name == "sqlite":
            # A sort only of what a branch returned (one page per role), never of the tasks read from the table.
            for before, line in zip(page_plan, page_plan[1:], strict=False):
                if "TEMP B-TREE" in line:
                    assert re.match(r"SCAN anon_\d+$", before), (name, page_plan)
            if len(options["roles"]) == 1:
                assert not any("TEMP B-TREE" in line for line in page_plan), (name, page_plan)
        else:
            sorts = [line for line in page_plan if re.match(r"\s*(->\s*)?(Incremental )?Sort  \(", line)]
            assert not sorts, (name, "\n".join(page_plan))


def test_the_status_options_are_one_seek_per_status_into_the_status_index(engine: Engine) -> None:
    _spread_and_analysed(engine)
    among = [*STATUSES, "terminated"]  # a known status no task is in
    with UnitOfWork(make_session_factory(engine)) as uow, _recorded(engine) as sent:
        assert present_statuses(uow.session, roles=ROLES, authority="510000", among=among) == list(STATUSES)
    plan = _plan(engine, *sent[-1])  # one statement (after what a session sends on beginning)
    shown = "\n".join(plan)
    assert not any(re.search(r"SCAN human_tasks\b|Seq Scan on human_tasks|Bitmap", line) for line in plan), shown
    used = {index for line in plan for index in re.findall(r"INDEX (\w+)|Scan (?:using|on) (ix_\w+)", line)
            for index in index if index}
    assert used == {"ix_human_tasks_worklist_status"}, shown
    assert "instances" not in shown, shown  # the case's status is read off the task, not looked up per task


def test_the_status_options_and_filter_follow_the_case(engine: Engine) -> None:
    """A task carries its case's status from its insertion on, and again after every change of the case's status,
    whoever writes it (here plain SQL, as a bulk copy or a repair would)."""
    intake, expert, other = insert_open_tasks(engine, [
        OpenTask(due_at=OPENED, status="applied"), OpenTask(due_at=OPENED, role="expert", status="under_review"),
        OpenTask(due_at=OPENED, authority="510100", status="publicity")])
    with UnitOfWork(make_session_factory(engine)) as uow:
        assert [_row(uow, task).case_status for task in (intake, expert, other)] == [
            "applied", "under_review", "publicity"]
        assert uow.repo.worklist_statuses(roles=ROLES, authority="510000", among=[*STATUSES, "publicity"]) == [
            "applied", "under_review"]  # not another authority's
        assert uow.repo.worklist_statuses(roles=["intake"], authority="510000", among=STATUSES) == ["applied"]
        assert uow.repo.worklist_statuses(roles=[], authority="510000", among=STATUSES) == []
    with engine.begin() as conn:
        conn.execute(text("UPDATE instances SET status = 'filed' WHERE id = "
                          "(SELECT instance_id FROM human_tasks WHERE id = :task)"), {"task": intake})
    with UnitOfWork(make_session_factory(engine)) as uow:
        assert _row(uow, intake).case_status == "filed"
        assert uow.repo.worklist_statuses(roles=ROLES, authority="510000", among=STATUSES) == [
            "under_review", "filed"]  # in the order asked
        page = uow.repo.worklist(WorklistFilter(roles=ROLES, authority="510000", case_status="filed"), limit=5)
        assert [row.id for row in page.rows] == [intake]


def _plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        return [str(row[0]) for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]


def _row(uow: UnitOfWork, task_id: str) -> HumanTask:
    row = uow.repo.human_task(task_id)
    assert row is not None
    return row


def test_a_cursor_is_the_rows_place_in_the_order(engine: Engine) -> None:
    (task,) = insert_open_tasks(engine, [OpenTask(due_at=None)])
    with UnitOfWork(make_session_factory(engine)) as uow:
        row = _row(uow, task)
        assert row.sort_due == datetime(9999, 12, 31, tzinfo=UTC)  # computed by the database from due_at
        assert parse_cursor(cursor_of(row)) == (row.sort_due, row.created_at, row.id)


def test_beian_tasks_pages_by_cursor(beian: Beian) -> None:
    engine = make_engine(beian.url)
    try:
        ids = insert_open_tasks(engine, [OpenTask(due_at=None if n == 0 else OPENED + (n % 3) * DAY, role=ROLES[n % 2])
                                         for n in range(7)])
    finally:
        engine.dispose()
    listed = [t["id"] for t in beian.json("tasks")]
    first = beian.json("tasks", "--limit", "3")
    second = beian.json("tasks", "--limit", "3", "--after", first[-1]["cursor"])
    third = beian.json("tasks", "--limit", "3", "--after", second[-1]["cursor"])
    assert [t["id"] for t in first + second + third] == listed and sorted(listed) == sorted(ids)
    assert listed[-1] == ids[0]  # no due time: last
    text_page = beian("tasks", "--limit", "3", as_json=False).out
    assert f"下一页：beian tasks --limit 3 --after {first[-1]['cursor']}" in text_page
    assert "--limit 应为正整数" in beian("tasks", "--limit", "0", expect=None).err
    # A cursor that is not one is refused, not read as "the first page" (a script would loop on page 1 for ever).
    refused = beian("tasks", "--limit", "3", "--after", "2026.x.y", expect=4)
    assert "不是有效的翻页位置" in refused.err and refused.out == ""
    assert "须与 --limit 一起使用" in beian("tasks", "--after", first[-1]["cursor"], expect=4).err
