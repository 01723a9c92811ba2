"""`beian issuer`: who issues and signs each authority's documents (administrators); `beian correct`: a correction
notice for a served document."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from adapters.entrypoints.cli.common import LIVE, READS, SETUP, Parser, emit, open_app


def _line(v: dict[str, Any]) -> str:
    behalf = f"（受{v['on_behalf_of']}委托）" if v["on_behalf_of"] else ""
    state = "已设置" if v["configured"] else ("默认，须设置" if v["needs_setting"] else "默认")
    return (f"{v['authority']}  {v['authority_name']}：{v['name']}{behalf}  文号如 {v['sample_number']}"
            f"  {'有印章' if v['has_seal'] else '无印章'}  〔{state}〕")


def cmd_issuer_list(args: argparse.Namespace) -> None:
    emit(args, open_app(args).issuers.list(args.province), lambda v: "\n".join(_line(i) for i in v))


def cmd_issuer_show(args: argparse.Namespace) -> None:
    emit(args, open_app(args).issuers.get(args.authority), _line)


def cmd_issuer_set(args: argparse.Namespace) -> None:
    app = open_app(args)
    current = app.issuers.get(args.authority)
    # What is not given keeps its current value (the saved one, or the region's default).
    saved = app.issuers.save(
        args.authority, name=args.name if args.name is not None else current["name"],
        on_behalf_of=args.on_behalf_of if args.on_behalf_of is not None else (current["on_behalf_of"] or ""),
        short_name=args.short if args.short is not None else current["short_name"],
        number_format=args.format if args.format is not None else current["number_format"], actor=args.user)
    emit(args, saved, lambda v: "已保存：" + _line(v))


def cmd_issuer_seal(args: argparse.Namespace) -> None:
    from tasks.errors import InvalidInput
    from tasks.issuers import MAX_SEAL_BYTES

    png: bytes | None = None
    if not args.remove:
        if args.file is None:
            raise InvalidInput("请给出印章图片文件（PNG），或用 --remove 删除印章")
        path = Path(args.file)
        if not path.is_file():
            raise InvalidInput(f"印章图片文件 {path} 不存在")
        if path.stat().st_size > MAX_SEAL_BYTES:  # refused before it is read
            raise InvalidInput(f"印章未保存：印章图片过大，上限 {MAX_SEAL_BYTES // 1024} KB")
        png = path.read_bytes()
    saved = open_app(args).issuers.set_seal(args.authority, png, actor=args.user)
    emit(args, saved, lambda v: ("已保存印章：" if png else "已删除印章：") + _line(v))


def cmd_correct(args: argparse.Namespace) -> None:
    result = open_app(args).documents.correct(args.document_id, args.item, actor=args.user)
    emit(args, result, lambda v: f"已出具更正通知书（文书 {v['document_id']}），更正文书 {v['corrects']}，"
                                 f"案件 {v['case']}")


def register(sub: Any) -> None:
    """Add the issuer and correction commands."""
    issuer = sub.add_parser("issuer", help="发文机关设置（管理员）：发文机关、委托机关、文号格式、印章").add_subparsers(
        dest="issuer_command", required=True, parser_class=Parser)
    p = issuer.add_parser("list", help="列出一个省份各备案机关的发文机关设置")
    p.add_argument("--province", required=True, help="省级代码的前两位，如 51（四川）")
    p.set_defaults(func=cmd_issuer_list, effect=READS)
    p = issuer.add_parser("show", help="显示一个备案机关的发文机关设置")
    p.add_argument("authority", help="备案机关代码，如 510100")
    p.set_defaults(func=cmd_issuer_show, effect=READS)
    p = issuer.add_parser("set", help="设置一个备案机关的发文机关（未给出的项保持原值）")
    p.add_argument("authority", help="备案机关代码，如 510100")
    p.add_argument("--name", help="发文机关名称（署名），如 成都市职业技能鉴定指导中心")
    p.add_argument("--on-behalf-of", help="委托机关名称，如 成都市人力资源和社会保障局；本机关自行发文时给空字符串")
    p.add_argument("--short", help="机关代字（文号开头），如 成都技鉴")
    p.add_argument("--format", help="文号格式，如 {short}{kind}〔{year}〕{seq}号")
    p.set_defaults(func=cmd_issuer_set, default_user="admin", effect=SETUP)
    p = issuer.add_parser("seal", help="上传印章图片（PNG，透明背景），或用 --remove 删除")
    p.add_argument("authority", help="备案机关代码，如 510100")
    p.add_argument("file", nargs="?", help="PNG 图片文件")
    p.add_argument("--remove", action="store_true", help="删除印章")
    p.set_defaults(func=cmd_issuer_seal, default_user="admin", effect=SETUP)
    p = sub.add_parser("correct", help="对已出具的文书出具更正通知书（原文书不变）")
    p.add_argument("document_id", type=int, help="被更正文书的编号")
    p.add_argument("--item", action="append", required=True, help="一项更正：原文有误之处及正确的内容（可重复）")
    p.set_defaults(func=cmd_correct, effect=LIVE)
