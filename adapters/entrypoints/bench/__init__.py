"""`beian bench`: the figures the issue of speed holds us to, each with its goal, measured on real code paths.

- `step_ratio`: one persisted step ÷ the same step in bare SpiffWorkflow (deserialise, step, serialise) —
  adapters/entrypoints/bench/steps.py.
- `worklist_ratio`, `sweep_flat_ratio`: the worklist's first page, and a sweep with nothing due, on a large database
  ÷ a small one; `sweep_vs_steps_ratio`: a sweep of K due ÷ K steps — adapters/entrypoints/bench/sweep.py.
- `simulation_steps_per_s`, `state_bytes_median`: a `beian simulate` run over one worker per core;
  `cli_cold_s`: a cold command in a fresh interpreter — adapters/entrypoints/bench/throughput.py.

Ratios are measured interleaved on CPU time (adapters/entrypoints/bench/goals.py). Every instant comes from the virtual
clock. The databases live in a temporary directory (deleted afterwards) unless `--db DIR` is given; `--db
postgresql://…` runs the database figures on fresh databases created on that server and dropped afterwards (a role
allowed to CREATE DATABASE; the server's own CPU is not in the figures). Delivery and expression timings follow as
details without a goal. Exit code 1 when a figure misses its goal or a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from adapters.entrypoints.bench.common import (
    DUE_INDEX,
    RECEIVED,
    STEP_AT,
    SWEEP_AT,
    BenchError,
    CaseTemplate,
    Say,
    initialised,
    insert_copies,
    machine_facts,
    new_application,
)
from adapters.entrypoints.bench.delivery import bench_delivery
from adapters.entrypoints.bench.expressions import bench_expressions
from adapters.entrypoints.bench.goals import GOALS, judged, settled_disk, table
from adapters.entrypoints.bench.steps import StepBench, step_ratio
from adapters.entrypoints.bench.sweep import far_future, sweep_flat_ratio, sweep_vs_steps, worklist_ratio
from adapters.entrypoints.bench.throughput import cli_cold, simulation
from adapters.entrypoints.bench.worklist import PAGE
from adapters.entrypoints.cli.common import Parser
from adapters.entrypoints.cli.failures import database_reason, shown_url
from adapters.entrypoints.cli.progress_bar import progress_bar
from adapters.outside.db import Timer
from tasks.errors import BeianError
from tasks.reasons import file_reason
from workflows.on_progress import OnProgress, no_progress

# Re-exported: the sweep's exactly-once test builds its many cases with the bench's copies, and checks the index name.
__all__ = ["DUE_INDEX", "CaseTemplate", "insert_copies", "main", "run_bench"]


@contextlib.contextmanager
def _sandbox_everywhere() -> Iterator[Any]:
    """The sandbox on a free loopback port, and every outside system of this process pointed at it (a step's
    pre-check asks the credit registry through the settings of the environment)."""
    from adapters.outside.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        previous = os.environ.get("BEIAN_SANDBOX_URL")
        os.environ["BEIAN_SANDBOX_URL"] = sandbox.url
        try:
            yield sandbox
        finally:
            if previous is None:
                os.environ.pop("BEIAN_SANDBOX_URL", None)
            else:
                os.environ["BEIAN_SANDBOX_URL"] = previous


@contextlib.contextmanager
def _directory(path: Path | None) -> Iterator[Path]:
    if path is None:
        with tempfile.TemporaryDirectory(prefix="beian-bench-") as temporary:
            yield Path(temporary)
        return
    if path.exists() and not path.is_dir():
        raise BenchError(f"--db {path} 不是目录：请给出存放基准数据库的目录，或 PostgreSQL 服务器 URL")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(f"无法创建目录 {path}：{file_reason(exc)}") from None
    existing = [p.name for p in path.glob("bench-*.sqlite3*")]
    if existing:
        raise BenchError(f"目录 {path} 中已有基准数据库（{'、'.join(sorted(existing))}），请换一个空目录或先删除")
    yield path


@contextlib.contextmanager
def _fresh_postgres(server_url: str) -> Iterator[tuple[str, str]]:
    """A new database on the server (dropped afterwards); yields its URL and the server's version."""
    import psycopg
    from psycopg import sql

    admin = make_url(server_url).set(drivername="postgresql")
    name = f"beian_bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchError(f"无法在 PostgreSQL 服务器 {shown_url(server_url)} 上新建基准数据库："
                         f"{database_reason(exc)}") from None
    try:
        yield admin.set(database=name).render_as_string(hide_password=False), version
    finally:
        # A plain DROP first: the server itself stops an autovacuum worker busy on the fresh tables, which FORCE
        # would try to terminate and fail for a role that is not a superuser. FORCE only for our own leftovers.
        drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            try:
                conn.execute(drop)
            except psycopg.errors.ObjectInUse:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class Sizes:
    """How much each figure measures: the full run, or `--quick` (for tests: the same code paths, small N)."""

    small: int = 1_000  # open tasks on the small database
    large: int = 100_000  # and on the large one
    rounds: int = 30  # interleaved rounds of each ratio
    warmup: int = 10
    batch: int = 1_000  # due timers a sweep fires against as many steps
    batch_rounds: int = 3
    cases: int = 1_000  # simulated cases
    cli_rounds: int = 10
    deliveries: int = 1_000


MAX_BENCH_WORKERS = 64  # the simulation's worker processes

QUICK = Sizes(small=30, large=300, rounds=5, warmup=2, batch=5, batch_rounds=2, cases=4, cli_rounds=2, deliveries=5)


def run_bench(*, sizes: Sizes = Sizes(), directory: Path | None = None, postgres_url: str | None = None,
              workers: int | None = None, goals: dict[str, float] | None = None, say: Say | None = None,
              on_progress: OnProgress = no_progress) -> dict[str, Any]:
    """Every figure with its goal; `say` receives a line for people as each part is done."""
    from workflows.service import Beian

    say = say or (lambda _line: None)
    began = time.perf_counter()
    facts = machine_facts()
    figures: dict[str, dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(_directory(directory))
        sandbox = stack.enter_context(_sandbox_everywhere())

        def database(name: str) -> str:
            if postgres_url:
                url, version = stack.enter_context(_fresh_postgres(postgres_url))
                facts["postgresql"] = version
                return url
            return f"sqlite:///{(folder / f'bench-{name}.sqlite3').resolve()}"

        apps = {name: initialised(database(name)) for name in ("step", "sweep")}
        for app in apps.values():
            stack.callback(app.close)
        template = CaseTemplate.read(apps["step"].engine, new_application(apps["step"]))
        ratio_copies = sizes.warmup + sizes.rounds
        batch_copies = sizes.batch * sizes.batch_rounds
        insert_copies(apps["step"].engine, template, range(ratio_copies + batch_copies), on_progress=on_progress,
                      label="单步：生成实例")
        sweep_template = CaseTemplate.read(apps["sweep"].engine, new_application(apps["sweep"]))
        insert_copies(apps["sweep"].engine, sweep_template, range(batch_copies), far_future, on_progress=on_progress,
                      label="清扫：生成实例")
        with apps["sweep"].engine.begin() as conn:  # the real application's too: only what a round makes due is due
            conn.execute(update(Timer.__table__).where(Timer.case_id == sweep_template.case_id)
                         .values(due_at=far_future(0)))
        # The worklist measure builds the small and the large database (N open tasks each); the empty sweep reopens
        # them: their timers are all due after the instant it runs at.
        flat = {sizes.small: database("small"), sizes.large: database("large")}
        settled_disk()
        figures["worklist_ratio"] = worklist_ratio((sizes.small, sizes.large), flat.__getitem__, sizes.rounds,
                                                   on_progress)
        say(f"worklist_ratio {figures['worklist_ratio']['value']}")
        for name, n in (("small", sizes.small), ("large", sizes.large)):
            apps[name] = Beian(flat[n])
            stack.callback(apps[name].close)
        if postgres_url:  # analysed after the bulk inserts, as autovacuum would have done in a database in use
            for app in apps.values():
                with app.engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
        steps = StepBench(apps["step"], template)
        settled_disk()  # the worklist's databases were just built
        figures["step_ratio"] = step_ratio(steps, 0, sizes.rounds, sizes.warmup)
        say(f"step_ratio {figures['step_ratio']['value']}")
        figures["sweep_flat_ratio"] = sweep_flat_ratio(apps["small"], apps["large"], (sizes.small, sizes.large),
                                                       sizes.rounds)
        say(f"sweep_flat_ratio {figures['sweep_flat_ratio']['value']}")
        settled_disk()
        figures["sweep_vs_steps_ratio"] = sweep_vs_steps(apps["sweep"], sweep_template, steps, ratio_copies,
                                                         sizes.batch, sizes.batch_rounds)
        say(f"sweep_vs_steps_ratio {figures['sweep_vs_steps_ratio']['value']}")
        details = {"delivery": bench_delivery(database("delivery"), sizes.deliveries, sandbox, say)}
    if not postgres_url:  # the simulation's scratch databases and a cold command are SQLite and local alike
        settled_disk()
        figures.update(simulation(sizes.cases, workers, on_progress))
        say(f"simulation_steps_per_s {figures['simulation_steps_per_s']['value']}，state_bytes_median "
            f"{figures['state_bytes_median']['value']}")
        settled_disk()
        figures["cli_cold_s"] = cli_cold(sizes.cli_rounds)
        say(f"cli_cold_s {figures['cli_cold_s']['value']}")
    details["expressions"] = bench_expressions(sizes.rounds * 25, say)
    checks = {
        "step_same_outcome": figures["step_ratio"]["same_outcome"],
        "worklist_reads_a_full_first_page": figures["worklist_ratio"]["rows"] == [min(n, PAGE)
                                                                                 for n in (sizes.small, sizes.large)],
        "due_query_uses_index": figures["sweep_flat_ratio"]["uses_due_index"],
        "sweep_fired_every_due": figures["sweep_vs_steps_ratio"]["all_fired"],
        "all_delivered": details["delivery"]["all_delivered"],
        "expressions_agree_with_python": details["expressions"]["same_results"],
    }
    judgedfigures = judged({name: figures[name] for name in GOALS if name in figures}, goals or {})
    missed = [name for name, figure in judgedfigures.items() if not figure["met"]]
    return {
        "machine": facts,
        "options": {**asdict(sizes), "database": "postgresql" if postgres_url else "sqlite",
                    "database_directory": str(directory) if directory else None},
        "clock": {"received": RECEIVED.isoformat(), "step_at": STEP_AT.isoformat(), "sweep_at": SWEEP_AT.isoformat()},
        "figures": judgedfigures,
        "missed": missed,
        "checks": checks,
        "details": details,
        "ok": not missed and all(checks.values()),
        "elapsed_seconds": round(time.perf_counter() - began, 1),
    }


def _goal(text_value: str) -> tuple[str, float]:
    name, _, value = text_value.partition("=")
    if name not in GOALS:
        raise argparse.ArgumentTypeError(f"没有指标“{name}”；指标：{'、'.join(GOALS)}")
    try:
        goal = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text_value}”应为 指标=数值，例如 step_ratio=2.5") from None
    if not math.isfinite(goal) or goal < 0:
        raise argparse.ArgumentTypeError(f"“{text_value}”：目标值应为不小于 0 的有限数")
    return name, goal


def _workers(text_value: str) -> int:
    if not (text_value.isascii() and text_value.isdigit()) or not 1 <= int(text_value) <= MAX_BENCH_WORKERS:
        raise argparse.ArgumentTypeError(f"应为 1 至 {MAX_BENCH_WORKERS} 的整数，实为“{text_value}”")
    return int(text_value)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="beian bench",
        description="性能基准：各项指标、目标与是否达成（交替测量，CPU 时间，中位数与范围）；有指标未达成时退出码为 1")
    parser.add_argument("--json", action="store_true", help="以 JSON 输出到标准输出（默认输出表格）")
    parser.add_argument("--quick", action="store_true", help="小规模快速运行（供测试，数值不作结论）")
    parser.add_argument("--db", default=None,
                        help="存放基准数据库的目录（保留；默认临时目录，结束后删除），或 PostgreSQL 服务器 URL"
                             "（postgresql://…，须可 CREATE DATABASE：在其上新建数据库测量数据库相关指标）")
    parser.add_argument("--workers", type=_workers, default=None, help="模拟的工作进程数（默认每个 CPU 核一个）")
    parser.add_argument("--goal", action="append", type=_goal, default=[], metavar="NAME=VALUE",
                        help="改用另一目标值（可重复），例如 --goal step_ratio=2.5")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`beian bench [options]`: the figures on stdout, progress on stderr; exit 1 when a figure misses its goal or a
    check failed, 2 on bad options."""
    args = build_parser().parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    postgres = args.db if args.db and args.db.startswith(("postgresql://", "postgresql+psycopg://")) else None
    directory = Path(args.db) if args.db and not postgres else None
    try:
        with progress_bar(quiet=False) as on_progress:
            result = run_bench(sizes=QUICK if args.quick else Sizes(), directory=directory, postgres_url=postgres,
                               workers=args.workers, goals=dict(args.goal), say=say, on_progress=on_progress)
    except (BenchError, BeianError) as exc:  # options it cannot run with, said before anything is measured
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else table(result))
    failed = [name for name, passed in result["checks"].items() if not passed]
    say(f"用时 {result['elapsed_seconds']} s；"
        + (f"未达成的目标：{'、'.join(result['missed'])}；" if result["missed"] else "全部目标达成；")
        + (f"未通过的检查：{'、'.join(failed)}" if failed else "全部检查通过"))
    return 0 if result["ok"] else 1
