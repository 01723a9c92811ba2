"""`beian bench`: figures for the README, measured on real code paths and printed as one JSON document.

(a) **One persisted step against bare SpiffWorkflow.** A fresh filing application is completed at its acceptance
    task ("accept": the case moves on to the expert review). Persisted = the service call a caseworker makes
    (`app.cases.complete`: lock and load the instance from a SQLite file, restore the state, run the engine, save state,
    projections and audit, commit). Bare = the same state restored, the same `BpmnWorkflow` calls with the same
    restricted script engine and expression functions, and the state serialised again, in memory, no database
    (`bare_engine_ms`: the engine alone). The ratio is what persistence and our engine layer cost on top of the
    library.
(b) **Finding due work does not grow with the number of instances.** One real application is made through the
    service; then N − 1 copies of its rows (instance, state, open task, timer projection) are bulk-inserted, a
    handful M with the timer due, the others due in the coming year. For each N the indexed due query
    (`Repository.due_cases`) is timed and its query plan read, then a real sweep (`workflows.sweep.sweep`) fires the M
    due timers. Copies get their own case numbers and SpiffWorkflow task ids, so each is a case the engine can step.
(c) **Delivery throughput.** K outbox rows for the national registry are delivered to the sandbox server over HTTP
    by `workflows.delivery.deliver_due`, and every one is checked as delivered (in the database and in the sandbox).
(d) **What an expression costs.** The kinds of expression the bundled diagrams hold (a gateway condition, a service
    parameter, a conditional value, a script), each evaluated many times over a real case's task data by the bounded
    interpreter (workflows/expressions), and by CPython's own eval/exec of the same source, compiled once, for
    comparison; both must give the same result.

Every instant comes from the virtual clock, so the figures do not depend on the day the bench runs. The databases
live in a temporary directory (deleted afterwards) unless `--db DIR` is given; `--postgres URL` also runs (b) on a
fresh database created on that server (a role allowed to CREATE DATABASE) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from adapters.entrypoints.bench.common import (
    DEFAULT_DELIVERIES,
    DEFAULT_DUE,
    DEFAULT_SIZES,
    DEFAULT_STEPS,
    DUE_INDEX,
    RECEIVED,
    STEP_AT,
    SWEEP_AT,
    BenchError,
    CaseTemplate,
    Say,
    insert_copies,
    machine_facts,
)
from adapters.entrypoints.bench.delivery import bench_delivery
from adapters.entrypoints.bench.expressions import bench_expressions
from adapters.entrypoints.bench.steps import bench_step
from adapters.entrypoints.bench.sweep import bench_sweep, check_sizes
from adapters.entrypoints.cli.progress_bar import progress_bar
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
    path.mkdir(parents=True, exist_ok=True)
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
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
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


def run_bench(*, sizes: Sequence[int] = DEFAULT_SIZES, due: int = DEFAULT_DUE, steps: int = DEFAULT_STEPS,
              deliveries: int = DEFAULT_DELIVERIES, directory: Path | None = None, postgres_url: str | None = None,
              say: Say | None = None, on_progress: OnProgress = no_progress) -> dict[str, Any]:
    """Run (a), (b) and (c) and return every figure; `say` receives a line for people as each figure is known,
    `on_progress` how far the long parts (inserting the copies, the persisted steps) are."""
    say = say or (lambda _line: None)
    ordered = check_sizes(sizes, due)
    if steps < 1:
        raise BenchError("重复次数 --steps 至少为 1")
    if deliveries < 1:
        raise BenchError("送达条数 --deliveries 至少为 1")
    began = time.perf_counter()
    facts = machine_facts()
    say(f"机器：{facts['cpu_count']} 个 CPU（{facts['cpu_model'] or facts['machine']}），Python {facts['python']}，"
        f"SQLite {facts['sqlite']}，SpiffWorkflow {facts['spiffworkflow']}")
    with _directory(directory) as folder, _sandbox_everywhere() as sandbox:
        say(f"基准数据库：{folder}" + ("（保留）" if directory else "（临时目录，结束后删除）")
            + ("；PostgreSQL 上另建临时数据库，结束后删除" if postgres_url else "")
            + "。不动 ./beian.sqlite3 或 BEIAN_DATABASE_URL 所指的数据库")

        def sqlite_url(name: str) -> str:
            return f"sqlite:///{(folder / f'bench-{name}.sqlite3').resolve()}"

        step = bench_step(sqlite_url("step"), steps, say, on_progress)
        say(f"到期查找与清扫（M={due}）：")
        sweeps = {"sqlite": bench_sweep(sqlite_url("sweep"), ordered, due, say, on_progress=on_progress)}
        if postgres_url:
            with _fresh_postgres(postgres_url) as (url, version):
                facts["postgresql"] = version
                # Analysed after each bulk insert, as autovacuum would have done in a database in steady use.
                sweeps["postgresql"] = bench_sweep(url, ordered, due, say, analyze=True, on_progress=on_progress)
        delivery = bench_delivery(sqlite_url("delivery"), deliveries, sandbox, say)
    expressions = bench_expressions(steps * 25, say)

    checks = {
        "step_same_outcome": step["same_outcome"],
        "due_found_equals_m": all(level["found"] == due for s in sweeps.values() for level in s["sizes"]),
        "all_due_fired": all(level["swept"] == due and level["failed"] == 0 and level["left_due"] == 0
                             for s in sweeps.values() for level in s["sizes"]),
        "due_query_uses_index": all(s["uses_due_index"] for s in sweeps.values()),
        "all_delivered": delivery["all_delivered"],
        "expressions_agree_with_python": expressions["same_results"],
    }
    return {
        "machine": facts,
        "options": {"sizes": ordered, "due": due, "steps": steps, "deliveries": deliveries,
                    "postgres": bool(postgres_url), "database_directory": str(directory) if directory else None},
        "clock": {"received": RECEIVED.isoformat(), "step_at": STEP_AT.isoformat(), "sweep_at": SWEEP_AT.isoformat()},
        "step": step,
        "sweep": sweeps,
        "delivery": delivery,
        "expressions": expressions,
        "checks": checks,
        "ok": all(checks.values()),
        "elapsed_seconds": round(time.perf_counter() - began, 1),
    }


def _sizes(text_value: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text_value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text_value}”不是以逗号分隔的整数，例如 1000,10000") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("实例数必须是正整数")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beian bench",
        description="性能基准：单步持久化开销、到期查找随实例数的变化、送达吞吐；结果以 JSON 输出到标准输出")
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES),
                        help="活动实例数 N，逗号分隔（默认 1000,10000,100000）")
    parser.add_argument("--due", type=int, default=DEFAULT_DUE, help=f"每档中到期的实例数 M（默认 {DEFAULT_DUE}）")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"单步测量的重复次数（默认 {DEFAULT_STEPS}）")
    parser.add_argument("--deliveries", type=int, default=DEFAULT_DELIVERIES,
                        help=f"送达测量的消息条数 K（默认 {DEFAULT_DELIVERIES}）")
    parser.add_argument("--db", type=Path, default=None,
                        help="存放基准数据库的目录（保留；默认使用临时目录，结束后删除）")
    parser.add_argument("--postgres", default=None,
                        help="PostgreSQL 服务器 URL（须可 CREATE DATABASE）：在其上新建数据库再测一遍到期查找与清扫")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`beian bench [options]`: JSON on stdout, progress on stderr; exit 1 when a check failed, 2 on bad options."""
    args = build_parser().parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        # The figures are JSON on standard output; a bar on standard error only where someone watches.
        with progress_bar(quiet=False) as on_progress:
            result = run_bench(sizes=args.sizes, due=args.due, steps=args.steps, deliveries=args.deliveries,
                               directory=args.db, postgres_url=args.postgres, say=say, on_progress=on_progress)
    except BenchError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    failed = [name for name, passed in result["checks"].items() if not passed]
    say(f"用时 {result['elapsed_seconds']} s；" + (f"未通过的检查：{'、'.join(failed)}" if failed else "全部检查通过"))
    return 1 if failed else 0
