"""Choices that depend on the case (tasks/form_choices.py): narrowed to the case's checklist and its region's
inspection methods, for a single choice and a list of choices alike."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from tasks.form_choices import case_choices, choices_problem, for_case, narrowed
from tasks.grounds import ground
from tasks.regions import RegionConfigError, load_profiles, parse_toml, profile_by_key
from tasks.regions.parsing import parse_profiles

FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "method": {"type": "string", "x-choices": "inspection_methods",
                   "oneOf": [{"const": "onsite", "title": "现场"}, {"const": "online", "title": "在线"}]},
        "missing_items": {"type": "array", "x-choices": "checklist",
                          "items": {"type": "string", "oneOf": [{"const": "work_plan"}, {"const": "fee_schedule"},
                                                               {"const": "other"}]}},
        "result": {"type": "string", "oneOf": [{"const": "pass"}, {"const": "fail"}]},
    },
}


def _consts(options: list[dict[str, Any]]) -> list[str]:
    return [option["const"] for option in options]


def test_only_xpcc_may_assess_online() -> None:
    methods = {key: profile.inspection_methods for key, profile in load_profiles().items()}
    assert methods.pop("xpcc") == ("onsite", "online")
    assert set(methods.values()) == {("onsite",)}


def test_a_single_choice_and_a_list_of_choices_are_narrowed_to_the_case() -> None:
    sichuan = for_case(FORM, "510104", {"institution": {"type": "employer"}})
    assert sichuan["properties"]["method"]["oneOf"] == [{"const": "onsite", "title": "现场考察"}]
    # Only the items the form itself lists and the checklist has, named as the region names them.
    assert _consts(sichuan["properties"]["missing_items"]["items"]["oneOf"]) == ["work_plan", "other"]
    assert sichuan["properties"]["result"] == FORM["properties"]["result"]
    xpcc = for_case(FORM, "660000", {"institution": {"type": "social"}})
    assert _consts(xpcc["properties"]["method"]["oneOf"]) == ["onsite", "online"]
    assert xpcc["properties"]["method"]["oneOf"][1]["title"] == "在线评估"
    assert _consts(FORM["properties"]["method"]["oneOf"]) == ["onsite", "online"]  # the definition is not touched


def test_a_form_without_marked_choices_is_returned_as_it_is() -> None:
    plain = {"type": "object", "properties": {"result": {"type": "string"}}}
    assert for_case(plain, "510000", {}) is plain


def test_an_application_without_a_known_type_is_offered_the_whole_checklist() -> None:
    profile = profile_by_key("sichuan")
    assert [key for key, _ in case_choices(profile, "")["checklist"]] == [item.key for item in profile.materials]
    assert narrowed(FORM, {"checklist": []})["properties"]["missing_items"]["items"]["oneOf"] == []


@pytest.mark.parametrize("schema, expected", [
    (FORM, None),
    ({"properties": {"m": {"x-choices": "regions", "oneOf": [{"const": "a"}]}}}, "x-choices“regions”未知"),
    ({"properties": {"m": {"x-choices": "checklist", "type": "string"}}}, "没有可供收窄的 oneOf 选项"),
    ("not a schema", None),
])
def test_the_check_names_an_unknown_source_or_nothing_to_narrow(schema: Any, expected: str | None) -> None:
    problem = choices_problem(schema)
    assert (problem is None) if expected is None else (expected in str(problem))


def test_regions_toml_refuses_an_unknown_or_empty_inspection_method() -> None:
    text = resources.files("tasks").joinpath("regions.toml").read_text(encoding="utf-8")
    bad = text.replace('inspection_methods = ["onsite", "online"]', 'inspection_methods = ["online", "drone"]')
    with pytest.raises(RegionConfigError, match="含未知考察方式：drone"):
        parse_profiles(parse_toml(bad))
    empty = text.replace('inspection_methods = ["onsite", "online"]', 'inspection_methods = []')
    with pytest.raises(RegionConfigError, match="inspection_methods"):
        parse_profiles(parse_toml(empty))


def test_the_investigation_offers_the_regions_own_ladder_in_its_words() -> None:
    form = {"type": "object", "properties": {"decision": {
        "type": "string", "x-choices": "sanction_ladder",
        "oneOf": [{"const": key, "title": f"表单：{key}"}
                  for key in ("no_violation", "correct_now", "interview", "warning", "terminate")]}}}
    sichuan = for_case(form, "510000", {"institution": {"type": "employer"}})["properties"]["decision"]["oneOf"]
    assert sichuan == [{"const": key, "title": f"表单：{key}"} for key in ("no_violation", "interview", "warning")]
    shanghai = for_case(form, "310115", {"institution": {"type": "school"}})["properties"]["decision"]["oneOf"]
    assert [c["const"] for c in shanghai] == ["no_violation", "correct_now", "interview", "warning", "terminate"]
    assert shanghai[1]["title"] == "违反管理规定但尚未构成违纪违规：要求即知即改、立行立改"


@pytest.mark.parametrize("ladder, message", [
    ('{ no_violation = "未发现违规", punish = "罚款" }', "含未知措施：punish"),
    ('{ interview = "约谈" }', "须含 no_violation"),
    ('{ no_violation = "" }', "措施键到措施名称"),
])
def test_regions_toml_refuses_a_ladder_with_unknown_or_missing_measures(ladder: str, message: str) -> None:
    text = resources.files("tasks").joinpath("regions.toml").read_text(encoding="utf-8")
    start = text.index("[profiles.shanghai.sanction_ladder]")
    end = text.index("\n\n", start)
    bad = (text[:start] + text[end:]).replace(
        "certificate_data_revocation = true", f"certificate_data_revocation = true\nsanction_ladder = {ladder}", 1)
    with pytest.raises(RegionConfigError, match=message):
        parse_profiles(parse_toml(bad))


def test_an_especially_serious_ground_rests_on_shanghais_own_text_there() -> None:

    found = ground("especially_serious")
    assert found.citation("shanghai").startswith("上海市人社局") and found.citation("shanghai").endswith("三（四）2")
    assert found.citation("sichuan").startswith("参照") and not found.reportable
