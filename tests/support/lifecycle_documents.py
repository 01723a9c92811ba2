"""A complete context for each document of a filing's lifecycle (reminders, decisions, notices)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

JILIN = "《吉林省职业技能等级评价机构管理办法（试行）》（征求意见稿）"
SHANGHAI = "上海市人社局《关于加强职业技能等级认定规范管理的通知》（2024年4月26日）"


RENEWAL = f"参照{JILIN} 第二十八条、第三十条（一）"


STATEMENT = f"参照{JILIN} 第三十五条、第三十六条"


ORDERED = f"参照{JILIN} 第二十七条、第三十一条、第三十三条"


AFTER = f"参照{JILIN} 第三十八条、第三十九条"


NUMBER = "川评备〔2026〕0001号"


NAME = "四川蜀能电力检修有限公司"


def institution() -> dict[str, Any]:
    return {"name": NAME, "credit_code": "91510100MA61R2XK7Q", "type": "employer"}


def occupations() -> list[dict[str, Any]]:
    return [{"code": "6-28-01-14", "name": "电工", "levels": [3, 5, 4], "basis": "national_standard"}]


def common(**extra: Any) -> dict[str, Any]:
    return {
        "case": "BA-2029-000456",
        "institution": institution(),
        "authority_name": "四川省人力资源和社会保障厅",
        "issued_on": date(2029, 8, 3),
        "document_number": "川技鉴〔2029〕3号",
        "filing_number": NUMBER,
        **extra,
    }


CONTEXTS: dict[str, dict[str, Any]] = {
    "renewal_reminder": common(
        articles=[RENEWAL], valid_until="2029-11-02", window_opens=date(2029, 8, 3), reminder="first"
    ),
    "renewal_notice": common(
        articles=[RENEWAL],
        previous_valid_until="2029-11-02",
        valid_from="2029-11-03",
        valid_until="2032-11-02",
        occupations=occupations(),
    ),
    "renewal_refusal": common(articles=[RENEWAL, ORDERED], reasons=["备案期内未按规定上报考务计划", "考评人员不足3人"]),
    "change_decision": common(
        articles=[f"参照{JILIN} 第十四条"],
        approved=True,
        changes=[{"label": "考试考核场地", "after": "成都市武侯区科华北路65号"}],
    ),
    "suspension_notice": common(
        articles=[f"参照{JILIN} 第三十三条（一）"], reasons="涉嫌超出备案范围开展评价工作，正在调查核实"
    ),
    "suspension_lifted": common(
        articles=[f"参照{JILIN} 第三十三条"], reasons="经调查核实，未发现超出备案范围开展评价的情形"
    ),
    "verification_opinion": common(
        articles=[ORDERED],
        subject="超出备案范围开展评价工作",
        opinion="经调阅2029年第二季度考务计划及考生档案，该机构对未备案的“钳工”组织了两批次评价。",
        conclusion="超出备案范围开展评价工作的情形属实。",
    ),
    "intended_decision": common(
        articles=[ORDERED, STATEMENT],
        measure="ordered_termination",
        ground_label="超出备案范围开展评价工作",
        facts=["2029年5月至6月，对未备案职业“钳工”组织评价两批次，共86人"],
        reasons="上述行为属于超出备案范围开展评价工作",
        statement_deadline="2029-08-10",
        statement_days=5,
    ),
    "review_decision": common(
        articles=[STATEMENT],
        decision="uphold",
        opinion="陈述和申辩意见所称“系培训而非评价”与考生档案记载不符，不予采纳。",
    ),
    "termination_notice": common(
        articles=[ORDERED, AFTER],
        termination_kind="ordered",
        reasons=["超出备案范围开展评价工作"],
        terminated_on="2029-08-20",
        valid_from="2026-11-03",
        valid_until="2029-11-02",
        obligations=["已发证书数据的复核、更正、撤销", "认定资料档案保管"],
    ),
    "termination_announcement": common(
        articles=[ORDERED],
        termination_kind="ordered",
        terminated_on="2029-08-20",
        occupations=occupations(),
        reasons="超出备案范围开展评价工作",
    ),
    "warning_notice": common(
        articles=[f"参照{JILIN} 第二十六条、第二十七条（七）"],
        facts="利用广告进行评价“包过”虚假宣传",
        ground_label="利用广告或其他方式进行评价“包过”“保过”等虚假宣传",
        rectification_deadline="2029-09-14",
    ),
    "interview_notice": common(
        articles=[f"参照{JILIN} 第二十五条"],
        facts=["2029年7月12日电工四级考试未安排质量督导"],
        ground_label="对评价活动未安排质量督导或质量督导流于形式",
        invalid_results=False,
    ),
    "correct_now_notice": common(
        articles=[f"{SHANGHAI} 三（四）2"],
        facts=["2029年7月12日考场公告张贴位置不显著"],
    ),
    "certificate_revocation_notice": common(
        articles=[f"{SHANGHAI} 三（四）2"],
        ground_label="超出备案范围开展评价工作",
        detail=["2029年第3批次电工（6-31-01-03）三级证书12份：电工未在备案范围内"],
    ),
    "delisting_notice": common(
        articles=["《兵团职业技能等级认定工作规程》第二十二条"],
        reasons=["2029年度红黑榜评估：现场督导发现考务管理混乱，社会反响差"],
    ),
    "annual_report_request": common(
        articles=["京人社职鉴发〔2020〕3号 六（四）"],
        reasons=["逾期未报送2026年度工作总结及2027年认定计划"],
        report_year=2026,
        report_deadline="2027-02-26",
    ),
    "wrapup_notice": common(
        articles=[f"参照{JILIN} 第三十二条、第三十九条"],
        wrapup_deadline="2029-09-30",
        opinion="尚有2批次共40名考生的证书数据待上传，另有12名已缴费考生未参加评价。",
    ),
}


def context(kind: str) -> dict[str, Any]:
    return copy.deepcopy(CONTEXTS[kind])
