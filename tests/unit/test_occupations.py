"""The national occupation catalogue (tasks/occupations.py): its file format, checked line by line, and what the
pre-check says of an application's occupations against it."""

from __future__ import annotations

import pytest

from tasks.errors import InvalidInput
from tasks.occupations import MAX_CATALOGUE_BYTES, Occupation, catalogue_failures, parse_catalogue, sample
from tasks.regions import profile_for_region

HEADER = "code,name,category,standard\n"


def test_the_bundled_sample_parses_and_knows_the_example_occupations() -> None:
    catalogue = {o.code: o for o in parse_catalogue(sample())}
    assert catalogue["6-18-01-01"] == Occupation("6-18-01-01", "车工", "skill", "车工国家职业技能标准")
    assert catalogue["4-07-05-04"].category_name == "准入类"


def test_a_file_with_a_bom_and_blank_lines_and_a_work_type_code_is_read() -> None:
    text = "\ufeff" + HEADER + "\n6-18-01-01-01,数控车工,skill,\n\n"
    [occupation] = parse_catalogue(text.encode("utf-8"))
    assert (occupation.code, occupation.standard) == ("6-18-01-01-01", None)


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "第 1 行应为表头"),
    ((HEADER + "6-18-01-01,车工,skill,\n").encode("gbk"), "UTF-8"),
    (b"code;name\n", "第 1 行应为表头"),
    ((HEADER + "6-18-01-01,车工,skill\n").encode(), "第 2 行：应有 4 列"),
    ((HEADER + "6180101,车工,skill,\n").encode(), "第 2 行：职业编码“6180101”格式不对"),
    ((HEADER + "6-18-01-01,,skill,\n").encode(), "第 2 行：职业名称不能为空"),
    ((HEADER + "6-18-01-01,车\u202e工,skill,\n").encode(), "改变文字显示方向"),
    ((HEADER + "6-18-01-01,车工,技能,\n").encode(), "第 2 行：类别“技能”应为 skill"),
    ((HEADER + "6-18-01-01,车工,skill,\n6-18-01-01,车工,skill,\n").encode(), "第 3 行：职业编码 6-18-01-01 重复"),
    (HEADER.encode(), "没有任何职业"),
    (b"x" * (MAX_CATALOGUE_BYTES + 1), "过大"),
])
def test_a_bad_catalogue_is_refused_with_the_line_and_the_reason(content: bytes, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        parse_catalogue(content)


def test_unknown_and_access_controlled_occupations_fail_the_precheck_with_the_regions_article() -> None:
    catalogue = {o.code: o for o in parse_catalogue(sample())}
    application = {"occupations": [{"code": "6-18-01-01", "name": "车工"},
                                   {"code": "4-07-05-04", "name": "消防设施操作员"},
                                   {"code": "9-99-99-99", "name": "不存在的职业"}]}
    beijing = profile_for_region("110108")
    unknown, access = catalogue_failures(application, beijing, catalogue)
    assert unknown.message.startswith("职业编码不在国家职业目录中：9-99-99-99（不存在的职业）")
    assert access.message == "属于准入类职业，不纳入职业技能等级认定范围：4-07-05-04 消防设施操作员"
    assert access.article == "京人社职鉴发〔2020〕3号 三" == beijing.article("occupation_scope")
    assert catalogue_failures({"occupations": [{"code": "6-18-01-01", "name": "车工"}]}, beijing, catalogue) == []
