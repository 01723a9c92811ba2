"""One version's simulation over several worker processes: the cases dealt out to shards, each shard a process with
its own scratch database (workflows/simulation_run.py), and the shards' results put together into the version's
figures — the same figures, case for case, as one process running every case (the cases do not see each other).

Workers are started with "spawn" (a fresh interpreter: no thread or open database of the parent is copied into them);
each parses the diagrams it needs once and keeps them for every case it runs.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import statistics
import threading
import time as timer
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from tasks.calendar import SHANGHAI
from workflows.definitions import DefinitionSource
from workflows.on_progress import OnProgress, no_progress
from workflows.scratch import Scratch
from workflows.simulation_plan import Arrival, Plan, plan_for
from workflows.simulation_profile import Profile
from workflows.simulation_run import STEP_KINDS, ShardResult, ShardRun, local, spread


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def case_numbers(arrivals: Sequence[Arrival]) -> dict[int, int]:
    """Each arrival's number among the applications received in its year, in the order one process registers them
    (by time received, then by their place in the list)."""
    numbers: dict[int, int] = {}
    counted: Counter[int] = Counter()
    for _position, arrival in sorted(enumerate(arrivals), key=lambda item: (item[1].received_at, item[0])):
        year = arrival.received_at.astimezone(SHANGHAI).year
        counted[year] += 1
        numbers[arrival.index] = counted[year]
    return numbers


def deal(arrivals: Sequence[Arrival], shards: int) -> list[list[Arrival]]:
    """The arrivals dealt out in turn, so that every shard gets early and late cases alike; no empty shard."""
    shards = max(1, min(shards, len(arrivals)))
    return [list(arrivals[i::shards]) for i in range(shards)]


# --- inside a worker process ---------------------------------------------------------------------------------------

_progress: Any = None  # the queue a worker reports its simulated days on (set by the pool's initializer)
_plans: dict[str, Plan] = {}  # a worker's plans by the definition's hash: each diagram parsed once per worker


def _start_worker(progress: Any) -> None:
    global _progress
    _progress = progress


def run_shard(shard: int, source: DefinitionSource, label: str, profile: Profile, arrivals: list[Arrival],
              numbers: dict[int, int], seed: int, window: tuple[datetime, datetime], horizon: datetime,
              database_url: str, scratch: Scratch,
              on_progress: OnProgress | None = None, plan: Plan | None = None) -> ShardResult:
    """One shard's run, in this process (`plan`: the caller's) or in a worker process (planned there, once per
    version: a pool lives for one simulation, so its profile and roles are the same throughout); its progress goes
    to `on_progress` or the queue."""
    from adapters.outside.settings import outside_systems_off

    if plan is None:
        scratch.hold_roles()  # a worker starts holding none: the lanes of the database's added roles
        plan = _plans.get(source.sha256)
        if plan is None:
            plan = _plans[source.sha256] = plan_for(source, profile)
    if on_progress is None:
        sink = _progress

        def on_progress(done: int, total: int, what: str) -> None:
            sink.put((shard, done, total))

    with outside_systems_off():
        return ShardRun(source, label, plan, profile, arrivals, numbers, seed, window, horizon, database_url,
                        scratch, on_progress).run()


# --- in the parent ---------------------------------------------------------------------------------------------------


class Workers:
    """The worker processes of one simulation (none when it runs in one process), and the queue of their progress."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pool: Executor | None = None
        self.progress: Any = None

    def __enter__(self) -> Workers:
        if self.count > 1:
            context = multiprocessing.get_context("spawn")
            self.progress = context.Queue()
            self.pool = ProcessPoolExecutor(self.count, mp_context=context, initializer=_start_worker,
                                            initargs=(self.progress,))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.progress.close()  # its feeder thread and semaphores go with it, not at interpreter exit
            self.progress.join_thread()


@contextmanager
def _relayed(progress: Any, shards: int, label: str, on_progress: OnProgress) -> Iterator[None]:
    """The workers' simulated days, added up over the shards, passed on to `on_progress` by a thread of this
    process while the shards run."""
    days: dict[int, tuple[int, int]] = {}
    stop = threading.Event()

    def relay() -> None:
        while not stop.is_set() or not progress.empty():
            try:
                shard, done, total = progress.get(timeout=0.1)
            except queue.Empty:
                continue
            days[shard] = (done, total)
            if len(days) == shards:
                on_progress(sum(d for d, _ in days.values()), sum(t for _, t in days.values()), label)

    thread = threading.Thread(target=relay, name="simulation-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_version(workers: Workers, source: DefinitionSource, label: str, plan: Plan, profile: Profile,
                arrivals: list[Arrival], seed: int, window: tuple[datetime, datetime], horizon: datetime,
                workdir: Path, name: str, scratch: Scratch,
                on_progress: OnProgress = no_progress) -> tuple[list[ShardResult], float]:
    """Every shard of one version; returns their results and the wall-clock seconds the shards took together."""
    numbers = case_numbers(arrivals)
    shards = deal(arrivals, workers.count) if arrivals else [[]]

    def args(index: int, shard: list[Arrival]) -> tuple[Any, ...]:
        url = f"sqlite:///{workdir / f'{name}-{index + 1}.sqlite3'}"
        return (index, source, label, profile, shard, {a.index: numbers[a.index] for a in shard}, seed, window,
                horizon, url, scratch)

    started = timer.perf_counter()
    if workers.pool is None:
        # In this process: progress straight to the caller, as the days of the one shard.
        results = [run_shard(*args(i, shard), on_progress=on_progress, plan=plan) for i, shard in enumerate(shards)]
    else:
        with _relayed(workers.progress, len(shards), label, on_progress):
            futures = [workers.pool.submit(run_shard, *args(i, shard)) for i, shard in enumerate(shards)]
            results = [future.result() for future in futures]
    return results, timer.perf_counter() - started


# --- the version's figures from its shards ---------------------------------------------------------------------------


def figures(variant: dict[str, Any], plan: Plan, window: tuple[datetime, datetime],
            shards: list[ShardResult], wall_seconds: float) -> dict[str, Any]:
    """The version's figures (docs/simulation.md) from all its shards, cases in the order they arrived."""
    window_start, until_end = window
    records = [dict(r) for shard in shards for r in shard.records]
    records.sort(key=lambda r: r["index"])
    for record in records:
        del record["index"]
    late: Counter[str] = _total(s.late for s in shards)
    open_overdue: Counter[str] = _total(s.open_overdue for s in shards)
    filed = [r for r in records if r["outcome"] == "filed"]
    ended = [r for r in records if r["outcome"] != "filed" and "ended_at" in r]
    stuck = [r for r in records if r["outcome"] == "stuck"]
    # Receipts per 30 days while receipts were being issued: from --from to the last receipt. Cases that never
    # end (stuck) or end without a receipt do not stretch the period.
    span_end = max((datetime.fromisoformat(r["filed_at"]) for r in filed), default=window_start)
    span_days = (span_end - window_start).total_seconds() / 86400
    names = {bpmn_id: task.name for bpmn_id, task in plan.tasks.items()}
    breaches = {bpmn_id: {"name": names.get(bpmn_id, bpmn_id), "completed_late": late[bpmn_id],
                          "open_overdue": open_overdue[bpmn_id]}
                for bpmn_id in sorted(set(late) | set(open_overdue))}
    return {
        "variant": variant,
        "started": len(records),
        "filed": len(filed),
        "filed_by_until": sum(1 for r in filed if datetime.fromisoformat(r["filed_at"]) < until_end),
        "other_endings": dict(Counter(r["ending"] for r in ended).most_common()),
        "in_progress": sum(1 for r in records if r["outcome"] == "in_progress"),
        "stuck": len(stuck),
        "stuck_reasons": dict(Counter(r["stuck_reason"] for r in stuck).most_common()),
        "throughput_per_30_days": round(len(filed) / span_days * 30, 2) if span_days > 0 else 0.0,
        "throughput_span": {"from": local(window_start), "until": local(span_end), "days": round(span_days, 2)},
        "time_to_receipt": {"calendar_days": spread([r["calendar_days"] for r in filed]),
                            "working_days": spread([r["working_days"] for r in filed])},
        "breaches": {"total": sum(b["completed_late"] + b["open_overdue"] for b in breaches.values()),
                     "by_task": breaches, "escalations": sum(s.escalations for s in shards)},
        "defaults_used": plan.defaults,
        "unprofiled_messages": plan.unprofiled_messages,
        "unused_profile_tasks": plan.unused_profile_tasks,
        "messages": {"sent": dict(_total(s.messages_sent for s in shards)),
                     "dropped_wait_over": dict(_total(s.messages_dropped for s in shards))},
        # How big a case's stored engine state is at the end of the run (most cases filed by then), in bytes.
        "state_bytes": _sizes([size for s in shards for size in s.state_bytes]),
        **speed(shards, wall_seconds),
        "cases": records,
    }


def speed(shards: list[ShardResult], wall_seconds: float) -> dict[str, Any]:
    """How fast the version ran. The headline, `steps_per_second`, is the steps over the CPU time of the busiest
    worker's whole run (preparing its database, the simulator's bookkeeping and the steps): the run's length when
    each worker has a core of its own, which other load on the machine hardly moves. `steps_per_wall_second` is over
    the wall-clock time the shards took together; `engine_seconds` the time inside the service calls alone."""
    steps: Counter[str] = Counter({kind: 0 for kind in STEP_KINDS})
    for shard in shards:
        steps.update(shard.steps)
    total = sum(steps.values())
    busiest = max((s.cpu for s in shards), default=0.0)

    def rate(seconds: float) -> float | None:
        return round(total / seconds, 1) if seconds > 0 else None

    engine_cpu = sum(s.engine_cpu for s in shards)
    return {"steps": total, "steps_by_kind": {kind: steps[kind] for kind in STEP_KINDS},
            "workers": len(shards),
            "steps_per_second": rate(busiest), "steps_per_wall_second": rate(wall_seconds),
            "steps_per_engine_cpu_second": rate(engine_cpu),
            "cpu_seconds": {"busiest_worker": round(busiest, 3), "all_workers": round(sum(s.cpu for s in shards), 3)},
            "engine_seconds": {"cpu": round(engine_cpu, 3), "wall": round(sum(s.engine_wall for s in shards), 3)},
            "seconds": round(wall_seconds, 2)}


def _sizes(values: list[int]) -> dict[str, int | None]:
    if not values:
        return {"median": None, "p90": None, "max": None}
    ordered = sorted(values)
    return {"median": int(statistics.median(ordered)), "p90": ordered[max(1, -(-len(ordered) * 9 // 10)) - 1],
            "max": ordered[-1]}


def _total(counters: Any) -> Counter[str]:
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter)
    return total


