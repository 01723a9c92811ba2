"""What the BPMN can call: expression functions and service-task operators.

Expression functions are pure (the working-day calendar and the clock). Operators carry out the step's effects
(status changes, documents, filing records) through the step's unit of work, so they commit or roll back with the
step. Each operator audits what it did with the article it rests on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from adapters.outside.db import Document, Filing, FilingPeriod
from adapters.outside.settings import load_settings
from tasks.access import authority_name, authority_of
from tasks.calendar import SHANGHAI, cn_date
from tasks.filing import format_filing_number, validity_period
from tasks.regions import RegionProfile, profile_for_region
from workflows.definitions import jurisdiction_in
from workflows.engine import StepContext, register_environment
from workflows.filings import (
    FILING_STATUSES,
    add_occupations,
    apply_change,
    archive,
    changed_record,
    describe,
    document_context,
    lift,
    publish_notice,
    record_refused_change,
    reinstate,
    renew,
    report_to_national_registry,
    revoke_archived,
    set_base_status,
    store_document,
    suspend,
    terminate,
)

if TYPE_CHECKING:
    from adapters.outside.systems import DishonestyResult
    from tasks.prechecks import CreditLookup

# The pre-checks, the occupation catalogue's checks and the credit registry's client are imported by the operator
# that runs them: most steps do not, and they are a tenth of a cold command's imports.

# Statuses a diagram may set, with the Chinese label shown to people.
STATUSES: dict[str, str] = {
    "applied": "已申请（受理审查中）",
    "under_review": "评估审查中",
    "publicity": "公示中",
    "filed": "已备案",
    "not_filed": "未予备案",
    # Cases about a filed institution (the lifecycle procedures).
    "opened": "已立案",
    "monitoring": "有效期监控中",
    "renewal_review": "续期评估中",
    "renewed": "准予续期",
    "renewal_refused": "续期评估不合格",
    "change_review": "变更审核中",
    "change_approved": "变更已通过",
    "change_refused": "变更未通过",
    "investigating": "调查核实中",
    "rectifying": "限期整改中",
    "awaiting_statement": "陈述申辩期",
    "statement_review": "复核中",
    "risk_assessment": "风险评估中",
    "winding_up": "收尾中",
    "terminated": "已终止备案",
    "dismissed": "调查终结（未发现违规）",
    "revoked": "复核撤销终止备案决定",
    "sanction_dropped": "不予处理",
    "sanction_revoked": "复核撤销处理决定",
    "lifted": "已解除暂停",
    "sanctioned": "已处理",
    "transferred": "已移交责令终止程序",
    "closed": "已办结",
    "cancelled": "已终止办理",
    "awaiting_report": "待报送年度总结和计划",
    "reported": "年度报送已收悉",
    "dropped": "不予责令终止备案",
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

    def start_of_day(day: str) -> str:
        """The instant a calendar day begins in China (for timers on calendar days, e.g. the renewal window)."""
        return datetime.combine(date.fromisoformat(day[:10]), time(0), tzinfo=SHANGHAI).isoformat()

    def acceptance_clock_start(received_at: str) -> str:
        """When the acceptance clock starts for a (re)submission received at `received_at`: then, or where the region
        collects applications in batches to examine them after the close (Beijing 五), no earlier than the end of
        the batch the application joined when it first came in."""
        from tasks.prechecks import intake_batch

        profile = _region(ctx)
        received = _as_instant(received_at)
        if not profile.acceptance_from_batch_close:
            return received_at
        batch = intake_batch(profile, ctx.instance.received_at.astimezone(SHANGHAI).date())
        if batch is None:
            return received_at
        closes = datetime.combine(batch.closes_on, time(23, 59, 59), tzinfo=SHANGHAI)
        return max(received, closes).isoformat()

    return {"within_working_days": within_working_days, "publicity_period": publicity_period,
            "today": today, "now": now, "start_of_day": start_of_day,
            "acceptance_clock_start": acceptance_clock_start}


class _ActiveFilings:
    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx

    def active_filing_numbers(self, credit_code: str, occupation_codes: Sequence[str]) -> dict[str, str]:
        return self._ctx.repo.active_filing_numbers(credit_code, occupation_codes)


def _region(ctx: StepContext) -> Any:
    return profile_for_region(ctx.instance.region)


def op_run_prechecks(ctx: StepContext) -> dict[str, Any]:
    from tasks.occupations import Occupation, catalogue_failures
    from tasks.prechecks import credit_failures, material_failures, run_prechecks

    application = ctx.instance.application
    received_on = ctx.instance.received_at.astimezone(SHANGHAI).date()
    profile = _region(ctx)
    failures = run_prechecks(application, profile, received_on, _ActiveFilings(ctx))
    failures.extend(material_failures(application, profile, {m.item for m in ctx.repo.materials(ctx.instance.case_id)}))
    credit = _credit_lookups(application["institution"])
    if credit is not None:
        failures.extend(credit_failures(application, *credit, profile))
    catalogued = ctx.repo.catalogue_size() > 0
    if catalogued:
        known = ctx.repo.catalogue([o["code"] for o in application["occupations"]])
        failures.extend(catalogue_failures(application, profile, {
            code: Occupation(row.code, row.name, row.category, row.standard) for code, row in known.items()}))
    else:
        ctx.audit("precheck_skipped", "未载入国家职业目录，未核对申请职业是否为技能类职业（管理员可用 beian catalogue "
                  "load 载入）", article=profile.article("occupation_scope"))
    if failures:
        for failure in failures:
            ctx.audit("precheck_failed", f"预审未通过：{failure.message}", article=failure.article, code=failure.code)
    else:
        checked = ("考评人员数量、重复备案、申报批次、必备材料" + ("、失信记录" if credit is not None else "")
                   + ("、职业目录" if catalogued else ""))
        ctx.audit("prechecks_passed", f"自动预审通过（{checked}）")
    return {"passed": not failures, "failures": [f.to_dict() for f in failures]}


def _credit_lookups(institution: dict[str, Any]) -> tuple[CreditLookup, CreditLookup | None] | None:
    """Ask the credit registry about the institution and about its legal representative (short lookups with quick
    retries: a step must not hang), each answered or failed on its own. The person is None when the application
    gives no identity number to ask by. None: the registry is not configured."""
    from adapters.outside.systems import check_dishonesty, check_person_dishonesty

    settings = load_settings()
    system = settings.system("credit_registry")
    if not system.configured:
        return None
    timeout = min(settings.http_timeout_seconds, 5.0)
    entity = _credit_lookup(lambda: check_dishonesty(system, institution["credit_code"], timeout=timeout))
    number = institution.get("legal_representative_id_number")
    if not number:
        return entity, None
    return entity, _credit_lookup(lambda: check_person_dishonesty(
        system, number, institution.get("legal_representative", ""), timeout=timeout))


def _credit_lookup(ask: Callable[[], DishonestyResult]) -> CreditLookup:
    from adapters.outside.systems import OutsideError
    from tasks.prechecks import CreditLookup

    try:
        result = ask()
    except OutsideError as exc:
        return CreditLookup(error=exc.message)  # holds no identity number in full (adapters.outside.systems)
    return CreditLookup(records=tuple(result.records) if result.listed else ())


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
    return {"case": ctx.case_id, "institution": application["institution"],
            "issued_on": ctx.now.astimezone(SHANGHAI).date(), "occupations": application["occupations"], **extra}


def op_issue_notice(ctx: StepContext, kind: str, stage: str = "", reasons: Any = "",
                    article: str = "", items: Any = (), jurisdiction: str = "case") -> dict[str, Any]:
    """A notice of `kind`; a supplementation notice lists `items` (keys of the case's checklist) by the names its
    region's text gives them, then the caseworker's words on what is missing or wrong, all at once (一次性告知).
    `jurisdiction` names the authority that decided, as a task's does ("province" for the higher review)."""
    received_on = ctx.instance.received_at.astimezone(SHANGHAI).date()
    reasons = reasons or "（未填写理由）"
    extra: dict[str, Any] = {"articles": [article] if article else [], "received_on": received_on}
    if kind == "supplement_notice":
        profile = _region(ctx)
        keys = [str(key) for key in items] if isinstance(items, list | tuple) else []
        named = [entry.name if (entry := profile.material(key)) else key for key in keys]
        extra["missing"] = [*named, f"说明：{reasons}" if named else reasons]
        extra["acceptance_working_days"] = profile.acceptance_days
        ctx.audit("supplement_requested", "一次性告知补正：" + "、".join([*named, reasons] if named else [reasons]),
                  article=article, items=keys, reasons=str(reasons))
    else:
        extra["reasons"] = reasons
    if kind == "not_filed_notice":
        extra["stage"] = stage or "acceptance"
    instance = ctx.instance
    authority = authority_of(instance.region, instance.authority_level, jurisdiction_in(jurisdiction, instance.region))
    document_id = store_document(ctx, kind, _document_context(ctx, **extra), article, authority=authority)
    # The reasons go on with the result: the status the case ends in says why (not merely 未予备案).
    return {"document_id": document_id, "reasons": str(reasons)}


def op_notify_objector(ctx: StepContext, objection: dict[str, Any], upheld: bool, opinion: str,
                       article: str = "") -> dict[str, Any]:
    """Tell whoever objected during publicity what the review concluded, by the contact they left (an e-mail
    address or a phone number); without one, the history says that they could not be told."""
    contact = str(objection.get("contact", "")).strip()
    objector = str(objection.get("objector", "")).strip()
    institution = ctx.instance.application["institution"]["name"]
    conclusion = "异议成立，该机构不予备案" if upheld else "异议不成立，公示继续至期满"
    if not contact:
        ctx.audit("objector_not_told", f"异议人{objector}未留联系方式，复核结论未能告知", article=article)
        return {"told": False}
    channel = "email" if "@" in contact else "sms"
    authority = _region(ctx).authority_name
    ctx.enqueue("notifications", "messages", f"告知异议人：{objector}", {
        "channels": [channel], "to": {"name": objector, channel: contact},
        "subject": "公示异议复核结果",
        "text": f"【{authority}】{objector}：您对{institution}职业技能等级评价机构备案公示提出的异议，"
                f"经复核：{conclusion}。复核意见：{opinion}"})
    ctx.audit("objector_told", f"已告知异议人{objector}复核结论：{conclusion}", article=article)
    return {"told": True}


def op_escalate(ctx: StepContext, reason: str, article: str = "") -> dict[str, Any]:
    ctx.audit("escalated", f"督办：{reason}", article=article)
    return {}


def op_publish_publicity(ctx: StepContext, deadline: dict[str, Any], article: str = "") -> dict[str, Any]:
    ctx.audit("publicity_published", f"发布公示：{deadline.get('explanation', '')}", article=article,
              first_day=deadline.get("first_day"), last_day=deadline.get("last_day"), due=deadline.get("due"))
    application = ctx.instance.application
    institution = application["institution"]
    publish_notice(ctx, "publicity", f"{institution['name']}职业技能等级评价机构备案公示", {
        "institution": {"name": institution["name"], "credit_code": institution["credit_code"],
                        "address": institution.get("address")},
        "occupations": [{"code": o["code"], "name": o["name"], "levels": o["levels"]}
                        for o in application["occupations"]],
        "authority": _region(ctx).authority_name, "first_day": deadline.get("first_day"),
        "last_day": deadline.get("last_day"), "article": article})
    return {}


def _legal_day(ctx: StepContext) -> date:
    """The day the filing takes effect in law: the day the publicity's timer stood for, or the day of the last
    decision a person took on the case if that came after it (an objection review ending after the publicity);
    never later than today, and today where the case had no publicity."""
    today = ctx.now.astimezone(SHANGHAI).date()
    deadline = ctx.task_data.get("publicity_deadline")
    if not isinstance(deadline, dict) or not deadline.get("due"):
        return today
    due_day = datetime.fromisoformat(str(deadline["due"])).astimezone(SHANGHAI).date()
    decided = [e.at for e in ctx.history(ctx.case_id) if e.action == "task_completed"]
    decided_day = max(decided).astimezone(SHANGHAI).date() if decided else due_day
    return min(today, max(due_day, decided_day))


def _verify_url(filing_number: str) -> str:
    """Where the public checks the receipt (the public pages of the web app, BEIAN_WEB_URL)."""
    return f"{load_settings().web_url}/public/verify/{quote(filing_number, safe='')}"


def _procedure(profile: RegionProfile) -> str:
    """What the receipt says the application went through, in the region's own procedure."""
    steps = ["审核评估", *(["公示"] if profile.publicity else []),
             *(["审议确认"] if profile.administrative_review_before_filing else [])]
    return "、".join(steps[:-1]) + "和" + steps[-1] if len(steps) > 1 else steps[0]


def op_issue_filing(ctx: StepContext, article: str = "") -> dict[str, Any]:
    """Assign the filing number and validity, record the filing with its occupations, issue the receipt, and open
    the case that watches its validity (renewal reminders, automatic termination at expiry).

    The filing takes effect on the day the receipt is issued (DOMAIN.md "Time"): normally the day after the
    publicity's last day, when its timer fires; later if an objection review ended after the publicity. A sweep
    that ran late (the system down) does not move it: see `_legal_day`."""
    instance, profile = ctx.instance, _region(ctx)
    application = instance.application
    valid_from, valid_until = validity_period(_legal_day(ctx), profile.validity_years)
    seq = ctx.repo.next_value(f"filing:{profile.key}:{valid_from.year}")
    number = format_filing_number(profile, valid_from.year, seq, instance.authority_level, instance.region)
    parent = (ctx.repo.filing_by_number(application["parent_filing_number"])
              if application.get("parent_filing_number") else None)
    filing = Filing(filing_number=number, case_id=ctx.case_id, credit_code=instance.credit_code,
                    institution_name=instance.institution_name, institution_type=application["institution"]["type"],
                    region=instance.region, authority_level=instance.authority_level, status="filed",
                    base_status="filed", status_reason=f"准予备案，有效期至 {cn_date(valid_until)}",
                    status_article=article, status_since=ctx.now, valid_from=valid_from, valid_until=valid_until,
                    issued_at=ctx.now, record=application, suspended_by=[],
                    parent_id=parent.id if parent else None)
    ctx.repo.add(filing)
    ctx.uow.session.flush()
    instance.filing_id = filing.id
    add_occupations(ctx, filing, application["occupations"])
    ctx.repo.add(FilingPeriod(filing_id=filing.id, period=1, valid_from=valid_from, valid_until=valid_until,
                              case_id=ctx.case_id, granted_at=ctx.now))
    articles = [a for a in (article, profile.article("validity")) if a]
    extra = {"parent_filing_number": parent.filing_number} if parent else {}
    # The receipt is the act of the authority that files (the case's own, or the province where its text says so:
    # Beijing 六（四）, Jilin 第十三条); 备案地区 is the area that authority governs.
    filing_authority = authority_of(instance.region, instance.authority_level,
                                    "province" if profile.receipt_level == "provincial" else "case")
    from workflows.issuing import issuer_of  # by the step that files, not by every step

    issuer = issuer_of(ctx.repo, filing_authority)
    receipt = _document_context(ctx, filing_number=number, valid_from=valid_from, valid_until=valid_until,
                                region_name=authority_name(filing_authority),
                                filing_authority=issuer.on_behalf_of or issuer.name, articles=articles,
                                procedure=_procedure(profile), verify_url=_verify_url(number), **extra)
    document_id = store_document(ctx, "filing_receipt", receipt, article, authority=filing_authority)
    filing.receipt_document_id = document_id
    ctx.audit("filing_issued", f"准予备案：备案编号 {number}，有效期 {valid_from:%Y-%m-%d} 至 {valid_until:%Y-%m-%d}"
              + (f"（分支机构，上级机构备案编号 {parent.filing_number}）" if parent else ""),
              article=article, filing_number=number, valid_from=valid_from.isoformat(),
              valid_until=valid_until.isoformat(), parent=parent.filing_number if parent else None)
    ctx.audit("filing_status_changed", f"备案 {number} 状态：→ {FILING_STATUSES['filed']}", article=article,
              filing_number=number, previous=None, status="filed", termination_kind=None)
    # Where the region files twice (XPCC), this report asks the national registry to file it too, and the case waits
    # for its answer (bpmn: national_filing_wait).
    report_to_national_registry(ctx, filing, "filed", **({"national_filing_requested": True}
                                                         if profile.national_filing else {}))
    if not profile.publicity:
        # Without a publicity the filing is made known by a published list (Beijing 六（三）: 市人社局…公布企业名单).
        institution = application["institution"]
        title = f"{profile.authority_name}公布开展职业技能等级认定工作的企业：{institution['name']}"
        publish_notice(ctx, "published_list", title, {
            "institution": {"name": institution["name"], "credit_code": institution["credit_code"]},
            "filing_number": number, "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat(),
            "occupations": [{"code": o["code"], "name": o["name"], "levels": o["levels"]}
                            for o in application["occupations"]], "article": profile.article("administrative_review")})
    _later_start(ctx, filing, "filing_validity", "renewal", "")
    if profile.annual_report:  # Beijing 六（四）: the yearly summary and plan, from the first new year on
        _later_start(ctx, filing, "annual_report", "annual_report", "")
    return {"filing_number": number, "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat(),
            "document_id": document_id}


# --- the lifecycle of a filing -----------------------------------------------------------------------------------


def _filing(ctx: StepContext) -> Filing:
    filing_id = ctx.instance.filing_id
    filing = ctx.repo.filing(filing_id, for_update=True) if filing_id is not None else None
    if filing is None:
        raise ValueError(f"案件 {ctx.case_id} 没有关联的备案")
    return filing


def _later_start(ctx: StepContext, filing: Filing, process: str, ground_code: str, source_case: str | None,
                 request: dict[str, Any] | None = None) -> None:
    from workflows.lifecycle import procedure_ground, start_case  # the lifecycle module imports the operators' users

    def start() -> None:
        start_case(ctx.uow, filing, process, procedure_ground(ground_code, filing.region), request or {}, ctx.actor,
                   source_case=source_case)

    ctx.followups.append(start)


def _later_cancel(ctx: StepContext) -> Callable[[str, str, str], None]:
    from workflows.engine import Cancel, run_step

    def schedule(case_id: str, reason: str, article: str) -> None:
        ctx.followups.append(lambda: run_step(ctx.uow, case_id, Cancel(reason, article), ctx.actor))

    return schedule


# --- dual filing (XPCC 第十三条（四）: 兵团、国家双备案) ------------------------------------------------------------


def op_record_national_filing(ctx: StepContext, reply: dict[str, Any], article: str = "") -> dict[str, Any]:
    """Keep the national registry's acceptance on the filing: the national number and the day it answered."""
    filing = _filing(ctx)
    answered = date.fromisoformat(str(reply["acknowledged_on"]))
    filing.national_filing = {"national_number": str(reply["national_number"]),
                              "acknowledged_on": answered.isoformat(), "recorded_at": ctx.now.isoformat()}
    ctx.audit("national_filing_recorded", f"备案 {filing.filing_number} 已通过国家备案：全国备案编号 "
              f"{reply['national_number']}（{cn_date(answered)} 答复），兵团、国家双备案完成", article=article,
              filing_number=filing.filing_number, national_number=reply["national_number"])
    return dict(filing.national_filing)


def op_report_national_filing(ctx: StepContext, note: str, article: str = "") -> dict[str, Any]:
    """Report the filing to the national registry again after it was returned, with what was corrected."""
    filing = _filing(ctx)
    report_to_national_registry(ctx, filing, "filed", resubmission=True, corrections=note)
    ctx.audit("national_filing_resubmitted", f"更正后重新报送国家备案：{note}", article=article,
              filing_number=filing.filing_number)
    return {"resubmitted": True}


def op_filing_status(ctx: StepContext, status: str, reason: str, article: str = "") -> dict[str, Any]:
    set_base_status(ctx, _filing(ctx), status, reason, article)
    return {}


def op_suspend_filing(ctx: StepContext, reason: str, article: str = "") -> dict[str, Any]:
    """Suspend the filing's evaluations for this case. An institution already suspended by another case is not
    served a second notice for the same stop: this case joins the suspension, and it lasts until every case that
    imposed it has lifted it; the history says so."""
    filing = _filing(ctx)
    already = [case for case in filing.suspended_by if case != ctx.case_id]
    suspend(ctx, filing, reason, article)
    if already:
        ctx.audit("suspension_joined", f"备案 {filing.filing_number} 已因案件 {'、'.join(already)} 暂停评价，"
                  "本案一并暂停，不另行出具暂停通知书", article=article, suspended_by=already)
        return {"document_id": None}
    document_id = store_document(ctx, "suspension_notice",
                                 document_context(ctx, filing, reasons=reason, articles=[article]), article)
    return {"document_id": document_id}


def op_lift_suspension(ctx: StepContext, reason: str, article: str = "") -> dict[str, Any]:
    filing = _filing(ctx)
    suspended_on = next((e.at for e in ctx.history(ctx.case_id) if e.action == "filing_status_changed"
                         and (e.detail or {}).get("status") == "suspended"), None)
    lift(ctx, filing, reason, article)
    if still := list(filing.suspended_by):
        # Another case's suspension goes on: telling the institution it may resume would be false.
        ctx.audit("suspension_kept", f"本案解除暂停，但备案 {filing.filing_number} 仍因案件 {'、'.join(still)} "
                  "暂停评价，不出具恢复评价活动通知书", article=article, suspended_by=still)
        return {"document_id": None}
    context = document_context(ctx, filing, reasons=reason, articles=[article],
                               suspended_on=suspended_on.astimezone(SHANGHAI).date() if suspended_on else None)
    return {"document_id": store_document(ctx, "suspension_lifted", context, article)}


def _last_day(deadline: Any) -> Any:
    return deadline.get("last_day") if isinstance(deadline, dict) else deadline


def op_issue_document(ctx: StepContext, kind: str, article: str = "", **fields: Any) -> dict[str, Any]:
    """A lifecycle notice; the diagram passes what it decided, the filing and the case's ground come from here."""
    filing = _filing(ctx)
    data = ctx.task_data
    case_ground = data.get("ground") or {}
    extra: dict[str, Any] = {"articles": [a for a in (article, case_ground.get("article")) if a]}
    if kind == "renewal_reminder":
        today = ctx.now.astimezone(SHANGHAI).date()
        if today > filing.valid_until:
            # Its moment has passed (the system was down, or the sweep ran late): a reminder to renew a filing that
            # has already expired would mislead; the expiry itself is what happens next.
            ctx.audit("renewal_reminder_skipped", f"续期提醒未发出：有效期已于 {cn_date(filing.valid_until)} 届满，"
                      "提醒已过时", article=article, reminder=fields.get("reminder"))
            return {"document_id": None, "skipped": True}
        facts = data["filing"]
        extra.update(window_opens=facts["window_opens"], valid_until=filing.valid_until)
        if fields.get("reminder") == "second":
            extra["days_left"] = (filing.valid_until - today).days + 1
        ctx.audit("renewal_reminded", f"续期提醒（{'第二次' if fields.get('reminder') == 'second' else '第一次'}）："
                  f"有效期至 {filing.valid_until:%Y-%m-%d}", article=article, reminder=fields.get("reminder"))
    elif kind == "intended_decision":
        # Versions deployed before sanctions and refused renewals were told too only told of terminations.
        fields.setdefault("measure", "ordered_termination")
        extra.update(ground_label=case_ground.get("label", ""), statement_days=_region(ctx).statement_days,
                     statement_deadline=_last_day(fields.pop("statement_deadline")))
    elif kind == "warning_notice":
        extra.update(ground_label=case_ground.get("label", ""),
                     rectification_deadline=_last_day(fields.pop("rectification_deadline")))
    elif kind == "interview_notice":
        extra["ground_label"] = case_ground.get("label", "")
    elif kind == "annual_report_request":
        extra["report_deadline"] = _last_day(fields.pop("report_deadline"))
    elif kind == "wrapup_notice":
        extra["wrapup_deadline"] = _last_day(fields.pop("wrapup_deadline"))
    elif kind == "verification_opinion":
        extra["subject"] = case_ground.get("label", "")
    elif kind == "review_decision":
        # Jilin 第三十六条: the review of a statement and defence against a decision served (an ordered termination, or
        # a sanction of this case).
        statement = data.get("review_statement") or {}
        if statement.get("submitted_on"):
            extra["statement_received_on"] = statement["submitted_on"]
        if fields.get("measure", "ordered_termination") == "ordered_termination":
            termination = filing.termination or {}
            notice_id = termination.get("notice_document_id")
            notice = ctx.repo.document(notice_id) if notice_id else None
            extra.update(terminated_on=filing.terminated_on, termination_number=notice.number if notice else None)
        elif decided := _decision_served(ctx):
            extra.update(decided_on=decided.issued_at.astimezone(SHANGHAI).date(), decision_number=decided.number)
    elif kind == "change_decision":
        changes = (data.get("request") or {}).get("changes", [])
        _, applied = changed_record(filing.record, changes)
        record_refused_change(ctx, filing, changes)
        extra["changes"] = [{"label": c["label"], "after": describe(c["after"])} for c in applied]
    document_id = store_document(ctx, kind, document_context(ctx, filing, **extra, **fields), article)
    return {"document_id": document_id}


# The documents that serve a sanction's decision (the one a statement and defence is against, Jilin 第三十六条).
SANCTION_DECISIONS = ("warning_notice", "interview_notice", "correct_now_notice", "certificate_revocation_notice")


def _decision_served(ctx: StepContext) -> Document | None:
    """The last decision this case served on the institution."""
    served = [d for d in ctx.repo.documents(ctx.case_id) if d.kind in SANCTION_DECISIONS]
    return served[-1] if served else None


def op_revoke_sanction(ctx: StepContext, reason: str, article: str = "") -> dict[str, Any]:
    """A sanction revoked on review (Jilin 第三十六条): its records leave the violations archive (kept, marked revoked),
    and certificate data it revoked is restored in the certificate data system (through the outbox)."""
    filing = _filing(ctx)
    revoked = revoke_archived(ctx, reason)
    if ctx.case_id in filing.suspended_by:
        # A warning's suspension for rectification ends with it; the review decision served says so.
        lift(ctx, filing, reason, article)
    for violation in revoked:
        if violation.measure == "certificate_revocation":
            ctx.enqueue("certificate_registry", "restorations", f"恢复证书数据：备案 {filing.filing_number}", {
                "filing_number": filing.filing_number, "credit_code": filing.credit_code,
                "institution_name": filing.institution_name, "detail": violation.summary, "reason": reason},
                case_id=ctx.case_id, filing_id=filing.id)
    ctx.audit("sanction_revoked", f"经复核撤销处理决定：{reason}", article=article,
              measures=[v.measure for v in revoked])
    return {"revoked": [v.measure for v in revoked]}


def op_revoke_certificates(ctx: StepContext, detail: str, article: str = "") -> dict[str, Any]:
    """Revoke certificate data the institution uploaded beyond its filed scope or wrongly (Shanghai 三（四）2): a
    decision served on the institution, kept in its violations archive, and the certificate data system told to
    withdraw the data (through the outbox, after the step commits)."""
    filing = _filing(ctx)
    case_ground = ctx.task_data.get("ground") or {}
    document_id = store_document(ctx, "certificate_revocation_notice", document_context(
        ctx, filing, articles=[a for a in (article, case_ground.get("article")) if a], detail=detail,
        ground_label=case_ground.get("label", "")), article)
    archive(ctx, filing, case_ground, "certificate_revocation",
            f"撤销违规上传的证书数据：{detail}（{case_ground.get('label', '')}）")
    ctx.enqueue("certificate_registry", "revocations", f"撤销证书数据：备案 {filing.filing_number}", {
        "filing_number": filing.filing_number, "credit_code": filing.credit_code,
        "institution_name": filing.institution_name, "detail": detail, "document_id": document_id},
        case_id=ctx.case_id, filing_id=filing.id)
    return {"document_id": document_id}


def op_record_annual_report(ctx: StepContext, report: dict[str, Any], opinion: str = "",
                            article: str = "") -> dict[str, Any]:
    """Keep the institution's yearly summary and plan (Beijing 六（四）) in the case's history, as received."""
    year = int(report["year"])
    ctx.audit("annual_report_recorded", f"收悉{year}年度工作总结及{year + 1}年认定计划"
              + (f"（审核意见：{opinion}）" if opinion else ""), article=article, year=year,
              report_summary=report["summary"], report_plan=report["plan"])
    return {"year": year}


def op_reinstate_filing(ctx: StepContext, reason: str, article: str = "") -> dict[str, Any]:
    """Undo an ordered termination the review revoked (Jilin 第三十六条): the filing (and the branches terminated with
    it) is in force again, announced, and watched through its validity again."""
    reinstated = reinstate(ctx, _filing(ctx), reason, article)
    for filing in reinstated:
        _later_start(ctx, filing, "filing_validity", "renewal", ctx.case_id)
    return {"reinstated": [f.filing_number for f in reinstated]}


def op_record_sanction(ctx: StepContext, measure: str, article: str = "", invalid_results: bool = False) -> dict:
    if measure not in ("interview", "warning"):
        raise ValueError(f"未知的处理措施“{measure}”（可选：interview、warning）")
    filing = _filing(ctx)
    case_ground = ctx.task_data.get("ground") or {}
    label = {"interview": "约谈主要负责人", "warning": "警告并限期整改，整改期间暂停评价"}[measure]
    if measure == "interview" and invalid_results:
        label += "，相应评价成绩（结果）无效"
    archive(ctx, filing, case_ground, measure, f"{label}（{case_ground.get('label', '')}）")
    return {}


def op_apply_change(ctx: StepContext, article: str = "", opinion: str = "") -> dict[str, Any]:
    changes = (ctx.task_data.get("request") or {}).get("changes", [])
    apply_change(ctx, _filing(ctx), changes, article, opinion)
    return {}


def op_renew_filing(ctx: StepContext, article: str = "", opinion: str = "", simplified: bool = False) -> dict:
    filing = _filing(ctx)
    valid_until = renew(ctx, filing, article, opinion, bool(simplified))
    _later_start(ctx, filing, "filing_validity", "renewal", None)
    return {"valid_until": valid_until.isoformat()}


def op_terminate_filing(ctx: StepContext, kind: str, reason: str, article: str = "") -> dict[str, Any]:
    filing = _filing(ctx)
    data = ctx.task_data
    refunds = [*((data.get("request") or {}).get("refunds") or []), *((data.get("wrapup_done") or {}).get("refunds")
                                                                      or [])]
    terminated = terminate(ctx, filing, kind, data.get("ground") or {}, reason, article, _later_cancel(ctx),
                           refunds=refunds)
    return {"terminated": [f.filing_number for f in terminated]}


def op_start_process(ctx: StepContext, process: str, ground: str, reason: str = "", article: str = "") -> dict:
    from workflows.lifecycle import PROCESS_LABELS

    if process not in PROCESS_LABELS:
        raise ValueError(f"流程要启动未知的流程“{process}”")
    filing = _filing(ctx)
    ctx.audit("procedure_started", f"启动{PROCESS_LABELS[process]}" + (f"：{reason}" if reason else ""),
              article=article, process=process, ground=ground)
    _later_start(ctx, filing, process, ground, ctx.case_id, request=ctx.task_data.get("request"))
    return {}


OPERATORS: dict[str, Callable[..., dict[str, Any]]] = {
    "run_prechecks": op_run_prechecks,
    "set_status": op_set_status,
    "issue_notice": op_issue_notice,
    "escalate": op_escalate,
    "notify_objector": op_notify_objector,
    "publish_publicity": op_publish_publicity,
    "issue_filing": op_issue_filing,
    "filing_status": op_filing_status,
    "suspend_filing": op_suspend_filing,
    "lift_suspension": op_lift_suspension,
    "issue_document": op_issue_document,
    "record_sanction": op_record_sanction,
    "revoke_sanction": op_revoke_sanction,
    "apply_change": op_apply_change,
    "renew_filing": op_renew_filing,
    "terminate_filing": op_terminate_filing,
    "start_process": op_start_process,
    "record_national_filing": op_record_national_filing,
    "report_national_filing": op_report_national_filing,
    "revoke_certificates": op_revoke_certificates,
    "record_annual_report": op_record_annual_report,
    "reinstate_filing": op_reinstate_filing,
}


def service_dispatcher(ctx: StepContext) -> Callable[[str, dict[str, Any], dict[str, Any]], Any]:
    def call(operator: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
        handler = OPERATORS.get(operator)
        if handler is None:
            raise ValueError(f"流程调用了未知的服务“{operator}”")
        ctx.task_data = data
        ctx.automatic = True
        try:
            return handler(ctx, **params)
        finally:
            ctx.automatic = False

    return call


register_environment(lambda ctx: (expression_functions(ctx), service_dispatcher(ctx)))
