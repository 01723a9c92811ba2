"""Caseworker roles. A BPMN lane's name is the role's Chinese label, so the diagram reads naturally in the
modeller while the code works with stable keys.

The built-in roles are below; an administrator adds others (`beian roles add`, workflows/roles.py: a 法制审核员 for a
new legal review lane), kept in the database. Lanes are resolved while a diagram is parsed and roles named while
pages are drawn, deep below any unit of work, so the added roles are held here too (`use_added_roles`): loaded when
the application starts, replaced when one is added, and reloaded when a diagram names a lane this process does not
know yet (workflows/engine.definition_of) — another process may have added it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    label: str            # the lane name in the BPMN diagrams
    description: str
    level: str = "any"    # where its holders sit: "province", "city" (a municipal authority) or "any"


ROLES: tuple[Role, ...] = (
    Role("intake", "受理人员", "受理审查：审核申请材料，作出受理、不予受理或一次性告知补正的决定"),
    Role("expert", "专家评估协调员", "组织专家评估，记录技术评估意见"),
    Role("inspection", "现场考察组", "现场考察（或在线评估）并记录考察结论"),
    Role("reviewer", "复核人员", "上级复核（市州申报的省级复核）"),
    Role("publicity", "公示人员", "发布公示"),
    Role("supervision", "监管人员", "异议调查、监督检查、处理与终止"),
    Role("approver", "审批人员", "审批（如局长办公会）"),
    Role("system", "系统", "系统自动执行的步骤"),
)

# Not a lane: the people who change the diagrams, deploy versions and migrate running cases.
PROCESS_OWNER = Role("process_owner", "流程管理员", "维护流程图（BPMN）：检查、部署新版本、迁移运行中的案件、模拟比较")

LEVELS = {"province": "省级", "city": "市级", "any": "不限"}

_BY_LABEL = {role.label: role for role in ROLES}
_BY_KEY = {role.key: role for role in (*ROLES, PROCESS_OWNER)}
_added: dict[str, Role] = {}


def use_added_roles(roles: tuple[Role, ...] | list[Role]) -> bool:
    """Hold the roles an administrator added (all of them, replacing what was held); whether anything changed."""
    global _added
    wanted = {role.key: role for role in roles if role.key not in _BY_KEY}
    changed = wanted != _added
    _added = wanted
    return changed


def all_roles() -> tuple[Role, ...]:
    """The lanes' roles: the built-in ones, then those added, in the order they were added."""
    return (*ROLES, *_added.values())


def role_for_lane(lane: str | None) -> Role | None:
    """The role a lane stands for; None for an unknown lane (a deployment check reports it)."""
    if lane is None:
        return None
    name = lane.strip()
    return _BY_LABEL.get(name) or next((role for role in _added.values() if role.label == name), None)


def role_by_key(key: str) -> Role:
    found = _BY_KEY.get(key) or _added.get(key)
    if found is None:
        known = [*_BY_KEY, *_added]
        raise ValueError(f"未知的角色“{key}”，可选：{'、'.join(known)}")
    return found


def role_label(key: str) -> str:
    """What people read for a role key; the key itself for a role this process does not know."""
    found = _BY_KEY.get(key) or _added.get(key)
    return found.label if found else key
