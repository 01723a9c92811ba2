"""Who may see a case and who may add to its file, as the case, materials and task pages ask it."""

from __future__ import annotations

from typing import Any

from adapters.entrypoints.web.base import AccessDenied, Site
from tasks.access import Caseworker, authority_of, may_see_case


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
