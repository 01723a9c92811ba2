"""The command line's parser speaks Chinese: argparse's own errors, the usage line and the help's headings, on every
supported Python (their message ids are the same in 3.11–3.13); and it leaves argparse as it was for any other parser
in the process."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from adapters.entrypoints.cli.main import build_parser


def _refused(argv: list[str]) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    lines = err.getvalue().strip().splitlines()
    assert lines[0].startswith("用法：beian"), lines
    assert lines[-1].startswith("beian：参数错误："), lines
    return lines[-1].removeprefix("beian：参数错误：")


@pytest.mark.parametrize(("argv", "said"), [
    (["simulate"], "缺少必需的参数：process, --cases, --from, --until"),
    (["tasks", "--bogus"], "无法识别的参数：--bogus"),
    (["simulate", "filing_application", "--cases", "abc"], "参数 --cases：值 'abc' 无效（应为整数）"),
    (["tasks", "--db"], "参数 --db：需要一个值"),
])
def test_argparse_errors_are_said_in_chinese(argv: list[str], said: str) -> None:
    assert _refused(argv) == said


def test_an_unknown_command_is_named_with_the_commands_there_are() -> None:
    said = _refused(["nosuch"])
    assert said.startswith("参数 command：没有“nosuch”这一项，可选：") and "'apply'" in said


def test_the_help_has_chinese_headings() -> None:
    calendar = build_parser()._subparsers._group_actions[0].choices["calendar"]  # type: ignore[union-attr]
    text = calendar._subparsers._group_actions[0].choices["add"].format_help()  # type: ignore[union-attr]
    assert text.startswith("用法：beian calendar add")
    assert "选项" in text and "显示本帮助并退出" in text and "位置参数" in text
    assert "usage:" not in text and "show this help" not in text


def test_other_parsers_keep_argparse_as_it_was() -> None:
    build_parser().format_help()
    plain = argparse.ArgumentParser(prog="other")
    assert plain.format_usage().startswith("usage: other") and "show this help message and exit" in plain.format_help()
