"""The `beian` command line.

Global options, accepted before or after the command (`beian --json tasks` and `beian tasks --json` alike): `--db URL`
(else BEIAN_DATABASE_URL, else ./beian.sqlite3), `--now ISO-8601` (the virtual clock; absent = real time), `--json`
(machine-readable output), `--user NAME` (recorded in the history), `--allow-virtual-clock` (the audited override of
workflows/database_clock.py). Errors: one clear line on stderr, a non-zero exit, and nothing half-written (every
command is one transaction, or one per case for sweeps and recomputations); no traceback reaches the user unless
BEIAN_DEBUG=1 asks for it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from adapters.entrypoints.cli import calendar, cases, catalogue, issuing, operations, processes, servers, setup, users
from adapters.entrypoints.cli.common import (
    EXIT_USAGE,
    LIVE,
    OVERRIDE_OPTION,
    SERVER,
    SETUP,
    Parser,
    command_effect,
    open_app,
)
from tasks.errors import BeianError
from workflows import clock

# Each area's commands are in its own module (its `register` adds them): setup (init, demo), cases, operations,
# servers, calendar, processes (bpmn, simulate), users, issuing (issuer, correct), catalogue. What they share is in
# common.py.


def _global_options(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    """The options every command takes. On a command's parser they default to SUPPRESS, so that a value given after
    the command is kept and one given before it is not overwritten by the command's default."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if on_command else value

    parser.add_argument("--db", default=default(None),
                        help="数据库 URL 或 SQLite 文件路径（默认 BEIAN_DATABASE_URL 或 ./beian.sqlite3）")
    parser.add_argument("--now", default=default(None),
                        help="虚拟时钟：以该时刻运行（ISO-8601，例如 2026-09-30T10:00+08:00）；"
                             "已按真实时间运行的数据库只许读取（见 --allow-virtual-clock）")
    parser.add_argument("--json", action="store_true", default=default(False), help="输出 JSON")
    parser.add_argument("--user", default=default(None), help="操作人（记入审计历史）")
    parser.add_argument(OVERRIDE_OPTION, dest="allow_virtual_clock", action="store_true", default=default(False),
                        help="仍在已按真实时间运行的数据库上以虚拟时钟写入（定时事件会提前触发；记入审计日志）")


def _on_every_command(parser: argparse.ArgumentParser) -> None:
    """Give every command's parser, however deep (`users add`, `bpmn check`, `calendar add`), the global options."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                if name == "bench":  # its options are its own (main hands them to adapters.entrypoints.bench)
                    continue
                _global_options(command, on_command=True)
                _on_every_command(command)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="beian", description="职业技能等级评价机构备案系统")
    _global_options(parser, on_command=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for area in (setup, cases, operations, servers, calendar, processes, users, issuing, catalogue):
        area.register(sub)
    _on_every_command(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # its own options (its --db is a folder), parsed by adapters.entrypoints.bench
        from adapters.entrypoints.bench import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.user is None:
        args.user = getattr(args, "default_user", "cli")
    from adapters.outside.db import AuditEvent

    longest = AuditEvent.__table__.c.actor.type.length  # the history records who acted
    if not args.user.strip() or len(args.user) > longest:
        print(f"错误：操作人（--user）不能为空，且不超过 {longest} 个字符", file=sys.stderr)
        return EXIT_USAGE
    try:
        _run(args)
    except BeianError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # domain validation (tasks/) speaks Chinese already
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断；进行中的操作已回滚", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`beian tasks | head`): stop quietly, as a killed writer would
        with contextlib.suppress(OSError, ValueError):  # nothing more to flush into the closed pipe
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # SIGPIPE
    except Exception as exc:  # the last resort: a database it cannot reach, a file it cannot write, a bug
        return _failed(args, exc)
    finally:
        if getattr(args, "app", None) is not None:
            args.app.close()
    return 0


def _failed(args: argparse.Namespace, exc: Exception) -> int:
    """One Chinese line for what no command caught; the traceback too when BEIAN_DEBUG=1."""
    from adapters.entrypoints.cli.failures import debugging, describe

    try:
        from adapters.outside.db import database_url

        url: str | None = database_url(args.db)
    except Exception:  # noqa: BLE001 — the URL is only there to name the database in the message
        url = None
    message, code = describe(exc, url)
    print(f"错误：{message}", file=sys.stderr)
    if debugging():
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> None:
    """The command on the clock it asked for, within the rules of workflows/database_clock.py: a virtual clock writes
    only where the database allows it; a command that changes cases in real time marks the database as live."""
    effect = command_effect(args)
    command = _command_name(args)
    chosen: clock.Clock = clock.RealClock()
    if args.now:
        instant = clock.parse_instant(args.now)
        chosen = clock.VirtualClock(instant)
        if effect == SERVER:
            raise BeianError(f"{command} 按真实时间运行，不能与 --now 同用")
        if effect in (SETUP, LIVE):
            from workflows.database_clock import check_virtual_write

            check_virtual_write(open_app(args), instant, command, args.user, override=args.allow_virtual_clock)
    try:
        with clock.using_clock(chosen):
            args.func(args)
    except SystemExit:  # a command that ran and reports failed cases through its exit code (sweep, deliver, …)
        _mark_live(args, effect, command)
        raise
    _mark_live(args, effect, command)


def _mark_live(args: argparse.Namespace, effect: str, command: str) -> None:
    if effect == LIVE and not args.now and getattr(args, "app", None) is not None:
        from workflows.database_clock import mark_real_time

        mark_real_time(args.app, command)


def _command_name(args: argparse.Namespace) -> str:
    words = [args.command] + [getattr(args, f"{args.command}_command", None) or ""]
    return "beian " + " ".join(word for word in words if word)
