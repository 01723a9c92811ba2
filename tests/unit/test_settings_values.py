"""Numeric settings: a value that cannot be used is refused naming the variable; an empty one keeps the default."""

from __future__ import annotations

import pytest

from adapters.outside.settings import SettingsError, load_settings


def test_the_database_wait_is_read_and_defaults_to_thirty_seconds() -> None:
    assert load_settings({}).database_wait_seconds == 30.0
    assert load_settings({"BEIAN_DB_WAIT": " "}).database_wait_seconds == 30.0
    assert load_settings({"BEIAN_DB_WAIT": "2.5"}).database_wait_seconds == 2.5


@pytest.mark.parametrize("raw, said", [("soon", "is not a number"), ("nan", "is not a finite number"),
                                        ("inf", "is not a finite number"), ("-1", "must not be negative")])
def test_a_wait_that_cannot_be_used_is_refused_naming_the_variable(raw: str, said: str) -> None:
    with pytest.raises(SettingsError, match=f"BEIAN_DB_WAIT.*{said}"):
        load_settings({"BEIAN_DB_WAIT": raw})
