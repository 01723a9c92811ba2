"""Caseworker roles. A BPMN lane's name is the role's Chinese label, so the diagram reads naturally in the
modeller while the code works with stable keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    label: str            # the lane name in the BPMN diagrams
    description: str


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

_BY_LABEL = {role.label: role for role in ROLES}
_BY_KEY = {role.key: role for role in (*ROLES, PROCESS_OWNER)}


def role_for_lane(lane: str | None) -> Role | None:
    """The role a lane stands for; None for an unknown lane (a deployment check reports it)."""
    if lane is None:
        return None
    return _BY_LABEL.get(lane.strip())


def role_by_key(key: str) -> Role:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"未知的角色“{key}”，可选：{'、'.join(_BY_KEY)}") from None
