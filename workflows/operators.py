"""What the BPMN can call: expression functions and service-task operators.

Expression functions are pure (the working-day calendar and the clock). Operators carry out the step's effects
(status changes, documents, filing records) through the step's unit of work, so they commit or roll back with the
step. Each operator audits what it did with the article it rests on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from adapters.db import Document, Filing, FilingOccupation
from adapters.documents import render_document
from tasks.calendar import SHANGHAI
from tasks.filing import format_filing_number, validity_period
from tasks.prechecks import run_prechecks
from tasks.regions import profile_for_region
from workflows.engine import StepContext, register_environment

# Statuses a diagram may set, with the Chinese label shown to people.
STATUSES: dict[str, str] = {
    "applied": "已申请（受理审查中）",
    "under_review": "评估审查中",
    "publicity": "公示中",
    "filed": "已备案",
    "not_filed": "未予备案",
}


def _as_instant(value: str) -> datetime:
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"时间“{value}”缺少时区")
    return instant


def _as_day(value: str) -> date | datetime:
    return date.fromisoformat(value) if len(value) == 10 else _as_instant(value)


def expression_functions(ctx: StepContext) -> dict[str, Callable[..., Any]]:
    def within_working_days(start: str, days: int) -> dict[str, Any]:
        return ctx.calendar.within_working_days(_as_day(start), int(days)).to_dict()

    def publicity_period(start: str, days: int) -> dict[str, Any]:
        return ctx.calendar.publicity_period(_as_day(start), int(days)).to_dict()

    def today() -> str:
        return ctx.now.astimezone(SHANGHAI).date().isoformat()

    def now() -> str:
        return ctx.now.astimezone(SHANGHAI).isoformat()

    return {"within_working_days": within_working_days, "publicity_period": publicity_period,
            "today": today, "now": now}


class _ActiveFilings:
    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx

    def active_filing_numbers(self, credit_code: str, occupation_codes: Sequence[str]) -> dict[str, str]:
        return self._ctx.repo.active_filing_numbers(credit_code, occupation_codes)


def _region(ctx: StepContext) -> Any:
    return profile_for_region(ctx.instance.region)


def op_run_prechecks(ctx: StepContext) -> dict[str, Any]:
    application = ctx.instance.application
    received_on = ctx.instance.received_at.astimezone(SHANGHAI).date()
    failures = run_prechecks(application, _region(ctx), received_on, _ActiveFilings(ctx))
    if failures:
        for failure in failures:
            ctx.audit("precheck_failed", f"预审未通过：{failure.message}", article=failure.article, code=failure.code)
    else:
        ctx.audit("prechecks_passed", "自动预审通过（考评人员数量、重复备案、申报批次）")
    return {"passed": not failures, "failures": [f.to_dict() for f in failures]}


def op_set_status(ctx: StepContext, status: str, reason: str = "", article: str = "") -> dict[str, Any]:
    if status not in STATUSES:
        raise ValueError(f"流程设置了未知的状态“{status}”")
    previous = ctx.instance.status
    ctx.instance.status = status
    ctx.instance.status_reason = reason or STATUSES[status]
    ctx.instance.status_article = article or ""
    ctx.instance.status_since = ctx.now
    ctx.audit("status_changed", f"状态：{STATUSES.get(previous, previous)} → {STATUSES[status]}"
              + (f"（{reason}）" if reason else ""), article=article, previous=previous, status=status)
    return {}


def _document_context(ctx: StepContext, **extra: Any) -> dict[str, Any]:
    application = ctx.instance.application
    profile = _region(ctx)
    return {"case": ctx.case_id, "institution": application["institution"], "authority_name": profile.authority_name,
            "issued_on": ctx.now.astimezone(SHANGHAI).date(), "occupations": application["occupations"], **extra}


def _store_document(ctx: StepContext, kind: str, context: dict[str, Any], article: str) -> int:
    rendered = render_document(kind, context)
    document = Document(case_id=ctx.case_id, kind=kind, title=rendered.title, number=rendered.number,
                        html=rendered.html, issued_at=ctx.now)
    ctx.repo.add(document)
    ctx.uow.session.flush()
    ctx.audit("document_issued", f"出具文书：{rendered.title}" + (f"（{rendered.number}）" if rendered.number else ""),
              article=article, document_id=document.id, kind=kind)
    return document.id


def op_issue_notice(ctx: StepContext, kind: str, stage: str = "", reasons: Any = "",
                    article: str = "") -> dict[str, Any]:
    received_on = ctx.instance.received_at.astimezone(SHANGHAI).date()
    reasons = reasons or "（未填写理由）"
    extra: dict[str, Any] = {"articles": [article] if article else [], "received_on": received_on}
    if kind == "supplement_notice":
        extra["missing"] = reasons
        extra["acceptance_working_days"] = _region(ctx).acceptance_days
    else:
        extra["reasons"] = reasons
    if kind == "not_filed_notice":
        extra["stage"] = stage or "acceptance"
    document_id = _store_document(ctx, kind, _document_context(ctx, **extra), article)
    return {"document_id": document_id}


def op_escalate(ctx: StepContext, reason: str, article: str = "") -> dict[str, Any]:
    ctx.audit("escalated", f"督办：{reason}", article=article)
    return {}


def op_publish_publicity(ctx: StepContext, deadline: dict[str, Any], article: str = "") -> dict[str, Any]:
    ctx.audit("publicity_published", f"发布公示：{deadline.get('explanation', '')}", article=article,
              first_day=deadline.get("first_day"), last_day=deadline.get("last_day"), due=deadline.get("due"))
    return {}


def op_issue_filing(ctx: StepContext, article: str = "") -> dict[str, Any]:
    """Assign the filing number and validity, record the filing with its occupations, issue the receipt.

    The filing takes effect on the day the receipt is issued (DOMAIN.md "Time"): normally the day after the
    publicity's last day, when its timer fires; later if an objection review ended after the publicity."""
    instance, profile = ctx.instance, _region(ctx)
    application = instance.application
    valid_from = ctx.now.astimezone(SHANGHAI).date()
    valid_from, valid_until = validity_period(valid_from, profile.validity_years)
    seq = ctx.repo.next_value(f"filing:{profile.key}:{valid_from.year}")
    number = format_filing_number(profile, valid_from.year, seq, instance.authority_level, instance.region)
    filing = Filing(filing_number=number, case_id=ctx.case_id, credit_code=instance.credit_code,
                    institution_name=instance.institution_name, institution_type=application["institution"]["type"],
                    region=instance.region, authority_level=instance.authority_level, status="active",
                    valid_from=valid_from, valid_until=valid_until, issued_at=ctx.now)
    ctx.repo.add(filing)
    ctx.uow.session.flush()
    for occupation in application["occupations"]:
        ctx.repo.add(FilingOccupation(filing_id=filing.id, occupation_code=occupation["code"],
                                      occupation_name=occupation["name"], levels=occupation["levels"],
                                      basis=occupation["basis"]))
    articles = [a for a in (article, profile.article("validity")) if a]
    receipt = _document_context(ctx, filing_number=number, valid_from=valid_from, valid_until=valid_until,
                                region_name=profile.name, authority_level=instance.authority_level,
                                articles=articles, document_number=number)
    document_id = _store_document(ctx, "filing_receipt", receipt, article)
    filing.receipt_document_id = document_id
    ctx.audit("filing_issued", f"准予备案：备案编号 {number}，有效期 {valid_from:%Y-%m-%d} 至 {valid_until:%Y-%m-%d}",
              article=article, filing_number=number, valid_from=valid_from.isoformat(),
              valid_until=valid_until.isoformat())
    return {"filing_number": number, "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat(),
            "document_id": document_id}


OPERATORS: dict[str, Callable[..., dict[str, Any]]] = {
    "run_prechecks": op_run_prechecks,
    "set_status": op_set_status,
    "issue_notice": op_issue_notice,
    "escalate": op_escalate,
    "publish_publicity": op_publish_publicity,
    "issue_filing": op_issue_filing,
}


def service_dispatcher(ctx: StepContext) -> Callable[[str, dict[str, Any], dict[str, Any]], Any]:
    def call(operator: str, params: dict[str, Any], _data: dict[str, Any]) -> Any:
        handler = OPERATORS.get(operator)
        if handler is None:
            raise ValueError(f"流程调用了未知的服务“{operator}”")
        return handler(ctx, **params)

    return call


register_environment(lambda ctx: (expression_functions(ctx), service_dispatcher(ctx)))
