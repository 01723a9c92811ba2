"""Citizen identity number (公民身份号码) of the resident identity card, GB 11643-1999.

Structure of the 18 characters:

======  =================================================================
1–6     address code (行政区划代码, GB/T 2260) where the number was first issued
7–14    date of birth, YYYYMMDD
15–17   sequence code (odd for men, even for women)
18      check character over positions 1–17 (ISO 7064 MOD 11-2: weights 2^(17-i) mod 11, i.e.
        7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2; value = (12 - sum mod 11) mod 11, 10 written ``X``)
======  =================================================================

The address code is deliberately not checked against the division table: a number keeps the code of
where it was issued even after that division was merged or renamed, so a current table would refuse
real people. The check character and the birth date catch typing errors, which is what an intake check
is for.

The number is personal data. Nothing here ever puts a whole number into a message: a problem says which
positions are wrong, not what they hold (beyond a single stray character), and ``mask_id_number`` gives
the form for messages, history and logs (``5101**********1234``). Input is normalised before checking
as the credit code is (``tasks.credit_code``): NFKC (full-width digits typed with a Chinese input method
become ASCII), all whitespace removed, ``x`` upper-cased.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from datetime import date

LENGTH = 18
# ISO 7064 MOD 11-2 weights of positions 1–17: 2**(17 - i) mod 11.
WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"  # indexed by the weighted sum mod 11
# Nobody alive was born before this; an earlier year is a typo (19 typed as 18).
EARLIEST_BIRTH_YEAR = 1900
# Kept visible at each end of a masked number: the first four (province and city, not the person) and the last
# four (what people quote to tell their numbers apart).
_SHOWN = 4
# An identity number inside a longer text (an outside system's answer quoted in a message); the 15 digits of a
# first-generation card are someone's number too.
_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")


def normalize_id_number(number: str) -> str:
    """The stored form: NFKC-normalised, without any whitespace, upper-cased (``x`` → ``X``)."""
    folded = unicodedata.normalize("NFKC", number)
    return "".join(folded.split()).upper()


def check_character(first17: str) -> str:
    """The 18th character for the given first 17 digits (GB 11643-1999).

    Raises ValueError if ``first17`` is not 17 digits (the message names positions, never the digits).
    """
    if len(first17) != LENGTH - 1 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"计算校验码需要 17 位数字，实为 {len(first17)} 个字符")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return _CHECK[total % 11]


def id_number_problem(number: object, *, today: date | None = None) -> str | None:
    """None if ``number`` is a valid identity number, else one line of Chinese saying what is wrong.

    Checks in this order, reporting the first kind of problem found: length, characters (positions 1–17
    digits, position 18 a digit or X), the date of birth (a real day, from 1900 to ``today``: the system's
    date unless given), the check character. The birth date comes before the check character because a
    wrong month says more to the person typing than "the check character should be 7".
    """
    if not isinstance(number, str):
        return f"身份证号码应为文本，实为 {type(number).__name__}"
    normalized = normalize_id_number(number)
    if not normalized:
        return "身份证号码为空"
    if len(normalized) != LENGTH:
        return f"长度应为 {LENGTH} 位，实为 {len(normalized)} 位"
    bad = "、".join(f"第 {i} 位" for i, c in enumerate(normalized[:17], start=1) if not ("0" <= c <= "9"))
    if bad:
        return f"前 17 位应为数字，{bad}不是数字"
    if not ("0" <= normalized[17] <= "9" or normalized[17] == "X"):
        return f"第 18 位（校验码）应为数字或 X，实为「{normalized[17]}」"
    birth = _birth_problem(normalized[6:14], today or date.today())
    if birth:
        return f"第 7–14 位（出生日期）{birth}"
    expected = check_character(normalized[:17])
    if normalized[17] != expected:
        return f"校验码错误：第 18 位应为 {expected}，实为 {normalized[17]}（请逐位核对号码）"
    return None


def is_valid_id_number(number: object) -> bool:
    """True if ``number`` is a string holding a valid identity number (after normalisation)."""
    return isinstance(number, str) and id_number_problem(number) is None


def mask_id_number(number: str) -> str:
    """The number with its middle hidden, for anything but the case file: ``5101**********1234``.

    Whatever the length, at most the first and the last four characters show, and never more than half of it
    (a mistyped short number is still someone's number)."""
    text = normalize_id_number(number)
    shown = min(_SHOWN, len(text) // 4)
    if shown == 0:
        return "*" * len(text)
    return text[:shown] + "*" * (len(text) - 2 * shown) + text[-shown:]


def mask_id_numbers_in(text: str) -> str:
    """``text`` with every identity number in it masked (e.g. an outside system's answer quoted in an error)."""
    return _IN_TEXT.sub(lambda found: mask_id_number(found.group(0)), text)


def _birth_problem(digits: str, today: date) -> str | None:
    """What is wrong with the YYYYMMDD date of birth, in Chinese, without repeating it; None if it is a real day."""
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    if year < EARLIEST_BIRTH_YEAR or year > today.year:
        return f"不是有效的日期：年份应在 {EARLIEST_BIRTH_YEAR} 年至 {today.year} 年之间"
    if not 1 <= month <= 12:
        return "不是有效的日期：月份应为 01–12"
    days = monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"不是有效的日期：该月的日应为 01–{days}"
    if date(year, month, day) > today:
        return "晚于今天，不是有效的出生日期"
    return None
