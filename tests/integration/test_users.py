"""Caseworker accounts through the real command line (SQLite and PostgreSQL): add, list, sign in, change password,
disable; bad input refused in Chinese; argon2id hashes and no password anywhere in the database; migration 0004's
backfill of task authorities; the worklist query."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import inspect, select, text, update

from adapters.outside.db import AuditEvent, HumanTask, SignInAttempt, User
from adapters.outside.schema import alembic_config, migrating
from adapters.outside.worklist import WorklistFilter, cursor_of
from tasks.access import authority_of
from tasks.errors import NotFound
from tasks.regions import profile_for_region
from tests.conftest import Beian
from tests.support.scenarios import apply, complete
from workflows import clock, users
from workflows.service import Beian as ServiceApp

PASSWORD = "锦江-受理-2026"
NEW_PASSWORD = "new-secret-pass-42"


@pytest.fixture
def app(beian: Beian) -> Iterator[ServiceApp]:
    service = ServiceApp(beian.url)
    yield service
    service.close()


def add(beian: Beian, monkeypatch: pytest.MonkeyPatch, username: str, *options: str, password: str = PASSWORD,
        expect: int = 0) -> Any:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return beian("users", "add", username, *options, "--password-stdin", expect=expect)


def test_add_list_sign_in_change_password_disable(beian: Beian, app: ServiceApp,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    added = add(beian, monkeypatch, "li.si", "--name", "李四", "--role", "intake", "--role", "expert",
                "--region", "510100").json
    assert added == {"username": "li.si", "display_name": "李四", "roles": ["intake", "expert"],
                     "role_labels": ["受理人员", "专家评估协调员"], "region": "510100", "region_name": "四川省成都市",
                     "is_admin": False, "active": True}

    # Without --password-stdin the password is typed twice, without echo.
    typed = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    beian("users", "add", "wang_wu", "--name", "王五", "--role", "reviewer", "--region", "510000", "--admin")
    typed = iter([PASSWORD, PASSWORD + "x"])
    mismatch = beian("users", "add", "zhao", "--name", "赵六", "--role", "intake", "--region", "510100", expect=4)
    assert "两次输入的密码不一致" in mismatch.err

    listed = beian.json("users", "list")
    assert [(u["username"], u["is_admin"], u["region"]) for u in listed] == [("li.si", False, "510100"),
                                                                              ("wang_wu", True, "510000")]
    human = beian("users", "list", as_json=False).out
    assert "li.si  李四  受理人员、专家评估协调员  辖区 四川省成都市" in human
    assert "wang_wu  王五  复核人员  辖区 四川省（510000）  管理员" in human

    user = users.authenticate(app, "li.si", PASSWORD)
    assert user is not None and user.roles == ("intake", "expert") and user.region == "510100"
    assert users.authenticate(app, " LI.SI ", PASSWORD) == user  # as typed into a sign-in form
    assert users.authenticate(app, "li.si", PASSWORD + " ") is None
    assert users.authenticate(app, "nobody", PASSWORD) is None
    assert users.get_user(app, "li.si") == user and users.get_user(app, "nobody") is None

    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    assert beian.json("users", "passwd", "li.si", "--password-stdin") == {"username": "li.si",
                                                                         "password_changed": True}
    assert users.authenticate(app, "li.si", PASSWORD) is None
    assert users.authenticate(app, "li.si", NEW_PASSWORD) == user

    disabled = beian.json("users", "disable", "li.si")
    assert disabled["active"] is False
    assert users.authenticate(app, "li.si", NEW_PASSWORD) is None
    assert users.get_user(app, "li.si") is not None and not users.get_user(app, "li.si").active
    beian.json("users", "disable", "li.si")  # already disabled: nothing to record
    assert beian.json("users", "enable", "li.si")["active"] is True
    assert users.authenticate(app, "li.si", NEW_PASSWORD) == user

    assert "不存在" in beian("users", "passwd", "nobody", "--password-stdin", expect=3).err
    assert "不存在" in beian("users", "disable", "nobody", expect=3).err
    assert "已被使用" in add(beian, monkeypatch, "li.si", "--name", "另一个李四", "--role", "intake",
                             "--region", "510100", expect=4).err

    with app.uow() as uow:
        events = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.case_id.is_(None),
                                                                   AuditEvent.action.like("%user%")
                                                                   | AuditEvent.action.like("password%"))
                                          .order_by(AuditEvent.id)))
        assert [(e.action, e.actor, e.detail["username"]) for e in events] == [
            ("user_added", "admin", "li.si"), ("user_added", "admin", "wang_wu"),
            ("password_changed", "admin", "li.si"), ("user_deactivated", "admin", "li.si"),
            ("user_reactivated", "admin", "li.si")]
        assert events[0].summary == "新增用户 li.si（李四）：受理人员、专家评估协调员，辖区 四川省成都市"


@pytest.mark.parametrize(("username", "options", "password", "message"), [
    ("Li", ["--role", "intake", "--region", "510100"], PASSWORD, "用户名“Li”不符合要求"),
    ("li si", ["--role", "intake", "--region", "510100"], PASSWORD, "只含小写字母、数字和 _ . -"),
    ("l" * 41, ["--role", "intake", "--region", "510100"], PASSWORD, "3–40 个字符"),
    ("lisi", ["--role", "intake", "--region", "510100"], "short-pw", "密码太短：至少 10 个字符"),
    ("lisi", ["--role", "intake", "--region", "510100"], "1234567890123", "密码不能全是数字"),
    ("lisi", ["--role", "intake", "--region", "510100"], "", "密码太短"),
    ("lisi", ["--role", "clerk", "--region", "510100"], PASSWORD, "未知的角色：clerk；可选：intake（受理人员）"),
    ("lisi", ["--role", "system", "--region", "510100"], PASSWORD, "未知的角色：system"),
    ("lisi", ["--role", "intake", "--region", "510104"], PASSWORD, "区县级"),
    ("lisi", ["--role", "intake", "--region", "990100"], PASSWORD, "不是省级行政区划代码"),
    ("lisi", ["--role", "intake", "--region", "5101"], PASSWORD, "6 位行政区划代码"),
    ("lisi", ["--role", "intake", "--region", "110100"], PASSWORD, "区（县）"),
])
def test_bad_input_is_refused_in_chinese(beian: Beian, monkeypatch: pytest.MonkeyPatch, username: str,
                                         options: list[str], password: str, message: str) -> None:
    refused = add(beian, monkeypatch, username, "--name", "李四", *options, password=password, expect=4)
    assert refused.err.startswith("错误：") and message in refused.err and refused.out == ""
    assert beian.json("users", "list") == []


def test_the_hash_is_argon2id_and_the_password_is_nowhere(beian: Beian, app: ServiceApp,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    add(beian, monkeypatch, "li.si", "--name", "李四", "--role", "intake", "--region", "510100")
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    beian("users", "passwd", "li.si", "--password-stdin")
    with app.engine.connect() as connection:
        rows = [str(tuple(row)) for table in ("users", "audit_log")
                for row in connection.execute(text(f"SELECT * FROM {table}"))]
        stored = connection.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$v=19$")
    assert PasswordHasher().verify(stored, NEW_PASSWORD)
    assert not PasswordHasher().check_needs_rehash(stored)  # today's parameters
    assert rows and not any(PASSWORD in row or NEW_PASSWORD in row for row in rows)
    audit = [row for row in rows if "user_added" in row or "password_changed" in row]
    assert len(audit) == 2 and not any("$argon2" in row for row in audit)


def test_an_outdated_hash_is_replaced_at_sign_in(beian: Beian, app: ServiceApp,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    add(beian, monkeypatch, "li.si", "--name", "李四", "--role", "intake", "--region", "510100")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with app.uow() as uow:
        uow.session.execute(update(User).values(password_hash=weak))
        uow.commit()
    assert users.authenticate(app, "li.si", "wrong password") is None
    with app.uow() as uow:
        assert uow.session.scalar(select(User.password_hash)) == weak  # only a correct password may rehash
    assert users.authenticate(app, "li.si", PASSWORD) is not None
    with app.uow() as uow:
        renewed = uow.session.scalar(select(User.password_hash))
        actions = list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id.is_(None))))
    assert renewed != weak and f"m={RFC_9106_LOW_MEMORY.memory_cost},t={RFC_9106_LOW_MEMORY.time_cost}" in renewed
    assert PasswordHasher().verify(renewed, PASSWORD) and "password_rehashed" in actions


def test_an_unknown_or_disabled_user_costs_a_hash_verification_too(beian: Beian, app: ServiceApp,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    add(beian, monkeypatch, "li.si", "--name", "李四", "--role", "intake", "--region", "510100")
    beian("users", "disable", "li.si")
    verified: list[str] = []
    real = users._verify

    def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(users, "_verify", spy)
    assert users.authenticate(app, "nobody", PASSWORD) is None
    assert users.authenticate(app, "", PASSWORD) is None
    assert users.authenticate(app, "li.si", PASSWORD) is None
    assert len(verified) == 3 and all(h.startswith("$argon2id$") for h in verified)


# --- authorities of tasks ---------------------------------------------------------------------------------------

def _application(application: dict[str, Any], region: str, level: str) -> dict[str, Any]:
    """The application moved to another region, declaring only the materials that region's checklist has."""
    offered = {item.key for item in profile_for_region(region).materials_for(application["institution"]["type"])}
    materials = [m for m in application["materials"] if m["kind"] in offered]
    return {**application, "region": region, "authority_level": level, "materials": materials}


def _authorities(app: ServiceApp) -> dict[str, tuple[str, str]]:
    with app.uow() as uow:
        return {t.id: (t.case_id, t.authority) for t in uow.repo.open_tasks()}


def test_migration_0004_backfills_the_authority_of_open_tasks(beian: Beian, app: ServiceApp, write_json: Any,
                                                              application: dict[str, Any]) -> None:
    reviewed = apply(beian, write_json, application)  # 成都市锦江区, municipal
    complete(beian, reviewed, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    complete(beian, reviewed, "expert_review", {"result": "pass", "opinion": "符合要求"}, "2026-10-09T10:00:00+08:00")
    complete(beian, reviewed, "site_inspection", {"result": "pass", "opinion": "符合要求"}, "2026-10-10T10:00:00+08:00")
    cases = {
        reviewed: "510000",  # the provincial review of a municipal filing
        apply(beian, write_json, application): "510100",
        apply(beian, write_json, _application(application, "510104", "provincial")): "510000",
        apply(beian, write_json, _application(application, "510100", "municipal")): "510100",
        apply(beian, write_json, _application(application, "110108", "municipal")): "110108",
        apply(beian, write_json, _application(application, "220122", "municipal")): "220100",
        apply(beian, write_json, _application(application, "660102", "municipal")): "660100",
    }
    before = _authorities(app)
    assert sorted(before.values()) == sorted(cases.items())
    with app.uow() as uow:  # the engine computes it as tasks/access.py does
        for row in uow.repo.open_tasks():
            instance = uow.repo.instance(row.case_id)
            assert instance is not None
            jurisdiction = "province" if row.bpmn_id == "higher_review" else "case"
            assert row.authority == authority_of(instance.region, instance.authority_level, jurisdiction)

    config = alembic_config(beian.url)
    with app.engine.connect() as connection, migrating(connection):
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert "users" not in inspect(app.engine).get_table_names()
    assert "authority" not in {c["name"] for c in inspect(app.engine).get_columns("human_tasks")}
    with app.engine.connect() as connection, migrating(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    assert _authorities(app) == before
    columns = {c["name"]: c for c in inspect(app.engine).get_columns("human_tasks")}
    assert columns["authority"]["nullable"] is False
    assert "ix_human_tasks_worklist" in {i["name"] for i in inspect(app.engine).get_indexes("human_tasks")}
    # The cases run on after the migration.
    complete(beian, reviewed, "higher_review", {"result": "pass"}, "2026-10-12T09:00:00+08:00")
    assert beian.json("show", reviewed)["status"] == "publicity"


def test_the_authorities_a_case_has_had_include_done_tasks(beian: Beian, app: ServiceApp, write_json: Any,
                                                           application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    assert app.cases.task_authorities(case) == ["510100"]
    complete(beian, case, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    complete(beian, case, "expert_review", {"result": "pass", "opinion": "符合要求"}, "2026-10-09T10:00:00+08:00")
    complete(beian, case, "site_inspection", {"result": "pass", "opinion": "符合要求"}, "2026-10-10T10:00:00+08:00")
    complete(beian, case, "higher_review", {"result": "pass"}, "2026-10-12T09:00:00+08:00")
    with app.uow() as uow:
        assert uow.repo.open_tasks(case) == []
    assert app.cases.task_authorities(case) == ["510000", "510100"]
    with pytest.raises(NotFound):
        app.cases.task_authorities("BA2026-99999")


# --- the worklist -----------------------------------------------------------------------------------------------

# Received on five different working days (applied out of order): the acceptance deadlines follow the same order.
RECEIVED = ["2026-09-22T10:00:00+08:00", "2026-09-18T10:00:00+08:00", "2026-09-24T10:00:00+08:00",
            "2026-09-21T10:00:00+08:00", "2026-09-23T10:00:00+08:00"]


def _ids(rows: list[HumanTask]) -> list[str]:
    return [row.case_id for row in rows]


def test_the_worklist_of_an_authority_in_urgency_order(beian: Beian, app: ServiceApp, write_json: Any,
                                                       application: dict[str, Any]) -> None:
    chengdu = {received: beian.json("apply", write_json(application), "--received-at", received,
                                    now="2026-09-24T12:00:00+08:00")["case"] for received in RECEIVED}
    by_urgency = [chengdu[r] for r in sorted(RECEIVED)]
    apply(beian, write_json, _application(application, "510704", "municipal"))     # 绵阳市
    provincial = apply(beian, write_json, _application(application, "510104", "provincial"))

    with app.uow() as uow:
        def worklist(roles: list[str], authority: str, *, limit: int = 10, after: str | None = None,
                     **filters: Any) -> tuple[list[HumanTask], int, str | None]:
            where = WorklistFilter(roles=roles, authority=authority, **filters)
            page = uow.repo.worklist(where, limit=limit, after=after)
            return page.rows, uow.repo.worklist_count(where), page.after

        page, total, after = worklist(["intake"], "510100", limit=2)
        assert (_ids(page), total) == (by_urgency[:2], 5)
        assert [row.due_at for row in page] == sorted(row.due_at for row in page)
        page, _, after = worklist(["intake"], "510100", limit=2, after=after)
        assert _ids(page) == by_urgency[2:4]
        assert _ids(worklist(["intake", "expert"], "510100", limit=9, after=after)[0]) == by_urgency[4:]
        last, _, end = worklist(["intake"], "510100", limit=2, after=after)
        assert (_ids(last), end) == (by_urgency[4:], None)
        assert worklist(["intake"], "510100", limit=2, after=cursor_of(last[0]))[::2] == ([], None)

        assert worklist(["expert", "reviewer"], "510100") == ([], 0, None)
        assert worklist([], "510100") == ([], 0, None)
        assert _ids(worklist(["intake"], "510000")[0]) == [provincial]
        assert worklist(["intake"], "510700")[1] == 1
        assert worklist(["intake"], "220100") == ([], 0, None)
        assert worklist(["intake"], "510100", process="filing_application")[1] == 5
        assert worklist(["intake"], "510100", process="renewal") == ([], 0, None)

        # Overdue: due at or before the given instant (the earliest two are due by the end of 30 September).
        first_two_due = _first_two(uow, by_urgency)
        overdue, count, _ = worklist(["intake"], "510100", overdue_at=first_two_due)
        assert (_ids(overdue), count) == (by_urgency[:2], 2)

        # Claimed and unclaimed; a task without a due time comes last (sort_due follows due_at in the database).
        uow.session.execute(update(HumanTask).where(HumanTask.case_id == by_urgency[3]).values(claimed_by="li.si"))
        uow.session.execute(update(HumanTask).where(HumanTask.case_id == by_urgency[0]).values(due_at=None))
        mine, count, _ = worklist(["intake"], "510100", claimed_by="li.si")
        assert (_ids(mine), count) == ([by_urgency[3]], 1)
        unclaimed, count, _ = worklist(["intake"], "510100", unclaimed_only=True)
        assert (_ids(unclaimed), count) == (by_urgency[1:3] + by_urgency[4:] + by_urgency[:1], 4)
        assert worklist(["intake"], "510100", claimed_by="li.si", unclaimed_only=True) == ([], 0, None)


def _first_two(uow: Any, by_urgency: list[str]) -> datetime:
    """The later due time of the two most urgent tasks."""
    return max(row.due_at for row in uow.repo.open_tasks() if row.case_id in by_urgency[:2])


def test_a_district_caseworker_in_a_municipality(beian: Beian, monkeypatch: pytest.MonkeyPatch) -> None:
    add(beian, monkeypatch, "zhang", "--name", "张三", "--role", "supervision", "--region", "110108")
    listed = json.loads(beian("users", "list").out)
    assert [(u["username"], u["region"], u["region_name"]) for u in listed] == [("zhang", "110108", "北京市海淀区")]


def test_repeated_failures_pause_sign_in_then_it_resumes_or_an_admin_unlocks_it(
        beian: Beian, app: ServiceApp, monkeypatch: pytest.MonkeyPatch) -> None:
    add(beian, monkeypatch, "li.si", "--name", "李四", "--role", "intake", "--region", "510100")
    start = datetime.fromisoformat("2026-11-23T09:00:00+08:00")

    def sign_in(password: str, minutes: float = 0, client: str = "10.0.0.7") -> Any:
        with clock.using_clock(clock.VirtualClock(start + timedelta(minutes=minutes))):
            return users.authenticate(app, "li.si", password, client=client)

    assert sign_in(PASSWORD) is not None
    for minute in range(1, users.MAX_FAILURES + 1):
        assert sign_in("wrong password", minute) is None
    # Locked: even the right password is refused, with how long to wait, without checking it.
    with pytest.raises(users.SignInLocked, match="该账号的登录失败次数过多，已暂停登录，请 12 分钟后再试"):
        sign_in(PASSWORD, 8)
    # Fifteen minutes after the last failure the account signs in again.
    assert sign_in(PASSWORD, 5 + 15.1) is not None

    for minute in range(users.MAX_FAILURES):
        assert sign_in("wrong password", 30 + minute) is None
    with pytest.raises(users.SignInLocked):
        sign_in(PASSWORD, 35)
    assert beian.json("users", "unlock", "li.si", now="2026-11-23T09:36:00+08:00") == {"unlocked": "li.si"}
    assert sign_in(PASSWORD, 37) is not None
    assert "不存在" in beian("users", "unlock", "nobody", expect=3).err

    # One address guessing across many names is paused too (unknown names count like real ones).
    for n in range(users.MAX_CLIENT_FAILURES):
        with clock.using_clock(clock.VirtualClock(start + timedelta(minutes=60, seconds=n))):
            assert users.authenticate(app, f"guess{n}", "x" * 10, client="203.0.113.9") is None
    with pytest.raises(users.SignInLocked, match="来自您所在网络地址的登录失败次数过多"):
        sign_in(PASSWORD, 61, client="203.0.113.9")
    assert sign_in(PASSWORD, 61, client="10.0.0.7") is not None  # the account itself is not locked

    with app.uow() as uow:
        outcomes = [row.outcome for row in uow.session.scalars(
            select(SignInAttempt).where(SignInAttempt.username == "li.si").order_by(SignInAttempt.id))]
        audited = [e.action for e in uow.session.scalars(select(AuditEvent)) if e.detail.get("username") == "li.si"]
    assert outcomes == ["success", *["failure"] * 5, "refused", "success", *["failure"] * 5, "refused", "unlock",
                        "success", "refused", "success"]
    assert audited.count("sign_in_locked") == 2 and audited.count("user_unlocked") == 1
