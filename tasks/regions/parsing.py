"""Reading ``regions.toml``: every profile and checklist checked, every problem reported at once."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from tasks import articles as _articles
from tasks.regions.fields import check_field, distinct_numbers_across, expected, windows_overlap
from tasks.regions.model import OTHER_MATERIAL, RETITLED_KINDS, MaterialItem, RegionConfigError, RegionProfile

# The default profile must cite these itself: it is the fallback for every other region.
REQUIRED_DEFAULT_ARTICLES: Final = (
    "application_materials", "acceptance", "assessors", "expert_review", "publicity", "receipt",
    "filing_number", "validity",
)


def profiles_from_toml(text: str) -> dict[str, RegionProfile]:
    """Parse and check region profiles from TOML text (the format of ``regions.toml``)."""
    return parse_profiles(parse_toml(text))


def parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegionConfigError([f"TOML 语法错误：{exc}"]) from None


_TOP_LEVEL = frozenset({"default", "profiles"})

# field -> (kind, required). Kinds are checked by check_field.
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
    "rules": ("text", True),
    "issuers": ("issuers", True),
    "receipt_level": ("level", False),
    "publicity": ("bool", False),
    "site_inspection": ("bool", False),
    "inspection_methods": ("inspection_methods", False),
    "national_filing": ("bool", False),
    "national_filing_reminder_days": ("positive_int", False),
    "sanction_ladder": ("sanction_ladder", False),
    "certificate_data_revocation": ("bool", False),
    "annual_report": ("bool", False),
    "annual_report_days": ("positive_int", False),
    "annual_report_follow_up_days": ("positive_int", False),
    "review_request_days": ("positive_int", False),
    "preliminary_opinion_on_municipal_path": ("bool", False),
    "expert_review_level": ("level", False),
    "administrative_review_level": ("level", False),
    "acceptance_from_batch_close": ("bool", False),
    "document_titles": ("titles", False),
    "materials_borrowed_from": ("text", False),
    "materials_note": ("text", False),
}
# Checked item by item by _check_materials, since one list can have many problems.
_MATERIALS = "materials"

# field of a checklist item -> (kind for check_field, required)
_MATERIAL_FIELDS: Final[dict[str, tuple[str, bool]]] = {
    "key": ("material_key", True),
    "name": ("text", True),
    "article": ("text", True),
    "required": ("bool", True),
    "institution_types": ("institution_types", False),
    "note": ("text", False),
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
    problems.extend(_citation_problems(checked))
    if not problems:
        problems.extend(distinct_numbers_across(checked))
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
            rules=values["rules"],
            issuers=MappingProxyType({level: MappingProxyType(dict(entry))
                                      for level, entry in values["issuers"].items()}),
            receipt_level=values.get("receipt_level", "case"),
            publicity=values.get("publicity", True),
            site_inspection=values.get("site_inspection", True),
            inspection_methods=tuple(values.get("inspection_methods", ("onsite",))),
            national_filing=values.get("national_filing", False),
            national_filing_reminder_days=values.get("national_filing_reminder_days", 20),
            sanction_ladder=MappingProxyType(dict(values.get("sanction_ladder", {}))),
            certificate_data_revocation=values.get("certificate_data_revocation", False),
            annual_report=values.get("annual_report", False),
            annual_report_days=values.get("annual_report_days", 20),
            annual_report_follow_up_days=values.get("annual_report_follow_up_days", 10),
            review_request_days=values.get("review_request_days", 15),
            preliminary_opinion_on_municipal_path=values.get("preliminary_opinion_on_municipal_path", False),
            expert_review_level=values.get("expert_review_level", "case"),
            administrative_review_level=values.get("administrative_review_level", "case"),
            acceptance_from_batch_close=values.get("acceptance_from_batch_close", False),
            document_titles=MappingProxyType(dict(values.get("document_titles", {}))),
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


def _citation_problems(checked: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A region's own citations are of its own text: each starts with its `rules` and names no other region's text
    (a borrowed rule is a 参照 note, never the basis of a document served in the region)."""
    problems: list[str] = []
    rules = {key: values["rules"] for key, values in checked.items() if "rules" in values}
    for key, values in checked.items():
        own = rules.get(key)
        if own is None:
            continue
        for name, citation in values.get("articles", {}).items():
            if not citation.startswith(own):
                problems.append(f"地区 {key} 的 articles.{name} 应以本地区文件 {own} 开头（实为“{citation}”）")
            elif foreign := [text for other, text in rules.items() if other != key and text in citation]:
                problems.append(f"地区 {key} 的 articles.{name} 引用了其他地区的文件 {'、'.join(foreign)}："
                                "其他地区的规定只能作为参照，不能写入本地区的依据")
        unknown = [kind for kind in values.get("document_titles", {}) if kind not in RETITLED_KINDS]
        if unknown:
            problems.append(f"地区 {key} 的 document_titles 含不能改名的文书 {'、'.join(unknown)}"
                            f"（可改：{'、'.join(RETITLED_KINDS)}）")
    return problems


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
        problem = check_field(kind, raw[name])
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
        elif opens and windows_overlap(deadlines, opens):
            problems.append(f"{where} 的申报期（batch_opens 至 batch_deadlines）相互重叠")
        if deadlines and "articles" in values and "batch" not in values["articles"]:
            problems.append(f"{where} 设有申报批次，articles 中须有 batch（批次的条文依据）")
    if values.get("acceptance_from_batch_close") and deadlines is not None and not deadlines:
        problems.append(f"{where} 没有申报批次（batch_deadlines）时不能设置 acceptance_from_batch_close")
    if deadlines is not None and not deadlines and opens:
        problems.append(f"{where} 没有 batch_deadlines 时不应设置 batch_opens")
    return values, problems


def _check_materials(where: str, raw: Any) -> tuple[tuple[MaterialItem, ...], list[str]]:
    """The checked items of a region's own checklist, and every problem with them."""
    if not isinstance(raw, list) or not raw or not all(isinstance(item, Mapping) for item in raw):
        return (), [f"{where} 的字段 materials{expected('非空的表数组（[[profiles.<地区>.materials]]）', raw)}"]
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
            problem = check_field(kind, entry[name])
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


