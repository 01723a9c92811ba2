"""Choices that depend on the case (tasks/form_choices.py): narrowed to the case's checklist and its region's
inspection methods, for a single choice and a list of choices alike."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from tasks.form_choices import case_choices, choices_problem, for_case, narrowed
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
