"""The authority model and the access rules (tasks/access.py): every combination of level, jurisdiction and region;
every role against its own and others' cities and provinces, for municipal, provincial, inactive and admin users."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tasks.access import (
    Caseworker,
    assignable_roles,
    authority_name,
    authority_of,
    may_own_processes,
    may_see_case,
    may_work_on,
    refusal,
    user_region_problem,
)
from tasks.roles import ROLES


# (region of the case, authority level, jurisdiction of the task) -> authority
@pytest.mark.parametrize(("region", "level", "jurisdiction", "expected"), [
    # A district of a prefecture-level city (成都市锦江区).
    ("510104", "municipal", "case", "510100"),
    ("510104", "municipal", "province", "510000"),
    ("510104", "provincial", "case", "510000"),
    ("510104", "provincial", "province", "510000"),
    # Already at city level: the city.
    ("510100", "municipal", "case", "510100"),
    ("510100", "municipal", "province", "510000"),
    ("510100", "provincial", "case", "510000"),
    ("510100", "provincial", "province", "510000"),
    # Already at province level: the province, whatever the level.
    ("510000", "municipal", "case", "510000"),
    ("510000", "municipal", "province", "510000"),
    ("510000", "provincial", "case", "510000"),
    ("510000", "provincial", "province", "510000"),
    # A county of another province (吉林省长春市农安县).
    ("220122", "municipal", "case", "220100"),
    ("220122", "municipal", "province", "220000"),
    ("220122", "provincial", "case", "220000"),
    # Municipalities directly under the central government: the municipal authority is the district.
    ("110108", "municipal", "case", "110108"),
    ("110108", "municipal", "province", "110000"),
    ("110108", "provincial", "case", "110000"),
    ("310115", "municipal", "case", "310115"),
    ("120101", "municipal", "case", "120101"),
    ("500229", "municipal", "case", "500229"),   # 重庆市城口县 (under 500200 "县", not a city)
    ("500229", "provincial", "province", "500000"),
    ("110000", "municipal", "case", "110000"),
    # The Corps (code 66) and its divisions (师市).
    ("660102", "municipal", "case", "660100"),
    ("660102", "municipal", "province", "660000"),
    ("660102", "provincial", "case", "660000"),
])
def test_authority_of(region: str, level: str, jurisdiction: str, expected: str) -> None:
    assert authority_of(region, level, jurisdiction) == expected


def test_authority_of_defaults_to_the_case_jurisdiction() -> None:
    assert authority_of("510104", "municipal") == "510100"
    assert authority_of("510104", "provincial") == "510000"


@pytest.mark.parametrize(("region", "level", "jurisdiction", "message"), [
    ("51010", "municipal", "case", "6 位"),
    ("51O104", "municipal", "case", "6 位"),
    ("510104", "county", "case", "备案层级"),
    ("510104", "municipal", "city", "待办管辖"),
])
def test_authority_of_refuses_what_it_cannot_place(region: str, level: str, jurisdiction: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        authority_of(region, level, jurisdiction)


@pytest.mark.parametrize(("code", "name"), [
    ("510000", "四川省"), ("510100", "四川省成都市"), ("110108", "北京市海淀区"), ("660000", "新疆生产建设兵团"),
    ("990100", "990100"),
])
def test_authority_name(code: str, name: str) -> None:
    assert authority_name(code) == name


@pytest.mark.parametrize(("region", "problem"), [
    ("510000", None), ("510100", None), ("220100", None), ("110000", None), ("110108", None), ("500229", None),
    ("660100", None),
    ("510104", "区县级"), ("110100", "区（县）"), ("990000", "不是省级"), ("5101", "6 位"), (510100, "6 位"),
    ("５１０１００", "6 位"),
])
def test_user_region_problem(region: object, problem: str | None) -> None:
    found = user_region_problem(region)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_caseworker_properties() -> None:
    municipal = Caseworker("li", "李四", ("intake", "expert"), "510100")
    assert not municipal.is_provincial and municipal.role_labels == ("受理人员", "专家评估协调员")
    assert municipal.region_name == "四川省成都市" and municipal.active and not municipal.is_admin
    provincial = Caseworker("wang", "王五", ("reviewer",), "510000")
    assert provincial.is_provincial and provincial.role_labels == ("复核人员",) and provincial.region_name == "四川省"


def test_every_lane_but_the_system_is_assignable_and_so_is_the_process_owner() -> None:
    assert set(assignable_roles()) == {r.key for r in ROLES} - {"system"} | {"process_owner"}


def test_only_an_active_process_owner_owns_the_processes() -> None:
    owner = Caseworker("chen.jing", "陈静", ("process_owner",), "510000")
    assert may_own_processes(owner)
    assert not may_own_processes(Caseworker("x.y", "X", ("process_owner",), "510000", active=False))
    assert not may_own_processes(Caseworker("a.b", "管理员", ("intake",), "510000", is_admin=True))


# --- working on tasks -------------------------------------------------------------------------------------------

CHENGDU, MIANYANG, SICHUAN, JILIN, CHANGCHUN = "510100", "510700", "510000", "220000", "220100"
PLACES = {"own city": CHENGDU, "other city": MIANYANG, "own province": SICHUAN, "other province": JILIN,
          "other province's city": CHANGCHUN}


def _other_role(role: str) -> str:
    return next(r for r in assignable_roles() if r != role)


@pytest.mark.parametrize("role", assignable_roles())
@pytest.mark.parametrize("place", PLACES)
def test_a_municipal_caseworker_works_only_on_their_roles_tasks_of_their_city(role: str, place: str) -> None:
    user = Caseworker("li", "李四", (role,), CHENGDU)
    authority = PLACES[place]
    assert may_work_on(user, role, authority) is (place == "own city")
    assert may_work_on(user, _other_role(role), authority) is False
    assert may_work_on(replace(user, active=False), role, authority) is False
    assert may_work_on(replace(user, is_admin=True, roles=()), role, authority) is False  # admin is no role
    assert (refusal(user, role, authority) == "") is (place == "own city")


@pytest.mark.parametrize("role", assignable_roles())
@pytest.mark.parametrize("place", PLACES)
def test_a_provincial_caseworker_works_only_on_their_roles_tasks_of_the_province(role: str, place: str) -> None:
    user = Caseworker("wang", "王五", (role,), SICHUAN)
    authority = PLACES[place]
    # The province's own tasks only: not a city's task, even in its own province.
    assert may_work_on(user, role, authority) is (place == "own province")
    assert may_work_on(user, _other_role(role), authority) is False
    assert may_work_on(replace(user, active=False), role, authority) is False


def test_a_caseworker_with_several_roles_works_on_each() -> None:
    user = Caseworker("li", "李四", ("intake", "expert"), CHENGDU)
    assert may_work_on(user, "intake", CHENGDU) and may_work_on(user, "expert", CHENGDU)
    assert not may_work_on(user, "reviewer", CHENGDU) and not may_work_on(user, "", CHENGDU)
    assert not may_work_on(user, "system", CHENGDU)


def test_a_district_caseworker_of_beijing_works_only_in_their_district() -> None:
    haidian = Caseworker("zhao", "赵六", ("intake",), "110108")
    assert may_work_on(haidian, "intake", authority_of("110108", "municipal"))
    assert not may_work_on(haidian, "intake", authority_of("110105", "municipal"))  # 朝阳区
    assert not may_work_on(haidian, "intake", authority_of("110108", "provincial"))


def test_refusals_say_whose_task_it_is_and_what_does_not_fit() -> None:
    user = Caseworker("li", "李四", ("expert",), CHENGDU)
    assert refusal(user, "intake", CHENGDU) == "该待办属于受理人员（四川省成都市），您没有“受理人员”角色，无权办理"
    assert refusal(user, "expert", MIANYANG) == (
        "该待办属于专家评估协调员（四川省绵阳市），不在您的辖区（四川省成都市），无权办理")
    assert refusal(user, "reviewer", SICHUAN) == (
        "该待办属于复核人员（四川省），您不是复核人员，辖区也不符（您的辖区为四川省成都市），无权办理")
    assert refusal(replace(user, active=False), "expert", CHENGDU) == "您的账号（li）已停用，无权办理待办"
    assert "未指定角色" in refusal(user, "", CHENGDU)
    assert refusal(user, "expert", CHENGDU) == ""


# --- seeing cases -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", assignable_roles())
def test_a_municipal_caseworker_sees_their_citys_cases(role: str) -> None:
    user = Caseworker("li", "李四", (role,), CHENGDU)
    assert may_see_case(user, CHENGDU, [CHENGDU])
    assert may_see_case(user, CHENGDU, [])
    assert may_see_case(user, CHENGDU, [CHENGDU, SICHUAN])  # under provincial review: still theirs
    assert not may_see_case(user, MIANYANG, [MIANYANG, SICHUAN])
    assert not may_see_case(user, SICHUAN, [SICHUAN])  # a provincial-level case
    assert not may_see_case(user, CHANGCHUN, [CHANGCHUN, JILIN])
    assert not may_see_case(user, JILIN, [JILIN])
    assert not may_see_case(replace(user, active=False), CHENGDU, [CHENGDU])


@pytest.mark.parametrize("role", assignable_roles())
def test_a_provincial_caseworker_sees_provincial_cases_and_the_municipal_ones_given_to_the_province(role: str) -> None:
    user = Caseworker("wang", "王五", (role,), SICHUAN)
    assert may_see_case(user, SICHUAN, [SICHUAN])
    assert may_see_case(user, SICHUAN, [])
    assert not may_see_case(user, CHENGDU, [CHENGDU])            # a municipal case before any provincial task
    assert not may_see_case(user, CHENGDU, [])
    assert may_see_case(user, CHENGDU, [CHENGDU, SICHUAN])       # the province reviews it (open or done)
    assert may_see_case(user, MIANYANG, iter([SICHUAN]))         # any iterable
    assert not may_see_case(user, JILIN, [JILIN])                # another province
    assert not may_see_case(user, CHANGCHUN, [CHANGCHUN, JILIN])
    assert not may_see_case(replace(user, active=False), SICHUAN, [SICHUAN])
    assert not may_see_case(replace(user, active=False), CHENGDU, [CHENGDU, SICHUAN])


@pytest.mark.parametrize("region", [CHENGDU, SICHUAN])
def test_an_administrator_sees_every_case_of_their_province_only(region: str) -> None:
    admin = Caseworker("root", "管理员", (), region, is_admin=True)
    for case_authority in (CHENGDU, MIANYANG, SICHUAN):
        assert may_see_case(admin, case_authority, [])
    assert not may_see_case(admin, JILIN, [JILIN])
    assert not may_see_case(admin, CHANGCHUN, [CHANGCHUN])
    assert not may_see_case(replace(admin, active=False), CHENGDU, [CHENGDU])
