"""The filing record's state, changed only here: status, suspension, renewal, change, termination.

The lifecycle diagrams call these through the service operators (workflows/operators.py). Each change is made
inside the calling case's step, audited once with the article it rests on, and written with the documents it
produces, so the record, its history and its documents can never disagree.

Visible status (what `beian show` reports): `terminated`, else `suspended` while any case suspends the filing
(`suspended_by`), else the base status the procedures set: `filed`, `renewal_window`, `renewal_review`,
`winding_up`. Keeping the base status apart means a suspension that ends during the renewal window returns the
filing to `renewal_window`, not to `filed`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from adapters.outside.db import Document, Filing, FilingChange, FilingOccupation, FilingPeriod, Violation
from tasks.access import authority_of
from tasks.calendar import SHANGHAI, cn_date
from tasks.filing import anniversary, renewal_second_reminder_on, renewal_window_opens, validity_period
from tasks.regions import RegionProfile, profile_for_region
from tasks.remedies import is_adverse, remedy_text
from workflows.engine import StepContext

FILING_STATUSES: dict[str, str] = {
    "filed": "已备案（有效）",
    "renewal_window": "续期申请期（有效期届满前三个月内）",
    "renewal_review": "续期评估中",
    "suspended": "暂停评价（调查或整改期间）",
    "winding_up": "自愿终止收尾中（已停止报名）",
    "expired": "有效期已届满（未续期）",
    "delisted": "已退出评价机构目录（红黑榜评为“黑色”）",
    "terminated": "已终止备案",
}
BASE_STATUSES = ("filed", "renewal_window", "renewal_review", "winding_up")
TERMINATION_KINDS: dict[str, str] = {"voluntary": "自愿终止", "automatic": "自动终止", "ordered": "责令终止"}

# Particulars a change report may change (Jilin 第十四条), with where they live in the filed record.
CHANGE_FIELDS: dict[str, tuple[str | None, str, str]] = {
    "name": ("institution", "name", "机构名称"),
    "address": ("institution", "address", "地址"),
    "legal_representative": ("institution", "legal_representative", "法定代表人"),
    "contact": ("institution", "contact", "联系人"),
    "phone": ("institution", "phone", "联系电话"),
    "email": ("institution", "email", "电子邮箱"),
    "sites": (None, "sites", "考核场地及设施设备"),
    "assessors": (None, "assessors", "考评人员"),
    "quality_supervisors": (None, "quality_supervisors", "质量督导人员"),
    "experts": (None, "experts", "专家"),
    "occupations": (None, "occupations", "备案职业（工种）"),
}


def profile_of(filing: Filing) -> RegionProfile:
    return profile_for_region(filing.region)


def today(ctx: StepContext) -> date:
    return ctx.now.astimezone(SHANGHAI).date()


# --- status --------------------------------------------------------------------------------------------------


def visible_status(filing: Filing, on: date) -> str:
    """What the filing is on day `on`: terminated; out of the directory (XPCC 第二十二条: rated black); past its
    validity without a renewal under way (the automatic termination that follows suspends it, but what the public
    and the institution must read is that it expired); suspended; or its base status."""
    if filing.termination_kind:
        return "terminated"
    if filing.rating == "black":
        return "delisted"
    if on > filing.valid_until and filing.base_status in ("filed", "renewal_window"):
        return "expired"
    if filing.suspended_by:
        return "suspended"
    return filing.base_status


def _refresh(ctx: StepContext, filing: Filing, reason: str, article: str, case_id: str | None = None) -> None:
    status = visible_status(filing, today(ctx))
    if status == filing.status:
        return
    previous = filing.status
    filing.status, filing.status_reason, filing.status_article, filing.status_since = status, reason, article, ctx.now
    kind = f"（{TERMINATION_KINDS[filing.termination_kind]}）" if filing.termination_kind else ""
    summary = (f"备案 {filing.filing_number} 状态：{FILING_STATUSES.get(previous, previous)} → "
               f"{FILING_STATUSES[status]}{kind}（{reason}）")
    ctx.audit_for(case_id or ctx.case_id, "filing_status_changed", summary, article=article,
              filing_number=filing.filing_number, previous=previous, status=status,
              termination_kind=filing.termination_kind)
    report_to_national_registry(ctx, filing, "status_changed", case_id, reason=reason)


# --- outside systems (delivered through the outbox after the step commits) ------------------------------------

# The public announcement is published on the notice website; every other document is addressed to the
# institution, which is told by SMS and e-mail that it was issued.
PUBLIC_DOCUMENTS = frozenset({"termination_announcement"})


def report_to_national_registry(ctx: StepContext, filing: Filing, event: str, case_id: str | None = None,
                                **extra: Any) -> None:
    """Keep the national evaluation-institution registry in step with the filing record."""
    labels = {"filed": "备案", "status_changed": "状态变更", "renewed": "续期", "changed": "事项变更"}
    payload: dict[str, Any] = {
        "event": event, "filing_number": filing.filing_number, "credit_code": filing.credit_code,
        "institution_name": filing.institution_name, "region": filing.region,
        "authority_level": filing.authority_level, "status": filing.status,
        "valid_from": filing.valid_from.isoformat(), "valid_until": filing.valid_until.isoformat(),
        "termination_kind": filing.termination_kind,
        "terminated_on": filing.terminated_on.isoformat() if filing.terminated_on else None,
        "occupations": [{"code": o["code"], "name": o["name"], "levels": o["levels"]}
                        for o in filing.record.get("occupations", [])],
        **extra,
    }
    ctx.enqueue("national_registry", "filing-events",
                f"报送全国备案信息库：备案 {filing.filing_number} {labels.get(event, event)}", payload,
                case_id=case_id, filing_id=filing.id)


def publish_notice(ctx: StepContext, kind: str, title: str, payload: dict[str, Any], case_id: str | None = None,
                   filing_id: int | None = None) -> None:
    """Publish a publicity or an announcement on the public notice website."""
    ctx.enqueue("notice_website", "notices", f"网站发布：{title}", {"kind": kind, "title": title, **payload},
                case_id=case_id, filing_id=filing_id)


def notify_institution(ctx: StepContext, institution: dict[str, Any], subject: str, text: str,
                       case_id: str | None = None, **extra: Any) -> None:
    """Tell the institution by SMS and e-mail (whichever contacts it gave)."""
    recipients = {"sms": institution.get("phone"), "email": institution.get("email")}
    channels = [channel for channel, address in recipients.items() if address]
    if not channels:
        return
    ctx.enqueue("notifications", "messages", f"通知机构：{subject}",
                {"channels": channels, "to": {"name": institution.get("contact") or institution.get("name"),
                                              "organisation": institution.get("name"), **recipients},
                 "subject": subject, "text": text, **extra}, case_id=case_id)


def reinstate(ctx: StepContext, filing: Filing, reason: str, article: str,
              parent: Filing | None = None) -> list[Filing]:
    """Undo the filing's ordered termination, revoked on review (Jilin 第三十六条), with the branches terminated with it
    (第三十四条); announce it where the termination was announced. Returns every filing reinstated."""
    termination = filing.termination or {}
    if filing.termination_kind != "ordered":
        return []
    filing.termination_kind, filing.terminated_on = None, None
    filing.termination = {**termination, "revoked": {"reason": reason, "case": ctx.case_id,
                                                     "on": today(ctx).isoformat()}}
    _refresh(ctx, filing, f"恢复备案：{reason}", article, filing.case_id if parent else None)
    reinstated = [filing]
    for branch in ctx.repo.branches(filing.id):
        if (branch.termination or {}).get("parent") == filing.filing_number and branch.termination_kind == "ordered":
            reinstated += reinstate(ctx, branch, f"总部（备案编号 {filing.filing_number}）恢复备案，分支机构一并恢复",
                                    article, parent=filing)
    if parent is None:
        revoke_archived(ctx, reason)
        institution = filing.record["institution"]
        publish_notice(ctx, "reinstatement", f"关于撤销{institution['name']}责令终止备案决定的公告", {
            "institution": {"name": institution["name"], "credit_code": filing.credit_code},
            "filing_number": filing.filing_number, "valid_until": filing.valid_until.isoformat(),
            "terminated_on": termination.get("terminated_on"), "reason": reason, "article": article,
            "branches": [f.filing_number for f in reinstated[1:]]}, case_id=ctx.case_id, filing_id=filing.id)
    return reinstated


RATINGS: dict[str, str] = {"red": "红色", "black": "黑色"}


def rate(ctx: StepContext, filing: Filing, rating: str, reasons: str = "") -> int | None:
    """Record the red/black list rating (XPCC 第二十二条): a red filing continues after expiry by a simplified renewal;
    a black one leaves the directory of evaluation institutions at once (its status says so, the national registry is
    told) and is served the decision, with remedies; it cannot renew. The id of the document served, if any."""
    profile = profile_of(filing)
    article = profile.article("red_black_list")
    filing.rating = rating
    ctx.audit("filing_rated", f"备案 {filing.filing_number} 评为“{RATINGS[rating]}”"
              + (f"：{reasons}" if reasons else ""), article=article, rating=rating)
    if rating == "black":
        reason = "红黑榜评为“黑色”，退出评价机构目录"
        _refresh(ctx, filing, reason, article)
        return store_document(ctx, "delisting_notice", document_context(
            ctx, filing, articles=[article], reasons=[reasons or reason]), article)
    _refresh(ctx, filing, "红黑榜评为“红色”", article)
    return None


def set_base_status(ctx: StepContext, filing: Filing, status: str, reason: str, article: str) -> None:
    if status not in BASE_STATUSES:
        raise ValueError(f"流程设置了未知的备案状态“{status}”（可选：{'、'.join(BASE_STATUSES)}）")
    if filing.termination_kind:
        return  # a terminated filing keeps its final status; the case that tried is cancelled right after
    filing.base_status = status
    _refresh(ctx, filing, reason, article)


def suspend(ctx: StepContext, filing: Filing, reason: str, article: str) -> None:
    if ctx.case_id not in filing.suspended_by:
        filing.suspended_by = [*filing.suspended_by, ctx.case_id]
    _refresh(ctx, filing, reason, article)


def lift(ctx: StepContext, filing: Filing, reason: str, article: str) -> None:
    filing.suspended_by = [case for case in filing.suspended_by if case != ctx.case_id]
    _refresh(ctx, filing, reason, article)


def hand_over_suspension(filing: Filing, from_case: str, to_case: str) -> None:
    """The case a procedure escalates to carries on the suspension its predecessor imposed."""
    if from_case in filing.suspended_by:
        filing.suspended_by = [to_case if case == from_case else case for case in filing.suspended_by]


# --- documents -----------------------------------------------------------------------------------------------


def document_context(ctx: StepContext, filing: Filing, case_id: str | None = None, **extra: Any) -> dict[str, Any]:
    record = filing.record
    return {"case": case_id or ctx.case_id, "institution": record["institution"], "issued_on": today(ctx),
            "occupations": record["occupations"], "filing_number": filing.filing_number,
            "valid_from": filing.valid_from, "valid_until": filing.valid_until, **extra}


def store_document(ctx: StepContext, kind: str, context: dict[str, Any], article: str,
                   case_id: str | None = None, *, authority: str | None = None,
                   corrects: Document | None = None) -> int:
    """Issue a document as the act of `authority` (the case's own unless given): its issuer signs it, its number
    comes from the issuer's register, it cites only its region's own rules (what was borrowed goes to the history
    as a 参照 note), and a decision against the institution says how to challenge it."""
    # Imported by the steps that issue a document, not by every step (a cold command's start: tests/unit/
    # test_cold_imports.py).
    from adapters.outside.documents import render_document
    from workflows.issuing import issuer_of, seal_url, served_basis

    instance = ctx.instance
    authority = authority or authority_of(instance.region, instance.authority_level)
    profile = profile_for_region(authority)
    issuer = issuer_of(ctx.repo, authority)
    issued_on: date = context["issued_on"]
    basis = served_basis(profile, list(context.get("articles") or []) + ([article] if article else []))
    seq = ctx.repo.next_value(issuer.register(kind, issued_on.year))
    context = {**context, "authority_name": issuer.name, "on_behalf_of": issuer.on_behalf_of,
               "seal": seal_url(issuer), "document_number": issuer.number(kind, issued_on.year, seq),
               "articles": basis.cited}
    if kind in profile.document_titles:
        context["title"] = profile.document_titles[kind]
    adverse = is_adverse(kind, context.get("termination_kind"), context.get("decision"),
                         context.get("invalid_results") is True)
    if adverse and not context.get("remedy"):
        # A decision against the institution says how to challenge it, before the authority that made it.
        context["remedy"] = remedy_text(authority)
    rendered = render_document(kind, context)
    case = case_id or ctx.case_id
    document = Document(case_id=case, kind=kind, title=rendered.title, number=rendered.number,
                        html=rendered.html, issued_at=ctx.now, issuer=authority,
                        corrects_id=corrects.id if corrects else None)
    ctx.repo.add(document)
    ctx.uow.session.flush()
    note = f"（内部参照，未写入文书：{'；'.join(basis.references)}）" if basis.references else ""
    ctx.audit_for(case, "document_issued", f"出具文书：{rendered.title}（{rendered.number}）{note}",
              article=article if article in basis.cited else "", document_id=document.id, kind=kind,
              number=rendered.number, issuer=authority, references=basis.references)
    if kind in PUBLIC_DOCUMENTS:
        publish_notice(ctx, "announcement", rendered.title, {"number": rendered.number, "html": rendered.html,
                                                             "document_id": document.id}, case_id=case)
    else:
        institution = context.get("institution") or instance.application.get("institution") or {}
        notify_institution(ctx, institution, rendered.title,
                           f"【{issuer.name}】{institution.get('name', '')}：本机关已出具《{rendered.title}》"
                           f"（{rendered.number}），请登录备案系统查看。", case_id=case, document_id=document.id)
    return document.id


# --- the filing's data as a lifecycle case sees it -------------------------------------------------------------


def filing_facts(filing: Filing, parent: Filing | None = None) -> dict[str, Any]:
    """The `filing` variable of a lifecycle case: what its diagram may decide on (JSON-safe)."""
    profile = profile_of(filing)
    return {
        "number": filing.filing_number,
        "valid_from": filing.valid_from.isoformat(),
        "valid_until": filing.valid_until.isoformat(),
        "window_opens": renewal_window_opens(filing.valid_until).isoformat(),
        "second_reminder_on": renewal_second_reminder_on(
            filing.valid_until, profile.renewal_second_reminder_days_before_expiry).isoformat(),
        "expires_on": (filing.valid_until + timedelta(days=1)).isoformat(),
        "region": filing.region,
        "authority_level": filing.authority_level,
        "institution": filing.record["institution"],
        "rating": filing.rating,
        "simplified_continuation": bool(profile.red_list_continuation and filing.rating == "red"),
        "parent_number": parent.filing_number if parent else None,
        "status": filing.status,
    }


# --- renewal ---------------------------------------------------------------------------------------------------


def renew(ctx: StepContext, filing: Filing, article: str, opinion: str = "", simplified: bool = False) -> date:
    """A new period continuing the old one: it starts the day after the last valid day, whatever the date of
    the decision, so there is neither a gap nor an overlap."""
    previous_until = filing.valid_until
    valid_from, valid_until = validity_period(previous_until + timedelta(days=1), profile_of(filing).validity_years)
    period = len(ctx.repo.filing_periods(filing.id)) + 1
    ctx.repo.add(FilingPeriod(filing_id=filing.id, period=period, valid_from=valid_from, valid_until=valid_until,
                              case_id=ctx.case_id, granted_at=ctx.now))
    filing.valid_from, filing.valid_until = valid_from, valid_until
    context = document_context(ctx, filing, previous_valid_until=previous_until, articles=[article],
                               simplified=simplified, opinion=opinion)
    store_document(ctx, "renewal_notice", context, article)
    ctx.audit("filing_renewed", f"准予续期：备案 {filing.filing_number} 第 {period} 个有效期 "
              f"{valid_from:%Y-%m-%d} 至 {valid_until:%Y-%m-%d}", article=article, period=period,
              valid_from=valid_from.isoformat(), valid_until=valid_until.isoformat())
    set_base_status(ctx, filing, "filed", f"准予续期，有效期至 {cn_date(valid_until)}", article)
    report_to_national_registry(ctx, filing, "renewed", period=period)
    return valid_until


# --- changes ---------------------------------------------------------------------------------------------------


def changed_record(record: dict[str, Any], changes: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict]]:
    """The record with `changes` applied, and the changes with their before/after for the history."""
    updated = copy.deepcopy(record)
    applied: list[dict[str, Any]] = []
    for change in changes:
        section, key, label = CHANGE_FIELDS[change["field"]]
        target = updated[section] if section else updated
        applied.append({"field": change["field"], "label": label, "before": target.get(key),
                        "after": change["after"]})
        target[key] = copy.deepcopy(change["after"])
    return updated, applied


def apply_change(ctx: StepContext, filing: Filing, changes: list[dict[str, Any]], article: str,
                 opinion: str = "") -> None:
    updated, applied = changed_record(filing.record, changes)
    filing.record = updated
    filing.institution_name = updated["institution"]["name"]
    if any(change["field"] == "occupations" for change in changes):
        for row in ctx.repo.filing_occupations(filing.id):
            ctx.uow.session.delete(row)
        add_occupations(ctx, filing, updated["occupations"])
    ctx.repo.add(FilingChange(filing_id=filing.id, case_id=ctx.case_id, changes=applied, approved=True,
                              decided_at=ctx.now))
    context = document_context(ctx, filing, approved=True, articles=[article], reasons=opinion or "",
                               changes=[{"label": c["label"], "after": describe(c["after"])} for c in applied])
    store_document(ctx, "change_decision", context, article)
    ctx.audit("filing_changed", "备案事项变更：" + "、".join(c["label"] for c in applied), article=article,
              changes=applied)
    report_to_national_registry(ctx, filing, "changed", changes=[c["field"] for c in applied])


def record_refused_change(ctx: StepContext, filing: Filing, changes: list[dict[str, Any]]) -> None:
    _, applied = changed_record(filing.record, changes)
    ctx.repo.add(FilingChange(filing_id=filing.id, case_id=ctx.case_id, changes=applied, approved=False,
                              decided_at=ctx.now))


def describe(value: Any) -> str:
    """A changed particular as one line of a notice."""
    if isinstance(value, list):
        names = [item.get("name") or item.get("address") or item.get("code") if isinstance(item, dict) else str(item)
                 for item in value]
        return f"共 {len(value)} 项：" + "、".join(str(name) for name in names if name)
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return str(value)


def add_occupations(ctx: StepContext, filing: Filing, occupations: list[dict[str, Any]]) -> None:
    for occupation in occupations:
        ctx.repo.add(FilingOccupation(filing_id=filing.id, occupation_code=occupation["code"],
                                      occupation_name=occupation["name"], levels=occupation["levels"],
                                      basis=occupation["basis"]))


# --- sanctions and the violations archive --------------------------------------------------------------------------


def revoke_archived(ctx: StepContext, reason: str) -> list[Violation]:
    """Take what this case put in the violations archive out of force, revoked on review (Jilin 第三十六条): the
    rows stay as the record of what was decided and are marked with the day, the case and the reason."""
    rows = [v for v in ctx.repo.case_violations(ctx.case_id) if v.revoked is None]
    for violation in rows:
        violation.revoked = {"on": today(ctx).isoformat(), "case": ctx.case_id, "reason": reason}
    if rows:
        ctx.audit_for(ctx.case_id, "violation_revoked", "违纪违规行为处理档案中的记录经复核撤销："
                  + "；".join(v.summary for v in rows), measures=[v.measure for v in rows])
    return rows


def archive(ctx: StepContext, filing: Filing, ground: dict[str, Any], measure: str, summary: str,
            case_id: str | None = None) -> None:
    ctx.repo.add(Violation(filing_id=filing.id, case_id=case_id or ctx.case_id, ground=ground["code"],
                           ground_label=ground["label"], article=ground["article"], measure=measure,
                           summary=summary, decided_at=ctx.now))
    ctx.audit_for(case_id or ctx.case_id, "violation_archived", f"记入违纪违规行为处理档案：{summary}",
              article=profile_of(filing).article("violations_archive"), ground=ground["code"], measure=measure)


# --- termination -----------------------------------------------------------------------------------------------


def obligations(filing: Filing, terminated_on: date, refunds: list[dict[str, Any]] | None = None) -> list[str]:
    """What the institution remains responsible for after termination (Jilin 第三十八、三十九条; records kept
    ≥3 years on paper and ≥5 years electronically: XPCC 第十八条, Jilin 第二十三条)."""
    paper, electronic = anniversary(terminated_on, 3), anniversary(terminated_on, 5)
    items = [
        "对终止备案前已实施的评价行为负责；所颁发的合规职业技能等级证书继续有效",
        "继续承担已发证书数据的复核、更正、撤销工作",
        f"妥善保管评价资料：纸质材料至少保存至 {cn_date(paper)}，电子材料至少保存至 {cn_date(electronic)}",
        "对已收取、未能提供评价服务的费用应退尽退，并做好考生解释工作",
    ]
    for refund in refunds or []:
        candidates, amount = refund.get("candidates"), refund.get("amount")
        note = refund.get("note") or ""
        items.append(f"退费：{candidates} 名考生，金额 {amount} 元" + (f"（{note}）" if note else ""))
    return items


def terminate(ctx: StepContext, filing: Filing, kind: str, ground: dict[str, Any], reason: str, article: str,
              cancel_case: Callable[[str, str, str], None], case_id: str | None = None,
              refunds: list[dict[str, Any]] | None = None, parent: Filing | None = None) -> list[Filing]:
    """Terminate the filing; its branches with it (Jilin 第三十四条). Returns every filing terminated.

    `cancel_case(case_id, reason, article)` schedules the cancellation of another open case of the filing (run
    after this step: the case doing the termination is still running)."""
    if kind not in TERMINATION_KINDS:
        raise ValueError(f"未知的终止类型“{kind}”（可选：{'、'.join(TERMINATION_KINDS)}）")
    if filing.termination_kind:
        return []
    case = case_id or ctx.case_id
    terminated_on = today(ctx)
    duties = obligations(filing, terminated_on, refunds)
    profile = profile_of(filing)
    filing.termination_kind, filing.terminated_on, filing.suspended_by = kind, terminated_on, []
    label = TERMINATION_KINDS[kind]
    _refresh(ctx, filing, f"{label}：{reason}", article, case)
    articles = [a for a in (article, profile.article("after_termination")) if a]
    extra: dict[str, Any] = {}
    if parent is not None:
        extra["parent_filing_number"] = parent.filing_number
    notice = store_document(ctx, "termination_notice", document_context(
        ctx, filing, case, termination_kind=kind, reasons=reason, terminated_on=terminated_on, articles=articles,
        obligations=duties, ground_label=ground.get("label", ""), **extra), article, case,
        authority=authority_of(filing.region, filing.authority_level))
    if kind == "ordered" or parent is not None:
        archive(ctx, filing, ground, "ordered_termination" if kind == "ordered" else f"{kind}_termination",
                f"{label}备案（{ground.get('label', reason)}）", case)
    branches = [b for b in ctx.repo.branches(filing.id) if not b.termination_kind]
    terminated = [filing]
    branch_article = profile.article("branch_termination")
    for branch in branches:
        why = f"总部（备案编号 {filing.filing_number}）终止备案，分支机构一并终止"
        terminated += terminate(ctx, branch, kind, ground, why, branch_article, cancel_case, case_id=branch.case_id,
                                parent=filing)
    announcement = store_document(ctx, "termination_announcement", document_context(
        ctx, filing, case, termination_kind=kind, terminated_on=terminated_on, reasons=reason, articles=articles,
        branches=[{"name": b.institution_name, "filing_number": b.filing_number} for b in branches]), article, case,
        authority=authority_of(filing.region, filing.authority_level))
    filing.termination = {"kind": kind, "ground": ground, "reason": reason, "case": case,
                          "terminated_on": terminated_on.isoformat(), "notice_document_id": notice,
                          "announcement_document_id": announcement, "obligations": duties,
                          "parent": parent.filing_number if parent else None}
    ctx.audit_for(case, "obligations_recorded", "终止备案后仍须履行的责任：" + "；".join(duties),
              article=profile.article("after_termination"), obligations=duties)
    for other in ctx.repo.open_cases_of_filing(filing.id):
        if other.case_id != ctx.case_id:
            cancel_case(other.case_id, f"备案 {filing.filing_number} 已终止（{label}）", article)
    return terminated
