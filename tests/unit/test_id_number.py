"""Citizen identity number (GB 11643-1999): check character, date of birth, and masking for messages."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.id_number import (
    WEIGHTS,
    check_character,
    id_number_problem,
    is_valid_id_number,
    mask_id_number,
    mask_id_numbers_in,
    normalize_id_number,
)

# The standard's worked example (GB 11643-1999), and the example application's legal representative.
STANDARD_EXAMPLE = "11010519491231002X"
EXAMPLE = "510104197203151232"
TODAY = date(2026, 10, 15)


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


def test_weights_are_powers_of_two_mod_11() -> None:
    assert tuple(pow(2, 17 - i, 11) for i in range(17)) == WEIGHTS


@pytest.mark.parametrize("number", [STANDARD_EXAMPLE, EXAMPLE, with_check("22010219991231123")])
def test_valid_numbers(number: str) -> None:
    assert id_number_problem(number, today=TODAY) is None
    assert is_valid_id_number(number)


def test_check_character_ten_is_written_x() -> None:
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"  # the standard's other example (born 1880: see below)
    assert "年份应在 1900 年" in (id_number_problem("440524188001010014", today=TODAY) or "")


def test_input_is_normalised_before_checking() -> None:
    # A lower-case x, full-width digits from a Chinese input method, spaces between groups.
    assert id_number_problem("11010519491231002x", today=TODAY) is None
    assert id_number_problem("５１０１０４ 19720315 1232", today=TODAY) is None
    assert normalize_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_a_wrong_check_character_says_what_it_should_be() -> None:
    wrong = EXAMPLE[:17] + "7"
    assert id_number_problem(wrong, today=TODAY) == "校验码错误：第 18 位应为 2，实为 7（请逐位核对号码）"
    # One digit mistyped anywhere breaks the check (here two neighbours swapped).
    swapped = EXAMPLE[:8] + EXAMPLE[9] + EXAMPLE[8] + EXAMPLE[10:]
    assert "校验码错误" in (id_number_problem(swapped, today=TODAY) or "")


@pytest.mark.parametrize(("number", "expected"), [
    (EXAMPLE[:17], "长度应为 18 位，实为 17 位"),
    (EXAMPLE + "0", "长度应为 18 位，实为 19 位"),
    ("510104720315123", "长度应为 18 位，实为 15 位"),  # a first-generation card's number: not accepted
    ("", "身份证号码为空"),
    ("   ", "身份证号码为空"),
])
def test_wrong_length(number: str, expected: str) -> None:
    assert id_number_problem(number, today=TODAY) == expected


def test_characters_out_of_place() -> None:
    assert id_number_problem("5101A4197203151B32", today=TODAY) == "前 17 位应为数字，第 5 位、第 16 位不是数字"
    assert id_number_problem(EXAMPLE[:17] + "Y", today=TODAY) == "第 18 位（校验码）应为数字或 X，实为「Y」"


@pytest.mark.parametrize(("birth", "expected"), [
    ("19721315", "月份应为 01–12"),
    ("19720015", "月份应为 01–12"),
    ("19720230", "该月的日应为 01–29"),  # 1972 was a leap year
    ("19730229", "该月的日应为 01–28"),
    ("19720400", "该月的日应为 01–30"),
    ("18991231", "年份应在 1900 年至 2026 年之间"),
    ("20301231", "年份应在 1900 年至 2026 年之间"),
    ("20261016", "晚于今天"),
])
def test_a_bad_birth_date(birth: str, expected: str) -> None:
    # A valid check character, so that only the date is wrong.
    number = with_check("510104" + birth + "123")
    problem = id_number_problem(number, today=TODAY)
    assert problem is not None and problem.startswith("第 7–14 位（出生日期）") and expected in problem


def test_the_birth_date_is_checked_before_the_check_character() -> None:
    problem = id_number_problem("510104197213151230", today=TODAY)
    assert problem is not None and "出生日期" in problem and "校验码" not in problem


def test_a_problem_never_repeats_the_number() -> None:
    numbers = [EXAMPLE[:17] + "7", with_check("51010419721315123"), "5101A4197203151B32", EXAMPLE + "0"]
    for number in numbers:
        problem = id_number_problem(number, today=TODAY)
        assert problem is not None
        # Neither the number nor any run of its digits long enough to tell who it is (the birth date included).
        assert number not in problem and number[6:14] not in problem and number[:6] not in problem


def test_not_a_string() -> None:
    assert id_number_problem(510104197203151232) == "身份证号码应为文本，实为 int"
    assert not is_valid_id_number(None)


def test_masking_keeps_only_the_ends() -> None:
    assert mask_id_number(EXAMPLE) == "5101**********1232"
    assert mask_id_number("11010519491231002x") == "1101**********002X"
    assert mask_id_number("12345678") == "12****78"  # never more than half of it shows
    assert mask_id_number("123") == "***"


def test_masking_numbers_inside_a_text() -> None:
    text = f"答复的是另一个身份证号码 {STANDARD_EXAMPLE.lower()}（{EXAMPLE}）；旧证 510104720315123；电话 02886112339"
    masked = mask_id_numbers_in(text)
    assert masked == ("答复的是另一个身份证号码 1101**********002X（5101**********1232）；旧证 510*********123；"
                      "电话 02886112339")
    # A credit code is not a person's number and stays as it is.
    assert mask_id_numbers_in("91510104MA6C8H2K5N") == "91510104MA6C8H2K5N"
