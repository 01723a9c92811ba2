"""Pre-checks of a new application: assessors per occupation, active filings, batch windows, the credit registry's
answers about the institution and its legal representative."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tasks.application import validate_application
from tasks.prechecks import (
    CheckFailure,
    CreditLookup,
    IntakeBatch,
    credit_failures,
    intake_batch,
    next_intake_batch,
    run_prechecks,
)
from tasks.regions import RegionProfile, profile_by_key

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "examples" / "application.json"
RECEIVED = date(2026, 11, 3)


class InMemoryFilings:
    """Active filings held in a dict: (credit code, occupation code) -> filing number."""

    def __init__(self, filings: dict[tuple[str, str], str] | None = None) -> None:
        self.filings = dict(filings or {})
        self.calls: list[tuple[str, list[str]]] = []

    def active_filing_numbers(self, credit_code: str, occupation_codes: Sequence[str]) -> dict[str, str]:
        self.calls.append((credit_code, list(occupation_codes)))
        return {
            code: number for (holder, code), number in self.filings.items()
            if holder == credit_code and code in occupation_codes
        }


class OverEagerFilings(InMemoryFilings):
    """An adapter that also returns occupations nobody asked about."""

    def active_filing_numbers(self, credit_code: str, occupation_codes: Sequence[str]) -> dict[str, str]:
        found = super().active_filing_numbers(credit_code, occupation_codes)
        return {**found, "4-03-02-01": "川技评备〔2024〕0099号"}


@pytest.fixture()
def application() -> dict[str, Any]:
    return validate_application(json.loads(EXAMPLE_PATH.read_text(encoding="utf-8")))


@pytest.fixture()
def sichuan() -> RegionProfile:
    return profile_by_key("sichuan")


@pytest.fixture()
def beijing() -> RegionProfile:
    return profile_by_key("beijing")


@pytest.fixture()
def jilin() -> RegionProfile:
    return profile_by_key("jilin")


def test_the_example_passes(application: dict[str, Any], sichuan: RegionProfile) -> None:
    filings = InMemoryFilings()
    assert run_prechecks(application, sichuan, RECEIVED, filings) == []
    assert filings.calls == [("91510104MA6C8H2K5N", ["6-18-01-01", "6-31-01-03"])]


# ---------------------------------------------------------------------------------------------------------
# Assessors
# ---------------------------------------------------------------------------------------------------------


def test_too_few_assessors_names_the_occupation_and_the_people(
    application: dict[str, Any], sichuan: RegionProfile
) -> None:
    application["assessors"] = [a for a in application["assessors"] if a["name"] != "陈静"]
    failures = run_prechecks(application, sichuan, RECEIVED, InMemoryFilings())
    assert failures == [
        CheckFailure(
            code="assessors",
            message="职业 6-18-01-01 车工的考评人员只有 2 人（张志强、刘海波），至少需要 3 人",
            article="川人社办发〔2019〕94号 二（五）",
        )
    ]


def test_an_occupation_without_assessors(application: dict[str, Any], sichuan: RegionProfile) -> None:
    application["assessors"] = [a for a in application["assessors"] if a["occupation"] != "6-31-01-03"]
    (failure,) = run_prechecks(application, sichuan, RECEIVED, InMemoryFilings())
    assert failure.message == "职业 6-31-01-03 电工没有考评人员，至少需要 3 人"


def test_one_failure_per_short_occupation(application: dict[str, Any], sichuan: RegionProfile) -> None:
    application["assessors"] = application["assessors"][:2] + application["assessors"][3:5]
    failures = run_prechecks(application, sichuan, RECEIVED, InMemoryFilings())
    assert [f.code for f in failures] == ["assessors", "assessors"]
    assert "6-18-01-01" in failures[0].message and "6-31-01-03" in failures[1].message


def test_the_same_person_counts_once(application: dict[str, Any], sichuan: RegionProfile) -> None:
    # Two entries with one ID-card number are one person, whatever the names say.
    application["assessors"][0]["id_number"] = "510104198001011234"
    application["assessors"][1]["id_number"] = "510104198001011234"
    (failure,) = run_prechecks(application, sichuan, RECEIVED, InMemoryFilings())
    assert "只有 2 人" in failure.message


def test_the_minimum_is_a_region_setting(application: dict[str, Any], sichuan: RegionProfile) -> None:
    stricter = dataclasses.replace(sichuan, min_assessors_per_occupation=4)
    failures = run_prechecks(application, stricter, RECEIVED, InMemoryFilings())
    assert len(failures) == 2
    assert all("至少需要 4 人" in f.message and "只有 3 人" in f.message for f in failures)


def test_other_regions_cite_sichuan_for_reference(
    application: dict[str, Any], beijing: RegionProfile
) -> None:
    application["assessors"] = application["assessors"][1:]
    (failure,) = run_prechecks(application, beijing, date(2026, 5, 20), InMemoryFilings())
    assert failure.article == "参照川人社办发〔2019〕94号 二（五）"


# ---------------------------------------------------------------------------------------------------------
# Active filings
# ---------------------------------------------------------------------------------------------------------


def test_active_filing_for_the_same_occupation(application: dict[str, Any], sichuan: RegionProfile) -> None:
    filings = InMemoryFilings({
        ("91510104MA6C8H2K5N", "6-31-01-03"): "川技评备〔2025〕0007号",
        ("91510100201907290R", "6-18-01-01"): "川技评备〔2025〕0001号",   # another institution
    })
    (failure,) = run_prechecks(application, sichuan, RECEIVED, filings)
    assert failure.code == "active_filing"
    assert failure.message == (
        "本机构（统一社会信用代码 91510104MA6C8H2K5N）以下职业已有有效备案，不能重复申请备案："
        "6-31-01-03 电工（备案编号 川技评备〔2025〕0007号）。如需调整职业或延续备案，请办理变更或续期"
    )
    assert failure.article.startswith("参照《吉林省职业技能等级评价机构管理办法（试行）》")
    assert "第三十条（二）" in failure.article


def test_all_filed_occupations_are_listed_in_application_order(
    application: dict[str, Any], sichuan: RegionProfile
) -> None:
    filings = InMemoryFilings({
        ("91510104MA6C8H2K5N", "6-31-01-03"): "川技评备〔2025〕0007号",
        ("91510104MA6C8H2K5N", "6-18-01-01"): "川技评备〔2024〕0003号",
    })
    (failure,) = run_prechecks(application, sichuan, RECEIVED, filings)
    first = failure.message.index("6-18-01-01 车工（备案编号 川技评备〔2024〕0003号）")
    second = failure.message.index("6-31-01-03 电工（备案编号 川技评备〔2025〕0007号）")
    assert first < second


def test_answers_about_other_occupations_are_ignored(
    application: dict[str, Any], sichuan: RegionProfile
) -> None:
    assert run_prechecks(application, sichuan, RECEIVED, OverEagerFilings()) == []


# ---------------------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------------------


def test_continuous_intake_has_no_batches(sichuan: RegionProfile) -> None:
    assert intake_batch(sichuan, RECEIVED) is None
    assert next_intake_batch(sichuan, RECEIVED) is None


@pytest.mark.parametrize(
    ("received", "opens", "closes", "number"),
    [
        (date(2026, 1, 15), date(2025, 11, 1), date(2026, 5, 31), 1),
        (date(2025, 11, 1), date(2025, 11, 1), date(2026, 5, 31), 1),
        (date(2026, 5, 31), date(2025, 11, 1), date(2026, 5, 31), 1),   # the deadline day is in
        (date(2026, 6, 1), date(2026, 6, 1), date(2026, 10, 31), 2),
        (date(2026, 10, 31), date(2026, 6, 1), date(2026, 10, 31), 2),
        (date(2026, 11, 1), date(2026, 11, 1), date(2027, 5, 31), 1),
        (date(2026, 12, 31), date(2026, 11, 1), date(2027, 5, 31), 1),
    ],
)
def test_beijing_next_batch_reading(
    beijing: RegionProfile, received: date, opens: date, closes: date, number: int
) -> None:
    assert intake_batch(beijing, received) == IntakeBatch(number=number, opens_on=opens, closes_on=closes)


def test_beijing_never_fails_the_window(application: dict[str, Any], beijing: RegionProfile) -> None:
    day = date(2026, 1, 1)
    while day < date(2028, 1, 1):
        assert run_prechecks(application, beijing, day, InMemoryFilings()) == [], day
        day += timedelta(days=1)


def test_batch_label_and_dict(beijing: RegionProfile) -> None:
    batch = intake_batch(beijing, date(2026, 11, 20))
    assert batch is not None
    assert batch.label == "2027年第1批（2027年5月31日截止）"
    assert batch.to_dict() == {
        "number": 1,
        "opens_on": "2026-11-01",
        "closes_on": "2027-05-31",
        "label": "2027年第1批（2027年5月31日截止）",
    }
    assert json.loads(json.dumps(batch.to_dict())) == batch.to_dict()


def test_fixed_intake_periods_fail_outside(application: dict[str, Any], beijing: RegionProfile) -> None:
    fixed = dataclasses.replace(beijing, batch_opens=("05-01", "10-01"))
    for inside in (date(2026, 5, 1), date(2026, 5, 31), date(2026, 10, 1), date(2026, 10, 31)):
        assert run_prechecks(application, fixed, inside, InMemoryFilings()) == [], inside
    (failure,) = run_prechecks(application, fixed, date(2026, 7, 15), InMemoryFilings())
    assert failure == CheckFailure(
        code="batch_window",
        message=(
            "申请于2026年7月15日收到，不在申报期内。北京市每年的申报期为5月1日至5月31日、10月1日至10月31日；"
            "下一申报期为2026年10月1日至2026年10月31日"
        ),
        article="京人社职鉴发〔2020〕3号 五",
    )
    (late,) = run_prechecks(application, fixed, date(2026, 11, 1), InMemoryFilings())
    assert late.message.endswith("下一申报期为2027年5月1日至2027年5月31日")
    (early,) = run_prechecks(application, fixed, date(2026, 4, 30), InMemoryFilings())
    assert early.message.endswith("下一申报期为2026年5月1日至2026年5月31日")


def test_fixed_period_across_the_new_year(beijing: RegionProfile) -> None:
    winter = dataclasses.replace(beijing, batch_deadlines=("01-31",), batch_opens=("11-01",))
    assert intake_batch(winter, date(2026, 12, 15)) == IntakeBatch(1, date(2026, 11, 1), date(2027, 1, 31))
    assert intake_batch(winter, date(2027, 1, 31)) == IntakeBatch(1, date(2026, 11, 1), date(2027, 1, 31))
    assert intake_batch(winter, date(2027, 2, 1)) is None
    assert next_intake_batch(winter, date(2027, 2, 1)) == IntakeBatch(1, date(2027, 11, 1), date(2028, 1, 31))


# ---------------------------------------------------------------------------------------------------------
# Credit (the registry's answers; the lookups themselves are the step's)
# ---------------------------------------------------------------------------------------------------------

CLEAN = CreditLookup()
LISTED = CreditLookup(records=({"authority": "成都市中级人民法院", "reason": "失信被执行人", "since": "2025-06-01"},))
UNREACHABLE = CreditLookup(error="信用信息平台（失信记录核查）：对方服务暂不可用（HTTP 503）（已尝试 2 次）")


def test_neither_listed_passes(application: dict[str, Any], sichuan: RegionProfile) -> None:
    assert credit_failures(application, CLEAN, CLEAN, sichuan) == []


def test_a_listed_legal_representative_is_named(application: dict[str, Any], sichuan: RegionProfile) -> None:
    (failure,) = credit_failures(application, CLEAN, LISTED, sichuan)
    assert failure == CheckFailure(
        "credit", "信用信息平台有法定代表人 李建国（身份证件号码 5101**********1232）的失信记录："
                  "成都市中级人民法院、失信被执行人、自 2025-06-01 起", "川人社办发〔2019〕94号 二（一）")
    assert "510104197203151232" not in failure.message  # it goes into the case history: masked


def test_institution_and_legal_representative_are_reported_separately(
        application: dict[str, Any], sichuan: RegionProfile) -> None:
    failures = credit_failures(application, LISTED, LISTED, sichuan)
    assert [f.code for f in failures] == ["credit", "credit"]
    assert failures[0].message.startswith("信用信息平台有机构的失信记录：成都市中级人民法院")
    assert failures[1].message.startswith("信用信息平台有法定代表人 李建国（")
    (institution,) = credit_failures(application, LISTED, CLEAN, sichuan)
    assert "法定代表人" not in institution.message


def test_a_missing_identity_number_is_not_a_pass(application: dict[str, Any], sichuan: RegionProfile) -> None:
    # An application received before the number was asked for: the person could not be looked up.
    del application["institution"]["legal_representative_id_number"]
    (failure,) = credit_failures(application, CLEAN, None, sichuan)
    assert failure.code == "credit" and failure.article == sichuan.article("credit")
    assert failure.message == ("未能核查法定代表人 李建国的失信记录：未提供法定代表人身份证件号码，"
                               "请人工核查后再作受理决定")
    del application["institution"]["legal_representative"]
    (failure,) = credit_failures(application, CLEAN, None, sichuan)
    assert failure.message.startswith("未能核查法定代表人的失信记录：未提供法定代表人身份证件号码，请人工核查")


def test_an_unanswered_lookup_is_not_a_pass(application: dict[str, Any], sichuan: RegionProfile) -> None:
    (person,) = credit_failures(application, CLEAN, UNREACHABLE, sichuan)
    assert person.message == (f"未能完成法定代表人 李建国（身份证件号码 5101**********1232）的失信记录核查"
                              f"（{UNREACHABLE.error}），请人工核查后再作受理决定")
    both = credit_failures(application, UNREACHABLE, UNREACHABLE, sichuan)
    assert [f.message.split("（")[0] for f in both] == ["未能完成机构的失信记录核查", "未能完成法定代表人 李建国"]


def test_the_credit_article_is_the_regions(application: dict[str, Any], jilin: RegionProfile) -> None:
    (failure,) = credit_failures(application, CLEAN, LISTED, jilin)
    assert failure.article == jilin.article("credit") and "第六条" in failure.article


# ---------------------------------------------------------------------------------------------------------
# Together
# ---------------------------------------------------------------------------------------------------------


def test_failures_come_in_a_stable_order(application: dict[str, Any], beijing: RegionProfile) -> None:
    fixed = dataclasses.replace(beijing, batch_opens=("05-01", "10-01"))
    application["assessors"] = application["assessors"][1:]
    filings = InMemoryFilings({("91510104MA6C8H2K5N", "6-18-01-01"): "京技评备〔2025〕0002号"})
    failures = run_prechecks(application, fixed, date(2026, 7, 15), filings)
    assert [f.code for f in failures] == ["batch_window", "active_filing", "assessors"]
    for failure in failures:
        expected = {"code": failure.code, "message": failure.message, "article": failure.article}
        assert failure.to_dict() == expected
        assert failure.article
