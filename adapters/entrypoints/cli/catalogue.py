"""`beian catalogue`: the national occupation catalogue the pre-check reads (administrators load it)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from adapters.entrypoints.cli.common import READS, SETUP, Parser, emit, open_app


def cmd_catalogue_load(args: argparse.Namespace) -> None:
    from tasks.errors import InvalidInput
    from tasks.occupations import MAX_CATALOGUE_BYTES, sample

    if args.sample:
        content, source = sample(), args.source or "内置样例（非官方目录，仅供试用）"
    elif args.file is None:
        raise InvalidInput("请给出职业目录文件（CSV），或用 --sample 载入内置样例")
    else:
        path = Path(args.file)
        if not path.is_file():
            raise InvalidInput(f"职业目录文件 {path} 不存在")
        if path.stat().st_size > MAX_CATALOGUE_BYTES:  # refused before it is read
            raise InvalidInput(f"职业目录文件过大，上限 {MAX_CATALOGUE_BYTES // (1024 * 1024)} MB，未载入")
        content, source = path.read_bytes(), args.source or path.name
    result = open_app(args).catalogue.load(content, source=source, actor=args.user)
    emit(args, result, lambda v: f"已载入职业目录：{v['source']}，共 {v['count']} 个（准入类 {v['access']} 个），"
                                 f"替换原有 {v['replaced']} 个")


def cmd_catalogue_show(args: argparse.Namespace) -> None:
    shown = open_app(args).catalogue.show(args.code)

    def lines(v: dict[str, Any]) -> str:
        head = f"职业目录共 {v['size']} 个职业（工种）" if v["size"] else "尚未载入职业目录（beian catalogue load）"
        return "\n".join([head, *(f"{o['code']}  {o['name']}  {o['category_name']}  {o.get('standard') or ''}"
                                  if o["name"] else f"{o['code']}  不在目录中" for o in v["occupations"])])

    emit(args, shown, lines)


def register(sub: Any) -> None:
    """Add the catalogue commands."""
    catalogue = sub.add_parser("catalogue", help="国家职业目录（预审据以核对申请职业）").add_subparsers(
        dest="catalogue_command", required=True, parser_class=Parser)
    p = catalogue.add_parser("load", help="载入职业目录（CSV：code,name,category,standard），替换原有目录")
    p.add_argument("file", nargs="?", help="职业目录 CSV 文件（格式见 docs/occupation-catalogue.md）")
    p.add_argument("--sample", action="store_true", help="载入内置样例（非官方目录，仅供试用）")
    p.add_argument("--source", help="目录来源，如 国家职业分类大典（2022年版）")
    p.set_defaults(func=cmd_catalogue_load, default_user="admin", effect=SETUP)
    p = catalogue.add_parser("show", help="目录规模，及给出的职业编码在目录中的情况")
    p.add_argument("code", nargs="*", help="职业编码，如 6-18-01-01")
    p.set_defaults(func=cmd_catalogue_show, effect=READS)
