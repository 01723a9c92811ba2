"""Who may see a case and who may add to its file, who holds a role, and what people are called, as the caseworkers'
pages ask it."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from adapters.entrypoints.web.base import AccessDenied, Site
from tasks.access import Caseworker, authority_of, may_see_case
from workflows.users import list_users


def visible_case(site: Site, user: Caseworker, case_id: str) -> dict[str, Any]:
    """The case's record, or AccessDenied when it is not within what the caseworker may see."""
    view = site.service.records.show(case_id)
    case_authority = authority_of(view["region"], view["authority_level"])
    if not may_see_case(user, case_authority, site.service.cases.task_authorities(case_id)):
        raise AccessDenied(f"案件 {case_id} 不属于您的辖区，无权查看")
    return view


def may_upload(user: Caseworker, case: dict[str, Any]) -> bool:
    """The intake clerks of the authority the case was filed with add its materials (paper copies, corrections)."""
    return ("intake" in user.roles and user.active and bool(case.get("open"))
            and authority_of(str(case["region"]), str(case["authority_level"])) == user.region)


CORRECTING_ROLES = frozenset({"intake", "supervision"})


def may_correct(user: Caseworker, document: dict[str, Any]) -> bool:
    """The caseworkers of the authority that issued a document correct it (intake for the application's notices,
    supervision for those of the filing's life); a correction is not itself corrected, and documents from before
    the system recorded their issuer cannot be."""
    return (user.active and bool(CORRECTING_ROLES & set(user.roles)) and document.get("issuer") == user.region
            and document.get("kind") != "correction_notice")


def role_holder(site: Site, request: Request, role: str, refusal: str) -> Caseworker:
    """The signed-in caseworker when their account is active and holds `role`; else AccessDenied with `refusal`."""
    user = site.user_of(request)
    if role not in user.roles or not user.active:
        raise AccessDenied(refusal)
    return user


def display_names(site: Site) -> dict[str, str]:
    """Login name → the name people know a caseworker by (the history, holders and uploads show it)."""
    return {u.username: u.display_name for u in list_users(site.service)}
