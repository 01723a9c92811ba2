"""Region profiles: the per-region settings where the source texts differ (values in ``regions.toml``).

A profile is chosen by the first two digits of the filing's 6-digit administrative division code; a
province without a profile gets the default profile (Sichuan, whose text has the concrete timings).

``regions.toml`` is checked completely on load; every problem is reported at once in a
``RegionConfigError`` (Chinese, naming the region and field), because the file is edited by
administrators and a half-checked file would fail later, in the middle of a case.
"""

from __future__ import annotations

import dataclasses
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

from tasks import articles as _articles

INSTITUTION_TYPES: Final = ("employer", "social", "school")
AUTHORITY_LEVELS: Final = ("provincial", "municipal")

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

# The default profile must cite these itself: it is the fallback for every other region.
REQUIRED_DEFAULT_ARTICLES: Final = (
    "application_materials", "acceptance", "assessors", "expert_review", "publicity", "receipt",
    "filing_number", "validity",
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

        The materials checklist is left out: this copy is stored in every case's workflow state, and no
        process step reads the checklist from there (the service reads it from the profile).
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
            # Every citation key resolved (own, else the default region's or a national one), so a diagram can
            # cite any of them without knowing which region defines it.
            "articles": {key: cited for key in _articles.ARTICLE_KEYS if (cited := self._article_or_none(key))},
        }


# ---------------------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------------------


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


def load_profiles() -> dict[str, RegionProfile]:
    """The profiles of the packaged ``regions.toml`` by key (read and checked once, then cached)."""
    return dict(_packaged()[0])


def default_profile() -> RegionProfile:
    profiles, default_key = _packaged()
    return profiles[default_key]


def profile_by_key(key: str) -> RegionProfile:
    profiles, _ = _packaged()
    try:
        return profiles[key]
    except KeyError:
        raise KeyError(f"没有地区配置“{key}”，已有：{'、'.join(profiles)}") from None


def profile_for_region(region_code: str) -> RegionProfile:
    """The profile for a 6-digit division code, by its province; the default profile if none matches."""
    province = province_of(region_code)
    profiles, default_key = _packaged()
    for profile in profiles.values():
        if profile.province_code == province:
            return profile
    return profiles[default_key]


@lru_cache(maxsize=1)
def _packaged() -> tuple[Mapping[str, RegionProfile], str]:
    text = resources.files("tasks").joinpath("regions.toml").read_text(encoding="utf-8")
    data = _parse_toml(text)
    profiles = parse_profiles(data)
    return MappingProxyType(profiles), data["default"]


# ---------------------------------------------------------------------------------------------------------
# Parsing and checking
# ---------------------------------------------------------------------------------------------------------


def profiles_from_toml(text: str) -> dict[str, RegionProfile]:
    """Parse and check region profiles from TOML text (the format of ``regions.toml``)."""
    return parse_profiles(_parse_toml(text))


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegionConfigError([f"TOML 语法错误：{exc}"]) from None


_TOP_LEVEL = frozenset({"default", "profiles"})

# field -> (kind, required). Kinds are checked by _check_field.
_FIELDS: Final[dict[str, tuple[str, bool]]] = {
    "province_code": ("province_code", True),
    "province_abbr": ("text", True),
    "name": ("text", True),
    "authority_name": ("text", True),
    "authority_level_names": ("level_names", True),
    "acceptance_days": ("positive_int", True),
    "publicity_days": ("positive_int", True),
    "higher_review_on_municipal_path": ("bool", True),
    "higher_review_institution_types": ("institution_types", False),
    "administrative_review_before_filing": ("bool", True),
    "report_to_national_registry": ("bool", True),
    "batch_deadlines": ("month_days", True),
    "batch_opens": ("month_days", False),
    "number_format": ("number_format", True),
    "validity_years": ("positive_int", True),
    "statement_days": ("positive_int", True),
    "renewal_second_reminder_days_before_expiry": ("positive_int", True),
    "min_assessors_per_occupation": ("positive_int", True),
    "voluntary_notice_days": ("positive_int", False),
    "red_list_continuation": ("bool", False),
    "articles": ("articles", True),
    "materials_borrowed_from": ("text", False),
    "materials_note": ("text", False),
}
# Checked item by item by _check_materials, since one list can have many problems.
_MATERIALS = "materials"

# field of a checklist item -> (kind for _check_field, required)
_MATERIAL_FIELDS: Final[dict[str, tuple[str, bool]]] = {
    "key": ("material_key", True),
    "name": ("text", True),
    "article": ("text", True),
    "required": ("bool", True),
    "institution_types": ("institution_types", False),
    "note": ("text", False),
}

_TYPE_NAMES = {
    str: "字符串", int: "整数", bool: "布尔值", float: "小数", list: "数组", dict: "表", date: "日期",
}


def parse_profiles(data: Mapping[str, Any]) -> dict[str, RegionProfile]:
    """Build profiles from parsed TOML data, checking everything; RegionConfigError lists all problems."""
    problems: list[str] = []
    for key in data:
        if key not in _TOP_LEVEL:
            problems.append(f"未知的顶层字段 {key}")
    raw_profiles = data.get("profiles")
    if not isinstance(raw_profiles, Mapping) or not raw_profiles:
        problems.append("缺少 [profiles.<地区>] 配置")
        raise RegionConfigError(problems)
    default_key = data.get("default")
    if not isinstance(default_key, str):
        problems.append("缺少字段 default（默认地区）或其不是字符串")
    elif default_key not in raw_profiles:
        problems.append(f"default = \"{default_key}\" 不是已配置的地区（已有：{'、'.join(raw_profiles)}）")

    checked: dict[str, dict[str, Any]] = {}
    for key, raw in raw_profiles.items():
        where = f"地区 {key}"
        if not isinstance(raw, Mapping):
            problems.append(f"{where} 应为表")
            continue
        values, profile_problems = _check_profile(where, raw)
        problems.extend(profile_problems)
        checked[key] = values

    if isinstance(default_key, str) and default_key in checked:
        own = checked[default_key].get("articles", {})
        missing = [name for name in REQUIRED_DEFAULT_ARTICLES if name not in own]
        if missing:
            problems.append(
                f"默认地区 {default_key} 的 articles 缺少：{'、'.join(missing)}（其他地区以它为参照）"
            )

    seen_provinces: dict[str, str] = {}
    for key, values in checked.items():
        code = values.get("province_code")
        if isinstance(code, str):
            if code in seen_provinces:
                problems.append(f"地区 {key} 与地区 {seen_provinces[code]} 的 province_code 同为 {code}")
            seen_provinces.setdefault(code, key)
    problems.extend(_borrowing_problems(checked))
    if not problems:
        problems.extend(_distinct_numbers_across(checked))
    if problems:
        raise RegionConfigError(problems)

    assert isinstance(default_key, str)
    fallback = MappingProxyType(dict(checked[default_key]["articles"]))
    empty: Mapping[str, str] = MappingProxyType({})
    return {
        key: RegionProfile(
            key=key,
            province_code=values["province_code"],
            province_abbr=values["province_abbr"],
            name=values["name"],
            authority_name=values["authority_name"],
            authority_level_names=MappingProxyType(dict(values["authority_level_names"])),
            acceptance_days=values["acceptance_days"],
            publicity_days=values["publicity_days"],
            higher_review_on_municipal_path=values["higher_review_on_municipal_path"],
            higher_review_institution_types=tuple(values.get("higher_review_institution_types", ())),
            administrative_review_before_filing=values["administrative_review_before_filing"],
            report_to_national_registry=values["report_to_national_registry"],
            batch_deadlines=tuple(values["batch_deadlines"]),
            batch_opens=tuple(values.get("batch_opens", ())),
            number_format=values["number_format"],
            validity_years=values["validity_years"],
            statement_days=values["statement_days"],
            renewal_second_reminder_days_before_expiry=values["renewal_second_reminder_days_before_expiry"],
            min_assessors_per_occupation=values["min_assessors_per_occupation"],
            voluntary_notice_days=values.get("voluntary_notice_days", 30),
            red_list_continuation=values.get("red_list_continuation", False),
            articles=MappingProxyType(dict(values["articles"])),
            fallback_articles=empty if key == default_key else fallback,
            materials=_checklist(values, checked),
            materials_borrowed_from=values.get("materials_borrowed_from"),
            materials_note=values.get("materials_note"),
        )
        for key, values in checked.items()
    }


def _checklist(values: Mapping[str, Any], checked: Mapping[str, Mapping[str, Any]]) -> tuple[MaterialItem, ...]:
    """A region's checklist: the borrowed items (marked 参照), its own, then OTHER_MATERIAL."""
    lender = values.get("materials_borrowed_from")
    borrowed = tuple(
        dataclasses.replace(item, article=_articles.REFERENCE_PREFIX + str(item.article), borrowed_from=lender)
        for item in (checked[lender][_MATERIALS] if lender else ())
    )
    return borrowed + tuple(values.get(_MATERIALS, ())) + (OTHER_MATERIAL,)


def _borrowing_problems(checked: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Each region has a checklist, its own or borrowed from a region with its own one (no chains)."""
    problems: list[str] = []
    for key, values in checked.items():
        where = f"地区 {key}"
        own = values.get(_MATERIALS, ())
        lender = values.get("materials_borrowed_from")
        if lender is None:
            if _MATERIALS not in values:
                problems.append(
                    f"{where} 缺少申请材料清单（[[profiles.{key}.materials]]，"
                    "或以 materials_borrowed_from 参照其他地区）"
                )
            continue
        if lender == key:
            problems.append(f"{where} 的 materials_borrowed_from 不能是本地区")
        elif lender not in checked:
            problems.append(f"{where} 的 materials_borrowed_from = \"{lender}\" 不是已配置的地区")
        elif checked[lender].get("materials_borrowed_from") is not None or _MATERIALS not in checked[lender]:
            problems.append(f"{where} 参照的地区 {lender} 须有自己的申请材料清单（不能再参照其他地区）")
        else:
            lent = {item.key for item in checked[lender][_MATERIALS]}
            clashes = [item.key for item in own if item.key in lent]
            if clashes:
                problems.append(
                    f"{where} 的申请材料 {'、'.join(clashes)} 与参照的地区 {lender} 的清单重复（键须不同）"
                )
    return problems


def _check_profile(where: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name in raw:
        if name not in _FIELDS and name != _MATERIALS:
            problems.append(f"{where} 有未知字段 {name}")
    if _MATERIALS in raw:
        # The well-formed items are kept even if others are not, so that checks across regions (borrowing) do
        # not report a missing checklist on top of the malformed one.
        values[_MATERIALS], material_problems = _check_materials(where, raw[_MATERIALS])
        problems.extend(material_problems)
    for name, (kind, required) in _FIELDS.items():
        if name not in raw:
            if required:
                problems.append(f"{where} 缺少字段 {name}")
            continue
        problem = _check_field(kind, raw[name])
        if problem:
            problems.append(f"{where} 的字段 {name}{problem}")
        else:
            values[name] = raw[name]

    deadlines = values.get("batch_deadlines")
    opens = values.get("batch_opens", [])
    if deadlines is not None:
        if list(deadlines) != sorted(set(deadlines)):
            problems.append(f"{where} 的 batch_deadlines 应按日期升序排列且不重复")
        elif opens and len(opens) != len(deadlines):
            problems.append(
                f"{where} 的 batch_opens 应为空，或与 batch_deadlines 一一对应（各 {len(deadlines)} 个）"
            )
        elif opens and _windows_overlap(deadlines, opens):
            problems.append(f"{where} 的申报期（batch_opens 至 batch_deadlines）相互重叠")
        if deadlines and "articles" in values and "batch" not in values["articles"]:
            problems.append(f"{where} 设有申报批次，articles 中须有 batch（批次的条文依据）")
    if deadlines is not None and not deadlines and opens:
        problems.append(f"{where} 没有 batch_deadlines 时不应设置 batch_opens")
    return values, problems


def _check_materials(where: str, raw: Any) -> tuple[tuple[MaterialItem, ...], list[str]]:
    """The checked items of a region's own checklist, and every problem with them."""
    if not isinstance(raw, list) or not raw or not all(isinstance(item, Mapping) for item in raw):
        return (), [f"{where} 的字段 materials{_expected('非空的表数组（[[profiles.<地区>.materials]]）', raw)}"]
    problems: list[str] = []
    items: list[MaterialItem] = []
    positions: dict[str, list[int]] = {}
    for number, entry in enumerate(raw, start=1):
        label = f"{where} 的申请材料第 {number} 项"
        if isinstance(entry.get("key"), str):
            label += f"（{entry['key']}）"
            positions.setdefault(entry["key"], []).append(number)
        item_problems = [f"{label} 有未知字段 {name}" for name in entry if name not in _MATERIAL_FIELDS]
        for name, (kind, required) in _MATERIAL_FIELDS.items():
            if name not in entry:
                if required:
                    item_problems.append(f"{label} 缺少字段 {name}")
                continue
            problem = _check_field(kind, entry[name])
            if problem:
                item_problems.append(f"{label} 的字段 {name}{problem}")
        problems.extend(item_problems)
        if not item_problems:
            items.append(MaterialItem(
                key=entry["key"], name=entry["name"], article=entry["article"], required=entry["required"],
                institution_types=tuple(entry.get("institution_types", ())), note=entry.get("note"),
            ))
    for key, numbers in positions.items():
        if len(numbers) > 1:
            problems.append(f"{where} 的申请材料键 {key} 重复（第 {'、'.join(map(str, numbers))} 项）")
    return tuple(items), problems


def _check_field(kind: str, value: Any) -> str | None:
    """None if ``value`` fits ``kind``, else the Chinese rest of a sentence saying what is wrong."""
    if kind == "text":
        return None if isinstance(value, str) and value.strip() else _expected("非空字符串", value)
    if kind == "province_code":
        if isinstance(value, str) and len(value) == 2 and value.isdigit():
            return None if value in PROVINCES else f"“{value}”不是省级行政区划代码"
        return _expected("两位数字的字符串", value)
    if kind == "bool":
        return None if isinstance(value, bool) else _expected("布尔值（true/false）", value)
    if kind == "positive_int":
        if isinstance(value, int) and not isinstance(value, bool):
            return None if value >= 1 else f"应为正整数，实为 {value}"
        return _expected("整数", value)
    if kind == "level_names":
        if not isinstance(value, Mapping) or set(value) != set(AUTHORITY_LEVELS):
            return _expected("含 provincial 与 municipal 两项的表", value)
        if not all(isinstance(v, str) and v.strip() for v in value.values()):
            return "的取值应为非空字符串"
        return None
    if kind == "institution_types":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _expected("字符串数组", value)
        unknown = [v for v in value if v not in INSTITUTION_TYPES]
        if unknown:
            return f"含未知机构类型：{'、'.join(unknown)}（可选 {'、'.join(INSTITUTION_TYPES)}）"
        return "不应有重复的机构类型" if len(set(value)) != len(value) else None
    if kind == "material_key":
        if not isinstance(value, str):
            return _expected("字符串", value)
        if value == OTHER_MATERIAL.key:
            return f"“{value}”是保留键（“{OTHER_MATERIAL.name}”由系统附加在每个清单末尾）"
        if not MATERIAL_KEY.fullmatch(value):
            return f"“{value}”应为小写 ASCII 字母、数字和下划线（如 application_form）"
        return None
    if kind == "month_days":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _expected("“MM-DD”字符串数组", value)
        bad = [v for v in value if _month_day(v) is None]
        return f"含无效日期：{'、'.join(bad)}（格式 MM-DD，不可用 02-29）" if bad else None
    if kind == "number_format":
        return _number_format_problem(value)
    if kind == "articles":
        if not isinstance(value, Mapping):
            return _expected("表", value)
        unknown = [k for k in value if k not in _articles.ARTICLE_KEYS]
        if unknown:
            return f"含未知条文键：{'、'.join(unknown)}（可用的键见 tasks/articles.py ARTICLE_KEYS）"
        empty = [k for k, v in value.items() if not (isinstance(v, str) and v.strip())]
        return f"中 {'、'.join(empty)} 应为非空字符串" if empty else None
    raise AssertionError(f"unknown field kind {kind}")


def _expected(what: str, value: Any) -> str:
    found = _TYPE_NAMES.get(type(value), type(value).__name__)
    return f"应为{what}，实为{found} {value!r}"


def _month_day(text: str) -> tuple[int, int] | None:
    """(month, day) for a valid "MM-DD" in every year; 02-29 is refused (it does not exist most years)."""
    if len(text) != 5 or text[2] != "-" or not (text[:2] + text[3:]).isdigit():
        return None
    month, day = int(text[:2]), int(text[3:])
    try:
        date(2001, month, day)  # a non-leap year
    except ValueError:
        return None
    return month, day


def _windows_overlap(deadlines: list[str], opens: list[str]) -> bool:
    """Whether fixed intake windows (opens[i] .. deadlines[i]) overlap; checked over three years."""
    spans: list[tuple[date, date]] = []
    for year in (2001, 2002, 2003):
        for open_text, close_text in zip(opens, deadlines, strict=True):
            open_md, close_md = _month_day(open_text), _month_day(close_text)
            assert open_md and close_md
            close = date(year, *close_md)
            start = date(year, *open_md)
            if start > close:  # the window starts in the previous year
                start = date(year - 1, *open_md)
            spans.append((start, close))
    spans.sort()
    return any(later[0] <= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def _number_format_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return _expected("非空字符串", value)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        return f"不是有效的格式字符串：{exc}"
    unknown = sorted(name for name in names if name not in NUMBER_FIELDS)
    if unknown:
        return f"含未知占位符：{'、'.join(unknown)}（可用：{'、'.join(sorted(NUMBER_FIELDS))}）"
    missing = [name for name in ("year", "seq") if name not in names]
    if missing:
        return f"缺少占位符：{'、'.join('{' + m + '}' for m in missing)}（有年度和序号才能保证编号唯一）"
    samples = set()
    trials = [(year, seq) for year in (2026, 2027) for seq in (1, 2, 10, 11, 999, 1000, 9999, 10000, 123456)]
    for year, seq in trials:
        try:
            samples.add(_sample_number(value, year, seq))
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            return f"无法格式化：{exc}"
    if len(samples) != len(trials):
        return "对不同的年度或序号生成了相同的编号"
    return None


def _sample_number(number_format: str, year: int, seq: int, *, abbr: str = "样", province: str = "51",
                   level: str = "省") -> str:
    region = province + "0100"
    return number_format.format(
        province_abbr=abbr, province_code=province, region_code=region, city_code=region[:4],
        year=year, seq=seq, level=level,
    )


def _distinct_numbers_across(checked: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Two regions must never produce the same number for the same year and sequence."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    reported: set[tuple[str, str]] = set()
    for key, values in checked.items():
        for level in values["authority_level_names"].values():
            number = _sample_number(
                values["number_format"], 2026, 1, abbr=values["province_abbr"],
                province=values["province_code"], level=level,
            )
            if number in owner and owner[number] != key and (key, owner[number]) not in reported:
                reported.add((key, owner[number]))
                problems.append(
                    f"地区 {key} 与地区 {owner[number]} 会生成相同的备案编号（如 {number}），"
                    "请区分 number_format 或 province_abbr"
                )
            owner.setdefault(number, key)
    return problems


def month_day_in_year(text: str, year: int) -> date:
    """The date of a checked "MM-DD" setting in ``year``."""
    parsed = _month_day(text)
    if parsed is None:
        raise ValueError(f"无效的月日“{text}”，格式应为 MM-DD")
    return date(year, *parsed)

