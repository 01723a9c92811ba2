"""Each region's checklist of application materials (申请材料清单): packaged values, lookup, checking of the TOML."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import pytest

from tasks.articles import REFERENCE_PREFIX
from tasks.regions import (
    INSTITUTION_TYPES,
    MATERIAL_KEY,
    OTHER_MATERIAL,
    MaterialItem,
    RegionConfigError,
    load_profiles,
    profile_by_key,
    profiles_from_toml,
)

SICHUAN = "川人社办发〔2019〕94号"
SHANGHAI = "上海市人社局《关于加强职业技能等级认定规范管理的通知》（2024年4月26日）"


def own_items(key: str) -> tuple[MaterialItem, ...]:
    """The region's checklist without the 其他材料 item the code appends to every checklist."""
    return tuple(item for item in profile_by_key(key).materials if item is not OTHER_MATERIAL)


# ---------------------------------------------------------------------------------------------------------
# Packaged checklists
# ---------------------------------------------------------------------------------------------------------


def test_every_region_has_a_checklist_with_unique_well_formed_keys() -> None:
    for profile in load_profiles().values():
        keys = [item.key for item in profile.materials]
        assert own_items(profile.key), profile.key
        assert len(keys) == len(set(keys)), profile.key
        assert profile.materials[-1] is OTHER_MATERIAL
        for item in own_items(profile.key):
            assert MATERIAL_KEY.fullmatch(item.key), item.key
            assert item.name.strip() and item.article and item.article.strip(), item
            assert set(item.institution_types) <= set(INSTITUTION_TYPES), item
            assert item.required or item.note, f"{profile.key} {item.key}: say when an optional item is needed"


def test_sichuan_lists_the_eight_items_of_its_article_five() -> None:
    items = own_items("sichuan")
    assert [(item.key, item.article) for item in items] == [
        ("application_form", f"{SICHUAN} 五（一）"),
        ("legal_person_certificate", f"{SICHUAN} 五（二）"),
        ("occupations_and_standards", f"{SICHUAN} 五（三）"),
        ("question_bank", f"{SICHUAN} 五（四）"),
        ("site_equipment_proof", f"{SICHUAN} 五（五）"),
        ("staff_qualifications", f"{SICHUAN} 五（六）"),
        ("management_rules", f"{SICHUAN} 五（七）"),
        ("work_plan", f"{SICHUAN} 五（八）"),
    ]
    assert all(item.required and not item.institution_types and item.borrowed_from is None for item in items)
    assert items[0].name == "《企业职业技能等级认定备案申请表》"
    assert items[1].name == "法人登记证书复印件"
    sichuan = profile_by_key("sichuan")
    assert sichuan.materials_note == "上述材料能通过网络核验的，可不提供书面材料"
    assert sichuan.materials_borrowed_from is None


def test_beijing_lists_the_five_items_of_six_one() -> None:
    items = own_items("beijing")
    assert [item.key for item in items] == [
        "application_form", "work_plan", "training_and_pay_policies", "occupations_and_standards",
        "site_equipment_proof",
    ]
    assert [item.article for item in items] == [f"京人社职鉴发〔2020〕3号 六（一）{n}" for n in range(1, 6)]
    assert items[0].name == "《北京市企业职业技能等级认定申请表》"
    assert all(item.required for item in items)
    assert profile_by_key("beijing").materials_borrowed_from is None


@pytest.mark.parametrize("key", ["xpcc", "jilin", "shanghai"])
def test_regions_without_a_list_borrow_sichuans_marked_for_reference(key: str) -> None:
    profile = profile_by_key(key)
    assert profile.materials_borrowed_from == "sichuan"
    assert profile.materials_note is None      # Sichuan's online-verification rule is Sichuan's own
    sichuan = own_items("sichuan")
    borrowed = own_items(key)[: len(sichuan)]
    for mine, lent in zip(borrowed, sichuan, strict=True):
        assert mine == dataclasses.replace(lent, article=REFERENCE_PREFIX + str(lent.article), borrowed_from="sichuan")
    for item in own_items(key)[len(sichuan):]:
        assert item.borrowed_from is None and not str(item.article).startswith(REFERENCE_PREFIX)


def test_xpcc_borrows_only_and_jilin_adds_its_subsidiary_list() -> None:
    assert len(own_items("xpcc")) == 8
    jilin = profile_by_key("jilin")
    subsidiaries = jilin.material("subsidiary_list")
    assert subsidiaries is not None
    assert subsidiaries.article == "《吉林省职业技能等级评价机构管理办法（试行）》（征求意见稿）第十一条"
    assert not subsidiaries.required and subsidiaries.institution_types == ("employer",)
    assert subsidiaries in jilin.materials_for("employer")
    assert subsidiaries not in jilin.materials_for("social")
    assert subsidiaries not in jilin.required_materials("employer")


def test_shanghai_consents_apply_to_the_types_its_text_names() -> None:
    shanghai = profile_by_key("shanghai")
    supervisor = shanghai.material("supervisor_consent")
    district = shanghai.material("district_hr_consent")
    assert supervisor is not None and district is not None
    assert supervisor.article == f"{SHANGHAI}三（一）1、2、3"
    assert district.article == f"{SHANGHAI}三（一）1、2"
    # 三（一）1 enterprises and 2 social organisations need both; 3 schools only the supervising department's.
    for institution_type in ("employer", "social"):
        assert {supervisor, district} <= set(shanghai.required_materials(institution_type))
    school = shanghai.required_materials("school")
    assert supervisor in school and district not in school
    assert district not in shanghai.materials_for("school")


def test_required_materials_and_lookup() -> None:
    sichuan = profile_by_key("sichuan")
    for institution_type in INSTITUTION_TYPES:
        assert sichuan.required_materials(institution_type) == own_items("sichuan")
        assert sichuan.materials_for(institution_type) == sichuan.materials
    assert sichuan.material("question_bank") == own_items("sichuan")[3]
    assert sichuan.material("other") is OTHER_MATERIAL
    assert sichuan.material("fee_schedule") is None
    assert not OTHER_MATERIAL.required and OTHER_MATERIAL.article is None
    with pytest.raises(ValueError, match="未知的机构类型“college”"):
        sichuan.required_materials("college")


def test_checklist_is_immutable_and_out_of_the_task_data() -> None:
    item = own_items("sichuan")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.required = False  # type: ignore[misc]
    assert isinstance(profile_by_key("sichuan").materials, tuple)
    for profile in load_profiles().values():
        assert not {"materials", "materials_note", "materials_borrowed_from"} & set(profile.to_dict())


# ---------------------------------------------------------------------------------------------------------
# Checking the TOML (through a temporary file, as an administrator would edit it)
# ---------------------------------------------------------------------------------------------------------


def packaged_text() -> str:
    return resources.files("tasks").joinpath("regions.toml").read_text(encoding="utf-8")


def load_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "regions.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegionConfigError) as caught:
        profiles_from_toml(path.read_text(encoding="utf-8"))
    assert str(caught.value).startswith("地区配置（regions.toml）有误：")
    return caught.value.problems


def with_item(region: str, body: str) -> str:
    """The packaged file with one more item appended to ``region``'s checklist."""
    return packaged_text() + f"\n[[profiles.{region}.materials]]\n{body}\n"


def test_the_packaged_file_loads_through_the_text_loader(tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(packaged_text(), encoding="utf-8")
    assert profiles_from_toml(path.read_text(encoding="utf-8")) == load_profiles()


def test_duplicate_key(tmp_path: Path) -> None:
    text = with_item("beijing", 'key = "work_plan"\nname = "工作方案"\narticle = "京 六"\nrequired = true')
    assert load_problems(tmp_path, text) == ["地区 beijing 的申请材料键 work_plan 重复（第 2、6 项）"]
    text = with_item("beijing", 'key = "x"\nname = "某"\narticle = "京 六"\nrequired = false\n'
                                'institution_types = ["school", "school"]')
    assert load_problems(tmp_path, text) == [
        "地区 beijing 的申请材料第 6 项（x） 的字段 institution_types不应有重复的机构类型"
    ]


def test_malformed_items_are_all_reported_naming_region_item_and_field(tmp_path: Path) -> None:
    text = packaged_text() + "".join(
        f"\n[[profiles.shanghai.materials]]\n{body}\n" for body in (
            'key = "consent"\nname = "同意意见"\narticle = "沪 三"\nrequired = true\n'
            'institution_types = ["school", "college"]',
            'key = "no_name"\narticle = "沪 三"\nrequired = true',
            'key = "Bad-Key"\nname = "坏键"\narticle = "沪 三"\nrequired = true',
            'key = "other"\nname = "其他"\narticle = "沪 三"\nrequired = false',
            'key = "blank"\nname = " "\narticle = ""\nrequired = "yes"\nwhy = 1',
        )
    )
    problems = load_problems(tmp_path, text)
    assert problems == [
        "地区 shanghai 的申请材料第 3 项（consent） 的字段 institution_types含未知机构类型：college"
        "（可选 employer、social、school）",
        "地区 shanghai 的申请材料第 4 项（no_name） 缺少字段 name",
        "地区 shanghai 的申请材料第 5 项（Bad-Key） 的字段 key“Bad-Key”应为小写 ASCII 字母、数字和下划线"
        "（如 application_form）",
        "地区 shanghai 的申请材料第 6 项（other） 的字段 key“other”是保留键（“其他材料”由系统附加在每个清单末尾）",
        "地区 shanghai 的申请材料第 7 项（blank） 有未知字段 why",
        "地区 shanghai 的申请材料第 7 项（blank） 的字段 name应为非空字符串，实为字符串 ' '",
        "地区 shanghai 的申请材料第 7 项（blank） 的字段 article应为非空字符串，实为字符串 ''",
        "地区 shanghai 的申请材料第 7 项（blank） 的字段 required应为布尔值（true/false），实为字符串 'yes'",
    ]


def test_missing_key_and_wrong_shape(tmp_path: Path) -> None:
    text = with_item("sichuan", 'name = "无键"\narticle = "川 五"\nrequired = true')
    assert load_problems(tmp_path, text) == ["地区 sichuan 的申请材料第 9 项 缺少字段 key"]
    # materials as a plain value instead of a list of tables; the items moved under a misspelt name
    text = packaged_text().replace("[[profiles.sichuan.materials]]", "[[profiles.sichuan.material]]").replace(
        "materials_note = ", 'materials = "全部"\nmaterials_note = ', 1)
    assert load_problems(tmp_path, text) == [
        "地区 sichuan 有未知字段 material",
        "地区 sichuan 的字段 materials应为非空的表数组（[[profiles.<地区>.materials]]），实为字符串 '全部'",
    ]


def test_a_region_needs_a_checklist_of_its_own_or_borrowed(tmp_path: Path) -> None:
    text = packaged_text().replace('materials_borrowed_from = "sichuan"\n', "", 1)   # the first is xpcc's
    assert load_problems(tmp_path, text) == [
        "地区 xpcc 缺少申请材料清单（[[profiles.xpcc.materials]]，或以 materials_borrowed_from 参照其他地区）"
    ]


@pytest.mark.parametrize(
    ("lender", "expected"),
    [
        ("hebei", '地区 xpcc 的 materials_borrowed_from = "hebei" 不是已配置的地区'),
        ("xpcc", "地区 xpcc 的 materials_borrowed_from 不能是本地区"),
        ("jilin", "地区 xpcc 参照的地区 jilin 须有自己的申请材料清单（不能再参照其他地区）"),
    ],
)
def test_borrowing_must_name_a_region_with_its_own_checklist(tmp_path: Path, lender: str, expected: str) -> None:
    text = packaged_text().replace('materials_borrowed_from = "sichuan"', f'materials_borrowed_from = "{lender}"', 1)
    assert load_problems(tmp_path, text) == [expected]


def test_own_items_may_not_repeat_a_borrowed_key(tmp_path: Path) -> None:
    text = with_item("jilin", 'key = "question_bank"\nname = "题库"\narticle = "吉 第九条"\nrequired = true')
    assert load_problems(tmp_path, text) == [
        "地区 jilin 的申请材料 question_bank 与参照的地区 sichuan 的清单重复（键须不同）"
    ]
