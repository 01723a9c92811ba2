"""Who may work on what: the authority that handles a case or task, and the rules of access for caseworkers.

Jurisdiction is territorial (属地管理). Every case and every open task belongs to exactly one *authority*, named by
a 6-digit administrative division code:

- a provincial authority: ``xx0000`` (the province, or the Corps for XPCC);
- a municipal authority: ``xxyy00`` (the city / prefecture / 师市 the case's region lies in) — except in the four
  municipalities directly under the central government (北京、天津、上海、重庆), whose "municipal" level is the
  district (区), e.g. 110108 海淀区. There the second two digits group districts and counties (市辖区/县) and name no
  authority, so the district's own code is the authority.

A caseworker account carries one authority code (its ``region``). A caseworker works on a task when they hold the
task's role and the task's authority is theirs; they see a case when it is their authority's case, or when the
process gave their authority a task on it (a provincial reviewer sees the municipal case it reviews).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from tasks.divisions import division_name
from tasks.regions import AUTHORITY_LEVELS, PROVINCES, province_of
from tasks.roles import PROCESS_OWNER, all_roles, role_by_key, role_label

JURISDICTIONS: Final = ("case", "province")

# Municipalities directly under the central government: the municipal level is the district (GB/T 2260 gives
# 110100 "市辖区" and 500200 "县" as groupings, not as authorities).
DISTRICT_LEVEL_PROVINCES: Final = frozenset({"11", "12", "31", "50"})

def assignable_roles() -> tuple[str, ...]:
    """Roles a person may hold: the lanes' (the "system" lane is the engine's own, added ones included) and the
    process owner."""
    return (*(role.key for role in all_roles() if role.key != "system"), PROCESS_OWNER.key)


def province_authority(region: str) -> str:
    """The provincial authority (``xx0000``) of a 6-digit division code."""
    return province_of(region) + "0000"


def authority_of(region: str, authority_level: str, jurisdiction: str = "case") -> str:
    """The 6-digit code of the authority that handles a case (``jurisdiction="case"``) or one of its tasks.

    Provincial-level cases, and tasks with ``jurisdiction="province"`` (e.g. the provincial review of a municipal
    filing), belong to the province (``xx0000``). Municipal cases belong to the city (``xxyy00``), or in a
    municipality directly under the central government to the district itself. A region already at city or
    province level maps to itself.
    """
    province = province_authority(region)
    if authority_level not in AUTHORITY_LEVELS:
        raise ValueError(f"未知的备案层级“{authority_level}”，应为 provincial 或 municipal")
    if jurisdiction not in JURISDICTIONS:
        raise ValueError(f"未知的待办管辖“{jurisdiction}”，应为 case 或 province")
    if jurisdiction == "province" or authority_level == "provincial":
        return province
    if region[:2] in DISTRICT_LEVEL_PROVINCES:
        return region
    return region[:4] + "00"


def is_provincial_code(code: str) -> bool:
    return code.endswith("0000")


def authority_name(code: str) -> str:
    """What people read for an authority (or region) code: the province's name, with its city's or district's
    (四川省成都市); a code below them keeps the code (四川省成都市 510104), as does one not in tasks/divisions.py."""
    province = PROVINCES.get(code[:2])
    if province is None:
        return code
    if is_provincial_code(code):
        return province
    if (name := division_name(code)) is not None:
        return province + name
    if (city := division_name(code[:4] + "00")) is not None:
        return f"{province}{city} {code}"
    return f"{province} {code}"


def user_region_problem(region: object) -> str | None:
    """None if ``region`` can be a caseworker's authority code, else why not (Chinese)."""
    if not (isinstance(region, str) and len(region) == 6 and region.isascii() and region.isdigit()):
        return f"辖区应为 6 位行政区划代码，实为「{region}」"
    province = region[:2]
    if province not in PROVINCES:
        return f"辖区代码 {region} 的前两位 {province} 不是省级行政区划代码"
    if is_provincial_code(region):
        return None
    if province in DISTRICT_LEVEL_PROVINCES:
        if region.endswith("00"):
            return (f"{PROVINCES[province]}的市级以下备案由各区负责：辖区应为省级代码 {province}0000 "
                    f"或区（县）的代码（如 {province}0101），不能是 {region}")
        return None
    if not region.endswith("00"):
        return (f"辖区代码 {region} 是区县级；辖区应为省级（如 {province}0000）或市级（如 {region[:4]}00）"
                "行政区划代码")
    return None


@dataclass(frozen=True)
class Caseworker:
    """A signed-in person as access rules see them. ``region`` is the user's authority code: ``xx0000`` for a
    provincial caseworker, ``xxyy00`` for a municipal one (the district's code in 北京、天津、上海、重庆)."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    region: str
    is_admin: bool = False
    active: bool = True

    @property
    def is_provincial(self) -> bool:
        return is_provincial_code(self.region)

    @property
    def role_labels(self) -> tuple[str, ...]:
        return tuple(role_label(key) for key in self.roles)

    @property
    def region_name(self) -> str:
        return authority_name(self.region)


def may_work_on(user: Caseworker, role: str, authority: str) -> bool:
    """Whether ``user`` may claim, release or complete a task of ``role`` handled by ``authority``.

    Being an administrator gives no right to do casework: an administrator needs the role like anyone else."""
    return user.active and role in user.roles and authority == user.region


def may_own_processes(user: Caseworker) -> bool:
    """Whether ``user`` may check, deploy and migrate process versions and run simulations. The diagrams are the
    same for every region the system serves, so the right comes from the role alone; administrators need it too."""
    return user.active and PROCESS_OWNER.key in user.roles


def may_see_case(user: Caseworker, case_authority: str, task_authorities: Iterable[str]) -> bool:
    """Whether ``user`` may open a case.

    ``case_authority`` is ``authority_of(case region, case authority level)``; ``task_authorities`` are the
    authorities of the case's tasks, open or done. A caseworker sees the cases of their own authority (a municipal
    caseworker their city's, a provincial caseworker the province's provincial-level cases) and any case the process
    gave their authority a task on (a provincial reviewer sees the municipal filing it reviews, from the moment the
    review task opens). An administrator sees every case in their province, municipal or provincial, because they
    answer for the accounts and the running of the whole provincial system; seeing gives them no right to act.
    An inactive account sees nothing.
    """
    if not user.active:
        return False
    if user.is_admin and case_authority[:2] == user.region[:2]:
        return True
    return case_authority == user.region or user.region in set(task_authorities)


def _role_label(role: str) -> str:
    try:
        return role_by_key(role).label
    except ValueError:
        return f"角色“{role}”" if role else "未指定角色"


def refusal(user: Caseworker, role: str, authority: str) -> str:
    """Why ``user`` may not work on a task of ``role`` handled by ``authority``, in Chinese; "" when they may."""
    if may_work_on(user, role, authority):
        return ""
    label, owner = _role_label(role), authority_name(authority)
    if not user.active:
        return f"您的账号（{user.username}）已停用，无权办理待办"
    has_role, own_region = role in user.roles, authority == user.region
    if not has_role and not own_region:
        why = f"您不是{label}，辖区也不符（您的辖区为{authority_name(user.region)}）"
    elif not has_role:
        why = f"您没有“{label}”角色"
    else:
        why = f"不在您的辖区（{authority_name(user.region)}）"
    return f"该待办属于{label}（{owner}），{why}，无权办理"
