"""The commands that start servers: `beian up`, a Prefect deployment or worker, the outside systems' sandbox."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from adapters.entrypoints.cli.common import SERVER
from adapters.outside.settings import PREFECT_PORT, SANDBOX_PORT, WEB_PORT


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


def register(sub: Any) -> None:
    """Add up, deploy, worker and sandbox."""
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
