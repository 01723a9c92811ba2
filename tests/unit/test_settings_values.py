"""Numeric settings: a value that cannot be used is refused naming the variable; an empty one keeps the default."""

from __future__ import annotations

import pytest

from adapters.outside.settings import SettingsError, load_settings


def test_the_database_wait_is_read_and_defaults_to_thirty_seconds() -> None:
    assert load_settings({}).database_wait_seconds == 30.0
    assert load_settings({"BEIAN_DB_WAIT": " "}).database_wait_seconds == 30.0
    assert load_settings({"BEIAN_DB_WAIT": "2.5"}).database_wait_seconds == 2.5


@pytest.mark.parametrize("raw, said", [("soon", "不是数字"), ("nan", "不是有限的数字"), ("inf", "不是有限的数字"),
                                        ("-1", "不能为负数")])
def test_a_wait_that_cannot_be_used_is_refused_naming_the_variable(raw: str, said: str) -> None:
    with pytest.raises(SettingsError, match=f"BEIAN_DB_WAIT.*{said}"):
        load_settings({"BEIAN_DB_WAIT": raw})


@pytest.mark.parametrize("env, said", [
    ({"BEIAN_SWEEP_MAX_ATTEMPTS": "three"}, "设置 BEIAN_SWEEP_MAX_ATTEMPTS='three' 不是整数"),
    ({"BEIAN_EXPECTED_REPLY_DAYS": "credit_check"},
     "设置 BEIAN_EXPECTED_REPLY_DAYS 中的 'credit_check' 应写作 消息名=工作日数"),
])
def test_other_settings_that_cannot_be_used_are_refused_in_chinese(env: dict[str, str], said: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env)
    assert str(refused.value) == said
