"""What every command module shares: the parser that speaks Chinese, what a command does to the database (its
effect, which decides the clock it may run on), the application it opens once, and how it prints."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.service import Beian


EXIT_USAGE = 2
OVERRIDE_OPTION = "--allow-virtual-clock"  # as in workflows.database_clock, not imported: parsing stays light

# What a command does to the database, which decides the clock it may run on (workflows/database_clock.py):
READS = "reads"    # only reads: any clock, any database
SETUP = "setup"    # writes, but no case or timer (init, bpmn deploy, users): no virtual clock on a live database
LIVE = "live"      # changes cases or the operational state: as SETUP, and in real time it marks the database live
SERVER = "server"  # starts servers that run in real time (up, worker, deploy, sandbox): never a virtual clock
DEMO = "demo"      # runs on a virtual clock of its own, on its own practice database unless --db names one


# argparse's own words, in Chinese. argparse looks each one up through its module's gettext function `_` as it builds
# a parser, a usage line, a help text or an error (Python 3.11–3.13 use these same message ids); Parser puts this
# table there while it does, and only then.
_ARGPARSE_CHINESE: dict[str, str] = {
    "usage: ": "用法：",
    "options": "选项",
    "positional arguments": "位置参数",
    "show this help message and exit": "显示本帮助并退出",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid %(type)s value: %(value)r": "值 %(value)r 无效（应为 %(type)s）",
    "invalid choice: %(value)r (choose from %(choices)s)": "没有“%(value)s”这一项，可选：%(choices)s",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多一个值",
    "expected at least one argument": "至少需要一个值",
    "not allowed with argument %s": "不能与参数 %s 同用",
    "ignored explicit argument %r": "不接受值 %r",
    "one of the arguments %s is required": "须给出参数 %s 之一",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是：%(matches)s",
    "unexpected option string: %s": "意外的选项：%s",
}


_TYPE_NAMES = {"int": "整数", "float": "数字"}


def _chinese(text: str) -> str:
    return _ARGPARSE_CHINESE.get(text, text)


@contextlib.contextmanager
def _argparse_in_chinese() -> Iterator[None]:
    english = argparse._  # type: ignore[attr-defined]
    argparse._ = _chinese  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = english  # type: ignore[attr-defined]


class Parser(argparse.ArgumentParser):
    """A parser that speaks Chinese: its headings, usage line and argparse's own errors, with exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with _argparse_in_chinese():  # the "选项" heading and the -h help are made here
            super().__init__(*args, **kwargs)

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:  # its "unrecognized arguments" is said here
        with _argparse_in_chinese():
            return super().parse_args(*args, **kwargs)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        with _argparse_in_chinese():
            return super().parse_known_args(*args, **kwargs)

    def format_usage(self) -> str:
        with _argparse_in_chinese():
            return super().format_usage()

    def format_help(self) -> str:
        with _argparse_in_chinese():
            return super().format_help()

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        for name, said in _TYPE_NAMES.items():  # argparse names the type by its function (int, float)
            message = message.replace(f"（应为 {name}）", f"（应为{said}）")
        print(f"beian：参数错误：{message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def read_json_arg(text_or_path: str, what: str) -> Any:
    """A JSON value given inline, as a file path, or as '-' for standard input: strict and bounded (json_input)."""
    from adapters.entrypoints.cli.json_input import read_json

    return read_json(text_or_path, what)


def command_effect(args: argparse.Namespace) -> str:
    """What the command does to the database (a command that does not say is taken to change cases)."""
    effect = getattr(args, "effect", LIVE)
    return effect(args) if callable(effect) else effect


def open_app(args: argparse.Namespace) -> Beian:
    """The application for this command, opened once (and closed by `main`)."""
    from workflows.service import Beian

    if getattr(args, "app", None) is None:
        args.app = Beian(database(args))
    return args.app


def database(args: argparse.Namespace) -> str:
    """The database URL of `--db` / BEIAN_DATABASE_URL / ./beian.sqlite3, refused in Chinese when it cannot be one.
    A SQLite file must exist, except for the commands that create a database (`creates_database`: init, demo):
    SQLite would otherwise create an empty file and the command fail on its missing tables, leaving the stray file
    behind."""
    from adapters.entrypoints.cli.failures import checked_database_url
    from adapters.outside.db import database_url

    return checked_database_url(database_url(args.db), existing=not getattr(args, "creates_database", False))


def emit(args: argparse.Namespace, value: Any, human: Callable[[Any], str]) -> None:
    """The result as JSON under --json, else as `human` words it."""
    if args.json:
        print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    else:
        print(human(value))
