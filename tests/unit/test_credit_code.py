"""Unified social credit code (GB 32100-2015) with the embedded GB 11714 organisation code."""

from __future__ import annotations

import pytest

from tasks.credit_code import (
    ALPHABET,
    WEIGHTS,
    check_character,
    credit_code_problem,
    is_valid_credit_code,
    normalize_credit_code,
    organization_code_check_character,
)

# Public examples: the one in the brief, and the one in python-stdnum's documentation.
PUBLIC_VALID = ["91350100M000100Y43", "91110000600037341L"]


def make_code(prefix8: str, body8: str) -> str:
    """A valid code built the way a registration authority does: organisation code, then the check."""
    first17 = prefix8 + body8 + organization_code_check_character(body8)
    return first17 + check_character(first17)


GENERATED = [
    make_code("91510104", "MA6C8H2K"),   # enterprise, Chengdu Jinjiang district
    make_code("12510000", "45071234"),   # public institution (事业单位), Sichuan
    make_code("52510100", "MJ001234"),   # private non-enterprise unit (民办非企业单位)
    make_code("Y1110105", "MA01BC7D"),   # 'Y' (other registration authority) in position 1
    make_code("93220102", "MA14XK3P"),   # farmers' cooperative, Changchun
]


def test_alphabet_and_weights_follow_the_standard() -> None:
    assert len(ALPHABET) == 31
    assert not set("IOZSV") & set(ALPHABET)
    assert tuple(pow(3, i, 31) for i in range(17)) == WEIGHTS


@pytest.mark.parametrize("code", PUBLIC_VALID + GENERATED)
def test_valid_codes(code: str) -> None:
    assert credit_code_problem(code) is None
    assert is_valid_credit_code(code)


def test_check_character_of_public_examples() -> None:
    assert check_character("91350100M000100Y4") == "3"
    assert check_character("91110000600037341") == "L"
    assert organization_code_check_character("M000100Y") == "4"
    assert organization_code_check_character("60003734") == "1"


def test_organisation_code_check_maps_10_to_x_and_11_to_0() -> None:
    # Search small numeric bodies for the two special remainders and verify one by hand.
    results = {organization_code_check_character(f"{n:08d}") for n in range(0, 400)}
    assert "X" in results and "0" in results
    body_x = next(f"{n:08d}" for n in range(400) if organization_code_check_character(f"{n:08d}") == "X")
    total = sum(int(c) * w for c, w in zip(body_x, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    assert 11 - total % 11 == 10


def test_every_single_substitution_is_caught() -> None:
    # 31 is prime and no weight is 0 mod 31, so any one wrong character in positions 1-17 changes the sum.
    code = PUBLIC_VALID[0]
    for position in range(17):
        for char in ALPHABET:
            if char == code[position]:
                continue
            mutated = code[:position] + char + code[position + 1:]
            assert not is_valid_credit_code(mutated), mutated


def test_lowercase_spaces_and_full_width_are_normalised() -> None:
    assert is_valid_credit_code("91350100m000100y43")
    assert is_valid_credit_code(" 9135 0100 M000 100Y 43\t")
    assert is_valid_credit_code("９１３５０１００Ｍ０００１００Ｙ４３")
    assert is_valid_credit_code("91350100M000100Y43\u3000")  # ideographic space
    assert normalize_credit_code(" 9135 0100m000100y43 ") == "91350100M000100Y43"


def test_wrong_length_says_the_length_found() -> None:
    assert credit_code_problem("91350100M000100Y4") == "长度应为 18 位，实为 17 位"
    assert credit_code_problem("91350100M000100Y431") == "长度应为 18 位，实为 19 位"
    assert credit_code_problem("  ") == "统一社会信用代码为空"


def test_illegal_characters_are_named_with_their_positions() -> None:
    problem = credit_code_problem("91350100M00010OY43")
    assert problem is not None
    assert "第 15 位「O」" in problem
    assert "I、O、Z、S、V" in problem
    several = credit_code_problem("9S350100M000100Y4!")
    assert several is not None
    assert "第 2 位「S」" in several and "第 18 位「!」" in several


def test_division_code_must_be_digits() -> None:
    first17 = "91A50100M000100Y4"
    problem = credit_code_problem(first17 + check_character(first17))
    assert problem is not None
    assert "第 3–8 位" in problem and "第 3 位「A」" in problem


def test_wrong_check_character_says_expected_and_found() -> None:
    assert credit_code_problem("91350100M000100Y44") == "校验码错误，应为 3，实为 4"
    assert credit_code_problem("91350100m000100y4l") == "校验码错误，应为 3，实为 L"


def test_wrong_organisation_code_check_is_reported() -> None:
    # Position 17 changed from 4 to 5 and position 18 recomputed: the overall check passes, GB 11714 not.
    first17 = "91350100M000100Y5"
    code = first17 + check_character(first17)
    problem = credit_code_problem(code)
    assert problem is not None
    assert "组织机构代码" in problem and "应为 4，实为 5" in problem


def test_non_strings_are_invalid() -> None:
    assert not is_valid_credit_code(None)
    assert not is_valid_credit_code(913501001)
    assert credit_code_problem(913501001) == "统一社会信用代码应为字符串，实为 int"  # type: ignore[arg-type]


def test_check_character_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="前 17 位"):
        check_character("91350100M000100Y")
    with pytest.raises(ValueError, match="非法字符"):
        check_character("91350100M000100I4")
    with pytest.raises(ValueError, match="8 位"):
        organization_code_check_character("M000100")
