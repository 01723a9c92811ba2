"""What ops run by hand: the timer sweep, deliveries, the retry of a stuck case, the stuck list, the registry check."""

from __future__ import annotations

import argparse
from typing import Any

from adapters.entrypoints.cli.common import LIVE, emit, open_app
from adapters.entrypoints.cli.progress_bar import progress_bar


def cmd_sweep(args: argparse.Namespace) -> None:
    from adapters.outside.settings import load_settings

    result = open_app(args).operations.sweep(limit=args.limit, max_attempts=load_settings().sweep_max_attempts)

    def human(v: dict[str, Any]) -> str:
        lines = [f"{f['case']}：{'、'.join(f['timers']) or '（无到期事件）'} → {f['status']}" for f in v["fired"]]
        lines += [f"失败：{f['case']}（第 {f['attempts']} 次）：{f['error']}" for f in v["failed"]]
        return "\n".join(lines) or "没有到期的定时事件"

    emit(args, result, human)
    if result["failed"]:
        raise SystemExit(1)


def cmd_deliver(args: argparse.Namespace) -> None:
    from adapters.outside.settings import load_settings
    from workflows.delivery import deliver_due

    result = deliver_due(open_app(args), load_settings(), limit=args.limit)

    def human(v: dict[str, Any]) -> str:
        lines = [f"{c['case']}：已送达 {d['summary']}（回执 {d['reference']}）"
                 for c in v["cases"] for d in c["delivered"]]
        lines += [f"{c['case']}：稍后重试 {d['summary']}：{d['error']}" for c in v["cases"] for d in c["retrying"]]
        lines += [f"{c['case']}：送达失败 {d['summary']}：{d['error']}" for c in v["cases"] for d in c["failed"]]
        return "\n".join(lines) or "没有待送达的事项"

    emit(args, result, human)
    if result["failed"] or result["retrying"]:
        raise SystemExit(1)


def cmd_retry(args: argparse.Namespace) -> None:
    if args.reason or args.system or args.process or args.version is not None:
        cmd_retry_batch(args)
        return
    if not args.case:
        raise SystemExit("请给出案件编号，或用 --reason/--system/--process 选出要批量重试的卡住案件")
    result = open_app(args).operations.retry(args.case, actor=args.user)

    def human(v: dict[str, Any]) -> str:
        step = v["step"]  # None for deliveries of no case (ZH-<credit code>)
        lines = [f"案件 {v['case']}：" + ("重新发送投递" if step is None else
                                          f"处理失败：{step['error']}" if "error" in step else
                                          "没有到期的定时事件" if step.get("skipped") else
                                          f"已处理 {'、'.join(step['timers']) or '（无到期事件）'} → {step['status']}")]
        if v["requeued"]:
            lines.append(f"重新排队送达 {v['requeued']} 项")
        lines += [f"已送达 {d['summary']}（回执 {d['reference']}）" for d in v["delivery"]["delivered"]]
        lines += [f"仍未送达 {d['summary']}：{d['error']}" for d in v["delivery"]["retrying"] + v["delivery"]["failed"]]
        return "\n".join(lines)

    emit(args, result, human)
    if not result["ok"]:
        raise SystemExit(1)


def cmd_retry_batch(args: argparse.Namespace) -> None:
    from adapters.outside.settings import load_settings
    from workflows.batch_retry import Selection, retry_batch

    if args.case:
        raise SystemExit("案件编号与 --reason/--system/--process 不能同时使用")
    selection = Selection(reason=args.reason, system=args.system, process=args.process, version=args.version)
    result = retry_batch(open_app(args), load_settings(), selection, actor=args.user)

    def human(v: dict[str, Any]) -> str:
        lines = [f"按{v['described']}选出 {len(v['cases'])} 个卡住的案件"]
        lines += [f"{system} 已恢复应答" for system in v["systems_back"]]
        lines += [f"{r['case']}：" + ("已重试" if r.get("ok") else f"仍未成功：{_retry_problem(r)}")
                  for r in v["results"]]
        return "\n".join(lines)

    emit(args, result, human)
    if not result["ok"]:
        raise SystemExit(1)


def _retry_problem(result: dict[str, Any]) -> str:
    if "error" in result:
        return str(result["error"])
    step = result.get("step") or {}
    problems = [step["error"]] if step.get("error") else []
    problems += [f"{d['summary']}：{d['error']}" for d in result["delivery"]["retrying"] + result["delivery"]["failed"]]
    return "；".join(problems) or "未知原因"


def cmd_stuck(args: argparse.Namespace) -> None:
    from workflows.stuck import stuck_report

    result = stuck_report(open_app(args))
    emit(args, result, lambda v: "\n".join(
        [v["markdown_summary"]] + [f"{s['case_id'] or '、'.join(s['cases']) or '—'}  {s['institution']}  "
                                   f"{s['process']}  等待：{s['waiting_on']}  "
                                   f"超期 {s['overdue_working_days']} 个工作日  {s['reason']}  {s['link']}"
                                   for s in v["stuck"]]))


def cmd_registry_check(args: argparse.Namespace) -> None:
    from adapters.outside.settings import load_settings
    from workflows.lifecycle import ENTITY_CLOSED_REASONS
    from workflows.registry_watch import check_deregistrations

    with progress_bar(quiet=args.json) as on_progress:
        result = check_deregistrations(open_app(args), load_settings(), actor=args.user, on_progress=on_progress)
    emit(args, result, lambda v: "\n".join(
        [f"核查 {v['checked']} 个有效备案"]
        + [f"{o['filing']}：主体已{ENTITY_CLOSED_REASONS.get(o['reason'], o['reason'])}，已启动自动终止 {o['case']}"
           for o in v["opened"]]
        + [f"{number}：自动终止已在办理" for number in v["already"]]
        + [f"{e['filing']}：核查失败：{e['error']}" for e in v["errors"]]))
    if result["errors"]:
        raise SystemExit(1)


def register(sub: Any) -> None:
    """Add sweep, deliver, retry, stuck and registry-check."""
    p = sub.add_parser("sweep", help="触发所有已到期的定时事件")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=cmd_sweep, default_user="timer", effect=LIVE)
    p = sub.add_parser("deliver", help="向外部系统送达待发事项（公示、上报、通知）")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=cmd_deliver, default_user="outbox", effect=LIVE)
    p = sub.add_parser("retry", help="重新处理卡住的案件：触发到期事件，并重新送达失败的事项；"
                                     "或按原因、外部系统、流程版本批量重试卡住的案件（每个案件一次）")
    p.add_argument("case", nargs="?", help="案件编号")
    p.add_argument("--reason", help="批量：卡住原因，如 delivery_failed 或 外部投递失败")
    p.add_argument("--system", help="批量：等待的外部系统，如 national_registry")
    p.add_argument("--process", help="批量：流程，如 filing_application")
    p.add_argument("--version", type=int, help="批量：与 --process 一起，只选该流程的这个版本")
    p.set_defaults(func=cmd_retry, default_user="ops", effect=LIVE)
    p = sub.add_parser("stuck", help="列出卡住的案件（超期待办、延误的定时事件、出错、送达失败、外部回复超期）")
    p.set_defaults(func=cmd_stuck, effect=LIVE)  # it records the stuck list
    sub.add_parser("registry-check", help="向市场主体登记系统核查有效备案机构是否已注销").set_defaults(
        func=cmd_registry_check, default_user="registry", effect=LIVE)
