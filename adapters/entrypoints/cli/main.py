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
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.outside.settings import PREFECT_PORT, SANDBOX_PORT, WEB_PORT
from tasks.errors import BeianError
from workflows import clock

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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"beian：参数错误：{message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _read_json(text_or_path: str, what: str) -> Any:
    """A JSON value given inline, as a file path, or as '-' for standard input: strict and bounded (json_input)."""
    from adapters.entrypoints.cli.json_input import read_json

    return read_json(text_or_path, what)


def _app(args: argparse.Namespace) -> Beian:
    """The application for this command, opened once (and closed by `main`)."""
    from workflows.service import Beian

    if getattr(args, "app", None) is None:
        args.app = Beian(_database(args))
    return args.app


def _database(args: argparse.Namespace) -> str:
    """The database URL of `--db` / BEIAN_DATABASE_URL / ./beian.sqlite3, refused in Chinese when it cannot be one."""
    from adapters.entrypoints.cli.failures import checked_database_url
    from adapters.outside.db import database_url

    return checked_database_url(database_url(args.db))


def _print(args: argparse.Namespace, value: Any, human: Callable[[Any], str]) -> None:
    if args.json:
        print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    else:
        print(human(value))


def cmd_init(args: argparse.Namespace) -> None:
    from workflows.database_clock import mark_practice, read_marker, refuse_practice

    app = _app(args)
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

    _print(args, {"definitions": deployed, "clock": marker.kind}, human)


CLOCK_KINDS = {
    "practice": "练习数据库：可用虚拟时钟（--now）办理",
    "live": "正式数据库（已按真实时间运行）：虚拟时钟（--now）只能用于查看",
    "new": "尚未按真实时间运行：可用虚拟时钟（--now）；一旦按真实时间办理（beian up、网页应用、不带 --now 的"
           "办理命令），虚拟时钟就只能用于查看。练习请用 beian init --practice",
}


def cmd_apply(args: argparse.Namespace) -> None:
    application = _read_json(args.file, "申请材料")
    received = clock.parse_instant(args.received_at) if args.received_at else None
    result = _app(args).cases.apply(application, received_at=received, actor=args.user)
    _print(args, result, lambda v: f"已受理登记：案件 {v['case']}（流程实例 {v['instance']}），状态 {v['status']}")


def _task_line(t: dict[str, Any]) -> str:
    due = t["due"][:16].replace("T", " ") if t["due"] else "无法定期限"
    flags = ("，已逾期" if t["overdue"] else "") + ("，暂定期限" if t["provisional"] else "")
    line = f"{t['id']}  {t['case']}  {t['name']}（{t['role']}）  期限：{due}{flags}"
    failures = (t["context"].get("precheck") or {}).get("failures", [])
    return "\n".join([line] + [f"    ⚠ 预审：{f['message']}〔{f['article']}〕" for f in failures])


def cmd_tasks(args: argparse.Namespace) -> None:
    tasks = _app(args).cases.tasks(args.case)
    _print(args, tasks, lambda v: "\n".join(_task_line(t) for t in v) or "没有待办")


def cmd_complete(args: argparse.Namespace) -> None:
    data = _read_json(args.data, "表单数据")
    result = _app(args).cases.complete(args.task_id, data, actor=args.user)
    _print(args, result, lambda v: f"已办结。案件 {v['case']} 当前状态：{v['status']}")


def cmd_send(args: argparse.Namespace) -> None:
    data = _read_json(args.data, "消息内容") if args.data else None
    target = args.case or args.filing
    if not target:
        raise BeianError("请用 --case 指定案件编号或备案编号（或用 --filing 指定备案编号）")
    result = _app(args).cases.send(args.message, target, data, actor=args.user)

    def human(v: dict[str, Any]) -> str:
        if v.get("case") is None:
            return f"已记录。备案 {v['filing']} 当前状态：{v['status']}"
        if v.get("filing"):
            return f"已立案：{v['case']}（{v['process']}）。备案 {v['filing']} 当前状态：{v['status']}"
        return f"消息已送达。案件 {v['case']} 当前状态：{v['status']}"

    _print(args, result, human)


def cmd_sweep(args: argparse.Namespace) -> None:
    from adapters.outside.settings import load_settings

    result = _app(args).operations.sweep(limit=args.limit, max_attempts=load_settings().sweep_max_attempts)

    def human(v: dict[str, Any]) -> str:
        lines = [f"{f['case']}：{'、'.join(f['timers']) or '（无到期事件）'} → {f['status']}" for f in v["fired"]]
        lines += [f"失败：{f['case']}（第 {f['attempts']} 次）：{f['error']}" for f in v["failed"]]
        return "\n".join(lines) or "没有到期的定时事件"

    _print(args, result, human)
    if result["failed"]:
        raise SystemExit(1)


def cmd_deliver(args: argparse.Namespace) -> None:
    from adapters.outside.settings import load_settings
    from workflows.delivery import deliver_due

    result = deliver_due(_app(args), load_settings(), limit=args.limit)

    def human(v: dict[str, Any]) -> str:
        lines = [f"{c['case']}：已送达 {d['summary']}（回执 {d['reference']}）"
                 for c in v["cases"] for d in c["delivered"]]
        lines += [f"{c['case']}：稍后重试 {d['summary']}：{d['error']}" for c in v["cases"] for d in c["retrying"]]
        lines += [f"{c['case']}：送达失败 {d['summary']}：{d['error']}" for c in v["cases"] for d in c["failed"]]
        return "\n".join(lines) or "没有待送达的事项"

    _print(args, result, human)
    if result["failed"] or result["retrying"]:
        raise SystemExit(1)


def cmd_retry(args: argparse.Namespace) -> None:
    result = _app(args).operations.retry(args.case, actor=args.user)

    def human(v: dict[str, Any]) -> str:
        step = v["step"]
        lines = [f"案件 {v['case']}：" + (f"处理失败：{step['error']}" if "error" in step else
                                          "没有到期的定时事件" if step.get("skipped") else
                                          f"已处理 {'、'.join(step['timers']) or '（无到期事件）'} → {step['status']}")]
        if v["requeued"]:
            lines.append(f"重新排队送达 {v['requeued']} 项")
        lines += [f"已送达 {d['summary']}（回执 {d['reference']}）" for d in v["delivery"]["delivered"]]
        lines += [f"仍未送达 {d['summary']}：{d['error']}" for d in v["delivery"]["retrying"] + v["delivery"]["failed"]]
        return "\n".join(lines)

    _print(args, result, human)
    if not result["ok"]:
        raise SystemExit(1)


def cmd_stuck(args: argparse.Namespace) -> None:
    from workflows.stuck import stuck_report

    result = stuck_report(_app(args))
    _print(args, result, lambda v: "\n".join(
        [v["markdown_summary"]] + [f"{s['case_id']}  {s['institution']}  {s['process']}  等待：{s['waiting_on']}  "
                                   f"超期 {s['overdue_working_days']} 个工作日  {s['reason']}  {s['link']}"
                                   for s in v["stuck"]]))


def cmd_registry_check(args: argparse.Namespace) -> None:
    from adapters.outside.settings import load_settings
    from workflows.lifecycle import ENTITY_CLOSED_REASONS
    from workflows.registry_watch import check_deregistrations

    result = check_deregistrations(_app(args), load_settings(), actor=args.user)
    _print(args, result, lambda v: "\n".join(
        [f"核查 {v['checked']} 个有效备案"]
        + [f"{o['filing']}：主体已{ENTITY_CLOSED_REASONS.get(o['reason'], o['reason'])}，已启动自动终止 {o['case']}"
           for o in v["opened"]]
        + [f"{number}：自动终止已在办理" for number in v["already"]]
        + [f"{e['filing']}：核查失败：{e['error']}" for e in v["errors"]]))
    if result["errors"]:
        raise SystemExit(1)


def cmd_up(args: argparse.Namespace) -> None:
    from adapters.entrypoints.up import run_up

    raise SystemExit(run_up(args.db, Path(args.home), args.prefect_port, args.sandbox_port, web=not args.no_web,
                            open_browser=args.open, web_port=args.web_port, serve=not args.no_serve,
                            prefect_host=args.prefect_host))


def cmd_deploy(args: argparse.Namespace) -> None:
    from adapters.entrypoints.up import run_deploy

    raise SystemExit(run_deploy(args.pool, args.prefect_api_url))


def cmd_worker(args: argparse.Namespace) -> None:
    from adapters.entrypoints.up import run_worker

    if args.db:  # the worker's flow runs read the application database from the environment
        from adapters.outside.db import database_url

        os.environ["BEIAN_DATABASE_URL"] = database_url(args.db)
    raise SystemExit(run_worker(args.pool, args.prefect_api_url))


def cmd_sandbox(args: argparse.Namespace) -> None:
    from adapters.outside.sandbox import main as sandbox_main

    raise SystemExit(sandbox_main(["--host", args.host, "--port", str(args.port)]))


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
        lines.append(f"期限：{d['name']}：{d['explanation']}" + ("【已逾期】" if d["overdue"] else ""))
    for d in v["documents"]:
        lines.append(f"文书 {d['id']}：{d['title']}" + (f"（{d['number']}）" if d["number"] else ""))
    lines.append("历史：")
    lines += [f"  {h['at'][:16].replace('T', ' ')}  {h['actor']}  {h['summary']}"
              + (f"  〔{h['article']}〕" if h["article"] else "") for h in v["history"]]
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> None:
    _print(args, _app(args).records.show(args.case), _show_text)


def cmd_filings(args: argparse.Namespace) -> None:
    filings = _app(args).records.filings(status=args.status, region=args.region)
    _print(args, filings, lambda v: "\n".join(
        f"{f['filing_number']}  {f['institution']}  {f['status_label']}"
        + (f"（{f['termination_kind']}，{f['terminated_on']}）" if f["termination_kind"] else "")
        + f"  有效期 {f['valid_from']} 至 {f['valid_until']}" + (f"  上级 {f['parent']}" if f["parent"] else "")
        for f in v) or "没有符合条件的备案")


def cmd_document(args: argparse.Namespace) -> None:
    if args.pdf:
        name, pdf = _app(args).records.pdf(args.document_id)
        Path(args.pdf).write_bytes(pdf)
        _print(args, {"id": args.document_id, "file": args.pdf, "name": name, "bytes": len(pdf)},
               lambda v: f"已写入 {v['file']}（PDF，{v['bytes']} 字节）")
        return
    document = _app(args).records.document(args.document_id)
    if args.out:
        Path(args.out).write_text(document["html"], encoding="utf-8")
        _print(args, {k: v for k, v in document.items() if k != "html"} | {"file": args.out},
               lambda v: f"已写入 {v['file']}")
    else:
        print(document["html"])


def cmd_calendar_add(args: argparse.Namespace) -> None:
    try:
        start = date.fromisoformat(args.date) if len(args.date) == 10 else clock.parse_instant(args.date)
    except ValueError:
        raise BeianError(f"无法识别的日期“{args.date}”，请使用 YYYY-MM-DD") from None
    result = _app(args).calendar.add(start, args.days)
    _print(args, result, lambda v: v["explanation"])


def cmd_calendar_load(args: argparse.Namespace) -> None:
    data = _read_calendar_file(args.file)
    result = _app(args).calendar.load(data, actor=args.user)
    def human(v: dict[str, Any]) -> str:
        cases = v["recomputed_cases"]
        return (f"已载入 {v['year']} 年节假日安排；重新计算了 {len(cases)} 个案件的暂定期限"
                + (f"：{'、'.join(cases)}" if cases else ""))

    _print(args, result, human)


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
    return _read_json(path, "节假日安排")


def cmd_calendar_years(args: argparse.Namespace) -> None:
    years = _app(args).calendar.years()
    _print(args, years, lambda v: "\n".join(
        f"{y['year']}：{y['source']}（{y['loaded_by']} 于 {y['loaded_at'][:10]} 载入）" for y in v)
        or "尚未载入任何年度安排（2004–2026 年使用内置官方数据）")


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
        database = str(path.resolve())
        note = "练习数据库，每次运行 beian demo 时重新创建；不动 ./beian.sqlite3 或 BEIAN_DATABASE_URL 所指的数据库"
    else:
        from adapters.entrypoints.cli.failures import shown_url

        app = _app(args)
        check_virtual_write(app, DEMO_STARTS, "beian demo", args.user, override=args.allow_virtual_clock)
        app.init(actor="演示")
        database, note = shown_url(_database(args)), "--db 指定"
    say = (lambda _line: None) if args.json else print
    say(f"演示数据库：{database}（{note}）")
    shown = run_demo(app, say=say, out_dir=out)
    if args.json:
        print(json.dumps({"database": database, **shown}, ensure_ascii=False, indent=2))


def cmd_bench_misplaced(args: argparse.Namespace) -> None:
    raise BeianError("beian bench 的选项只能写在 bench 之后（它的 --db 是存放基准数据库的目录），"
                     "例如：beian bench --sizes 1000 --steps 20")


def _user_view(user: Any) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "roles": list(user.roles),
            "role_labels": list(user.role_labels), "region": user.region, "region_name": user.region_name,
            "is_admin": user.is_admin, "active": user.active}


def _user_line(v: dict[str, Any]) -> str:
    region = v["region_name"] if v["region"] in v["region_name"] else f"{v['region_name']}（{v['region']}）"
    return (f"{v['username']}  {v['display_name']}  {'、'.join(v['role_labels'])}  辖区 {region}"
            + ("  管理员" if v["is_admin"] else "") + ("" if v["active"] else "  已停用"))


def _new_password(args: argparse.Namespace) -> str:
    """The new password: one line of standard input with --password-stdin, else typed twice without echo."""
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    import getpass

    first = getpass.getpass("新密码：")
    if getpass.getpass("再次输入新密码：") != first:
        from tasks.errors import InvalidInput

        raise InvalidInput("两次输入的密码不一致，未作任何更改")
    return first


def cmd_users_add(args: argparse.Namespace) -> None:
    from workflows.users import add_user

    app = _app(args)  # opened first: a wrong --db fails before the password is asked for
    user = add_user(app, args.username, args.name, _new_password(args), args.role, args.region,
                    is_admin=args.admin, actor=args.user)
    _print(args, _user_view(user), lambda v: "已新增用户：" + _user_line(v))


def cmd_users_list(args: argparse.Namespace) -> None:
    from workflows.users import list_users

    users = [_user_view(u) for u in list_users(_app(args))]
    _print(args, users, lambda v: "\n".join(_user_line(u) for u in v) or "尚无用户（用 beian users add 新增）")


def cmd_users_passwd(args: argparse.Namespace) -> None:
    from workflows.users import set_password

    app = _app(args)
    _existing_user(app, args.username)  # before asking for a password nobody can use
    set_password(app, args.username, _new_password(args), actor=args.user)
    _print(args, {"username": args.username, "password_changed": True},
           lambda v: f"已更改用户 {v['username']} 的密码")


def cmd_users_active(args: argparse.Namespace) -> None:
    from workflows.users import set_active

    user = set_active(_app(args), args.username, args.active, actor=args.user)
    _print(args, _user_view(user), lambda v: ("已启用用户：" if v["active"] else "已停用用户：") + _user_line(v))


def cmd_users_unlock(args: argparse.Namespace) -> None:
    from workflows.users import unlock

    unlock(_app(args), args.username, actor=args.user)
    _print(args, {"unlocked": args.username}, lambda v: f"已解除登录锁定：{v['unlocked']}")


def cmd_users_sessions(args: argparse.Namespace) -> None:
    from workflows.sessions import live_sessions

    app = _app(args)
    if args.username is not None:
        _existing_user(app, args.username)
    sessions = [s.to_dict() for s in live_sessions(app, args.username)]
    _print(args, sessions, lambda v: "\n".join(
        f"{s['username']}  登录 {s['created_at'][:16]}  最近活动 {s['last_seen_at'][:16]}  "
        f"到期 {s['expires_at'][:16]}  {s['client'] or '（地址不明）'}" for s in v) or "没有登录中的会话")


def cmd_users_signout(args: argparse.Namespace) -> None:
    from workflows.sessions import sign_out_everywhere

    app = _app(args)
    username = _existing_user(app, args.username)
    ended = sign_out_everywhere(app, username, actor=args.user)
    _print(args, {"username": username, "sessions_ended": ended},
           lambda v: f"已登出用户 {v['username']} 的全部会话（{v['sessions_ended']} 个）")


def _existing_user(app: Any, username: str) -> str:
    from tasks.errors import NotFound
    from workflows.users import get_user

    user = get_user(app, username)
    if user is None:
        raise NotFound(f"用户“{username}”不存在")
    return user.username


def _running_ids(args: argparse.Namespace) -> Callable[[str], set[str]] | None:
    """What the running cases stand on, when there is a database to ask (a check needs none: a SQLite file that
    does not exist yet is not created for it)."""
    from adapters.outside.db import database_url

    url = database_url(args.db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return _app(args).processes.running_ids


def cmd_bpmn_check(args: argparse.Namespace) -> None:
    from tasks.errors import DefinitionError
    from workflows.bpmn_check import check_files, has_errors

    findings = check_files(args.files, _running_ids(args))
    errors = sum(f.severity == "error" for f in findings)
    result = {"files": list(args.files), "errors": errors, "warnings": len(findings) - errors,
              "findings": [f.to_dict() for f in findings]}

    def human(v: dict[str, Any]) -> str:
        lines = [f"{f['file']}：{'错误' if f['severity'] == 'error' else '提醒'} [{f['code']}] {f['message']}"
                 for f in v["findings"]]
        return "\n".join(lines + [f"检查了 {len(v['files'])} 个文件：{v['errors']} 处错误，{v['warnings']} 处提醒"])

    _print(args, result, human)
    if has_errors(findings):
        raise DefinitionError(f"发现 {errors} 处错误，这些流程文件不能部署")


def cmd_bpmn_deploy(args: argparse.Namespace) -> None:
    """Check, then deploy each file as a new version (refused, with the findings, when a file has errors)."""
    from tasks.errors import DefinitionError
    from workflows.bpmn_check import check_files, has_errors
    from workflows.definitions import read_source

    app = _app(args)
    findings = check_files(args.files, app.processes.running_ids)
    for f in findings:  # warnings do not stop a deployment, but the process owner reads them
        print(f"{f.file}：{'错误' if f.severity == 'error' else '提醒'} [{f.code}] {f.message}", file=sys.stderr)
    if has_errors(findings):
        raise DefinitionError(f"发现 {sum(f.severity == 'error' for f in findings)} 处错误，未部署任何文件")
    deployed = [app.processes.deploy(read_source(Path(path)), actor=args.user) for path in args.files]
    _print(args, {"deployed": deployed}, lambda v: "\n".join(
        f"{d['process']} 第 {d['version']} 版" + ("（新部署）" if d["deployed"] else "（内容未变，未部署）")
        for d in v["deployed"]))


def cmd_bpmn_versions(args: argparse.Namespace) -> None:
    versions = _app(args).processes.versions(args.process)
    _print(args, versions, lambda v: "\n".join(
        f"第 {x['version']} 版{'（最新）' if x['latest'] else ''}  {x['deployed_at'][:16].replace('T', ' ')}  "
        f"{x['deployed_by']}  运行中 {x['running']} 件 / 共 {x['instances']} 件  {x['sha256'][:12]}" for x in v))


def cmd_bpmn_diff(args: argparse.Namespace) -> None:
    diff = _app(args).processes.diff(args.process, args.a, args.b)

    def human(v: dict[str, Any]) -> str:
        def where(e: dict[str, Any]) -> str:
            running = f"（{e['running']} 件运行中的案件停在此处）" if e.get("running") else ""
            return f"{e['type']}“{e['name']}”（{e['bpmn_id']}）{running}"

        lines = [f"{v['process']}：第 {v['from_version']} 版 → 第 {v['to_version']} 版"]
        lines += [f"  新增 {where(e)}" for e in v["added"]]
        lines += [f"  删除 {where(e)}" for e in v["removed"]]
        lines += [f"  修改 {where(e)}：{'、'.join(e['changes'])}" for e in v["changed"]]
        words = {"added": "新增", "removed": "删除", "changed": "修改"}
        lines += [f"  表单{words[f['change']]} {f['name']}" for f in v["forms"]]
        return "\n".join(lines if len(lines) > 1 else [*lines, "  两个版本的流程与表单相同"])

    _print(args, diff, human)


def cmd_bpmn_migrate(args: argparse.Namespace) -> None:
    """Preview (--dry-run) or move the running cases of one version to another."""
    app = _app(args)
    if args.dry_run:
        result = app.processes.migration_preview(args.process, args.from_version, args.to_version, case_ids=args.cases)
    else:
        result = app.processes.migrate(args.process, args.from_version, args.to_version, actor=args.user,
                                       case_ids=args.cases)

    def human(v: dict[str, Any]) -> str:
        lines = []
        for case in v["cases"]:
            mark = "可迁移" if case["migratable"] else "不能迁移"
            if not v["dry_run"]:
                mark = "已迁移" if case["case_id"] in v["migrated"] else "未迁移"
            lines.append(f"{case['case_id']}（{mark}）")
            lines += [f"  {p['kind']} {p['name']}（{p['bpmn_id']}）：{p['detail']}" for p in case["positions"]]
            lines += [f"  原因：{problem}" for problem in case["problems"]]
        head = (f"{v['process']} 第 {v['from_version']} 版 → 第 {v['to_version']} 版"
                + ("（预览，未作任何更改）" if v["dry_run"] else ""))
        left = len(v["cases"]) - len(v["migrated"])
        count = (f"运行中的案件 {len(v['cases'])} 件：可迁移 {v['migratable']} 件，不能迁移 {v['blocked']} 件"
                 if v["dry_run"] else f"已迁移 {len(v['migrated'])} 件，未迁移 {left} 件")
        return "\n".join([head, *lines, count])

    _print(args, result, human)


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
    report = simulate(args.process, cases=args.cases, first=dates["--from"], last=dates["--until"],
                      profile=load_profile(Path(args.profile) if args.profile else None),
                      requested=args.variants or [], database_url=database_url(args.db),
                      seed=DEFAULT_SEED if args.seed is None else args.seed)
    _print(args, report, render)


def cmd_simulate_profile(args: argparse.Namespace) -> None:
    """A profile measured from the history (docs/simulation.md), printed as JSON for `simulate --profile`."""
    from tasks.errors import InvalidInput
    from workflows.simulation_calibration import calibrate
    from workflows.simulation_profile import load_profile

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise InvalidInput(f"--since 应为日期（YYYY-MM-DD），实为“{args.since}”") from None
    fragment = calibrate(_app(args), args.process, load_profile(), since=since, min_samples=args.min_samples)
    print(json.dumps(fragment, ensure_ascii=False, indent=2))


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
    parser = _Parser(prog="beian", description="职业技能等级评价机构备案系统")
    _global_options(parser, on_command=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("init", help="创建或升级数据库并部署内置流程")
    p.add_argument("--practice", action="store_true",
                   help="设为练习数据库：可用虚拟时钟（--now）随意办理；已按真实时间运行的数据库不能设为练习数据库")
    p.set_defaults(func=cmd_init, default_user="admin", effect=SETUP)
    p = sub.add_parser("apply", help="提交备案申请（JSON 文件）")
    p.add_argument("file")
    p.add_argument("--received-at", help="收到申请的时间（默认为当前时间）")
    p.set_defaults(func=cmd_apply, default_user="applicant", effect=LIVE)
    p = sub.add_parser("tasks", help="列出待办")
    p.add_argument("--case")
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
    p = sub.add_parser("sweep", help="触发所有已到期的定时事件")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=cmd_sweep, default_user="timer", effect=LIVE)
    p = sub.add_parser("deliver", help="向外部系统送达待发事项（公示、上报、通知）")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=cmd_deliver, default_user="outbox", effect=LIVE)
    p = sub.add_parser("retry", help="重新处理卡住的案件：触发到期事件，并重新送达失败的事项")
    p.add_argument("case", help="案件编号")
    p.set_defaults(func=cmd_retry, default_user="ops", effect=LIVE)
    p = sub.add_parser("stuck", help="列出卡住的案件（超期待办、延误的定时事件、出错、送达失败、外部回复超期）")
    p.set_defaults(func=cmd_stuck, effect=LIVE)  # it records the stuck list
    sub.add_parser("registry-check", help="向市场主体登记系统核查有效备案机构是否已注销").set_defaults(
        func=cmd_registry_check, default_user="registry", effect=LIVE)
    p = sub.add_parser("up", help="一键启动：Prefect 服务器与界面、定时扫描/送达/卡件监控部署、外部系统沙箱"
                                  "（Ctrl-C 停止）")
    p.add_argument("--home", default=".beian", help="运行目录：Prefect 数据（PREFECT_HOME）与日志（默认 ./.beian）")
    p.add_argument("--prefect-port", type=int, default=PREFECT_PORT)
    p.add_argument("--prefect-host", default="127.0.0.1", help="Prefect 服务器监听地址（多机部署时用内网地址）")
    p.add_argument("--sandbox-port", type=int, default=SANDBOX_PORT)
    p.add_argument("--web-port", type=int, default=WEB_PORT)
    p.add_argument("--no-web", action="store_true", help="不启动网页应用")
    p.add_argument("--no-serve", action="store_true", help="不在本机运行部署（交给工作池中的 worker）")
    p.add_argument("--open", action="store_true", help="启动后打开浏览器")
    p.set_defaults(func=cmd_up, effect=SERVER)
    p = sub.add_parser("deploy", help="把后台部署注册到 Prefect 进程工作池（多机扩展）")
    p.add_argument("--pool", required=True)
    p.add_argument("--prefect-api-url", help="Prefect 服务器 API，如 http://10.0.0.5:4220/api（默认 PREFECT_API_URL）")
    p.set_defaults(func=cmd_deploy, effect=SERVER)
    p = sub.add_parser("worker", help="在本机启动一个 Prefect 进程工作池 worker（可在多台机器上各启动几个）")
    p.add_argument("--pool", required=True)
    p.add_argument("--prefect-api-url", help="Prefect 服务器 API（默认 PREFECT_API_URL）")
    p.set_defaults(func=cmd_worker, effect=SERVER)
    p = sub.add_parser("sandbox", help="启动外部系统模拟服务器（开发与测试用）")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=SANDBOX_PORT)
    p.set_defaults(func=cmd_sandbox, effect=SERVER)
    sub.add_parser("bench", help="性能基准，输出 JSON（选项见 beian bench --help）", add_help=False).set_defaults(
        func=cmd_bench_misplaced, effect=READS)
    p = sub.add_parser("show", help="查看案件或备案（状态、原因、等待事项、期限、文书、历史）")
    p.add_argument("case", help="案件编号或备案编号")
    p.set_defaults(func=cmd_show, effect=READS)
    p = sub.add_parser("filings", help="列出备案（状态与有效期）")
    p.add_argument("--status",
                   help="按状态筛选：filed、renewal_window、renewal_review、suspended、winding_up、terminated")
    p.add_argument("--region", help="按地区代码筛选（如 510000 为全省，510100 为成都市）")
    p.set_defaults(func=cmd_filings, effect=READS)
    p = sub.add_parser("document", help="输出文书 HTML（或用 --pdf 输出 PDF）")
    p.add_argument("document_id", type=int)
    p.add_argument("--out", help="写入文件")
    p.add_argument("--pdf", help="输出为 PDF 文件（中文字体：Noto CJK）")
    p.set_defaults(func=cmd_document, effect=READS)

    p = sub.add_parser("demo", help="演示：在虚拟时钟上走完一件备案（示例数据）")
    p.add_argument("--out", default="demo", help="文书输出目录（默认 ./demo）")
    p.set_defaults(func=cmd_demo, effect=DEMO)

    cal = sub.add_parser("calendar", help="工作日日历").add_subparsers(dest="calendar_command", required=True,
                                                                    parser_class=_Parser)
    p = cal.add_parser("add", help="计算某日起 N 个工作日的期限")
    p.add_argument("date")
    p.add_argument("days", type=int)
    p.set_defaults(func=cmd_calendar_add, effect=READS)
    p = cal.add_parser("load", help="载入某年的国务院节假日安排（JSON/YAML）")
    p.add_argument("file")
    p.set_defaults(func=cmd_calendar_load, default_user="admin", effect=LIVE)
    cal.add_parser("years", help="已载入的年度安排").set_defaults(func=cmd_calendar_years, effect=READS)

    bpmn = sub.add_parser("bpmn", help="流程定义（BPMN）").add_subparsers(dest="bpmn_command", required=True,
                                                                    parser_class=_Parser)
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
    p = bpmn.add_parser("diff", help="比较同一流程的两个版本：新增、删除、修改的元素与表单，及停在其上的运行中案件")
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
    p.set_defaults(func=cmd_simulate, default_user="simulation", effect=READS)

    users = sub.add_parser("users", help="用户管理（管理员）").add_subparsers(dest="users_command", required=True,
                                                                        parser_class=_Parser)
    p = users.add_parser("add", help="新增用户（密码两次输入，或用 --password-stdin 从标准输入读一行）")
    p.add_argument("username", help="用户名：3–40 个字符，小写字母、数字和 _ . -")
    p.add_argument("--name", required=True, help="显示名，如 张三")
    p.add_argument("--role", action="append", required=True,
                   help="角色（可重复）：intake、expert、inspection、reviewer、publicity、supervision、approver")
    p.add_argument("--region", required=True, help="辖区代码：省级如 510000，市级如 510100（直辖市为区代码）")
    p.add_argument("--admin", action="store_true", help="管理员")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    p.set_defaults(func=cmd_users_add, default_user="admin", effect=SETUP)
    users.add_parser("list", help="列出用户").set_defaults(func=cmd_users_list, effect=READS)
    p = users.add_parser("passwd", help="更改用户密码")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    p.set_defaults(func=cmd_users_passwd, default_user="admin", effect=SETUP)
    p = users.add_parser("disable", help="停用用户")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_active, active=False, default_user="admin", effect=SETUP)
    p = users.add_parser("enable", help="重新启用用户")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_active, active=True, default_user="admin", effect=SETUP)
    p = users.add_parser("sessions", help="列出登录中的网页会话（全部，或某个用户的）")
    p.add_argument("username", nargs="?", help="只列此用户的会话")
    p.set_defaults(func=cmd_users_sessions, effect=READS)
    p = users.add_parser("signout", help="登出某个用户的全部网页会话（所有浏览器、所有服务器）")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_signout, default_user="admin", effect=SETUP)
    p = users.add_parser("unlock", help="解除用户因连续登录失败而暂停的登录")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_unlock, default_user="admin", effect=SETUP)
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
    effect = _effect(args)
    command = _command_name(args)
    chosen: clock.Clock = clock.RealClock()
    if args.now:
        instant = clock.parse_instant(args.now)
        chosen = clock.VirtualClock(instant)
        if effect == SERVER:
            raise BeianError(f"{command} 按真实时间运行，不能与 --now 同用")
        if effect in (SETUP, LIVE):
            from workflows.database_clock import check_virtual_write

            check_virtual_write(_app(args), instant, command, args.user, override=args.allow_virtual_clock)
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


def _effect(args: argparse.Namespace) -> str:
    effect = getattr(args, "effect", LIVE)  # a command that does not say is taken to change cases
    return effect(args) if callable(effect) else effect


def _command_name(args: argparse.Namespace) -> str:
    words = [args.command] + [getattr(args, f"{args.command}_command", None) or ""]
    return "beian " + " ".join(word for word in words if word)


