"""What changed between two submissions of an application, named as people call each field."""

from __future__ import annotations

import copy

from tasks.application_diff import application_changes
from tests.support.scenarios import example_application


def test_nothing_changed_is_no_change() -> None:
    application = example_application()
    assert application_changes(application, copy.deepcopy(application)) == []


def test_each_changed_field_is_named_with_before_and_after_in_the_schemas_order() -> None:
    before = example_application()
    after = copy.deepcopy(before)
    after["occupations"][0]["levels"] = [4, 3]
    after["institution"]["phone"] = "028-87654321"
    after["assessors"][0]["title"] = "高级工程师"
    changes = application_changes(before, after)
    assert [c["field"] for c in changes] == ["联系电话", "职业（工种）第1项·等级", "考评人员第1项·职务/职称/技能等级"]
    assert changes[0] == {"field": "联系电话", "path": "institution.phone", "before": "(028)86112339",
                          "after": "028-87654321"}
    assert changes[1]["after"] == "四级/中级工、三级/高级工"


def test_an_item_added_to_a_list_shows_as_its_fields_from_empty() -> None:
    before = example_application()
    after = copy.deepcopy(before)
    after["experts"].append({"name": "周新", "organization": "成都职业技术学院"})
    added = application_changes(before, after)
    index = len(before["experts"]) + 1
    assert {(c["field"], c["before"], c["after"]) for c in added} == {
        (f"专家第{index}项·姓名", "", "周新"), (f"专家第{index}项·所在单位", "", "成都职业技术学院")}


def test_declared_materials_are_not_compared_as_fields() -> None:
    before = example_application()
    after = copy.deepcopy(before)
    after["materials"][0]["title"] = "新的申请表"
    assert application_changes(before, after) == []
