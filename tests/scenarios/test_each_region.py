"""Each region's own procedure end to end on the virtual clock (Sichuan provincial and municipal, Beijing, XPCC, Jilin,
Shanghai), and every document each one issued read as an administrative act: the right issuer, a document number
from that issuer's register, a legal basis from the region's own rules only, remedies on every adverse decision, and
dates written as Chinese documents write them."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from tasks.articles import BEIJING, JILIN, SICHUAN, XPCC
from tasks.articles import SHANGHAI as SHANGHAI_RULES
from tasks.credit_code import check_character, organization_code_check_character
from tasks.errors import InvalidInput
from tasks.issuers import KIND_WORDS, default_issuer
from tasks.regions import profile_for_region
from tasks.remedies import is_adverse
from tests.support.scenarios import at, example_application
from workflows import clock
from workflows.service import Beian

RECEIVED = "2026-09-24T10:00:00+08:00"  # a Thursday, before the Mid-Autumn and National Day holidays
ALL_RULES = (SICHUAN, BEIJING, JILIN, XPCC, SHANGHAI_RULES)

# What each reviewer decides when the case passes (any step a region has; the driver does the ones that open).
PASSING: dict[str, dict[str, Any]] = {
    "acceptance": {"decision": "accept"},
    "preliminary_opinion": {"recommendation": "recommend", "opinion": "申报材料齐全，建议确认"},
    "expert_review": {"result": "pass", "opinion": "评价能力符合要求"},
    "site_inspection": {"result": "pass", "opinion": "场地设备符合要求"},
    "higher_review": {"result": "pass"},
    "administrative_review": {"result": "pass", "meeting": "2026年第12次审议会议"},
}


@dataclass(frozen=True)
class Region:
    key: str
    region: str                 # the applicant's division code
    level: str                  # provincial or municipal
    institution_type: str
    steps: tuple[str, ...]      # the human steps, in order, this region's procedure takes
    receipt_issuer: str         # the authority that issues the receipt
    receipt_title: str
    publicity: bool


REGIONS = [
    Region("sichuan-provincial", "510000", "provincial", "employer",
           ("acceptance", "expert_review", "site_inspection"), "510000", "职业技能等级评价机构备案回执", True),
    Region("sichuan-municipal", "510104", "municipal", "employer",
           ("acceptance", "expert_review", "site_inspection", "higher_review"), "510100",
           "职业技能等级评价机构备案回执", True),
    Region("beijing", "110108", "municipal", "employer",
           ("acceptance", "preliminary_opinion", "expert_review", "administrative_review"), "110000",
           "企业职业技能等级认定确认回执", False),
    Region("xpcc", "660000", "provincial", "social",
           ("acceptance", "expert_review", "site_inspection", "administrative_review"), "660000",
           "职业技能等级评价机构备案回执", True),
    Region("jilin", "220102", "municipal", "employer",
           ("acceptance", "expert_review", "site_inspection", "higher_review", "administrative_review"), "220000",
           "职业技能等级评价机构备案通知", True),
    Region("shanghai", "310115", "municipal", "school",
           ("acceptance", "expert_review", "site_inspection", "higher_review"), "310115",
           "职业技能等级评价机构备案回执", True),
]


def _application(region: Region, name: str, seed: str) -> dict[str, Any]:
    data = copy.deepcopy(example_application())
    data["region"], data["authority_level"] = region.region, region.level
    first17 = f"91{region.region}{seed}{organization_code_check_character(seed)}"
    data["institution"].update(credit_code=first17 + check_character(first17), name=name, type=region.institution_type)
    profile = profile_for_region(region.region)
    data["materials"] = [{"kind": item.key, "title": item.name}
                         for item in profile.required_materials(region.institution_type)]
    return data


def _later(now: str, **delta: int) -> str:
    return (datetime.fromisoformat(now) + timedelta(**delta)).isoformat()


def _drive_to_the_end(app: Beian, case: str, start: str) -> tuple[list[str], str]:
    """Complete each task as it opens (a day apart), and sweep when only a timer is left, until the case ends; the
    human steps taken, and when it ended."""
    now, taken = start, []
    for _ in range(30):
        shown = app.records.show(case)
        if not shown["open"]:
            return taken, now
        tasks = app.cases.tasks(case)
        if tasks:
            (task,) = tasks
            now = _later(now, days=1)
            with at(now):
                app.cases.complete(task["id"], dict(PASSING[task["bpmn_id"]]), actor="caseworker")
            taken.append(task["bpmn_id"])
            continue
        if any("国家备案" in w.get("timer", "") for w in shown["waiting_for"]):
            # Dual filing (XPCC): the national registry answers some days after the report.
            now = _later(now, days=3)
            with at(now):
                app.cases.send("national_filing", case, {"result": "accepted", "national_number": "NATL-2026-0001",
                                                         "acknowledged_on": now[:10]}, actor="external")
            continue
        due = min(datetime.fromisoformat(d["due"]) for d in shown["deadlines"])
        now = (due + timedelta(seconds=1)).isoformat()
        with at(now):
            app.operations.sweep()
    raise AssertionError(f"case {case} did not end: {app.records.show(case)['status']}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Beian]:
    app = Beian(f"sqlite:///{tmp_path_factory.mktemp('regions') / 'beian.sqlite3'}")
    with clock.using_clock(clock.VirtualClock(datetime.fromisoformat(RECEIVED))):
        app.init()
    yield app
    app.close()


@pytest.fixture(scope="module")
def issued(service: Beian) -> dict[str, dict[str, Any]]:
    """Per region: a filed case and a case refused at acceptance, with every document each issued."""
    results: dict[str, dict[str, Any]] = {}
    for index, region in enumerate(REGIONS):
        filing, refusal = (_application(region, f"示例评价机构{index}有限公司", f"MA6CB{index:02d}3"),
                           _application(region, f"示例不予受理机构{index}", f"MA6CC{index:02d}3"))
        with at(RECEIVED):
            filed, refused = service.cases.apply(filing)["case"], service.cases.apply(refusal)["case"]
        steps, ended = _drive_to_the_end(service, filed, RECEIVED)
        with at(_later(RECEIVED, days=2)):
            (task,) = service.cases.tasks(refused)
            service.cases.complete(task["id"], {"decision": "reject", "reasons": "申请职业不在本机关受理范围"},
                                   actor="caseworker")
        shown = service.records.show(filed)
        [receipt] = [d for d in shown["documents"] if d["kind"] == "filing_receipt"]
        results[region.key] = {"region": region, "filed": shown, "steps": steps,
                               "receipt_text": _text(service.records.document(receipt["id"])["html"]),
                               "refused": service.records.show(refused), "ended": ended}
    return results


@pytest.mark.parametrize("region", REGIONS, ids=lambda r: r.key)
def test_each_region_takes_its_own_steps_to_a_filing(issued: dict[str, dict[str, Any]], region: Region) -> None:
    result = issued[region.key]
    assert result["steps"] == list(region.steps)
    filed = result["filed"]
    assert filed["status"] == "filed", filed["status_reason"]
    published = [h for h in filed["history"] if h["action"] == "publicity_published"]
    assert bool(published) == region.publicity
    [receipt] = [d for d in filed["documents"] if d["kind"] == "filing_receipt"]
    assert receipt["title"] == region.receipt_title
    assert receipt["issuer"] == region.receipt_issuer
    procedure = re.search(r"备案申请，经(.+?)，符合备案条件", result["receipt_text"])
    assert procedure is not None
    assert ("公示" in procedure.group(1)) == region.publicity
    assert ("审议确认" in procedure.group(1)) == ("administrative_review" in region.steps)


def test_beijing_examines_a_batch_after_it_closes(issued: dict[str, dict[str, Any]]) -> None:
    # Received 24 September 2026: the October batch closes on Saturday 31 October; the 10th working day after it is
    # Friday 13 November, so the acceptance is due at its end (not on 15 October, as counted from receipt).
    opened = [h for h in issued["beijing"]["filed"]["history"] if h["action"] == "task_opened"]
    assert opened[0]["summary"] == "待办：受理审查，法定期限至 2026-11-14 00:00"


def _text(html: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", html))


def _basis(html: str) -> list[str]:
    """What a document cites as its basis: the 依据…的规定 clauses of its body."""
    return re.findall(r"依据(.+?)的规定", _text(re.sub(r'<p class="remedy">.*?</p>', "", html, flags=re.S)))


@pytest.mark.parametrize("region", REGIONS, ids=lambda r: r.key)
def test_every_document_stands_as_an_administrative_act(service: Beian, issued: dict[str, dict[str, Any]],
                                                        region: Region) -> None:
    profile = profile_for_region(region.region)
    own = profile.rules
    foreign = [rules for rules in ALL_RULES if rules != own]
    documents = [*issued[region.key]["filed"]["documents"], *issued[region.key]["refused"]["documents"]]
    kinds = {d["kind"] for d in documents}
    assert {"filing_receipt", "rejection_notice"} <= kinds
    for listed in documents:
        document = service.records.document(listed["id"])
        html, words = document["html"], _text(document["html"])
        issuer = default_issuer(listed["issuer"])
        where = f"{region.key} {listed['title']}"
        # The issuer signs, in its own name (and on whose behalf), and numbers it from its register.
        assert f'<p class="signature-authority">{issuer.name}</p>' in html, where
        if issuer.on_behalf_of:
            assert f"（受{issuer.on_behalf_of}委托）" in words, where
        year = listed["issued_at"][:4]
        assert re.fullmatch(rf"{re.escape(issuer.short_name + KIND_WORDS[listed['kind']])}〔{year}〕[1-9]\d*号",
                            listed["number"]), (where, listed["number"])
        # The basis is the region's own rules, and no other region's text appears anywhere on it.
        basis = _basis(html)
        assert basis and all(clause.startswith(own) or clause.startswith("GB") for clause in basis), (where, basis)
        assert not [rules for rules in foreign if rules in words], where
        assert "参照" not in words, where
        # Remedies on every decision against the institution, and only there.
        assert ("申请行政复议" in words) == is_adverse(listed["kind"]), where
        # Dates as Chinese documents write them: no leading zeros; signed on the day it was issued.
        assert not re.search(r"\d{4}年0\d月|月0\d日", words), where
        issued_on = datetime.fromisoformat(listed["issued_at"]).date()
        assert f'<p class="signature-date">{issued_on.year}年{issued_on.month}月{issued_on.day}日</p>' in html, where
    numbers = [d["number"] for d in documents]
    assert len(numbers) == len(set(numbers)), "a number is never given twice"


def test_remedies_name_the_government_of_the_deciding_authority(service: Beian,
                                                               issued: dict[str, dict[str, Any]]) -> None:
    bodies = {"sichuan-municipal": "成都市人民政府", "beijing": "北京市海淀区人民政府", "xpcc": "新疆生产建设兵团",
              "jilin": "长春市人民政府", "shanghai": "上海市浦东新区人民政府", "sichuan-provincial": "四川省人民政府"}
    for key, body in bodies.items():
        [notice] = issued[key]["refused"]["documents"]
        assert f"六十日内向{body}申请行政复议" in _text(service.records.document(notice["id"])["html"]), key


def _decide_after_views(service: Beian, case: str, when: datetime, views: str = "对认定的事实有异议") -> None:
    """Jilin 第三十五条: the institution, told the intended sanction, answers; the approver then imposes it."""
    with at(when):
        service.cases.send("statement", case, {"text": views}, actor="institution")
    (task,) = service.cases.tasks(case)
    assert task["bpmn_id"] == "decide_sanction"
    with at(when):
        service.cases.complete(task["id"], {"decision": "impose", "reasons": "陈述意见不能否定查明的事实"},
                               actor="approver")


def test_a_shanghai_warning_cites_shanghais_own_ladder_and_one_suspension_is_served_once(
        service: Beian, issued: dict[str, dict[str, Any]]) -> None:
    """Shanghai 三（四）2: a serious violation is warned, given a deadline and suspended; the notice rests on that, not
    on another region's articles (the ground's Jilin number is only an internal 参照 note). A second investigation of
    an institution already suspended joins the suspension without serving a second notice."""
    number = issued["shanghai"]["filed"]["filing_number"]
    now = _later(issued["shanghai"]["ended"], days=30)
    with at(now):
        first = service.cases.send("violation_report", number, {"ground": "false_advertising",
                                                                "facts": "利用广告进行“包过”宣传"}, actor="caseworker")
        second = service.cases.send("violation_report", number, {"ground": "exam_plan_violation",
                                                                 "facts": "私自更改考务计划"}, actor="caseworker")
    for case in (first["case"], second["case"]):
        (task,) = service.cases.tasks(case)
        with at(_later(now, days=1)):
            service.cases.complete(task["id"], {"decision": "warning", "opinion": "经核查属实", "facts": "属实",
                                                "rectification_days": 20}, actor="caseworker")
        _decide_after_views(service, case, _later(now, days=2))
    shown = service.records.show(number)
    documents = [d for d in shown["documents"] if d["case"] in (first["case"], second["case"])]
    warnings = [d for d in documents if d["kind"] == "warning_notice"]
    assert len(warnings) == 2
    for warning in warnings:
        words = _text(service.records.document(warning["id"])["html"])
        assert _basis(service.records.document(warning["id"])["html"]) == [
            f"{SHANGHAI_RULES}三（四）2"], words
        assert "吉林" not in words and "申请行政复议" in words
    assert [d["kind"] for d in documents].count("suspension_notice") == 1
    assert any(h["action"] == "suspension_joined" for h in shown["history"])
    assert shown["status"] == "suspended"


def test_lifting_one_of_two_suspensions_serves_no_resumption_notice(service: Beian,
                                                                   issued: dict[str, dict[str, Any]]) -> None:
    """While another case still suspends the institution, the one that ends tells it nothing it could misread as
    leave to resume; the last one lifted serves the 恢复评价活动通知书."""
    number = issued["xpcc"]["filed"]["filing_number"]
    now = _later(issued["xpcc"]["ended"], days=30)
    cases = []
    for ground in ("false_advertising", "exam_plan_violation"):
        with at(now):
            cases.append(service.cases.send("violation_report", number, {"ground": ground, "facts": "待查"},
                                            actor="caseworker")["case"])
        (task,) = service.cases.tasks(cases[-1])
        with at(_later(now, days=1)):
            service.cases.complete(task["id"], {"decision": "warning", "opinion": "属实", "facts": "属实",
                                                "rectification_days": 10}, actor="caseworker")
        _decide_after_views(service, cases[-1], _later(now, days=2))
    for index, case in enumerate(cases):
        with at(_later(now, days=3 + index)):
            service.cases.send("rectification_done", number, {"summary": "已整改"}, actor="caseworker")
        (task,) = service.cases.tasks(case)
        with at(_later(now, days=4 + index)):
            service.cases.complete(task["id"], {"result": "pass", "opinion": "整改合格"}, actor="caseworker")
        shown = service.records.show(number)
        lifted = [d for d in shown["documents"] if d["kind"] == "suspension_lifted"]
        assert (shown["status"], len(lifted)) == (("suspended", 0) if index == 0 else ("filed", 1))
    assert any(h["action"] == "suspension_kept" for h in service.records.show(number)["history"])


def _to_site_inspection(service: Beian, region: Region, name: str, seed: str) -> dict[str, Any]:
    with at(RECEIVED):
        case = service.cases.apply(_application(region, name, seed))["case"]
    for step in ("acceptance", "expert_review"):
        (task,) = service.cases.tasks(case)
        assert task["bpmn_id"] == step
        with at(_later(RECEIVED, days=1)):
            service.cases.complete(task["id"], dict(PASSING[step]), actor="caseworker")
    (task,) = service.cases.tasks(case)
    assert task["bpmn_id"] == "site_inspection"
    return service.cases.task(task["id"])


def test_xpcc_may_inspect_by_an_online_assessment_and_other_regions_may_not(service: Beian) -> None:
    """XPCC 第十三条（二）: 现场考察或在线评估. The inspection form offers the region's methods only, and the step
    refuses
    another, whoever submits it; a failed online assessment is named as such on the not-filed notice."""
    xpcc, sichuan = REGIONS[3], REGIONS[0]
    task = _to_site_inspection(service, xpcc, "在线评估示例机构", "MA6CD013")
    assert [(c["const"], c["title"]) for c in task["schema"]["properties"]["method"]["oneOf"]] == [
        ("onsite", "现场考察"), ("online", "在线评估")]
    with at(_later(RECEIVED, days=2)):
        service.cases.complete(task["id"], {"method": "online", "result": "fail", "opinion": "在线评估中视频监控不全"},
                               actor="caseworker")
    shown = service.records.show(task["case"])
    [notice] = [d for d in shown["documents"] if d["kind"] == "not_filed_notice"]
    words = _text(service.records.document(notice["id"])["html"])
    assert "在线评估" in words and "在线评估中视频监控不全" in words

    task = _to_site_inspection(service, sichuan, "现场考察示例机构", "MA6CD023")
    assert [c["const"] for c in task["schema"]["properties"]["method"]["oneOf"]] == ["onsite"]
    with at(_later(RECEIVED, days=2)), pytest.raises(InvalidInput, match="考察方式"):
        service.cases.complete(task["id"], {"method": "online", "result": "pass"}, actor="caseworker")
    assert [t["id"] for t in service.cases.tasks(task["case"])] == [task["id"]], "nothing changed"
    with at(_later(RECEIVED, days=2)):
        service.cases.complete(task["id"], {"method": "onsite", "result": "pass"}, actor="caseworker")


def test_xpcc_files_twice_and_waits_for_the_national_registry(service: Beian) -> None:
    """XPCC 第十三条（四）: 兵团、国家双备案. After its own receipt the case waits for the national registry's answer,
    reminds the province when it is late (a reminder, never a decision), takes a return for correction to a person
    at the province, reports again, and records the national number when the registry accepts."""
    xpcc = REGIONS[3]
    with at(RECEIVED):
        case = service.cases.apply(_application(xpcc, "双备案示例机构", "MA6CE013"))["case"]
    now = RECEIVED
    for _ in xpcc.steps:
        (task,) = service.cases.tasks(case)
        now = _later(now, days=1)
        with at(now):
            service.cases.complete(task["id"], dict(PASSING[task["bpmn_id"]]), actor="caseworker")
        if task["bpmn_id"] == "site_inspection":  # the publicity runs before the deliberation
            due = min(datetime.fromisoformat(d["due"]) for d in service.records.show(case)["deadlines"])
            now = (due + timedelta(seconds=1)).isoformat()
            with at(now):
                service.operations.sweep()
    shown = service.records.show(case)
    assert shown["status"] == "filed" and shown["open"], "filed in the Corps, waiting for the national filing"
    [reminder] = [w for w in shown["waiting_for"] if "国家备案" in w.get("timer", "")]
    # Twenty working days without an answer: the province is reminded, and the wait goes on.
    later = (datetime.fromisoformat(reminder["due"]) + timedelta(seconds=1)).isoformat()
    with at(later):
        service.operations.sweep()
    shown = service.records.show(case)
    assert shown["open"] and [h for h in shown["history"] if h["action"] == "escalated"
                              and "仍未收到国家备案结果" in h["summary"]]
    # Returned: a person at the province corrects and reports again.
    with at(_later(later, days=1)):
        service.cases.send("national_filing", shown["filing_number"],
                           {"result": "returned", "acknowledged_on": later[:10], "reasons": "职业编码与目录不一致"},
                           actor="external")
    (task,) = service.cases.tasks(case)
    assert (task["bpmn_id"], task["role"]) == ("national_filing_returned", "intake")
    assert service.cases.task(task["id"])["context"]["national_filing_reply"]["reasons"] == "职业编码与目录不一致"
    with at(_later(later, days=2)), pytest.raises(InvalidInput):
        service.cases.send("national_filing", case, {"result": "accepted", "acknowledged_on": later[:10]},
                           actor="external")  # accepted without its national number: refused, nothing changed
    with at(_later(later, days=2)):
        service.cases.complete(task["id"], {"corrections": "已按国家职业分类大典更正职业编码"}, actor="caseworker")
        service.cases.send("national_filing", case, {"result": "accepted", "national_number": "NATL-2026-0099",
                                                     "acknowledged_on": later[:10]}, actor="external")
    shown = service.records.show(case)
    assert not shown["open"] and shown["status"] == "filed"
    assert shown["filing"]["national_filing"]["national_number"] == "NATL-2026-0099"
    actions = [h["action"] for h in shown["history"]]
    assert "national_filing_resubmitted" in actions and "national_filing_recorded" in actions


def _investigation(service: Beian, number: str, now: str, ground: str = "false_advertising") -> dict[str, Any]:
    with at(now):
        case = service.cases.send("violation_report", number, {"ground": ground, "facts": "待查"},
                                  actor="caseworker")["case"]
    (task,) = service.cases.tasks(case)
    return service.cases.task(task["id"])


def test_shanghai_investigates_on_its_own_ladder(service: Beian, issued: dict[str, dict[str, Any]]) -> None:
    """Shanghai 三（四）2: 即知即改 for what is not yet a violation, then 约谈提醒、责令改正 / 警告、限期整改、暂停评价
    /
    终止备案, in its own words; uploaded certificate data beyond the scope is revoked by a decision with remedies and
    sent to the certificate data system. Sichuan's investigator is offered Jilin's three, and neither the extra
    tiers nor a revocation, whoever submits them."""
    number = issued["shanghai"]["filed"]["filing_number"]
    now = _later(issued["shanghai"]["ended"], days=60)
    before = service.records.show(number)
    task = _investigation(service, number, now)
    ladder = task["schema"]["properties"]["decision"]["oneOf"]
    assert [(c["const"], c["title"][:6]) for c in ladder] == [
        ("no_violation", "未发现违规"), ("correct_now", "违反管理规定"), ("interview", "一般违纪违规"),
        ("warning", "严重违纪违规"), ("terminate", "特别严重违纪")]
    assert [c["const"] for c in task["schema"]["properties"]["certificate_data"]["oneOf"]] == ["none", "revoke"]
    with at(_later(now, days=1)):
        service.cases.complete(task["id"], {"decision": "correct_now", "opinion": "尚未构成违纪违规",
                                            "facts": "考场公告张贴位置不显著"}, actor="caseworker")
    shown = service.records.show(task["case"])
    assert not shown["open"] and shown["case_status"] == "closed"
    [notice] = [d for d in shown["documents"] if d["kind"] == "correct_now_notice"]
    words = _text(service.records.document(notice["id"])["html"])
    assert "即知即改、立行立改" in words and "申请行政复议" not in words and "吉林" not in words
    filing = service.records.show(number)
    assert filing["status"] == before["status"], "no measure on the filing"
    assert filing["filing"]["violations"] == before["filing"]["violations"], "not a violation: nothing archived"

    task = _investigation(service, number, _later(now, days=5))
    with at(_later(now, days=6)):
        service.cases.complete(task["id"], {
            "decision": "interview", "opinion": "属实", "facts": "超范围上传证书数据",
            "certificate_data": "revoke", "certificate_data_detail": "2026年第3批次电工（6-31-01-03）三级证书12份"},
            actor="caseworker")
    told = [d for d in service.records.show(task["case"])["documents"] if d["case"] == task["case"]]
    assert [d["kind"] for d in told] == ["intended_decision"], "told first, nothing imposed yet"
    [intended] = told
    html = service.records.document(intended["id"])["html"]
    words = _text(html)
    assert "拟作出处理决定告知书" in words and "撤销你单位违规上传的证书数据（2026年第3批次电工" in words
    assert "吉林" not in words and "申请行政复议" not in words, "a notice of an intended decision is no decision"
    _decide_after_views(service, task["case"], _later(now, days=7))
    shown = service.records.show(task["case"])
    [revocation] = [d for d in shown["documents"] if d["kind"] == "certificate_revocation_notice"]
    html = service.records.document(revocation["id"])["html"]
    words = _text(html)
    assert "撤销你单位上传的上述违规证书数据" in words and "2026年第3批次电工" in words
    assert "申请行政复议" in words and _basis(html) == [f"{SHANGHAI_RULES}三（四）2"]
    assert {d["kind"] for d in shown["documents"]} >= {"certificate_revocation_notice", "interview_notice"}
    measures = [v["measure"] for v in service.records.show(number)["filing"]["violations"]]
    assert measures.count("certificate_revocation") == 1 and "interview" in measures
    with service.uow() as uow:
        sent = [m.payload["detail"] for m in uow.repo.outbox_of_case(task["case"])
                if m.system == "certificate_registry"]
    assert sent == ["2026年第3批次电工（6-31-01-03）三级证书12份"]

    task = _investigation(service, number, _later(now, days=10))
    with at(_later(now, days=11)):
        service.cases.complete(task["id"], {"decision": "terminate", "opinion": "情节特别严重",
                                            "facts": "有组织舞弊"}, actor="caseworker")
    cases = service.records.show(number)["cases"]
    [ordered] = [c for c in cases if c["process"] == "ordered_termination" and c["open"]]
    shown = service.records.show(ordered["case"])
    assert any("上海市人社局" in (h["article"] or "") and "特别严重" in h["summary"] for h in shown["history"]), \
        "the ground is Shanghai's own tier, not a 参照 of Jilin's"


def test_other_regions_offer_the_three_measures_and_no_revocation(service: Beian,
                                                                   issued: dict[str, dict[str, Any]]) -> None:
    number = issued["sichuan-provincial"]["filed"]["filing_number"]
    task = _investigation(service, number, _later(issued["sichuan-provincial"]["ended"], days=60))
    assert [c["const"] for c in task["schema"]["properties"]["decision"]["oneOf"]] == [
        "no_violation", "interview", "warning"]
    assert [c["const"] for c in task["schema"]["properties"]["certificate_data"]["oneOf"]] == ["none"]
    for refused in ({"decision": "correct_now", "opinion": "x", "facts": "x"},
                    {"decision": "terminate", "opinion": "x", "facts": "x"},
                    {"decision": "interview", "opinion": "x", "facts": "x", "certificate_data": "revoke",
                     "certificate_data_detail": "x"}):
        with pytest.raises(InvalidInput):
            service.cases.complete(task["id"], refused, actor="caseworker")
    assert [t["id"] for t in service.cases.tasks(task["case"])] == [task["id"]], "nothing changed"


def test_beijing_reports_each_year_its_summary_and_plan(service: Beian, issued: dict[str, dict[str, Any]]) -> None:
    """Beijing 六（四）: 企业每年年初…报送上一年工作总结及当年认定计划. From the filing on, a yearly case waits for the
    report (due 20 working days into the new year); a late one is asked for by a notice (a reminder, never a
    sanction); a
    person at the city receives it or asks for more; once received, the next year's case waits for the next
    report."""
    number = issued["beijing"]["filed"]["filing_number"]
    [case] = [c["case"] for c in service.records.show(number)["cases"]
              if c["process"] == "annual_report" and c["open"]]
    assert case.startswith("NB")
    [due] = [d for d in service.records.show(case)["deadlines"] if d["name"] == "等待报送"]
    # 20 working days from 1 January 2027: 4 January … 29 January (the New Year holiday is 1–3 January).
    assert due["last_day"] == "2027-01-29" and "1月1日" in due["explanation"], due
    late = (datetime.fromisoformat(due["due"]) + timedelta(seconds=1)).isoformat()
    with at(late):
        service.operations.sweep()
    shown = service.records.show(case)
    [request] = [d for d in shown["documents"] if d["kind"] == "annual_report_request"]
    words = _text(service.records.document(request["id"])["html"])
    assert "逾期未报送2026年度工作总结及2027年认定计划" in words and "申请行政复议" not in words
    assert _basis(service.records.document(request["id"])["html"]) == [f"{BEIJING}六（四）"]
    report = {"year": 2026, "summary": "2026年组织电工认定2批次", "plan": "2027年计划认定电工三级、四级各1批次"}
    with at(_later(late, days=1)):
        service.cases.send("annual_report", number, report, actor="external")
    (task,) = service.cases.tasks(case)
    assert (task["bpmn_id"], task["role"]) == ("annual_report_review", "supervision")
    assert service.cases.task(task["id"])["context"]["annual_report"] == report
    with at(_later(late, days=2)):
        service.cases.complete(task["id"], {"result": "resubmit", "opinion": "认定计划未列明人数"}, actor="caseworker")
    assert len([d for d in service.records.show(case)["documents"] if d["kind"] == "annual_report_request"]) == 2
    with at(_later(late, days=3)):
        service.cases.send("annual_report", number, {**report, "plan": report["plan"] + "，各40人"}, actor="external")
        (task,) = service.cases.tasks(case)
        service.cases.complete(task["id"], {"result": "accepted"}, actor="caseworker")
    shown = service.records.show(case)
    assert not shown["open"] and shown["case_status"] == "reported"
    assert any(h["action"] == "annual_report_recorded" and "收悉2026年度工作总结及2027年认定计划" in h["summary"]
               for h in shown["history"])
    [following] = [c for c in service.records.show(number)["cases"]
                   if c["process"] == "annual_report" and c["open"]]
    [next_due] = [d for d in service.records.show(following["case"])["deadlines"] if d["name"] == "等待报送"]
    assert next_due["due"].startswith("2028-"), "the next report is due early next year"


def test_only_beijing_asks_for_the_yearly_report(issued: dict[str, dict[str, Any]]) -> None:
    for key, result in issued.items():
        processes = {c["process"] for c in result["filed"]["cases"]}
        assert ("annual_report" in processes) is (key == "beijing"), key
