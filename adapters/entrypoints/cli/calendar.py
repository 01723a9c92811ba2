"""`beian calendar`: working-day arithmetic and the official arrangements an administrator loads."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from adapters.entrypoints.cli.common import LIVE, READS, Parser, emit, open_app, read_json_arg
from adapters.entrypoints.cli.progress_bar import progress_bar
from tasks.errors import BeianError
from workflows import clock


def cmd_calendar_add(args: argparse.Namespace) -> None:
    try:
        start = date.fromisoformat(args.date) if len(args.date) == 10 else clock.parse_instant(args.date)
    except ValueError:
        raise BeianError(f"无法识别的日期“{args.date}”，请使用 YYYY-MM-DD") from None
    result = open_app(args).calendar.add(start, args.days)
    emit(args, result, lambda v: v["explanation"])


def cmd_calendar_load(args: argparse.Namespace) -> None:
    data = _read_calendar_file(args.file)
    with progress_bar(quiet=args.json) as on_progress:
        result = open_app(args).calendar.load(data, actor=args.user, on_progress=on_progress)
    def human(v: dict[str, Any]) -> str:
        cases = v["recomputed_cases"]
        return (f"已载入 {v['year']} 年节假日安排；重新计算了 {len(cases)} 个案件的暂定期限"
                + (f"：{'、'.join(cases)}" if cases else ""))

    emit(args, result, human)


def _read_calendar_file(path: str) -> Any:
    if path.endswith((".yaml", ".yml")):
        import yaml

        from adapters.entrypoints.cli.json_input import read_text

        text, _ = read_text(path, "节假日安排")  # the same size bound as JSON
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BeianError(f"节假日安排文件 {path} 不是有效的 YAML：{exc}") from None
        except RecursionError:
            raise BeianError(f"节假日安排文件 {path} 嵌套过深，未读取") from None
    return read_json_arg(path, "节假日安排")


def cmd_calendar_years(args: argparse.Namespace) -> None:
    years = open_app(args).calendar.years()
    emit(args, years, lambda v: "\n".join(
        f"{y['year']}：{y['source']}（{y['loaded_by']} 于 {y['loaded_at'][:10]} 载入）" for y in v)
        or "尚未载入任何年度安排（2004–2026 年使用内置官方数据）")


def register(sub: Any) -> None:
    """Add calendar add, load and years."""
    cal = sub.add_parser("calendar", help="工作日日历").add_subparsers(dest="calendar_command", required=True,
                                                                    parser_class=Parser)
    p = cal.add_parser("add", help="计算某日起 N 个工作日的期限")
    p.add_argument("date")
    p.add_argument("days", type=int)
    p.set_defaults(func=cmd_calendar_add, effect=READS)
    p = cal.add_parser("load", help="载入某年的国务院节假日安排（JSON/YAML）")
    p.add_argument("file")
    p.set_defaults(func=cmd_calendar_load, default_user="admin", effect=LIVE)
    cal.add_parser("years", help="已载入的年度安排").set_defaults(func=cmd_calendar_years, effect=READS)
