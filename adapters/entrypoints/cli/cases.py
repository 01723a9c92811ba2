"""Cases from the command line: apply (with its material files), a resubmission after 补正, the tasks, completing one,
outside messages, a case or filing shown, filings, cases found by search, documents."""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path
from typing import Any

from adapters.entrypoints.cli.common import LIVE, READS, emit, open_app, read_json_arg
from tasks.errors import BeianError, InvalidInput
from tasks.reasons import file_reason
from workflows import clock


def cmd_apply(args: argparse.Namespace) -> None:
    application = read_json_arg(args.file, "申请材料")
    files = [_material(option) for option in args.materials or ()]
    received = clock.parse_instant(args.received_at) if args.received_at else None
    result = open_app(args).cases.apply(application, received_at=received, actor=args.user, files=files)
    emit(args, result, lambda v: f"已受理登记：案件 {v['case']}（流程实例 {v['instance']}），状态 {v['status']}")


def cmd_resubmit(args: argparse.Namespace) -> None:
    """The institution's resubmission after 补正: the corrected application (optional), its files, a note."""
    application = read_json_arg(args.application, "补正后的申请") if args.application else None
    files = [_material(option) for option in args.materials or ()]
    received = clock.parse_instant(args.received_at) if args.received_at else None
    result = open_app(args).supplements.resubmit(args.case, received_at=received, application=application,
                                                 files=files, note=args.note or "", actor=args.user)
    emit(args, result, lambda v: f"已登记补正：改正 {len(v['changes'])} 个栏目，补交 {len(v['materials'])} 份材料；"
                                 f"案件 {v['case']} 当前状态：{v['status']}")


def _material(option: str) -> Any:
    """`KIND=PATH` read into a checked upload: the file's size is looked at before it is read, so a huge file is
    refused without being loaded; its content decides its type (tasks/materials.py)."""
    from tasks.limits import amount
    from tasks.materials import MAX_MATERIAL_BYTES, MaterialRefused
    from workflows.service.materials import checked_upload

    kind, separator, path_text = option.partition("=")
    if not separator or not kind.strip() or not path_text.strip():
        raise MaterialRefused(f"--material 应写成“材料类别=文件路径”，如 work_plan=工作方案.pdf；实为“{option}”")
    path = Path(path_text)
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_MATERIAL_BYTES:
                raise MaterialRefused(f"文件“{path.name}”过大（{amount(size)}），每个文件不能超过 "
                                      f"{amount(MAX_MATERIAL_BYTES)}")
            content = stream.read(MAX_MATERIAL_BYTES + 1)
    except IsADirectoryError:
        raise MaterialRefused(f"材料文件 {path} 是一个文件夹，请给出文件") from None
    except OSError as exc:
        raise BeianError(f"无法读取材料文件 {path}：{file_reason(exc)}") from None
    return checked_upload(kind.strip(), path.name, content)


def _task_line(t: dict[str, Any]) -> str:
    due = t["due"][:16].replace("T", " ") if t["due"] else "无法定期限"
    flags = ("，已逾期" if t["overdue"] else "") + ("，暂定期限" if t["provisional"] else "")
    line = f"{t['id']}  {t['case']}  {t['name']}（{t['role']}）  期限：{due}{flags}"
    failures = (t["context"].get("precheck") or {}).get("failures", [])
    return "\n".join([line] + [f"    ⚠ 预审：{f['message']}〔{f['article']}〕" for f in failures])


def cmd_tasks(args: argparse.Namespace) -> None:
    """Every open task, or a page of them (--limit, then --after the cursor the text names, or the last task's
    "cursor" in JSON): pages by cursor cost the same however many tasks are open."""
    from adapters.outside.worklist import parse_cursor  # a light module: the cursor's spelling, checked up front

    if args.limit is not None and args.limit < 1:
        raise BeianError("--limit 应为正整数")
    if args.after is not None and args.limit is None:
        raise InvalidInput("--after 须与 --limit 一起使用（按页列出待办）")
    if args.after is not None and parse_cursor(args.after) is None:
        # The web app opens the first page for a hand-edited link; a script given page 1 again would loop for ever.
        raise InvalidInput(f"--after 的值“{args.after[:60]}”不是有效的翻页位置：请使用上一页末行给出的 cursor")
    tasks = open_app(args).cases.tasks(args.case, limit=args.limit, after=args.after)
    emit(args, tasks, lambda v: _tasks_text(v, args))


def _tasks_text(tasks: list[dict[str, Any]], args: argparse.Namespace) -> str:
    if not tasks:
        return "没有待办"
    lines = [_task_line(t) for t in tasks]
    if args.limit is not None and len(tasks) == args.limit:
        lines.append(f"下一页：beian tasks --limit {args.limit} --after {tasks[-1]['cursor']}")
    return "\n".join(lines)


def cmd_complete(args: argparse.Namespace) -> None:
    data = read_json_arg(args.data, "表单数据")
    result = open_app(args).cases.complete(args.task_id, data, actor=args.user)
    emit(args, result, lambda v: f"已办结。案件 {v['case']} 当前状态：{v['status']}")


def cmd_send(args: argparse.Namespace) -> None:
    data = read_json_arg(args.data, "消息内容") if args.data else None
    target = args.case or args.filing
    if not target:
        raise BeianError("请用 --case 指定案件编号或备案编号（或用 --filing 指定备案编号）")
    result = open_app(args).cases.send(args.message, target, data, actor=args.user)

    def human(v: dict[str, Any]) -> str:
        if v.get("case") is None:
            return f"已记录。备案 {v['filing']} 当前状态：{v['status']}"
        if v.get("filing"):
            return f"已立案：{v['case']}（{v['process']}）。备案 {v['filing']} 当前状态：{v['status']}"
        return f"消息已送达。案件 {v['case']} 当前状态：{v['status']}"

    emit(args, result, human)


def _show_text(v: dict[str, Any]) -> str:
    lines = [f"案件 {v['case']}：{v['institution']['name']}（{v['institution']['credit_code']}）",
             f"状态：{v['status_label']}（{v['status']}），自 {v['status_since'][:16].replace('T', ' ')}"]
    if v["status_reason"]:
        lines.append(f"原因：{v['status_reason']}" + (f"；依据：{v['status_article']}" if v["status_article"] else ""))
    if v["filing_number"]:
        lines.append(f"备案编号：{v['filing_number']}，有效期 {v['valid_from']} 至 {v['valid_until']}")
    if len(v["cases"]) > 1:
        lines.append("案件：" + "；".join(f"{c['case']} {c['process']}（{c['status_label']}）" for c in v["cases"]))
    for w in v["waiting_for"]:
        what = w.get("task") or w.get("timer")
        lines.append(f"等待：{what}（{w['case']}）" + (f"，期限 {w['due'][:16].replace('T', ' ')}" if w["due"] else ""))
    for d in v["deadlines"]:
        lines.append(_deadline_line(d))
    for d in v["documents"]:
        lines.append(f"文书 {d['id']}：{d['title']}" + (f"（{d['number']}）" if d["number"] else ""))
    lines.append("历史：")
    lines += [f"  {h['at'][:16].replace('T', ' ')}  {h['actor']}  {h['summary']}"
              + (f"  〔{h['article']}〕" if h["article"] else "") for h in v["history"]]
    return "\n".join(lines)


def _deadline_line(d: dict[str, Any]) -> str:
    """期限：its name and how it was computed, which ends with when it falls due; a date a timer waits for (the
    renewal window's opening) has no computation, and is said by its time."""
    flags = ("（暂定）" if d["provisional"] else "") + ("【已逾期】" if d["overdue"] else "")
    when = d["explanation"] or (f"至 {d['due'][:16].replace('T', ' ')}" if d["due"] else "无到期时间")
    return f"期限：{d['name']}{flags}：{when}"


def cmd_show(args: argparse.Namespace) -> None:
    emit(args, open_app(args).records.show(args.case), _show_text)


def cmd_filings(args: argparse.Namespace) -> None:
    filings = open_app(args).records.filings(status=args.status, region=args.region)
    emit(args, filings, lambda v: "\n".join(
        f"{f['filing_number']}  {f['institution']}  {f['status_label']}"
        + (f"（{f['termination_kind']}，{f['terminated_on']}）" if f["termination_kind"] else "")
        + f"  有效期 {f['valid_from']} 至 {f['valid_until']}" + (f"  上级 {f['parent']}" if f["parent"] else "")
        for f in v) or "没有符合条件的备案")


def cmd_document(args: argparse.Namespace) -> None:
    if args.pdf:
        name, pdf = open_app(args).records.pdf(args.document_id)
        Path(args.pdf).write_bytes(pdf)
        emit(args, {"id": args.document_id, "file": args.pdf, "name": name, "bytes": len(pdf)},
               lambda v: f"已写入 {v['file']}（PDF，{v['bytes']} 字节）")
        return
    document = open_app(args).records.document(args.document_id)
    if args.out:
        Path(args.out).write_text(document["html"], encoding="utf-8")
        emit(args, {k: v for k, v in document.items() if k != "html"} | {"file": args.out},
               lambda v: f"已写入 {v['file']}")
    else:
        print(document["html"])


def _case_line(c: dict[str, Any]) -> str:
    return (f"{c['case']}  {c['institution']}  {c['region_name']}  {c['status_label']}  收件 {c['received_at'][:10]}"
            + (f"  备案编号 {c['filing_number']}" if c["filing_number"] else ""))


def cmd_cases(args: argparse.Namespace) -> None:
    from workflows.service.search import CaseQuery

    days = {}
    for option, text in (("--received-from", args.received_from), ("--received-to", args.received_to)):
        try:
            days[option] = date.fromisoformat(text) if text else None
        except ValueError:
            raise BeianError(f"{option} 应为日期（YYYY-MM-DD），实为“{text}”") from None
    query = CaseQuery(text=args.search or "", process=args.process, group=args.group, region=args.region,
                      received_from=days["--received-from"], received_to=days["--received-to"], page=args.page,
                      per_page=args.per_page)
    found = open_app(args).search.cases(query)
    emit(args, found, lambda v: "\n".join([_case_line(c) for c in v["cases"]]
                                          + [f"共 {v['total']} 件（第 {v['page']}/{v['pages']} 页）"]))


def register(sub: Any) -> None:
    """Add apply, resubmit, tasks, complete, send, show, filings, cases and document."""
    p = sub.add_parser("apply", help="提交备案申请（JSON 文件）")
    p.add_argument("file")
    p.add_argument("--received-at", help="收到申请的时间（默认为当前时间）")
    p.add_argument("--material", dest="materials", action="append", metavar="KIND=FILE",
                   help="随申请提交的材料文件（可重复），如 --material work_plan=工作方案.pdf；类别见地区申请材料清单")
    p.set_defaults(func=cmd_apply, default_user="applicant", effect=LIVE)
    p = sub.add_parser("resubmit", help="登记补正材料：改正后的申请（JSON 文件，可省略）、补交的材料文件、补正说明")
    p.add_argument("case", help="等待补正的案件编号")
    p.add_argument("--application",
                   help="改正后的完整申请：JSON 文本、文件路径或 -（统一社会信用代码、地区和层级不能改变）")
    p.add_argument("--material", dest="materials", action="append", metavar="KIND=FILE",
                   help="补交的材料文件（可重复），每份为该项材料的新版本")
    p.add_argument("--note", help="补正说明")
    p.add_argument("--received-at", help="收到补正材料的时间（默认为当前时间）")
    p.set_defaults(func=cmd_resubmit, default_user="applicant", effect=LIVE)
    p = sub.add_parser("tasks", help="列出待办（按紧急程度；可分页）")
    p.add_argument("--case")
    p.add_argument("--limit", type=int, help="每页件数（不给则列出全部）")
    p.add_argument("--after", help="从此位置之后列出（上一页最后一件的 cursor，文本输出末行给出）")
    p.set_defaults(func=cmd_tasks, effect=READS)
    p = sub.add_parser("complete", help="办结待办")
    p.add_argument("task_id")
    p.add_argument("--data", required=True, help="表单数据：JSON 文本、文件路径或 -")
    p.set_defaults(func=cmd_complete, default_user="caseworker", effect=LIVE)
    p = sub.add_parser("send", help="送达外部事件：resubmission、objection、renewal_application、change_report、"
                       "violation_report、deregistered、catalogue_change、termination_request、statement、wrapup_done、"
                       "rectification_done、rating")
    p.add_argument("message")
    p.add_argument("--case", help="案件编号或备案编号")
    p.add_argument("--filing", help="备案编号（与 --case 二选一）")
    p.add_argument("--data", help="消息内容：JSON 文本、文件路径或 -")
    p.set_defaults(func=cmd_send, default_user="external", effect=LIVE)
    p = sub.add_parser("show", help="查看案件或备案（状态、原因、等待事项、期限、文书、历史）")
    p.add_argument("case", help="案件编号或备案编号")
    p.set_defaults(func=cmd_show, effect=READS)
    p = sub.add_parser("filings", help="列出备案（状态与有效期）")
    p.add_argument("--status",
                   help="按状态筛选：filed、renewal_window、renewal_review、suspended、winding_up、terminated")
    p.add_argument("--region", help="按地区代码筛选（如 510000 为全省，510100 为成都市）")
    p.set_defaults(func=cmd_filings, effect=READS)
    p = sub.add_parser("cases", help="查找案件：按机构名称（部分）、统一社会信用代码、案件编号或备案编号，"
                       "及状态、地区、收件日期筛选")
    p.add_argument("--search", help="机构名称的一部分、统一社会信用代码、案件编号或备案编号（的一部分）")
    p.add_argument("--process", help="流程编号，如 filing_application")
    p.add_argument("--group", choices=("open", "publicity", "finished", "failed"),
                   help="状态分组：open 办理中、publicity 公示中、finished 已办结、failed 出错待处理")
    p.add_argument("--region", help="地区代码（如 510000 为全省，510100 为成都市）")
    p.add_argument("--received-from", help="收件日期起（含，YYYY-MM-DD）")
    p.add_argument("--received-to", help="收件日期止（含，YYYY-MM-DD）")
    p.add_argument("--page", type=int, default=1, help="页码（默认 1）")
    p.add_argument("--per-page", type=int, default=50, help="每页件数（默认 50，最多 200）")
    p.set_defaults(func=cmd_cases, effect=READS)
    p = sub.add_parser("document", help="输出文书 HTML（或用 --pdf 输出 PDF）")
    p.add_argument("document_id", type=int)
    p.add_argument("--out", help="写入文件")
    p.add_argument("--pdf", help="输出为 PDF 文件（中文字体：Noto CJK）")
    p.set_defaults(func=cmd_document, effect=READS)
