"""What every command module shares: the parser that speaks Chinese, what a command does to the database (its
effect, which decides the clock it may run on), the application it opens once, and how it prints."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
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


class Parser(argparse.ArgumentParser):
    """Usage errors in Chinese, with the usage line, and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
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
    A command that reads or works on cases needs a SQLite file that exists: SQLite would otherwise create an empty
    one and the command fail on its missing tables, leaving the stray file behind. Setting up may create it."""
    from adapters.entrypoints.cli.failures import checked_database_url
    from adapters.outside.db import database_url

    return checked_database_url(database_url(args.db), existing=command_effect(args) in (READS, LIVE))


def emit(args: argparse.Namespace, value: Any, human: Callable[[Any], str]) -> None:
    """The result as JSON under --json, else as `human` words it."""
    if args.json:
        print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    else:
        print(human(value))
