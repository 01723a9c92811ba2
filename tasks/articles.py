"""Citations that do not belong to one region's settings.

Each automated decision and human task names the article it rests on. Region-specific citations live
in ``regions.toml`` (``[profiles.<key>.articles]``); ``RegionProfile.article`` looks there first, then in
the default region (marked 参照), then here. This module holds:

* ``DOCUMENTS``: how each source text is cited (short names shown to caseworkers);
* ``ARTICLE_KEYS``: the citation keys the system knows, with what each one is about; ``regions.toml``
  may only use these keys, so a typo in the settings is caught on load;
* ``NATIONAL``: national standards, cited as they are for every region;
* ``COMMON``: articles of other texts (mostly Jilin, the most complete) for steps a region's own text does
  not regulate (changes, renewal, terminations, statement and defence). Shown with ``REFERENCE_PREFIX``
  (参照), because they are not the region's own rule.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# How each seed text is cited. The Shanghai notice has no document number in the source text, so it is
# cited by issuer, subject and date.
GB_32100: Final = "GB 32100-2015《法人和其他组织统一社会信用代码编码规则》"
GB_11714: Final = "GB 11714-1997《全国组织机构代码编制规则》"
SICHUAN: Final = "川人社办发〔2019〕94号"
BEIJING: Final = "京人社职鉴发〔2020〕3号"
JILIN: Final = "《吉林省职业技能等级评价机构管理办法（试行）》（征求意见稿）"
XPCC: Final = "《兵团职业技能等级认定工作规程》"
SHANGHAI: Final = "上海市人社局《关于加强职业技能等级认定规范管理的通知》（2024年4月26日）"

DOCUMENTS: Final = MappingProxyType(
    {
        "gb32100": GB_32100,
        "gb11714": GB_11714,
        "sichuan": SICHUAN,
        "beijing": BEIJING,
        "jilin": JILIN,
        "xpcc": XPCC,
        "shanghai": SHANGHAI,
    }
)

ARTICLE_KEYS: Final = MappingProxyType(
    {
        "application_materials": "申请材料（一次性报送）",
        "acceptance": "受理决定及其期限",
        "batch": "申报批次",
        "credit_code": "统一社会信用代码校验",
        "credit": "机构及法定代表人信用（无失信记录）",
        "occupation_scope": "可备案职业范围（技能类职业，不含准入类）",
        "active_filing": "同一机构同一职业不重复备案",
        "assessors": "每个职业考评人员人数",
        "expert_review": "专家评估（技术评估）",
        "site_inspection": "现场考察（或在线评估）",
        "higher_review": "上级复核",
        "administrative_review": "行政审议（复审、局长办公会、专题审议、确认）",
        "publicity": "公示",
        "receipt": "备案回执（备案通知）",
        "filing_number": "机构备案编号",
        "validity": "备案有效期",
        "branch": "分支机构备案",
        "national_registry": "向人社部上报（国家备案）",
        "jurisdiction": "属地管理与分级负责",
        "changes": "备案事项变更",
        "renewal": "续期备案",
        "voluntary_termination": "自愿终止备案",
        "automatic_termination": "自动终止备案",
        "ordered_termination": "责令终止备案",
        "statement": "告知与陈述申辩、复核决定",
        "sanctions": "约谈、警告、限期整改、暂停评价",
        "records": "评价资料保管期限",
        "after_termination": "终止备案后的责任",
        "suspension": "调查期间暂停报名及评价、暂缓证书数据审核上网",
        "branch_termination": "总部终止备案时分支机构一并终止",
        "violations_archive": "违纪违规行为处理档案",
        "red_black_list": "红黑榜评估与连续备案",
        "annual_report": "年度工作总结及认定计划报送",
    }
)

# Marks a citation borrowed from another region's text or from COMMON.
REFERENCE_PREFIX: Final = "参照"

NATIONAL: Final = MappingProxyType(
    {
        "credit_code": f"{GB_32100}；主体标识码（第 9–17 位）依 {GB_11714}",
    }
)

COMMON: Final = MappingProxyType(
    {
        "credit": f"{JILIN} 第六条；{XPCC} 第十二条（一）",
        "occupation_scope": f"{BEIJING} 三；{XPCC} 第六条",
        # No text forbids a second filing in so many words; the rule follows from the filing being
        # per institution and occupation: occupations are added or adjusted on the existing filing
        # (Jilin 第三十条(二)) and a filing is extended by renewal (Jilin 第二十八条).
        "active_filing": f"{JILIN} 第二十八条、第三十条（二）（已备案职业通过续期或调整办理，不重复备案）",
        "validity": f"{JILIN} 第十三条；{XPCC} 第十三条（四）；{BEIJING} 六（三）",
        "changes": f"{JILIN} 第十四条",
        "renewal": f"{JILIN} 第二十八条、第三十条（一）；{SHANGHAI} 三（四）3",
        "voluntary_termination": f"{JILIN} 第二十九条、第三十二条",
        "automatic_termination": f"{JILIN} 第三十条、第三十三条；{SHANGHAI} 三（四）3",
        "ordered_termination": f"{JILIN} 第二十七条、第三十一条、第三十三条",
        "statement": f"{JILIN} 第三十五条、第三十六条",
        "sanctions": f"{JILIN} 第二十五条、第二十六条；{SHANGHAI} 三（四）2",
        "records": f"{XPCC} 第十八条；{JILIN} 第二十三条",
        "after_termination": f"{JILIN} 第三十八条、第三十九条；{XPCC} 第二十三条",
        "suspension": f"{JILIN} 第三十三条（一）",
        "branch_termination": f"{JILIN} 第三十四条",
        "violations_archive": f"{JILIN} 第四十条",
        "red_black_list": f"{XPCC} 第二十二条",
        "administrative_review": f"{XPCC} 第十三条（四）；{JILIN} 第十三条；{BEIJING} 六（三）",
    }
)

