"""How an institution may challenge a decision adverse to it (DOMAIN.md "Remedies"): administrative reconsideration
within 60 days (《中华人民共和国行政复议法》第二十条) by the people's government at the deciding department's level
(第二十四条: a county-level or higher government hears the cases against its own departments), or an administrative
lawsuit within 6 months (《中华人民共和国行政诉讼法》第四十六条) before the people's court.

The deciding authority is named by its code (tasks/access.py authority_of): a province's (510000 → 四川省人民政府), a
city's or a Beijing/Shanghai district's (510100 → 成都市人民政府, 110108 → 北京市海淀区人民政府); the Corps decides as a
province does (新疆生产建设兵团). A code whose name is not listed (tasks/divisions.py) is named by its province and
code, for the caseworker to notice before serving."""

from __future__ import annotations

from typing import Final

from tasks.access import DISTRICT_LEVEL_PROVINCES
from tasks.divisions import division_name
from tasks.regions import PROVINCES

ADVERSE_KINDS: Final = frozenset({"rejection_notice", "not_filed_notice", "warning_notice", "renewal_refusal",
                                  "suspension_notice", "termination_notice", "certificate_revocation_notice",
                                  "delisting_notice"})
"""The documents that decide against the institution (a termination only when it did not ask for it)."""

_CORPS: Final = "66"


def review_body(authority: str) -> str:
    """The people's government that hears a reconsideration of the authority's decision."""
    province = PROVINCES.get(authority[:2], authority[:2])
    if authority[:2] == _CORPS and authority.endswith("0000"):
        return province
    if authority.endswith("0000"):
        return f"{province}人民政府"
    name = division_name(authority)
    if name is None:
        return f"{province}（{authority}）人民政府"
    # A district of a municipality is named with its city (北京市海淀区); a prefecture-level city by itself (成都市).
    return f"{province}{name}人民政府" if authority[:2] in DISTRICT_LEVEL_PROVINCES else f"{name}人民政府"


def remedy_text(authority: str) -> str:
    """The sentence every adverse decision ends with."""
    return (f"如不服本决定，可以自收到本决定之日起六十日内向{review_body(authority)}申请行政复议，"
            "也可以自收到本决定之日起六个月内依法向人民法院提起行政诉讼。")


def is_adverse(kind: str, termination_kind: str | None = None, decision: str | None = None,
               invalid_results: bool = False) -> bool:
    """Whether a document of `kind` decides against the institution (a voluntary termination does not; a review
    decision does when it upholds the termination, Jilin 第三十六条). An interview of the head (约谈, Jilin
    第二十五条) is supervision and decides nothing by itself; declaring the evaluation results invalid with it is a
    decision against the institution (it may not issue certificates on them), and that notice says how to challenge
    it."""
    if kind == "review_decision":
        return decision == "uphold"
    if kind == "interview_notice":
        return invalid_results
    return kind in ADVERSE_KINDS and not (kind == "termination_notice" and termination_kind == "voluntary")
