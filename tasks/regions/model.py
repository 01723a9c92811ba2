"""The region profile and the codes it is built from: institution types, authority levels, province codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from tasks import articles as _articles

INSTITUTION_TYPES: Final = ("employer", "social", "school")
AUTHORITY_LEVELS: Final = ("provincial", "municipal")
# The documents a region may retitle (`document_titles`): those whose name the texts give differently.
RETITLED_KINDS: Final = ("filing_receipt", "renewal_notice", "termination_notice")
# How a site may be inspected (`inspection_methods`), by key: what the texts call it. An online assessment is XPCC's
# (第十三条（二）: 现场考察或在线评估); elsewhere the inspection team goes to the site.
INSPECTION_METHODS: Final = MappingProxyType({"onsite": "现场考察", "online": "在线评估"})
# What an investigation of a violation may conclude (bpmn/sanction.bpmn), in the order of severity. Every region has
# the three of Jilin 第二十五、二十六条 (DEFAULT_LADDER); Shanghai 三（四）2 has its own four tiers besides the finding
# of no violation: 即知即改 for what is not yet a violation, and a termination for the especially serious.
SANCTION_MEASURES: Final = ("no_violation", "correct_now", "interview", "warning", "terminate")
DEFAULT_LADDER: Final = ("no_violation", "interview", "warning")

# Province-level division codes (GB/T 2260), plus 66 for the Xinjiang Production and Construction Corps,
# which the Corps' own systems use for its divisions.
PROVINCES: Final = MappingProxyType(
    {
        "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
        "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
        "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
        "37": "山东省",
        "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
        "46": "海南省",
        "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
        "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
        "66": "新疆生产建设兵团",
        "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
    }
)

# Placeholders a number_format may use (see format_filing_number in tasks/filing.py).
NUMBER_FIELDS: Final = frozenset(
    {"province_abbr", "province_code", "region_code", "city_code", "year", "seq", "level"}
)


# A material's key: ASCII snake_case, the form the application schema's kinds have.
MATERIAL_KEY: Final = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


class RegionConfigError(ValueError):
    """``regions.toml`` is malformed. The message lists every problem, in Chinese."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("地区配置（regions.toml）有误：" + "；".join(self.problems))


@dataclass(frozen=True)
class MaterialItem:
    """One item of a region's checklist of application materials (申请材料清单)."""

    key: str
    name: str
    # The item's citation; None only for OTHER_MATERIAL, which no text asks for.
    article: str | None
    # Whether the text asks it of every applicant (of ``institution_types``, if given).
    required: bool
    # Only these institution types provide it; empty = all.
    institution_types: tuple[str, ...] = ()
    note: str | None = None
    # The region whose checklist this item was borrowed from (then ``article`` starts with 参照), else None.
    borrowed_from: str | None = None

    def applies_to(self, institution_type: str) -> bool:
        return not self.institution_types or institution_type in self.institution_types


# Ends every checklist, so an institution can add what no item covers; never required. Added in code rather than
# repeated in each region's list, because no text asks for it and it must be the same everywhere.
OTHER_MATERIAL: Final = MaterialItem(
    key="other", name="其他材料", article=None, required=False, note="申请单位认为需要补充的其他材料（非条文要求）"
)


@dataclass(frozen=True)
class RegionProfile:
    """The settings of one region. Immutable; ``to_dict`` gives a JSON-safe copy for task data."""

    key: str
    province_code: str
    province_abbr: str
    name: str
    authority_name: str
    authority_level_names: Mapping[str, str]
    acceptance_days: int
    publicity_days: int
    higher_review_on_municipal_path: bool
    higher_review_institution_types: tuple[str, ...]
    administrative_review_before_filing: bool
    report_to_national_registry: bool
    batch_deadlines: tuple[str, ...]
    batch_opens: tuple[str, ...]
    number_format: str
    validity_years: int
    statement_days: int
    renewal_second_reminder_days_before_expiry: int
    min_assessors_per_occupation: int
    articles: Mapping[str, str]
    # How the region's own text is cited (its number or title): every citation in `articles` starts with it, and a
    # document served in this region cites nothing else as its basis (DOMAIN.md "Legal force").
    rules: str = ""
    # Per authority level, the defaults of who issues documents (tasks/issuers.py): name, short, on_behalf_of.
    issuers: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    # Which authority issues the filing receipt: the case's own ("case"), or the province (Beijing 六(四): the
    # 市鉴定中心 issues the 确认回执 for district cases too; Jilin 第十三条: the province sends the 备案通知).
    receipt_level: str = "case"
    # The shape of the region's procedure (bpmn/filing_application.bpmn branches on these; DOMAIN.md "Corrections").
    publicity: bool = True                      # Beijing has none: the 市人社局 confirms and publishes the list
    site_inspection: bool = True                # Beijing 六（二）: the experts' assessment covers the site
    preliminary_opinion_on_municipal_path: bool = False   # Beijing 六（一）: the district's 初步意见, then the city
    expert_review_level: str = "case"           # "provincial": the province (Beijing's 市鉴定中心) runs it
    administrative_review_level: str = "case"   # who deliberates (Beijing 市人社局, Jilin 省人社厅: provincial)
    acceptance_from_batch_close: bool = False   # the acceptance clock starts when the application's batch closes
    inspection_methods: tuple[str, ...] = ("onsite",)   # how the site may be inspected (INSPECTION_METHODS)
    # Dual filing (XPCC 第十三条（四）): after its own filing the case waits for the national registry's answer
    # (national_filing message), reminding the province every `national_filing_reminder_days` working days.
    national_filing: bool = False
    national_filing_reminder_days: int = 20
    # The region's own ladder of measures (SANCTION_MEASURES key -> how its text words it); empty: DEFAULT_LADDER, as
    # the investigation form words it.
    sanction_ladder: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Shanghai 三（四）2: certificate data uploaded beyond the filed scope or wrongly is revoked.
    certificate_data_revocation: bool = False
    # Beijing 六（四）: each year an annual summary and plan, due `annual_report_days` working days from 1 January
    # ("年初", not fixed by the text), followed up every `annual_report_follow_up_days` working days while missing.
    annual_report: bool = False
    annual_report_days: int = 20
    annual_report_follow_up_days: int = 10
    # Jilin 第三十六条: working days after an ordered termination is served in which the institution may state its case
    # against it (陈述和申辩) and have it reviewed; no text fixes the period.
    review_request_days: int = 15
    # Documents the region's text calls by another name (Beijing 确认回执, Jilin 备案通知): kind -> title.
    document_titles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Working days an institution publishes its intention before it may apply to terminate (Jilin 第三十二条(一)).
    voluntary_notice_days: int = 30
    # Red-listed institutions continue after expiry through a simplified renewal (XPCC 第二十二条).
    red_list_continuation: bool = False
    # The checklist of application materials, in the order of the text, ending with OTHER_MATERIAL. Items
    # borrowed from another region (whose key is materials_borrowed_from) come first, marked 参照.
    materials: tuple[MaterialItem, ...] = (OTHER_MATERIAL,)
    materials_borrowed_from: str | None = None
    # A note on the whole checklist (Sichuan 五: 能通过网络核验的，可不提供书面材料).
    materials_note: str | None = None
    # The default region's own citations, used (marked 参照) where this region's text is silent. Empty
    # for the default region itself.
    fallback_articles: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False, hash=False
    )

    def __hash__(self) -> int:
        # Mappings are not hashable; the key identifies a profile within one loaded set.
        return hash((self.key, self.province_code))

    def article(self, key: str) -> str:
        """The citation for ``key`` in this region.

        Order: this region's own article; the default region's, marked 参照; a national standard; a
        common citation (another region's text, marked 参照). KeyError (Chinese) if none has it.
        """
        if key in self.articles:
            return self.articles[key]
        if key in self.fallback_articles:
            return _articles.REFERENCE_PREFIX + self.fallback_articles[key]
        if key in _articles.NATIONAL:
            return _articles.NATIONAL[key]
        if key in _articles.COMMON:
            return _articles.REFERENCE_PREFIX + _articles.COMMON[key]
        raise KeyError(f"{self.name}没有“{key}”的条文依据")

    def level_name(self, authority_level: str) -> str:
        """What the authority level is called in this region (省, 市（州）, 区, 兵团, 师市 …)."""
        try:
            return self.authority_level_names[authority_level]
        except KeyError:
            raise ValueError(f"未知的备案层级“{authority_level}”，应为 provincial 或 municipal") from None

    def needs_higher_review(self, authority_level: str, institution_type: str) -> bool:
        """Whether a filing on this path goes to the higher level for review (复核)."""
        if authority_level not in AUTHORITY_LEVELS:
            raise ValueError(f"未知的备案层级“{authority_level}”，应为 provincial 或 municipal")
        if authority_level != "municipal" or not self.higher_review_on_municipal_path:
            return False
        types = self.higher_review_institution_types
        return not types or institution_type in types

    def level_of(self, setting: str) -> str:
        """The jurisdiction ("case" or "province", tasks/access.py) a `*_level` setting gives a task."""
        value = getattr(self, setting)
        return "province" if value == "provincial" else "case"

    def materials_for(self, institution_type: str) -> tuple[MaterialItem, ...]:
        """The checklist items an institution of this type may provide (required or not)."""
        _check_institution_type(institution_type)
        return tuple(item for item in self.materials if item.applies_to(institution_type))

    def required_materials(self, institution_type: str) -> tuple[MaterialItem, ...]:
        """The checklist items every institution of this type must provide."""
        return tuple(item for item in self.materials_for(institution_type) if item.required)

    def material(self, key: str) -> MaterialItem | None:
        """The checklist item ``key`` of this region, or None if the region has no such item."""
        return next((item for item in self.materials if item.key == key), None)

    @property
    def continuous_intake(self) -> bool:
        """True when applications are taken at any time (no batch deadlines)."""
        return not self.batch_deadlines

    def _article_or_none(self, key: str) -> str | None:
        try:
            return self.article(key)
        except KeyError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe copy (plain dicts and lists) of the profile's settings, as a process sees them.

        The materials checklist and the settings of documents (rules, issuers, titles) are left out: this copy is
        stored in every case's workflow state, and no process step reads them from there (the service reads them
        from the profile).
        """
        return {
            "key": self.key,
            "province_code": self.province_code,
            "province_abbr": self.province_abbr,
            "name": self.name,
            "authority_name": self.authority_name,
            "authority_level_names": dict(self.authority_level_names),
            "acceptance_days": self.acceptance_days,
            "publicity_days": self.publicity_days,
            "higher_review_on_municipal_path": self.higher_review_on_municipal_path,
            "higher_review_institution_types": list(self.higher_review_institution_types),
            "administrative_review_before_filing": self.administrative_review_before_filing,
            "report_to_national_registry": self.report_to_national_registry,
            "batch_deadlines": list(self.batch_deadlines),
            "batch_opens": list(self.batch_opens),
            "number_format": self.number_format,
            "validity_years": self.validity_years,
            "statement_days": self.statement_days,
            "renewal_second_reminder_days_before_expiry": self.renewal_second_reminder_days_before_expiry,
            "min_assessors_per_occupation": self.min_assessors_per_occupation,
            "voluntary_notice_days": self.voluntary_notice_days,
            "red_list_continuation": self.red_list_continuation,
            "receipt_level": self.receipt_level,
            "publicity": self.publicity,
            "site_inspection": self.site_inspection,
            "inspection_methods": list(self.inspection_methods),
            "national_filing": self.national_filing,
            "national_filing_reminder_days": self.national_filing_reminder_days,
            "sanction_ladder": dict(self.sanction_ladder),
            "certificate_data_revocation": self.certificate_data_revocation,
            "annual_report": self.annual_report,
            "annual_report_days": self.annual_report_days,
            "annual_report_follow_up_days": self.annual_report_follow_up_days,
            "review_request_days": self.review_request_days,
            "preliminary_opinion_on_municipal_path": self.preliminary_opinion_on_municipal_path,
            "expert_review_level": self.expert_review_level,
            "administrative_review_level": self.administrative_review_level,
            "acceptance_from_batch_close": self.acceptance_from_batch_close,
            # Every citation key resolved (own, else the default region's or a national one), so a diagram can
            # cite any of them without knowing which region defines it.
            "articles": {key: cited for key in _articles.ARTICLE_KEYS if (cited := self._article_or_none(key))},
        }


def _check_institution_type(institution_type: str) -> None:
    if institution_type not in INSTITUTION_TYPES:
        raise ValueError(f"未知的机构类型“{institution_type}”，应为 {'、'.join(INSTITUTION_TYPES)} 之一")


def province_of(region_code: str) -> str:
    """The province-level part (first two digits) of a 6-digit administrative division code."""
    well_formed = isinstance(region_code, str) and len(region_code) == 6 and region_code.isascii()
    if not well_formed or not region_code.isdigit():
        raise ValueError(f"行政区划代码应为 6 位数字，实为「{region_code}」")
    return region_code[:2]


def is_known_province(province_code: str) -> bool:
    return province_code in PROVINCES

