"""Process owners' commands: check, deploy, versions, diff and migrate of BPMN versions, and the what-if simulation."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.entrypoints.cli.common import LIVE, READS, SETUP, Parser, emit, open_app
from adapters.entrypoints.cli.progress_bar import progress_bar

if TYPE_CHECKING:
    from workflows.service.processes import Processes


def _deployed(args: argparse.Namespace) -> Processes | None:
    """The deployed processes and what their running cases stand on, when there is a database to ask (a check needs
    none: a SQLite file that does not exist yet is not created for it)."""
    from adapters.outside.db import database_url

    url = database_url(args.db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return open_app(args).processes


def cmd_bpmn_check(args: argparse.Namespace) -> None:
    from tasks.errors import DefinitionError
    from workflows.bpmn_check import check_files, has_errors

    deployed = _deployed(args)
    if deployed is not None:
        trial = deployed.trial_findings
    else:  # no database: the bundled calendar only, and only the built-in roles
        from workflows.service.trial_run import trial_findings as trial
    findings = check_files(args.files, deployed, trial)
    errors = sum(f.severity == "error" for f in findings)
    result = {"files": list(args.files), "errors": errors, "warnings": len(findings) - errors,
              "findings": [f.to_dict() for f in findings]}

    def human(v: dict[str, Any]) -> str:
        lines = [f"{f['file']}：{'错误' if f['severity'] == 'error' else '提醒'} [{f['code']}] {f['message']}"
                 for f in v["findings"]]
        return "\n".join(lines + [f"检查了 {len(v['files'])} 个文件：{v['errors']} 处错误，{v['warnings']} 处提醒"])

    emit(args, result, human)
    if has_errors(findings):
        raise DefinitionError(f"发现 {errors} 处错误，这些流程文件不能部署")


def cmd_bpmn_deploy(args: argparse.Namespace) -> None:
    """Check, then deploy each file as a new version (refused, with the findings, when a file has errors)."""
    from tasks.errors import DefinitionError
    from workflows.bpmn_check import check_files, has_errors
    from workflows.definitions import read_source

    app = open_app(args)
    findings = check_files(args.files, app.processes, app.processes.trial_findings)
    for f in findings:  # warnings do not stop a deployment, but the process owner reads them
        print(f"{f.file}：{'错误' if f.severity == 'error' else '提醒'} [{f.code}] {f.message}", file=sys.stderr)
    if has_errors(findings):
        raise DefinitionError(f"发现 {sum(f.severity == 'error' for f in findings)} 处错误，未部署任何文件")
    deployed = [app.processes.deploy(read_source(Path(path)), actor=args.user) for path in args.files]
    emit(args, {"deployed": deployed}, lambda v: "\n".join(
        f"{d['process']} 第 {d['version']} 版" + ("（新流程，已部署）" if d.get("new_process") else "（已部署）"
                                                 if d["deployed"] else "（内容未变，未部署）")
        for d in v["deployed"]))


def cmd_bpmn_versions(args: argparse.Namespace) -> None:
    versions = open_app(args).processes.versions(args.process)
    emit(args, versions, lambda v: "\n".join(
        f"第 {x['version']} 版{'（最新）' if x['latest'] else ''}  {x['deployed_at'][:16].replace('T', ' ')}  "
        f"{x['deployed_by']}  运行中 {x['running']} 件 / 共 {x['instances']} 件  {x['sha256'][:12]}" for x in v))


def cmd_bpmn_diff(args: argparse.Namespace) -> None:
    diff = open_app(args).processes.diff(args.process, args.a, args.b)

    def human(v: dict[str, Any]) -> str:
        def where(e: dict[str, Any]) -> str:
            running = f"（{e['running']} 件运行中的案件停在此处）" if e.get("running") else ""
            return f"{e['type']}“{e['name']}”（{e['bpmn_id']}）{running}"

        lines = [f"{v['process']}：第 {v['from_version']} 版 → 第 {v['to_version']} 版"]
        lines += [f"  新增 {where(e)}" for e in v["added"]]
        lines += [f"  删除 {where(e)}" for e in v["removed"]]
        for e in v["changed"]:
            details = e.get("details") or [{"label": label, "before": None, "after": None} for label in e["changes"]]
            for detail in details:
                lines += _change_lines(f"  修改 {where(e)}", detail)
        for form in v["forms"]:
            lines += _form_lines(form)
        return "\n".join(lines if len(lines) > 1 else [*lines, "  两个版本的流程与表单相同"])

    emit(args, diff, human)


SHORT_VALUE = 60  # longer values (a script, a long condition) get lines of their own
MOST_DIFF_LINES = 12


def _quoted(text: str | None) -> str:
    return "（无）" if text is None else f"“{text}”"


def _change_lines(prefix: str, detail: dict[str, Any]) -> list[str]:
    """One change of the version diff as `prefix：名称 “旧” → “新”`; a long or multi-line value (a script) as the
    lines that differ, under a line naming the change, so that the terminal stays readable (the JSON and the web
    page have the full texts)."""
    label, before, after = detail["label"], detail.get("before"), detail.get("after")
    if before is None and after is None:  # only the label is known
        return [f"{prefix}：{label}"]
    short = all(text is None or (len(text) <= SHORT_VALUE and "\n" not in text) for text in (before, after))
    if short and label.startswith(("新增", "删除")) and (before is None or after is None):  # 新增选项 “…”
        return [f"{prefix}：{label} {_quoted(before if after is None else after)}"]
    if short:
        return [f"{prefix}：{label} {_quoted(before)} → {_quoted(after)}"]
    verb = "新设" if before is None else "去掉" if after is None else "修改"
    lines = [f"{prefix}：{label} {verb}："]
    if "\n" in (before or "") or "\n" in (after or ""):
        changed = [line for line in difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(),
                                                         lineterm="", n=0)
                   if not line.startswith(("---", "+++", "@@"))]
        lines += [f"      {line[:1]} {line[1:]}" for line in changed[:MOST_DIFF_LINES]]
        if len(changed) > MOST_DIFF_LINES:
            lines.append(f"      …另有 {len(changed) - MOST_DIFF_LINES} 行改动（全文见 --json 或网页上的版本差异）")
    else:
        lines += [f"      原：{_quoted(before)}", f"      新：{_quoted(after)}"]
    return lines


def _form_lines(form: dict[str, Any]) -> list[str]:
    """A form of the version diff: added or removed by name, a changed one field by field."""
    title = f"（{form['title']}）" if form.get("title") else ""
    words = {"added": "新增", "removed": "删除", "changed": "修改"}
    prefix = f"  表单{words[form['change']]} {form['name']}{title}"
    lines = [line for detail in form.get("details", []) for line in _change_lines(prefix, detail)]
    for field in form.get("fields", []):
        name = f"字段“{field['title'] or field['field']}”（{field['field']}）"
        if field["change"] == "changed":
            lines += [line for detail in field["details"] for line in _change_lines(f"{prefix}：{name}", detail)]
        else:
            side = "after" if field["change"] == "added" else "before"
            said = "，".join(f"{d['label']} {d[side]}" for d in field["details"] if d[side] is not None)
            lines.append(f"{prefix}：{words[field['change']]}{name}" + (f"：{said}" if said else ""))
    return lines or [prefix]


def cmd_bpmn_migrate(args: argparse.Namespace) -> None:
    """Preview (--dry-run) or move the running cases of one version to another."""
    app = open_app(args)
    with progress_bar(quiet=args.json) as on_progress:
        result = app.processes.migrate(args.process, args.from_version, args.to_version,
                                       actor="preview" if args.dry_run else args.user, dry_run=args.dry_run,
                                       case_ids=args.cases, on_progress=on_progress)

    def human(v: dict[str, Any]) -> str:
        lines = []
        for case in v["cases"]:
            mark = "可迁移" if case["migratable"] else "不能迁移"
            if not v["dry_run"]:
                mark = "已迁移" if case["case_id"] in v["migrated"] else "未迁移"
            lines.append(f"{case['case_id']}（{mark}）")
            lines += [f"  {p['kind']} {p['name']}（{p['bpmn_id']}）：{p['detail']}" for p in case["positions"]]
            lines += [f"  原因：{problem}" for problem in case["problems"]]
            lines += [f"  另：{note}" for note in case.get("notes", [])]
        head = (f"{v['process']} 第 {v['from_version']} 版 → 第 {v['to_version']} 版"
                + ("（预览，未作任何更改）" if v["dry_run"] else ""))
        left = len(v["cases"]) - len(v["migrated"])
        count = (f"运行中的案件 {len(v['cases'])} 件：可迁移 {v['migratable']} 件，不能迁移 {v['blocked']} 件"
                 if v["dry_run"] else f"已迁移 {len(v['migrated'])} 件，未迁移 {left} 件")
        return "\n".join([head, *lines, count])

    emit(args, result, human)


def cmd_simulate(args: argparse.Namespace) -> None:
    """What-if simulation of process versions on scratch databases (docs/simulation.md); --db is only read."""
    from adapters.outside.db import database_url
    from tasks.errors import InvalidInput
    from workflows.simulation import DEFAULT_SEED, simulate
    from workflows.simulation_profile import load_profile
    from workflows.simulation_report import render

    dates = {}
    for option, text in (("--from", args.start), ("--until", args.until)):
        try:
            dates[option] = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{option} 应为日期（YYYY-MM-DD），实为“{text}”") from None
    with progress_bar(quiet=args.json) as on_progress:
        report = simulate(args.process, cases=args.cases, first=dates["--from"], last=dates["--until"],
                          profile=load_profile(Path(args.profile) if args.profile else None),
                          requested=args.variants or [], database_url=database_url(args.db),
                          seed=DEFAULT_SEED if args.seed is None else args.seed, workers=args.workers,
                          on_progress=on_progress)
    emit(args, report, render)


def cmd_simulate_profile(args: argparse.Namespace) -> None:
    """A profile measured from the history (docs/simulation.md), printed as JSON for `simulate --profile`."""
    from tasks.errors import InvalidInput
    from workflows.simulation_calibration import calibrate
    from workflows.simulation_profile import load_profile

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise InvalidInput(f"--since 应为日期（YYYY-MM-DD），实为“{args.since}”") from None
    fragment = calibrate(open_app(args), args.process, load_profile(), since=since, min_samples=args.min_samples)
    print(json.dumps(fragment, ensure_ascii=False, indent=2))


def register(sub: Any) -> None:
    """Add the bpmn commands, simulate-profile and simulate."""
    bpmn = sub.add_parser("bpmn", help="流程定义（BPMN）").add_subparsers(dest="bpmn_command", required=True,
                                                                    parser_class=Parser)
    p = bpmn.add_parser("check", help="部署前检查 BPMN 文件：XML 与规范、能否解析、泳道角色、表单、服务、表达式、"
                                      "定时器、网关条件、消息（有错误时退出码为 7）")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_bpmn_check, effect=READS)
    p = bpmn.add_parser("deploy", help="检查并部署为新版本（有错误时拒绝部署；运行中的案件留在原版本）")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_bpmn_deploy, default_user="process-owner", effect=SETUP)
    p = bpmn.add_parser("versions", help="流程的各个版本及其运行中的案件数")
    p.add_argument("process", help="流程编号，如 filing_application")
    p.set_defaults(func=cmd_bpmn_versions, effect=READS)
    p = bpmn.add_parser("diff", help="比较同一流程的两个版本：新增、删除、修改的元素与表单（每处改动的原值与新值），"
                                     "及停在其上的运行中案件")
    p.add_argument("process", help="流程编号，如 filing_application")
    p.add_argument("a", type=int, metavar="A", help="原版本号")
    p.add_argument("b", type=int, metavar="B", help="新版本号")
    p.set_defaults(func=cmd_bpmn_diff, effect=READS)
    p = bpmn.add_parser("migrate", help="把某版本上运行中的案件迁移到另一版本（待办、认领、暂存内容与已计算的"
                                        "法定期限不变；先用 --dry-run 预览）")
    p.add_argument("process", help="流程编号，如 filing_application")
    p.add_argument("--from", dest="from_version", type=int, required=True, metavar="A", help="源版本号")
    p.add_argument("--to", dest="to_version", type=int, required=True, metavar="B", help="目标版本号")
    p.add_argument("--dry-run", action="store_true", help="只预览每个案件与其所在环节的迁移结果，不作更改")
    p.add_argument("--case", dest="cases", action="append", metavar="CASE",
                   help="只迁移这些案件（可重复；默认该版本上所有运行中的案件）")
    p.set_defaults(func=cmd_bpmn_migrate, default_user="process-owner",
                   effect=lambda args: READS if args.dry_run else LIVE)

    p = sub.add_parser("simulate-profile", help="按办理历史估算模拟配置（各环节用时与结论比例），输出 JSON，"
                       "供 simulate --profile 使用")
    p.add_argument("process", nargs="?", default="filing_application", help="流程编号（默认 filing_application）")
    p.add_argument("--since", help="只用此日期以来的记录（YYYY-MM-DD）")
    p.add_argument("--min-samples", type=int, default=5, help="环节至少办结几件才估算（默认 5）")
    p.set_defaults(func=cmd_simulate_profile, effect=READS)
    p = sub.add_parser("simulate", help="模拟比较：合成案件在虚拟时钟上走完流程的各版本，比较回执数、办理时长、"
                                        "法定期限超期和卡住的案件（只读取 --db，不改动）")
    p.add_argument("process", help="流程编号（目前可模拟 filing_application）")
    p.add_argument("--version", dest="variants", action="append", type=lambda v: ("version", v), metavar="V",
                   help="--db 中已部署的版本号（可重复；第一个为比较基准）")
    p.add_argument("--file", dest="variants", action="append", type=lambda v: ("file", v), metavar="PATH.bpmn",
                   help="尚未部署的 BPMN 文件（表单取自其旁的 forms/；可重复，与 --version 按给出顺序排列）")
    p.add_argument("--cases", type=int, required=True, help="合成申请的件数")
    p.add_argument("--from", dest="start", required=True, help="申请到达期的第一天（YYYY-MM-DD）")
    p.add_argument("--until", required=True,
                   help="申请到达期的最后一天（含）；之后继续运行至案件全部办结，最多运行配置 horizon 规定的天数")
    p.add_argument("--profile", help="模拟配置 JSON 文件，合并于默认配置之上（见 docs/simulation.md）")
    p.add_argument("--seed", type=int, help="随机种子（默认 20260101；相同种子、相同输入，结果相同）")
    p.add_argument("--workers", type=int, metavar="N",
                   help="并行的工作进程数，案件分给各进程、各用一个临时数据库（默认每个 CPU 核一个；结果与单进程相同）")
    p.set_defaults(func=cmd_simulate, default_user="simulation", effect=READS)
