"""Roles an administrator adds (`beian roles add`): a key users hold, a label a lane is named by, a description and
the level of authority its holders sit at. Lanes may use it as soon as it is added (the check and deploy know it);
users get it like any role (`beian users add --role`), and the rules of access follow from the role and the
user's authority as for the built-in ones (tasks/access.py).

The added roles are held in tasks/roles.py for the code that resolves lanes and names roles (see its docstring):
`load_added_roles` fills it from the database."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from adapters.outside.db import AddedRole
from adapters.outside.repository import UnitOfWork
from tasks.errors import InvalidInput
from tasks.roles import LEVELS, PROCESS_OWNER, ROLES, Role, all_roles, use_added_roles
from tasks.text import text_problem
from workflows import clock


class App(Protocol):
    """What these functions need of the application (workflows.service.Beian): the engine imports this module, so it
    may not import the service layer."""

    def uow(self) -> UnitOfWork: ...

    def reading(self) -> UnitOfWork: ...

KEY: Final = re.compile(r"[a-z][a-z0-9_]{1,39}")
MAX_LABEL: Final = 20
MAX_DESCRIPTION: Final = 200


# The added roles' rows, each as a mapping of its columns, in the order they were added.
ADDED_ROLES: Final = select(AddedRole.__table__).order_by(AddedRole.created_at, AddedRole.key)


def load_added_roles(uow: UnitOfWork) -> bool:
    """Hold the added roles as the database has them; whether that changed what this process held. A database not
    yet upgraded to have them (before `beian init`) has none."""
    try:
        rows = list(uow.session.execute(ADDED_ROLES).mappings())
    except SQLAlchemyError:
        uow.rollback()
        return hold_added_roles([])
    return hold_added_roles(rows)


def hold_added_roles(rows: Iterable[Mapping[str, Any]]) -> bool:
    """Hold these rows of added roles (mappings of their columns) as this process's added roles; whether that changed
    what it held."""
    return use_added_roles([Role(r["key"], r["label"], r["description"], r["level"]) for r in rows])


def add_role(app: App, key: str, label: str, description: str, level: str, *, actor: str) -> Role:
    """Add a role (InvalidInput, in Chinese, for anything wrong; nothing is written then)."""
    key, label, description = key.strip(), label.strip(), description.strip()
    if not KEY.fullmatch(key):
        raise InvalidInput(f"角色代码“{key}”应为 2 至 40 个小写英文字母、数字或下划线，以字母开头（如 legal_review）")
    if problem := text_problem(label):
        raise InvalidInput(f"角色名称{problem}")
    if not label or len(label) > MAX_LABEL:
        raise InvalidInput(f"角色名称应为 1 至 {MAX_LABEL} 个字（即泳道的名称，如 法制审核员）")
    if description and (problem := text_problem(description)):
        raise InvalidInput(f"角色说明{problem}")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"角色说明最多 {MAX_DESCRIPTION} 个字")
    if level not in LEVELS:
        raise InvalidInput(f"角色层级应为 {'、'.join(f'{k}（{v}）' for k, v in LEVELS.items())}")
    with app.uow() as uow:
        load_added_roles(uow)
        for role in (*all_roles(), PROCESS_OWNER):
            if role.key == key:
                raise InvalidInput(f"角色代码“{key}”已被“{role.label}”使用")
            if role.label == label:
                raise InvalidInput(f"角色名称“{label}”已有（代码 {role.key}）")
        uow.repo.add(AddedRole(key=key, label=label, description=description, level=level, created_at=clock.now(),
                               created_by=actor))
        uow.repo.audit(at=clock.now(), case_id=None, actor=actor, action="role_added",
                       summary=f"新增角色 {label}（{key}，{LEVELS[level]}）", article="",
                       detail={"key": key, "label": label, "level": level})
        try:
            uow.commit()
        except IntegrityError:  # added at the same moment by someone else
            raise InvalidInput(f"角色“{label}”（{key}）已被他人同时添加") from None
        load_added_roles(uow)
    return Role(key, label, description, level)


def list_roles(app: App) -> list[dict[str, Any]]:
    """Every role a lane may stand for, built-in first, with whether an administrator added it."""
    with app.reading() as uow:
        load_added_roles(uow)
    built_in = {role.key for role in ROLES}
    return [{"key": role.key, "label": role.label, "description": role.description, "level": role.level,
             "level_label": LEVELS.get(role.level, role.level), "added": role.key not in built_in}
            for role in all_roles()]
