"""Why a case about a filed institution exists: the coded grounds of sanctions and terminations.

A `violation_report` names one of these codes (`ground`); the code decides which procedure it opens:

* the grounds of Jilin 第二十七条 (ten items) open an **ordered termination** (责令终止备案);
* the grounds of Jilin 第二十五条 (light: interview and invalid results) and 第二十六条 (serious: warning,
  rectification, suspension) open the **sanction** procedure, whose investigator picks the measure;
* the three triggers of Jilin 第三十条 open an **automatic termination** (自动终止备案); they come from the
  system (no renewal) or from their own events (`catalogue_change`, `deregistered`), never from a report.

Two codes are 第二十七条（七） reached from inside the system: a renewal assessed as failing and a rectification
not achieved in time. Articles are cited from the Jilin text, marked 参照 for other regions (tasks/articles.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from tasks.articles import JILIN, REFERENCE_PREFIX, SHANGHAI

Procedure = Literal["ordered_termination", "sanction", "automatic_termination"]


@dataclass(frozen=True)
class Ground:
    code: str
    label: str
    article: str  # the Jilin article and item, e.g. 第二十七条（二）
    procedure: Procedure
    reportable: bool = True  # may be named in a violation_report

    # Where a region's own text is the ground's basis (region key -> its citation); elsewhere Jilin's, as 参照.
    own_articles: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    def citation(self, region_key: str) -> str:
        if region_key in self.own_articles:
            return self.own_articles[region_key]
        cited = f"{JILIN} {self.article}"
        return cited if region_key == "jilin" else REFERENCE_PREFIX + cited

    def to_dict(self, region_key: str) -> dict[str, str]:
        return {"code": self.code, "label": self.label, "article": self.citation(region_key),
                "procedure": self.procedure}


_O, _S, _A = "ordered_termination", "sanction", "automatic_termination"

GROUNDS: Final[tuple[Ground, ...]] = (
    # 第二十七条: ordered termination.
    Ground("false_materials",
           "备案申请中提供虚假承诺、虚假资料，或出现违法、严重违规失信行为，法定代表人及主要负责人被列为失信被执行人",
           "第二十七条（一）", _O),
    Ground("beyond_scope", "超出备案范围开展评价工作", "第二十七条（二）", _O),
    Ground("forged_materials", "为参评人员伪造申报资料或证件、纵容违规报名或有组织舞弊", "第二十七条（三）", _O),
    Ground("fabricated_records", "编造考评认定档案、严重降低考评难度、滥发证书或证书数据造假", "第二十七条（四）", _O),
    Ground("subsidy_fraud", "套取、骗取、虚报冒领评价补贴资金", "第二十七条（五）", _O),
    Ground("qualification_renting", "出租、售卖、转包、分包评价资质，或使用其他机构评价资质", "第二十七条（六）",
           _O),
    Ground("review_failed", "年审或专项评估不合格且限期整改达不到要求，或整改后再次违反", "第二十七条（七）", _O),
    Ground("inactive_or_mismanaged", "无正当理由一年以上未开展评价，或因重大变更、管理不善严重影响评价工作",
           "第二十七条（八）", _O),
    Ground("safety_accident", "评价工作中发生一般及以上等级安全生产事故", "第二十七条（九）", _O),
    Ground("refusing_supervision", "拒不执行监管要求，或不履行工作承诺造成严重不良社会影响", "第二十七条（十）", _O),
    Ground("renewal_failed", "申请续期未达到备案条件", "第二十七条（七）", _O, reportable=False),
    Ground("rectification_failed", "限期整改未按期完成或达不到要求", "第二十七条（七）", _O, reportable=False),
    # Shanghai 三（四）2: an investigation that finds the especially serious tier moves on to a termination.
    Ground("especially_serious", "存在特别严重违纪违规情形", "第二十七条", _O, reportable=False,
           own_articles={"shanghai": f"{SHANGHAI} 三（四）2"}),
    # 第二十五条: interview of the head, results may be declared invalid.
    Ground("lax_candidate_review", "考生资质审核不严、考场秩序混乱或未执行评价标准（情节轻微）", "第二十五条（一）",
           _S),
    Ground("lax_exam_management", "评价组织管理松懈、阅卷不规范、评分标准不统一（情节轻微）", "第二十五条（二）", _S),
    Ground("no_quality_supervision", "未安排质量督导或质量督导流于形式", "第二十五条（三）", _S),
    Ground("reused_papers", "同一份试卷使用2次以上", "第二十五条（四）", _S),
    Ground("incomplete_archives", "评价档案材料保存不完整、管理不规范", "第二十五条（五）", _S),
    Ground("unhandled_misconduct", "对工作人员、参评人员违纪违规行为处理不到位", "第二十五条（六）", _S),
    # 第二十六条: warning, rectification deadline, evaluation suspended meanwhile.
    Ground("serious_or_repeated", "第二十五条所列情形情节严重，或一年内再次出现", "第二十六条（一）", _S),
    Ground("exam_plan_violation", "不按规定上报或私自更改考务计划，或未在备案地点组织评价", "第二十六条（二）", _S),
    Ground("false_advertising", "“包过”“保过”等虚假宣传", "第二十六条（三）", _S),
    Ground("data_profiteering", "利用考生信息、证书信息牟利", "第二十六条（四）", _S),
    Ground("rectification_overdue", "对发现的违规问题未按期完成整改", "第二十六条（五）", _S),
    Ground("under_investigation", "涉嫌违纪违规正在调查核实，或被投诉举报经核实属实", "第二十六条（六）", _S),
    # 第三十条: automatic termination.
    Ground("no_renewal", "备案期满前三个月内未书面提出续期备案申请", "第三十条（一）", _A, reportable=False),
    Ground("catalogue", "国家职业分类调整，原备案职业（工种）均不可开展评价且未申请调整", "第三十条（二）", _A,
           reportable=False),
    Ground("entity_closed", "机构破产、关闭、注销等主体灭失且未主动提出终止备案", "第三十条（三）", _A,
           reportable=False),
)

_BY_CODE: Final = {ground.code: ground for ground in GROUNDS}


class UnknownGround(ValueError):
    pass


def ground(code: str) -> Ground:
    try:
        return _BY_CODE[code]
    except (KeyError, TypeError):
        raise UnknownGround(f"未知的违规情形代码“{code}”；可用代码：{reportable_codes_text()}") from None


def reportable_codes_text() -> str:
    return "、".join(f"{g.code}（{g.article}）" for g in GROUNDS if g.reportable)


# Grounds of a case that is not about a violation: renewal, change report, voluntary termination, red list.
PROCEDURE_GROUNDS: Final = {
    "renewal": "续期备案申请",
    "continuation": "红榜机构有效期满连续备案",
    "change": "备案事项变更报告",
    "voluntary": "机构申请自愿终止备案",
    "annual_report": "年度工作总结及认定计划报送",
}
