"""Who issues a document and its number (tasks/issuers.py): the regions' defaults, the checked number formats and
seals, and the legal basis a served document may cite (workflows/issuing.py)."""

from __future__ import annotations

import struct
import zlib

import pytest

from tasks.articles import JILIN, SICHUAN
from tasks.issuers import (
    DEFAULT_NUMBER_FORMAT,
    KIND_WORDS,
    Issuer,
    default_issuer,
    field_problems,
    format_number,
    number_format_problem,
    seal_problem,
)
from tasks.regions import profile_for_region
from workflows.issuing import served_basis


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + b"IHDR" + header
            + struct.pack(">I", zlib.crc32(b"IHDR" + header)))


@pytest.mark.parametrize(("authority", "name", "on_behalf_of", "number"), [
    # Sichuan 附件3 一.4、二.5: the 职鉴中心 issues on behalf of the 人社部门 of its level.
    ("510000", "四川省职业技能鉴定指导中心", "四川省人力资源和社会保障厅", "川技鉴不受〔2026〕12号"),
    ("510100", "成都市职业技能鉴定指导中心", "成都市人力资源和社会保障局", "成都技鉴不受〔2026〕12号"),
    # Beijing 四: the 市鉴定中心 confirms and issues; a district's bureau takes the district's applications.
    ("110000", "北京市职业技能鉴定管理中心", None, "京职技鉴不受〔2026〕12号"),
    ("110108", "北京市海淀区人力资源和社会保障局", None, "京海淀人社不受〔2026〕12号"),
    ("220100", "长春市人力资源和社会保障局", None, "长春人社不受〔2026〕12号"),
    ("310115", "上海市浦东新区人力资源和社会保障局", None, "沪浦东人社不受〔2026〕12号"),
    ("660000", "新疆生产建设兵团人力资源和社会保障局", None, "兵人社不受〔2026〕12号"),
])
def test_each_authority_issues_in_its_own_name_by_default(authority: str, name: str, on_behalf_of: str | None,
                                                          number: str) -> None:
    issuer = default_issuer(authority)
    assert (issuer.name, issuer.on_behalf_of) == (name, on_behalf_of)
    assert issuer.number("rejection_notice", 2026, 12) == number
    assert not issuer.configured and not issuer.needs_setting


def test_a_default_naming_an_unlisted_division_by_its_code_asks_to_be_set() -> None:
    issuer = default_issuer("661000")  # a 师市 of the Corps: not in GB/T 2260
    assert issuer.name == "新疆生产建设兵团661000人力资源和社会保障局"
    assert issuer.needs_setting


def test_each_kind_has_its_own_word_and_register_unless_the_format_shares_one() -> None:
    assert len(set(KIND_WORDS.values())) == len(KIND_WORDS)
    issuer = default_issuer("510100")
    assert issuer.register("rejection_notice", 2026) == "doc:510100:2026:rejection_notice"
    assert issuer.register("rejection_notice", 2027) != issuer.register("rejection_notice", 2026)
    shared = Issuer("510100", "成都市职业技能鉴定指导中心", None, "成都技鉴", "{short}〔{year}〕{seq}号")
    assert shared.register("rejection_notice", 2026) == shared.register("warning_notice", 2026) == "doc:510100:2026:*"
    assert shared.number("warning_notice", 2026, 7) == "成都技鉴〔2026〕7号"


def test_numbers_are_formatted_without_str_format() -> None:
    assert format_number(DEFAULT_NUMBER_FORMAT, short="川技鉴", kind="备", year=2026, seq=3) == "川技鉴备〔2026〕3号"
    assert format_number("{short}〔{year}〕{seq:04d}号", short="川技鉴", kind="备", year=2026, seq=3) == \
        "川技鉴〔2026〕0003号"


@pytest.mark.parametrize(("number_format", "problem"), [
    ("", "不能为空"),
    ("{short}〔{year}〕号", "须含 {year} 和 {seq}"),
    ("{short}{seq.__class__}〔{year}〕", "无法识别的占位符"),
    ("{short}〔{year}〕{seq:>999999999}号", "无法识别的占位符"),
    ("{short}〔{year}〕{seq:09d}号", "无法识别的占位符"),
    ("{short}{year:04d}{seq}", "只有序号"),
    ("{short}〔{year}〕{seq}{seq}号", "只能出现一次"),
    ("{short}〔{year}〕{seq}号{", "无法识别的占位符"),
    ("{short}〔{year}〕\n{seq}号", "换行"),
    ("{short}" + "字" * 40 + "{year}{seq}", "过长"),
])
def test_a_bad_number_format_is_refused_with_its_reason(number_format: str, problem: str) -> None:
    found = number_format_problem(number_format)
    assert found is not None and problem in found


def test_an_issuer_is_checked_whole() -> None:
    assert field_problems("成都市职业技能鉴定指导中心", "成都市人力资源和社会保障局", "成都技鉴",
                          DEFAULT_NUMBER_FORMAT) == []
    problems = field_problems(" ", "甲", "代字太长太长太长太长太长太长", "{short}")
    assert [p[:6] for p in problems] == ["发文机关名称", "机关代字过长", "文号格式须含"]
    assert field_problems("甲局", "甲局", "甲", DEFAULT_NUMBER_FORMAT) == [
        "委托机关不能是发文机关本身（本机关自行发文时委托机关留空）"]


def test_a_seal_is_a_png_of_a_sensible_size() -> None:
    assert seal_problem(png(600, 600)) is None
    assert "PNG" in (seal_problem(b"GIF89a" + b"\0" * 40) or "")
    assert "尺寸" in (seal_problem(png(100_000, 100_000)) or "")
    assert "过大" in (seal_problem(png(600, 600) + b"\0" * 600_000) or "")
    assert seal_problem(b"") == "印章图片为空"


def test_a_served_document_cites_only_its_regions_own_rules() -> None:
    sichuan = profile_for_region("510100")
    own = sichuan.article("acceptance")
    borrowed = sichuan.article("renewal")  # Sichuan's text is silent on renewal: 参照 Jilin
    assert borrowed.startswith("参照")
    basis = served_basis(sichuan, [own, borrowed, own])
    assert basis.cited == [own] and basis.references == [borrowed]
    # Nothing of its own: the region's rules as a whole, never another region's article.
    only_borrowed = served_basis(sichuan, [borrowed])
    assert only_borrowed.cited == [SICHUAN] and only_borrowed.references == [borrowed]
    beijing = profile_for_region("110108")
    assert served_basis(beijing, [sichuan.article("acceptance")]).cited == ["京人社职鉴发〔2020〕3号"]
    jilin = profile_for_region("220100")
    assert served_basis(jilin, [jilin.article("statement")]).cited == [jilin.article("statement")]
    assert jilin.article("statement").startswith(JILIN)
    # National standards are everyone's.
    assert served_basis(beijing, [beijing.article("credit_code")]).cited == [beijing.article("credit_code")]
