"""Cases about a filed institution: opening them, and deciding whether an outside event may open one.

Each lifecycle procedure (renewal, change report, sanction, the three terminations, the validity watch) is its own
BPMN process and its own case, linked to the filing. An outside event that opens a procedure is checked here
first: when it is not allowed (a renewal for a terminated filing, a voluntary termination before 30 working days
of public notice) it is refused with the reason and nothing at all is written.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from adapters.outside.db import Filing, Instance
from adapters.outside.repository import UnitOfWork
from tasks.application import ApplicationError, validate_application
from tasks.calendar import SHANGHAI, cn_date
from tasks.errors import IllegalEvent, InvalidInput, NotFound
from tasks.filing import anniversary
from tasks.grounds import PROCEDURE_GROUNDS, UnknownGround, ground, reportable_codes_text
from tasks.regions import profile_for_region
from tasks.text import text_problem, visible_text
from workflows import clock
from workflows.engine import Cancel, StepContext, load_calendar, run_step, start_instance
from workflows.filings import CHANGE_FIELDS, FILING_STATUSES, TERMINATION_KINDS, changed_record, filing_facts
from workflows.messages import STARTERS

# Case numbers: a prefix per process, then the year and a counter (BA2026-00001 is a new filing).
CASE_PREFIXES: dict[str, str] = {
    "filing_application": "BA",
    "filing_validity": "YX",
    "renewal": "XQ",
    "change_report": "BG",
    "sanction": "CF",
    "ordered_termination": "ZL",
    "automatic_termination": "ZD",
    "voluntary_termination": "ZY",
    "annual_report": "NB",
}

PROCESS_LABELS: dict[str, str] = {
    "filing_application": "备案申请",
    "filing_validity": "备案有效期监控",
    "renewal": "续期备案",
    "change_report": "备案事项变更",
    "sanction": "违规查处",
    "ordered_termination": "责令终止备案程序",
    "automatic_termination": "自动终止备案程序",
    "voluntary_termination": "自愿终止备案程序",
    "annual_report": "年度工作总结及认定计划报送",
}

ENTITY_CLOSED_REASONS = {"deregistered": "注销", "bankrupt": "破产", "closed": "关闭"}


def new_case_id(uow: UnitOfWork, process_id: str, now: datetime) -> str:
    prefix = CASE_PREFIXES.get(process_id, "AJ")
    year = now.astimezone(SHANGHAI).year
    return f"{prefix}{year}-{uow.repo.next_value(f'case:{prefix}:{year}' if prefix != 'BA' else f'case:{year}'):05d}"


def procedure_ground(code: str, region: str) -> dict[str, str]:
    """The `ground` of a case opened by the institution or the system rather than a violation."""
    if code in PROCEDURE_GROUNDS:
        profile = profile_for_region(region)
        key = {"renewal": "renewal", "continuation": "red_black_list", "change": "changes",
               "voluntary": "voluntary_termination", "annual_report": "annual_report"}[code]
        return {"code": code, "label": PROCEDURE_GROUNDS[code], "article": profile.article(key),
                "procedure": code}
    return ground(code).to_dict(profile_for_region(region).key)


def start_case(uow: UnitOfWork, filing: Filing, process_id: str, case_ground: dict[str, Any],
               request: dict[str, Any], actor: str, source_case: str | None = None) -> StepContext:
    """Open a case of `process_id` on the filing and run it to its first wait."""
    definition = uow.repo.latest_definition(process_id)
    if definition is None:
        raise NotFound(f"尚未部署流程 {process_id}，请先运行 beian init")
    now = clock.now()
    case_id = new_case_id(uow, process_id, now)
    profile = profile_for_region(filing.region)
    instance = Instance(
        case_id=case_id, process_id=process_id, definition_id=definition.id, state="", status="opened",
        status_reason=case_ground["label"], status_article=case_ground["article"], status_since=now,
        institution_name=filing.institution_name, credit_code=filing.credit_code, region=filing.region,
        authority_level=filing.authority_level, application=filing.record, received_at=now, started_at=now,
        updated_at=now, filing_id=filing.id, request=request)
    uow.repo.add(instance)
    uow.session.flush()
    uow.repo.audit(at=now, case_id=case_id, actor=actor, action="case_opened",
                   summary=f"立案：{definition.name}（备案 {filing.filing_number}：{case_ground['label']}）",
                   article=case_ground["article"], detail={"filing_number": filing.filing_number,
                                                           "ground": case_ground, "source_case": source_case})
    if source_case and source_case in filing.suspended_by:
        filing.suspended_by = [case_id if c == source_case else c for c in filing.suspended_by]
    parent = uow.repo.filing(filing.parent_id) if filing.parent_id else None
    # "Repeated within a year" (Jilin 第二十六条(一)) is for the investigator to judge: show what the year holds.
    today = now.astimezone(SHANGHAI).date()
    year_ago = datetime.combine(anniversary(today, -1), time(0), tzinfo=SHANGHAI)
    prior = [{"measure": v.measure, "ground": v.ground_label, "decided_at": v.decided_at.astimezone(SHANGHAI)
              .date().isoformat(), "case": v.case_id}
             for v in uow.repo.violations(filing.id, since=year_ago, in_force=True)]
    return start_instance(uow, instance, {
        "case": case_id, "filing": filing_facts(filing, parent), "region": profile.to_dict(), "ground": case_ground,
        "request": request, "source_case": source_case, "prior_sanctions": prior,
    }, actor)


def cancel_case(uow: UnitOfWork, case_id: str, reason: str, article: str, actor: str) -> None:
    run_step(uow, case_id, Cancel(reason, article), actor)


def open_cases(uow: UnitOfWork, filing: Filing, process_id: str) -> list[Instance]:
    return [c for c in uow.repo.open_cases_of_filing(filing.id) if c.process_id == process_id]


# --- checks of the events that open a procedure -------------------------------------------------------------------


def _day(value: Any, what: str) -> date:
    if not isinstance(value, str):
        raise InvalidInput(f"{what}应为日期，格式如 2026-10-15")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise InvalidInput(f"{what}“{value}”不是有效日期，格式如 2026-10-15") from None


def _text(payload: dict[str, Any], key: str, what: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not visible_text(value):
        raise InvalidInput(f"请填写{what}（{key}）")
    if problem := text_problem(value, multiline=True):
        raise InvalidInput(f"{what}（{key}）{problem}")
    if len(value) > 4000:
        raise InvalidInput(f"{what}（{key}）不能超过 4000 字")
    return value.strip()


def refuse_if_terminated(filing: Filing, label: str) -> None:
    if filing.termination_kind:
        raise IllegalEvent(f"备案 {filing.filing_number} 已于 {cn_date(filing.terminated_on)} "
                           f"{TERMINATION_KINDS[filing.termination_kind]}，不能办理“{label}”，未作任何更改")


def open_procedure(uow: UnitOfWork, filing: Filing, message: str, payload: dict[str, Any],
                   actor: str) -> dict[str, Any]:
    """Check an event that opens a procedure and open it. Raises (nothing written) when it is not allowed."""
    label = STARTERS[message]
    refuse_if_terminated(filing, label)
    today = clock.now().astimezone(SHANGHAI).date()
    if message == "renewal_application":
        return _renewal(uow, filing, payload, actor, today)
    if message == "change_report":
        return _change(uow, filing, payload, actor)
    if message == "violation_report":
        return _violation(uow, filing, payload, actor)
    if message == "deregistered":
        return _deregistered(uow, filing, payload, actor)
    if message == "catalogue_change":
        return _catalogue(uow, filing, payload, actor)
    if message == "termination_request":
        return _voluntary(uow, filing, payload, actor, today)
    raise AssertionError(message)


def _opened(ctx: StepContext, filing: Filing) -> dict[str, Any]:
    return {"case": ctx.case_id, "process": ctx.instance.process_id, "filing": filing.filing_number,
            "status": filing.status, "case_status": ctx.instance.status}


def _already_open(uow: UnitOfWork, filing: Filing, process_id: str, what: str) -> None:
    existing = open_cases(uow, filing, process_id)
    if existing:
        raise IllegalEvent(f"备案 {filing.filing_number} 已有{what}案件 {existing[0].case_id} 在办理，未作任何更改")


def _renewal(uow: UnitOfWork, filing: Filing, payload: dict[str, Any], actor: str, today: date) -> dict[str, Any]:
    facts = filing_facts(filing)
    profile = profile_for_region(filing.region)
    _already_open(uow, filing, "renewal", "续期")
    if profile.red_list_continuation and filing.rating == "black":
        raise IllegalEvent(f"备案 {filing.filing_number} 已被评为“黑色”并退出评价机构目录，不能续期"
                           f"（{profile.article('red_black_list')}），未作任何更改")
    window_opens = date.fromisoformat(facts["window_opens"])
    if today < window_opens:
        raise IllegalEvent(f"备案 {filing.filing_number} 有效期至 {cn_date(filing.valid_until)}，续期申请应在"
                           f"届满前三个月内提出，即自 {cn_date(window_opens)} 起（{profile.article('renewal')}），"
                           "未作任何更改")
    if today > filing.valid_until:
        raise IllegalEvent(f"备案 {filing.filing_number} 的有效期已于 {cn_date(filing.valid_until)} 届满，"
                           f"届满前未书面提出续期申请，按自动终止备案处理（{profile.article('renewal')}），未作任何更改")
    # The watch goes first: cancelling it wakes its due timers (e.g. the window opened before any sweep ran), which
    # must not come after the renewal has set the filing under review.
    for watch in open_cases(uow, filing, "filing_validity"):
        cancel_case(uow, watch.case_id, f"已于 {cn_date(today)} 提出续期申请，不再因未申请续期而自动终止",
                    profile.article("renewal"), actor)
    ctx = start_case(uow, filing, "renewal", procedure_ground("renewal", filing.region), payload, actor)
    return _opened(ctx, filing)


def _change(uow: UnitOfWork, filing: Filing, payload: dict[str, Any], actor: str) -> dict[str, Any]:
    changes = payload.get("changes")
    if not isinstance(changes, list) or not changes:
        raise InvalidInput("变更报告应列出变更事项 changes，例如 [{\"field\": \"address\", \"after\": \"新地址\"}]")
    problems = []
    for index, change in enumerate(changes, start=1):
        if not isinstance(change, dict) or change.get("field") not in CHANGE_FIELDS or "after" not in change:
            fields = "、".join(f"{k}（{v[2]}）" for k, v in CHANGE_FIELDS.items())
            problems.append(f"第 {index} 项应写明 field（可选：{fields}）和变更后的内容 after")
    if problems:
        raise InvalidInput("变更报告有误：" + "；".join(problems), problems=problems)
    proposed, applied = changed_record(filing.record, changes)
    unchanged = [c["label"] for c in applied if c["before"] == c["after"]]
    if unchanged:
        raise InvalidInput(f"变更后的{'、'.join(unchanged)}与备案信息相同，没有需要报告的变更，未作任何更改")
    try:
        validate_application(proposed)
    except ApplicationError as exc:
        raise InvalidInput("变更后的备案信息不符合要求：" + "；".join(exc.problems), problems=exc.problems) from None
    ctx = start_case(uow, filing, "change_report", procedure_ground("change", filing.region), payload, actor)
    return _opened(ctx, filing)


def _violation(uow: UnitOfWork, filing: Filing, payload: dict[str, Any], actor: str) -> dict[str, Any]:
    code = payload.get("ground")
    if not isinstance(code, str) or not code:
        raise InvalidInput(f"违规线索应写明违规情形代码 ground，可用代码：{reportable_codes_text()}")
    try:
        found = ground(code)
    except UnknownGround as exc:
        raise InvalidInput(str(exc)) from None
    if not found.reportable:
        raise InvalidInput(f"“{found.label}”不是可举报的违规情形，由系统在相应程序中认定；"
                           f"可用代码：{reportable_codes_text()}")
    _text(payload, "facts", "违规事实")
    if found.procedure == "ordered_termination":
        _already_open(uow, filing, "ordered_termination", "责令终止")
    ctx = start_case(uow, filing, found.procedure, found.to_dict(profile_for_region(filing.region).key), payload,
                     actor)
    return _opened(ctx, filing)


def _deregistered(uow: UnitOfWork, filing: Filing, payload: dict[str, Any], actor: str) -> dict[str, Any]:
    reason = payload.get("reason", "deregistered")
    if reason not in ENTITY_CLOSED_REASONS:
        choices = "、".join(f"{k}（{v}）" for k, v in ENTITY_CLOSED_REASONS.items())
        raise InvalidInput(f"主体灭失的情形 reason 应为 {choices}")
    if "date" in payload:
        _day(payload["date"], "注销（破产、关闭）日期 date")
    _already_open(uow, filing, "automatic_termination", "自动终止")
    ctx = start_case(uow, filing, "automatic_termination", procedure_ground("entity_closed", filing.region),
                     {**payload, "reason": reason}, actor)
    return _opened(ctx, filing)


def _catalogue(uow: UnitOfWork, filing: Filing, payload: dict[str, Any], actor: str) -> dict[str, Any]:
    removed = payload.get("removed")
    if not isinstance(removed, list) or not removed or not all(isinstance(c, str) and c.strip() for c in removed):
        raise InvalidInput("职业分类调整应列出不再可开展评价的职业（工种）编码 removed，例如 [\"6-18-01-01\"]")
    filed = [o["code"] for o in filing.record["occupations"]]
    gone = [code for code in filed if code in set(removed)]
    remaining = [code for code in filed if code not in set(removed)]
    if not gone:
        raise IllegalEvent(f"备案 {filing.filing_number} 的职业（工种）{'、'.join(filed)} 均不在本次调整之列，"
                           "未作任何更改")
    adjustment = _open_occupation_adjustments(uow, filing)
    if remaining or adjustment:
        why = (f"仍有职业（工种）{'、'.join(remaining)} 可开展评价" if remaining
               else f"机构已申请调整备案职业（案件 {'、'.join(adjustment)}）")
        profile = profile_for_region(filing.region)
        uow.repo.audit(at=clock.now(), case_id=filing.case_id, actor=actor, action="catalogue_changed",
                       summary=f"国家职业分类调整：{'、'.join(gone)} 不再可开展评价；{why}，不启动自动终止",
                       article=profile.article("automatic_termination"),
                       detail={"removed": gone, "remaining": remaining, "adjustment_cases": adjustment})
        return {"case": None, "filing": filing.filing_number, "status": filing.status, "affected": gone,
                "remaining": remaining}
    _already_open(uow, filing, "automatic_termination", "自动终止")
    ctx = start_case(uow, filing, "automatic_termination", procedure_ground("catalogue", filing.region),
                     payload, actor)
    return _opened(ctx, filing)


def _open_occupation_adjustments(uow: UnitOfWork, filing: Filing) -> list[str]:
    """Open change reports that adjust the filed occupations (Jilin 第三十条(二): 申请调整新增备案职业)."""
    cases = []
    for case in open_cases(uow, filing, "change_report"):
        changes = (case.request or {}).get("changes", [])
        if any(isinstance(c, dict) and c.get("field") == "occupations" for c in changes):
            cases.append(case.case_id)
    return cases


def _voluntary(uow: UnitOfWork, filing: Filing, payload: dict[str, Any], actor: str, today: date) -> dict[str, Any]:
    started = _day(payload.get("notice_started"), "公示开始日期 notice_started")
    _text(payload, "wrapup_plan", "证书数据收尾等工作安排")
    if started > today:
        raise InvalidInput(f"公示开始日期 {cn_date(started)} 晚于今天，请核对")
    profile = profile_for_region(filing.region)
    calendar = load_calendar(uow)
    notice = calendar.publicity_period(started, profile.voluntary_notice_days)
    if today <= notice.last_day:
        # The first working day after the notice: the day the authority can receive the application.
        earliest = notice.last_day + timedelta(days=1)
        while not calendar.is_working_day(earliest):
            earliest += timedelta(days=1)
        provisional = "（按暂定节假日安排计算）" if notice.provisional else ""
        raise IllegalEvent(
            f"机构应在申请终止备案前持续公示 {profile.voluntary_notice_days} 个工作日"
            f"（{profile.article('voluntary_termination')}）：公示自 {cn_date(notice.first_day)} 起，"
            f"至 {cn_date(notice.last_day)} 期满{provisional}，最早可于 {cn_date(earliest)} 提出申请；"
            "本次申请未予接收，未作任何更改")
    _already_open(uow, filing, "voluntary_termination", "自愿终止")
    # An institution under investigation cannot leave by its own choice before the investigation ends.
    for process in ("ordered_termination", "automatic_termination"):
        for case in open_cases(uow, filing, process):
            raise IllegalEvent(f"备案 {filing.filing_number} 正在{PROCESS_LABELS[process]}中（案件 {case.case_id}），"
                               "调查结束前不能申请自愿终止，未作任何更改")
    request = {**payload, "notice_started": started.isoformat(), "notice": notice.to_dict()}
    ctx = start_case(uow, filing, "voluntary_termination", procedure_ground("voluntary", filing.region), request, actor)
    return _opened(ctx, filing)


def status_label(status: str) -> str:
    return FILING_STATUSES.get(status, status)
