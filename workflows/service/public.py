"""What the public may see and do without signing in (the public pages, `/public/`): check whether a filing receipt is
genuine and in force, search the directory of filed institutions, read the institutions in publicity, and object to
one during its publicity.

Exactly the fields the texts publish (Sichuan 四: 机构名称、统一社会信用代码、地址、联系人、联系电话、
备案职业（工种）及其编码、等级和评价依据) and nothing else: no materials, no staff lists, no identity
numbers, no internal notes. Every view here is built field by field from that list, never by copying a record, so a
field added to the application later cannot leak.
What the public sends is bounded: an objection's texts and files, and how many one address (and everyone together)
may send a day."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time
from typing import Any, Final

import workflows.operators  # noqa: F401  (registers the expression functions and service operators every step needs)
from adapters.outside.db import Filing, Instance, PublicSubmission
from adapters.outside.documents import BASIS_NAMES, level_names
from adapters.outside.repository import UnitOfWork
from tasks.access import authority_name, authority_of
from tasks.calendar import SHANGHAI, cn_date
from tasks.errors import IllegalEvent, InvalidInput, NotFound
from tasks.regions import profile_for_region
from tasks.text import text_problem
from workflows import clock
from workflows.filings import TERMINATION_KINDS, visible_status
from workflows.issuing import issuer_of
from workflows.service.base import Capability
from workflows.service.materials import Upload
from workflows.service.objections import Objections

# What the public reads for each filing status, and which of them the directory lists.
PUBLIC_STATUSES: Final[Mapping[str, str]] = {
    "filed": "有效", "renewal_window": "有效", "renewal_review": "有效（续期评估中）",
    "suspended": "暂停评价", "winding_up": "自愿终止收尾中（已停止报名）",
    "expired": "有效期已届满", "delisted": "已退出评价机构目录", "terminated": "已终止备案",
}
IN_FORCE: Final = frozenset({"filed", "renewal_window", "renewal_review"})
LISTED: Final = ("filed", "renewal_window", "renewal_review", "suspended", "winding_up")
PAGE_SIZE: Final = 20
MAX_QUERY: Final = 100

OBJECTION: Final = "objection"
MAX_OBJECTOR: Final = 50
MAX_CONTACT: Final = 100
MAX_CONTENT: Final = 2000
MAX_PUBLIC_FILES: Final = 3
MAX_PUBLIC_FILE_BYTES: Final = 5 * 1024 * 1024
MAX_PUBLIC_TOTAL_BYTES: Final = 10 * 1024 * 1024
PER_ADDRESS_PER_DAY: Final = 3
ALL_PER_DAY: Final = 500


class Public(Capability):
    """The public pages' reads and the public's objections (registered as app.objections registers them)."""

    def __init__(self, uow: Callable[[], UnitOfWork], reading: Callable[[], UnitOfWork],
                 objections: Objections) -> None:
        super().__init__(uow, reading)
        self._objections = objections

    def verify(self, filing_number: str) -> dict[str, Any]:
        """Whether a filing number is one this system issued, and what the filing is today."""
        number = filing_number.strip()
        if not number or len(number) > 80:
            raise NotFound("请输入回执上的备案编号")
        with self.reading() as uow:
            filing = uow.repo.filing_by_number(number)
            if filing is None:
                raise NotFound(f"未查到备案编号“{number}”：该编号不是本系统出具的备案回执编号，请核对后重试，"
                               "或向备案机关核实")
            return _filing_view(uow, filing)

    def directory(self, *, query: str = "", region: str = "", occupation: str = "", status: str = "",
                  page: int = 1) -> dict[str, Any]:
        """Filed institutions, found and filtered, a page at a time."""
        query, occupation = query.strip(), occupation.strip()
        problems = [f"{label}{problem}" for label, value in (("查询内容", query), ("职业编码", occupation))
                    if (problem := text_problem(value, required=False))]
        if len(query) > MAX_QUERY:
            problems.append(f"查询内容不能超过 {MAX_QUERY} 个字符")
        if region and not (region.isdigit() and len(region) in (2, 4, 6)):
            problems.append("地区应为行政区划代码（2、4 或 6 位数字）")
        if status and status not in LISTED:
            problems.append("备案状态应为：" + "、".join(f"{k}（{PUBLIC_STATUSES[k]}）" for k in LISTED))
        if problems:
            raise InvalidInput("查询条件有误：" + "；".join(problems), problems=problems)
        page = max(1, page)
        today = clock.now().astimezone(SHANGHAI).date()
        with self.reading() as uow:
            rows, total = uow.repo.directory_filings([status] if status else LISTED, on_or_after=today, query=query,
                                                     region=region, occupation=occupation,
                                                     offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
            return {"filings": [_filing_view(uow, f) for f in rows], "total": total, "page": page,
                    "pages": max(1, -(-total // PAGE_SIZE))}

    def in_publicity(self) -> list[dict[str, Any]]:
        """The applications in publicity now, each with its period, for the public to read and object to."""
        with self.reading() as uow:
            return [_publicity_view(uow, instance) for instance in uow.repo.cases_in_status("filing_application",
                                                                                            "publicity")]

    def publicity(self, case_id: str) -> dict[str, Any]:
        with self.reading() as uow:
            instance = uow.repo.instance(case_id)
            if (instance is None or instance.process_id != "filing_application" or instance.status != "publicity"
                    or instance.completed_at is not None):
                raise NotFound("该机构不在公示期内（公示可能已结束），不能再提出异议")
            return _publicity_view(uow, instance)

    def object(self, case_id: str, *, objector: str, contact: str, content: str, files: Sequence[Upload],
               client: str) -> dict[str, Any]:
        """An objection from the public during publicity (XPCC 第十三条（三）): bounded, counted against the address and
        the day, and then the same objection the publicity officer registers (app.objections), credited to 公众. Not
        rerun as a whole on a transient database error: the registration reruns itself, and a second objection must
        never follow the first."""
        problems = [f"{label}{problem}" for label, value, limit, multiline, required in (
            ("姓名或名称", objector, MAX_OBJECTOR, False, True), ("联系方式", contact, MAX_CONTACT, False, True),
            ("异议内容", content, MAX_CONTENT, True, True))
            if (problem := text_problem(value, multiline=multiline, required=required)
                or (f"不能超过 {limit} 个字符" if len(value.strip()) > limit else None))]
        if len(files) > MAX_PUBLIC_FILES:
            problems.append(f"附件最多 {MAX_PUBLIC_FILES} 份，实有 {len(files)} 份")
        problems += [f"附件“{f.file}”超过 {MAX_PUBLIC_FILE_BYTES // (1024 * 1024)} MB" for f in files
                     if len(f.content) > MAX_PUBLIC_FILE_BYTES]
        if sum(len(f.content) for f in files) > MAX_PUBLIC_TOTAL_BYTES:
            problems.append(f"附件合计超过 {MAX_PUBLIC_TOTAL_BYTES // (1024 * 1024)} MB")
        if problems:
            raise InvalidInput("异议有误，未提交：" + "；".join(problems), problems=problems)
        self.publicity(case_id)  # still in publicity: say so plainly, before anything is counted or kept
        now = clock.now()
        day_start = datetime.combine(now.astimezone(SHANGHAI).date(), time(0), tzinfo=SHANGHAI)
        with self.reading() as uow:
            if uow.repo.public_submissions(OBJECTION, day_start, client) >= PER_ADDRESS_PER_DAY:
                raise IllegalEvent(f"同一网络地址每天最多提交 {PER_ADDRESS_PER_DAY} 份异议，请明天再提交，"
                                   "或直接联系备案机关；未作任何更改")
            if uow.repo.public_submissions(OBJECTION, day_start) >= ALL_PER_DAY:
                raise IllegalEvent("今天在线提交的异议已达上限，请明天再提交，或直接联系备案机关；未作任何更改")
        try:
            registered = self._objections.register(case_id, objector=objector, contact=contact, content=content,
                                                   files=files, actor="public")
        except (IllegalEvent, NotFound):
            raise NotFound("该机构不在公示期内（公示可能已结束），不能再提出异议") from None
        with self.uow() as uow:
            uow.repo.add(PublicSubmission(kind=OBJECTION, client=client[:64], at=now, case_id=case_id))
            uow.commit()
        return registered


def _filing_view(uow: UnitOfWork, filing: Filing) -> dict[str, Any]:
    """A filing as the public reads it: the published fields only."""
    today = clock.now().astimezone(SHANGHAI).date()
    status = visible_status(filing, today)
    label = PUBLIC_STATUSES.get(status, status)
    if status == "terminated" and filing.terminated_on:
        label = f"已终止备案（{TERMINATION_KINDS.get(filing.termination_kind or '', '')}，" \
                f"{cn_date(filing.terminated_on)}）"
    profile = profile_for_region(filing.region)
    authority = authority_of(filing.region, filing.authority_level,
                             "province" if profile.receipt_level == "provincial" else "case")
    issuer = issuer_of(uow.repo, authority)
    return {
        "filing_number": filing.filing_number, "status": status, "status_label": label,
        "in_force": status in IN_FORCE, "valid_from": filing.valid_from.isoformat(),
        "valid_until": filing.valid_until.isoformat(),
        "terminated_on": filing.terminated_on.isoformat() if filing.terminated_on else None,
        "filing_authority": issuer.on_behalf_of or issuer.name, "region_name": authority_name(authority),
        **_published(filing.record),
    }


def _publicity_view(uow: UnitOfWork, instance: Instance) -> dict[str, Any]:
    published = next((e for e in reversed(uow.repo.history(instance.case_id))
                      if e.action == "publicity_published"), None)
    detail = published.detail if published is not None else {}
    return {"case": instance.case_id, "authority": authority_name(authority_of(instance.region,
                                                                               instance.authority_level)),
            "first_day": detail.get("first_day"), "last_day": detail.get("last_day"),
            **_published(instance.application)}


def _published(record: Mapping[str, Any]) -> dict[str, Any]:
    """Sichuan 四: the fields a filing is published with, one by one."""
    institution = record.get("institution", {})
    return {
        "institution": {key: str(institution.get(key, "")) for key in ("name", "credit_code", "address", "contact",
                                                                        "phone")},
        "occupations": [{"code": str(o.get("code", "")), "name": str(o.get("name", "")),
                         "levels": level_names(o["levels"]) if o.get("levels") else "",
                         "basis": BASIS_NAMES.get(str(o.get("basis", "")), ""),
                         "standard": str(o.get("standard_name", ""))}
                        for o in record.get("occupations", [])],
    }

