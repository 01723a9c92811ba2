"""`beian init`, `beian demo`, and where `beian bench` takes its options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from adapters.entrypoints.cli.common import DEMO, READS, SETUP, database, emit, open_app
from tasks.errors import BeianError


def cmd_init(args: argparse.Namespace) -> None:
    from workflows.database_clock import mark_practice, read_marker, refuse_practice

    app = open_app(args)
    if args.practice:
        refuse_practice(read_marker(app))  # before the schema is touched
    deployed = app.init(actor=args.user)
    if args.practice:
        mark_practice(app, args.user)
    marker = read_marker(app)

    def human(v: dict[str, Any]) -> str:
        lines = [f"{d['process']} 第 {d['version']} 版" + ("（新部署）" if d["deployed"] else "（已是最新）")
                 for d in v["definitions"]] or ["没有可部署的流程"]
        return "\n".join(lines + [CLOCK_KINDS[v["clock"]]])

    emit(args, {"definitions": deployed, "clock": marker.kind}, human)


CLOCK_KINDS = {
    "practice": "练习数据库：可用虚拟时钟（--now）办理",
    "live": "正式数据库（已按真实时间运行）：虚拟时钟（--now）只能用于查看",
    "new": "尚未按真实时间运行：可用虚拟时钟（--now）；一旦按真实时间办理（beian up、网页应用、不带 --now 的"
           "办理命令），虚拟时钟就只能用于查看。练习请用 beian init --practice",
}


def cmd_demo(args: argparse.Namespace) -> None:
    """The demo on its own practice database (`DIR/demo.sqlite3`, made afresh each time), or on `--db` if given,
    which the virtual clock must be allowed to write to (workflows/database_clock.py)."""
    from adapters.entrypoints.demo import DEMO_STARTS, fresh_demo_database, run_demo
    from workflows.database_clock import check_virtual_write, mark_practice
    from workflows.service import Beian

    out = Path(args.out)
    if args.db is None:
        path = out / "demo.sqlite3"
        args.app = app = Beian(fresh_demo_database(path))
        app.init(actor="演示")
        mark_practice(app, "演示")
        where = str(path.resolve())
        note = "练习数据库，每次运行 beian demo 时重新创建；不动 ./beian.sqlite3 或 BEIAN_DATABASE_URL 所指的数据库"
    else:
        from adapters.entrypoints.cli.failures import shown_url

        app = open_app(args)
        check_virtual_write(app, DEMO_STARTS, "beian demo", args.user, override=args.allow_virtual_clock)
        app.init(actor="演示")
        where, note = shown_url(database(args)), "--db 指定"
    say = (lambda _line: None) if args.json else print
    say(f"演示数据库：{where}（{note}）")
    shown = run_demo(app, say=say, out_dir=out)
    if args.json:
        print(json.dumps({"database": where, **shown}, ensure_ascii=False, indent=2))


def cmd_bench_misplaced(args: argparse.Namespace) -> None:
    raise BeianError("beian bench 的选项只能写在 bench 之后（它的 --db 是存放基准数据库的目录），"
                     "例如：beian bench --sizes 1000 --steps 20")


def register(sub: Any) -> None:
    """Add init, bench (its options are its own) and demo."""
    p = sub.add_parser("init", help="创建或升级数据库并部署内置流程")
    p.add_argument("--practice", action="store_true",
                   help="设为练习数据库：可用虚拟时钟（--now）随意办理；已按真实时间运行的数据库不能设为练习数据库")
    p.set_defaults(func=cmd_init, default_user="admin", effect=SETUP, creates_database=True)
    sub.add_parser("bench", help="性能基准，输出 JSON（选项见 beian bench --help）", add_help=False).set_defaults(
        func=cmd_bench_misplaced, effect=READS)
    p = sub.add_parser("demo", help="演示：在虚拟时钟上走完一件备案（示例数据）")
    p.add_argument("--out", default="demo", help="文书输出目录（默认 ./demo）")
    p.set_defaults(func=cmd_demo, effect=DEMO, creates_database=True)
