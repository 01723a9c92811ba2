"""The Jinja filters of every page: dates and deadlines as people write them (Beijing time, no leading zeros), and a
role's name."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tasks.calendar import SHANGHAI
from tasks.calendar import cn_date as cn_day
from tasks.portal_accounts import PORTAL
from tasks.roles import role_label as _role_label


def cn_date(value: date | datetime | str | None) -> str:
    """2026年10月15日, in Asia/Shanghai."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return cn_day(value)


def _shanghai(value: datetime | str) -> datetime:
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(SHANGHAI)


def cn_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    local = _shanghai(value)
    return f"{cn_date(local)} {local:%H:%M}"


def cn_due(value: datetime | str | None) -> str:
    """A deadline as people say it, and as its explanation (tasks/calendar) writes it: one due at 00:00 ends the day
    before, at 24时 (2026年12月4日24时)."""
    if value is None or value == "":
        return ""
    local = _shanghai(value)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{cn_date(local - timedelta(days=1))}24时"
    return cn_datetime(local)


def role_label(key: str | None) -> str:
    return _role_label(key or "")


# The system's own actors as the history names them, in plain words (a person is named by their display name).
SYSTEM_ACTORS = {"timer": "计时器（到期自动处理）", "outbox": "系统投递", "system": "系统", "registry": "登记系统核验",
                 "external": "外部系统", "ops": "运维人员", "admin": "系统管理员", "applicant": "申请人",
                 "preview": "迁移预演", "public": "社会公众（网上提交）"}


def actor_name(actor: str | None, people: dict[str, str] | None = None) -> str:
    """Who did it: a caseworker's name (with the login name, which the audit keeps), or a system actor in words."""
    if not actor:
        return ""
    if people and actor in people:
        return f"{people[actor]}（{actor}）"
    if actor.startswith(PORTAL):
        # Done by a person of the institution in the portal (workflows/institutions.py).
        return f"机构（{actor.removeprefix(PORTAL)}）"
    return SYSTEM_ACTORS.get(actor, actor)
