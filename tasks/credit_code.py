"""Unified social credit code (统一社会信用代码), GB 32100-2015.

Structure of the 18 characters:

====  =================================================================
1     登记管理部门码 (registration authority)
2     机构类别码 (organisation category)
3–8   登记管理机关行政区划码 (administrative division, digits)
9–17  主体标识码: the organisation code of GB 11714, 8 body characters plus its own
      check character (weights 3,7,9,10,5,8,4,2 mod 11; 10 → ``X``, 11 → ``0``)
18    check character over positions 1–17 (weights 3^i mod 31, i.e. 1,3,9,27,19,26,16,17,20,29,
      25,13,8,24,10,30,28; value = (31 - sum mod 31) mod 31)
====  =================================================================

The alphabet is the digits and the capital letters without I, O, Z, S and V (31 characters, values
0–30 in the order listed in ``ALPHABET``).

Positions 1 and 2 are deliberately not checked against a table of authorities and categories: the
table has been extended since 2015 (e.g. new registration authorities), and a stale table would refuse
real institutions. The two check characters catch typing errors, which is what an intake check is for.

Input is normalised before checking: Unicode NFKC (full-width characters typed with a Chinese input
method become ASCII), all whitespace removed, upper-cased. ``credit_code_problem`` and
``is_valid_credit_code`` therefore accept ``"91350100m000100y43"`` and ``"９１３５ 0100M000100Y43"``;
``normalize_credit_code`` gives the form to store.
"""

from __future__ import annotations

import unicodedata

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}

# Weights of positions 1–17: 3**i mod 31 (GB 32100-2015).
WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11714-1997: weights of the 8 body characters of an organisation code.
_ORG_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)

LENGTH = 18
_ALLOWED_DESCRIPTION = "只允许数字 0–9 和除 I、O、Z、S、V 以外的大写英文字母"


def normalize_credit_code(code: str) -> str:
    """The stored form: NFKC-normalised, without any whitespace, upper-cased."""
    folded = unicodedata.normalize("NFKC", code)
    return "".join(folded.split()).upper()


def check_character(first17: str) -> str:
    """The 18th character for the given first 17 (GB 32100-2015).

    Raises ValueError if ``first17`` is not 17 characters of the code alphabet.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"计算校验码需要前 17 位，实为 {len(first17)} 位")
    bad = _illegal_characters(first17)
    if bad:
        raise ValueError(f"前 17 位含非法字符：{bad}")
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def organization_code_check_character(body8: str) -> str:
    """The check character of a GB 11714 organisation code for its 8 body characters.

    GB 11714 values digits as themselves and letters A–Z as 10–35 (the full Latin alphabet; inside a
    credit code only the credit-code alphabet can occur anyway).
    """
    if len(body8) != 8 or not all(c.isdigit() or "A" <= c <= "Z" for c in body8) or not body8.isascii():
        raise ValueError(f"组织机构代码本体应为 8 位数字或大写字母，实为「{body8}」")
    total = sum(_org_value(char) * weight for char, weight in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def credit_code_problem(code: str) -> str | None:
    """None if ``code`` is a valid credit code, else one line of Chinese saying what is wrong.

    Checks in this order, reporting the first kind of problem found: length, illegal characters (all
    of them, with positions), the division code digits, the check character (position 18), the
    embedded organisation code's check character (position 17). The overall check character comes
    before the organisation code's because a single mistyped character almost always breaks it, and
    "应为 X，实为 Y" is the message that helps the applicant find the typo.
    """
    if not isinstance(code, str):
        return f"统一社会信用代码应为字符串，实为 {type(code).__name__}"
    normalized = normalize_credit_code(code)
    if not normalized:
        return "统一社会信用代码为空"
    if len(normalized) != LENGTH:
        return f"长度应为 {LENGTH} 位，实为 {len(normalized)} 位"
    bad = _illegal_characters(normalized)
    if bad:
        return f"含非法字符：{bad}（{_ALLOWED_DESCRIPTION}）"
    division = normalized[2:8]
    if not division.isdigit():
        where = "、".join(
            f"第 {i} 位「{c}」" for i, c in enumerate(normalized[2:8], start=3) if not c.isdigit()
        )
        return f"第 3–8 位（登记管理机关行政区划码）应为数字，{where}不是数字"
    expected = check_character(normalized[:17])
    if normalized[17] != expected:
        return f"校验码错误，应为 {expected}，实为 {normalized[17]}"
    org_expected = organization_code_check_character(normalized[8:16])
    if normalized[16] != org_expected:
        return (
            f"第 9–17 位（组织机构代码，GB 11714）的校验码错误：第 17 位应为 {org_expected}，"
            f"实为 {normalized[16]}"
        )
    return None


def is_valid_credit_code(code: object) -> bool:
    """True if ``code`` is a string holding a valid credit code (after normalisation)."""
    return isinstance(code, str) and credit_code_problem(code) is None


def _illegal_characters(text: str) -> str:
    """Chinese list of the illegal characters with their 1-based positions; empty if none."""
    return "、".join(f"第 {i} 位「{c}」" for i, c in enumerate(text, start=1) if c not in _VALUE)


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10
