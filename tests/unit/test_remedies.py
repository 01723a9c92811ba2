"""Every decision against an institution says how to challenge it, before whom (行政复议法 第二十、二十四条; 行政诉讼法
第四十六条)."""

from __future__ import annotations

import pytest

from tasks.remedies import is_adverse, remedy_text, review_body


@pytest.mark.parametrize(("authority", "body"), [
    ("510000", "四川省人民政府"), ("510100", "成都市人民政府"), ("110108", "北京市海淀区人民政府"),
    ("310000", "上海市人民政府"), ("220100", "长春市人民政府"), ("660000", "新疆生产建设兵团"),
    ("519900", "四川省（519900）人民政府"),
])
def test_the_review_body_is_the_government_at_the_deciding_departments_level(authority: str, body: str) -> None:
    assert review_body(authority) == body


def test_the_remedy_names_both_ways_and_their_periods() -> None:
    text = remedy_text("510100")
    assert "六十日内向成都市人民政府申请行政复议" in text and "六个月内依法向人民法院提起行政诉讼" in text


@pytest.mark.parametrize(("kind", "termination", "adverse"), [
    ("rejection_notice", None, True), ("not_filed_notice", None, True), ("warning_notice", None, True),
    ("renewal_refusal", None, True), ("suspension_notice", None, True), ("termination_notice", "ordered", True),
    ("termination_notice", "automatic", True), ("termination_notice", "voluntary", False),
    ("filing_receipt", None, False), ("supplement_notice", None, False),
])
def test_which_documents_are_adverse(kind: str, termination: str | None, adverse: bool) -> None:
    assert is_adverse(kind, termination) is adverse


@pytest.mark.parametrize(("kind", "decision", "adverse"), [
    ("review_decision", "uphold", True), ("review_decision", "revoke", False),
    ("certificate_revocation_notice", None, True), ("delisting_notice", None, True),
    ("correct_now_notice", None, False), ("annual_report_request", None, False),
])
def test_a_review_that_upholds_a_termination_and_the_regions_own_decisions(kind: str, decision: str | None,
                                                                          adverse: bool) -> None:
    assert is_adverse(kind, None, decision) is adverse


def test_an_interview_is_adverse_only_when_it_declares_the_results_invalid() -> None:
    # 约谈 alone is supervision (Jilin 第二十五条); results declared invalid decide against the institution.
    assert is_adverse("interview_notice") is False
    assert is_adverse("interview_notice", invalid_results=True) is True
