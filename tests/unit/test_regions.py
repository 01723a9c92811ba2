"""Region profiles: packaged values (from the seeds), lookup, citations, and checking of the TOML."""

from __future__ import annotations

import copy
import dataclasses
import json
import tomllib
from importlib import resources
from typing import Any

import pytest

from tasks import articles
from tasks.regions import (
    PROVINCES,
    RegionConfigError,
    RegionProfile,
    default_profile,
    is_known_province,
    load_profiles,
    parse_profiles,
    profile_by_key,
    profile_for_region,
    profiles_from_toml,
    province_of,
)


def packaged_data() -> dict[str, Any]:
    return tomllib.loads(resources.files("tasks").joinpath("regions.toml").read_text(encoding="utf-8"))


def config_problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(RegionConfigError) as caught:
        parse_profiles(data)
    return caught.value.problems


# ---------------------------------------------------------------------------------------------------------
# Packaged values
# ---------------------------------------------------------------------------------------------------------


def test_the_five_regions_and_the_default() -> None:
    profiles = load_profiles()
    assert set(profiles) == {"sichuan", "beijing", "xpcc", "jilin", "shanghai"}
    assert {p.province_code for p in profiles.values()} == {"51", "11", "66", "22", "31"}
    assert default_profile().key == "sichuan"


def test_sichuan_values_follow_its_text() -> None:
    sichuan = profile_by_key("sichuan")
    assert sichuan.name == "四川省"
    assert sichuan.authority_name == "四川省人力资源和社会保障厅"
    assert sichuan.acceptance_days == 10                  # 附件3 一.2
    assert sichuan.publicity_days == 5                    # 四
    assert sichuan.higher_review_on_municipal_path       # 附件3 二.4
    assert sichuan.report_to_national_registry           # 四
    assert sichuan.batch_deadlines == ()
    assert sichuan.continuous_intake
    assert sichuan.min_assessors_per_occupation == 3      # 二（五）
    assert sichuan.number_format == "{province_abbr}技评备〔{year}〕{seq:04d}号"
    assert sichuan.article("acceptance") == "川人社办发〔2019〕94号 附件3 一.2、二.2"
    assert sichuan.article("publicity") == "川人社办发〔2019〕94号 四"
    assert sichuan.article("assessors") == "川人社办发〔2019〕94号 二（五）"


def test_beijing_has_two_batches_and_three_years() -> None:
    beijing = profile_by_key("beijing")
    assert beijing.batch_deadlines == ("05-31", "10-31")
    assert beijing.batch_opens == ()
    assert not beijing.continuous_intake
    assert beijing.validity_years == 3
    assert beijing.article("batch") == "京人社职鉴发〔2020〕3号 五"
    assert beijing.article("validity") == "京人社职鉴发〔2020〕3号 六（三）"
    assert beijing.authority_name == "北京市人力资源和社会保障局"


def test_xpcc_reviews_at_the_same_level_and_files_twice() -> None:
    xpcc = profile_by_key("xpcc")
    assert xpcc.province_code == "66"
    assert not xpcc.higher_review_on_municipal_path
    assert xpcc.administrative_review_before_filing
    assert xpcc.report_to_national_registry
    assert xpcc.article("national_registry").endswith("第十三条（四）、（五）")
    assert xpcc.level_name("municipal") == "师市"


def test_every_region_common_values() -> None:
    for profile in load_profiles().values():
        assert profile.validity_years == 3
        assert profile.acceptance_days == 10
        assert profile.publicity_days == 5
        assert profile.statement_days == 5
        assert profile.renewal_second_reminder_days_before_expiry == 30
        assert profile.name == PROVINCES[profile.province_code]


# ---------------------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "key"),
    [("510104", "sichuan"), ("510000", "sichuan"), ("110105", "beijing"), ("660100", "xpcc"),
     ("220102", "jilin"), ("310104", "shanghai"), ("440300", "sichuan"), ("650100", "sichuan")],
)
def test_profile_for_region(region: str, key: str) -> None:
    assert profile_for_region(region).key == key


def test_province_of() -> None:
    assert province_of("510104") == "51"
    assert is_known_province("66") and is_known_province("51") and not is_known_province("99")
    for bad in ("5101", "51010a", "5101040", "", "５１０１０４"):
        with pytest.raises(ValueError, match="6 位数字"):
            province_of(bad)
    with pytest.raises(ValueError):
        profile_for_region("51")


def test_profile_by_key_unknown() -> None:
    with pytest.raises(KeyError, match="没有地区配置“hebei”"):
        profile_by_key("hebei")


def test_load_profiles_is_cached_and_safe_to_change() -> None:
    first = load_profiles()
    first.pop("beijing")
    second = load_profiles()
    assert "beijing" in second
    assert second["sichuan"] is load_profiles()["sichuan"]


# ---------------------------------------------------------------------------------------------------------
# Citations
# ---------------------------------------------------------------------------------------------------------


def test_article_falls_back_to_the_default_region_marked_for_reference() -> None:
    beijing = profile_by_key("beijing")
    assert beijing.article("acceptance") == "参照川人社办发〔2019〕94号 附件3 一.2、二.2"
    assert beijing.article("assessors") == "参照川人社办发〔2019〕94号 二（五）"


def test_article_falls_back_to_national_and_common_citations() -> None:
    sichuan = profile_by_key("sichuan")
    assert sichuan.article("credit_code") == articles.NATIONAL["credit_code"]
    assert sichuan.article("renewal") == "参照" + articles.COMMON["renewal"]
    assert profile_by_key("jilin").article("renewal").startswith("《吉林省职业技能等级评价机构管理办法")
    assert profile_by_key("shanghai").article("automatic_termination").endswith("三（四）3")


def test_article_unknown_key() -> None:
    with pytest.raises(KeyError, match="四川省没有“nonsense”的条文依据"):
        default_profile().article("nonsense")


def test_all_citation_keys_are_known() -> None:
    for key in list(articles.NATIONAL) + list(articles.COMMON):
        assert key in articles.ARTICLE_KEYS
    for profile in load_profiles().values():
        for key in profile.articles:
            assert key in articles.ARTICLE_KEYS
        for key in articles.ARTICLE_KEYS:
            if key == "batch" and profile.continuous_intake:
                continue
            if key in ("filing_number", "branch", "national_registry", "higher_review", "site_inspection",
                       "administrative_review", "jurisdiction"):
                continue
            if key == "annual_report" and not profile.annual_report:  # only where the text asks for it (Beijing)
                continue
            assert profile.article(key), (profile.key, key)


# ---------------------------------------------------------------------------------------------------------
# Behaviour and serialisation
# ---------------------------------------------------------------------------------------------------------


def test_needs_higher_review() -> None:
    sichuan, shanghai, xpcc = (profile_by_key(k) for k in ("sichuan", "shanghai", "xpcc"))
    assert sichuan.needs_higher_review("municipal", "employer")
    assert not sichuan.needs_higher_review("provincial", "employer")
    assert shanghai.needs_higher_review("municipal", "school")
    assert not shanghai.needs_higher_review("municipal", "employer")
    assert not xpcc.needs_higher_review("municipal", "social")
    with pytest.raises(ValueError, match="未知的备案层级"):
        sichuan.needs_higher_review("county", "employer")


def test_level_names() -> None:
    assert profile_by_key("sichuan").level_name("municipal") == "市（州）"
    assert profile_by_key("beijing").level_name("municipal") == "区"
    with pytest.raises(ValueError):
        profile_by_key("beijing").level_name("county")


def test_to_dict_is_json_safe_and_complete() -> None:
    for profile in load_profiles().values():
        data = profile.to_dict()
        text = json.dumps(data, ensure_ascii=False)
        assert "typename" not in text
        assert json.loads(text) == data
        # The materials checklist stays out: to_dict is stored in every case's workflow state, which does not use it.
        # So do the settings of documents (issuers, titles, the region's rules), which only the service reads.
        left_out = {"fallback_articles", "materials", "materials_borrowed_from", "materials_note", "rules", "issuers",
                    "document_titles"}
        fields = {f.name for f in dataclasses.fields(RegionProfile)} - left_out
        assert set(data) == fields
        # The process sees every citation resolved: the region's own ones as they are, the rest by fallback.
        assert dict(profile.articles).items() <= data["articles"].items()
        assert data["articles"]["receipt"] == profile.article("receipt")


def test_profiles_are_immutable_and_hashable() -> None:
    sichuan = default_profile()
    with pytest.raises(dataclasses.FrozenInstanceError):
        sichuan.acceptance_days = 20  # type: ignore[misc]
    with pytest.raises(TypeError):
        sichuan.articles["acceptance"] = "x"  # type: ignore[index]
    assert len({sichuan, profile_by_key("sichuan"), profile_by_key("beijing")}) == 2


# ---------------------------------------------------------------------------------------------------------
# Checking the TOML
# ---------------------------------------------------------------------------------------------------------


def test_packaged_file_parses_the_same_through_every_entry_point() -> None:
    text = resources.files("tasks").joinpath("regions.toml").read_text(encoding="utf-8")
    assert profiles_from_toml(text) == load_profiles()
    assert parse_profiles(packaged_data()) == load_profiles()


def test_missing_field() -> None:
    data = packaged_data()
    del data["profiles"]["beijing"]["publicity_days"]
    assert config_problems(data) == ["地区 beijing 缺少字段 publicity_days"]


def test_wrong_types() -> None:
    data = packaged_data()
    data["profiles"]["jilin"]["acceptance_days"] = "10"
    data["profiles"]["jilin"]["higher_review_on_municipal_path"] = 1
    data["profiles"]["jilin"]["validity_years"] = True
    data["profiles"]["jilin"]["statement_days"] = 0
    problems = config_problems(data)
    assert "地区 jilin 的字段 acceptance_days应为整数，实为字符串 '10'" in problems
    assert "地区 jilin 的字段 higher_review_on_municipal_path应为布尔值（true/false），实为整数 1" in problems
    assert "地区 jilin 的字段 validity_years应为整数，实为布尔值 True" in problems
    assert "地区 jilin 的字段 statement_days应为正整数，实为 0" in problems
    assert len(problems) == 4


def test_unknown_fields_and_keys() -> None:
    data = packaged_data()
    data["profiles"]["xpcc"]["acceptance_day"] = 10
    data["profiles"]["xpcc"]["articles"]["acceptence"] = "x"
    data["extra"] = 1
    problems = config_problems(data)
    assert "未知的顶层字段 extra" in problems
    assert "地区 xpcc 有未知字段 acceptance_day" in problems
    assert any(p.startswith("地区 xpcc 的字段 articles含未知条文键：acceptence") for p in problems)


def test_default_must_exist_and_cite_the_fallback_articles() -> None:
    data = packaged_data()
    data["default"] = "hebei"
    assert any("default = \"hebei\" 不是已配置的地区" in p for p in config_problems(data))
    data = packaged_data()
    del data["profiles"]["sichuan"]["articles"]["publicity"]
    assert config_problems(data) == [
        "默认地区 sichuan 的 articles 缺少：publicity（其他地区以它为参照）"
    ]


def test_batches_need_a_citation_and_valid_dates() -> None:
    data = packaged_data()
    del data["profiles"]["beijing"]["articles"]["batch"]
    assert config_problems(data) == ["地区 beijing 设有申报批次，articles 中须有 batch（批次的条文依据）"]
    data = packaged_data()
    data["profiles"]["beijing"]["batch_deadlines"] = ["10-31", "05-31"]
    assert config_problems(data) == ["地区 beijing 的 batch_deadlines 应按日期升序排列且不重复"]
    data = packaged_data()
    data["profiles"]["beijing"]["batch_deadlines"] = ["02-29", "13-01", "5-31"]
    (problem,) = config_problems(data)
    assert "含无效日期：02-29、13-01、5-31" in problem


def test_batch_opens_must_match_and_not_overlap() -> None:
    data = packaged_data()
    data["profiles"]["beijing"]["batch_opens"] = ["05-01"]
    assert any("一一对应" in p for p in config_problems(data))
    data["profiles"]["beijing"]["batch_opens"] = ["05-01", "05-15"]
    assert config_problems(data) == ["地区 beijing 的申报期（batch_opens 至 batch_deadlines）相互重叠"]
    data["profiles"]["beijing"]["batch_opens"] = ["11-01", "06-01"]   # 11-01 of the year before .. 05-31
    beijing = parse_profiles(data)["beijing"]
    assert beijing.batch_opens == ("11-01", "06-01")
    data = packaged_data()
    data["profiles"]["sichuan"]["batch_opens"] = ["05-01"]
    assert "地区 sichuan 没有 batch_deadlines 时不应设置 batch_opens" in config_problems(data)


def test_number_format_must_be_unique_per_year_and_sequence() -> None:
    for bad, expected in [
        ("川技评备〔{year}〕号", "缺少占位符：{seq}"),
        ("川技评备{seq:04d}号", "缺少占位符：{year}"),
        ("川{year}{seq}{county}", "含未知占位符：county"),
        ("川{year}{seq:04s}", "无法格式化"),
        ("川{year}{seq", "不是有效的格式字符串"),
        ("川{year}-{seq:.1}", "无法格式化"),
    ]:
        data = packaged_data()
        data["profiles"]["sichuan"]["number_format"] = bad
        (problem,) = config_problems(data)
        assert problem.startswith("地区 sichuan 的字段 number_format"), problem
        assert expected in problem, problem


def test_number_format_collision_across_regions() -> None:
    data = packaged_data()
    data["profiles"]["jilin"]["province_abbr"] = "川"
    (problem,) = config_problems(data)
    assert "地区 jilin 与地区 sichuan 会生成相同的备案编号（如 川技评备〔2026〕0001号）" in problem


def test_province_codes_are_real_and_distinct() -> None:
    data = packaged_data()
    data["profiles"]["jilin"]["province_code"] = "51"
    assert "地区 jilin 与地区 sichuan 的 province_code 同为 51" in config_problems(data)
    data = packaged_data()
    data["profiles"]["jilin"]["province_code"] = "99"
    assert config_problems(data) == ["地区 jilin 的字段 province_code“99”不是省级行政区划代码"]


def test_level_names_and_institution_types() -> None:
    data = packaged_data()
    data["profiles"]["shanghai"]["authority_level_names"] = {"provincial": "市"}
    data["profiles"]["shanghai"]["higher_review_institution_types"] = ["school", "college"]
    problems = config_problems(data)
    prefix = "地区 shanghai 的字段 authority_level_names应为含 provincial 与 municipal"
    assert any(p.startswith(prefix) for p in problems)
    assert any("含未知机构类型：college" in p for p in problems)


def test_all_problems_at_once_and_toml_syntax() -> None:
    data = packaged_data()
    del data["profiles"]["xpcc"]["name"]
    data["profiles"]["shanghai"]["publicity_days"] = -1
    with pytest.raises(RegionConfigError) as caught:
        parse_profiles(data)
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("地区配置（regions.toml）有误：")
    with pytest.raises(RegionConfigError, match="TOML 语法错误"):
        profiles_from_toml("default = \n")
    with pytest.raises(RegionConfigError, match=r"缺少 \[profiles"):
        profiles_from_toml('default = "sichuan"\n')


def test_custom_profile_set_uses_its_own_default_for_fallback() -> None:
    data = packaged_data()
    data["default"] = "jilin"
    for key in ("application_materials", "acceptance", "assessors", "expert_review", "publicity",
                "receipt", "filing_number", "validity"):
        data["profiles"]["jilin"]["articles"].setdefault(key, f"{articles.JILIN} 测试条文 {key}")
    profiles = parse_profiles(copy.deepcopy(data))
    assert profiles["beijing"].article("acceptance") == f"参照{articles.JILIN} 测试条文 acceptance"
    assert profiles["jilin"].fallback_articles == {}


def test_a_regions_own_citations_are_of_its_own_text() -> None:
    data = packaged_data()
    data["profiles"]["beijing"]["articles"]["acceptance"] = "川人社办发〔2019〕94号 附件3 一.2"
    data["profiles"]["xpcc"]["articles"]["receipt"] = f"{articles.XPCC}第十三条（同{articles.SICHUAN} 附件3 一.4）"
    data["profiles"]["jilin"]["document_titles"] = {"rejection_notice": "不予受理决定书"}
    problems = "\n".join(config_problems(data))
    assert "地区 beijing 的 articles.acceptance 应以本地区文件 京人社职鉴发〔2020〕3号 开头" in problems
    assert f"地区 xpcc 的 articles.receipt 引用了其他地区的文件 {articles.SICHUAN}" in problems
    assert "地区 jilin 的 document_titles 含不能改名的文书 rejection_notice" in problems


def test_issuer_defaults_are_checked() -> None:
    data = packaged_data()
    data["profiles"]["sichuan"]["issuers"]["municipal"] = {"name": "{city}职鉴中心", "short": "川"}
    data["profiles"]["jilin"]["issuers"] = {"provincial": {"name": "吉林省人社厅", "short": "吉"}}
    data["profiles"]["shanghai"]["receipt_level"] = "national"
    problems = "\n".join(config_problems(data))
    assert "地区 sichuan 的字段 issuers的 municipal.name 只能用占位符 {division}" in problems
    assert "地区 jilin 的字段 issuers应为含 provincial 与 municipal 两项的表" in problems
    assert "地区 shanghai 的字段 receipt_level应为“case”或“provincial”" in problems
