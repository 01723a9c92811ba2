"""Automatic pre-checks of a new filing application (DOMAIN Process 1, step 2).

A failed pre-check does not reject anything: the failures, each with its reason and the article it
rests on, are shown to the intake clerk, who decides (受理 / 不予受理 / 一次性告知补正).

Checks here (the application has passed ``tasks.application.validate_application``, which already
checked the credit code):

* ``batch_window``  — the application arrived in an intake window (only where the region has batches);
* ``active_filing`` — the institution has no active filing for any of the occupations applied for;
* ``assessors``     — each occupation has at least the region's minimum of assessors (Sichuan 二（五）: 3).

* ``materials``     — every material the region's checklist requires of the institution's type has a file, or is
  declared verifiable online (Sichuan 五: 能通过网络核验的，可不提供书面材料) with the route to verify it.

* ``credit``        — the credit registry has no dishonesty record (失信) for the institution or its legal
  representative (Jilin 第六条; XPCC 第十二条（一）), each reported on its own. The lookups themselves are done by
  the step through ``adapters.outside.systems`` (the person by the identity number the application gives); this
  module only judges their outcome, including a registry that could not be reached and an application without the
  number (received before it was asked for): the clerk must then check by hand, as an unanswered lookup is not a
  pass. The number is shown masked (``tasks.id_number.mask_id_number``): these messages go into the case history.

What "in the batch window" means
--------------------------------
Beijing 五 says only: 企业可于每年5月底、10月底前申请 — enterprises may apply by the end of May and by
the end of October each year. The text gives closing dates and no opening dates, and "每年" makes the
rounds recur: an application in November is "before the end of May" of the next year. So for a region
with ``batch_deadlines`` and no ``batch_opens`` (Beijing as configured):

* every day belongs to exactly one batch: the batch closing on the first deadline on or after that day
  (Beijing: 1 Nov – 31 May → the May batch, 1 Jun – 31 Oct → the October batch);
* an application is never outside a window, so ``batch_window`` never fails; the workflow uses
  ``intake_batch`` to learn which batch it joins and when that batch closes.

Refusing applications outside some shorter period would invent a rule the text does not contain. Where
a region's own notice does fix intake periods (e.g. an annual notice "5月1日至5月31日受理"), they are set
as ``batch_opens`` (one opening date per deadline) and then an application received outside every
[opening, deadline] period fails ``batch_window``, with the next period in the message. Deadlines are
inclusive: an application received on the deadline day is in its batch (a deadline ends at the end of
its day, DOMAIN "Time").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from tasks.calendar import cn_date
from tasks.id_number import mask_id_number
from tasks.regions import MaterialItem, RegionProfile, month_day_in_year


@dataclass(frozen=True)
class CheckFailure:
    code: str      # "batch_window", "active_filing", "assessors", "materials" or "credit"
    message: str   # Chinese, concrete: which occupations, which filing numbers, which dates
    article: str   # the article the check rests on

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class ActiveFilings(Protocol):
    def active_filing_numbers(self, credit_code: str, occupation_codes: Sequence[str]) -> dict[str, str]:
        """Occupation code -> filing number, for those of ``occupation_codes`` with an ACTIVE filing."""
        ...


@dataclass(frozen=True)
class CreditLookup:
    """What the credit registry said about one party (the institution, or its legal representative): its dishonesty
    records, or why it could not say."""

    records: tuple[dict[str, str], ...] = ()
    error: str | None = None


def credit_failures(application: Mapping[str, Any], institution: CreditLookup, representative: CreditLookup | None,
                    profile: RegionProfile) -> list[CheckFailure]:
    """The credit check's failures: the institution's, then its legal representative's, each on its own.

    ``representative`` is None when the application gives no identity number to look the person up by; that is a
    failure too (the clerk checks by hand), never a silent pass."""
    article = profile.article("credit")
    failures = _credit_failures("机构", institution, article)
    given = application["institution"]
    person = "法定代表人" + (f" {given['legal_representative']}" if given.get("legal_representative") else "")
    number = given.get("legal_representative_id_number")
    if representative is None or not number:
        return [*failures, CheckFailure(
            "credit", f"未能核查{person}的失信记录：未提供法定代表人身份证件号码，请人工核查后再作受理决定", article)]
    return [*failures, *_credit_failures(f"{person}（身份证件号码 {mask_id_number(number)}）", representative, article)]


def _credit_failures(party: str, lookup: CreditLookup, article: str) -> list[CheckFailure]:
    if lookup.error is not None:
        return [CheckFailure("credit", f"未能完成{party}的失信记录核查（{lookup.error}），请人工核查后再作受理决定",
                             article)]
    if not lookup.records:
        return []
    listed = "；".join(
        "、".join(part for part in (r.get("authority"), r.get("reason"),
                                    f"自 {r['since']} 起" if r.get("since") else None) if part)
        for r in lookup.records)
    return [CheckFailure("credit", f"信用信息平台有{party}的失信记录：{listed}", article)]


def missing_materials(application: Mapping[str, Any], profile: RegionProfile,
                      uploaded: Collection[str]) -> list[MaterialItem]:
    """The required checklist items with neither a file (``uploaded``: the items with one) nor a declared route to
    verify them online. What is declared online is not verified here: the clerk does, as the text has it."""
    online = {m["kind"] for m in application.get("materials", ()) if m.get("reference")}
    return [item for item in profile.required_materials(application["institution"]["type"])
            if item.key not in uploaded and item.key not in online]


def material_failures(application: Mapping[str, Any], profile: RegionProfile,
                      uploaded: Collection[str]) -> list[CheckFailure]:
    missing = missing_materials(application, profile, uploaded)
    if not missing:
        return []
    names = "、".join(item.name for item in missing)
    message = f"缺少必备申请材料 {len(missing)} 项：{names}（既未上传文件，也未说明网络核验途径）"
    return [CheckFailure("materials", message, profile.article("application_materials"))]


@dataclass(frozen=True)
class IntakeBatch:
    """One application batch: applications received from ``opens_on`` to ``closes_on`` (inclusive)."""

    number: int        # 1-based position of the batch within its closing year
    opens_on: date
    closes_on: date

    @property
    def label(self) -> str:
        return f"{self.closes_on.year}年第{self.number}批（{cn_date(self.closes_on)}截止）"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "opens_on": self.opens_on.isoformat(),
            "closes_on": self.closes_on.isoformat(),
            "label": self.label,
        }


def run_prechecks(
    application: Mapping[str, Any], profile: RegionProfile, received_on: date, active: ActiveFilings
) -> list[CheckFailure]:
    """All failed pre-checks of a validated application, in a stable order (empty if all pass)."""
    failures: list[CheckFailure] = []
    failures.extend(_batch_window(profile, received_on))
    failures.extend(_active_filings(application, profile, active))
    failures.extend(_assessors(application, profile))
    return failures


# ---------------------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------------------


def intake_batch(profile: RegionProfile, received_on: date) -> IntakeBatch | None:
    """The batch an application received on ``received_on`` joins.

    None if the region takes applications continuously, or if it has fixed intake periods and the day
    is in none of them.
    """
    for batch in _batches_around(profile, received_on.year):
        if batch.opens_on <= received_on <= batch.closes_on:
            return batch
    return None


def next_intake_batch(profile: RegionProfile, after: date) -> IntakeBatch | None:
    """The first batch that opens after ``after``; None for continuous intake."""
    upcoming = [b for b in _batches_around(profile, after.year) if b.opens_on > after]
    return min(upcoming, key=lambda b: b.opens_on) if upcoming else None


def _batches_around(profile: RegionProfile, year: int) -> list[IntakeBatch]:
    """The batches closing in ``year - 1``, ``year`` and ``year + 1``, in order."""
    deadlines = profile.batch_deadlines
    if not deadlines:
        return []
    batches: list[IntakeBatch] = []
    for closing_year in (year - 1, year, year + 1):
        for index, deadline in enumerate(deadlines):
            closes_on = month_day_in_year(deadline, closing_year)
            if profile.batch_opens:
                opens_on = month_day_in_year(profile.batch_opens[index], closing_year)
                if opens_on > closes_on:  # e.g. opens 11-01, closes 05-31: starts the year before
                    opens_on = month_day_in_year(profile.batch_opens[index], closing_year - 1)
            else:
                # Continuous: a batch opens the day after the previous one closed (the last one of the
                # previous year for the first batch of a year).
                previous = (
                    month_day_in_year(deadlines[index - 1], closing_year) if index
                    else month_day_in_year(deadlines[-1], closing_year - 1)
                )
                opens_on = previous + timedelta(days=1)
            batches.append(IntakeBatch(number=index + 1, opens_on=opens_on, closes_on=closes_on))
    return sorted(batches, key=lambda b: b.closes_on)


def _batch_window(profile: RegionProfile, received_on: date) -> list[CheckFailure]:
    if profile.continuous_intake or intake_batch(profile, received_on) is not None:
        return []
    periods = "、".join(
        f"{_cn_month_day(opens)}至{_cn_month_day(closes)}"
        for opens, closes in zip(profile.batch_opens, profile.batch_deadlines, strict=True)
    )
    upcoming = next_intake_batch(profile, received_on)
    following = (
        f"；下一申报期为{cn_date(upcoming.opens_on)}至{cn_date(upcoming.closes_on)}" if upcoming else ""
    )
    return [
        CheckFailure(
            code="batch_window",
            message=f"申请于{cn_date(received_on)}收到，不在申报期内。{profile.name}每年的申报期为{periods}{following}",
            article=profile.article("batch"),
        )
    ]


# ---------------------------------------------------------------------------------------------------------
# Active filings and assessors
# ---------------------------------------------------------------------------------------------------------


def _active_filings(
    application: Mapping[str, Any], profile: RegionProfile, active: ActiveFilings
) -> list[CheckFailure]:
    credit_code = application["institution"]["credit_code"]
    occupations = application["occupations"]
    codes = [occupation["code"] for occupation in occupations]
    found = active.active_filing_numbers(credit_code, codes)
    # Only the occupations asked about count, in the application's order (an adapter returning more
    # must not produce a failure about an occupation nobody applied for).
    filed = [(o["code"], o["name"], found[o["code"]]) for o in occupations if o["code"] in found]
    if not filed:
        return []
    listed = "；".join(f"{code} {name}（备案编号 {number}）" for code, name, number in filed)
    return [
        CheckFailure(
            code="active_filing",
            message=(
                f"本机构（统一社会信用代码 {credit_code}）以下职业已有有效备案，不能重复申请备案：{listed}。"
                "如需调整职业或延续备案，请办理变更或续期"
            ),
            article=profile.article("active_filing"),
        )
    ]


def _assessors(application: Mapping[str, Any], profile: RegionProfile) -> list[CheckFailure]:
    minimum = profile.min_assessors_per_occupation
    failures: list[CheckFailure] = []
    for occupation in application["occupations"]:
        code = occupation["code"]
        # One person counts once: identified by the ID-card number where given, else by name.
        people: dict[str, str] = {}
        for assessor in application.get("assessors", []):
            if assessor["occupation"] == code:
                people.setdefault(assessor.get("id_number") or assessor["name"], assessor["name"])
        if len(people) >= minimum:
            continue
        names = "、".join(people.values())
        shortfall = f"的考评人员只有 {len(people)} 人（{names}）" if people else "没有考评人员"
        failures.append(
            CheckFailure(
                code="assessors",
                message=f"职业 {code} {occupation['name']}{shortfall}，至少需要 {minimum} 人",
                article=profile.article("assessors"),
            )
        )
    return failures


def _cn_month_day(text: str) -> str:
    return f"{int(text[:2])}月{int(text[3:])}日"
