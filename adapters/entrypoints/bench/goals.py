"""The figures `beian bench` holds to a goal, how two sides are measured against each other, and the table.

Two sides of a ratio are measured interleaved (A B A B …): whatever else the machine does at a moment weighs on both
alike. Each side's time is CPU time (this thread's, or the child processes' where work runs in them), which other
load on the machine hardly moves; each figure keeps its median, min, max and the number of rounds.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# name → (comparison, goal, unit, what it is). Why each bound: docs/performance.md.
GOALS: dict[str, tuple[str, float, str, str]] = {
    "step_ratio": ("<=", 2.0, "×", "持久化的一步 ÷ 纯 SpiffWorkflow 一步（含状态的反序列化与序列化）"),
    "worklist_ratio": ("<=", 1.5, "×", "待办列表首页：大库 ÷ 小库的未办待办数"),
    "sweep_flat_ratio": ("<=", 1.2, "×", "无到期时的清扫：大库 ÷ 小库"),
    "sweep_vs_steps_ratio": ("<=", 1.2, "×", "清扫 K 件到期 ÷ K 个持久化步骤"),
    "simulation_steps_per_s": (">=", 500.0, "步/秒", "模拟吞吐（每个工作进程一个核，CPU 时间）"),
    "state_bytes_median": ("<=", 24_000.0, "字节", "模拟结束时每件案件的引擎状态（中位数）"),
    "cli_cold_s": ("<=", 0.35, "秒", "冷启动命令（beian complete：新解释器中步骤前的导入，CPU 时间）"),
}


def settled_disk() -> None:
    """Flush what was written so far (the bench's own databases, up to 100,000 cases each) to disk before a figure is
    timed. The kernel would otherwise write it back while the figure runs, and each commit of a measured step, waiting
    for its own sync, would pay for some of it: with 400 MB waiting to be written, a persisted step spent 0.43–0.50 ms
    of system time, after a sync 0.20–0.25 ms."""
    sync = getattr(os, "sync", None)  # POSIX
    if sync is not None:
        sync()


def cpu_now() -> float:
    """This thread's CPU time: the work of the measured call, not of other threads (the progress bar's)."""
    return time.thread_time()


def spread(values: list[float], scale: float = 1.0, digits: int = 3) -> dict[str, Any]:
    return {"median": round(statistics.median(values) * scale, digits), "min": round(min(values) * scale, digits),
            "max": round(max(values) * scale, digits), "rounds": len(values)}


def interleaved(a: Callable[[int], float], b: Callable[[int], float], rounds: int) -> tuple[list[float], list[float]]:
    """Run a(i) and b(i) in turn, `rounds` times each; each returns the CPU seconds of what it measured."""
    first: list[float] = []
    second: list[float] = []
    for index in range(rounds):
        first.append(a(index))
        second.append(b(index))
    return first, second


def ratio(name: str, a: list[float], b: list[float], a_label: str, b_label: str, unit_scale: float = 1000.0,
          **details: Any) -> dict[str, Any]:
    """A ratio figure: the medians' ratio, each side's spread (in ms), the per-round ratios' range."""
    per_round = [x / y for x, y in zip(a, b, strict=True) if y > 0]
    return {"value": round(statistics.median(a) / statistics.median(b), 3),
            "a": {"what": a_label, **spread(a, unit_scale)}, "b": {"what": b_label, **spread(b, unit_scale)},
            "round_ratios": spread(per_round) if per_round else None, **details}


@dataclass(frozen=True)
class Goal:
    comparison: str
    bound: float

    def met(self, value: float | None) -> bool:
        if value is None:
            return False
        return value <= self.bound if self.comparison == "<=" else value >= self.bound


def judged(figures: dict[str, dict[str, Any]], overrides: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each figure with its goal and whether it is met (an override replaces a goal's bound)."""
    out = {}
    for name, figure in figures.items():
        comparison, bound, unit, what = GOALS[name]
        goal = Goal(comparison, overrides.get(name, bound))
        out[name] = {"what": what, "unit": unit, **figure, "goal": f"{comparison} {goal.bound:g}",
                     "met": goal.met(figure.get("value"))}
    return out


def table(result: dict[str, Any]) -> str:
    """The figures for people: one line each, the goal, met or not, and the spread behind the value."""
    lines = [f"{'指标':<24}{'结果':>12}  {'目标':<12}{'达成':<6}说明"]
    for name, f in result["figures"].items():
        behind = ""
        if "a" in f:
            behind = (f"A {f['a']['median']} ms（{f['a']['min']}–{f['a']['max']}）/ "
                      f"B {f['b']['median']} ms（{f['b']['min']}–{f['b']['max']}），{f['a']['rounds']} 轮")
        elif "spread" in f:
            s = f["spread"]
            behind = f"中位 {s['median']}（{s['min']}–{s['max']}），{s['rounds']} 轮"
        value = "—" if f.get("value") is None else f"{f['value']:g}"
        lines.append(f"{name:<24}{value:>12}  {f['goal']:<12}{'是' if f['met'] else '否':<6}{f['what']}；{behind}")
    machine = result["machine"]
    lines.append(f"机器：{machine['cpu_count']} 个 CPU（{machine['cpu_model'] or machine['machine']}），"
                 f"Python {machine['python']}，SQLite {machine['sqlite']}"
                 + (f"，PostgreSQL {machine['postgresql']}" if machine.get("postgresql") else ""))
    return "\n".join(lines)
